/*
 * ctl_link.c - chatgwctl's blocking Redis connection and its MULTI/EXEC
 * transactions (see ctl_link.h).
 *
 * Connecting is four steps, each with its own message when it fails:
 * reach the socket (timeout from the config, 2 s by default), AUTH when the
 * URL has a password, PING (a Redis that wants a password says NOAUTH
 * here, one still loading its data says LOADING), SELECT when the URL names
 * a db other than 0. The URL in messages is db_redacted_url's, so a
 * password never reaches the terminal.
 *
 * API: see ctl_link.h.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_link.h"
#include "db_url.h"

#define PACKAGED_SOCK "/var/lib/chatgw/redis.sock"
#define MAKE_RUN_SOCK "var/redis.sock"

/* dir made absolute (unix URLs need an absolute path); "." parts of a
 * relative dir that does not exist yet are kept as they are. A path too
 * long for out is cut, and then fails to connect, saying where. */
static void absolute_dir(const char *dir, char *out, size_t cap)
{
    char cwd[PATH_MAX], real[PATH_MAX];
    int n;

    if (realpath(dir, real))
        n = snprintf(out, cap, "%s", real);
    else if (dir[0] != '/' && getcwd(cwd, sizeof cwd))
        n = snprintf(out, cap, "%s/%s", cwd, dir);
    else
        n = snprintf(out, cap, "%s", dir);
    if (n < 0 || (size_t)n >= cap)
        out[cap - 1] = '\0';
}

/* Which Redis to use: the URL (heap) and, for messages, how it was chosen. */
static char *pick_url(const char *redis_opt, const struct config *cfg, char *how, size_t cap)
{
    char dir[PATH_MAX], *url;
    struct stat st;

    how[0] = '\0';
    if (redis_opt)
        return strdup(redis_opt);
    if (cfg && cfg->redis[0]) {
        snprintf(how, cap, " (the redis option of %s)", cfg->path ? cfg->path : "the config");
        return strdup(cfg->redis);
    }
    if (cfg) {
        snprintf(how, cap, " (the embedded Redis of %s, in state_dir %s: is chatgwd running?)",
                 cfg->path ? cfg->path : "the config", cfg->state_dir);
        absolute_dir(cfg->state_dir, dir, sizeof dir);
    } else if (stat(MAKE_RUN_SOCK, &st) == 0 && S_ISSOCK(st.st_mode)) {
        snprintf(how, cap, " (./" MAKE_RUN_SOCK ", the embedded Redis of make run)");
        absolute_dir("var", dir, sizeof dir);
    } else {
        snprintf(how, cap, " (no --redis or -c given and no ./" MAKE_RUN_SOCK " here: "
                 "is chatgwd running?)");
        return strdup("unix://" PACKAGED_SOCK);
    }
    if (asprintf(&url, "unix://%s/redis.sock", dir) < 0)
        return NULL;
    return url;
}

static bool is_error(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR;
}

/* AUTH, PING and SELECT, each failure with the reason Redis gave. */
static int handshake(struct ctl_link *l, const struct db_url *u)
{
    redisReply *r;
    char db[16];
    int rc = CTL_OK;

    if (u->password) {
        const char *argv[] = { "AUTH", u->password };
        r = redisCommandArgv(l->c, 2, argv, NULL);
        if (!r)
            return ctl_fail(CTL_REDIS, "lost Redis at %s during AUTH: %s", l->where, l->c->errstr);
        if (is_error(r))
            rc = ctl_fail(CTL_REDIS, "Redis at %s refused the password: %s", l->where, r->str);
        freeReplyObject(r);
        if (rc)
            return rc;
    }
    r = redisCommand(l->c, "PING");
    if (!r)
        return ctl_fail(CTL_REDIS, "lost Redis at %s: %s", l->where, l->c->errstr);
    if (is_error(r)) {
        if (strncmp(r->str, "NOAUTH", 6) == 0)
            rc = ctl_fail(CTL_REDIS, "Redis at %s wants a password (%s): give --redis "
                          "redis://:PASSWORD@HOST:PORT", l->where, r->str);
        else
            rc = ctl_fail(CTL_REDIS, "Redis at %s is not answering commands: %s", l->where, r->str);
    }
    freeReplyObject(r);
    if (rc || u->db == 0)
        return rc;
    snprintf(db, sizeof db, "%d", u->db);
    r = link_callv(l, "SELECT", db, NULL);
    if (!r)
        return CTL_REDIS;
    freeReplyObject(r);
    return CTL_OK;
}

