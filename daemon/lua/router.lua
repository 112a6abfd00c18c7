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
--   assign  store group max hist  hand waiting chats to eligible agents;
--                                 answers {chat, agent, ..., the earliest
--                                 sticky wait's end it set (ms) or 0}
--   release chat mode actor target ttl hist
--           mode: agent_close | buyer_left | transfer; buyer_left on a
--           closed chat answers the error "closed REASON" (the stored one)
--   chats   agent hist            the chats an agent holds, with history
--                                 and how far each buyer has read
--   sweep   grace node_timeout cursor
--                                 heartbeat, dead nodes, expired grace, and a
--                                 slice of this node's agents checked for chats
--                                 that expired while held; answers
--                                 {next cursor, {"store group"...}, dead,
--                                 the clock's next deadline or 0}:
--                                 dead = 1 when NODE had been declared dead
--                                 (its sessions dropped: register them again)
--   reset_node                    NODE starts: forget what its last run held
--   shifts  store                 a shift boundary passed: agents of the store
--                                 whose shift began or ended are told (event
--                                 shift), ready sets redone; answers the
--                                 "store group"s of agents now on duty
--   ghours  store                 each group's service hours from its agents'
--                                 rosters (field hours:GROUP), answered
--   watch   chat on|off stores hist
--                                 NODE hears every record of the chat (a
--                                 supervisor watches it), with its history
--   supervise action chat stores ttl hist target force
--                                 a supervisor's assign, transfer or close
--   guard   chat agent verdict rule   a plugin held or blocked the agent's
--                                 message: counted, told to the floor
--   bnote   chat agent text max keep  a note on the chat's signed buyer
--   (floor events of every step go to cg:floor:<store>: see to_floor)
local op, now, node = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local function ckey(c) return key('CHAT', c) end

-- A chat's record is fields of its hash (daemon/chat.h), next to its
-- messages: these are the record's, the numbers among them read as numbers.
local META = { 'store', 'buyer', 'name', 'group', 'created', 'state', 'tok', 'agent',
               'agent_name', 'assigned', 'reason', 'closed', 'an', 'outcome',
               'priority', 'sbuyer', 'sname', 'product', 'pa', 'pt', 'rdb' }
local NUMERIC = { created = true, assigned = true, closed = true, pt = true, rdb = true }

local function agent_info(a)
  local v = redis.call('HMGET', key('AGENT', a), 'name', 'store', 'groups', 'capacity')
  if not v[2] then return nil end
  local groups = {}
  for g in string.gmatch(v[3] or '', '%S+') do groups[#groups + 1] = g end
  return { name = v[1] or a, store = v[2], groups = groups, cap = tonumber(v[4]) or 1 }
end

local function runtime(a)
  local v = redis.call('HMGET', key('AGENT_RT', a), 'state', 'load', 'idle', 'online', 'ot')
  return { state = v[1] or 'away', load = tonumber(v[2]) or 0, idle = tonumber(v[3]) or 0,
           online = tonumber(v[4]) or 0, ot = v[5] == '1' }
end

-- on_duty(a, info, rt): on shift now, or working overtime (see "shifts" below)
local on_duty

-- Puts the agent into the ready sets of its groups, or takes it out.
local function refresh(a, info, rt)
  info = info or agent_info(a)
  rt = rt or runtime(a)
  if not info then return end
  local ok = rt.state == 'ready' and rt.online > 0 and rt.load < info.cap and on_duty(a, info, rt)
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

-- The supervisors' floor: a store's events on cg:floor:<store>, with the
-- store in them, published only while some node listens there (the nodes
-- keep themselves in cg:floornodes:<store> while one of the store's
-- supervisors is logged in on them; read once per store and script run).
-- Node-channel copies of the same events carry `store` too: a node takes
-- its supervisors' events from the floor channel only, never twice.
local floor_on = {}
local function to_floor(store, ev)
  if not store then return end
  local on = floor_on[store]
  if on == nil then
    on = redis.call('EXISTS', key('FLOOR_NODES', store)) == 1
    floor_on[store] = on
  end
  if on then
    ev.store = store
    redis.call('PUBLISH', key('FLOOR_CHAN', store), cmsgpack.pack(ev))
  end
end

-- Agent a changed (change: online | offline | state): its store's floor
-- hears where it stands now.
local function agent_floor(a, change)
  local info = agent_info(a)
  if not info then return end
  local rt = runtime(a)
  to_floor(info.store, { k = 'floor_agent', agent = a, change = change, name = info.name,
                         state = rt.state, online = rt.online, load = rt.load,
                         capacity = info.cap })
end

-- Node n is gone or starts over: it listens on no floor channel.
local function floor_forget(n)
  for _, st in ipairs(redis.call('SMEMBERS', key('STORES'))) do
    redis.call('HDEL', key('FLOOR_NODES', st), n)
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

-- Writes the named fields of m; those m lacks (an agent gone) are removed.
local function meta_set(c, m, fields)
  local set, del = {}, {}
  for _, f in ipairs(fields) do
    if m[f] ~= nil then set[#set + 1] = f; set[#set + 1] = m[f] else del[#del + 1] = f end
  end
  if #set > 0 then redis.call('HSET', ckey(c), unpack(set)) end
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
  local wn = redis.call('HGET', ckey(c), 'wn')       -- supervisors watching (op watch)
  if wn then
    local ev = cmsgpack.pack({ k = 'wmsg', chat = c, seq = seq, rec = rec })
    for _, n in ipairs(cmsgpack.unpack(wn)) do redis.call('PUBLISH', key('NODE_CHAN', n), ev) end
  end
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
                    'away_reassign', 'stats_ttl', 'overtime', 'sticky', 'sticky_wait' }
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

--@include lib/shift.lua

-- A group's service hours: the spans of the store's some agent of the
-- group works (field 'hours:GROUP' of cg:store:<id>, written by the op
-- ghours only where they differ from the store's); else the store's.
local function group_hours(st, g)
  local raw = g and redis.call('HGET', key('STORE', st), 'hours:' .. g)
  if raw and raw ~= '' then return cmsgpack.unpack(raw) end
  return hours_of(st)
end

-- The store (or its group g, if given) is open (some shift of it is on);
-- else when and how it opens next.
local function store_open(st, g)
  local h = group_hours(st, g)
  if not h then return true, 0, '' end
  local on, _, nxt, label = stretch(h, function() return true end)
  return on, nxt, label
end

on_duty = function(a, info, rt)
  if shift_state(a, info.store) then return true end
  return rt.ot and store_cfg(info.store).overtime == 1
end

-- Tells agent a its shift when that changed since it was last told
-- (AGENT_RT field 'sh'); returns {on 0|1, ends, next, ot 0|1}: ot, in
-- overtime now (off shift, set ready while off shift, where the store
-- allows it: on duty only by 'ot'), so a desk loaded again can say so.
local function shift_tell(a, info, force)
  local on, ends, nxt = shift_state(a, info.store)
  local v = { on and 1 or 0, ends, nxt }
  local sh = table.concat(v, ' ')
  v[4] = (not on and on_duty(a, info, runtime(a))) and 1 or 0
  if force or redis.call('HGET', key('AGENT_RT', a), 'sh') ~= sh then
    redis.call('HSET', key('AGENT_RT', a), 'sh', sh)
    if not force then
      -- its desk, and its store's supervisors on any node (the store in
      -- the desk's copy keeps a node from showing its supervisors both)
      local ev = { k = 'shift', on = v[1], ends = ends, next = nxt, ot = v[4], store = info.store }
      to_agent(a, ev)
      to_floor(info.store, ev)
    end
  end
  return v
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
  meta_set(c, m, { 'agent', 'agent_name', 'an', 'group' })
  system_msg(c, text, nil)
  local q = key('QUEUE', m.store, m.group)
  redis.call('ZADD', q, redis.call('INCR', key('QSEQ')) - HEAD, c)
  local pos = redis.call('ZRANK', q, c) + 1
  to_buyer(c, { k = 'queued', group = m.group, position = pos, store = m.store })
  to_floor(m.store, { k = 'queued', chat = c, group = m.group, position = pos })
end

-- The store's shift in progress: the latest started of the spans that
-- cover now ('*' for an extended date), or nil (no shifts, or closed).
-- stats.c picks it the same way from the config's plan.
local function shift_now(st)
  local h, best = hours_of(st), nil
  for _, sp in ipairs(h or {}) do
    if sp[1] <= now and now < sp[2] and (not best or sp[1] > best[1]) then best = sp end
  end
  return best and best[3] or nil
end

-- The numbers supervisors read (layout: stats.lua): `name` of chat
-- record m counted by delta for its store, its group, its agent (if any)
-- and the store's shift in progress (if any), in this hour's hash, kept
-- stats_ttl.
local function count(m, agent, name, delta)
  local k = key('STATS', m.store, math.floor(now / 3600000))
  local fields = { 's', 'g:' .. (m.group or '') }
  if agent then fields[#fields + 1] = 'a:' .. agent end
  local sh = shift_now(m.store)
  if sh then fields[#fields + 1] = 'sh:' .. sh end
  for _, f in ipairs(fields) do
    local raw = redis.call('HGET', k, f)
    local cur = raw and cmsgpack.unpack(raw) or {}
    cur[name] = (cur[name] or 0) + delta
    redis.call('HSET', k, f, cmsgpack.pack(cur))
  end
  local ttl = store_cfg(m.store).stats_ttl
  if ttl > 0 then redis.call('PEXPIRE', k, ttl) end
end

-- Chat c (record m, before it moves) is transferred from agent `from`
-- (nil: it was queued) to `to` (an agent id or 'group:NAME') by an agent, a
-- supervisor or a plugin: counted (transfers: its store, group, the agent
-- letting go, the shift) and told to the store's supervisors.
local function transferred(c, m, from, to, by)
  count(m, from, 'transfers', 1)
  to_floor(m.store, { k = 'transferred', chat = c, agent = from, to = to, group = m.group or '',
                      by = by })
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

-- ---- notes on a buyer --------------------------------------------------------
-- Agents' notes on a signed buyer of a store (cg:bnotes:<store>:<id>, a
-- list, newest first, msgpack maps {text, agent, name, ts, chat, exp}),
-- shown to the agent of its later chats (assign, the welcome's chats);
-- never to a buyer. A note past its exp is not shown (the list's own
-- expiry follows its newest note).
local function buyer_notes(store, sbuyer)
  if not sbuyer or sbuyer == '' then return nil end
  local out = {}
  for _, raw in ipairs(redis.call('LRANGE', key('BUYER_NOTES', store, sbuyer), 0, -1)) do
    local n = cmsgpack.unpack(raw)
    if (tonumber(n.exp) or 0) > now then
      out[#out + 1] = { text = n.text, agent = n.agent, name = n.name, ts = n.ts, chat = n.chat }
    end
  end
  if #out == 0 then return nil end
  return out
end

-- How far the buyer of a chat (record m) has read (signal.lua keeps it
-- in 'rdb'): 0 when it never said.
local function buyer_read(m)
  return m.rdb or 0
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
  meta_set(c, m, { 'agent', 'agent_name', 'assigned', 'an' })
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
  -- a returning buyer (signed id) comes back to this agent (see sticky_of)
  local sticky = store_cfg(m.store).sticky
  if m.sbuyer and m.sbuyer ~= '' and sticky > 0 then
    redis.call('SET', key('BUYER', m.store, m.sbuyer), a, 'PX', sticky)
  end
  local first, recs = history(c, hist)
  -- the signed context: for the agent only (the buyer's frames never carry it)
  to_agent(a, { k = 'assign', chat = c, buyer = m.buyer or '', bname = m.name or '',
                group = m.group or '', waited = now - waited_from, first = first, hist = recs,
                priority = m.priority, sbuyer = m.sbuyer, sname = m.sname,
                product = m.product and cmsgpack.unpack(m.product) or nil,
                bnotes = buyer_notes(m.store, m.sbuyer), store = m.store, read = buyer_read(m) })
  to_buyer(c, { k = 'agent', name = info.name })
  to_floor(m.store, { k = 'assign', chat = c, agent = a, group = m.group or '',
                      waited = now - waited_from })
end

-- The agent lets go of a chat (its load drops, it becomes idle now);
-- store: the chat's (else the agent's, for a chat gone with its record).
local function take_back(c, a, reason, store)
  if redis.call('SREM', key('AGENT_CHATS', a), c) == 1 then
    local rt = runtime(a)
    rt.load = math.max(rt.load - 1, 0)
    rt.idle = now
    redis.call('HSET', key('AGENT_RT', a), 'load', rt.load, 'idle', now)
    refresh(a, nil, rt)
  end
  if not store then
    local info = agent_info(a)
    store = info and info.store
  end
  to_agent(a, { k = 'unassign', chat = c, reason = reason, store = store })
  to_floor(store, { k = 'unassign', chat = c, agent = a, reason = reason })
end

-- Lets go of the chats agent a holds that are gone (their transcript
-- expired) or no longer its own, and sets its load to what it holds.
-- True when the load dropped.
local function drop_stale(a)
  local dropped = false
  for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
    local m = meta_get(c)
    if not m or m.agent ~= a then
      take_back(c, a, not m and 'expired' or m.state == 'closed' and 'closed' or 'transferred',
                m and m.store)
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
  agent_floor(a, n <= 0 and 'offline' or 'online')
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
  local info = agent_info(a)
  agent_floor(a, 'online')
  return { runtime(a).state, groups_of(a), info and shift_tell(a, info, true) or { 1, 0, 0, 0 } }
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
        take_back(c, a, 'store_changed', m.store)
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
  -- overtime: ready while off shift (counts where the store allows it)
  local info = agent_info(a)
  local ot = st == 'ready' and info and not shift_state(a, info.store)
  redis.call('HSET', key('AGENT_RT', a), 'state', st, 'ot', ot and 1 or 0)
  -- away: its unanswered chats go to colleagues after away_reassign
  if st == 'away' and rt.state ~= 'away' then away_clock(a) end
  refresh(a)
  if st ~= rt.state then agent_floor(a, 'state') end
  return groups_of(a)
end

-- ---- returning buyers ------------------------------------------------------
-- give() keeps a signed buyer's last agent in cg:buyer:<store>:<id> for
-- the store's sticky_days; a chat opened with its previous chat's resume
-- token has that chat's agent in its fields pa, pt (session_buyer.c). A
-- chat of that buyer goes to that agent when it
-- can take one ('give'); while it is ready, online and on duty but full,
-- the chat waits for it ('wait': others skip it) until field 'sw', set
-- sticky_wait after an agent first could have taken it; then, or when
-- that agent is away, gone or off shift, it goes to anyone. The wait's
-- end is a deadline in cg:clock like the clock's own (the chat's member,
-- moved earlier only: ZADD LT, and its 'dl' with it); the clock step at
-- it assigns the chat's queue again (clock_chat). The agent's own release
-- of a chat wakes it sooner.
local function in_group(info, group)
  for _, g in ipairs(info and info.groups or {}) do
    if g == group then return true end
  end
  return false
end

local function eligible(a, info, rt, store, group)
  return info and in_group(info, group) and info.store == store and rt.state == 'ready'
     and rt.online > 0 and on_duty(a, info, rt)
end

-- The earliest wait's end set by this script run (assign answers it, so
-- that the node arms its timer to it).
local sticky_next = 0

-- The returning buyer's last agent: by its signed buyer id, else by the
-- chain of its chats (pa, pt: the agent of the chat whose resume token
-- its hello gave as previous, and when that agent had it; within
-- sticky_days of then).
local function sticky_agent(m, cfg, store)
  if cfg.sticky <= 0 then return nil end
  if m.sbuyer and m.sbuyer ~= '' then
    local a = redis.call('GET', key('BUYER', store, m.sbuyer))
    if a then return a end
  end
  if m.pa and m.pa ~= '' and m.pt and now - m.pt <= cfg.sticky then return m.pa end
  return nil
end

local function sticky_of(c, m, store, group)
  local cfg = store_cfg(store)
  local a = sticky_agent(m, cfg, store)
  if not a then return nil end
  local info, rt = agent_info(a), runtime(a)
  if not eligible(a, info, rt, store, group) then return nil end
  if rt.load < info.cap then return 'give', a, info, rt end
  local sw = tonumber(redis.call('HGET', ckey(c), 'sw'))
  if not sw then
    sw = now + cfg.sticky_wait
    redis.call('HSET', ckey(c), 'sw', sw)
    redis.call('ZADD', key('CLOCK'), 'LT', sw, c)
    local dl = tonumber(redis.call('HGET', ckey(c), 'dl'))
    if not dl or dl > sw then redis.call('HSET', ckey(c), 'dl', sw) end
    if sticky_next == 0 or sw < sticky_next then sticky_next = sw end
  end
  if now < sw then return 'wait' end
  return nil
end

-- How far down its queue assign looks past chats waiting for their agent.
local STICKY_SCAN = 32

if op == 'assign' then
  local store, group, max, hist = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  local qk, rk = key('QUEUE', store, group), key('READY', store, group)
  local out, tries = {}, 0
  while #out < 2 * max and tries < 4 * max + 16 do
    tries = tries + 1
    local heads = redis.call('ZRANGE', qk, 0, STICKY_SCAN - 1)
    if #heads == 0 then break end
    local cand = redis.call('ZRANGE', rk, 0, 0)
    if #cand == 0 then break end
    local a = cand[1]
    local info, rt = agent_info(a), runtime(a)
    -- eligibility, checked again here: the ready set may be stale (an agent
    -- edited by chatgwctl, a node gone, a shift over)
    if not eligible(a, info, rt, store, group) or rt.load >= info.cap then
      redis.call('ZREM', rk, a)                 -- a stale entry: drop it, look again
    else
      -- the first chat not waiting for its returning buyer's agent
      local picked = false
      for _, c in ipairs(heads) do
        local m = meta_get(c)
        local how, sa, si, sr
        if m and m.state ~= 'closed' and not m.agent then
          how, sa, si, sr = sticky_of(c, m, store, group)
        end
        if how ~= 'wait' then
          redis.call('ZREM', qk, c)
          if m and m.state ~= 'closed' and not m.agent then
            if how == 'give' then a, info, rt = sa, si, sr end
            give(c, m, a, info, rt, m.created or now, hist)
            out[#out + 1] = c
            out[#out + 1] = a
          end
          picked = true
          break
        end
      end
      if not picked then break end
    end
  end
  out[#out + 1] = sticky_next
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
    meta_set(c, m, { 'state', 'reason', 'closed', 'agent', 'an', 'outcome' })
    if owner then redis.call('HSET', ckey(c), 'la', owner) end  -- whom a rating counts for
    count(m, owner, 'chats', 1)                                -- chats, by the hour they end
    redis.call('PEXPIRE', ckey(c), ttl)
    redis.call('ZREM', key('QUEUE', m.store, m.group), c)
    if owner then
      take_back(c, owner, mode == 'agent_close' and 'closed' or 'buyer_left', m.store)
    end
    if mode == 'agent_close' then
      to_buyer(c, { k = 'closed', reason = 'agent_closed', store = m.store })
    end
    to_floor(m.store, { k = 'closed', chat = c, reason = m.reason, group = m.group })
    return owner and groups_of(owner) or {}
  end
  -- transfer: to an agent id, or to the head of a group's queue
  local g = string.match(target, '^group:(.+)$')
  if g then
    if not has_group(m.store, g) then return redis.error_reply('not_found') end
    transferred(c, m, owner, target, 'agent')
    take_back(c, owner, 'transferred', m.store)
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
  transferred(c, m, owner, target, 'agent')
  take_back(c, owner, 'transferred', m.store)
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
                      now - (m.created or now), first, recs,
                      m.priority or '', m.sbuyer or '', m.sname or '', m.product or '',
                      buyer_read(m) }
    local notes = buyer_notes(m.store, m.sbuyer)   -- the 13th: {notes = [...]} packed, or none
    if notes then out[#out][13] = cmsgpack.pack({ notes = notes }) end
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
  floor_forget(node)
  return 1
end

if op == 'shifts' then
  -- every online agent of the store: told when its shift changed, ready
  -- sets redone; the groups of those on duty and ready get their chats
  local st, out, seen = ARGV[4], {}, {}
  for _, n in ipairs(redis.call('ZRANGE', key('NODES'), 0, -1)) do
    for _, a in ipairs(redis.call('SMEMBERS', key('NODE_AGENTS', n))) do
      local info = not seen[a] and agent_info(a)
      seen[a] = true
      if info and info.store == st then
        shift_tell(a, info, false)
        local rt = runtime(a)
        refresh(a, info, rt)
        if rt.state == 'ready' and on_duty(a, info, rt) then
          for _, g in ipairs(info.groups) do
            if not seen['g:' .. g] then seen['g:' .. g] = true; out[#out + 1] = st .. ' ' .. g end
          end
        end
      end
    end
  end
  return out
end

if op == 'ghours' then
  -- ghours store: each group's service hours, the spans of the store's
  -- that some agent of the group works (works: an agent without a
  -- roster works every one). Kept as field 'hours:GROUP' of the store's
  -- hash where they differ from the store's, else removed (a store
  -- without rosters stays as it was; so does a group without agents);
  -- answers {group, own 0|1, {start, end, ...}} per group of the store,
  -- for the node's first-message decision (daemon/hours.c). Reads every
  -- agent once: run per boundary and roster change, never per message.
  local st, out, members = ARGV[4], {}, {}
  local sk = key('STORE', st)
  local h = hours_of(st)
  if h then
    for _, a in ipairs(redis.call('SMEMBERS', key('AGENTS'))) do
      local info = agent_info(a)
      if info and info.store == st then
        local roster = roster_of(a) or false
        for _, g in ipairs(info.groups) do
          members[g] = members[g] or {}
          table.insert(members[g], roster)
        end
      end
    end
  end
  for g in string.gmatch(redis.call('HGET', sk, 'groups') or '', '%S+') do
    local rs, own, flat = members[g], {}, {}
    for _, sp in ipairs(rs and h or {}) do
      for _, r in ipairs(rs) do
        if works(r or nil, sp) then
          own[#own + 1] = sp
          flat[#flat + 1] = sp[1]; flat[#flat + 1] = sp[2]
          break
        end
      end
    end
    if rs and #own < #h then
      redis.call('HSET', sk, 'hours:' .. g, cmsgpack.pack(own))
      out[#out + 1] = { g, 1, flat }
    else
      redis.call('HDEL', sk, 'hours:' .. g)
      out[#out + 1] = { g, 0, {} }
    end
  end
  return out
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
    floor_forget(n)
  end
  -- agents away past their grace: their chats go back to the head of the queue
  for _, a in ipairs(redis.call('ZRANGEBYSCORE', key('OFFLINE'), '-inf', now - grace)) do
    for _, c in ipairs(redis.call('SMEMBERS', key('AGENT_CHATS', a))) do
      local m = meta_get(c)
      if m and m.agent == a and m.state ~= 'closed' then
        to_floor(m.store, { k = 'unassign', chat = c, agent = a, reason = 'timeout' })
        requeue(c, m, store_text(m, 'agent_gone_text'))
        touch({ m.store .. ' ' .. m.group })
        -- its sessions are not registered (that is why it is offline), yet
        -- some may still be open on a node declared dead that comes back:
        -- every node hears it and tells the agent's sessions it has
        redis.call('PUBLISH', key('CTL_CHAN'), cmsgpack.pack({ k = 'unassign', agent = a, chat = c,
                                                          reason = 'timeout', store = m.store }))
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

-- ---- the supervisors' hands on the floor ----------------------------------
-- A supervisor acts on the chats of its stores (stores: space-separated);
-- another store's chat and one that does not exist answer alike.
local function in_stores(list, st)
  return st ~= nil and string.find(' ' .. list .. ' ', ' ' .. st .. ' ', 1, true) ~= nil
end

if op == 'watch' then
  -- watch chat on|off stores hist: NODE hears every record of the chat
  -- (the chat's field 'wn', the watching nodes, read by append.lua); on:
  -- answers {store, group, state, agent, buyer name, first seq, history}
  local c, on, list, hist = ARGV[4], ARGV[5] == 'on', ARGV[6], tonumber(ARGV[7])
  local m = meta_get(c)
  if not m or not in_stores(list, m.store) then return redis.error_reply('not_found') end
  local wn, out = redis.call('HGET', ckey(c), 'wn'), {}
  for _, n in ipairs(wn and cmsgpack.unpack(wn) or {}) do
    if n ~= node then out[#out + 1] = n end
  end
  if on then out[#out + 1] = node end
  if #out > 0 then redis.call('HSET', ckey(c), 'wn', cmsgpack.pack(out))
  else redis.call('HDEL', ckey(c), 'wn') end
  if not on then return 1 end
  local first, recs = history(c, hist)
  return { m.store, m.group or '', m.state or '', m.agent or '', m.name or '', first, recs }
end

if op == 'supervise' then
  -- supervise action chat stores ttl hist target force: a supervisor
  -- overrides the router. close; transfer to 'group:NAME' (the head of
  -- its queue) or to an agent that is eligible but for its groups;
  -- assign to an agent of the store that is online (force: whatever its
  -- state and load). Answers the "store group" queues to assign from.
  local action, c, list, ttl, hist, target, force =
    ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9] or '', ARGV[10] == '1'
  local m = meta_get(c)
  if not m or not in_stores(list, m.store) then return redis.error_reply('not_found') end
  if m.state == 'closed' then return redis.error_reply('closed') end
  local owner = m.agent
  local out = owner and groups_of(owner) or {}
  if action == 'close' then
    m.state, m.reason, m.closed = 'closed', 'supervisor_closed', now
    m.agent, m.an = nil, nil
    meta_set(c, m, { 'state', 'reason', 'closed', 'agent', 'an' })
    if owner then redis.call('HSET', ckey(c), 'la', owner) end
    count(m, owner, 'chats', 1)
    redis.call('PEXPIRE', ckey(c), ttl)
    redis.call('ZREM', key('QUEUE', m.store, m.group), c)
    if owner then take_back(c, owner, 'closed', m.store) end
    to_buyer(c, { k = 'closed', reason = m.reason, store = m.store })
    to_floor(m.store, { k = 'closed', chat = c, reason = m.reason, group = m.group })
    return out
  end
  local g = action == 'transfer' and string.match(target, '^group:(.+)$')
  if g then
    if not has_group(m.store, g) then return redis.error_reply('not_found') end
    transferred(c, m, owner, target, 'supervisor')
    if owner then take_back(c, owner, 'transferred', m.store)
    else redis.call('ZREM', key('QUEUE', m.store, m.group), c) end
    m.group = g
    requeue(c, m, store_text(m, 'transfer_text'))
    out[#out + 1] = m.store .. ' ' .. g
    return out
  end
  local info, rt = agent_info(target), runtime(target)
  if not info or info.store ~= m.store then return redis.error_reply('not_found') end
  if target == owner or rt.online <= 0 or
     (not (action == 'assign' and force) and (rt.state ~= 'ready' or rt.load >= info.cap)) then
    return redis.error_reply('conflict')
  end
  if action == 'transfer' then transferred(c, m, owner, target, 'supervisor') end
  if owner then
    take_back(c, owner, 'transferred', m.store)
    system_msg(c, store_text(m, 'transfer_text'), nil)
  else
    redis.call('ZREM', key('QUEUE', m.store, m.group), c)
  end
  give(c, m, target, info, rt, owner and now or m.created or now, hist)
  return out
end

if op == 'rate' then
  -- rate chat score comment: the buyer's rating of a closed chat, once;
  -- stored with it and counted (ratings, rating_sum) for its store, group
  -- and its last agent (field 'la')
  local c, score, comment = ARGV[4], tonumber(ARGV[5]), ARGV[6] or ''
  local m = meta_get(c)
  if not m then return redis.error_reply('not_found') end
  if m.state ~= 'closed' or redis.call('HEXISTS', ckey(c), 'rating') == 1 then
    return redis.error_reply('conflict')
  end
  redis.call('HSET', ckey(c), 'rating', score, 'rating_comment', comment, 'rated', now)
  local la = redis.call('HGET', ckey(c), 'la')
  count(m, la, 'ratings', 1)
  count(m, la, 'rating_sum', score)
  return 1
end

-- ---- the 30-second clock ---------------------------------------------------
-- cg:clock holds each chat's next deadline (member: chat id) and each away
-- agent's (member: 'a:' .. agent). append.lua starts a chat's clock with
-- the oldest unanswered buyer message (field 'ua') and an agent's reply
-- stops it ('ua' = ''); the deadline is not taken back then (that would
-- cost a command per reply): a deadline that finds the chat answered does
-- nothing. Each step below runs in one script, whichever node's timer
-- fires first: the ZREM of a due member is what makes it fire once.
-- A chat's fields: ua, dl (its deadline in cg:clock, '' = none), hw (1:
-- the next hold waits for a new buyer message, which sets a deadline at
-- once), and, per unanswered stretch, kept by the steps alone: ep (the ua
-- they belong to: a new ua starts them afresh), hc/hl/hs (holds sent, the
-- last one's time and seq), br (breached), ra (moved up its queue). A
-- buyer message writes only ua (when it starts a stretch), so the clock
-- adds no field to a relayed message but that one.

local function ready_colleague(m, not_a)
  for _, a in ipairs(redis.call('ZRANGE', key('READY', m.store, m.group), 0, 15)) do
    if a ~= not_a then
      local info, rt = agent_info(a), runtime(a)
      if info and info.store == m.store and rt.state == 'ready' and rt.online > 0
         and rt.load < info.cap and on_duty(a, info, rt) then
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
  take_back(c, old, why, m.store)
  system_msg(c, store_text(m, 'reassign_text', { agent = info.name }), nil, 'auto',
             store_cfg(m.store).name)
  give(c, m, a, info, rt, now, hist)
  count(m, old, 'reassigned', 1)
  to_floor(m.store, { k = 'reassigned', chat = c, agent = old, to = a, group = m.group,
                      reason = why })
  return true
end

local CLOCK_F = { 'store', 'group', 'state', 'agent', 'agent_name', 'name', 'assigned',
                  'ua', 'ep', 'hc', 'hl', 'hs', 'br', 'ra', 'buyer', 'created', 'n', 'sw' }

-- True when chat c has a buyer message after seq `after` (the last hold):
-- looks at the last 50 records at most (a record's `from` is its map's
-- "from" key followed by its value, as msgpack writes them).
local BUYER_REC = '\164from\165buyer'
local function buyer_since(c, after, n)
  if n <= after then return false end
  local seqs = {}
  for s = math.max(after + 1, n - 49), n do seqs[#seqs + 1] = s end
  for _, rec in ipairs(redis.call('HMGET', ckey(c), unpack(seqs))) do
    if rec and string.find(rec, BUYER_REC, 1, true) then return true end
  end
  return false
end

-- One due step of chat c; its next deadline (or nil). Counts into out.
local function clock_chat(c, hist, out)
  local K = ckey(c)
  local v = redis.call('HMGET', K, unpack(CLOCK_F))
  local m = {}
  for i, f in ipairs(CLOCK_F) do m[f] = v[i] end
  -- a returning buyer's wait for its busy agent (sticky_of) is over: its
  -- queue is assigned again, where the wait is found over; not yet: its
  -- end stays a deadline
  local sw = m.store and m.state ~= 'closed' and not m.agent and tonumber(m.sw)
  if sw and now >= sw then
    out.touched[#out.touched + 1] = m.store .. ' ' .. m.group
    sw = nil
  end
  if not m.store or m.state == 'closed' or not m.ua or m.ua == '' then
    if sw then redis.call('ZADD', key('CLOCK'), sw, c) end
    if m.store then redis.call('HSET', K, 'dl', sw or '') end
    return sw
  end
  local cfg = store_cfg(m.store)
  -- service hours: a waiting chat of a closed store (or group: no agent
  -- of it on shift) is told when it opens
  -- (once per closed period: 'oh' = the opening it was told), goes ahead
  -- of every arrival (oldest first), and its clock counts from the opening
  if not m.agent then
    local open, opens, label = store_open(m.store, m.group)
    if not open then
      if tostring(opens) ~= (redis.call('HGET', K, 'oh') or '') then
        local text = render(redis.call('HGET', key('STORE', m.store), 'off_hours_text') or '',
                            { store = cfg.name, buyer = m.name, opens = label })
        system_msg(c, text, nil, 'auto', cfg.name)
        redis.call('HSET', K, 'oh', opens)
      end
      local q = key('QUEUE', m.store, m.group)
      local sc = tonumber(redis.call('ZSCORE', q, c))
      if sc and sc > -HEAD / 2 then redis.call('ZADD', q, sc - HEAD, c) end
      local at_ = opens > 0 and opens or now + 86400000
      local d = sw and sw < at_ and sw or at_
      redis.call('HSET', K, 'ua', at_, 'dl', d, 'hw', 0)
      redis.call('ZADD', key('CLOCK'), d, c)
      return d
    end
  end
  -- a new stretch (ua moved on since the last step): its holds and flags start afresh
  if m.ep ~= m.ua then
    m.hc, m.hl, m.hs, m.br, m.ra = '0', '0', '0', '0', '0'
    redis.call('HSET', K, 'ep', m.ua, 'hc', 0, 'hl', 0, 'hs', 0, 'br', 0, 'ra', 0)
  end
  local ua = tonumber(m.ua)
  local hc, hl, hs = tonumber(m.hc) or 0, tonumber(m.hl) or 0, tonumber(m.hs) or 0
  local next_at, waits = nil, false
  local function at(t) if not next_at or t < next_at then next_at = t end end
  if sw then at(sw) end
  -- a holding reply: after hold_after, hold_every apart, hold_max at most,
  -- and only for a buyer message newer than the last hold
  if hc < cfg.hold_max and #cfg.hold_text > 0 then
    if hc == 0 or buyer_since(c, hs, tonumber(m.n) or 0) then
      local t = math.max(ua + cfg.hold_after, hl + cfg.hold_every)
      if now >= t then
        local q = key('QUEUE', m.store, m.group)
        local rank = not m.agent and redis.call('ZRANK', q, c) or nil
        local text = render(cfg.hold_text[hc % #cfg.hold_text + 1],
                            { store = cfg.name, buyer = m.name, agent = m.agent_name,
                              position = rank and rank + 1 or '' })
        local seq = system_msg(c, text, m.agent, 'auto', cfg.name)
        if rank then
          to_buyer(c, { k = 'queued', group = m.group, position = rank + 1, store = m.store })
        end
        hc, hl = hc + 1, now
        redis.call('HSET', K, 'hc', hc, 'hl', now, 'hs', seq)
        out.holds = out.holds + 1
        out.held[#out.held + 1] = m.store .. ' ' .. (m.group or '')
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
      to_floor(m.store, { k = 'breach', chat = c, agent = m.agent, group = m.group,
                          waited = now - ua })
      out.breaches = out.breaches + 1
      out.breached[#out.breached + 1] = m.store .. ' ' .. (m.group or '')
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
          out.moved[#out.moved + 1] = m.store .. ' ' .. (m.group or '')
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
          to_buyer(c, { k = 'queued', group = m.group, position = redis.call('ZRANK', q, c) + 1,
                        store = m.store })
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
      if reassign(c, m, 'away', hist) then
        out.reassigned = out.reassigned + 1
        out.moved[#out.moved + 1] = m.store .. ' ' .. (m.group or '')
      end
    end
  end
end

if op == 'clock' then
  -- due steps, at most `max`: {next deadline or 0, {"store group"...},
  -- holds, breaches, reassigned, {"store group" of each breach}, of each
  -- hold, of each reassignment} (the lists: /metrics by store and group)
  local max, hist = tonumber(ARGV[4]), tonumber(ARGV[5])
  local out = { holds = 0, breaches = 0, reassigned = 0, touched = {}, breached = {},
                held = {}, moved = {} }
  local due = redis.call('ZRANGEBYSCORE', key('CLOCK'), '-inf', now, 'LIMIT', 0, max)
  for _, member in ipairs(due) do
    redis.call('ZREM', key('CLOCK'), member)
    local a = string.match(member, '^a:(.+)$')
    if a then clock_away(a, hist, out) else clock_chat(member, hist, out) end
  end
  local head = redis.call('ZRANGE', key('CLOCK'), 0, 0, 'WITHSCORES')
  return { tonumber(head[2]) or 0, out.touched, out.holds, out.breaches, out.reassigned,
           out.breached, out.held, out.moved }
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
  -- Answers {the chat's number of flags, its store, its group}.
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
  return { fln, m.store, m.group or '' }
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
  transferred(c, m, m.agent, 'group:' .. g, 'plugin')
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

if op == 'bnote' then
  -- bnote chat agent text max keep tag: the agent holding chat writes a
  -- note on its signed buyer (error not_signed without one); the newest
  -- max are kept, each shown for keep ms. Answers the buyer's notes now,
  -- packed as {notes = [...]}; the agent's windows on every node get them
  -- too ('anotes'; src = tag, the writing session, which has the answer).
  local c, a, text, max, keep, tag = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]),
                                     tonumber(ARGV[8]), ARGV[9] or ''
  local m, info = meta_get(c), agent_info(a)
  if not m or m.agent ~= a or not info or info.store ~= m.store then
    return redis.error_reply('forbidden')
  end
  if not m.sbuyer or m.sbuyer == '' then return redis.error_reply('not_signed') end
  local k = key('BUYER_NOTES', m.store, m.sbuyer)
  redis.call('LPUSH', k, cmsgpack.pack({ text = text, agent = a, name = info.name, ts = now,
                                         chat = c, exp = now + keep }))
  redis.call('LTRIM', k, 0, max - 1)
  redis.call('PEXPIRE', k, keep)
  local notes = buyer_notes(m.store, m.sbuyer) or {}
  to_agent(a, { k = 'anotes', chat = c, notes = notes, src = tag })
  return cmsgpack.pack({ notes = notes })
end

if op == 'guard' then
  -- guard chat agent verdict rule: a plugin held (warn) or blocked a
  -- message of the agent in a chat it holds; nothing was stored. Counted
  -- (guard_hits) for the store, group, agent and shift, and told to the
  -- store's supervisors (the rule, never the text). A chat that is not
  -- the agent's counts nothing (answers 0).
  local c, a, verdict, rule = ARGV[4], ARGV[5], ARGV[6], ARGV[7] or ''
  local m = meta_get(c)
  if not m or m.agent ~= a or m.state == 'closed' then return 0 end
  count(m, a, 'guard_hits', 1)
  to_floor(m.store, { k = 'guard', chat = c, agent = a, group = m.group or '',
                      verdict = verdict, rule = rule })
  return 1
end

return redis.error_reply('unknown op ' .. tostring(op))
