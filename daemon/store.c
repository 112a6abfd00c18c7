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
#include "shift.h"
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
    char keys[5][160], ttl[24], now[24], start[24] = "", weight[24] = "";
    int nkeys = a->greet ? 5 : 2;
    size_t start_len = 0;

    store_key(keys[0], sizeof keys[0], KEY_CHAT, a->chat, NULL);
    store_key(keys[1], sizeof keys[1], KEY_CLOCK, NULL, NULL);
    if (a->greet) {
        store_key(keys[2], sizeof keys[2], KEY_QUEUE, a->queue_store, a->queue_group);
        store_key(keys[3], sizeof keys[3], KEY_QSEQ, NULL, NULL);
        store_key(keys[4], sizeof keys[4], KEY_FLOOR_NODES, a->queue_store, NULL);
    }
    size_t ttl_len = fmt_u64(ttl, sizeof ttl, gw.cfg->transcript_ttl_ms);
    size_t now_len = fmt_u64(now, sizeof now, a->now_ms);
    if (strcmp(a->who, "buyer") == 0)
        start_len = fmt_u64(start, sizeof start, a->clock_start_ms);
    size_t weight_len = a->greet && a->queue_weight ? fmt_u64(weight, sizeof weight, a->queue_weight) : 0;
    const char *argv[24];
    size_t lens[24];
    for (int i = 0; i < nkeys; i++) {
        argv[i] = keys[i];
        lens[i] = strlen(keys[i]);
    }
    const char *args[] = { a->id, a->rec, ttl, a->greet ? a->greet : "", a->meta ? a->meta : "",
                           a->chat, a->who, a->tag, now, a->store, a->node, start, weight,
                           a->private_rec ? "1" : "" };
    size_t arg_lens[] = { a->id_len, a->rec_len, ttl_len, a->greet ? a->greet_len : 0,
                          a->meta ? a->meta_len : 0, strlen(a->chat), strlen(a->who),
                          strlen(a->tag), now_len, strlen(a->store), strlen(a->node), start_len,
                          weight_len, a->private_rec ? 1 : 0 };
    for (int i = 0; i < 14; i++) {
        argv[nkeys + i] = args[i];
        lens[nkeys + i] = arg_lens[i];
    }
    return db_eval(DB_LUA_APPEND, cb, ud, nkeys, nkeys + 14, argv, lens);
}

int store_resume(const char *chat, db_reply_cb *cb, void *ud)
{
    char key[96];

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    const char *argv[] = { key, "get" };
    return db_eval(DB_LUA_RESUME, cb, ud, 1, 2, argv, NULL);
}

int store_replay(const char *chat, int64_t first_seq, int64_t last_seq, db_reply_cb *cb, void *ud)
{
    char key[96], seqs[STORE_REPLAY_MAX][24];
    const char *argv[2 + STORE_REPLAY_MAX];
    int n = 0;

    if (first_seq < 1 || last_seq < first_seq || last_seq - first_seq >= STORE_REPLAY_MAX)
        return -1;
    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    argv[0] = "HMGET";
    argv[1] = key;
    for (int64_t s = first_seq; s <= last_seq; s++, n++) {
        fmt_u64(seqs[n], sizeof seqs[n], (uint64_t)s);
        argv[2 + n] = seqs[n];
    }
    return db_command(cb, ud, 2 + n, argv, NULL);
}

int store_log_length(const char *chat, db_reply_cb *cb, void *ud)
{
    char key[96];

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    const char *argv[] = { "HGET", key, "n" };
    return db_command(cb, ud, 3, argv, NULL);
}

int store_previous(const char *chat, db_reply_cb *cb, void *ud)
{
    char key[96];

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    const char *argv[] = { "HMGET", key, "store", "tok", "state", "agent", "la", "closed",
                           "pa", "pt" };
    return db_command(cb, ud, 10, argv, NULL);
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
    char key[96];

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    const char *argv[] = { key, "locate", node };
    return db_eval(DB_LUA_RESUME, cb, ud, 1, 3, argv, NULL);
}

