-- floor.lua: what the supervisors' floor and /metrics read of the queues,
-- in one step, without changing anything.
--
-- EVALSHA sha 0 OP NOW ARGS...
--   queues  store group [store group ...]
--           answers {queued, oldest_wait_ms, ...}, one pair per queue in the
--           order asked: how many chats wait in cg:q:<store>:<group>, and how
--           long the one at its head (the next served) has waited since its
--           chat was created (0 when the queue is empty).
--
--   snapshot max_chats store [store ...]
--           answers one msgpack map, the floor of those stores as the
--           supervisor's `snapshot` frame shows it (proto/PROTOCOL.md §8.3):
--           {queues = [{store, group, queued, oldest_wait_ms,
--                       longest_unanswered_ms}],
--            agents = [{id, name, store, online, state, load, capacity,
--                       chats = [chat id], fr_p50_ms?, breaches, guard_hits,
--                       transfers, shift = {on_shift, ends_at, next},
--                       overtime?}],
--            chats  = [{chat, store, group, state, agent?, waited_ms, ua,
--                       priority, product?, escalation?,
--                       flags = ["breach", "escalation"]?}],
--            truncated = true when more than max_chats live chats exist}
--           Agents are those of cg:agents whose store is asked; their
--           chats (cg:achats) are the live chats held, the queues' members
--           the live chats waiting. Today's numbers come from the hourly
--           statistics (stats.lua's layout) since 00:00 UTC. An agent's
--           shift is decided as router.lua decides it (see "shifts" below).
--   transcript chat stores from max
--           a supervisor reads a chat of its stores (space-separated), open
--           or closed: {the chat's record as a msgpack map, first seq,
--           {records first..first+max-1}, number of messages, the notes on
--           its signed buyer (packed {notes = [...]}, '' when none)}, or the
--           error "not_found" (no such chat, or another store's).
--   summary store [store ...]
--           the supervisors' `stats` event (proto/PROTOCOL.md §8.2), nine
--           integers per store in the order asked: queued (its groups'
--           queues), oldest_wait_ms (the longest a queue's head has waited),
--           then from the hourly statistics' field 's' (stats.lua's layout)
--           of today (UTC, 00:00 until now): chats, fr_p50_ms (-1 with no
--           first response), fr_p50_ms of the current hour alone (-1 with
--           none), replies, rt30 (the answers and those within 30 s),
--           breaches, escalations. O(groups + hours) per store.
--
-- The snapshot and the transcript read the chat's hash (its record's
-- fields and messages), as daemon/chat.h lays it out.
local op, now = ARGV[1], tonumber(ARGV[2])

local function created_ms(c)
  return tonumber(redis.call('HGET', key('CHAT', c), 'created'))
end

if op == 'queues' then
  local out = {}
  for i = 3, #ARGV - 1, 2 do
    local q = key('QUEUE', ARGV[i], ARGV[i + 1])
    local n = redis.call('ZCARD', q)
    local wait = 0
    if n > 0 then
      local head = redis.call('ZRANGE', q, 0, 0)[1]
      local t = head and created_ms(head)
      if t and now > t then wait = now - t end
    end
    out[#out + 1] = n
    out[#out + 1] = wait
  end
  return out
end
-- The bounds (ms) of the statistics' histograms (stats.h STATS_BUCKETS_MS);
-- the last bucket is open.
local BOUNDS = { 5000, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 300000 }

-- The upper bound of the bucket holding the q-quantile of histogram h
-- (nil when it is empty; the open bucket reads as the last bound + 1).
local function quantile(h, q)
  local total = 0
  for i = 1, #h do total = total + h[i] end
  if total == 0 then return nil end
  local acc = 0
  for i = 1, #h do
    acc = acc + h[i]
    if acc >= q * total then return BOUNDS[i] or BOUNDS[#BOUNDS] + 1 end
  end
end

local RECORD = { 'store', 'buyer', 'name', 'group', 'created', 'state', 'agent', 'agent_name',
                 'assigned', 'closed', 'reason', 'outcome', 'brn', 'fr', 'rn', 'rating',
                 'rating_comment' }
local NUM = { created = true, assigned = true, closed = true, brn = true, fr = true, rn = true,
              rating = true }

if op == 'transcript' then
  local c, list, from, max = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
  local K = key('CHAT', c)
  local v = redis.call('HMGET', K, 'n', unpack(RECORD))
  if not v[2] or not string.find(' ' .. list .. ' ', ' ' .. v[2] .. ' ', 1, true) then
    return redis.error_reply('not_found')
  end
  local rec = {}
  for i, f in ipairs(RECORD) do
    local x = v[i + 1]
    if x and x ~= '' then rec[f] = NUM[f] and tonumber(x) or x end
  end
  local n = tonumber(v[1]) or 0
  local first, last = math.max(from, 1), math.min(math.max(from, 1) + max - 1, n)
  local seqs = {}
  for q = first, last do seqs[#seqs + 1] = q end
  local recs = #seqs > 0 and redis.call('HMGET', K, unpack(seqs)) or {}
  -- the agents' notes on its signed buyer (router.lua's buyer notes), shown
  -- while kept: packed, '' when none
  local notes = {}
  local sb = redis.call('HGET', K, 'sbuyer')
  if sb and sb ~= '' then
    for _, raw in ipairs(redis.call('LRANGE', key('BUYER_NOTES', v[2], sb), 0, -1)) do
      local x = cmsgpack.unpack(raw)
      if (tonumber(x.exp) or 0) > now then
        notes[#notes + 1] = { text = x.text, agent = x.agent, name = x.name, ts = x.ts,
                              chat = x.chat }
      end
    end
  end
  return { cmsgpack.pack(rec), first, recs, n,
           #notes > 0 and cmsgpack.pack({ notes = notes }) or '' }
end

-- ---- shifts: read as routing reads them (lib/shift.lua, also in
-- router.lua), so that the floor shows what routing decides
-- (tests/integration/test_floor_fields.py checks the snapshot against it).
--@include lib/shift.lua

-- A time for the client: ms, or nil (msgpack nil: absent) when unknown.
local function ms_or_nil(t) if t and t > 0 then return t end return nil end

if op == 'snapshot' then
  local max_chats = tonumber(ARGV[3])
  local asked, queues, agents, chats = {}, {}, {}, {}
  local longest, truncated = {}, false
  for i = 4, #ARGV do asked[ARGV[i]] = true end
  local CF = { 'store', 'group', 'state', 'agent', 'created', 'assigned', 'ua', 'br',
               'priority', 'product', 'fln', 'flags' }
  local function chat_row(c, state)
    if #chats >= max_chats then truncated = true; return end
    local v = redis.call('HMGET', key('CHAT', c), unpack(CF))
    if not v[1] or v[3] == 'closed' then return end
    local created, ua = tonumber(v[5]) or now, tonumber(v[7])
    local row = { chat = c, store = v[1], group = v[2] or '', state = state,
                  waited_ms = math.max((state == 'queued' and now or tonumber(v[6]) or now)
                                       - created, 0),
                  ua = ua and math.max(now - ua, 0) or 0, flags = {} }
    if state == 'assigned' then row.agent = v[4] end
    if v[8] == '1' then row.flags[1] = 'breach' end
    row.priority = (v[9] and v[9] ~= '') and v[9] or 'normal'
    if v[10] and v[10] ~= '' then row.product = cmsgpack.unpack(v[10]) end
    -- escalated by a plugin: the flag, and the last escalation's rule and time
    if (tonumber(v[11]) or 0) > 0 then
      row.flags[#row.flags + 1] = 'escalation'
      local fl = v[12] and cmsgpack.unpack(v[12]) or {}
      local last = fl[#fl] or {}
      row.escalation = { n = tonumber(v[11]), rule = last.rule or '', ts = last.ts or 0 }
    end
    chats[#chats + 1] = row
    local g = v[1] .. ' ' .. row.group
    if row.ua > (longest[g] or 0) then longest[g] = row.ua end
  end
  -- today's numbers per agent: first responses (histogram), breaches
  local today = {}
  local hour, day0 = math.floor(now / 3600000), math.floor(now / 86400000) * 24
  for st in pairs(asked) do
    for h = day0, hour do
      local t = redis.call('HGETALL', key('STATS', st, h))
      for i = 1, #t, 2 do
        local a = string.match(t[i], '^a:(.+)$')
        if a then
          local m = cmsgpack.unpack(t[i + 1])
          local cur = today[a] or { fh = {}, breaches = 0, guard_hits = 0, transfers = 0 }
          for j, n in ipairs(m.fh or {}) do cur.fh[j] = (cur.fh[j] or 0) + n end
          cur.breaches = cur.breaches + (m.breaches or 0)
          cur.guard_hits = cur.guard_hits + (m.guard_hits or 0)
          cur.transfers = cur.transfers + (m.transfers or 0)
          today[a] = cur
        end
      end
    end
  end
  local ids = redis.call('SMEMBERS', key('AGENTS'))
  table.sort(ids)
  for _, a in ipairs(ids) do
    local v = redis.call('HMGET', key('AGENT', a), 'name', 'store', 'capacity')
    if v[2] and asked[v[2]] then
      local rt = redis.call('HMGET', key('AGENT_RT', a), 'state', 'load', 'online', 'ot')
      local held = redis.call('SMEMBERS', key('AGENT_CHATS', a))
      table.sort(held)
      local t = today[a] or { fh = {}, breaches = 0, guard_hits = 0, transfers = 0 }
      local on, ends, nxt = shift_state(a, v[2])
      agents[#agents + 1] = { id = a, name = v[1] or a, store = v[2],
                              online = tonumber(rt[3]) or 0, state = rt[1] or 'away',
                              load = tonumber(rt[2]) or 0, capacity = tonumber(v[3]) or 1,
                              chats = held, fr_p50_ms = quantile(t.fh, 0.5),
                              breaches = t.breaches, guard_hits = t.guard_hits,
                              transfers = t.transfers,
                              shift = { on_shift = on, ends_at = ms_or_nil(on and ends),
                                        next = ms_or_nil(nxt) },
                              overtime = (not on and rt[4] == '1' and
                                          redis.call('HGET', key('STORE', v[2]), 'overtime') == '1')
                                         or nil }
      for _, c in ipairs(held) do chat_row(c, 'assigned') end
    end
  end
  local stores = {}
  for st in pairs(asked) do stores[#stores + 1] = st end
  table.sort(stores)
  for _, st in ipairs(stores) do
    for g in string.gmatch(redis.call('HGET', key('STORE', st), 'groups') or '', '%S+') do
      local q = key('QUEUE', st, g)
      local n = redis.call('ZCARD', q)
      local members = redis.call('ZRANGE', q, 0, math.max(max_chats - #chats, 1) - 1)
      local wait = 0
      if members[1] then
        local t = created_ms(members[1])
        if t and now > t then wait = now - t end
      end
      for _, c in ipairs(members) do chat_row(c, 'queued') end
      if n > #members then truncated = true end
      queues[#queues + 1] = { store = st, group = g, queued = n, oldest_wait_ms = wait,
                              longest_unanswered_ms = longest[st .. ' ' .. g] or 0 }
    end
  end
  return cmsgpack.pack({ queues = queues, agents = agents, chats = chats, truncated = truncated })
end
if op == 'summary' then
  local out = {}
  local hour, day0 = math.floor(now / 3600000), math.floor(now / 86400000) * 24
  for i = 3, #ARGV do
    local st = ARGV[i]
    local queued, oldest = 0, 0
    for g in string.gmatch(redis.call('HGET', key('STORE', st), 'groups') or '', '%S+') do
      local q = key('QUEUE', st, g)
      local n = redis.call('ZCARD', q)
      if n > 0 then
        queued = queued + n
        local t = created_ms(redis.call('ZRANGE', q, 0, 0)[1])
        if t and now - t > oldest then oldest = now - t end
      end
    end
    local day = { chats = 0, replies = 0, rt30 = 0, breaches = 0, escalations = 0 }
    local fh, fh_hour = {}, {}
    for h = day0, hour do
      local raw = redis.call('HGET', key('STATS', st, h), 's')
      if raw then
        local m = cmsgpack.unpack(raw)
        for name in pairs(day) do day[name] = day[name] + (m[name] or 0) end
        for j, n in ipairs(m.fh or {}) do
          fh[j] = (fh[j] or 0) + n
          if h == hour then fh_hour[j] = n end
        end
      end
    end
    for _, v in ipairs({ queued, oldest, day.chats, quantile(fh, 0.5) or -1,
                         quantile(fh_hour, 0.5) or -1, day.replies, day.rt30, day.breaches,
                         day.escalations }) do
      out[#out + 1] = v
    end
  end
  return out
end
return redis.error_reply('unknown op ' .. tostring(op))
