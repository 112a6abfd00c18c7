/*
 * ctl_list.c - `agent list` and `supervisor list`: a table for people, or
 * JSON with --json.
 *
 * One SMEMBERS, then every identity's hash (and, for agents, the runtime
 * state chatgwd keeps in cg:ar:<id>: online sessions, ready|away, chats
 * held) in one pipelined round trip. Ids are sorted; one deleted between
 * the two reads is left out. Tokens are never shown, nor their hashes.
 *
 * API: cmd_list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"

#define LIST_COLS 8

static const char *const agent_head[LIST_COLS] = {
    "ID", "NAME", "STORE", "GROUPS", "CAPACITY", "ONLINE", "STATE", "LOAD" };
static const char *const sup_head[LIST_COLS] = { "ID", "NAME", "STORE", "", "", "", "", "" };

struct row {
    const char *id, *name, *store, *groups, *capacity, *state, *load;
    bool online;
    char groups_shown[CTL_GROUPS_TEXT];
};

static size_t text_width(const char *s)
{
    size_t n = strlen(s);
    return proto_utf8_valid(s, n) ? proto_utf8_chars(s, n) : n;
}

/* The cells of one row (NULL: the header), in column order. */
static void row_cells(const struct kind *k, const struct row *w, const char *v[LIST_COLS])
{
    const char *const *head = k->agent ? agent_head : sup_head;

    for (int c = 0; c < LIST_COLS; c++)
        v[c] = head[c];
    if (!w)
        return;
    v[0] = w->id;
    v[1] = w->name;
    v[2] = w->store;
    v[3] = w->groups_shown;
    v[4] = w->capacity;
    v[5] = w->online ? "yes" : "no";
    v[6] = w->state;
    v[7] = w->load;
}

/* Columns as wide as their widest cell (in characters), two spaces apart. */
static void print_table(const struct kind *k, const struct row *rows, size_t n)
{
    int ncol = k->agent ? 8 : 3;
    size_t width[LIST_COLS] = { 0 };
    const char *v[LIST_COLS];

    for (size_t r = 0; r <= n; r++) {
        row_cells(k, r ? &rows[r - 1] : NULL, v);
        for (int c = 0; c < ncol; c++)
            if (text_width(v[c]) > width[c])
                width[c] = text_width(v[c]);
    }
    for (size_t r = 0; r <= n; r++) {
        row_cells(k, r ? &rows[r - 1] : NULL, v);
        for (int c = 0; c < ncol - 1; c++)
            printf("%s%*s", v[c], (int)(width[c] - text_width(v[c]) + 2), "");
        printf("%s\n", v[ncol - 1]);
    }
}

