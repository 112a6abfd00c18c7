/*
 * ctl_stats.c - `stats`, `chat show` and `chat close`: how a day went, and
 * one chat, for the operator.
 *
 *   stats [--store S] [--day D] [--agent A | --shift NAME]
 *                    a UTC day (default today, on Redis's clock) of the
 *                    hourly statistics (cg:stats:<store>:<hour>, the
 *                    layout of daemon/lua/stats.lua), summed over its 24
 *                    hours: a row for each store, each of its groups and
 *                    each agent (only A's with --agent; with --shift, only
 *                    the rows of that shift, field sh:NAME: one per store
 *                    that counted something in it): chats that
 *                    ended, first responses and their p50/p90 (the upper
 *                    bound of the histogram bucket that holds them, as
 *                    the supervisors' snapshot), the share of answers
 *                    within 30 s, breaches, reassignments, sales (sold,
 *                    no_sale, and the conversion sold / both), ratings
 *                    and their average, guard hits (messages a plugin
 *                    held or blocked) and transfers.
 *   chat show ID     the chat's record and its whole transcript (private
 *                    notes marked), read a page at a time through
 *                    floor.lua "transcript", the supervisors' own read.
 *   chat close ID    closes it as a supervisor would (router.lua
 *                    "supervise close"): the buyer and the agent are told.
 *
 * API: cmd_stats, cmd_chat_show, cmd_chat_close, ctl_day_valid,
 *      ctl_chat_valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "ctl.h"
#include "keys.h"

extern const char lua_floor[], lua_router[];

#define NBUCKETS 11                /* daemon/stats.h: ten bounds and the open one */
static const long long bounds[NBUCKETS - 1] = { 5000, 10000, 15000, 20000, 30000, 45000,
                                                60000, 90000, 120000, 300000 };
#define PAGE "100"

static void key(char *out, size_t cap, enum key_name k, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, key_pattern(k), a ? a : "", b ? b : "");
#pragma GCC diagnostic pop
}

/* YYYY-MM-DD as days since the epoch (UTC), or -1. */
static long long day_number(const char *s)
{
    struct tm tm = { 0 };
    int y, m, d;
    char tail;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        s[4] != '-' || s[7] != '-' || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d)
        return -1;                      /* 2026-02-30 */
    return (long long)t / 86400;
}

bool ctl_day_valid(const char *s)
{
    return day_number(s) >= 0;
}

bool ctl_chat_valid(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* ---- stats ---------------------------------------------------------------- */

/* The fields a row can be, in the order of the rows within a store. */
static const struct { const char *prefix, *scope; } scopes[] = {
    { "s", "store" }, { "g:", "group" }, { "a:", "agent" }, { "sh:", "shift" },
};
#define NSCOPES (sizeof scopes / sizeof scopes[0])

/* The scope of a field of the statistics; NSCOPES when it is none of ours. */
static size_t scope_of(const char *field)
{
    for (size_t i = 0; i < NSCOPES; i++)
        if (i == 0 ? strcmp(field, "s") == 0
                   : strncmp(field, scopes[i].prefix, strlen(scopes[i].prefix)) == 0)
            return i;
    return NSCOPES;
}

/* One field of the statistics (s, g:GROUP, a:AGENT, sh:SHIFT) summed over the day. */
struct agg {
    char store[CTL_ID_MAX + 1];
    char field[CTL_ID_MAX + 4];
    size_t scope;                       /* index in scopes[] */
    long long chats, replies, rt30, first, breaches, reassigned, sold, no_sale, ratings,
        rating_sum, guard_hits, transfers, escalations;
    long long fh[NBUCKETS];
};

static const struct { const char *name; size_t off; } counters[] = {
    { "chats", offsetof(struct agg, chats) },       { "replies", offsetof(struct agg, replies) },
    { "rt30", offsetof(struct agg, rt30) },         { "first", offsetof(struct agg, first) },
    { "breaches", offsetof(struct agg, breaches) },
    { "reassigned", offsetof(struct agg, reassigned) },
    { "sold", offsetof(struct agg, sold) },         { "no_sale", offsetof(struct agg, no_sale) },
    { "ratings", offsetof(struct agg, ratings) },
    { "rating_sum", offsetof(struct agg, rating_sum) },
    { "guard_hits", offsetof(struct agg, guard_hits) },
    { "transfers", offsetof(struct agg, transfers) },
    { "escalations", offsetof(struct agg, escalations) },
};

struct aggs {
    struct agg *v;
    size_t n, cap;
};

static struct agg *agg_get(struct aggs *a, const char *store, const char *field)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].store, store) == 0 && strcmp(a->v[i].field, field) == 0)
            return &a->v[i];
    if (strlen(field) >= sizeof a->v[0].field)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        void *v = realloc(a->v, cap * sizeof *a->v);
        if (!v)
            return NULL;
        a->v = v;
        a->cap = cap;
    }
    struct agg *g = &a->v[a->n++];
    memset(g, 0, sizeof *g);
    snprintf(g->store, sizeof g->store, "%s", store);
    snprintf(g->field, sizeof g->field, "%s", field);
    g->scope = scope_of(field);
    return g;
}

