/*
 * hours.c - each group's service hours, as this node last heard them
 * (see hours.h).
 *
 * A flat array of {store, group, spans}: a gateway has a few stores of a
 * few groups, and a lookup runs once per new chat, so a linear scan of
 * tens of entries costs less than a hash would. Spans are replaced
 * whole by each answer of router.lua's "ghours" (at start, at every
 * shift boundary, on every roster notice), never edited in place.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "hours.h"

struct group_hours {
    char store[CONFIG_ID_MAX + 1], group[CONFIG_ID_MAX + 1];
    int own;                        /* 0: the store's hours apply */
    size_t n;                       /* pairs in se */
    int64_t *se;
};

static struct {
    struct group_hours *v;
    size_t n, cap;
} H;

static struct group_hours *find(const char *store, const char *group)
{
    for (size_t i = 0; i < H.n; i++)
        if (strcmp(H.v[i].store, store) == 0 && strcmp(H.v[i].group, group) == 0)
            return &H.v[i];
    return NULL;
}

int hours_set(const char *store, const char *group, int own, const int64_t *se, size_t n)
{
    struct group_hours *g = find(store, group);
    int64_t *copy = NULL;

    if (strlen(store) > CONFIG_ID_MAX || strlen(group) > CONFIG_ID_MAX)
        return -1;
    if (own && n && !(copy = malloc(2 * n * sizeof *copy)))
        return -1;
    if (copy)
        memcpy(copy, se, 2 * n * sizeof *copy);
    if (!g) {
        if (H.n == H.cap) {
            size_t cap = H.cap ? 2 * H.cap : 16;
            struct group_hours *v = realloc(H.v, cap * sizeof *v);
            if (!v) {
                free(copy);
                return -1;
            }
            H.v = v;
            H.cap = cap;
        }
        g = &H.v[H.n++];
        memset(g, 0, sizeof *g);
        strcpy(g->store, store);
        strcpy(g->group, group);
    }
    free(g->se);
    g->own = own;
    g->n = own ? n : 0;
    g->se = copy;
    return 0;
}

void hours_clear(void)
{
    for (size_t i = 0; i < H.n; i++)
        free(H.v[i].se);
    free(H.v);
    memset(&H, 0, sizeof H);
}

enum hours_state hours_open(const char *store, const char *group, int64_t now, int64_t *opens)
{
    const struct group_hours *g = find(store, group);

    *opens = 0;
    if (!g || !g->own)
        return HOURS_STORE;
    for (size_t i = 0; i < g->n; i++) {
        int64_t s = g->se[2 * i], e = g->se[2 * i + 1];
        if (s <= now && now < e)
            return HOURS_OPEN;
        if (s > now && (*opens == 0 || s < *opens))
            *opens = s;
    }
    return HOURS_CLOSED;
}
