/*
 * ctl_floor.c - `nodes`, `agents` and `queue`: how the floor is doing, read
 * from Redis, as an aligned table for people, --json or --csv for scripts.
 *
 *   nodes            every node in cg:nodes: its heartbeat's age, whether
 *                    that is within node_timeout (from -c, else 10 s), and
 *                    its agents and agent sessions (cg:nodeagents, cg:an).
 *                    Buyers' sessions live in each node only (its /metrics).
 *   agents [--store] every agent with its runtime state: online sessions,
 *                    ready|away, load/capacity, chats held.
 *   queue [--store]  every queue of the known stores (-c, else cg:stores):
 *                    chats waiting, the head's wait (floor.lua "queues", the
 *                    daemon's own read), agents ready for it.
 *
 * One table type carries the rows of all three: cells as text, each column
 * typed for JSON (text, integer, yes/no). Time is Redis's (TIME), so ages do
 * not depend on this machine's clock. Reads only; nothing is changed.
 *
 * API: cmd_nodes, cmd_agents, cmd_queue, table_add_row, table_print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"
#include "keys.h"

#define MAX_COLS CTL_MAX_COLS
#define CELL CTL_CELL
#define NODE_TIMEOUT_DEFAULT_MS 10000

char (*table_add_row(struct table *t))[CELL]
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void *v = realloc(t->cells, cap * sizeof *t->cells);
        if (!v)
            return NULL;
        t->cells = v;
        t->cap = cap;
    }
    memset(t->cells[t->nrows], 0, sizeof t->cells[0]);
    return t->cells[t->nrows++];
}

static size_t width_of(const char *s)
{
    size_t n = strlen(s);
    return proto_utf8_valid(s, n) ? proto_utf8_chars(s, n) : n;
}

static void print_people(const struct table *t)
{
    size_t w[MAX_COLS] = { 0 };

    for (int c = 0; c < t->ncol; c++) {
        w[c] = width_of(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++)
            if (width_of(t->cells[r][c]) > w[c])
                w[c] = width_of(t->cells[r][c]);
    }
    for (size_t r = 0; r <= t->nrows; r++)
        for (int c = 0; c < t->ncol; c++) {
            const char *v = r ? t->cells[r - 1][c] : t->head[c];
            if (c == t->ncol - 1)
                printf("%s\n", v);
            else
                printf("%s%*s", v, (int)(w[c] - width_of(v) + 2), "");
        }
}

/* RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled. */
void csv_cell(const char *v)
{
    if (!v[strcspn(v, ",\"\r\n")]) {
        fputs(v, stdout);
        return;
    }
    putchar('"');
    for (; *v; v++) {
        if (*v == '"')
            putchar('"');
        putchar(*v);
    }
    putchar('"');
}

static void print_csv(const struct table *t)
{
    for (size_t r = 0; r <= t->nrows; r++)
        for (int c = 0; c < t->ncol; c++) {
            csv_cell(r ? t->cells[r - 1][c] : t->json[c]);
            putchar(c == t->ncol - 1 ? '\n' : ',');
        }
}

static int print_json(const struct table *t)
{
    struct proto_writer w;
    int rc = CTL_OK;

    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_array(&w, (uint32_t)t->nrows);
    for (size_t r = 0; r < t->nrows; r++) {
        proto_w_map(&w, (uint32_t)t->ncol);
        for (int c = 0; c < t->ncol; c++) {
            const char *v = t->cells[r][c];
            proto_w_key(&w, t->json[c]);
            if (strcmp(v, "-") == 0 && t->type[c] != C_TEXT)
                proto_w_nil(&w);
            else if (t->type[c] == C_INT)
                proto_w_int(&w, strtoll(v, NULL, 10));
            else if (t->type[c] == C_NUM)
                proto_w_float(&w, strtod(v, NULL));
            else if (t->type[c] == C_BOOL)
                proto_w_bool(&w, strcmp(v, "yes") == 0);
            else if (strcmp(v, "-") == 0)
                proto_w_nil(&w);
            else
                proto_w_cstr(&w, v);
        }
    }
    if (w.err)
        rc = ctl_fail(CTL_FAIL, "out of memory");
    else
        printf("%.*s\n", (int)w.len, proto_writer_data(&w));
    proto_writer_free(&w);
    return rc;
}