static long long num(const struct proto_value *v)
{
    return v->type == PROTO_INT ? v->u.i : v->type == PROTO_FLOAT ? (long long)v->u.f : 0;
}

/* Adds one field's msgpack map of counters to its sum. */
static void agg_add(struct agg *g, const char *raw, size_t len, struct proto_arena *arena)
{
    static const struct proto_limits lim = { 3, 256, false };
    const struct proto_value *m, *v;

    if (proto_decode(raw, len, PROTO_MSGPACK, &lim, arena, &m) != PROTO_OK || m->type != PROTO_MAP)
        return;
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        if ((v = proto_map_get(m, counters[i].name)))
            *(long long *)((char *)g + counters[i].off) += num(v);
    if ((v = proto_map_get(m, "fh")) && v->type == PROTO_ARRAY)
        for (uint32_t j = 0; j < v->len && j < NBUCKETS; j++)
            g->fh[j] += num(&v->u.items[j]);
}

/* The upper bound of the bucket holding the q-quantile; -1 when empty. */
static long long quantile(const long long *h, double q)
{
    long long total = 0, acc = 0;

    for (int i = 0; i < NBUCKETS; i++)
        total += h[i];
    if (total == 0)
        return -1;
    for (int i = 0; i < NBUCKETS; i++) {
        acc += h[i];
        if ((double)acc >= q * (double)total)
            return i < NBUCKETS - 1 ? bounds[i] : bounds[NBUCKETS - 2] + 1;
    }
    return -1;
}

static void cell_ms(char *out, long long ms, bool people)
{
    if (ms < 0)
        snprintf(out, CTL_CELL, "-");
    else if (people)
        snprintf(out, CTL_CELL, ms > bounds[NBUCKETS - 2] ? ">%llds" : "%llds",
                 (ms > bounds[NBUCKETS - 2] ? bounds[NBUCKETS - 2] : ms) / 1000);
    else
        snprintf(out, CTL_CELL, "%lld", ms);
}

/* a / b as a share (0..1 for scripts, % for people), "-" when b is 0. */
static void cell_share(char *out, long long a, long long b, bool people)
{
    if (b == 0)
        snprintf(out, CTL_CELL, "-");
    else if (people)
        snprintf(out, CTL_CELL, "%.0f%%", 100.0 * (double)a / (double)b);
    else
        snprintf(out, CTL_CELL, "%.4f", (double)a / (double)b);
}

static int row_of(struct table *t, const struct agg *g, bool people)
{
    char (*row)[CTL_CELL] = table_add_row(t);

    if (!row)
        return ctl_fail(CTL_FAIL, "out of memory");
    snprintf(row[0], CTL_CELL, "%s", g->store);
    snprintf(row[1], CTL_CELL, "%s", scopes[g->scope].scope);
    snprintf(row[2], CTL_CELL, "%s", g->scope == 0 ? g->store
                                     : g->field + strlen(scopes[g->scope].prefix));
    snprintf(row[3], CTL_CELL, "%lld", g->chats);
    snprintf(row[4], CTL_CELL, "%lld", g->first);
    cell_ms(row[5], quantile(g->fh, 0.5), people);
    cell_ms(row[6], quantile(g->fh, 0.9), people);
    cell_share(row[7], g->rt30, g->replies, people);
    snprintf(row[8], CTL_CELL, "%lld", g->breaches);
    snprintf(row[9], CTL_CELL, "%lld", g->reassigned);
    snprintf(row[10], CTL_CELL, "%lld", g->sold);
    snprintf(row[11], CTL_CELL, "%lld", g->no_sale);
    cell_share(row[12], g->sold, g->sold + g->no_sale, people);
    snprintf(row[13], CTL_CELL, "%lld", g->ratings);
    if (g->ratings == 0)
        snprintf(row[14], CTL_CELL, "-");
    else
        snprintf(row[14], CTL_CELL, people ? "%.1f" : "%.4f",
                 (double)g->rating_sum / (double)g->ratings);
    snprintf(row[15], CTL_CELL, "%lld", g->guard_hits);
    snprintf(row[16], CTL_CELL, "%lld", g->transfers);
    snprintf(row[17], CTL_CELL, "%lld", g->escalations);
    return CTL_OK;
}

