/*
 * metrics.h - counters and gauges for /metrics (Prometheus text format).
 *
 * Plain integers bumped in place by the module that sees the event; the
 * loop is single-threaded so no atomics. One histogram: the time from a
 * buyer message arriving to its ack (the store round trip).
 *
 * API: metrics (the struct), metrics_observe_ack, metrics_render.
 */
#ifndef CHATGW_METRICS_H
#define CHATGW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "roles.h"

#define METRICS_ACK_BUCKETS 10

/* One queue's gauges, as last read from Redis (floor.c). */
struct metrics_queue {
    char store[65], group[65];
    uint64_t queued;
    uint64_t oldest_wait_ms;       /* of the chat at the head; 0 when empty */
};

struct metrics {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t errors[CG_E__COUNT];
    uint64_t closes[CLOSE__COUNT];
    uint64_t sessions_opened[ROLE__COUNT];
    int64_t sessions[ROLE__COUNT];
    uint64_t chats_created, chats_resumed, greetings, holds, msgs_stored;
    uint64_t breaches, reassigned;     /* clock steps this node ran */
    uint64_t accept_errors;
    uint64_t origin_refused;       /* desk upgrades refused for their Origin */
    uint64_t signals_dropped;      /* typing/read frames over signal_rate */
    uint64_t assignments, events_in, logins, login_failures, relayed;
    uint64_t redis_reconnects;
    int redis_up;
    uint64_t ack_bucket[METRICS_ACK_BUCKETS + 1]; /* last one: +Inf */
    double ack_sum_s;
    uint64_t ack_count;
    struct metrics_queue *queues;  /* every configured queue; NULL until read */
    size_t nqueues;
};

extern struct metrics metrics;

void metrics_observe_ack(uint64_t usec);
/* Renders into a malloc'ed buffer; returns it (caller frees) and its length. */
char *metrics_render(size_t *len);

#endif
