/*
 * stats.c - response times into the hourly statistics (see stats.h).
 *
 * Counts wait in a small chained hash table keyed by (hour, store, field)
 * until the flush timer; each entry is one field of one hour's hash. The
 * table is emptied at every flush, so it holds at most the fields that
 * moved in one stats_flush. A flush sends the fields of one store and hour
 * in one stats.lua call (STORE_STATS_BATCH at most): with a thousand agents
 * answering, a call per field was a thousand calls a second.
 *
 * API: see stats.h.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "codec.h"
#include "config.h"
#include "gw.h"
#include "log.h"
#include "shift.h"
#include "stats.h"
#include "store.h"

#define STATS_SLOTS 1024           /* chains; a power of two */
#define FIELD_MAX (2 + CONFIG_ID_MAX)

enum { C_REPLIES, C_RT_SUM, C_RT30, C_FIRST, C_FIRST_SUM, C_FIRST30, C__COUNT };
static const char *const counter_name[C__COUNT] = { "replies", "rt_sum", "rt30", "first",
                                                     "first_sum", "first30" };
static const int64_t bucket_ms[STATS_NBUCKETS - 1] = { STATS_BUCKETS_MS };

struct entry {
    struct entry *next;
    uint64_t hour;
    char store[CONFIG_ID_MAX + 1];
    char field[FIELD_MAX + 1];
    int64_t c[C__COUNT];
    int64_t rh[STATS_NBUCKETS], fh[STATS_NBUCKETS];
};

static struct {
    struct entry *slot[STATS_SLOTS];
    size_t count;
    uv_timer_t timer;
    bool started;
} T;

