-- resume.lua: what a node needs to reattach a buyer to a chat.
-- KEYS[1] the chat (one hash, see append.lua).
--   ARGV[1] 'get': {its record as a msgpack map, or false; its number of
--                   messages}. The token is checked by the node (constant
--                   time, against the record's tok), not here. The map has
--                   'rda' too: how far the agent has read (signal.lua).
--   ARGV[1] 'locate', ARGV[2] node: events for the chat's buyer go to node
--                   from now on (the token was checked). A chat that
--                   expired meanwhile stays gone: 0, else 1.
--   ARGV[1] 'last', ARGV[2] n: the last n messages, for plugins: {store,
--                   seq of the first, {records}}, or false (no chat).
local K = KEYS[1]
if ARGV[1] == 'last' then
  local v = redis.call('HMGET', K, 'store', 'n')
  if not v[1] then return false end
  local len = tonumber(v[2]) or 0
  local first = math.max(len - tonumber(ARGV[2]) + 1, 1)
  local seqs = {}
  for s = first, len do seqs[#seqs + 1] = s end
  return { v[1], first, #seqs > 0 and redis.call('HMGET', K, unpack(seqs)) or {} }
end
if ARGV[1] == 'locate' then
  if redis.call('EXISTS', K) == 0 then return 0 end
  redis.call('HSET', K, 'loc', ARGV[2])
  return 1
end
local F = { 'store', 'buyer', 'name', 'group', 'created', 'state', 'tok', 'agent',
            'agent_name', 'reason', 'closed', 'rda' }
local v = redis.call('HMGET', K, 'n', unpack(F))
if not v[2] then return {false, 0} end
local m = {}
for i, f in ipairs(F) do
  local x = v[i + 1]
  if x then m[f] = (f == 'created' or f == 'closed' or f == 'rda') and tonumber(x) or x end
end
return {cmsgpack.pack(m), tonumber(v[1]) or 0}
