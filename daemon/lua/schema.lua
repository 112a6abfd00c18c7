-- schema.lua: which layout the data in this Redis has, and the steps that
-- bring an older one up to date. Every node runs "check" when its link
-- comes up; the layout number lives in cg:schema.
--
-- ARGV[1] op:
--   check CURRENT      -> the version found. A Redis with no cg:schema and
--                         no chatgw data is new: it gets CURRENT. One with
--                         data but no cg:schema has version 1 (before it).
--   migrate FROM CURSOR COUNT -> {next cursor, chats done}: one SCAN step
--                         of the migration from FROM to FROM + 1; the last
--                         step (cursor 0) sets cg:schema to FROM + 1.
--                         Steps are idempotent: nodes may run them at once.
--
-- Versions: 1 the layout before cg:schema. 2 message ids scoped by their
-- writer: an ids field is '<who>\0<id>' (who: buyer | agent:<id>), so a
-- buyer's id and an agent's never meet (see append.lua). 3 a chat is one
-- hash, cg:chat:{id}, instead of four keys (:meta, :log, :ids, :loc): its
-- record's fields, 'n' and the messages by seq, the ids, 'loc', and 'an'
-- (its agent's nodes), so that append.lua stores and relays a message in
-- three commands.
local op = ARGV[1]

if op == 'check' then
  local v = redis.call('GET', key('SCHEMA'))
  if v then return tonumber(v) end
  -- every node that ever served publishes its stores and beats in cg:nodes
  if redis.call('EXISTS', key('QSEQ'), key('AGENTS'), key('STORES'), key('NODES')) == 0 then
    redis.call('SET', key('SCHEMA'), ARGV[2])
    return tonumber(ARGV[2])
  end
  return 1
end

-- 2 -> 3: each chat's four keys become one hash (chats without a record
-- are left to expire: a layout 2 chat gets its record with its first message)
local function to_one_hash(chat)
  local V2 = function(part) return key('CHAT_V2', chat, part) end
  local raw = redis.call('GET', V2('meta'))
  if not raw then return 0 end
  local K, set = key('CHAT', chat), {}
  local function put(f, v) set[#set + 1] = f; set[#set + 1] = v end
  local m = cmsgpack.unpack(raw)
  for f, v in pairs(m) do
    if type(v) ~= 'table' then put(f, v) end
  end
  local log = redis.call('LRANGE', V2('log'), 0, -1)
  for i, rec in ipairs(log) do put(i, rec) end
  put('n', #log)
  local loc = redis.call('GET', V2('loc'))
  if loc then put('loc', loc) end
  local ids = redis.call('HGETALL', V2('ids'))
  for i = 1, #ids, 2 do put(ids[i], ids[i + 1]) end
  if m.agent then
    local an = redis.call('HGETALL', key('AGENT_NODES', m.agent))
    for i = 2, #an, 2 do an[i] = tonumber(an[i]) end
    if #an > 0 then put('an', cmsgpack.pack(an)) end
  end
  local ttl = redis.call('PTTL', V2('meta'))
  redis.call('HSET', K, unpack(set))
  if ttl > 0 then redis.call('PEXPIRE', K, ttl) end
  redis.call('DEL', V2('meta'), V2('log'), V2('ids'), V2('loc'))
  return 1
end

if op == 'migrate' then
  local from, cursor, count = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
  if from == 2 then
    local got = redis.call('SCAN', cursor, 'MATCH', key('CHAT_V2', '*', 'meta'), 'COUNT', count)
    local done = 0
    for _, mk in ipairs(got[2]) do
      done = done + to_one_hash(string.match(mk, '{(.-)}'))
    end
    if got[1] == '0' then redis.call('SET', key('SCHEMA'), 3) end
    return {got[1], done}
  end
  if from ~= 1 then return redis.error_reply('no migration from ' .. from) end
  local got = redis.call('SCAN', cursor, 'MATCH', key('CHAT_V2', '*', 'ids'), 'COUNT', count)
  local done = 0
  for _, ids in ipairs(got[2]) do
    local chat = string.match(ids, '{(.-)}')
    local meta = redis.call('GET', key('CHAT_V2', chat, 'meta'))
    local agent = meta and cmsgpack.unpack(meta)['agent'] or nil
    local h = redis.call('HGETALL', ids)
    for i = 1, #h, 2 do
      local f, seq = h[i], h[i + 1]
      if not string.find(f, '\0', 1, true) then
        -- the record at that seq says who wrote it; an agent's id goes to
        -- the chat's agent now (the record keeps only the agent's name)
        local rec = redis.call('LINDEX', key('CHAT_V2', chat, 'log'), tonumber(seq) - 1)
        local from_ = rec and cmsgpack.unpack(rec)['from'] or 'buyer'
        local who = from_ == 'agent' and ('agent:' .. (agent or '')) or 'buyer'
        redis.call('HSET', ids, who .. '\0' .. f, seq)
        redis.call('HDEL', ids, f)
      end
    end
    done = done + 1
  end
  if got[1] == '0' then redis.call('SET', key('SCHEMA'), from + 1) end
  return {got[1], done}
end

return redis.error_reply('unknown op ' .. tostring(op))
