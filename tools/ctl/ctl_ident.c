/*
 * ctl_ident.c - agents and supervisors in Redis: create, give a new token,
 * change, delete.
 *
 * Keys (the contract with chatgwd): cg:agent:<id> and cg:sup:<id> hashes,
 * the sets cg:agents and cg:sups, cg:tok:<sha256 hex> -> "agent:<id>" |
 * "supervisor:<id>". Every change that touches more than one key runs as
 * WATCH (the identity's hash), read, MULTI ... EXEC, and starts over when
 * EXEC reports that the hash changed meanwhile, so a token mapping never
 * exists without its identity nor outlives it. A new or deleted token also
 * PUBLISHes {k:"kick", agent|supervisor:<id>} (msgpack) on cg:ctl in the
 * same transaction, so the nodes close that identity's sessions; deleting
 * an agent also ZADDs it to cg:agents:offline with score 0 (its grace is
 * over at once) so the nodes requeue its chats.
 *
 * A token is 32 bytes from getrandom as 64 lowercase hex characters; it is
 * printed once, alone on its stdout line, and Redis keeps only the SHA-256
 * of that hex string.
 *
 * API: AGENT, SUPERVISOR, ident_key, ident_create, ident_reissue,
 *      groups_join, groups_split, cmd_add, cmd_token, cmd_set, cmd_del.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "ctl.h"
#include "token.h"

#define ATTEMPTS 5                /* WATCH races lost before giving up */

const struct kind AGENT = { "agent", "cg:agent:", "cg:agents", true };
const struct kind SUPERVISOR = { "supervisor", "cg:sup:", "cg:sups", false };

void ident_key(const struct kind *k, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", k->prefix, id);
}

/* A fresh token and its SHA-256 (hex), both NUL-terminated. */
static int token_new(char tok[CTL_TOKEN_HEX + 1], char hash[TOKEN_HASH_HEX + 1])
{
    unsigned char raw[CTL_TOKEN_BYTES];

    if (token_random(raw, sizeof raw) != 0)
        return ctl_fail(CTL_FAIL, "the kernel gave no random bytes (getrandom failed)");
    hex_encode(raw, sizeof raw, tok);
    OPENSSL_cleanse(raw, sizeof raw);
    token_hash_hex(tok, CTL_TOKEN_HEX, hash);
    return CTL_OK;
}

/* Writes the token alone on its stdout line; wipes it. */
static int print_token(const struct kind *k, const char *id, char tok[CTL_TOKEN_HEX + 1])
{
    int bad = printf("%s\n", tok) < 0 || fflush(stdout) != 0 || ferror(stdout);

    OPENSSL_cleanse(tok, CTL_TOKEN_HEX);
    if (bad)
        return ctl_fail(CTL_FAIL, "could not write the new token to stdout, so nobody knows it: "
                        "issue another with chatgwctl %s token %s", k->noun, id);
    return CTL_OK;
}

/* {k:<what>, <noun>:"<id>"} in msgpack, for cg:ctl. Caller frees. */
static char *ctl_payload(const char *what, const struct kind *k, const char *id, size_t *len)
{
    struct proto_writer w;
    char *p;

    proto_writer_init(&w, PROTO_MSGPACK, 0);
    proto_w_map(&w, 2);
    proto_w_key(&w, "k");
    proto_w_cstr(&w, what);
    proto_w_key(&w, k->noun);
    proto_w_cstr(&w, id);
    *len = w.len;
    p = w.err ? NULL : proto_writer_take(&w);
    proto_writer_free(&w);
    return p;
}

void groups_join(char *const *v, int n, char sep, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    for (int i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? (char[]){ sep, 0 } : "", v[i]);
}

int groups_split(char *s, char **v, int max)
{
    int n = 0;
    char *w;

    while (n < max && (w = strsep(&s, " ")) != NULL)
        if (*w)
            v[n++] = w;
    return n;
}

static void now_ms_text(char *out, size_t cap)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "%llu", (unsigned long long)ts.tv_sec * 1000ULL +
             (unsigned long long)ts.tv_nsec / 1000000ULL);
}

/*
 * WATCHes the identity's hash and reads it. Returns CTL_OK with *r (empty
 * array: no such identity) or CTL_REDIS.
 */
static int watch_read(struct ctl *x, const char *key, redisReply **r)
{
    redisReply *w = link_callv(&x->link, "WATCH", key, NULL);

    if (!w)
        return CTL_REDIS;
    freeReplyObject(w);
    *r = link_callv(&x->link, "HGETALL", key, NULL);
    return *r ? CTL_OK : CTL_REDIS;
}