static int by_field(const void *a, const void *b)
{
    const struct agg *x = a, *y = b;
    int c = strcmp(x->store, y->store);

    if (c == 0)
        c = (x->scope > y->scope) - (x->scope < y->scope);
    return c ? c : strcmp(x->field, y->field);
}

/* Reads one store's day into a (pipelined: 24 HGETALLs). */
static int read_day(struct ctl *x, const char *store, long long day, struct aggs *a,
                    struct proto_arena *arena)
{
    int rc = CTL_OK;

    for (long long h = day * 24; h < day * 24 + 24; h++) {
        char k[256], hour[24];
        snprintf(hour, sizeof hour, "%lld", h);
        key(k, sizeof k, KEY_STATS, store, hour);
        const char *argv[] = { "HGETALL", k };
        redisAppendCommandArgv(x->link.c, 2, argv, NULL);
    }
    for (int i = 0; i < 24; i++) {
        redisReply *r = NULL;
        if (redisGetReply(x->link.c, (void **)&r) != REDIS_OK)
            return ctl_fail(CTL_REDIS, "lost Redis at %s: %s", link_where(&x->link),
                            x->link.c->errstr);
        for (size_t j = 0; rc == CTL_OK && r->type == REDIS_REPLY_ARRAY &&
                           j + 1 < r->elements; j += 2) {
            const char *f = r->element[j]->str;
            struct agg *g;
            size_t sc = scope_of(f);
            if (sc == NSCOPES || ((x->o.given & O_SHIFT) != 0) != (sc == 3))
                continue;               /* the shifts' rows with --shift, and only then */
            if ((x->o.given & O_AGENT) && (sc != 2 || strcmp(f + 2, x->o.agent)))
                continue;
            if ((x->o.given & O_SHIFT) && strcmp(f + 3, x->o.shift))
                continue;
            if (!(g = agg_get(a, store, f)))
                rc = ctl_fail(CTL_FAIL, "out of memory");
            else
                agg_add(g, r->element[j + 1]->str, r->element[j + 1]->len, arena);
        }
        freeReplyObject(r);
    }
    return rc;
}

int cmd_stats(struct ctl *x, const struct kind *unused, const char *id)
{
    struct table t = { 18, { "STORE", "SCOPE", "NAME", "CHATS", "FIRST", "FR_P50", "FR_P90",
                             "IN_30S", "BREACHES", "REASSIGNED", "SOLD", "NO_SALE",
                             "CONVERSION", "RATINGS", "RATING", "GUARD_HITS", "TRANSFERS",
                             "ESCALATIONS" },
                       { "store", "scope", "name", "chats", "first_responses", "fr_p50_ms",
                         "fr_p90_ms", "answered_30s", "breaches", "reassigned", "sold",
                         "no_sale", "conversion", "ratings", "rating_avg", "guard_hits",
                         "transfers", "escalations" },
                       { C_TEXT, C_TEXT, C_TEXT, C_INT, C_INT, C_INT, C_INT, C_NUM, C_INT,
                         C_INT, C_INT, C_INT, C_NUM, C_INT, C_NUM, C_INT, C_INT, C_INT } };
    bool people = !(x->o.given & (O_JSON | O_CSV));
    struct aggs a = { 0 };
    struct proto_arena arena;
    long long day;
    int rc;

    (void)unused; (void)id;
    if ((x->o.given & O_STORE)) {
        const struct cstore *st;
        if ((rc = ctl_need_stores(x)) != CTL_OK ||
            (rc = stores_pick(&x->stores, x->o.store, &st)) != CTL_OK)
            return rc;
    } else if ((rc = ctl_need_stores(x)) != CTL_OK) {
        return rc;
    }
    if (x->o.given & O_DAY) {
        day = day_number(x->o.day);
    } else {
        redisReply *r = link_callv(&x->link, "TIME", NULL);
        if (!r)
            return CTL_REDIS;
        day = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ?
              strtoll(r->element[0]->str, NULL, 10) / 86400 : 0;
        freeReplyObject(r);
    }
    if (proto_arena_init(&arena, 256, 1 << 16) != 0)
        return ctl_fail(CTL_FAIL, "out of memory");
    for (size_t s = 0; s < x->stores.n && rc == CTL_OK; s++)
        if (!(x->o.given & O_STORE) || strcmp(x->stores.v[s].id, x->o.store) == 0)
            rc = read_day(x, x->stores.v[s].id, day, &a, &arena);
    proto_arena_free(&arena);
    qsort(a.v, a.n, sizeof *a.v, by_field);     /* a store, its groups, its agents */
    for (size_t i = 0; i < a.n && rc == CTL_OK; i++)
        rc = row_of(&t, &a.v[i], people);
    free(a.v);
    if (rc != CTL_OK) {
        free(t.cells);
        return rc;
    }
    return table_print(x, &t, (x->o.given & O_SHIFT) ? "no statistics of that shift that day"
                                                      : "no statistics for that day");
}

