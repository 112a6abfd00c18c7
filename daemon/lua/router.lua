-- router.lua: agents, queues and assignment, each step atomic.
--
-- EVALSHA sha 0 OP NOW NODE ARGS...: one script for the routing state
-- machine so every step shares the same helpers (eligibility, ready sets,
-- notifications). Keys are computed here from ids: routing spans agents and
-- chats, so it needs one Redis primary (not Cluster) -- chat data keeps its
-- {chat} hash tag for the day transcripts move elsewhere.
--
-- Events for sessions go out by PUBLISH on cg:node:<node> of the node that
-- holds the session (agents: cg:an:<agent> lists their nodes, and the
-- chat's field 'an' a copy of it while the agent holds the chat, kept here,
-- so that append.lua need not read it; buyers: the chat's field 'loc'),
-- as msgpack maps with k = assign|unassign|agent|amsg|
-- bmsg|closed; an unassign for an agent whose sessions are not registered
-- (grace over) goes to every node on cg:ctl. Redis is the truth; events are
-- how nodes hear of it.
--
-- Each agent session is registered by its tag (NODE#n) in cg:asess:<agent>
-- (tag -> node) and counted per node in cg:an:<agent> (node -> sessions);
-- online and offline of one tag are idempotent, so a late or repeated step
-- (a registration a sweep already dropped, a node registering its sessions
-- again) never counts another session.
--
-- Ops (ARGV[4...]):
--   online  agent tag max hash    a session of the agent opened on NODE;
--                                 max > 0: refused past that many sessions;
--                                 refused unless hash is the agent's token hash
--   offline agent tag             one closed
--   state   agent state           ready | away
--   refresh agent                 its groups or capacity changed
--   assign  store group max hist  hand waiting chats to eligible agents
--   release chat mode actor target ttl hist
--           mode: agent_close | buyer_left | transfer; buyer_left on a
--           closed chat answers the error "closed REASON" (the stored one)
--   chats   agent hist            the chats an agent holds, with history
--   sweep   grace node_timeout cursor
--                                 heartbeat, dead nodes, expired grace, and a
--                                 slice of this node's agents checked for chats
--                                 that expired while held; answers
--                                 {next cursor, {"store group"...}, dead,
--                                 the clock's next deadline or 0}:
--                                 dead = 1 when NODE had been declared dead
--                                 (its sessions dropped: register them again)
--   reset_node                    NODE starts: forget what its last run held
local op, now, node = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local function ckey(c) return key('CHAT', c) end

-- A chat's record is fields of its hash (daemon/chat.h), next to its
-- messages: these are the record's, the numbers among them read as numbers.
local META = { 'store', 'buyer', 'name', 'group', 'created', 'state', 'tok', 'agent',
               'agent_name', 'assigned', 'reason', 'closed', 'an', 'outcome' }
local NUMERIC = { created = true, assigned = true, closed = true }

local function agent_info(a)
  local v = redis.call('HMGET', key('AGENT', a), 'name', 'store', 'groups', 'capacity')
  if not v[2] then return nil end
  local groups = {}
  for g in string.gmatch(v[3] or '', '%S+') do groups[#groups + 1] = g end
  return { name = v[1] or a, store = v[2], groups = groups, cap = tonumber(v[4]) or 1 }
end

local function runtime(a)
  local v = redis.call('HMGET', key('AGENT_RT', a), 'state', 'load', 'idle', 'online')
  return { state = v[1] or 'away', load = tonumber(v[2]) or 0, idle = tonumber(v[3]) or 0,
           online = tonumber(v[4]) or 0 }
end

-- Puts the agent into the ready sets of its groups, or takes it out.
local function refresh(a, info, rt)
  info = info or agent_info(a)
  rt = rt or runtime(a)
  if not info then return end
  local ok = rt.state == 'ready' and rt.online > 0 and rt.load < info.cap
  local score = rt.load * 1e13 + rt.idle
  for _, g in ipairs(info.groups) do
    local k = key('READY', info.store, g)
    if ok then redis.call('ZADD', k, score, a) else redis.call('ZREM', k, a) end
  end
end

local function to_agent(a, ev)
  ev.agent = a
  local payload = cmsgpack.pack(ev)
  for _, n in ipairs(redis.call('HKEYS', key('AGENT_NODES', a))) do
    redis.call('PUBLISH', key('NODE_CHAN', n), payload)
  end
end

local function to_buyer(c, ev)
  local n = redis.call('HGET', ckey(c), 'loc')
  if n then
    ev.chat = c
    redis.call('PUBLISH', key('NODE_CHAN', n), cmsgpack.pack(ev))
  end
end

local function meta_get(c)
  local v = redis.call('HMGET', ckey(c), unpack(META))
  if not v[1] then return nil end
  local m = {}
  for i, f in ipairs(META) do
    if v[i] then m[f] = NUMERIC[f] and tonumber(v[i]) or v[i] end
  end
  return m
end

-- Writes m's fields; those it lacks (an agent gone) are removed.
local function meta_set(c, m)
  local set, del = {}, {}
  for _, f in ipairs(META) do
    if m[f] ~= nil then set[#set + 1] = f; set[#set + 1] = m[f] else del[#del + 1] = f end
  end
  redis.call('HSET', ckey(c), unpack(set))
  if #del > 0 then redis.call('HDEL', ckey(c), unpack(del)) end
end

-- The agent's nodes and its sessions on each, as the chats it holds keep
-- them (field 'an'; nil when it has no session): {node, count, ...}.
local function nodes_of(a)
  local t = redis.call('HGETALL', key('AGENT_NODES', a))
  if #t == 0 then return nil end
  for i = 2, #t, 2 do t[i] = tonumber(t[i]) end
  return cmsgpack.pack(t)
end

-- The agent's sessions changed: each chat it holds learns where they are.
local function nodes_changed(a)
  local an = nodes_of(a)
  for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
    if redis.call('HGET', ckey(c), 'agent') == a then
      if an then redis.call('HSET', ckey(c), 'an', an) else redis.call('HDEL', ckey(c), 'an') end
    end
  end
end

-- Appends records to chat c's messages; the seq of the first.
local function push(c, ...)
  local recs = { ... }
  local n = redis.call('HINCRBY', ckey(c), 'n', #recs)
  local set = {}
  for i, rec in ipairs(recs) do
    set[#set + 1] = n - #recs + i
    set[#set + 1] = rec
  end
  redis.call('HSET', ckey(c), unpack(set))
  return n - #recs + 1
end

-- A message from the gateway itself (from: system, or auto with the
-- store's name), stored and sent to both sides.
local function system_msg(c, text, agent, from, name)
  local rec = cmsgpack.pack({ from = from or 'system', name = name, text = text, ts = now })
  local seq = push(c, rec)
  to_buyer(c, { k = 'bmsg', seq = seq, rec = rec })
  if agent then to_agent(agent, { k = 'amsg', chat = c, seq = seq, rec = rec }) end
  return seq
end

-- Queue scores: one counter (cg:qseq, shared with append.lua) makes them
-- unique and increasing on every node whatever its clock; a chat sent to
-- the head of its queue (a transfer, an agent gone) gets its number less
-- HEAD, before every arrival and after the chats sent there earlier.
local HEAD = 2 ^ 50

-- A store's settings as the nodes publish them (store.c), read once per
-- script run: the clock's durations (ms) and its texts (templates).
local STORE_NUM = { 'hold_after', 'hold_every', 'hold_max', 'breach_after', 'reassign_after',
                    'away_reassign', 'stats_ttl' }
local stores = {}
local function store_cfg(st)
  local cfg = stores[st]
  if cfg then return cfg end
  cfg = {}
  local v = redis.call('HMGET', key('STORE', st), 'name', 'hold_text', unpack(STORE_NUM))
  cfg.name = v[1] or st
  cfg.hold_text = v[2] and cmsgpack.unpack(v[2]) or {}
  for i, f in ipairs(STORE_NUM) do cfg[f] = tonumber(v[i + 2]) or 0 end
  stores[st] = cfg
  return cfg
end

-- A template with its {placeholders} filled ({{ and }} are braces; an
-- unknown or missing value is empty), as greet.c renders them.
local function render(tpl, vars)
  local out, i, n = {}, 1, #tpl
  while i <= n do
    local c2 = string.sub(tpl, i, i + 1)
    if c2 == '{{' or c2 == '}}' then
      out[#out + 1] = string.sub(c2, 1, 1); i = i + 2
    elseif string.sub(tpl, i, i) == '{' and string.find(tpl, '}', i, true) then
      local j = string.find(tpl, '}', i, true)
      out[#out + 1] = tostring(vars[string.sub(tpl, i + 1, j - 1)] or ''); i = j + 1
    else
      local j = string.find(tpl, '[{}]', i + 1) or n + 1
      out[#out + 1] = string.sub(tpl, i, j - 1); i = j
    end
  end
  return table.concat(out)
end

-- The store's text `name` for chat c (record m), rendered.
local function store_text(m, name, vars)
  local tpl = redis.call('HGET', key('STORE', m.store), name) or ''
  vars = vars or {}
  vars.store = vars.store or store_cfg(m.store).name
  vars.buyer = vars.buyer or m.name
  vars.agent = vars.agent or m.agent_name
  return render(tpl, vars)
end

local function has_group(store, g)
  for name in string.gmatch(redis.call('HGET', key('STORE', store), 'groups') or '', '%S+') do
    if name == g then return true end
  end
  return false
end

-- Puts chat c, its agent gone, back in its group's queue, at the head: the
-- buyer gets `text` as a system message and where it stands now (and in
-- which group: a transfer may have moved it).
local function requeue(c, m, text)
  m.agent, m.agent_name, m.an = nil, nil, nil
  meta_set(c, m)
  system_msg(c, text, nil)
  local q = key('QUEUE', m.store, m.group)
  redis.call('ZADD', q, redis.call('INCR', key('QSEQ')) - HEAD, c)
  to_buyer(c, { k = 'queued', group = m.group, position = redis.call('ZRANK', q, c) + 1 })
end

-- The numbers supervisors read (layout: stats.lua): `name` of chat
-- record m counted by delta for its store, its group and agent (if any),
-- in this hour's hash, kept stats_ttl.
local function count(m, agent, name, delta)
  local k = key('STATS', m.store, math.floor(now / 3600000))
  local fields = { 's', 'g:' .. (m.group or '') }
  if agent then fields[#fields + 1] = 'a:' .. agent end
  for _, f in ipairs(fields) do
    local raw = redis.call('HGET', k, f)
    local cur = raw and cmsgpack.unpack(raw) or {}
    cur[name] = (cur[name] or 0) + delta
    redis.call('HSET', k, f, cmsgpack.pack(cur))
  end
  local ttl = store_cfg(m.store).stats_ttl
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
end

-- The last hist messages of chat c: the seq of the first, and them.
local function history(c, hist)
  local len = tonumber(redis.call('HGET', ckey(c), 'n')) or 0
  local first = math.max(len - hist + 1, 1)
  if first > len then return len + 1, {} end
  local seqs = {}
  for s = first, len do seqs[#seqs + 1] = s end
  local recs = redis.call('HMGET', ckey(c), unpack(seqs))
  return first, recs
end

local function give(c, m, a, info, rt, waited_from, hist)
  if redis.call('SADD', key('AGENT_CHATS', a), c) == 1 then   -- else it was counted
    rt.load = rt.load + 1
    redis.call('HSET', key('AGENT_RT', a), 'load', rt.load)
  end
  refresh(a, info, rt)
  m.agent = a
  m.agent_name = info.name
  m.assigned = now
  m.an = nodes_of(a)
  meta_set(c, m)
  -- an unanswered chat: the new agent has reassign_after to answer it
  local v = redis.call('HMGET', ckey(c), 'ua', 'dl')
  local after = store_cfg(m.store).reassign_after
  if v[1] and v[1] ~= '' and after > 0 then
    local d = now + after
    if not tonumber(v[2]) or tonumber(v[2]) > d then
      redis.call('ZADD', key('CLOCK'), d, c)
      redis.call('HSET', ckey(c), 'dl', d)
    end
  end
  local first, recs = history(c, hist)
  to_agent(a, { k = 'assign', chat = c, buyer = m.buyer or '', bname = m.name or '',
                group = m.group or '', waited = now - waited_from, first = first, hist = recs })
  to_buyer(c, { k = 'agent', name = info.name })
end

-- The agent lets go of a chat (its load drops, it becomes idle now).
local function take_back(c, a, reason)
  if redis.call('SREM', key('AGENT_CHATS', a), c) == 1 then
    local rt = runtime(a)
    rt.load = math.max(rt.load - 1, 0)
    rt.idle = now
    redis.call('HSET', key('AGENT_RT', a), 'load', rt.load, 'idle', now)
    refresh(a, nil, rt)
  end
  to_agent(a, { k = 'unassign', chat = c, reason = reason })
end

-- Lets go of the chats agent a holds that are gone (their transcript
-- expired) or no longer its own, and sets its load to what it holds.
-- True when the load dropped.
local function drop_stale(a)
  local dropped = false
  for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
    local m = meta_get(c)
    if not m or m.agent ~= a then
      take_back(c, a, not m and 'expired' or m.state == 'closed' and 'closed' or 'transferred')
      dropped = true
    end
  end
  local rt = runtime(a)
  local held = redis.call('SCARD', key('AGENT_CHATS', a))
  if rt.load ~= held then
    dropped = dropped or rt.load > held
    rt.load = held
    redis.call('HSET', key('AGENT_RT', a), 'load', held)
    refresh(a, nil, rt)
  end
  return dropped
end

local function online_count(a)
  local n = 0
  for _, v in ipairs(redis.call('HVALS', key('AGENT_NODES', a))) do n = n + tonumber(v) end
  return n
end

local function went_offline_if_gone(a)
  local n = online_count(a)
  redis.call('HSET', key('AGENT_RT', a), 'online', n)
  if n <= 0 then redis.call('ZADD', key('OFFLINE'), 'NX', now, a) end
  refresh(a)
end

-- Forgets every session of agent a on node n (the node is gone or restarts).
local function drop_node(a, n)
  local sk = key('AGENT_SESS', a)
  local t = redis.call('HGETALL', sk)
  for i = 1, #t, 2 do
    if t[i + 1] == n then redis.call('HDEL', sk, t[i]) end
  end
  redis.call('HDEL', key('AGENT_NODES', a), n)
  nodes_changed(a)
  went_offline_if_gone(a)
end

-- Agent a went away now: its clock (cg:clock member 'a:<agent>').
local function away_clock(a)
  local info = agent_info(a)
  redis.call('HSET', key('AGENT_RT', a), 'away_since', now)
  if info and store_cfg(info.store).away_reassign > 0 then
    redis.call('ZADD', key('CLOCK'), now + store_cfg(info.store).away_reassign, 'a:' .. a)
  end
end

local function groups_of(a)
  local info = agent_info(a)
  if not info then return {} end
  local out = {}
  for _, g in ipairs(info.groups) do out[#out + 1] = info.store .. ' ' .. g end
  return out
end

if op == 'online' then
  local a, tag, max, hash = ARGV[4], ARGV[5], tonumber(ARGV[6]) or 0, ARGV[7]
  local sk = key('AGENT_SESS', a)
  -- the login's lookup may have run before the agent was deleted or got a
  -- new token: it must not count it online (nor end a deletion's grace)
  if redis.call('HGET', key('AGENT', a), 'tok') ~= hash then
    return redis.error_reply('unauthorized')
  end
  if redis.call('HEXISTS', sk, tag) == 0 then
    if max > 0 and redis.call('HLEN', sk) >= max then
      return redis.error_reply('too_many_sessions')
    end
    redis.call('HSET', sk, tag, node)
    redis.call('HINCRBY', key('AGENT_NODES', a), node, 1)
    nodes_changed(a)
  end
  redis.call('SADD', key('NODE_AGENTS', node), a)
  redis.call('ZREM', key('OFFLINE'), a)
  redis.call('HSET', key('AGENT_RT', a), 'online', online_count(a))
  if redis.call('HSETNX', key('AGENT_RT', a), 'state', 'away') == 1 then away_clock(a) end
  redis.call('HSETNX', key('AGENT_RT', a), 'idle', now)
  refresh(a)
  return { runtime(a).state, groups_of(a) }
end

if op == 'offline' then
  local a, tag = ARGV[4], ARGV[5]
  local sk = key('AGENT_SESS', a)
  local n = redis.call('HGET', sk, tag)
  if n then                        -- else not registered (any more): nothing to undo
    redis.call('HDEL', sk, tag)
    if redis.call('HINCRBY', key('AGENT_NODES', a), n, -1) <= 0 then
      redis.call('HDEL', key('AGENT_NODES', a), n)
      redis.call('SREM', key('NODE_AGENTS', n), a)
    end
    nodes_changed(a)
  end
  went_offline_if_gone(a)
  return 1
end

if op == 'refresh' then
  -- the agent's identity changed (chatgwctl agent set): ready sets again,
  -- out of every set of its store it is no longer in
  -- (chatgwctl runs it too, in the transaction that changes the agent).
  -- An agent moved to another store lets go of its old store's chats:
  -- they go to the head of their queues, and the agent is told.
  local a = ARGV[4]
  local info = agent_info(a)
  local out = groups_of(a)
  if info then
    local all = redis.call('HGET', key('STORE', info.store), 'groups') or ''
    for g in string.gmatch(all, '%S+') do
      redis.call('ZREM', key('READY', info.store, g), a)
    end
    for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
      local m = meta_get(c)
      if m and m.agent == a and m.store ~= info.store and m.state ~= 'closed' then
        take_back(c, a, 'store_changed')
        requeue(c, m, store_text(m, 'transfer_text'))
        out[#out + 1] = m.store .. ' ' .. m.group
      end
    end
  end
  refresh(a)
  return out
end

if op == 'state' then
  local a, st = ARGV[4], ARGV[5]
  local rt = runtime(a)
  if st == 'ready' and rt.state ~= 'ready' then
    redis.call('HSET', key('AGENT_RT', a), 'idle', now)
  end
  redis.call('HSET', key('AGENT_RT', a), 'state', st)
  -- away: its unanswered chats go to colleagues after away_reassign
  if st == 'away' and rt.state ~= 'away' then away_clock(a) end
  refresh(a)
  return groups_of(a)
end

if op == 'assign' then
  local store, group, max, hist = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  local qk, rk = key('QUEUE', store, group), key('READY', store, group)
  local out, tries = {}, 0
  while #out < 2 * max and tries < 4 * max + 16 do
    tries = tries + 1
    local head = redis.call('ZRANGE', qk, 0, 0, 'WITHSCORES')
    if #head == 0 then break end
    local cand = redis.call('ZRANGE', rk, 0, 0)
    if #cand == 0 then break end
    local a = cand[1]
    local info, rt = agent_info(a), runtime(a)
    local in_group = false
    for _, g in ipairs(info and info.groups or {}) do
      if g == group then in_group = true end
    end
    -- eligibility, checked again here: the ready set may be stale (an agent
    -- edited by chatgwctl, a node gone). Shifts will add their check here.
    if not info or not in_group or info.store ~= store or rt.state ~= 'ready'
       or rt.online <= 0 or rt.load >= info.cap then
      redis.call('ZREM', rk, a)                 -- a stale entry: drop it, look again
    else
      local c = head[1]
      redis.call('ZREM', qk, c)
      local m = meta_get(c)
      if m and m.state ~= 'closed' and not m.agent then
        give(c, m, a, info, rt, m.created or now, hist)
        out[#out + 1] = c
        out[#out + 1] = a
      end
    end
  end
  return out
end

if op == 'release' then
  local c, mode, actor, target, ttl, hist =
    ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
  local m = meta_get(c)
  if mode ~= 'buyer_left' then
    -- an agent learns nothing of a chat it does not hold, not even that it
    -- exists: a missing chat, another's, another store's all answer alike
    local mine = agent_info(actor)
    if not m or m.agent ~= actor or not mine or mine.store ~= m.store then
      return redis.error_reply('forbidden')
    end
  end
  if not m then return redis.error_reply('not_found') end
  if mode == 'buyer_left' and m.state == 'closed' then
    -- closed first by someone else: the buyer is told why, as stored
    return redis.error_reply('closed ' .. (m.reason or 'closed'))
  end
  if m.state == 'closed' then return redis.error_reply('closed') end
  local owner = m.agent
  if mode == 'agent_close' or mode == 'buyer_left' then
    local outcome = ARGV[10] or ''
    if mode == 'agent_close' and (outcome == 'sold' or outcome == 'no_sale') then
      -- the handbooks' two farewells, from the store, before the chat closes
      system_msg(c, store_text(m, 'farewell_' .. outcome), owner, 'auto', store_cfg(m.store).name)
      m.outcome = outcome
      count(m, owner, outcome, 1)
    end
    m.state = 'closed'
    m.reason = mode == 'agent_close' and 'agent_closed' or 'buyer_left'
    m.closed = now
    m.agent, m.an = nil, nil
    meta_set(c, m)
    redis.call('PEXPIRE', ckey(c), ttl)
    redis.call('ZREM', key('QUEUE', m.store, m.group), c)
    if owner then take_back(c, owner, mode == 'agent_close' and 'closed' or 'buyer_left') end
    if mode == 'agent_close' then to_buyer(c, { k = 'closed', reason = 'agent_closed' }) end
    return owner and groups_of(owner) or {}
  end
  -- transfer: to an agent id, or to the head of a group's queue
  local g = string.match(target, '^group:(.+)$')
  if g then
    if not has_group(m.store, g) then return redis.error_reply('not_found') end
    take_back(c, owner, 'transferred')
    m.group = g
    requeue(c, m, store_text(m, 'transfer_text'))
    local out = groups_of(owner)
    out[#out + 1] = m.store .. ' ' .. g
    return out
  end
  local info, rt = agent_info(target), runtime(target)
  -- another store's agent is as unknown here as one that does not exist
  if not info or info.store ~= m.store then return redis.error_reply('not_found') end
  if target == owner or rt.state ~= 'ready' or rt.online <= 0 or rt.load >= info.cap then
    return redis.error_reply('conflict')
  end
  take_back(c, owner, 'transferred')
  system_msg(c, store_text(m, 'transfer_text'), nil)
  give(c, m, target, info, rt, now, hist)
  return groups_of(owner)
end

if op == 'chats' then
  local a, hist = ARGV[4], tonumber(ARGV[5])
  local out = {}
  drop_stale(a)                                    -- expired, closed or moved meanwhile
  for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
    local m = meta_get(c)
    local first, recs = history(c, hist)
    out[#out + 1] = { c, m.buyer or '', m.name or '', m.group or '',
                      now - (m.created or now), first, recs }
  end
  return out
end

if op == 'reset_node' then
  -- this node (re)starts: sessions an earlier run of it had are gone
  for _, a in ipairs(redis.call('SMEMBERS', key('NODE_AGENTS', node))) do
    drop_node(a, node)
  end
  redis.call('DEL', key('NODE_AGENTS', node))
  redis.call('ZADD', key('NODES'), now, node)
  return 1
end

if op == 'sweep' then
  local grace, node_timeout, cursor = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] or '0'
  local touched, seen = {}, {}
  local function touch(list)
    for _, sg in ipairs(list) do
      if not seen[sg] then seen[sg] = true; touched[#touched + 1] = sg end
    end
  end
  -- missing from the node set: another node's sweep found this one silent
  -- (paused past node_timeout) and dropped its sessions; it must register
  -- them again, or its agents stay offline while connected
  local declared_dead = not redis.call('ZSCORE', key('NODES'), node)
  redis.call('ZADD', key('NODES'), now, node)
  -- nodes that stopped beating: their agents' sessions are gone
  for _, n in ipairs(redis.call('ZRANGEBYSCORE', key('NODES'), '-inf', now - node_timeout)) do
    for _, a in ipairs(redis.call('SMEMBERS', key('NODE_AGENTS', n))) do
      drop_node(a, n)
    end
    redis.call('DEL', key('NODE_AGENTS', n))
    redis.call('ZREM', key('NODES'), n)
  end
  -- agents away past their grace: their chats go back to the head of the queue
  for _, a in ipairs(redis.call('ZRANGEBYSCORE', key('OFFLINE'), '-inf', now - grace)) do
    for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
      local m = meta_get(c)
      if m and m.agent == a and m.state ~= 'closed' then
        requeue(c, m, store_text(m, 'agent_gone_text'))
        touch({ m.store .. ' ' .. m.group })
        -- its sessions are not registered (that is why it is offline), yet
        -- some may still be open on a node declared dead that comes back:
        -- every node hears it and tells the agent's sessions it has
        redis.call('PUBLISH', key('CTL_CHAN'), cmsgpack.pack({ k = 'unassign', agent = a, chat = c,
                                                          reason = 'timeout' }))
      end
    end
    redis.call('DEL', key('AGENT_CHATS', a))
    redis.call('HSET', key('AGENT_RT', a), 'load', 0)
    redis.call('ZREM', key('OFFLINE'), a)
    refresh(a)
  end
  -- this node's agents, a slice per beat: chats gone while held free
  -- their slot (nothing else would: an expired key tells nobody)
  local scan = redis.call('SSCAN', key('NODE_AGENTS', node), cursor, 'COUNT', 64)
  for _, a in ipairs(scan[2]) do
    if drop_stale(a) then touch(groups_of(a)) end
  end
  local head = redis.call('ZRANGE', key('CLOCK'), 0, 0, 'WITHSCORES')
  return { scan[1], touched, declared_dead and 1 or 0, tonumber(head[2]) or 0 }
end

-- ---- the 30-second clock ---------------------------------------------------
-- cg:clock holds each chat's next deadline (member: chat id) and each away
-- agent's (member: 'a:' .. agent). append.lua starts a chat's clock with
-- the oldest unanswered buyer message (field 'ua') and an agent's reply
-- stops it ('ua' = ''); the deadline is not taken back then (that would
-- cost a command per reply): a deadline that finds the chat answered does
-- nothing. Each step below runs in one script, whichever node's timer
-- fires first: the ZREM of a due member is what makes it fire once.
-- A chat's fields: ua, lb (latest buyer message), dl (its deadline in
-- cg:clock, '' = none), hw (1: the next hold waits for a new buyer
-- message, which sets a deadline at once), hc/hl (holds sent, the last
-- one's time), br (breached), ra (moved up its queue), per episode (since
-- ua).

local function ready_colleague(m, not_a)
  for _, a in ipairs(redis.call('ZRANGE', key('READY', m.store, m.group), 0, 15)) do
    if a ~= not_a then
      local info, rt = agent_info(a), runtime(a)
      if info and info.store == m.store and rt.state == 'ready' and rt.online > 0
         and rt.load < info.cap then
        return a, info, rt
      end
    end
  end
end

-- Offers chat c (record m) of an agent who does not answer to a free
-- colleague of its group; true when one took it.
local function reassign(c, m, why, hist)
  local a, info, rt = ready_colleague(m, m.agent)
  if not a then return false end
  local old = m.agent
  take_back(c, old, why)
  system_msg(c, store_text(m, 'reassign_text', { agent = info.name }), nil, 'auto',
             store_cfg(m.store).name)
  give(c, m, a, info, rt, now, hist)
  count(m, old, 'reassigned', 1)
  return true
end

local CLOCK_F = { 'store', 'group', 'state', 'agent', 'agent_name', 'name', 'assigned',
                  'ua', 'lb', 'hc', 'hl', 'br', 'ra', 'buyer', 'created' }

-- One due step of chat c; its next deadline (or nil). Counts into out.
local function clock_chat(c, hist, out)
  local K = ckey(c)
  local v = redis.call('HMGET', K, unpack(CLOCK_F))
  local m = {}
  for i, f in ipairs(CLOCK_F) do m[f] = v[i] end
  if not m.store or m.state == 'closed' or not m.ua or m.ua == '' then
    if m.store then redis.call('HSET', K, 'dl', '') end
    return
  end
  local cfg = store_cfg(m.store)
  local ua, lb = tonumber(m.ua), tonumber(m.lb) or tonumber(m.ua)
  local hc, hl = tonumber(m.hc) or 0, tonumber(m.hl) or 0
  local next_at, waits = nil, false
  local function at(t) if not next_at or t < next_at then next_at = t end end
  -- a holding reply: after hold_after, hold_every apart, hold_max at most,
  -- and only for a buyer message newer than the last hold
  if hc < cfg.hold_max and #cfg.hold_text > 0 then
    if lb > hl then
      local t = math.max(ua + cfg.hold_after, hl + cfg.hold_every)
      if now >= t then
        local q = key('QUEUE', m.store, m.group)
        local rank = not m.agent and redis.call('ZRANK', q, c) or nil
        local text = render(cfg.hold_text[hc % #cfg.hold_text + 1],
                            { store = cfg.name, buyer = m.name, agent = m.agent_name,
                              position = rank and rank + 1 or '' })
        system_msg(c, text, m.agent, 'auto', cfg.name)
        if rank then to_buyer(c, { k = 'queued', group = m.group, position = rank + 1 }) end
        hc, hl = hc + 1, now
        redis.call('HSET', K, 'hc', hc, 'hl', now)
        out.holds = out.holds + 1
        if hc < cfg.hold_max then waits = true end
      else
        at(t)
      end
    else
      waits = true
    end
  end
  -- the breach: flagged once per episode, counted against the agent
  if m.br ~= '1' and cfg.breach_after > 0 then
    if now >= ua + cfg.breach_after then
      redis.call('HSET', K, 'br', 1)
      redis.call('HINCRBY', K, 'brn', 1)
      m.br = '1'
      count(m, m.agent, 'breaches', 1)
      local ev = { k = 'breach', chat = c, store = m.store, group = m.group,
                   waited = now - ua }
      if m.agent then to_agent(m.agent, ev) end
      out.breaches = out.breaches + 1
    else
      at(ua + cfg.breach_after)
    end
  end
  -- reassignment: an agent who has not answered within reassign_after of
  -- taking the chat (or of the question) loses it to a free colleague; a
  -- waiting chat goes to the head of its queue, once
  if cfg.reassign_after > 0 then
    if m.agent then
      local t = math.max(ua, tonumber(m.assigned) or 0) + cfg.reassign_after
      if now >= t then
        local full = meta_get(c)
        if reassign(c, full, 'reassigned', hist) then
          out.reassigned = out.reassigned + 1
          at(now + cfg.reassign_after)
        else
          at(now + cfg.reassign_after)     -- nobody free: ask again later
        end
      else
        at(t)
      end
    elseif m.ra ~= '1' then
      if now >= ua + cfg.reassign_after then
        local q = key('QUEUE', m.store, m.group)
        if redis.call('ZSCORE', q, c) then
          redis.call('ZADD', q, redis.call('INCR', key('QSEQ')) - HEAD, c)
          to_buyer(c, { k = 'queued', group = m.group, position = redis.call('ZRANK', q, c) + 1 })
          out.touched[#out.touched + 1] = m.store .. ' ' .. m.group
        end
        redis.call('HSET', K, 'ra', 1)
      else
        at(ua + cfg.reassign_after)
      end
    end
  end
  if next_at then redis.call('ZADD', key('CLOCK'), next_at, c) end
  redis.call('HSET', K, 'dl', next_at or '', 'hw', waits and 1 or 0)
  return next_at
end

-- Agent a has been away for its store's away_reassign: its unanswered
-- chats go to free colleagues.
local function clock_away(a, hist, out)
  local rt, info = runtime(a), agent_info(a)
  if not info or rt.state ~= 'away' then return end
  local cfg = store_cfg(info.store)
  local since = tonumber(redis.call('HGET', key('AGENT_RT', a), 'away_since')) or now
  if cfg.away_reassign <= 0 then return end
  if now < since + cfg.away_reassign then
    redis.call('ZADD', key('CLOCK'), since + cfg.away_reassign, 'a:' .. a)
    return
  end
  for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
    local m = meta_get(c)
    local ua = redis.call('HGET', ckey(c), 'ua')
    if m and m.agent == a and m.state ~= 'closed' and ua and ua ~= '' then
      if reassign(c, m, 'away', hist) then out.reassigned = out.reassigned + 1 end
    end
  end
end

if op == 'clock' then
  -- due steps, at most `max`: {next deadline or 0, {"store group"...},
  -- holds, breaches, reassigned}
  local max, hist = tonumber(ARGV[4]), tonumber(ARGV[5])
  local out = { holds = 0, breaches = 0, reassigned = 0, touched = {} }
  local due = redis.call('ZRANGEBYSCORE', key('CLOCK'), '-inf', now, 'LIMIT', 0, max)
  for _, member in ipairs(due) do
    redis.call('ZREM', key('CLOCK'), member)
    local a = string.match(member, '^a:(.+)$')
    if a then clock_away(a, hist, out) else clock_chat(member, hist, out) end
  end
  local head = redis.call('ZRANGE', key('CLOCK'), 0, 0, 'WITHSCORES')
  return { tonumber(head[2]) or 0, out.touched, out.holds, out.breaches, out.reassigned }
end

-- ---- plugins' actions on a chat (plugin.c's host table) -------------------
-- Each takes the chat and the plugin's store ('' for a global plugin: any
-- store); a chat of another store is as unknown as a missing one.

local function plugin_chat(c, st)
  local m = meta_get(c)
  if not m or (st ~= '' and m.store ~= st) then return nil end
  return m
end

if op == 'flag' then
  -- flag chat store rule excerpt: kept on the chat (field 'flags', a
  -- msgpack array of {rule, excerpt, ts}, the last FLAGS_KEPT), counted
  -- ('escalations'), and told to the agent holding it and to the store's
  -- supervisors (cg:floor:<store>); 'fln' counts them all (the event's n).
  -- Answers the chat's number of flags.
  local FLAGS_KEPT = 20
  local c, st, rule, excerpt = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local m = plugin_chat(c, st)
  if not m then return redis.error_reply('not_found') end
  local raw = redis.call('HGET', ckey(c), 'flags')
  local flags = raw and cmsgpack.unpack(raw) or {}
  flags[#flags + 1] = { rule = rule, excerpt = excerpt, ts = now }
  while #flags > FLAGS_KEPT do table.remove(flags, 1) end
  redis.call('HSET', ckey(c), 'flags', cmsgpack.pack(flags))
  local fln = redis.call('HINCRBY', ckey(c), 'fln', 1)
  count(m, m.agent, 'escalations', 1)
  local ev = { k = 'escalation', chat = c, store = m.store, group = m.group or '', rule = rule,
               excerpt = excerpt, ts = now, n = fln }
  if m.agent then to_agent(m.agent, ev) end
  redis.call('PUBLISH', key('FLOOR_CHAN', m.store), cmsgpack.pack(ev))
  return fln
end

if op == 'priority' then
  -- priority chat store level mode: the chat's field 'priority' (normal
  -- | ordered | paid | vip); mode 'raise' keeps a higher one. Queue order
  -- does not read it yet. Answers the level the chat has now.
  local LEVEL = { normal = 0, ordered = 1, paid = 2, vip = 3 }
  local c, st, level, mode = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
  local m = plugin_chat(c, st)
  if not m or not LEVEL[level] then return redis.error_reply('not_found') end
  if m.state == 'closed' then return redis.error_reply('closed') end
  local cur = redis.call('HGET', ckey(c), 'priority') or 'normal'
  if mode == 'raise' and (LEVEL[cur] or 0) >= LEVEL[level] then return cur end
  redis.call('HSET', ckey(c), 'priority', level)
  return level
end

if op == 'move' then
  -- move chat store group: to the head of another group's queue of its
  -- store, as an agent's transfer to group:NAME (the agent holding it lets
  -- go). Answers the "store group" queues to assign, as release does.
  local c, st, g = ARGV[4], ARGV[5], ARGV[6]
  local m = plugin_chat(c, st)
  if not m or not has_group(m.store, g) then return redis.error_reply('not_found') end
  if m.state == 'closed' then return redis.error_reply('closed') end
  if m.group == g then return {} end
  local out, owner = {}, m.agent
  if owner then
    take_back(c, owner, 'transferred')
    out = groups_of(owner)
  else
    redis.call('ZREM', key('QUEUE', m.store, m.group), c)
  end
  m.group = g
  requeue(c, m, store_text(m, 'transfer_text'))
  out[#out + 1] = m.store .. ' ' .. g
  return out
end

return redis.error_reply('unknown op ' .. tostring(op))