static void unwatch(struct ctl *x)
{
    redisReply *r = link_callv(&x->link, "UNWATCH", NULL);
    if (r)
        freeReplyObject(r);
}

static int raced(const struct kind *k, const char *id)
{
    return ctl_fail(CTL_REDIS, "%s %s kept changing in Redis while being written (%d tries); "
                    "try again", k->noun, id, ATTEMPTS);
}

static int not_found(const struct kind *k, const char *id)
{
    return ctl_fail(CTL_NOT_FOUND, "no %s \"%s\" (chatgwctl %s list shows them)", k->noun, id,
                    k->noun);
}

/*
 * Adds to t the commands that change the identity read as cur (an HGETALL
 * reply). Returns CTL_OK, or an error (reported) that abandons the change.
 * What t points to must live in ud: it is sent after build returns.
 */
typedef int txn_build_fn(struct ctl *x, struct ctl_txn *t, const redisReply *cur, void *ud);

/*
 * Changes an existing identity with one WATCHed MULTI/EXEC: WATCH and read
 * its hash, let build add the commands, EXEC; again while another client
 * wins the race, up to ATTEMPTS times. Returns CTL_OK, CTL_NOT_FOUND
 * (reported only with report_missing), build's error, or CTL_REDIS.
 */
static int update_identity(struct ctl *x, const struct kind *k, const char *id,
                           bool report_missing, txn_build_fn *build, void *ud)
{
    char key[64 + CTL_ID_MAX];

    ident_key(k, id, key, sizeof key);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        struct ctl_txn t = { 0 };
        redisReply *cur;
        int rc, done;

        if (watch_read(x, key, &cur) != CTL_OK)
            return CTL_REDIS;
        if (cur->elements == 0) {
            freeReplyObject(cur);
            unwatch(x);
            return report_missing ? not_found(k, id) : CTL_NOT_FOUND;
        }
        rc = build(x, &t, cur, ud);
        if (rc != CTL_OK) {
            freeReplyObject(cur);
            unwatch(x);
            return rc;
        }
        done = link_exec(&x->link, &t);
        freeReplyObject(cur);
        if (done < 0)
            return CTL_REDIS;
        if (done == 1)
            return CTL_OK;
    }
    return raced(k, id);
}

/* ---- creating, re-keying, deleting --------------------------------------- */

/* HSET arguments (after the key) for an identity's settings. */
struct settings_text {
    char groups[CTL_GROUPS_TEXT], cap[16];
};

static void txn_settings(struct ctl_txn *t, const struct kind *k, const struct ident_new *n,
                         struct settings_text *txt)
{
    txn_arg(t, "name"); txn_arg(t, n->name);
    txn_arg(t, "store"); txn_arg(t, n->store);
    if (k->agent) {
        groups_join(n->groups, n->ngroups, ' ', txt->groups, sizeof txt->groups);
        snprintf(txt->cap, sizeof txt->cap, "%d", n->capacity);
        txn_arg(t, "groups"); txn_arg(t, txt->groups);
        txn_arg(t, "capacity"); txn_arg(t, txt->cap);
    }
}

/*
 * Creates the identity with a new token (into tok). Returns CTL_OK,
 * CTL_EXISTS (not reported) or an error (reported).
 */
int ident_create(struct ctl *x, const struct kind *k, const struct ident_new *n,
                 char tok[CTL_TOKEN_HEX + 1])
{
    char key[64 + CTL_ID_MAX], tokkey[8 + TOKEN_HASH_HEX + 1], hash[TOKEN_HASH_HEX + 1];
    char tokval[16 + CTL_ID_MAX], created[24];
    struct settings_text txt;
    int rc = token_new(tok, hash);

    if (rc)
        return rc;
    ident_key(k, n->id, key, sizeof key);
    snprintf(tokkey, sizeof tokkey, "cg:tok:%s", hash);
    snprintf(tokval, sizeof tokval, "%s:%s", k->noun, n->id);
    now_ms_text(created, sizeof created);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        struct ctl_txn t = { 0 };
        redisReply *r = link_callv(&x->link, "WATCH", key, NULL);
        if (!r)
            return CTL_REDIS;
        freeReplyObject(r);
        if (!(r = link_callv(&x->link, "EXISTS", key, NULL)))
            return CTL_REDIS;
        bool exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
        freeReplyObject(r);
        if (exists) {
            unwatch(x);
            return CTL_EXISTS;
        }
        txn_cmd(&t, "HSET", key, NULL);
        txn_settings(&t, k, n, &txt);
        txn_arg(&t, "tok"); txn_arg(&t, hash);
        txn_arg(&t, "created"); txn_arg(&t, created);
        txn_cmd(&t, "SADD", k->set, n->id, NULL);
        txn_cmd(&t, "SET", tokkey, tokval, NULL);
        switch (link_exec(&x->link, &t)) {
        case 1: return CTL_OK;
        case 0: continue;
        default: return CTL_REDIS;
        }
    }
    return raced(k, n->id);
}

