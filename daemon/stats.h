/*
 * stats.h - response times into the hourly statistics, batched.
 *
 * append.lua times an agent's answer (from the oldest buyer message it
 * answers); the node that wrote it adds the time here. Every stats_flush
 * the counts go to Redis in one stats.lua call per store and hour: per
 * field ('s' the store, 'g:GROUP', 'a:AGENT', 'sh:SHIFT' the store's shift
 * in progress, if it has shifts) a msgpack map of counters
 * and histograms. Batching keeps the cost off the message path: a
 * relayed message pays nothing, a flush costs two commands per field that
 * moved. A node killed loses at most stats_flush of response times.
 *
 * The counters (STATS_MAP): replies, rt_sum (ms), rt30 (answered within
 * 30 s), first (first responses), first_sum, first30; the histograms rh
 * (every response) and fh (first responses) count responses in buckets
 * of STATS_BUCKETS_MS upper bounds, the last one open.
 *
 * API: stats_response, stats_flush, stats_init, stats_stop,
 *      STATS_BUCKETS_MS, STATS_NBUCKETS.
 */
#ifndef CHATGW_STATS_H
#define CHATGW_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define STATS_BUCKETS_MS 5000, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 300000
#define STATS_NBUCKETS 11          /* the ten bounds and the open one */

/* An agent of store answered a chat of group after rt_ms (first: the
 * chat's first human answer), at wall time now_ms. */
void stats_response(const char *store, const char *group, const char *agent, int64_t rt_ms,
                    bool first, uint64_t now_ms);
/* Sends what was counted since the last flush. */
void stats_flush(void);
void stats_init(void);
void stats_stop(void);

#endif