/* ---- one chat ------------------------------------------------------------------ */

/* The chat's store and state (HMGET), or CTL_NOT_FOUND (reported). */
static int chat_find(struct ctl *x, const char *chat, char *store, size_t cap, bool *closed)
{
    char k[96];
    redisReply *r;

    key(k, sizeof k, KEY_CHAT, chat, NULL);
    if (!(r = link_callv(&x->link, "HMGET", k, "store", "state", NULL)))
        return CTL_REDIS;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return ctl_fail(CTL_NOT_FOUND, "no chat \"%s\" (never, or no longer kept)", chat);
    }
    snprintf(store, cap, "%s", r->element[0]->str);
    *closed = r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, "closed") == 0;
    freeReplyObject(r);
    return CTL_OK;
}

static const char *mstr(const struct proto_value *m, const char *k)
{
    const struct proto_value *v = proto_map_get(m, k);
    return v && v->type == PROTO_STR ? v->u.s : NULL;
}

static void when(char *out, size_t cap, long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, cap, "%lld", ms);
}

int cmd_chat_show(struct ctl *x, const struct kind *unused, const char *chat)
{
    static const struct proto_limits lim = { 3, 256, false };
    char store[CTL_ID_MAX + 1], from[24] = "1";
    struct proto_arena arena;
    struct proto_writer w;
    const struct proto_value *rec = NULL;
    redisReply **pages = NULL;
    size_t npages = 0, nmsg = 0;
    bool closed, people = !(x->o.given & (O_JSON | O_CSV)), json = x->o.given & O_JSON;
    int rc;

    (void)unused;
    if ((rc = chat_find(x, chat, store, sizeof store, &closed)) != CTL_OK)
        return rc;
    /* every page first (the replies stay alive), then one output; each
     * decode reuses the arena, so the record is written before the messages */
    for (;;) {
        const char *argv[] = { "EVAL", lua_floor, "0", "transcript", "0", chat, store, from, PAGE };
        redisReply *r = link_call(&x->link, 9, argv, NULL), **v;
        if (!r) {
            rc = CTL_REDIS;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
            r->element[2]->type != REDIS_REPLY_ARRAY ||
            !(v = realloc(pages, (npages + 1) * sizeof *pages))) {
            freeReplyObject(r);
            rc = ctl_fail(CTL_REDIS, "Redis at %s gave no transcript", link_where(&x->link));
            break;
        }
        pages = v;
        pages[npages++] = r;
        nmsg += r->element[2]->elements;
        long long next = r->element[1]->integer + (long long)r->element[2]->elements;
        if (r->element[2]->elements == 0 || next > r->element[3]->integer)
            break;
        snprintf(from, sizeof from, "%lld", next);
    }
    if (rc == CTL_OK && proto_arena_init(&arena, 4096, 1 << 20) != 0)
        rc = ctl_fail(CTL_FAIL, "out of memory");
    if (rc != CTL_OK)
        goto out;
    if (proto_decode(pages[0]->element[0]->str, pages[0]->element[0]->len, PROTO_MSGPACK, &lim,
                     &arena, &rec) != PROTO_OK)
        rec = NULL;
    proto_writer_init(&w, PROTO_JSON, 0);
    if (json) {
        proto_w_map(&w, 3);
        proto_w_key(&w, "chat");   proto_w_cstr(&w, chat);
        proto_w_key(&w, "record");
        if (rec)
            proto_w_value(&w, rec);
        else
            proto_w_nil(&w);
        proto_w_key(&w, "messages");
        proto_w_array(&w, (uint32_t)nmsg);
    } else if (people) {
        printf("chat       %s\n", chat);
        for (uint32_t i = 0; rec && i < rec->len; i++) {
            const struct proto_value *k = &rec->u.items[2 * i], *v = &rec->u.items[2 * i + 1];
            char t[32];
            if (v->type == PROTO_INT && (!strcmp(k->u.s, "created") || !strcmp(k->u.s, "closed") ||
                                         !strcmp(k->u.s, "assigned"))) {
                when(t, sizeof t, v->u.i);
                printf("%-10s %s UTC\n", k->u.s, t);
            } else if (v->type == PROTO_INT) {
                printf("%-10s %lld\n", k->u.s, (long long)v->u.i);
            } else if (v->type == PROTO_STR) {
                printf("%-10s %s\n", k->u.s, v->u.s);
            }
        }
        printf("\n");
    } else {
        printf("seq,ts,from,name,text,private\n");
    }
    for (size_t p = 0; p < npages; p++) {
        const redisReply *h = pages[p]->element[2];
        long long first = pages[p]->element[1]->integer;
        for (size_t k = 0; k < h->elements; k++) {
            const struct proto_value *m = NULL;
            long long seq = first + (long long)k;
            if (h->element[k]->type != REDIS_REPLY_STRING ||
                proto_decode(h->element[k]->str, h->element[k]->len, PROTO_MSGPACK, &lim,
                             &arena, &m) != PROTO_OK || m->type != PROTO_MAP) {
                if (json)
                    proto_w_nil(&w);
                continue;
            }
            const struct proto_value *ts = proto_map_get(m, "ts"), *pv = proto_map_get(m, "private");
            bool priv = pv && pv->type == PROTO_BOOL && pv->u.b;
            const char *fr = mstr(m, "from"), *name = mstr(m, "name"), *text = mstr(m, "text");
            if (json) {
                proto_w_map(&w, m->len + 1);
                proto_w_key(&w, "seq");
                proto_w_int(&w, seq);
                for (uint32_t i = 0; i < m->len; i++) {
                    proto_w_key(&w, m->u.items[2 * i].u.s);
                    proto_w_value(&w, &m->u.items[2 * i + 1]);
                }
            } else if (people) {
                char t[32] = "";
                if (ts && ts->type == PROTO_INT)
                    when(t, sizeof t, ts->u.i);
                printf("%4lld  %s  %s%s%s%s: %s\n", seq, t, fr ? fr : "?",
                       name ? " (" : "", name ? name : "", name ? ")" : "", text ? text : "");
                if (priv)
                    printf("      (private: never shown to the buyer)\n");
            } else {
                printf("%lld,%lld,", seq, ts && ts->type == PROTO_INT ? (long long)ts->u.i : 0);
                for (int c = 0; c < 3; c++) {
                    const char *v = c == 0 ? fr : c == 1 ? name : text;
                    csv_cell(v ? v : "");
                    putchar(',');
                }
                printf("%s\n", priv ? "yes" : "no");
            }
        }
    }
    if (json) {
        if (w.err)
            rc = ctl_fail(CTL_FAIL, "out of memory");
        else
            printf("%.*s\n", (int)w.len, proto_writer_data(&w));
    }
    proto_writer_free(&w);
    proto_arena_free(&arena);
    if (rc == CTL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = ctl_fail(CTL_FAIL, "could not write to stdout");
out:
    for (size_t p = 0; p < npages; p++)
        freeReplyObject(pages[p]);
    free(pages);
    return rc;
}

int cmd_chat_close(struct ctl *x, const struct kind *unused, const char *chat)
{
    char store[CTL_ID_MAX + 1], now[24], ttl[24];
    long long ms;
    bool closed;
    redisReply *r;
    int rc;

    (void)unused;
    if ((rc = chat_find(x, chat, store, sizeof store, &closed)) != CTL_OK)
        return rc;
    if (closed) {
        fprintf(stderr, "chatgwctl: chat %s was closed already\n", chat);
        return CTL_OK;
    }
    if (!(r = link_callv(&x->link, "TIME", NULL)))
        return CTL_REDIS;
    ms = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ?
         strtoll(r->element[0]->str, NULL, 10) * 1000 + strtoll(r->element[1]->str, NULL, 10) / 1000
         : 0;
    freeReplyObject(r);
    snprintf(now, sizeof now, "%lld", ms);
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)(x->have_cfg ? x->cfg.transcript_ttl_ms
                                                           : 90ULL * 86400 * 1000));
    /* router.lua "supervise close": the buyer and the agent are told */
    const char *argv[] = { "EVAL", lua_router, "0", "supervise", now, "chatgwctl", "close", chat,
                           store, ttl, "50", "", "0" };
    if (!(r = link_call(&x->link, 13, argv, NULL)))
        return CTL_REDIS;
    freeReplyObject(r);
    printf("chat %s closed\n", chat);
    return CTL_OK;
}
