-- lib/shift.lua: how the scripts read shifts, spelled once. router.lua
-- (routing: who is on shift, when a store or group opens) and floor.lua
-- (the supervisors' snapshot, which must show what routing decides) both
-- take it in with a line `--@include lib/shift.lua`, which
-- scripts/embed-lua.sh replaces with this text at build time, so it sees
-- the includer's locals (`now`, `key`). Not a script of its own.
--
-- ---- shifts ---------------------------------------------------------------
-- A store's shifts come as spans the nodes publish (store.c write_hours:
-- field `hours` of cg:store:<id>, {start, end, shift, date, day, label});
-- none ('') = always open, every agent on shift. An agent's roster
-- (cg:roster:<agent>, chatgwctl roster) names its shifts per weekday
-- ('mon'..'sun') and per date ('YYYY-MM-DD', which wins; '-' = none that
-- day), comma-separated; an agent without a roster works every shift (one
-- naming dates only: every shift on the other dates). A
-- span named '*' (an extended date) is everyone's. A shift belongs to the
-- date it starts on.
local hours_cache = {}
local function hours_of(st)
  local h = hours_cache[st]
  if h == nil then
    local raw = redis.call('HGET', key('STORE', st), 'hours')
    h = (raw and raw ~= '') and cmsgpack.unpack(raw) or false
    hours_cache[st] = h
  end
  return h
end

local WEEKDAY = { mon = true, tue = true, wed = true, thu = true, fri = true, sat = true, sun = true }
local function roster_of(a)
  local t = redis.call('HGETALL', key('ROSTER', a))
  if #t == 0 then return nil end
  local r, weekly = {}, false
  for i = 1, #t, 2 do
    r[t[i]] = t[i + 1]
    weekly = weekly or WEEKDAY[t[i]] ~= nil
  end
  return { day = r, weekly = weekly }
end

-- A roster without weekdays (dates only) works every shift on other dates.
local function works(roster, sp)
  if sp[3] == '*' or not roster then return true end
  local list = roster.day[sp[4]] or roster.day[sp[5]]
  if not list then return not roster.weekly end
  for name in string.gmatch(list, '[^,]+') do
    if name == sp[3] then return true end
  end
  return false
end

-- The spans `keep` accepts: on now?, until when (touching spans join),
-- and the start of the next one after that (0 = none known).
local function stretch(h, keep)
  local on, ends, nxt = false, 0, 0
  for _, sp in ipairs(h) do
    if keep(sp) and sp[1] <= now and now < sp[2] then
      on = true
      if sp[2] > ends then ends = sp[2] end
    end
  end
  local grew = on
  while grew do
    grew = false
    for _, sp in ipairs(h) do
      if keep(sp) and sp[1] <= ends and sp[2] > ends then ends = sp[2]; grew = true end
    end
  end
  local after = on and ends or now
  local label = ''
  for _, sp in ipairs(h) do
    if keep(sp) and sp[1] > after and (nxt == 0 or sp[1] < nxt) then nxt = sp[1]; label = sp[6] end
  end
  return on, ends, nxt, label
end

-- Agent a of store st: its shift now: on (bool), ends_at, next (ms; 0 = none).
local function shift_state(a, st)
  local h = hours_of(st)
  if not h then return true, 0, 0 end
  local roster = roster_of(a)
  local on, ends, nxt = stretch(h, function(sp) return works(roster, sp) end)
  return on, ends, nxt
end

