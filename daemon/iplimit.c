/*
 * iplimit.c - per-address session counts (see iplimit.h).
 *
 * Chained hash table with a fixed number of buckets; a slot is freed when
 * its count drops to zero, so the table only holds addresses that have a
 * session now. Lookup is by exact address string (lws_get_peer_simple).
 */
#include <stdlib.h>
#include <string.h>

#include "iplimit.h"

#define IP_BUCKETS 4096

struct ip_slot {
    struct ip_slot *next;
    uint32_t count;
    uint32_t hash;
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

struct ip_slot *iplimit_acquire(const char *ip, uint32_t max)
{
    uint32_t h = hash_str(ip);
    struct ip_slot **b = &table[h % IP_BUCKETS], *e;

    for (e = *b; e; e = e->next)
        if (e->hash == h && strcmp(e->ip, ip) == 0)
            break;
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

void iplimit_release(struct ip_slot *slot)
{
    struct ip_slot **p;

    if (!slot || --slot->count > 0)
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
