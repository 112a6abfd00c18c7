/*
 * store.c - the chat store (see store.h): keys from daemon/keys.h, one
 * function per thing a role or the router needs from Redis.
 *
 * The numbers every script call needs (transcript_ttl, now) are formatted
 * here, once per call; argument lists for the scripts are built here only,
 * so that a script's signature changes in one place with it.
 *
 * API: see store.h.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "gw.h"
#include "store.h"

void store_key(char *out, size_t cap, enum key_name k, const char *a, const char *b)
{
    /* the patterns are the table's own constants, with as many %s as parts */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, key_pattern(k), a ? a : "", b ? b : "");
#pragma GCC diagnostic pop
}

/* Integers without snprintf: this runs for every message (see codec.h). */
static size_t fmt_u64(char *out, size_t cap, uint64_t v)
{
    (void)cap;                          /* every caller passes 24 bytes: enough */
    size_t n = proto_fmt_int(out, (int64_t)v);
    out[n] = '\0';
    return n;
}
int store_append(const struct store_append *a, db_reply_cb *cb, void *ud)
{
    char keys[3][96], ttl[24], now[24];

    store_key(keys[0], sizeof keys[0], KEY_CHAT, a->chat, "meta");
    store_key(keys[1], sizeof keys[1], KEY_CHAT, a->chat, "log");
    store_key(keys[2], sizeof keys[2], KEY_CHAT, a->chat, "ids");
    size_t ttl_len = fmt_u64(ttl, sizeof ttl, gw.cfg->transcript_ttl_ms);
    size_t now_len = fmt_u64(now, sizeof now, a->now_ms);
    const char *argv[] = { keys[0], keys[1], keys[2], a->id, a->rec, ttl,
                           a->greet ? a->greet : "", a->meta ? a->meta : "", a->chat,
                           a->who, a->tag, now, a->store, a->node };
    size_t lens[] = { strlen(keys[0]), strlen(keys[1]), strlen(keys[2]), a->id_len, a->rec_len,
                      ttl_len, a->greet ? a->greet_len : 0, a->meta ? a->meta_len : 0,
                      strlen(a->chat), strlen(a->who), strlen(a->tag), now_len,
                      strlen(a->store), strlen(a->node) };
    return db_eval(DB_LUA_APPEND, cb, ud, 3, 14, argv, lens);
}

int store_resume(const char *chat, db_reply_cb *cb, void *ud)
{
    char meta[96], log[96];

    store_key(meta, sizeof meta, KEY_CHAT, chat, "meta");
    store_key(log, sizeof log, KEY_CHAT, chat, "log");
    const char *argv[] = { meta, log };
    return db_eval(DB_LUA_RESUME, cb, ud, 2, 2, argv, NULL);
}

int store_replay(const char *chat, int64_t first_seq, int64_t last_seq, db_reply_cb *cb, void *ud)
{
    char key[96], from[24], to[24];

    store_key(key, sizeof key, KEY_CHAT, chat, "log");
    snprintf(from, sizeof from, "%lld", (long long)(first_seq - 1));
    snprintf(to, sizeof to, "%lld", (long long)(last_seq - 1));
    const char *argv[] = { "LRANGE", key, from, to };
    return db_command(cb, ud, 4, argv, NULL);
}

int store_log_length(const char *chat, db_reply_cb *cb, void *ud)
{
    char key[96];

    store_key(key, sizeof key, KEY_CHAT, chat, "log");
    const char *argv[] = { "LLEN", key };
    return db_command(cb, ud, 2, argv, NULL);
}

int store_queue_position(const char *store, const char *group, const char *chat,
                         db_reply_cb *cb, void *ud)
{
    char key[160];

    store_key(key, sizeof key, KEY_QUEUE, store, group);
    const char *argv[] = { "ZRANK", key, chat };
    return db_command(cb, ud, 3, argv, NULL);
}

int store_token_owner(const char *token_hash, db_reply_cb *cb, void *ud)
{
    char key[96];

    store_key(key, sizeof key, KEY_TOKEN, token_hash, NULL);
    const char *argv[] = { "GET", key };
    return db_command(cb, ud, 2, argv, NULL);
}

int store_agent_identity(const char *agent, db_reply_cb *cb, void *ud)
{
    char key[128];

    store_key(key, sizeof key, KEY_AGENT, agent, NULL);
    const char *argv[] = { "HMGET", key, "name", "store", "groups", "capacity", "tok" };
    return db_command(cb, ud, 7, argv, NULL);
}

