-- stats.lua: add counts to the hourly statistics of one store.
-- KEYS[1] cg:stats:<store>:<hour> (a hash; hour = ms since the epoch /
-- 3600000, UTC). Each field is one thing counted: 's' the store, 'g:GROUP'
-- a group, 'a:AGENT' an agent; its value a msgpack map of counters
-- (numbers) and histograms (arrays of bucket counts, see stats.h), so one
-- HMGET and one HSET update all the fields of one call (a flush sends the
-- fields of one store and hour together: a few calls per flush, not one
-- per agent).
-- ARGV[1] ttl ms, then pairs: field, msgpack map of increments.
-- router.lua adds its counts (breaches, reassignments, sales) the same way.
local K = KEYS[1]
local fields = {}
for i = 2, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
if #fields == 0 then return 0 end
local raws = redis.call('HMGET', K, unpack(fields))
local set = {}
for n, f in ipairs(fields) do
  local inc = cmsgpack.unpack(ARGV[2 * n + 1])
  local cur = raws[n] and cmsgpack.unpack(raws[n]) or {}
  for name, v in pairs(inc) do
    if type(v) == 'table' then
      local h = cur[name] or {}
      for j = 1, #v do h[j] = (h[j] or 0) + v[j] end
      cur[name] = h
    else
      cur[name] = (cur[name] or 0) + v
    end
  end
  set[#set + 1] = f
  set[#set + 1] = cmsgpack.pack(cur)
end
redis.call('HSET', K, unpack(set))
redis.call('PEXPIRE', K, tonumber(ARGV[1]))
return 1
