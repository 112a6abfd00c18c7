/*
 * metrics.c - renders struct metrics as Prometheus text exposition.
 *
 * The per-store-and-group counters live in one array, searched in order:
 * a lookup per agent answer, breach or escalation, over as many pairs as
 * the config has queues (tens). A scrape shows every queue of the config
 * (at 0 until something happens, so rate() has a start) and any other pair
 * a reply named (a group since removed), METRICS_SG_MAX at most.
 *
 * API: see metrics.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gw.h"
#include "metrics.h"

struct metrics metrics;
static metrics_text_fn *more_text;

static const double ack_le_s[METRICS_ACK_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0
};

static const double fr_le_s[METRICS_FR_BUCKETS] = { 1, 5, 10, 20, 30, 60, 120, 300 };

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

struct metrics_sg *metrics_sg(const char *store, const char *group)
{
    struct metrics_sg *g;

    for (size_t i = 0; i < metrics.nsg; i++)
        if (strcmp(metrics.sg[i].store, store) == 0 && strcmp(metrics.sg[i].group, group) == 0)
            return &metrics.sg[i];
    if (!*store || !*group || strlen(store) >= sizeof g->store ||
        strlen(group) >= sizeof g->group || metrics.nsg >= METRICS_SG_MAX)
        return NULL;
    if (metrics.nsg == metrics.capsg) {
        size_t cap = metrics.capsg ? 2 * metrics.capsg : 16;
        if (!(g = realloc(metrics.sg, cap * sizeof *g)))
            return NULL;
        metrics.sg = g;
        metrics.capsg = cap;
    }
    g = &metrics.sg[metrics.nsg++];
    memset(g, 0, sizeof *g);
    memcpy(g->store, store, strlen(store) + 1);
    memcpy(g->group, group, strlen(group) + 1);
    return g;
}

void metrics_observe_answer(const char *store, const char *group, int64_t rt_ms, bool first)
{
    struct metrics_sg *g = metrics_sg(store, group);
    double s = (double)rt_ms / 1000.0;
    int i;

    if (!g || rt_ms < 0)
        return;
    g->answers++;
    g->answers_30s += rt_ms <= 30000;
    if (!first)
        return;
    for (i = 0; i < METRICS_FR_BUCKETS && s > fr_le_s[i]; i++)
        ;
    g->fr_bucket[i]++;
    g->fr_sum_s += s;
    g->fr_count++;
}

void metrics_more(metrics_text_fn *fn)
{
    more_text = fn;
}

void metrics_close(void)
{
    free(metrics.sg);
    metrics.sg = NULL;
    metrics.nsg = metrics.capsg = 0;
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

/* One counter family over the store/group pairs. */
static void sg_counter(struct buf *b, const char *name, const char *help, size_t off)
{
    put(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < metrics.nsg; i++)
        put(b, "%s{store=\"%s\",group=\"%s\"} %llu\n", name, metrics.sg[i].store,
            metrics.sg[i].group,
            (unsigned long long)*(const uint64_t *)((const char *)&metrics.sg[i] + off));
}

/* The floor's families, by store and group: every queue of the config
 * first (at 0 until counted). */
static void render_sg(struct buf *b)
{
    const struct config *c = gw.cfg;

    for (size_t s = 0; c && s < c->nstores; s++)
        for (int g = 0; g < c->stores[s].ngroups; g++)
            metrics_sg(c->stores[s].id, c->stores[s].groups[g]);
    if (!metrics.nsg)
        return;
    put(b, "# HELP chatgw_first_response_seconds A chat's first answer by an agent, from the "
           "buyer's first unanswered message (answers written on this node).\n"
           "# TYPE chatgw_first_response_seconds histogram\n");
    for (size_t i = 0; i < metrics.nsg; i++) {
        const struct metrics_sg *g = &metrics.sg[i];
        uint64_t cum = 0;
        for (int j = 0; j <= METRICS_FR_BUCKETS; j++) {
            char le[16];
            cum += g->fr_bucket[j];
            if (j < METRICS_FR_BUCKETS)
                snprintf(le, sizeof le, "%g", fr_le_s[j]);
            else
                snprintf(le, sizeof le, "+Inf");
            put(b, "chatgw_first_response_seconds_bucket{store=\"%s\",group=\"%s\",le=\"%s\"} "
                   "%llu\n", g->store, g->group, le, (unsigned long long)cum);
        }
        put(b, "chatgw_first_response_seconds_sum{store=\"%s\",group=\"%s\"} %.3f\n"
               "chatgw_first_response_seconds_count{store=\"%s\",group=\"%s\"} %llu\n",
            g->store, g->group, g->fr_sum_s, g->store, g->group,
            (unsigned long long)g->fr_count);
    }
    sg_counter(b, "chatgw_answers_total", "Agent messages that answered a waiting buyer "
               "(written on this node).", offsetof(struct metrics_sg, answers));
    sg_counter(b, "chatgw_answers_within_30s_total", "Of those, the ones within 30 s of the "
               "buyer's oldest unanswered message.", offsetof(struct metrics_sg, answers_30s));
    sg_counter(b, "chatgw_breaches_total", "Chats left unanswered past breach_after (found by "
               "this node's clock steps).", offsetof(struct metrics_sg, breaches));
    sg_counter(b, "chatgw_escalations_total", "Chats flagged to supervisors by this node's "
               "plugins.", offsetof(struct metrics_sg, escalations));
    sg_counter(b, "chatgw_holds_total", "Holding replies sent by this node's clock steps.",
               offsetof(struct metrics_sg, holds));
    sg_counter(b, "chatgw_reassigned_total", "Unanswered chats moved to another agent by this "
               "node's clock steps (reassign_after, away_reassign).",
               offsetof(struct metrics_sg, reassigned));
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
    counter(&b, "chatgw_floor_summaries_total", "Reads of the stores' summaries for the "
            "supervisors' stats events (made only while a supervisor is logged in here).",
            metrics.floor_summaries);
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
    render_sg(&b);
    char *pl = more_text ? more_text() : NULL;
    if (pl)
        put(&b, "%s", pl);
    free(pl);
    *len = b.len;
    return b.p;
}
