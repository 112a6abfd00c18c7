/*
 * login_gate.c - failed logins per client address (see login_gate.h).
 *
 * A hash of addresses (index.h) to their counts and their queue of
 * waiting tickets. An address is forgotten as soon as it has nothing
 * under way, nobody waiting and no failure in its window, so the table
 * holds only addresses that failed lately or are logging in now. It is
 * bounded: past GATE_ADDRS_MAX addresses, idle ones are dropped first
 * (an address with attempts under way is never dropped: tickets point
 * to it).
 *
 * API: see login_gate.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "index.h"
#include "login_gate.h"

#define GATE_ADDRS_MAX 100000

struct gate_addr {
    char ip[INDEX_KEY_MAX + 1];        /* its key in addrs */
    uint32_t failures;                 /* within the window since since_ms */
    uint32_t running;                  /* attempts admitted, not ended */
    uint32_t max;                      /* login_fail_max when last entered */
    uint64_t since_ms, window_ms;
    struct login_ticket *head, *tail;  /* waiting, oldest first */
    bool waking;                       /* in wake(): not to be freed under it */
};

static struct index addrs;

static bool idle(const struct gate_addr *g)
{
    return g->running == 0 && !g->head;
}

static void forget(struct gate_addr *g)
{
    index_del(&addrs, g->ip, g);
    free(g);
}

/* A full table: drop idle addresses (their failure counts go with them). */
static void make_room(void)
{
    for (size_t i = 0; i < addrs.cap && index_count(&addrs) >= GATE_ADDRS_MAX; i++) {
        struct gate_addr *g = addrs.slots[i].val;
        if (g && idle(g)) {
            forget(g);
            i--;                        /* backward-shift deletion moved a slot here */
        }
    }
}

static void expire(struct gate_addr *g, uint64_t now_ms)
{
    if (now_ms - g->since_ms >= g->window_ms) {
        g->failures = 0;
        g->since_ms = now_ms;
    }
}

enum gate_verdict login_gate_enter(struct login_ticket *t, const char *ip, uint32_t max_fails,
                                   uint64_t window_ms, uint64_t now_ms)
{
    struct gate_addr *g = index_get(&addrs, ip);

    if (t->addr)
        return GATE_REFUSE;             /* already at the gate: a bug of the caller */
    if (!g) {
        if (index_count(&addrs) >= GATE_ADDRS_MAX)
            make_room();
        g = calloc(1, sizeof *g);
        if (!g)
            return GATE_REFUSE;
        snprintf(g->ip, sizeof g->ip, "%s", ip);
        if (index_put(&addrs, g->ip, g) != 0) {
            free(g);
            return GATE_REFUSE;
        }
        g->since_ms = now_ms;
    }
    g->max = max_fails;
    g->window_ms = window_ms;
    expire(g, now_ms);
    if (g->failures >= max_fails)
        return GATE_REFUSE;
    t->addr = g;
    t->next = NULL;
    if (g->failures + g->running < max_fails && !g->head) {
        g->running++;
        t->admitted = true;
        return GATE_ADMIT;
    }
    t->admitted = false;
    if (g->tail)
        g->tail->next = t;
    else
        g->head = t;
    g->tail = t;
    return GATE_WAIT;
}

static void unlink_waiting(struct gate_addr *g, struct login_ticket *t)
{
    struct login_ticket **p = &g->head, *prev = NULL;

    for (; *p; prev = *p, p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            if (g->tail == t)
                g->tail = prev;
            return;
        }
}

/* Admits or refuses the waiting tickets as room allows. */
static void wake(struct gate_addr *g)
{
    if (g->waking)
        return;                         /* the outer call goes on with the queue */
    g->waking = true;
    while (g->head && (g->failures >= g->max || g->failures + g->running < g->max)) {
        struct login_ticket *t = g->head;
        g->head = t->next;
        if (!g->head)
            g->tail = NULL;
        t->next = NULL;
        if (g->failures >= g->max) {
            t->addr = NULL;
            t->on_refuse(t);
        } else {
            g->running++;
            t->admitted = true;
            t->on_admit(t);             /* may end at once and come back here */
        }
    }
    g->waking = false;
}

void login_gate_leave(struct login_ticket *t, bool failed, uint64_t now_ms)
{
    struct gate_addr *g = t->addr;

    if (!g)
        return;
    t->addr = NULL;
    if (!t->admitted) {
        unlink_waiting(g, t);
    } else {
        t->admitted = false;
        g->running--;
        expire(g, now_ms);
        if (failed)
            g->failures++;
    }
    wake(g);
    if (!g->waking && idle(g) && g->failures == 0)
        forget(g);
}

void login_gate_free_all(void)
{
    for (size_t i = 0; i < addrs.cap; i++)
        free(addrs.slots[i].val);
    index_free(&addrs);
}