/* Prints t as asked and frees it; an empty table for people says so on stderr. */
int table_print(struct ctl *x, struct table *t, const char *none)
{
    int rc = CTL_OK;

    if (x->o.given & O_JSON)
        rc = print_json(t);
    else if (x->o.given & O_CSV)
        print_csv(t);
    else if (t->nrows == 0)
        fprintf(stderr, "chatgwctl: %s\n", none);
    else
        print_people(t);
    free(t->cells);
    if (rc == CTL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = ctl_fail(CTL_FAIL, "could not write to stdout");
    return rc;
}

static void key(char *out, size_t cap, enum key_name k, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, key_pattern(k), a ? a : "", b ? b : "");
#pragma GCC diagnostic pop
}

/* Redis's clock, in ms. */
static int redis_now(struct ctl *x, long long *ms)
{
    redisReply *r = link_callv(&x->link, "TIME", NULL);

    if (!r)
        return CTL_REDIS;
    *ms = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ?
          strtoll(r->element[0]->str, NULL, 10) * 1000 + strtoll(r->element[1]->str, NULL, 10) / 1000
          : 0;
    freeReplyObject(r);
    return CTL_OK;
}

/* Reads the replies of n pipelined commands into v; reports a lost link. */
static int get_replies(struct ctl *x, redisReply **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(x->link.c, &r) != REDIS_OK) {
            for (size_t j = 0; j < i; j++)
                freeReplyObject(v[j]);
            return ctl_fail(CTL_REDIS, "lost Redis at %s: %s", link_where(&x->link),
                            x->link.c->errstr);
        }
        v[i] = r;
    }
    return CTL_OK;
}

static void free_replies(redisReply **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (v[i])
            freeReplyObject(v[i]);
    free(v);
}

