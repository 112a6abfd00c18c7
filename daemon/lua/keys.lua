-- keys.lua: every Redis key and channel name, spelled once for the scripts
-- (scripts/embed-lua.sh puts this file in front of each one). daemon/keys.h
-- spells the same table for C; tests/unit/test_store.c checks that the two
-- agree, row by row. key('QUEUE', store, group) -> 'cg:q:<store>:<group>'.
local KEY = {
  CHAT        = 'cg:chat:{%s}',
  CHAT_V2     = 'cg:chat:{%s}:%s',
  QUEUE       = 'cg:q:%s:%s',
  QSEQ        = 'cg:qseq',
  READY       = 'cg:ready:%s:%s',
  TOKEN       = 'cg:tok:%s',
  AGENT       = 'cg:agent:%s',
  AGENTS      = 'cg:agents',
  SUP         = 'cg:sup:%s',
  SUPS        = 'cg:sups',
  AGENT_RT    = 'cg:ar:%s',
  AGENT_NODES = 'cg:an:%s',
  AGENT_SESS  = 'cg:asess:%s',
  AGENT_CHATS = 'cg:achats:%s',
  OFFLINE     = 'cg:agents:offline',
  STORE       = 'cg:store:%s',
  STORES      = 'cg:stores',
  NODES       = 'cg:nodes',
  NODE_AGENTS = 'cg:nodeagents:%s',
  NODE_CHAN   = 'cg:node:%s',
  CTL_CHAN    = 'cg:ctl',
  SCHEMA      = 'cg:schema',
  CLOCK       = 'cg:clock',
  STATS       = 'cg:stats:%s:%s',
  FLOOR_CHAN  = 'cg:floor:%s',
  FLOOR_NODES = 'cg:floornodes:%s',
  PLUGIN_KV   = 'cg:pkv:%s:%s',
  ROSTER      = 'cg:roster:%s',
  BUYER       = 'cg:buyer:%s:%s',
  BUYER_NOTES = 'cg:bnotes:%s:%s',
}
local function key(name, ...) return string.format(KEY[name], ...) end