static uint32_t hash(uint64_t hour, const char *store, const char *field)
{
    uint32_t h = 2166136261u ^ (uint32_t)hour;

    for (const char *p = store; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ '|') * 16777619u;
    for (const char *p = field; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static struct entry *entry_get(uint64_t hour, const char *store, const char *field)
{
    struct entry **sl = &T.slot[hash(hour, store, field) & (STATS_SLOTS - 1)], *e;

    for (e = *sl; e; e = e->next)
        if (e->hour == hour && strcmp(e->store, store) == 0 && strcmp(e->field, field) == 0)
            return e;
    if (strlen(store) > CONFIG_ID_MAX || strlen(field) > FIELD_MAX || !(e = calloc(1, sizeof *e)))
        return NULL;
    e->hour = hour;
    memcpy(e->store, store, strlen(store) + 1);
    memcpy(e->field, field, strlen(field) + 1);
    e->next = *sl;
    *sl = e;
    T.count++;
    return e;
}

static int bucket(int64_t ms)
{
    int i = 0;

    while (i < STATS_NBUCKETS - 1 && ms > bucket_ms[i])
        i++;
    return i;
}

/* The store's shift in progress at now: the latest started of the spans
 * that cover it (router.lua's shift_now picks the same), or NULL. */
static const char *shift_now(const char *store, uint64_t now_ms)
{
    const struct store_conf *st = config_find_store(gw.cfg, store);
    struct shift_span sp[8];
    const char *best = NULL;
    int64_t best_s = 0;

    if (!st || !st->plan)
        return NULL;
    size_t n = shift_spans(st->plan, (int64_t)now_ms, (int64_t)now_ms + 1, sp, 8);
    for (size_t i = 0; i < n; i++)
        if (sp[i].s <= (int64_t)now_ms && (int64_t)now_ms < sp[i].e && (!best || sp[i].s > best_s)) {
            best = sp[i].name;
            best_s = sp[i].s;
        }
    return best;
}

void stats_response(const char *store, const char *group, const char *agent, int64_t rt_ms,
                    bool first, uint64_t now_ms)
{
    char fields[4][FIELD_MAX + 1];
    uint64_t hour = now_ms / 3600000;
    int b = bucket(rt_ms), nfields = 3;
    const char *sh = shift_now(store, now_ms);

    snprintf(fields[0], sizeof fields[0], "s");
    snprintf(fields[1], sizeof fields[1], "g:%s", group);
    snprintf(fields[2], sizeof fields[2], "a:%s", agent);
    if (sh)
        snprintf(fields[nfields++], sizeof fields[0], "sh:%s", sh);
    for (int i = 0; i < nfields; i++) {
        struct entry *e = entry_get(hour, store, fields[i]);
        if (!e)
            continue;
        e->c[C_REPLIES]++;
        e->c[C_RT_SUM] += rt_ms;
        e->c[C_RT30] += rt_ms <= 30000;
        e->rh[b]++;
        if (first) {
            e->c[C_FIRST]++;
            e->c[C_FIRST_SUM] += rt_ms;
            e->c[C_FIRST30] += rt_ms <= 30000;
            e->fh[b]++;
        }
    }
}

static void put_hist(struct proto_writer *w, const char *name, const int64_t *h)
{
    proto_w_key(w, name);
    proto_w_array(w, STATS_NBUCKETS);
    for (int i = 0; i < STATS_NBUCKETS; i++)
        proto_w_int(w, h[i]);
}

/* One entry's counts as a msgpack map of increments. */
static void encode(struct proto_writer *w, const struct entry *e)
{
    proto_writer_reset(w, PROTO_MSGPACK);
    proto_w_map(w, C__COUNT + 2);
    for (int i = 0; i < C__COUNT; i++) {
        proto_w_key(w, counter_name[i]);
        proto_w_int(w, e->c[i]);
    }
    put_hist(w, "rh", e->rh);
    put_hist(w, "fh", e->fh);
}

/* buf grown to hold at least need bytes (*cap updated); NULL (and buf
 * freed) when there is no memory. */
static char *grow(char *buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 1024;
    char *nb;

    while (c < need)
        c *= 2;
    if (!(nb = realloc(buf, c))) {
        free(buf);
        *cap = 0;
        return NULL;
    }
    *cap = c;
    return nb;
}

/* Takes out of list *todo the entries of e's store and hour (e first), at
 * most STORE_STATS_BATCH, into out; returns how many. */
static size_t take_batch(struct entry **todo, struct entry **out)
{
    struct entry *e = *todo, **pp = todo;
    size_t n = 0;

    while (*pp && n < STORE_STATS_BATCH) {
        struct entry *x = *pp;
        if (x->hour == e->hour && strcmp(x->store, e->store) == 0) {
            *pp = x->next;
            out[n++] = x;
        } else {
            pp = &x->next;
        }
    }
    return n;
}

/* Sends every entry: the fields of one store and hour go in one call (a
 * flush is as many calls as stores and hours, give or take
 * STORE_STATS_BATCH fields, not one per agent), then empties the table. */
void stats_flush(void)
{
    struct proto_writer w;
    struct entry *todo = NULL, *batch[STORE_STATS_BATCH];
    const char *fields[STORE_STATS_BATCH], *incs[STORE_STATS_BATCH];
    size_t lens[STORE_STATS_BATCH], offs[STORE_STATS_BATCH], n, used, cap = 0;
    char *buf = NULL;

    if (T.count == 0)
        return;
    for (size_t i = 0; i < STATS_SLOTS; i++) {
        struct entry *e = T.slot[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = todo;
            todo = e;
        }
        T.slot[i] = NULL;
    }
    T.count = 0;
    proto_writer_init(&w, PROTO_MSGPACK, 0);
    while (todo) {
        bool ok = true;
        n = take_batch(&todo, batch);
        used = 0;
        for (size_t i = 0; i < n && ok; i++) {
            encode(&w, batch[i]);
            if (w.err || (used + w.len > cap && !(buf = grow(buf, &cap, used + w.len)))) {
                ok = false;
                break;
            }
            memcpy(buf + used, proto_writer_data(&w), w.len);
            offs[i] = used;
            lens[i] = w.len;
            used += w.len;
        }
        for (size_t i = 0; i < n && ok; i++) {
            fields[i] = batch[i]->field;
            incs[i] = buf + offs[i];
        }
        if (!ok || store_stats_add(batch[0]->store, batch[0]->hour, n, fields, incs, lens) != 0)
            log_warn("stats_lost", "store=%s fields=%zu reason=%s", batch[0]->store, n,
                     ok ? "redis_unavailable" : "no_memory");
        for (size_t i = 0; i < n; i++)
            free(batch[i]);
    }
    free(buf);
    proto_writer_free(&w);
}

static void on_flush(uv_timer_t *t)
{
    (void)t;
    stats_flush();
}

void stats_init(void)
{
    uv_timer_init(gw.loop, &T.timer);
    uv_timer_start(&T.timer, on_flush, gw.cfg->stats_flush_ms, gw.cfg->stats_flush_ms);
    T.started = true;
}

void stats_stop(void)
{
    if (!T.started)
        return;
    stats_flush();
    uv_timer_stop(&T.timer);
    uv_close((uv_handle_t *)&T.timer, NULL);
    T.started = false;
}
