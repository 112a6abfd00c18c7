-- append.lua: store one message in a chat's transcript, exactly once.
-- KEYS[1] meta (msgpack map), KEYS[2] log (list of msgpack records),
-- KEYS[3] ids (hash: writer NUL client id -> seq)
-- ARGV[1] client id ('' = none), ARGV[2] record, ARGV[3] ttl ms,
-- ARGV[4] greeting record to store right after it when the log is empty
-- (the buyer's first message; '' = none), ARGV[5] meta record to create
-- when the chat has none yet ('' = none): the durable chat is created
-- with its first message, never before.
-- ARGV[6] chat id, ARGV[7] who wrote it: 'buyer', 'agent:<id>' (must be
-- the chat's agent, in the chat's store, else error "forbidden"), or ''
-- (the gateway: holds),
-- ARGV[8] the writing session's tag (its other windows get the copy, not it),
-- ARGV[9] now (ms): with the greeting, the chat joins its group's queue in
-- the same step, so a lost reply can never leave a chat out of the queue;
-- it also times the retention renewal (below).
-- ARGV[10] the writing agent's store ('' unless an agent writes),
-- ARGV[11] the buyer's node, set as the chat's location ('' = leave it):
-- a new chat has none before its first message.
-- The new record is published to the other side's node(s) (see router.lua).
-- Returns {seq, duplicate 0|1, greeting seq or 0, queue position or 0}, or
-- an error "closed" / "no_chat" / "forbidden". seq is the record's 1-based
-- index; the position (1 = next) is given when this step queued the chat,
-- so the buyer learns it with the ack and before any agent can take it.
--
-- The right to write is checked before anything else is read: an agent
-- that does not hold the chat learns nothing of it (not whether it exists,
-- nor which ids it has seen), and gets "forbidden" whatever the reason.
-- Client ids are scoped by their writer, so a buyer's id and an agent's
-- id never meet.
local id, who, chat = ARGV[1], ARGV[7], ARGV[6]
local writer = string.match(who, '^agent:(.+)$')
local meta = redis.call('GET', KEYS[1])
if not meta then
  if writer then return redis.error_reply('forbidden') end
  if ARGV[5] == '' then return redis.error_reply('no_chat') end
  redis.call('SET', KEYS[1], ARGV[5])
  meta = ARGV[5]
end
local m = cmsgpack.unpack(meta)
if writer and (m['agent'] ~= writer or m['store'] ~= ARGV[10]) then
  return redis.error_reply('forbidden')
end
-- RENEWED: a field no client id can be (the gateway refuses NUL in
-- strings, and every id field has its writer and a NUL before it) holding
-- when the retention clock was last restarted; read with the id in one HMGET
local RENEWED = '\0renewed'
local idf = id ~= '' and (who ~= '' and who or 'gateway') .. '\0' .. id or RENEWED
local got = redis.call('HMGET', KEYS[3], idf, RENEWED)
if id ~= '' and got[1] then return {tonumber(got[1]), 1, 0, 0} end
if m['state'] == 'closed' then return redis.error_reply('closed') end
local greet, pos = 0, 0
local seq
if ARGV[4] ~= '' and redis.call('LLEN', KEYS[2]) == 0 then
  seq = redis.call('RPUSH', KEYS[2], ARGV[2], ARGV[4]) - 1
  greet = seq + 1
  -- queue scores come from one counter: unique and increasing on every
  -- node whatever its clock, so the position told here is the one the
  -- chat has (only chats sent to the head, see router.lua, go before it)
  local q = key('QUEUE', m['store'], m['group'])
  redis.call('ZADD', q, 'NX', redis.call('INCR', key('QSEQ')), chat)
  pos = redis.call('ZRANK', q, chat) + 1
else
  seq = redis.call('RPUSH', KEYS[2], ARGV[2])
end
if ARGV[11] ~= '' then
  redis.call('SET', key('CHAT', chat, 'loc'), ARGV[11], 'PX', tonumber(ARGV[3]))
end
-- the retention clock restarts with activity; restarting it when a tenth
-- of it has passed is as good as on every append, and costs no command
-- on the others (it used to be a PTTL per append)
local ttl, now = tonumber(ARGV[3]), tonumber(ARGV[9])
local renew = not got[2] or now - tonumber(got[2]) >= ttl / 10 or now < tonumber(got[2])
if id ~= '' and renew then
  redis.call('HSET', KEYS[3], idf, seq, RENEWED, now)
elseif id ~= '' then
  redis.call('HSET', KEYS[3], idf, seq)
elseif renew then
  redis.call('HSET', KEYS[3], RENEWED, now)
end
-- tell the other side: the buyer's node, the agent's nodes
if writer then
  local n = redis.call('GET', key('CHAT', chat, 'loc'))
  if n then
    redis.call('PUBLISH', key('NODE_CHAN', n),
      cmsgpack.pack({ k = 'bmsg', chat = chat, seq = seq, rec = ARGV[2] }))
  end
end
if m['agent'] then
  local ev = cmsgpack.pack({ k = 'amsg', agent = m['agent'], chat = chat, seq = seq,
                             rec = ARGV[2], src = ARGV[8] })
  -- the writing window's node needs it only for the agent's other windows there
  local own = writer and string.match(ARGV[8], '^(.*)#') or nil
  local an = redis.call('HGETALL', key('AGENT_NODES', m['agent']))
  for i = 1, #an, 2 do
    if an[i] ~= own or tonumber(an[i + 1]) > 1 then
      redis.call('PUBLISH', key('NODE_CHAN', an[i]), ev)
    end
  end
end
if renew then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {seq, 0, greet, pos}
