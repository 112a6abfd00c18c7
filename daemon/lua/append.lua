-- append.lua: store one message in a chat's transcript, exactly once.
-- KEYS[1] the chat (one hash: its record's fields, 'n' the number of
-- messages, each message under its seq, 'loc' the buyer's node, 'an' the
-- agent's nodes, the client ids, the clock's fields; see daemon/chat.h),
-- KEYS[2] cg:clock (the deadlines, see router.lua). With a greeting (the
-- chat's first message) also KEYS[3] its group's queue, KEYS[4] the
-- queue counter and KEYS[5] its store's floor listeners (router.lua's
-- to_floor): a new chat joins its queue in the same step, and the store's
-- supervisors hear of it when some node listens.
-- ARGV[1] client id ('' = none), ARGV[2] record, ARGV[3] ttl ms,
-- ARGV[4] greeting record to store right after it when the chat has no
-- message yet ('' = none), ARGV[5] the chat's record (msgpack map) to
-- create when there is none yet ('' = none): the durable chat is created
-- with its first message, never before.
-- ARGV[6] chat id, ARGV[7] who wrote it: 'buyer', 'agent:<id>' (must be
-- the chat's agent, in the chat's store, else error "forbidden"),
-- 'supervisor:<id>' (the chat's store must be one of ARGV[10]'s, else
-- "forbidden"), or '' (the gateway: holds),
-- ARGV[8] the writing session's tag (its other windows get the copy, not it),
-- ARGV[9] now (ms), which times the retention renewal (below),
-- ARGV[10] the writing agent's store ('' unless an agent writes); a
-- supervisor's: the stores it sees, space-separated,
-- ARGV[11] the buyer's node, set as the chat's location ('' = leave it):
-- a new chat has none before its first message.
-- ARGV[12] a buyer message: ms from an unanswered message to the clock's
-- first step in its store ('0' = no clock; '' for others).
-- ARGV[13] with a greeting: the new chat's queue weight ('' = 0, see below).
-- ARGV[14] '1': a private record (an agent's note, a supervisor's
-- whisper): never sent to the buyer, and no answer (the clock runs on).
-- Every record also goes to the nodes of the supervisors watching the
-- chat (field 'wn', router.lua "watch"): none, as a rule.
-- The clock: a buyer message with none unanswered before it starts it
-- (ua = now; nothing else: router.lua's clock step keeps the rest) and
-- puts a deadline in cg:clock unless an earlier one is there; an agent's message stops it (ua = '') and is a response, timed
-- and counted in the chat (fr first, rn count, rs sum, r30 within 30 s).
-- The new record is published to the other side's node(s) (see router.lua).
-- Returns {seq, duplicate 0|1, greeting seq or 0, queue position or 0,
-- the deadline this step set or 0, the response time or -1, 1 when it was
-- the chat's first response, the chat's group}, or
-- an error "closed" / "no_chat" / "forbidden". seq is the record's 1-based
-- number; the position (1 = next) is given when this step queued the chat,
-- so the buyer learns it with the ack and before any agent can take it.
--
-- A relayed message costs three commands: one HMGET reads all this needs,
-- one HSET writes the record, its id and the count, one PUBLISH per node
-- of the other side (one, as a rule). The retention clock restarts with a
-- PEXPIRE only when a tenth of it has passed.
--
-- The right to write is checked before anything else is used: an agent
-- that does not hold the chat learns nothing of it (not whether it exists,
-- nor which ids it has seen), and gets "forbidden" whatever the reason.
-- Client ids are scoped by their writer, so a buyer's id and an agent's
-- id never meet.
local id, who, chat, K = ARGV[1], ARGV[7], ARGV[6], KEYS[1]
local writer = string.match(who, '^agent:(.+)$')
local sup = not writer and string.match(who, '^supervisor:(.+)$')
local private = ARGV[14] == '1'
-- RENEWED: a field no client id can be (the gateway refuses NUL in
-- strings, and every id field has its writer and a NUL before it) holding
-- when the retention clock was last restarted
local RENEWED = '\0renewed'
local idf = id ~= '' and (who ~= '' and who or 'gateway') .. '\0' .. id or RENEWED
local got = redis.call('HMGET', K, 'store', 'state', 'agent', 'n', 'loc', 'an', RENEWED, idf,
                      'group', 'ua', 'dl', 'rn', 'rs', 'r30', 'fr', 'hw', 'wn')
local store, state, agent, n = got[1], got[2], got[3], tonumber(got[4]) or 0
local set = {}
if not store then
  if writer or sup then return redis.error_reply('forbidden') end
  if ARGV[5] == '' then return redis.error_reply('no_chat') end
  local m = cmsgpack.unpack(ARGV[5])
  for f, v in pairs(m) do set[#set + 1] = f; set[#set + 1] = v end
  store, state, got[9] = m.store, m.state, m.group
end
if writer and (agent ~= writer or store ~= ARGV[10]) then
  return redis.error_reply('forbidden')
end
if sup and not string.find(' ' .. ARGV[10] .. ' ', ' ' .. store .. ' ', 1, true) then
  return redis.error_reply('forbidden')
end
if id ~= '' and got[8] then return {tonumber(got[8]), 1, 0, 0, 0, -1, 0, ''} end
if state == 'closed' then return redis.error_reply('closed') end
local seq, greet, pos = n + 1, 0, 0
set[#set + 1] = seq
set[#set + 1] = ARGV[2]
if ARGV[4] ~= '' and n == 0 then
  greet = seq + 1
  set[#set + 1] = greet
  set[#set + 1] = ARGV[4]
  -- queue scores come from one counter: unique and increasing on every
  -- node whatever its clock, so the position told here is the one the
  -- chat has (only chats sent to the head, see router.lua, go before it)
  -- (ARGV[13] the chat's queue weight, from its signed priority: it goes
  -- before the chats that arrived at most that many arrivals earlier)
  local w = tonumber(ARGV[13]) or 0
  redis.call('ZADD', KEYS[3], 'NX', redis.call('INCR', KEYS[4]) - (w > 0 and w + 0.5 or 0), chat)
  pos = redis.call('ZRANK', KEYS[3], chat) + 1
  if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 1 then
    redis.call('PUBLISH', key('FLOOR_CHAN', store), cmsgpack.pack({ k = 'queued', chat = chat,
      store = store, group = got[9], position = pos }))
  end
end
set[#set + 1] = 'n'
set[#set + 1] = greet > 0 and greet or seq
if ARGV[11] ~= '' and ARGV[11] ~= got[5] then
  set[#set + 1] = 'loc'
  set[#set + 1] = ARGV[11]
end
if id ~= '' then
  set[#set + 1] = idf
  set[#set + 1] = seq
end
-- the 30-second clock
local ua, deadline, rt, first = got[10], 0, -1, 0
local start = tonumber(ARGV[12]) or 0
if who == 'buyer' and start > 0 then
  local now_ = tonumber(ARGV[9])
  local dl = tonumber(got[11])
  local d
  if not ua or ua == '' then              -- a new question: the clock starts
    -- (the clock step resets the stretch's holds and flags itself when it
    -- finds ua changed: nothing more to write here, per message)
    set[#set + 1] = 'ua'
    set[#set + 1] = now_
    d = now_ + start
  elseif got[16] == '1' then              -- a hold waited for this message
    d = now_
    set[#set + 1] = 'hw'
    set[#set + 1] = 0
  end
  if d and dl and dl <= d then d = nil end  -- an earlier deadline comes first
  if d then
    redis.call('ZADD', KEYS[2], d, chat)
    set[#set + 1] = 'dl'
    set[#set + 1] = d
    deadline = d
  end
elseif (writer or sup) and not private and ua and ua ~= '' then   -- an answer: the clock stops
  rt = tonumber(ARGV[9]) - tonumber(ua)
  first = got[15] and 0 or 1
  for _, f in ipairs({ 'ua', '', 'rn', (tonumber(got[12]) or 0) + 1,
                       'rs', (tonumber(got[13]) or 0) + rt,
                       'r30', (tonumber(got[14]) or 0) + (rt <= 30000 and 1 or 0) }) do
    set[#set + 1] = f
  end
  if first == 1 then set[#set + 1] = 'fr'; set[#set + 1] = rt end
end
-- the retention clock restarts with activity; restarting it when a tenth
-- of it has passed is as good as on every append
local ttl, now = tonumber(ARGV[3]), tonumber(ARGV[9])
local last = tonumber(got[7])
local renew = not last or now - last >= ttl / 10 or now < last
if renew then
  set[#set + 1] = RENEWED
  set[#set + 1] = now
end
redis.call('HSET', K, unpack(set))
-- tell the other side: the buyer's node (for anyone's record but its
-- own: an agent's, or the gateway's, e.g. a plugin's), the agent's nodes
if who ~= 'buyer' and got[5] and not private then
  redis.call('PUBLISH', key('NODE_CHAN', got[5]),
    cmsgpack.pack({ k = 'bmsg', chat = chat, seq = seq, rec = ARGV[2] }))
end
if agent and got[6] then
  local ev = cmsgpack.pack({ k = 'amsg', agent = agent, chat = chat, seq = seq,
                             rec = ARGV[2], src = ARGV[8] })
  -- the writing window's node needs it only for the agent's other windows there
  local own = writer and string.match(ARGV[8], '^(.*)#') or nil
  local an = cmsgpack.unpack(got[6])
  for i = 1, #an, 2 do
    if an[i] ~= own or an[i + 1] > 1 then
      redis.call('PUBLISH', key('NODE_CHAN', an[i]), ev)
    end
  end
end
if got[17] then                           -- supervisors watch it
  local ev = cmsgpack.pack({ k = 'wmsg', chat = chat, store = store, seq = seq, rec = ARGV[2] })
  for _, n in ipairs(cmsgpack.unpack(got[17])) do redis.call('PUBLISH', key('NODE_CHAN', n), ev) end
end
if renew then redis.call('PEXPIRE', K, ttl) end
return {seq, 0, greet, pos, deadline, rt, first, got[9] or ''}