static long long rint_of(const redisReply *r)
{
    return !r ? 0 : r->type == REDIS_REPLY_INTEGER ? r->integer :
           r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* A --store that is no known store: exit 4, as the identity commands do. */
static int check_store(struct ctl *x)
{
    const struct cstore *st;

    if (!(x->o.given & O_STORE))
        return CTL_OK;
    int rc = ctl_need_stores(x);
    return rc != CTL_OK ? rc : stores_pick(&x->stores, x->o.store, &st);
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- nodes ---- */

int cmd_nodes(struct ctl *x, const struct kind *unused, const char *id)
{
    struct table t = { 4, { "NODE", "HEARTBEAT", "LIVE", "AGENTS" },
                       { "node", "heartbeat_age_ms", "live", "agents" },
                       { C_TEXT, C_INT, C_BOOL, C_INT } };
    long long now, timeout = x->have_cfg ? (long long)x->cfg.node_timeout_ms
                                          : NODE_TIMEOUT_DEFAULT_MS;
    char k[256];
    redisReply *nodes, **cards = NULL;
    int rc;

    (void)unused; (void)id;
    if ((rc = redis_now(x, &now)) != CTL_OK)
        return rc;
    key(k, sizeof k, KEY_NODES, NULL, NULL);
    if (!(nodes = link_callv(&x->link, "ZRANGE", k, "0", "-1", "WITHSCORES", NULL)))
        return CTL_REDIS;
    size_t n = nodes->type == REDIS_REPLY_ARRAY ? nodes->elements / 2 : 0;
    if (n && !(cards = calloc(n, sizeof *cards))) {
        freeReplyObject(nodes);
        return ctl_fail(CTL_FAIL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        key(k, sizeof k, KEY_NODE_AGENTS, nodes->element[2 * i]->str, NULL);
        const char *argv[] = { "SCARD", k };
        redisAppendCommandArgv(x->link.c, 2, argv, NULL);
    }
    if ((rc = get_replies(x, cards, n)) != CTL_OK) {
        free(cards);
        freeReplyObject(nodes);
        return rc;
    }
    for (size_t i = 0; i < n && rc == CTL_OK; i++) {
        char (*row)[CELL] = table_add_row(&t);
        long long age = now - (long long)strtod(nodes->element[2 * i + 1]->str, NULL);
        if (!row) {
            rc = ctl_fail(CTL_FAIL, "out of memory");
            break;
        }
        snprintf(row[0], CELL, "%s", nodes->element[2 * i]->str);
        snprintf(row[1], CELL, "%lld", age < 0 ? 0 : age);
        snprintf(row[2], CELL, "%s", age < timeout ? "yes" : "no");
        snprintf(row[3], CELL, "%lld", rint_of(cards[i]));
    }
    free_replies(cards, n);
    freeReplyObject(nodes);
    if (rc != CTL_OK) {
        free(t.cells);
        return rc;
    }
    if (!(x->o.given & (O_JSON | O_CSV)))      /* ms for scripts, seconds for people */
        for (size_t r = 0; r < t.nrows; r++) {
            double s = strtod(t.cells[r][1], NULL) / 1000.0;
            snprintf(t.cells[r][1], CELL, "%.1fs ago", s);
        }
    return table_print(x, &t, "no live nodes (is chatgwd running on this Redis?)");
}

/* ---- agents ---- */

int cmd_agents(struct ctl *x, const struct kind *unused, const char *id)
{
    struct table t = { 8, { "AGENT", "NAME", "STORE", "GROUPS", "ONLINE", "STATE", "LOAD", "CAPACITY" },
                       { "id", "name", "store", "groups", "sessions", "state", "load", "capacity" },
                       { C_TEXT, C_TEXT, C_TEXT, C_TEXT, C_INT, C_TEXT, C_INT, C_INT } };
    redisReply *set, **v = NULL;
    const char **ids = NULL;
    size_t n = 0;
    int rc;

    (void)unused; (void)id;
    if ((rc = check_store(x)) != CTL_OK)
        return rc;
    if (!(set = link_callv(&x->link, "SMEMBERS", key_pattern(KEY_AGENTS), NULL)))
        return CTL_REDIS;
    if (!(ids = calloc(set->elements + 1, sizeof *ids)) ||
        !(v = calloc(2 * set->elements + 1, sizeof *v))) {
        free(ids);
        freeReplyObject(set);
        return ctl_fail(CTL_FAIL, "out of memory");
    }
    for (size_t i = 0; i < set->elements; i++)
        if (set->element[i]->type == REDIS_REPLY_STRING && ctl_id_valid(set->element[i]->str))
            ids[n++] = set->element[i]->str;
    qsort(ids, n, sizeof *ids, by_str);
    for (size_t i = 0; i < n; i++) {
        char k1[128], k2[128];
        key(k1, sizeof k1, KEY_AGENT, ids[i], NULL);
        key(k2, sizeof k2, KEY_AGENT_RT, ids[i], NULL);
        const char *hm[] = { "HMGET", k1, "name", "store", "groups", "capacity" };
        const char *rt[] = { "HMGET", k2, "online", "state", "load" };
        redisAppendCommandArgv(x->link.c, 6, hm, NULL);
        redisAppendCommandArgv(x->link.c, 5, rt, NULL);
    }
    if ((rc = get_replies(x, v, 2 * n)) != CTL_OK) {
        free(v);
        v = NULL;
    }
    for (size_t i = 0; rc == CTL_OK && i < n; i++) {
        const redisReply *h = v[2 * i], *r = v[2 * i + 1];
        char (*row)[CELL];
        if (h->type != REDIS_REPLY_ARRAY || h->elements != 4 || h->element[1]->type != REDIS_REPLY_STRING)
            continue;                   /* deleted meanwhile */
        if ((x->o.given & O_STORE) && strcmp(h->element[1]->str, x->o.store) != 0)
            continue;
        if (!(row = table_add_row(&t))) {
            rc = ctl_fail(CTL_FAIL, "out of memory");
            break;
        }
        snprintf(row[0], CELL, "%s", ids[i]);
        for (int c = 0; c < 3; c++)
            snprintf(row[1 + c], CELL, "%s", h->element[c]->type == REDIS_REPLY_STRING &&
                     h->element[c]->str[0] ? h->element[c]->str : "-");
        if (x->o.given & (O_JSON | O_CSV))
            ;                           /* groups space-separated, as stored */
        else
            for (char *p = row[3]; *p; p++)
                *p = *p == ' ' ? ',' : *p;
        bool rt = r->type == REDIS_REPLY_ARRAY && r->elements == 3;
        snprintf(row[4], CELL, "%lld", rt ? rint_of(r->element[0]) : 0);
        snprintf(row[5], CELL, "%s", rt && r->element[1]->type == REDIS_REPLY_STRING ?
                 r->element[1]->str : "away");
        snprintf(row[6], CELL, "%lld", rt ? rint_of(r->element[2]) : 0);
        snprintf(row[7], CELL, "%lld", rint_of(h->element[3]));
    }
    free_replies(v, 2 * n);
    free(ids);
    freeReplyObject(set);
    if (rc != CTL_OK) {
        free(t.cells);
        return rc;
    }
    return table_print(x, &t, "no agents (chatgwctl agent add ID --name NAME)");
}

/* ---- queue ---- */

extern const char lua_floor[];

int cmd_queue(struct ctl *x, const struct kind *unused, const char *id)
{
    struct table t = { 5, { "STORE", "GROUP", "QUEUED", "OLDEST", "READY" },
                       { "store", "group", "queued", "oldest_wait_ms", "agents_ready" },
                       { C_TEXT, C_TEXT, C_INT, C_INT, C_INT } };
    const char *argv[4 + 2 * 256 + 1];
    redisReply *stats = NULL, **ready = NULL;
    long long now;
    int rc, argc = 0, nq = 0;

    (void)unused; (void)id;
    if ((rc = check_store(x)) != CTL_OK || (rc = ctl_need_stores(x)) != CTL_OK ||
        (rc = redis_now(x, &now)) != CTL_OK)
        return rc;
    char nowtext[24];
    snprintf(nowtext, sizeof nowtext, "%lld", now);
    argv[argc++] = "EVAL";
    argv[argc++] = lua_floor;
    argv[argc++] = "0";
    argv[argc++] = "queues";
    argv[argc++] = nowtext;
    for (size_t s = 0; s < x->stores.n; s++) {
        const struct cstore *st = &x->stores.v[s];
        if ((x->o.given & O_STORE) && strcmp(st->id, x->o.store) != 0)
            continue;
        for (int g = 0; g < st->ngroups && nq < 256; g++, nq++) {
            argv[argc++] = st->id;
            argv[argc++] = st->groups[g];
        }
    }
    if (nq && !(stats = link_call(&x->link, argc, argv, NULL)))
        return CTL_REDIS;
    if (nq && (stats->type != REDIS_REPLY_ARRAY || stats->elements != 2 * (size_t)nq)) {
        freeReplyObject(stats);
        return ctl_fail(CTL_REDIS, "Redis at %s gave no queue figures", link_where(&x->link));
    }
    if (nq && !(ready = calloc((size_t)nq, sizeof *ready))) {
        freeReplyObject(stats);
        return ctl_fail(CTL_FAIL, "out of memory");
    }
    for (int q = 0; q < nq; q++) {
        char k[256];
        key(k, sizeof k, KEY_READY, argv[5 + 2 * q], argv[6 + 2 * q]);
        const char *zc[] = { "ZCARD", k };
        redisAppendCommandArgv(x->link.c, 2, zc, NULL);
    }
    if ((rc = get_replies(x, ready, (size_t)nq)) != CTL_OK) {
        free(ready);
        ready = NULL;
        nq = 0;
    }
    for (int q = 0; q < nq && rc == CTL_OK; q++) {
        char (*row)[CELL] = table_add_row(&t);
        if (!row) {
            rc = ctl_fail(CTL_FAIL, "out of memory");
            break;
        }
        snprintf(row[0], CELL, "%s", argv[5 + 2 * q]);
        snprintf(row[1], CELL, "%s", argv[6 + 2 * q]);
        snprintf(row[2], CELL, "%lld", rint_of(stats->element[2 * q]));
        long long wait = rint_of(stats->element[2 * q + 1]);
        if (x->o.given & (O_JSON | O_CSV))
            snprintf(row[3], CELL, "%lld", wait);
        else if (rint_of(stats->element[2 * q]) == 0)
            snprintf(row[3], CELL, "-");
        else
            snprintf(row[3], CELL, "%.1fs", (double)wait / 1000.0);
        snprintf(row[4], CELL, "%lld", rint_of(ready[q]));
    }
    free_replies(ready, (size_t)nq);
    if (stats)
        freeReplyObject(stats);
    if (rc != CTL_OK) {
        free(t.cells);
        return rc;
    }
    return table_print(x, &t, "no stores known (give -c FILE, or start chatgwd)");
}
