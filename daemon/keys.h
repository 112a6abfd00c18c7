/*
 * keys.h - every Redis key and channel name, spelled once for C.
 *
 * CHATGW_KEY_MAP: name, printf pattern, what its %s are. daemon/store.c
 * builds keys from it (and chatgwctl may); daemon/lua/keys.lua spells the
 * same table for the scripts (scripts/embed-lua.sh puts it in front of
 * each one), and tests/unit/test_store.c checks that the two agree row by
 * row. Chat data carries its chat id as a hash tag ({id}) so that it can
 * move to Redis Cluster; the rest (queues, agents, nodes) must stay on one
 * primary, since one routing step reads them together.
 *
 * API: CHATGW_KEY_MAP, enum key_name, key_pattern.
 */
#ifndef CHATGW_KEYS_H
#define CHATGW_KEYS_H

#define CHATGW_KEY_MAP(X)                                                            \
    X(CHAT,       "cg:chat:{%s}",    "chat id: one hash, its record, messages, ids")  \
    X(CHAT_V2,    "cg:chat:{%s}:%s", "chat id, part: layout 2, read by schema.lua")   \
    X(QUEUE,      "cg:q:%s:%s",      "store, group: waiting chats by arrival number") \
    X(QSEQ,       "cg:qseq",         "the arrival counter of every queue")            \
    X(READY,      "cg:ready:%s:%s",  "store, group: agents ready, by load and idle")  \
    X(TOKEN,      "cg:tok:%s",       "token hash: agent:<id> | supervisor:<id>")      \
    X(AGENT,      "cg:agent:%s",     "agent id: name, store, groups, capacity, tok")  \
    X(AGENTS,     "cg:agents",       "every agent id")                                \
    X(SUP,        "cg:sup:%s",       "supervisor id: name, store, tok")              \
    X(SUPS,       "cg:sups",         "every supervisor id")                           \
    X(AGENT_RT,   "cg:ar:%s",        "agent id: state, load, idle, online")           \
    X(AGENT_NODES,"cg:an:%s",        "agent id: node -> sessions there")              \
    X(AGENT_SESS, "cg:asess:%s",     "agent id: its registered sessions")             \
    X(AGENT_CHATS,"cg:achats:%s",    "agent id: the chats it holds")                  \
    X(OFFLINE,    "cg:agents:offline", "agents with no session, by when they left")   \
    X(STORE,      "cg:store:%s",     "store id: name, groups (published by nodes)")   \
    X(STORES,     "cg:stores",       "every store id a node serves")                  \
    X(NODES,      "cg:nodes",        "nodes by last heartbeat")                       \
    X(NODE_AGENTS,"cg:nodeagents:%s","node: agents with sessions there")              \
    X(NODE_CHAN,  "cg:node:%s",      "channel: events for one node's sessions")       \
    X(CTL_CHAN,   "cg:ctl",          "channel: events for every node")             \
    X(SCHEMA,     "cg:schema",       "the data's layout version (schema.lua)")       \
    X(CLOCK,      "cg:clock",        "deadlines: chat ids and a:<agent>, by when due")  \
    X(STATS,      "cg:stats:%s:%s",  "store, hour since the epoch: counters by field") \
    X(FLOOR_CHAN, "cg:floor:%s",     "channel: a store's events for its supervisors") \
    X(PLUGIN_KV,  "cg:pkv:%s:%s",    "plugin name, its key: a plugin's own values") \
    X(ROSTER,     "cg:roster:%s",    "agent id: mon..sun and YYYY-MM-DD -> its shifts") \
    X(BUYER,      "cg:buyer:%s:%s",  "store, signed buyer id: its last agent (sticky_days)") \
    X(FLOOR_NODES,"cg:floornodes:%s","store: nodes listening on its floor channel") \
    X(BUYER_NOTES,"cg:bnotes:%s:%s", "store, signed buyer id: agents' notes on the buyer, newest first")

enum key_name {
#define KEY_ENUM(name, pattern, what) KEY_##name,
    CHATGW_KEY_MAP(KEY_ENUM)
#undef KEY_ENUM
    KEY__COUNT
};

static inline const char *key_pattern(enum key_name k)
{
    static const char *const patterns[KEY__COUNT] = {
#define KEY_PATTERN(name, pattern, what) pattern,
        CHATGW_KEY_MAP(KEY_PATTERN)
#undef KEY_PATTERN
    };
    return patterns[k];
}

#endif
