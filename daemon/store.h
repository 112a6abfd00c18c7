/*
 * store.h - the chat store: every Redis key and command of chats, queues,
 * agents and logins goes through here. Roles turn frames into these calls
 * and replies into frames; the router calls the routing steps; nobody
 * else spells a key (daemon/keys.h holds the names, the scripts in daemon/lua the
 * atomic steps).
 *
 * Each call sends one command (or one script) on the command link and
 * returns 0, or -1 when Redis is not ready (cb is then not called). cb
 * gets the reply, or NULL when the link failed or the reply was overdue
 * (redis_timeout); the reply's shape is given with each function.
 *
 * API: store_append, store_resume, store_previous, store_replay, store_log_length,
 *      store_queue_position, store_token_owner, store_agent_identity,
 *      store_locate, store_publish_store, store_route, store_schema_check,
 *      store_schema_migrate, store_stats_add, store_key, store_queue_stats,
 *      store_supervisor_identity, store_floor_listener, store_floor_snapshot,
 *      store_transcript, store_guard_hit, store_floor_summary, store_signal;
 *      for plugins:
 *      store_plugin_kv_get/set/del/incr, store_chat_flag, store_chat_priority,
 *      store_chat_move, store_chat_last.
 */
#ifndef CHATGW_STORE_H
#define CHATGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "keys.h"

/* One message into a chat's transcript, exactly once (append.lua). */
struct store_append {
    const char *chat;
    const char *id;                    /* the writer's client id; "" for none */
    size_t id_len;
    const char *rec;                   /* the msgpack record */
    size_t rec_len;
    const char *greet;                 /* a greeting record to store right after it, or NULL */
    size_t greet_len;
    const char *meta;                  /* the chat record to create with it, or NULL */
    size_t meta_len;
    const char *who;                   /* "buyer", "agent:<id>", "supervisor:<id>",
                                          or "" (the gateway) */
    const char *tag;                   /* the writing session, for its other windows; or "" */
    const char *store;                 /* the writing agent's store; "" unless an agent;
                                          a supervisor's stores, space-separated */
    const char *node;                  /* locate the chat at this node (new chat), or "" */
    uint64_t clock_start_ms;           /* a buyer message: its store's first clock step; 0 = none */
    const char *queue_store;           /* with greet: the queue the new chat joins */
    const char *queue_group;
    uint32_t queue_weight;             /* with greet: arrivals it goes before (its priority) */
    uint64_t now_ms;
    bool private_rec;                  /* a note or whisper: never the buyer's */
};
/* Reply (STORE_APPEND_REPLY elements): {seq, duplicate 0|1, greeting
 * seq|0, queue position|0, the clock's deadline it set|0 (wall ms),
 * response time ms|-1 (an agent's answer), first response 0|1, the
 * chat's group}, or an error "closed" | "no_chat" | "forbidden". */
#define STORE_APPEND_REPLY 8
int store_append(const struct store_append *a, db_reply_cb *cb, void *ud);

/* Reply: {the chat's record (msgpack map) or nil, number of messages} (resume.lua). */
int store_resume(const char *chat, db_reply_cb *cb, void *ud);
/* Records first_seq..last_seq (1-based, inclusive; at most STORE_REPLAY_MAX).
 * Reply: array of records, nil for any the chat does not have. */
#define STORE_REPLAY_MAX 256
int store_replay(const char *chat, int64_t first_seq, int64_t last_seq, db_reply_cb *cb, void *ud);
/* Reply: the chat's last seq, as a string (nil: no chat). */
int store_log_length(const char *chat, db_reply_cb *cb, void *ud);
/* A buyer's previous chat, for a returning buyer (hello's previous):
 * Reply: {store, tok, state, agent, la, closed, pa, pt} of its record
 * (nil where absent; all nil: no such chat). */
int store_previous(const char *chat, db_reply_cb *cb, void *ud);
/* Reply: integer rank (0 = next), or nil when not queued there. */
int store_queue_position(const char *store, const char *group, const char *chat,
                         db_reply_cb *cb, void *ud);

/* Reply: "agent:<id>" / "supervisor:<id>", or nil. */
int store_token_owner(const char *token_hash, db_reply_cb *cb, void *ud);
/* Reply: {name, store, groups, capacity, token hash} (nil fields when absent). */
int store_agent_identity(const char *agent, db_reply_cb *cb, void *ud);

/* Events for the chat's buyer go to node from now on. Reply: 1, or 0 when
 * the chat is gone. */
int store_locate(const char *chat, const char *node, db_reply_cb *cb, void *ud);
/* Says which groups a store has (chatgwctl and router.lua read it). No reply. */
void store_publish_store(const struct store_conf *st);

/* One routing step: EVALSHA router.lua OP now node args... (see router.lua). */
int store_route(const char *op, int nargs, const char **args, db_reply_cb *cb, void *ud);

/* The layout of the data (schema.lua): the version found, an integer;
 * a Redis with no chatgw data gets `current`. */
#define STORE_SCHEMA 3
int store_schema_check(db_reply_cb *cb, void *ud);
/* One step of the migration from version `from`. Reply: {next cursor, chats}. */
int store_schema_migrate(int from, const char *cursor, db_reply_cb *cb, void *ud);

