-- signal.lua: a typing or read signal from one side of a chat to the other.
-- KEYS[1] the chat (one hash, see append.lua).
-- ARGV[1] 'typing' | 'read', ARGV[2] who: 'buyer' or 'agent:<id>',
-- ARGV[3] the agent's store ('' for the buyer), ARGV[4] read: the seq
-- read up to ('' for typing), ARGV[5] the chat id, ARGV[6] the agent's
-- session tag (node#n; '' for the buyer).
--
-- An agent must hold the chat, in its store, else the error "forbidden"
-- (as append.lua: it learns nothing of the chat, not whether it exists).
-- A read is kept in the chat, the side's last read seq: 'rdb' (the buyer
-- has read up to) and 'rda' (the agent side has), so that a buyer who
-- resumes and a desk that logs in learn it again; a read beyond the chat's
-- last message, or not past the one kept, changes nothing and is not
-- relayed. Nothing is stored for typing: it is relayed, or lost.
-- What is relayed goes to the other side only: the agent's nodes ('an')
-- for the buyer's signals, the buyer's node ('loc') for the agent's. A
-- chat with nobody on the other side, or closed, relays nothing. An
-- agent's read that moves also goes to the agent's own nodes ('an') as
-- 'aread_self' (src: its session's tag), so that its other desk windows
-- clear the chat's unread count.
-- Returns 1 when a read was kept or a typing relayed, else 0.
--
-- Costs one HMGET, one PUBLISH per node of the other side (one, as a
-- rule) and, for a read that moves, one HSET (and an agent's, one PUBLISH
-- per node of the agent): never on a message's path.
local K, kind, who, chat = KEYS[1], ARGV[1], ARGV[2], ARGV[5]
local agent_id = string.match(who, '^agent:(.+)$')
local field = agent_id and 'rda' or 'rdb'
local got = redis.call('HMGET', K, 'store', 'state', 'agent', 'loc', 'an', 'n', field,
                       'agent_name')
local store, state, agent = got[1], got[2], got[3]
if agent_id and (not store or agent ~= agent_id or store ~= ARGV[3]) then
  return redis.error_reply('forbidden')
end
if not store or state == 'closed' then return 0 end
local seq
if kind == 'read' then
  seq = tonumber(ARGV[4])
  local n, last = tonumber(got[6]) or 0, tonumber(got[7]) or 0
  if not seq or seq > n or seq <= last then return 0 end
  redis.call('HSET', K, field, seq)
elseif kind ~= 'typing' then
  return redis.error_reply('bad kind')
end
if agent_id then                          -- to the buyer's node
  if kind == 'read' and got[5] then       -- and to the agent's other windows
    local ev = cmsgpack.pack({ k = 'aread_self', agent = agent_id, chat = chat, seq = seq,
                               src = ARGV[6] or '' })
    local an = cmsgpack.unpack(got[5])
    for i = 1, #an, 2 do redis.call('PUBLISH', key('NODE_CHAN', an[i]), ev) end
  end
  if not got[4] then return kind == 'read' and 1 or 0 end
  local ev = kind == 'read' and { k = 'bread', chat = chat, seq = seq }
                             or { k = 'btyping', chat = chat, name = got[8] or '' }
  redis.call('PUBLISH', key('NODE_CHAN', got[4]), cmsgpack.pack(ev))
  return 1
end
if not agent or not got[5] then return kind == 'read' and 1 or 0 end
-- to the agent's nodes
local ev = cmsgpack.pack(kind == 'read' and { k = 'aread', agent = agent, chat = chat, seq = seq }
                                         or { k = 'atyping', agent = agent, chat = chat })
local an = cmsgpack.unpack(got[5])
for i = 1, #an, 2 do redis.call('PUBLISH', key('NODE_CHAN', an[i]), ev) end
return 1