int store_locate(const char *chat, const char *node, db_reply_cb *cb, void *ud)
{
    char key[96], ttl[24];

    store_key(key, sizeof key, KEY_CHAT, chat, "loc");
    fmt_u64(ttl, sizeof ttl, gw.cfg->transcript_ttl_ms);
    const char *argv[] = { "SET", key, node, "PX", ttl };
    return db_command(cb, ud, 5, argv, NULL);
}

void store_publish_store(const struct store_conf *st)
{
    char key[96], groups[16 * (CONFIG_ID_MAX + 1)] = "";
    size_t n = 0;

    for (int g = 0; g < st->ngroups; g++)
        n += (size_t)snprintf(groups + n, sizeof groups - n, "%s%s", g ? " " : "", st->groups[g]);
    store_key(key, sizeof key, KEY_STORE, st->id, NULL);
    const char *hset[] = { "HSET", key, "name", st->name, "groups", groups };
    const char *sadd[] = { "SADD", key_pattern(KEY_STORES), st->id };
    db_command(NULL, NULL, 6, hset, NULL);
    db_command(NULL, NULL, 3, sadd, NULL);
}

int store_route(const char *op, int nargs, const char **args, db_reply_cb *cb, void *ud)
{
    const char *argv[16];
    char now[24];

    if (nargs > 12)
        return -1;
    fmt_u64(now, sizeof now, gw_wall_ms());
    argv[0] = op;
    argv[1] = now;
    argv[2] = gw.node_id;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    return db_eval(DB_LUA_ROUTER, cb, ud, 0, 3 + nargs, argv, NULL);
}

int store_schema_check(db_reply_cb *cb, void *ud)
{
    char cur[24];

    fmt_u64(cur, sizeof cur, STORE_SCHEMA);
    const char *argv[] = { "check", cur };
    return db_eval(DB_LUA_SCHEMA, cb, ud, 0, 2, argv, NULL);
}

int store_schema_migrate(int from, const char *cursor, db_reply_cb *cb, void *ud)
{
    char f[24];

    fmt_u64(f, sizeof f, (uint64_t)from);
    const char *argv[] = { "migrate", f, cursor, "200" };
    return db_eval(DB_LUA_SCHEMA, cb, ud, 0, 4, argv, NULL);
}

/* ---- for plugins ---- */

int store_notify_buyer(const char *chat, int64_t seq, const char *rec, size_t rec_len,
                       db_reply_cb *cb, void *ud)
{
    char loc[96], n[24];

    store_key(loc, sizeof loc, KEY_CHAT, chat, "loc");
    size_t n_len = fmt_u64(n, sizeof n, (uint64_t)seq);
    const char *argv[] = { loc, chat, n, rec };
    size_t lens[] = { strlen(loc), strlen(chat), n_len, rec_len };
    return db_eval(DB_LUA_NOTIFY, cb, ud, 1, 4, argv, lens);
}

/* cg:pkv:<plugin>:<key>: plugin names are config ids, keys any bytes but NUL. */
static int plugin_key(char *out, size_t cap, const char *plugin, const char *key)
{
    store_key(out, cap, KEY_PLUGIN_KV, plugin, key);
    return strlen(out) + 1 < cap ? 0 : -1;
}

int store_plugin_kv_get(const char *plugin, const char *key, db_reply_cb *cb, void *ud)
{
    char k[320];

    if (plugin_key(k, sizeof k, plugin, key) != 0)
        return -1;
    const char *argv[] = { "GET", k };
    return db_command(cb, ud, 2, argv, NULL);
}

int store_plugin_kv_set(const char *plugin, const char *key, const char *val, size_t len,
                        uint64_t ttl_ms, db_reply_cb *cb, void *ud)
{
    char k[320], ttl[24];

    if (plugin_key(k, sizeof k, plugin, key) != 0)
        return -1;
    size_t ttl_len = fmt_u64(ttl, sizeof ttl, ttl_ms);
    const char *argv[] = { "SET", k, val, "PX", ttl };
    size_t lens[] = { 3, strlen(k), len, 2, ttl_len };
    return db_command(cb, ud, ttl_ms ? 5 : 3, argv, lens);
}

int store_plugin_kv_del(const char *plugin, const char *key, db_reply_cb *cb, void *ud)
{
    char k[320];

    if (plugin_key(k, sizeof k, plugin, key) != 0)
        return -1;
    const char *argv[] = { "DEL", k };
    return db_command(cb, ud, 2, argv, NULL);
}

int store_plugin_kv_incr(const char *plugin, const char *key, int64_t by, db_reply_cb *cb,
                         void *ud)
{
    char k[320], n[24];

    if (plugin_key(k, sizeof k, plugin, key) != 0)
        return -1;
    snprintf(n, sizeof n, "%lld", (long long)by);
    const char *argv[] = { "INCRBY", k, n };
    return db_command(cb, ud, 3, argv, NULL);
}
