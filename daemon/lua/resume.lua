-- resume.lua: what a node needs to reattach a buyer to a chat.
-- KEYS[1] meta, KEYS[2] log. Returns {meta or false, number of messages}.
-- The token is checked by the node (constant time), not here.
return {redis.call('GET', KEYS[1]), redis.call('LLEN', KEYS[2])}