/* Adds n msgpack maps of increments, incs[i] of inc_lens[i] bytes, to the
 * fields fields[i] of a store's statistics for an hour (stats.lua), in one
 * call; n at most STORE_STATS_BATCH. No reply. */
#define STORE_STATS_BATCH 64
int store_stats_add(const char *store, uint64_t hour, size_t n, const char *const *fields,
                    const char *const *incs, const size_t *inc_lens);
/* A key of the table with its one or two parts (NULL where it has none). */
void store_key(char *out, size_t cap, enum key_name k, const char *a, const char *b);

/* The queues of nqueues (store, group) pairs, store_group[2i] and [2i+1]
 * (floor.lua "queues"; reads each queue and the creation time of the chat
 * at its head). Reply: {queued, oldest_wait_ms, ...}, a pair per queue. */
#define STORE_QUEUES_MAX 256
int store_queue_stats(int nqueues, const char *const *store_group, db_reply_cb *cb, void *ud);

/* Reply: {name, store ("*" = every store), token hash} of cg:sup:<id>
 * (nil fields when absent). */
int store_supervisor_identity(const char *sup, db_reply_cb *cb, void *ud);
/* The floor of some stores, as floor.lua "snapshot" reads it: one msgpack
 * map (see floor.lua) with at most max_chats live chats. */
#define STORE_SNAPSHOT_STORES_MAX 256
int store_floor_snapshot(uint32_t max_chats, int nstores, const char *const *stores,
                         db_reply_cb *cb, void *ud);
/* A chat of one of `stores` (space-separated), open or closed, records
 * from..from+max-1 (floor.lua "transcript"). Reply: {the chat's record
 * (msgpack map), first seq, {records}, number of messages}, or the error
 * "not_found". */
int store_transcript(const char *chat, const char *stores, int64_t from, int max,
                     db_reply_cb *cb, void *ud);
/* The supervisors' stats event of some stores at now_ms (floor.lua
 * "summary"). Reply: STORE_SUMMARY_FIELDS integers per store, in the
 * order asked (see floor.lua; -1 for a median with nothing counted). */
#define STORE_SUMMARY_FIELDS 9
int store_floor_summary(int nstores, const char *const *stores, uint64_t now_ms,
                        db_reply_cb *cb, void *ud);
/* This node listens on the store's floor channel (or no longer): the
 * scripts publish the store's floor events only while some node does
 * (cg:floornodes:<store>). No reply. */
int store_floor_listener(const char *store, bool on);

/* A plugin held (block false) or blocked an agent's message in chat:
 * router.lua "guard" counts it (guard_hits) and tells the store's
 * supervisors (event guard), if the chat is the agent's. No reply. */
int store_guard_hit(const char *chat, const char *agent, bool block, const char *rule);

/* A typing or read signal of one side of a chat, for the other side
 * (signal.lua): who is "buyer" or "agent:<id>" (store: the agent's, ""
 * for the buyer; src: the agent session's tag, "" for the buyer),
 * read_seq the seq read up to (read) or -1 (typing). A read is kept in
 * the chat (fields rdb, rda) unless it is beyond the last message or not
 * past the one kept; an agent's also goes to its other windows. One script call; never on a message's
 * path. Reply: 1 (a typing relayed, a read kept) or 0, or the error
 * "forbidden" (an agent that does not hold the chat). */
int store_signal(const char *chat, const char *who, const char *store, const char *src,
                 int64_t read_seq, db_reply_cb *cb, void *ud);

/* ---- for plugins (plugin.c) ---- */

/* A plugin's own values, under cg:pkv:<plugin>:<key>. Replies: GET's
 * (string or nil), SET's OK, DEL's integer, INCRBY's integer. */
int store_plugin_kv_get(const char *plugin, const char *key, db_reply_cb *cb, void *ud);
int store_plugin_kv_set(const char *plugin, const char *key, const char *val, size_t len,
                        uint64_t ttl_ms, db_reply_cb *cb, void *ud);
int store_plugin_kv_del(const char *plugin, const char *key, db_reply_cb *cb, void *ud);
int store_plugin_kv_incr(const char *plugin, const char *key, int64_t by, db_reply_cb *cb,
                         void *ud);

/* Actions on a chat of `store` ("" or NULL: of any store); the errors
 * "not_found" (no such chat there, or group) and "closed". router.lua's
 * ops: flag (kept on the chat, counted as `escalations`, event
 * `escalation` to its agent and on cg:floor:<store>; reply: {the chat's
 * number of flags, its store, its group}), priority (level normal|ordered|paid|vip, raise: never
 * lower it; reply: the level it has now), move (to the head of group's
 * queue; reply: the "store group" queues to assign). */
int store_chat_flag(const char *chat, const char *store, const char *rule, const char *excerpt,
                    db_reply_cb *cb, void *ud);
int store_chat_priority(const char *chat, const char *store, const char *level, bool raise,
                        db_reply_cb *cb, void *ud);
int store_chat_move(const char *chat, const char *store, const char *group, db_reply_cb *cb,
                    void *ud);
/* The last n messages (resume.lua "last"). Reply: {store, seq of the
 * first, {records}}, or nil when there is no chat. */
#define STORE_LAST_MAX 100
int store_chat_last(const char *chat, int n, db_reply_cb *cb, void *ud);

#endif