/* ident_reissue's change, for update_identity */
struct reissue {
    const struct kind *k;
    const struct ident_new *reset;
    const char *key, *hash;
    char tokkey[8 + TOKEN_HASH_HEX + 1], tokval[16 + CTL_ID_MAX], oldkey[8 + TOKEN_HASH_HEX + 1];
    struct settings_text txt;
    char *kick;
    size_t kicklen;
};

static int build_reissue(struct ctl *x, struct ctl_txn *t, const redisReply *cur, void *ud)
{
    struct reissue *q = ud;
    const char *old = reply_hash_get(cur, "tok");

    (void)x;
    if (old && *old) {
        snprintf(q->oldkey, sizeof q->oldkey, "cg:tok:%s", old);
        txn_cmd(t, "DEL", q->oldkey, NULL);
    }
    txn_cmd(t, "SET", q->tokkey, q->tokval, NULL);
    txn_cmd(t, "HSET", q->key, "tok", q->hash, NULL);
    if (q->reset)
        txn_settings(t, q->k, q->reset, &q->txt);
    txn_cmd(t, "PUBLISH", "cg:ctl", NULL);
    txn_bin(t, q->kick, q->kicklen);
    return CTL_OK;
}

/*
 * Gives an existing identity a new token (into tok): the old mapping goes,
 * the new one comes, and its sessions are kicked. With reset, the same
 * transaction also puts back those settings (demo). Returns CTL_OK,
 * CTL_NOT_FOUND (not reported) or an error (reported).
 */
int ident_reissue(struct ctl *x, const struct kind *k, const char *id,
                  char tok[CTL_TOKEN_HEX + 1], const struct ident_new *reset)
{
    char key[64 + CTL_ID_MAX], hash[TOKEN_HASH_HEX + 1];
    struct reissue q = { .k = k, .reset = reset, .key = key, .hash = hash };
    int rc = token_new(tok, hash);

    if (rc)
        return rc;
    if (!(q.kick = ctl_payload("kick", k, id, &q.kicklen)))
        return ctl_fail(CTL_FAIL, "out of memory");
    ident_key(k, id, key, sizeof key);
    snprintf(q.tokkey, sizeof q.tokkey, "cg:tok:%s", hash);
    snprintf(q.tokval, sizeof q.tokval, "%s:%s", k->noun, id);
    rc = update_identity(x, k, id, false, build_reissue, &q);
    free(q.kick);
    return rc;
}

/* The store a new identity goes to; NULL store_id: the only one. */
static int resolve_store(struct ctl *x, const struct kind *k, const char *store_id,
                         const struct cstore **st)
{
    int rc;

    *st = NULL;
    if (!k->agent && store_id && strcmp(store_id, "*") == 0)
        return CTL_OK;            /* a supervisor of every store */
    if ((rc = ctl_need_stores(x)) != CTL_OK)
        return rc;
    return stores_pick(&x->stores, store_id, st);
}

/* ---- the commands ---------------------------------------------------------- */

