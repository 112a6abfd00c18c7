/*
 * floor.c - the queues as the floor sees them, read from Redis on a timer
 * (see floor.h).
 *
 * Every node_heartbeat, one floor.lua "queues" step reads, for each store
 * and group of this node's config, the queue's length and the age of the
 * chat at its head; the answer replaces metrics.queues in one piece, so a
 * scrape sees one read, never half of two. The queues are shared by every
 * node, so every node shows the same numbers (to within a heartbeat); a
 * scrape itself never waits on Redis. While Redis is down the last numbers
 * stay (chatgw_redis_up says they are stale). Cost: one script call per
 * heartbeat, O(queues) in Redis.
 *
 * API: floor_start, floor_stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "config.h"
#include "db.h"
#include "floor.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

static struct {
    uv_timer_t tick;
    bool started, asking;
} F;

/* The queues asked for, in the order of the reply. */
struct queues_req {
    int n;
    struct metrics_queue q[];
};

static void on_queues(void *ud, redisReply *r)
{
    struct queues_req *q = ud;

    F.asking = false;
    if (!F.started || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 * (size_t)q->n) {
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warn("floor_read_failed", "error=%s", r->str);
        free(q);
        return;
    }
    for (int i = 0; i < q->n; i++) {
        const redisReply *n = r->element[2 * i], *w = r->element[2 * i + 1];
        q->q[i].queued = n->type == REDIS_REPLY_INTEGER && n->integer > 0 ? (uint64_t)n->integer : 0;
        q->q[i].oldest_wait_ms = w->type == REDIS_REPLY_INTEGER && w->integer > 0 ?
                                 (uint64_t)w->integer : 0;
    }
    free(metrics.queues);
    metrics.queues = malloc((size_t)q->n * sizeof *metrics.queues);
    metrics.nqueues = metrics.queues ? (size_t)q->n : 0;
    if (metrics.queues)
        memcpy(metrics.queues, q->q, (size_t)q->n * sizeof *metrics.queues);
    free(q);
}

static void on_tick(uv_timer_t *t)
{
    const struct config *c = gw.cfg;
    const char *pairs[2 * STORE_QUEUES_MAX];
    struct queues_req *q;
    int n = 0;

    (void)t;
    if (F.asking || !db_ready())
        return;                         /* one read at a time; none while down */
    for (size_t s = 0; s < c->nstores; s++)
        n += c->stores[s].ngroups;
    if (n == 0 || !(q = calloc(1, sizeof *q + (size_t)n * sizeof q->q[0])))
        return;
    for (size_t s = 0; s < c->nstores; s++)
        for (int g = 0; g < c->stores[s].ngroups && q->n < STORE_QUEUES_MAX; g++, q->n++) {
            snprintf(q->q[q->n].store, sizeof q->q[0].store, "%s", c->stores[s].id);
            snprintf(q->q[q->n].group, sizeof q->q[0].group, "%s", c->stores[s].groups[g]);
            pairs[2 * q->n] = q->q[q->n].store;
            pairs[2 * q->n + 1] = q->q[q->n].group;
        }
    if (store_queue_stats(q->n, pairs, on_queues, q) != 0) {
        free(q);
        return;
    }
    F.asking = true;
}

int floor_start(void)
{
    uv_timer_init(gw.loop, &F.tick);
    uv_timer_start(&F.tick, on_tick, gw.cfg->node_heartbeat_ms, gw.cfg->node_heartbeat_ms);
    F.started = true;
    return 0;
}

void floor_stop(void)
{
    if (!F.started)
        return;
    F.started = false;
    uv_timer_stop(&F.tick);
    uv_close((uv_handle_t *)&F.tick, NULL);
    free(metrics.queues);
    metrics.queues = NULL;
    metrics.nqueues = 0;
}
