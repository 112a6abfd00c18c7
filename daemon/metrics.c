/*
 * metrics.c - renders struct metrics as Prometheus text exposition.
 * API: see metrics.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "plugin.h"

struct metrics metrics;

static const double ack_le_s[METRICS_ACK_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0
};

static const char *const close_names[] = {
#define CR_NAME(name, str) str,
    CLOSE_REASON_MAP(CR_NAME)
#undef CR_NAME
};

static const char *const role_names[] = {
#define ROLE_NAME(name, str) str,
    ROLE_MAP(ROLE_NAME)
#undef ROLE_NAME
};

void metrics_observe_ack(uint64_t usec)
{
    double s = (double)usec / 1e6;
    int i;

    for (i = 0; i < METRICS_ACK_BUCKETS && s > ack_le_s[i]; i++)
        ;
    metrics.ack_bucket[i]++;
    metrics.ack_sum_s += s;
    metrics.ack_count++;
}

struct buf { char *p; size_t len, cap; };

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return;
        b->p = np;
        b->cap = cap;
    }
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
    put(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
        (unsigned long long)v);
}

char *metrics_render(size_t *len)
{
    struct buf b = { 0 };
    uint64_t cum = 0;
    int i;

    put(&b, "# HELP chatgw_redis_up 1 when the Redis link is ready.\n"
            "# TYPE chatgw_redis_up gauge\nchatgw_redis_up %d\n", metrics.redis_up);
    put(&b, "# HELP chatgw_sessions Open WebSocket sessions.\n# TYPE chatgw_sessions gauge\n");
    for (i = 0; i < ROLE__COUNT; i++)
        put(&b, "chatgw_sessions{role=\"%s\"} %lld\n", role_names[i], (long long)metrics.sessions[i]);
    put(&b, "# HELP chatgw_sessions_opened_total Sessions accepted.\n"
            "# TYPE chatgw_sessions_opened_total counter\n");
    for (i = 0; i < ROLE__COUNT; i++)
        put(&b, "chatgw_sessions_opened_total{role=\"%s\"} %llu\n", role_names[i],
            (unsigned long long)metrics.sessions_opened[i]);
    counter(&b, "chatgw_frames_in_total", "Frames received.", metrics.frames_in);
    counter(&b, "chatgw_frames_out_total", "Frames sent.", metrics.frames_out);
    counter(&b, "chatgw_bytes_in_total", "Frame bytes received.", metrics.bytes_in);
    counter(&b, "chatgw_bytes_out_total", "Frame bytes sent.", metrics.bytes_out);
    counter(&b, "chatgw_chats_created_total", "New chats.", metrics.chats_created);
    counter(&b, "chatgw_chats_resumed_total", "Chats resumed.", metrics.chats_resumed);
    counter(&b, "chatgw_greetings_total", "Auto-greetings sent.", metrics.greetings);
    counter(&b, "chatgw_holds_total", "Holding replies sent by this node's clock steps.", metrics.holds);
    counter(&b, "chatgw_breaches_total", "Chats left unanswered past breach_after (found by this node).",
            metrics.breaches);
    counter(&b, "chatgw_reassigned_total", "Unanswered chats moved to another agent by this node.",
            metrics.reassigned);
    counter(&b, "chatgw_msgs_stored_total", "Messages acknowledged as stored.", metrics.msgs_stored);
    counter(&b, "chatgw_assignments_total", "Chats this node handed to agents.", metrics.assignments);
    counter(&b, "chatgw_events_total", "Routing events received from Redis.", metrics.events_in);
    counter(&b, "chatgw_logins_total", "Agent logins.", metrics.logins);
    counter(&b, "chatgw_login_failures_total", "Refused agent logins.", metrics.login_failures);
    counter(&b, "chatgw_relayed_total", "Messages relayed to the other side of a chat.", metrics.relayed);
    counter(&b, "chatgw_accept_errors_total", "Connections that could not be accepted (out of files, adopt failed).", metrics.accept_errors);
    counter(&b, "chatgw_origin_refused_total", "Agent/supervisor upgrades refused (403) for a "
            "browser Origin not allowed.", metrics.origin_refused);
    counter(&b, "chatgw_signals_dropped_total", "typing and read frames dropped over signal_rate.",
            metrics.signals_dropped);
    counter(&b, "chatgw_redis_reconnects_total", "Times the Redis link became ready.",
            metrics.redis_reconnects);
    put(&b, "# HELP chatgw_errors_total Error frames sent, by code.\n"
            "# TYPE chatgw_errors_total counter\n");
    for (i = 1; i < CG_E__COUNT; i++)
        put(&b, "chatgw_errors_total{code=\"%s\"} %llu\n", cg_err_code((enum cg_err)i),
            (unsigned long long)metrics.errors[i]);
    put(&b, "# HELP chatgw_closes_total Sessions closed by the gateway, by reason.\n"
            "# TYPE chatgw_closes_total counter\n");
    for (i = 0; i < CLOSE__COUNT; i++)
        put(&b, "chatgw_closes_total{reason=\"%s\"} %llu\n", close_names[i],
            (unsigned long long)metrics.closes[i]);
    put(&b, "# HELP chatgw_ack_seconds Buyer message to ack (store round trip).\n"
            "# TYPE chatgw_ack_seconds histogram\n");
    for (i = 0; i < METRICS_ACK_BUCKETS; i++) {
        cum += metrics.ack_bucket[i];
        put(&b, "chatgw_ack_seconds_bucket{le=\"%g\"} %llu\n", ack_le_s[i], (unsigned long long)cum);
    }
    cum += metrics.ack_bucket[METRICS_ACK_BUCKETS];
    put(&b, "chatgw_ack_seconds_bucket{le=\"+Inf\"} %llu\nchatgw_ack_seconds_sum %.6f\n"
            "chatgw_ack_seconds_count %llu\n", (unsigned long long)cum, metrics.ack_sum_s,
        (unsigned long long)metrics.ack_count);
    if (metrics.nqueues) {
        put(&b, "# HELP chatgw_queued_chats Chats waiting for an agent, by store and group "
                "(read from Redis every node_heartbeat).\n# TYPE chatgw_queued_chats gauge\n");
        for (size_t q = 0; q < metrics.nqueues; q++)
            put(&b, "chatgw_queued_chats{store=\"%s\",group=\"%s\"} %llu\n",
                metrics.queues[q].store, metrics.queues[q].group,
                (unsigned long long)metrics.queues[q].queued);
        put(&b, "# HELP chatgw_queue_oldest_wait_seconds How long the chat at the head of "
                "the queue has waited since it was created; 0 when none waits.\n"
                "# TYPE chatgw_queue_oldest_wait_seconds gauge\n");
        for (size_t q = 0; q < metrics.nqueues; q++)
            put(&b, "chatgw_queue_oldest_wait_seconds{store=\"%s\",group=\"%s\"} %.3f\n",
                metrics.queues[q].store, metrics.queues[q].group,
                (double)metrics.queues[q].oldest_wait_ms / 1000.0);
    }
    char *pl = plugin_metrics_text();
    if (pl)
        put(&b, "%s", pl);
    free(pl);
    *len = b.len;
    return b.p;
}