/*
 * The store's shifts as the scripts read them (router.lua hours_of):
 * field `hours`, a msgpack array of spans {start ms, end ms, shift name
 * ("*": every agent), roster date "YYYY-MM-DD", roster day "mon".."sun",
 * the start as the buyer reads it in the store's zone}, over whole local
 * days (shift_window); "" when the store has no shifts (always open).
 * Every node computes the same spans from the same config.
 */
static void write_hours(struct proto_writer *w, const struct store_conf *st, int64_t now)
{
    static struct shift_span sp[SHIFT_SPANS_MAX];
    int64_t from, to;
    shift_window(st->plan, now, &from, &to);
    size_t n = shift_spans(st->plan, from, to, sp, SHIFT_SPANS_MAX);
    char date[16], label[64];

    proto_w_array(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        shift_date_text(sp[i].day, date, sizeof date);
        shift_label(st->plan, sp[i].s, label, sizeof label);
        proto_w_array(w, 6);
        proto_w_int(w, sp[i].s);
        proto_w_int(w, sp[i].e);
        proto_w_cstr(w, sp[i].name);
        proto_w_cstr(w, date);
        proto_w_cstr(w, shift_day_name(sp[i].wday));
        proto_w_cstr(w, label);
    }
}

/* A store's settings the scripts need (router.lua's store_cfg): its name
 * and groups, the clock's durations in ms, its texts (templates) and its
 * shifts. */
