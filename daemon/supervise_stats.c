/*
 * supervise_stats.c - the supervisors' `stats` event: a small summary of
 * each of their stores (the queue, today's chats and first responses, the
 * share answered within 30 s, breaches, escalations), sent at most once a
 * second and only when it changed (proto/PROTOCOL.md §8.2).
 *
 * A store is watched here while a supervisor logged in on this node shows
 * it (session_supervisor.c calls sup_stats_watch and sup_stats_unwatch as
 * it holds and lets go of the store's floor channel). While any store is
 * watched a one-second timer runs: each tick is one floor.lua "summary"
 * call for every watched store, and a store's summary goes to its
 * supervisors here when it differs from the last one sent (a new
 * supervisor of the store gets the next one, changed or not). With no
 * supervisor logged in there is no timer and no call
 * (chatgw_floor_summaries_total counts them). The numbers are read from
 * Redis, so every node sends the same; today's come from the hourly
 * statistics, so they move at each stats_flush.
 *
 * API: sup_stats_watch, sup_stats_unwatch, sup_stats_stop (supervisor.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "db.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "supervisor.h"

#define STATS_EVERY_MS 1000             /* the protocol's "at most once a second" */
/* The timer runs on the loop's monotonic clock while `at` is the wall
 * clock, each rounded to the millisecond on its own: ticks 1000 ms apart
 * on one can read 999 on the other. The margin keeps two summaries' `at`
 * a full second apart. */
#define STATS_TICK_MS (STATS_EVERY_MS + 2)

/* floor.lua's integers, in its order. */
enum { F_QUEUED, F_OLDEST, F_CHATS, F_FR_P50, F_FR_P50_HOUR, F_REPLIES, F_RT30, F_BREACHES,
       F_ESCALATIONS, F__COUNT };
_Static_assert(F__COUNT == STORE_SUMMARY_FIELDS, "floor.lua summary's fields");

/* The integer fields of the frame, in its order; optional: absent when < 0. */
static const struct { const char *name; int f; bool optional; } frame_fields[] = {
    { "queued", F_QUEUED, false },          { "oldest_wait_ms", F_OLDEST, false },
    { "chats", F_CHATS, false },            { "fr_p50_ms", F_FR_P50, true },
    { "fr_p50_ms_hour", F_FR_P50_HOUR, true },
    { "breaches", F_BREACHES, false },      { "escalations", F_ESCALATIONS, false },
};
#define NFRAME (sizeof frame_fields / sizeof frame_fields[0])

struct watched {
    char store[CONFIG_ID_MAX + 1];
    unsigned n;                         /* the supervisors here who show it */
    bool sent;                          /* last[] was sent (and nobody new came since) */
    int64_t last[F__COUNT];
};

static struct {
    struct watched *v;
    size_t n;
    uv_timer_t *tick;                   /* while v is not empty */
    bool asking;
} W;

/* The stores asked, in the order of the reply, and when. */
struct summary_req {
    uint64_t at;
    int n;
    char store[][CONFIG_ID_MAX + 1];
};

static struct watched *find(const char *store)
{
    for (size_t i = 0; i < W.n; i++)
        if (strcmp(W.v[i].store, store) == 0)
            return &W.v[i];
    return NULL;
}

static bool shows(const struct sup *p, const char *store)
{
    for (size_t i = 0; i < p->nlistening; i++)
        if (strcmp(p->listening[i], store) == 0)
            return true;
    return false;
}

