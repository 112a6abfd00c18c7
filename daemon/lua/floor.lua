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
-- The chat's creation time is the one read of chat data here (created_ms);
-- it follows the chat layout (the chat's hash, field `created`).
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
return redis.error_reply('unknown op ' .. tostring(op))