void store_publish_store(const struct store_conf *st)
{
    char key[96], groups[16 * (CONFIG_ID_MAX + 1)] = "", num[6][24];
    size_t n = 0;

    for (int g = 0; g < st->ngroups; g++)
        n += (size_t)snprintf(groups + n, sizeof groups - n, "%s%s", g ? " " : "", st->groups[g]);
    /* the holding replies: a msgpack array of strings */
    struct proto_writer w;
    proto_writer_init(&w, PROTO_MSGPACK, 0);
    proto_w_array(&w, (uint32_t)st->nhold_text);
    for (int i = 0; i < st->nhold_text; i++)
        proto_w_cstr(&w, st->hold_text[i]);
    store_key(key, sizeof key, KEY_STORE, st->id, NULL);
    fmt_u64(num[0], sizeof num[0], st->hold_after_ms);
    fmt_u64(num[1], sizeof num[1], st->hold_every_ms);
    fmt_u64(num[2], sizeof num[2], st->hold_max);
    fmt_u64(num[3], sizeof num[3], st->breach_after_ms);
    fmt_u64(num[4], sizeof num[4], st->reassign_after_ms);
    fmt_u64(num[5], sizeof num[5], st->away_reassign_ms);
    char ttl[24];
    fmt_u64(ttl, sizeof ttl, gw.cfg->stats_ttl_ms);
    const char *hset[] = { "HSET", key, "name", st->name, "groups", groups,
                           "hold_after", num[0], "hold_every", num[1], "hold_max", num[2],
                           "breach_after", num[3], "reassign_after", num[4],
                           "away_reassign", num[5], "stats_ttl", ttl,
                           "transfer_text", st->transfer_text,
                           "agent_gone_text", st->agent_gone_text,
                           "reassign_text", st->reassign_text,
                           "farewell_sold", st->farewell_sold,
                           "farewell_no_sale", st->farewell_no_sale,
                           "hold_text", w.err ? "" : proto_writer_data(&w) };
    size_t lens[sizeof hset / sizeof hset[0]];
    for (size_t i = 0; i < sizeof hset / sizeof hset[0]; i++)
        lens[i] = strlen(hset[i]);
    lens[sizeof hset / sizeof hset[0] - 1] = w.err ? 0 : w.len;
    const char *sadd[] = { "SADD", key_pattern(KEY_STORES), st->id };
    db_command(NULL, NULL, (int)(sizeof hset / sizeof hset[0]), hset, lens);
    struct proto_writer hw;
    proto_writer_init(&hw, PROTO_MSGPACK, 0);
    if (st->plan)
        write_hours(&hw, st, (int64_t)gw_wall_ms());
    /* the shifts' names (chatgwctl roster checks names against them) */
    char names[CONFIG_MAX_SHIFTS * (SHIFT_NAME_MAX + 1) + 1] = "";
    size_t nl = 0;
    for (int i = 0; i < st->nshift; i++)
        nl += (size_t)snprintf(names + nl, sizeof names - nl, "%s%.*s", i ? " " : "",
                               (int)strcspn(st->shift[i], " "), st->shift[i]);
    /* returning buyers (router.lua sticky_of): how long, in ms */
    char sticky[24], sticky_wait[24];
    fmt_u64(sticky, sizeof sticky, (uint64_t)st->sticky_days * 86400000u);
    fmt_u64(sticky_wait, sizeof sticky_wait, st->sticky_wait_ms);
    const char *hset2[] = { "HSET", key, "hours", st->plan && !hw.err ? proto_writer_data(&hw) : "",
                            "overtime", st->overtime ? "1" : "0",
                            "off_hours_text", st->off_hours_text, "shifts", names,
                            "sticky", sticky, "sticky_wait", sticky_wait };
    size_t lens2[] = { 4, strlen(key), 5, st->plan && !hw.err ? hw.len : 0, 8, 1, 14,
                       strlen(st->off_hours_text), 6, strlen(names), 6, strlen(sticky), 11,
                       strlen(sticky_wait) };
    db_command(NULL, NULL, 14, hset2, lens2);
    proto_writer_free(&hw);
    db_command(NULL, NULL, 3, sadd, NULL);
    proto_writer_free(&w);
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

_Static_assert(2 + 2 * STORE_STATS_BATCH <= DB_EVAL_ARGS_MAX, "a stats batch fits one db_eval");

int store_stats_add(const char *store, uint64_t hour, size_t n, const char *const *fields,
                    const char *const *incs, const size_t *inc_lens)
{
    char key[160], h[24], ttl[24];
    const char *argv[2 + 2 * STORE_STATS_BATCH];
    size_t lens[2 + 2 * STORE_STATS_BATCH];

    if (n == 0 || n > STORE_STATS_BATCH)
        return -1;
    fmt_u64(h, sizeof h, hour);
    store_key(key, sizeof key, KEY_STATS, store, h);
    fmt_u64(ttl, sizeof ttl, gw.cfg->stats_ttl_ms);
    argv[0] = key, lens[0] = strlen(key);
    argv[1] = ttl, lens[1] = strlen(ttl);
    for (size_t i = 0; i < n; i++) {
        argv[2 + 2 * i] = fields[i], lens[2 + 2 * i] = strlen(fields[i]);
        argv[3 + 2 * i] = incs[i], lens[3 + 2 * i] = inc_lens[i];
    }
    return db_eval(DB_LUA_STATS, NULL, NULL, 1, (int)(2 + 2 * n), argv, lens);
}

/* ---- the floor's reads (floor.lua) ---- */

int store_queue_stats(int nqueues, const char *const *store_group, db_reply_cb *cb, void *ud)
{
    const char *argv[2 + 2 * STORE_QUEUES_MAX];
    char now[24];

    if (nqueues < 0 || nqueues > STORE_QUEUES_MAX)
        return -1;
    fmt_u64(now, sizeof now, gw_wall_ms());
    argv[0] = "queues";
    argv[1] = now;
    for (int i = 0; i < 2 * nqueues; i++)
        argv[2 + i] = store_group[i];
    return db_eval(DB_LUA_FLOOR, cb, ud, 0, 2 + 2 * nqueues, argv, NULL);
}

/* ---- supervisors ---- */

int store_floor_snapshot(uint32_t max_chats, int nstores, const char *const *stores,
                         db_reply_cb *cb, void *ud)
{
    const char *argv[3 + STORE_SNAPSHOT_STORES_MAX];
    char now[24], max[24];

    if (nstores < 1 || nstores > STORE_SNAPSHOT_STORES_MAX)
        return -1;
    fmt_u64(now, sizeof now, gw_wall_ms());
    fmt_u64(max, sizeof max, max_chats);
    argv[0] = "snapshot";
    argv[1] = now;
    argv[2] = max;
    for (int i = 0; i < nstores; i++)
        argv[3 + i] = stores[i];
    return db_eval(DB_LUA_FLOOR, cb, ud, 0, 3 + nstores, argv, NULL);
}

int store_floor_summary(int nstores, const char *const *stores, uint64_t now_ms,
                        db_reply_cb *cb, void *ud)
{
    const char *argv[2 + STORE_SNAPSHOT_STORES_MAX];
    char now[24];

    if (nstores < 1 || nstores > STORE_SNAPSHOT_STORES_MAX)
        return -1;
    fmt_u64(now, sizeof now, now_ms);
    argv[0] = "summary";
    argv[1] = now;
    for (int i = 0; i < nstores; i++)
        argv[2 + i] = stores[i];
    return db_eval(DB_LUA_FLOOR, cb, ud, 0, 2 + nstores, argv, NULL);
}

int store_transcript(const char *chat, const char *stores, int64_t from, int max,
                     db_reply_cb *cb, void *ud)
{
    char f[24], m[24];

    fmt_u64(f, sizeof f, (uint64_t)(from > 0 ? from : 1));
    fmt_u64(m, sizeof m, (uint64_t)(max > 0 ? max : 1));
    const char *argv[] = { "transcript", "0", chat, stores, f, m };
    return db_eval(DB_LUA_FLOOR, cb, ud, 0, 6, argv, NULL);
}

int store_floor_listener(const char *store, bool on)
{
    char key[160];

    store_key(key, sizeof key, KEY_FLOOR_NODES, store, NULL);
    const char *argv[] = { on ? "HSET" : "HDEL", key, gw.node_id, "1" };
    return db_command(NULL, NULL, on ? 4 : 3, argv, NULL);
}

int store_supervisor_identity(const char *sup, db_reply_cb *cb, void *ud)
{
    char key[128];

    store_key(key, sizeof key, KEY_SUP, sup, NULL);
    const char *argv[] = { "HMGET", key, "name", "store", "tok" };
    return db_command(cb, ud, 5, argv, NULL);
}

/* ---- typing and read (signal.lua) ---- */

int store_signal(const char *chat, const char *who, const char *store, const char *src,
                 int64_t read_seq, db_reply_cb *cb, void *ud)
{
    char key[96], seq[24] = "";

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    if (read_seq >= 0)
        fmt_u64(seq, sizeof seq, (uint64_t)read_seq);
    const char *argv[] = { key, read_seq >= 0 ? "read" : "typing", who, store, seq, chat, src };
    return db_eval(DB_LUA_SIGNAL, cb, ud, 1, 7, argv, NULL);
}

/* ---- for plugins ---- */

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

/* ---- plugins' actions on a chat ---- */

int store_chat_flag(const char *chat, const char *store, const char *rule, const char *excerpt,
                    db_reply_cb *cb, void *ud)
{
    const char *args[] = { chat, store ? store : "", rule, excerpt };
    return store_route("flag", 4, args, cb, ud);
}

int store_chat_priority(const char *chat, const char *store, const char *level, bool raise,
                        db_reply_cb *cb, void *ud)
{
    const char *args[] = { chat, store ? store : "", level, raise ? "raise" : "set" };
    return store_route("priority", 4, args, cb, ud);
}

int store_chat_move(const char *chat, const char *store, const char *group, db_reply_cb *cb,
                    void *ud)
{
    const char *args[] = { chat, store ? store : "", group };
    return store_route("move", 3, args, cb, ud);
}

int store_chat_last(const char *chat, int n, db_reply_cb *cb, void *ud)
{
    char key[96], num[24];

    store_key(key, sizeof key, KEY_CHAT, chat, NULL);
    fmt_u64(num, sizeof num, (uint64_t)n);
    const char *argv[] = { key, "last", num };
    return db_eval(DB_LUA_RESUME, cb, ud, 1, 3, argv, NULL);
}

/* ---- the floor's counts -------------------------------------------------- */

int store_guard_hit(const char *chat, const char *agent, bool block, const char *rule)
{
    const char *args[] = { chat, agent, block ? "block" : "warn", rule ? rule : "" };
    return store_route("guard", 4, args, NULL, NULL);
}