int cmd_add(struct ctl *x, const struct kind *k, const char *id)
{
    struct ident_new n = { .id = id, .name = x->o.name, .capacity = CTL_CAPACITY_DEFAULT };
    const struct cstore *st;
    char tok[CTL_TOKEN_HEX + 1], groups[CTL_GROUPS_TEXT];
    int rc;

    if ((rc = resolve_store(x, k, x->o.store, &st)) != CTL_OK)
        return rc;
    n.store = st ? st->id : "*";
    if (k->agent) {
        if (x->o.ngroups) {
            if ((rc = stores_check_groups(st, x->o.groups, x->o.ngroups)) != CTL_OK)
                return rc;
            n.groups = x->o.groups;
            n.ngroups = x->o.ngroups;
        } else if (st->ngroups == 0) {
            return ctl_fail(CTL_UNKNOWN_STORE, "store %s has no groups (per %s)", st->id,
                            x->stores.source);
        } else {
            n.groups = st->groups;           /* its first group: the default */
            n.ngroups = 1;
        }
        if (x->o.given & O_CAPACITY)
            n.capacity = x->o.capacity;
    }
    rc = ident_create(x, k, &n, tok);
    if (rc == CTL_EXISTS)
        return ctl_fail(CTL_EXISTS, "%s \"%s\" already exists (chatgwctl %s token %s gives it "
                        "a new token)", k->noun, id, k->noun, id);
    if (rc)
        return rc;
    if ((rc = print_token(k, id, tok)) != CTL_OK)
        return rc;
    if (k->agent)                            /* its groups' service hours may widen */
        roster_notice(x, id);
    groups_join(n.groups, n.ngroups, ',', groups, sizeof groups);
    if (k->agent)
        fprintf(stderr, "chatgwctl: agent %s added to store %s, groups %s, capacity %d; "
                "its token (above) is shown only this once\n", id, n.store, groups, n.capacity);
    else
        fprintf(stderr, "chatgwctl: supervisor %s added for %s; its token (above) is shown "
                "only this once\n", id, strcmp(n.store, "*") ? n.store : "all stores");
    return CTL_OK;
}

int cmd_token(struct ctl *x, const struct kind *k, const char *id)
{
    char tok[CTL_TOKEN_HEX + 1];
    int rc = ident_reissue(x, k, id, tok, NULL);

    if (rc == CTL_NOT_FOUND)
        return not_found(k, id);
    if (rc)
        return rc;
    if ((rc = print_token(k, id, tok)) != CTL_OK)
        return rc;
    fprintf(stderr, "chatgwctl: %s %s has a new token (above), shown only this once; the old "
            "one no longer works and its open sessions are closed\n", k->noun, id);
    return CTL_OK;
}

/*
 * Where an agent will be after `set`: the given store and groups, else its
 * current ones (into buf), checked against the known stores.
 */
static int new_placement(struct ctl *x, const char *id, const redisReply *cur,
                         char *buf, size_t cap, char **gv, int *ng)
{
    const struct opts *o = &x->o;
    const char *store = o->store ? o->store : reply_hash_get(cur, "store");
    const char *groups = reply_hash_get(cur, "groups");
    const struct cstore *st;
    int rc;

    if (o->ngroups) {
        memcpy(gv, o->groups, (size_t)o->ngroups * sizeof *gv);
        *ng = o->ngroups;
    } else {
        snprintf(buf, cap, "%s", groups ? groups : "");
        *ng = groups_split(buf, gv, CONFIG_MAX_GROUPS);
    }
    if (!store)
        return ctl_fail(CTL_UNKNOWN_STORE, "agent %s has no store: give --store", id);
    if ((rc = stores_pick(&x->stores, store, &st)) != CTL_OK)
        return rc;
    if ((rc = stores_check_groups(st, gv, *ng)) != CTL_OK && !o->ngroups)
        fprintf(stderr, "chatgwctl: agent %s's groups are not all in store %s: give --group "
                "as well\n", id, st->id);
    return rc;
}

struct set_change {
    const struct kind *k;
    const char *id, *key;
    bool placed, all_stores;
    char groups[CTL_GROUPS_TEXT], cap[16], buf[CTL_GROUPS_TEXT], *gv[CONFIG_MAX_GROUPS];
    char *refresh, *kick;
    size_t reflen, kicklen;
    char now[24];
};

extern const char lua_router[];

