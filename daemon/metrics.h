/*
 * metrics.h - counters and gauges for /metrics (Prometheus text format).
 *
 * Plain integers bumped in place by the module that sees the event; the
 * loop is single-threaded so no atomics. One histogram: the time from a
 * buyer message arriving to its ack (the store round trip).
 *
 * The floor's numbers are counted per store and group (struct metrics_sg,
 * never per chat, buyer or agent: the labels stay as few as the config's
 * queues): first responses (a histogram around the 30-second promise),
 * answers to a waiting buyer and those within 30 s, breaches, holding
 * replies, reassignments and escalations. Each is counted once, by the node that learns it (the
 * agent's node from append's reply, the node whose clock step or plugin
 * ran the script), so the sum over the nodes' scrapes is the gateway's.
 *
 * API: metrics (the struct), metrics_observe_ack, metrics_sg,
 *      metrics_observe_answer, metrics_more, metrics_render, metrics_close.
 */
#ifndef CHATGW_METRICS_H
#define CHATGW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "roles.h"

#define METRICS_ACK_BUCKETS 10
#define METRICS_FR_BUCKETS 8       /* first response: 1 5 10 20 30 60 120 300 s */
#define METRICS_SG_MAX 1024        /* store/group pairs counted (the config's, and
                                      any a reply names); past it, uncounted */

/* One queue's gauges, as last read from Redis (floor.c). */
struct metrics_queue {
    char store[65], group[65];
    uint64_t queued;
    uint64_t oldest_wait_ms;       /* of the chat at the head; 0 when empty */
};

/* The floor's counters of one store and group. */
struct metrics_sg {
    char store[65], group[65];
    uint64_t fr_bucket[METRICS_FR_BUCKETS + 1]; /* last one: +Inf */
    double fr_sum_s;
    uint64_t fr_count;
    uint64_t answers, answers_30s;     /* agent answers to a waiting buyer */
    uint64_t breaches, escalations;
    uint64_t holds, reassigned;        /* by this node's clock steps */
};

struct metrics {
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t errors[CG_E__COUNT];
    uint64_t closes[CLOSE__COUNT];
    uint64_t sessions_opened[ROLE__COUNT];
    int64_t sessions[ROLE__COUNT];
    uint64_t chats_created, chats_resumed, greetings, msgs_stored;
    uint64_t accept_errors;
    uint64_t origin_refused;       /* desk upgrades refused for their Origin */
    uint64_t signals_dropped;      /* typing/read frames over signal_rate */
    uint64_t assignments, events_in, logins, login_failures, relayed;
    uint64_t redis_reconnects;
    uint64_t floor_summaries;      /* floor.lua summary calls (supervisors here) */
    int redis_up;
    uint64_t ack_bucket[METRICS_ACK_BUCKETS + 1]; /* last one: +Inf */
    double ack_sum_s;
    uint64_t ack_count;
    struct metrics_queue *queues;  /* every configured queue; NULL until read */
    size_t nqueues;
    struct metrics_sg *sg;         /* by store and group, in the order first seen */
    size_t nsg, capsg;
};

extern struct metrics metrics;

void metrics_observe_ack(uint64_t usec);
/* The counters of store/group, made at 0 when new; NULL when either is
 * empty or too long, or METRICS_SG_MAX pairs exist. */
struct metrics_sg *metrics_sg(const char *store, const char *group);
/* An agent of store answered a waiting buyer of group after rt_ms; first:
 * the chat's first human answer (into the first-response histogram). */
void metrics_observe_answer(const char *store, const char *group, int64_t rt_ms, bool first);
/* More families at the end of every scrape (the plugins' hook times): a
 * malloc'ed text the render frees, or NULL. Registered from above, so that
 * any module may count here without an include cycle. */
typedef char *metrics_text_fn(void);
void metrics_more(metrics_text_fn *fn);
/* Renders into a malloc'ed buffer; returns it (caller frees) and its length. */
char *metrics_render(size_t *len);
/* Frees the per-store-and-group counters. */
void metrics_close(void);

#endif