static void send_summary(const char *store, uint64_t at, const int64_t *v)
{
    for (struct sup *p = sup_first(); p; p = p->next) {
        struct proto_writer *w;
        uint32_t n = 4 + (v[F_REPLIES] > 0);

        if (!p->logged_in || !session_alive(p->s) || !shows(p, store))
            continue;
        for (size_t i = 0; i < NFRAME; i++)
            n += !frame_fields[i].optional || v[frame_fields[i].f] >= 0;
        w = session_writer(p->s);
        proto_w_map(w, n);
        proto_w_key(w, "t");     proto_w_cstr(w, "event");
        proto_w_key(w, "kind");  proto_w_cstr(w, "stats");
        proto_w_key(w, "store"); proto_w_cstr(w, store);
        proto_w_key(w, "at");    proto_w_int(w, (int64_t)at);
        for (size_t i = 0; i < NFRAME; i++)
            if (!frame_fields[i].optional || v[frame_fields[i].f] >= 0) {
                proto_w_key(w, frame_fields[i].name);
                proto_w_int(w, v[frame_fields[i].f]);
            }
        if (v[F_REPLIES] > 0) {
            proto_w_key(w, "within_30s");
            proto_w_float(w, (double)v[F_RT30] / (double)v[F_REPLIES]);
        }
        sup_emit(p, w);
    }
}

static void on_summary(void *ud, redisReply *r)
{
    struct summary_req *q = ud;

    W.asking = false;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_warn("floor_summary_failed", "error=%s", r->str);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)q->n * F__COUNT) {
        free(q);
        return;
    }
    for (int s = 0; s < q->n; s++) {
        struct watched *x = find(q->store[s]);
        int64_t v[F__COUNT];

        for (int f = 0; f < F__COUNT; f++) {
            const redisReply *e = r->element[(size_t)s * F__COUNT + (size_t)f];
            v[f] = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
        }
        if (!x || (x->sent && memcmp(x->last, v, sizeof v) == 0))
            continue;                   /* gone meanwhile, or nothing new */
        memcpy(x->last, v, sizeof v);
        x->sent = true;
        send_summary(x->store, q->at, v);
    }
    free(q);
}

static void on_tick(uv_timer_t *t)
{
    const char *stores[STORE_SNAPSHOT_STORES_MAX];
    struct summary_req *q;
    int n = W.n < STORE_SNAPSHOT_STORES_MAX ? (int)W.n : STORE_SNAPSHOT_STORES_MAX;

    (void)t;
    if (W.asking || n == 0 || !db_ready())
        return;                         /* one read at a time; none while Redis is down */
    if (!(q = malloc(sizeof *q + (size_t)n * sizeof q->store[0])))
        return;
    q->at = gw_wall_ms();
    q->n = n;
    for (int i = 0; i < n; i++) {
        memcpy(q->store[i], W.v[i].store, sizeof q->store[i]);
        stores[i] = q->store[i];
    }
    if (store_floor_summary(n, stores, q->at, on_summary, q) != 0) {
        free(q);
        return;
    }
    W.asking = true;
    metrics.floor_summaries++;
}

static void on_tick_closed(uv_handle_t *h)
{
    free(h);
}

void sup_stats_watch(const char *store)
{
    struct watched *x = find(store), *v;

    if (x) {
        x->n++;
        x->sent = false;                /* the newcomer gets the next one */
        return;
    }
    if (!W.tick) {
        if (!(W.tick = malloc(sizeof *W.tick)))
            return;
        uv_timer_init(gw.loop, W.tick);
        uv_timer_start(W.tick, on_tick, STATS_TICK_MS, STATS_TICK_MS);
    }
    if (!(v = realloc(W.v, (W.n + 1) * sizeof *W.v))) {
        log_warn("floor_summary_lost", "store=%s reason=no_memory", store);
        return;                         /* the timer stops with the last store */
    }
    W.v = v;
    x = &W.v[W.n++];
    memset(x, 0, sizeof *x);
    snprintf(x->store, sizeof x->store, "%s", store);
    x->n = 1;
}

void sup_stats_unwatch(const char *store)
{
    struct watched *x = find(store);

    if (!x || --x->n > 0)
        return;
    *x = W.v[--W.n];
    if (W.n == 0 && W.tick) {
        uv_timer_stop(W.tick);
        uv_close((uv_handle_t *)W.tick, on_tick_closed);
        W.tick = NULL;
    }
}

void sup_stats_stop(void)
{
    if (W.tick) {
        uv_timer_stop(W.tick);
        uv_close((uv_handle_t *)W.tick, on_tick_closed);
    }
    free(W.v);
    memset(&W, 0, sizeof W);
}
