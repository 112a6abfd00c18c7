-- stats.lua: add counts to the hourly statistics of one store.
-- KEYS[1] cg:stats:<store>:<hour> (a hash; hour = ms since the epoch /
-- 3600000, UTC). Each field is one thing counted: 's' the store, 'g:GROUP'
-- a group, 'a:AGENT' an agent; its value a msgpack map of counters
-- (numbers) and histograms (arrays of bucket counts, see stats.h), so one
-- HGET and one HSET update all of a field's counters.
-- ARGV[1] ttl ms, then pairs: field, msgpack map of increments.
-- router.lua adds its counts (breaches, reassignments, sales) the same way.
local K = KEYS[1]
for i = 2, #ARGV, 2 do
  local f, inc = ARGV[i], cmsgpack.unpack(ARGV[i + 1])
  local raw = redis.call('HGET', K, f)
  local cur = raw and cmsgpack.unpack(raw) or {}
  for name, v in pairs(inc) do
    if type(v) == 'table' then
      local h = cur[name] or {}
      for j = 1, #v do h[j] = (h[j] or 0) + v[j] end
      cur[name] = h
    else
      cur[name] = (cur[name] or 0) + v
    end
  end
  redis.call('HSET', K, f, cmsgpack.pack(cur))
end
redis.call('PEXPIRE', K, tonumber(ARGV[1]))
return 1
