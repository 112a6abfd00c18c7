-- close.lua: mark a chat closed and start its retention clock.
-- KEYS[1] meta, KEYS[2] log, KEYS[3] ids
-- ARGV[1] reason, ARGV[2] closed-at ms, ARGV[3] ttl ms
-- Returns 1 when closed now, 0 when it was closed already, or error "no_chat".
local meta = redis.call('GET', KEYS[1])
if not meta then return redis.error_reply('no_chat') end
local m = cmsgpack.unpack(meta)
local ttl = tonumber(ARGV[3])
if m['state'] == 'closed' then return 0 end
m['state'] = 'closed'
m['reason'] = ARGV[1]
m['closed'] = tonumber(ARGV[2])
redis.call('SET', KEYS[1], cmsgpack.pack(m), 'PX', ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