static int build_set(struct ctl *x, struct ctl_txn *t, const redisReply *cur, void *ud)
{
    struct set_change *q = ud;
    const struct opts *o = &x->o;
    const struct cstore *st;
    const char *cur_store;
    int ng = 0, rc = CTL_OK;

    if (q->k->agent && q->placed)
        rc = new_placement(x, q->id, cur, q->buf, sizeof q->buf, q->gv, &ng);
    else if (q->placed && !q->all_stores)
        rc = stores_pick(&x->stores, o->store, &st);
    if (rc != CTL_OK)
        return rc;
    txn_cmd(t, "HSET", q->key, NULL);
    if (o->given & O_NAME) {
        txn_arg(t, "name"); txn_arg(t, o->name);
    }
    if (o->given & O_STORE) {
        txn_arg(t, "store"); txn_arg(t, o->store);
    }
    if (q->k->agent && q->placed) {
        groups_join(q->gv, ng, ' ', q->groups, sizeof q->groups);
        txn_arg(t, "groups"); txn_arg(t, q->groups);
    }
    if (o->given & O_CAPACITY) {
        snprintf(q->cap, sizeof q->cap, "%d", o->capacity);
        txn_arg(t, "capacity"); txn_arg(t, q->cap);
    }
    if (q->refresh) {
        /* in the same step: an agent moved to another store lets go of
         * its old store's chats (router.lua "refresh"), so that no moment
         * exists where it holds a chat of a store it is not in */
        now_ms_text(q->now, sizeof q->now);
        txn_cmd(t, "EVAL", lua_router, "0", "refresh", q->now, "chatgwctl", q->id, NULL);
        txn_cmd(t, "PUBLISH", "cg:ctl", NULL);
        txn_bin(t, q->refresh, q->reflen);
    }
    if (q->kick && o->store && !((cur_store = reply_hash_get(cur, "store")) &&
                                 strcmp(cur_store, o->store) == 0)) {
        /* its open desks know the old store: they log in again */
        txn_cmd(t, "PUBLISH", "cg:ctl", NULL);
        txn_bin(t, q->kick, q->kicklen);
    }
    return CTL_OK;
}

int cmd_set(struct ctl *x, const struct kind *k, const char *id)
{
    const struct opts *o = &x->o;
    char key[64 + CTL_ID_MAX];
    struct set_change q = { .k = k, .id = id, .key = key,
                            .placed = (o->given & (O_STORE | O_GROUP)) != 0,
                            .all_stores = !k->agent && o->store && strcmp(o->store, "*") == 0 };
    int rc;

    ident_key(k, id, key, sizeof key);
    if (q.placed && !q.all_stores && (rc = ctl_need_stores(x)) != CTL_OK)
        return rc;
    /* nodes put the agent back in the right ready sets (groups, capacity)
     * at once; its open sessions keep the rest until they log in again */
    if (k->agent) {
        q.refresh = ctl_payload("refresh", k, id, &q.reflen);
        q.kick = ctl_payload("kick", k, id, &q.kicklen);
        if (!q.refresh || !q.kick) {
            free(q.refresh);
            free(q.kick);
            return ctl_fail(CTL_FAIL, "out of memory");
        }
    }
    rc = update_identity(x, k, id, true, build_set, &q);
    free(q.refresh);
    free(q.kick);
    if (rc == CTL_OK)
        fprintf(stderr, "chatgwctl: %s %s updated (routing uses the new groups and "
                "capacity now; open sessions show the rest after their next login)\n",
                k->noun, id);
    return rc;
}

struct del_change {
    const struct kind *k;
    const char *id, *key;
    char oldkey[8 + TOKEN_HASH_HEX + 1];
    char *kick;
    size_t kicklen;
};

static int build_del(struct ctl *x, struct ctl_txn *t, const redisReply *cur, void *ud)
{
    struct del_change *q = ud;
    const char *old = reply_hash_get(cur, "tok");

    (void)x;
    if (old && *old) {
        snprintf(q->oldkey, sizeof q->oldkey, "cg:tok:%s", old);
        txn_cmd(t, "DEL", q->key, q->oldkey, NULL);
    } else {
        txn_cmd(t, "DEL", q->key, NULL);
    }
    txn_cmd(t, "SREM", q->k->set, q->id, NULL);
    if (q->k->agent)              /* grace over at once: the nodes requeue its chats */
        txn_cmd(t, "ZADD", "cg:agents:offline", "0", q->id, NULL);
    txn_cmd(t, "PUBLISH", "cg:ctl", NULL);
    txn_bin(t, q->kick, q->kicklen);
    return CTL_OK;
}

int cmd_del(struct ctl *x, const struct kind *k, const char *id)
{
    char key[64 + CTL_ID_MAX];
    struct del_change q = { .k = k, .id = id, .key = key };
    int rc;

    if (!(q.kick = ctl_payload("kick", k, id, &q.kicklen)))
        return ctl_fail(CTL_FAIL, "out of memory");
    ident_key(k, id, key, sizeof key);
    rc = update_identity(x, k, id, true, build_del, &q);
    free(q.kick);
    if (rc == CTL_OK && k->agent)            /* its groups' service hours may narrow */
        roster_notice(x, id);
    if (rc == CTL_OK)
        fprintf(stderr, "chatgwctl: %s %s deleted; its token no longer works and its open "
                "sessions are closed%s\n", k->noun, id,
                k->agent ? "; its chats go back to the queue" : "");
    return rc;
}

