/*
 * iplimit.c - per-address session counts (see iplimit.h).
 *
 * Chained hash table with a fixed number of buckets; a slot is freed when
 * its count drops to zero and its new-chat bucket is full again, so the
 * table only holds addresses that have a session now or opened chats
 * lately (a connect-hello-disconnect loop must not reset its own meter).
 * Slots kept for their meter alone are freed by the next walk of their
 * chain once the meter has refilled. Lookup is by exact address string
 * (lws_get_peer_simple).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "iplimit.h"

#define IP_BUCKETS 4096

struct ip_slot {
    struct ip_slot *next;
    uint32_t count;
    uint32_t hash;
    struct bucket chats;            /* new chats it may open now; see iplimit_take_chat */
    double burst;                   /* 0: the meter was never used (full) */
    double per_s;                   /* its refill, as last taken with */
    char ip[48];
};

static struct ip_slot *table[IP_BUCKETS];

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;       /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* The meter refilled up to now; true when it is full (the slot may go). */
static bool refill(struct ip_slot *e, uint64_t now_ms)
{
    return e->burst == 0 || bucket_refill(&e->chats, e->per_s, e->burst, now_ms);
}

struct ip_slot *iplimit_acquire(const char *ip, uint32_t max, uint64_t now_ms)
{
    uint32_t h = hash_str(ip);
    struct ip_slot **b = &table[h % IP_BUCKETS], **p, *e = NULL;

    for (p = b; *p; ) {
        struct ip_slot *x = *p;
        if (x->hash == h && strcmp(x->ip, ip) == 0) {
            e = x;
            p = &x->next;
        } else if (x->count == 0 && refill(x, now_ms)) {
            *p = x->next;               /* kept for its meter, now full */
            free(x);
        } else {
            p = &x->next;
        }
    }
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        e->hash = h;
        strncpy(e->ip, ip, sizeof e->ip - 1);
        e->next = *b;
        *b = e;
    }
    if (e->count >= max)
        return NULL;       /* max >= 1, so a new slot never lands here */
    e->count++;
    return e;
}

bool iplimit_take_chat(struct ip_slot *slot, double per_s, uint32_t burst, uint64_t now_ms)
{
    if (!slot)
        return true;
    if (slot->burst == 0)               /* first use: a full meter */
        bucket_fill(&slot->chats, burst, now_ms);
    slot->burst = burst;
    slot->per_s = per_s;
    return bucket_take(&slot->chats, per_s, burst, now_ms);
}

void iplimit_release(struct ip_slot *slot, uint64_t now_ms)
{
    struct ip_slot **p;

    if (!slot || --slot->count > 0 || !refill(slot, now_ms))
        return;
    for (p = &table[slot->hash % IP_BUCKETS]; *p; p = &(*p)->next)
        if (*p == slot) {
            *p = slot->next;
            free(slot);
            return;
        }
}

void iplimit_free_all(void)
{
    for (size_t i = 0; i < IP_BUCKETS; i++)
        while (table[i]) {
            struct ip_slot *e = table[i];
            table[i] = e->next;
            free(e);
        }
}