static int print_json(const struct kind *k, const struct row *rows, size_t n)
{
    struct proto_writer w;
    int rc = CTL_OK;

    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_array(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        proto_w_map(&w, k->agent ? 8 : 3);
        proto_w_key(&w, "id"); proto_w_cstr(&w, r->id);
        proto_w_key(&w, "name"); proto_w_cstr(&w, r->name);
        proto_w_key(&w, "store"); proto_w_cstr(&w, r->store);
        if (!k->agent)
            continue;
        char groups[CTL_GROUPS_TEXT], *gv[CONFIG_MAX_GROUPS];
        snprintf(groups, sizeof groups, "%s", r->groups);
        int ng = groups_split(groups, gv, CONFIG_MAX_GROUPS);
        proto_w_key(&w, "groups");
        proto_w_array(&w, (uint32_t)ng);
        for (int g = 0; g < ng; g++)
            proto_w_cstr(&w, gv[g]);
        proto_w_key(&w, "capacity"); proto_w_int(&w, strtol(r->capacity, NULL, 10));
        proto_w_key(&w, "online"); proto_w_bool(&w, r->online);
        proto_w_key(&w, "state");
        if (strcmp(r->state, "-") == 0)
            proto_w_nil(&w);
        else
            proto_w_cstr(&w, r->state);
        proto_w_key(&w, "load"); proto_w_int(&w, strtol(r->load, NULL, 10));
    }
    if (w.err)
        rc = ctl_fail(CTL_FAIL, "out of memory");
    else
        printf("%.*s\n", (int)w.len, proto_writer_data(&w));
    proto_writer_free(&w);
    return rc;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

int cmd_list(struct ctl *x, const struct kind *k, const char *unused)
{
    redisReply *set, **hashes = NULL, **runtime = NULL;
    const char **ids = NULL;
    struct row *rows = NULL;
    size_t n = 0, nrows = 0;
    int rc = CTL_OK;

    (void)unused;
    if (!(set = link_callv(&x->link, "SMEMBERS", k->set, NULL)))
        return CTL_REDIS;
    ids = calloc(set->elements + 1, sizeof *ids);
    hashes = calloc(set->elements + 1, sizeof *hashes);
    runtime = calloc(set->elements + 1, sizeof *runtime);
    rows = calloc(set->elements + 1, sizeof *rows);
    if (!ids || !hashes || !runtime || !rows) {
        rc = ctl_fail(CTL_FAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < set->elements; i++)
        if (set->element[i]->type == REDIS_REPLY_STRING && ctl_id_valid(set->element[i]->str))
            ids[n++] = set->element[i]->str;
    qsort(ids, n, sizeof *ids, by_str);
    for (size_t i = 0; i < n; i++) {        /* one round trip for all of them */
        char key[64 + CTL_ID_MAX];
        ident_key(k, ids[i], key, sizeof key);
        const char *hg[] = { "HGETALL", key };
        redisAppendCommandArgv(x->link.c, 2, hg, NULL);
        if (k->agent) {
            char ar[16 + CTL_ID_MAX];
            snprintf(ar, sizeof ar, "cg:ar:%s", ids[i]);
            const char *hm[] = { "HMGET", ar, "online", "state", "load" };
            redisAppendCommandArgv(x->link.c, 5, hm, NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < (k->agent ? 2 : 1); j++) {
            void *v = NULL;
            if (redisGetReply(x->link.c, &v) != REDIS_OK) {
                rc = ctl_fail(CTL_REDIS, "lost Redis at %s while listing: %s",
                              link_where(&x->link), x->link.c->errstr);
                goto out;
            }
            (j ? runtime : hashes)[i] = v;
            if (((redisReply *)v)->type == REDIS_REPLY_ERROR)
                rc = ctl_fail(CTL_REDIS, "Redis at %s failed listing %s: %s", link_where(&x->link),
                              ids[i], ((redisReply *)v)->str);
        }
    }
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        redisReply *h = hashes[i], *a = runtime[i];
        struct row *r = &rows[nrows];
        if (h->type != REDIS_REPLY_ARRAY || h->elements == 0)
            continue;             /* deleted since SMEMBERS */
        r->id = ids[i];
        r->name = or(reply_hash_get(h, "name"), "-");
        r->store = or(reply_hash_get(h, "store"), "-");
        r->groups = or(reply_hash_get(h, "groups"), "");
        r->capacity = or(reply_hash_get(h, "capacity"), "-");
        snprintf(r->groups_shown, sizeof r->groups_shown, "%s", *r->groups ? r->groups : "-");
        for (char *p = r->groups_shown; *p; p++)
            *p = *p == ' ' ? ',' : *p;
        r->state = "-";
        r->load = "0";
        if (a && a->type == REDIS_REPLY_ARRAY && a->elements == 3) {
            if (a->element[0]->type == REDIS_REPLY_STRING)
                r->online = strtol(a->element[0]->str, NULL, 10) > 0;
            if (a->element[1]->type == REDIS_REPLY_STRING && a->element[1]->str[0])
                r->state = a->element[1]->str;
            if (a->element[2]->type == REDIS_REPLY_STRING && a->element[2]->str[0])
                r->load = a->element[2]->str;
        }
        nrows++;
    }
    if (x->o.given & O_JSON)
        rc = print_json(k, rows, nrows);
    else if (nrows == 0)
        fprintf(stderr, "chatgwctl: no %ss yet (chatgwctl %s add ID --name NAME)\n", k->noun,
                k->noun);
    else
        print_table(k, rows, nrows);
    if (rc == CTL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = ctl_fail(CTL_FAIL, "could not write to stdout");
out:
    for (size_t i = 0; i < n && hashes && runtime; i++) {
        if (hashes[i])
            freeReplyObject(hashes[i]);
        if (runtime[i])
            freeReplyObject(runtime[i]);
    }
    free(ids);
    free(hashes);
    free(runtime);
    free(rows);
    freeReplyObject(set);
    return rc;
}

