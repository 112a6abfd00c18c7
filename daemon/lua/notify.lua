-- notify.lua: tell a chat's buyer of a record the gateway stored on its
-- own (a plugin's auto or system message): append.lua publishes a record
-- to the buyer only when an agent wrote it, so the gateway's other writes
-- (plugins) follow their append with this step. Holds need none: the
-- buyer's own session writes them and shows them itself.
-- KEYS[1] the chat's location (the buyer's node)
-- ARGV[1] chat id, ARGV[2] seq, ARGV[3] the record
-- Returns 1 when a node was told, 0 when the buyer is nowhere.
local node = redis.call('GET', KEYS[1])
if not node then return 0 end
redis.call('PUBLISH', key('NODE_CHAN', node),
  cmsgpack.pack({ k = 'bmsg', chat = ARGV[1], seq = tonumber(ARGV[2]), rec = ARGV[3] }))
return 1
