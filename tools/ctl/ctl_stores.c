/*
 * ctl_stores.c - the stores and groups known to chatgwctl, from the config
 * or from Redis (see ctl_stores.h).
 *
 * From Redis: SMEMBERS cg:stores, then one pipelined HGETALL cg:store:<id>
 * per store. A store id in the set whose hash is missing (chatgwd died
 * between the two writes) is known but has no groups, so agents cannot be
 * put in it until chatgwd publishes it again.
 *
 * API: see ctl_stores.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_stores.h"

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct cstore *)a)->id, ((const struct cstore *)b)->id);
}

/* Splits a space-separated list into st->groups (copies). */
static int set_groups(struct cstore *st, const char *list)
{
    const char *p = list ? list : "";

    while (*p) {
        size_t n;
        p += strspn(p, " ");
        n = strcspn(p, " ");
        if (n == 0)
            break;
        if (st->ngroups < CONFIG_MAX_GROUPS) {
            if (!(st->groups[st->ngroups] = strndup(p, n)))
                return -1;
            st->ngroups++;
        }
        p += n;
    }
    return 0;
}

int stores_from_config(struct ctl_stores *s, const struct config *c)
{
    memset(s, 0, sizeof *s);
    snprintf(s->source, sizeof s->source, "config %s", c->path ? c->path : "(defaults)");
    s->v = calloc(c->nstores ? c->nstores : 1, sizeof *s->v);
    if (!s->v)
        return ctl_fail(CTL_FAIL, "out of memory");
    for (size_t i = 0; i < c->nstores; i++) {
        const struct store_conf *sc = &c->stores[i];
        struct cstore *st = &s->v[s->n++];
        st->id = strdup(sc->id);
        st->name = strdup(sc->name && sc->name[0] ? sc->name : sc->id);
        if (!st->id || !st->name)
            return ctl_fail(CTL_FAIL, "out of memory");
        for (int g = 0; g < sc->ngroups; g++) {
            if (!(st->groups[g] = strdup(sc->groups[g])))
                return ctl_fail(CTL_FAIL, "out of memory");
            st->ngroups = g + 1;
        }
    }
    qsort(s->v, s->n, sizeof *s->v, by_id);
    return CTL_OK;
}

int stores_from_redis(struct ctl_stores *s, struct ctl_link *l)
{
    redisReply *ids;
    int rc = CTL_OK;

    memset(s, 0, sizeof *s);
    snprintf(s->source, sizeof s->source, "Redis at %s", link_where(l));
    if (!(ids = link_callv(l, "SMEMBERS", "cg:stores", NULL)))
        return CTL_REDIS;
    s->v = calloc(ids->elements ? ids->elements : 1, sizeof *s->v);
    if (!s->v) {
        freeReplyObject(ids);
        return ctl_fail(CTL_FAIL, "out of memory");
    }
    for (size_t i = 0; i < ids->elements; i++) {
        char key[16 + CTL_ID_MAX];
        if (ids->element[i]->type != REDIS_REPLY_STRING || !ctl_id_valid(ids->element[i]->str))
            continue;             /* not ours; nothing to validate against */
        snprintf(key, sizeof key, "cg:store:%s", ids->element[i]->str);
        const char *argv[] = { "HGETALL", key };
        redisAppendCommandArgv(l->c, 2, argv, NULL);
        if (!(s->v[s->n++].id = strdup(ids->element[i]->str)))
            rc = CTL_FAIL;
    }
    freeReplyObject(ids);
    for (size_t i = 0; i < s->n; i++) {
        void *v = NULL;
        redisReply *h;
        const char *name;
        if (redisGetReply(l->c, &v) != REDIS_OK) {
            ctl_fail(CTL_REDIS, "lost Redis at %s while reading stores: %s", link_where(l),
                     l->c->errstr);
            return CTL_REDIS;     /* the link is dead: the rest never comes */
        }
        h = v;
        if (h->type == REDIS_REPLY_ERROR) {
            ctl_fail(CTL_REDIS, "Redis at %s failed HGETALL cg:store:%s: %s", link_where(l),
                     s->v[i].id ? s->v[i].id : "?", h->str);
            rc = CTL_REDIS;
        } else if (s->v[i].id) {
            name = reply_hash_get(h, "name");
            s->v[i].name = strdup(name && *name ? name : s->v[i].id);
            if (!s->v[i].name || set_groups(&s->v[i], reply_hash_get(h, "groups")) != 0)
                rc = CTL_FAIL;
        }
        freeReplyObject(h);
    }
    if (rc == CTL_FAIL)
        return ctl_fail(CTL_FAIL, "out of memory");
    if (rc == CTL_OK)
        qsort(s->v, s->n, sizeof *s->v, by_id);
    return rc;
}

void stores_free(struct ctl_stores *s)
{
    for (size_t i = 0; s->v && i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].name);
        for (int g = 0; g < s->v[i].ngroups; g++)
            free(s->v[i].groups[g]);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* "a, b, c" into buf, for messages. */
static const char *join_ids(const struct ctl_stores *s, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < s->n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", s->v[i].id);
    return buf;
}

int stores_pick(const struct ctl_stores *s, const char *id, const struct cstore **out)
{
    char known[512];

    *out = NULL;
    if (s->n == 0)
        return ctl_fail(CTL_UNKNOWN_STORE, "no stores are known to %s: chatgwd publishes its "
                        "stores there when it starts (start it once), or pass -c FILE to read "
                        "them from its config", s->source);
    if (!id) {
        if (s->n == 1) {
            *out = &s->v[0];
            return CTL_OK;
        }
        return ctl_fail(CTL_USAGE, "which store? give --store (%s knows %s)", s->source,
                        join_ids(s, known, sizeof known));
    }
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].id, id) == 0) {
            *out = &s->v[i];
            return CTL_OK;
        }
    return ctl_fail(CTL_UNKNOWN_STORE, "unknown store \"%s\" (%s knows %s)", id, s->source,
                    join_ids(s, known, sizeof known));
}

bool cstore_has_group(const struct cstore *st, const char *group)
{
    for (int i = 0; i < st->ngroups; i++)
        if (strcmp(st->groups[i], group) == 0)
            return true;
    return false;
}

int stores_check_groups(const struct cstore *st, char *const *groups, int n)
{
    char known[CONFIG_MAX_GROUPS * (CTL_ID_MAX + 2) + 1];
    size_t o = 0;

    for (int i = 0; i < n; i++) {
        if (cstore_has_group(st, groups[i]))
            continue;
        known[0] = '\0';
        for (int g = 0; g < st->ngroups; g++)
            o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", g ? ", " : "", st->groups[g]);
        return ctl_fail(CTL_UNKNOWN_STORE, "store %s has no group \"%s\" (its groups: %s)",
                        st->id, groups[i], st->ngroups ? known : "none");
    }
    return CTL_OK;
}
