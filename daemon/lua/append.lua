-- append.lua: store one message in a chat's transcript, exactly once.
-- KEYS[1] meta (msgpack map), KEYS[2] log (list of msgpack records),
-- KEYS[3] ids (hash: client id -> seq)
-- ARGV[1] client id ('' = none), ARGV[2] record, ARGV[3] ttl ms,
-- ARGV[4] greeting record to store right after it when the log is empty
-- (the buyer's first message; '' = none), ARGV[5] meta record to create
-- when the chat has none yet ('' = none).
-- Returns {seq, duplicate 0|1, greeting seq or 0}, or an error
-- "closed" / "no_chat". seq is the record's 1-based index in the log.
local id = ARGV[1]
if id ~= '' then
  local s = redis.call('HGET', KEYS[3], id)
  if s then return {tonumber(s), 1, 0} end
end
local meta = redis.call('GET', KEYS[1])
if not meta then
  if ARGV[5] == '' then return redis.error_reply('no_chat') end
  redis.call('SET', KEYS[1], ARGV[5])
  meta = ARGV[5]
end
local m = cmsgpack.unpack(meta)
if m['state'] == 'closed' then return redis.error_reply('closed') end
local greet = 0
local seq
if ARGV[4] ~= '' and redis.call('LLEN', KEYS[2]) == 0 then
  seq = redis.call('RPUSH', KEYS[2], ARGV[2], ARGV[4]) - 1
  greet = seq + 1
else
  seq = redis.call('RPUSH', KEYS[2], ARGV[2])
end
if id ~= '' then redis.call('HSET', KEYS[3], id, seq) end
local ttl = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return {seq, 0, greet}