int link_open(struct ctl_link *l, const char *redis_opt, const struct config *cfg,
              uint64_t timeout_ms)
{
    struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
                          .tv_usec = (suseconds_t)(timeout_ms % 1000 * 1000) };
    struct db_url u;
    char how[PATH_MAX + 128], err[128], *url;
    int rc;

    memset(l, 0, sizeof *l);
    url = pick_url(redis_opt, cfg, how, sizeof how);
    if (!url)
        return ctl_fail(CTL_FAIL, "out of memory");
    rc = db_url_parse(&u, url, err, sizeof err);
    free(url);                    /* may hold the password: wiped by db_url_free below */
    if (rc != 0)
        return ctl_fail(CTL_USAGE, "bad Redis URL%s: %s (expected redis://[:password@]host[:port][/db] "
                        "or unix:///path[?db=N])", how, err);
    db_redacted_url(&u, l->where, sizeof l->where);
    l->c = u.is_unix ? redisConnectUnixWithTimeout(u.host, tv)
                     : redisConnectWithTimeout(u.host, u.port, tv);
    if (!l->c || l->c->err) {
        rc = ctl_fail(CTL_REDIS, "cannot reach Redis at %s%s: %s", l->where, how,
                      l->c ? l->c->errstr : "out of memory");
    } else if (redisSetTimeout(l->c, tv) != REDIS_OK) {
        rc = ctl_fail(CTL_REDIS, "cannot set a timeout on the link to %s", l->where);
    } else {
        rc = handshake(l, &u);
    }
    db_url_free(&u);
    if (rc)
        link_close(l);
    return rc;
}

void link_close(struct ctl_link *l)
{
    if (l->c)
        redisFree(l->c);
    l->c = NULL;
}

const char *link_where(const struct ctl_link *l)
{
    return l->where;
}

/* A reply as it came, or NULL after reporting a lost link or an error. */
static redisReply *checked(struct ctl_link *l, redisReply *r, const char *what)
{
    if (!r) {
        ctl_fail(CTL_REDIS, "lost Redis at %s during %s: %s", l->where, what,
                 l->c->errstr[0] ? l->c->errstr : "no reply");
        return NULL;
    }
    if (is_error(r)) {
        ctl_fail(CTL_REDIS, "Redis at %s failed %s: %s", l->where, what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *link_call(struct ctl_link *l, int argc, const char **argv, const size_t *lens)
{
    return checked(l, redisCommandArgv(l->c, argc, argv, lens), argv[0]);
}

redisReply *link_callv(struct ctl_link *l, const char *arg, ...)
{
    const char *argv[TXN_MAX_ARGS];
    int argc = 0;
    va_list ap;

    va_start(ap, arg);
    for (; arg && argc < TXN_MAX_ARGS; arg = va_arg(ap, const char *))
        argv[argc++] = arg;
    va_end(ap);
    return link_call(l, argc, argv, NULL);
}

/* ---- transactions ------------------------------------------------------- */

void txn_arg(struct ctl_txn *t, const char *s)
{
    txn_bin(t, s, strlen(s));
}

void txn_bin(struct ctl_txn *t, const void *p, size_t len)
{
    struct txn_cmd *c;

    if (t->n == 0 || t->cmd[t->n - 1].argc >= TXN_MAX_ARGS) {
        t->overflow = 1;
        return;
    }
    c = &t->cmd[t->n - 1];
    c->argv[c->argc] = p;
    c->len[c->argc++] = len;
}

void txn_cmd(struct ctl_txn *t, const char *arg, ...)
{
    va_list ap;

    if (t->n >= TXN_MAX_CMDS) {
        t->overflow = 1;
        return;
    }
    t->cmd[t->n++].argc = 0;
    va_start(ap, arg);
    for (; arg; arg = va_arg(ap, const char *))
        txn_arg(t, arg);
    va_end(ap);
}

int link_exec(struct ctl_link *l, struct ctl_txn *t)
{
    const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
    redisReply *r = NULL;
    int i, rc = -1;

    if (t->overflow || t->n == 0)
        return ctl_fail(CTL_FAIL, "internal error: malformed transaction"), -1;
    redisAppendCommandArgv(l->c, 1, multi, NULL);
    for (i = 0; i < t->n; i++)
        redisAppendCommandArgv(l->c, t->cmd[i].argc, t->cmd[i].argv, t->cmd[i].len);
    redisAppendCommandArgv(l->c, 1, exec, NULL);
    /* MULTI's +OK, one +QUEUED per command, then EXEC's answer */
    for (i = 0; i < t->n + 1; i++) {
        void *v = NULL;
        if (redisGetReply(l->c, &v) != REDIS_OK)
            return checked(l, NULL, "MULTI"), -1;
        r = checked(l, v, i == 0 ? "MULTI" : t->cmd[i - 1].argv[0]);
        if (!r)                   /* EXEC will answer EXECABORT: drain it */
            goto drain;
        freeReplyObject(r);
    }
    {
        void *v = NULL;
        if (redisGetReply(l->c, &v) != REDIS_OK)
            return checked(l, NULL, "EXEC"), -1;
        r = checked(l, v, "EXEC");
    }
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        rc = 0;                   /* a WATCHed key changed */
    } else {
        rc = 1;
        for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
            if (is_error(r->element[k])) {
                ctl_fail(CTL_REDIS, "Redis at %s failed %s inside EXEC: %s", l->where,
                         t->cmd[k].argv[0], r->element[k]->str);
                rc = -1;
            }
    }
    freeReplyObject(r);
    return rc;
drain:
    for (i++; i < t->n + 2; i++) {
        void *v = NULL;
        if (redisGetReply(l->c, &v) != REDIS_OK)
            break;
        freeReplyObject(v);
    }
    return -1;
}

const char *reply_hash_get(const redisReply *r, const char *field)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, field) == 0)
            return r->element[i + 1]->type == REDIS_REPLY_STRING ? r->element[i + 1]->str : NULL;
    return NULL;
}
