/*
 * ctl_link.h - chatgwctl's one synchronous connection to Redis.
 *
 * chatgwctl runs a handful of commands and exits, so it talks to Redis the
 * plain blocking way (hiredis redisContext with a timeout on connect and on
 * every reply), unlike the daemon's libuv link in daemon/db.c, whose URL
 * parser and redaction it shares.
 *
 * Which Redis: --redis URL; else the `redis` option of the -c config, or
 * when that is empty (embedded Redis) unix://<state_dir>/redis.sock; with
 * neither, the embedded Redis of `make run` (./var/redis.sock) if that
 * socket exists, else the packaged one (/var/lib/chatgw/redis.sock).
 *
 * Every failure is reported here, once, naming the redacted URL (never the
 * password) and why; the caller just returns CTL_REDIS. Multi-key writes go
 * through link_exec: the commands of one ctl_txn are sent as MULTI ... EXEC
 * after the caller WATCHed the keys it read, so either all of them happen
 * or none (and a concurrent change makes EXEC fail; the caller re-reads).
 *
 * API: link_open, link_close, link_call, link_callv, link_where,
 *      txn_cmd, txn_arg, txn_bin, link_exec, reply_hash_get.
 */
#ifndef CHATGW_CTL_LINK_H
#define CHATGW_CTL_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#include "config.h"

struct ctl_link {
    redisContext *c;
    char where[320];              /* redacted URL, for messages */
};

/*
 * Picks the Redis as described above and connects, authenticates, checks
 * with PING and selects the db. redis_opt and cfg may be NULL. Returns
 * CTL_OK, CTL_USAGE (bad URL) or CTL_REDIS, having said why.
 */
int link_open(struct ctl_link *l, const char *redis_opt, const struct config *cfg,
              uint64_t timeout_ms);
void link_close(struct ctl_link *l);
const char *link_where(const struct ctl_link *l);

/* One command. Returns its reply (free with freeReplyObject), or NULL after
 * reporting a lost link or an error reply. */
redisReply *link_call(struct ctl_link *l, int argc, const char **argv, const size_t *lens);
/* Same with NUL-terminated string arguments, the list ended by NULL. */
redisReply *link_callv(struct ctl_link *l, const char *arg, ...) __attribute__((sentinel));

#define TXN_MAX_CMDS 8
#define TXN_MAX_ARGS 24

/* Commands to run as one MULTI/EXEC. Arguments are borrowed, not copied. */
struct ctl_txn {
    int n;
    int overflow;                 /* more than TXN_MAX_*: a bug; link_exec refuses */
    struct txn_cmd {
        int argc;
        const char *argv[TXN_MAX_ARGS];
        size_t len[TXN_MAX_ARGS];
    } cmd[TXN_MAX_CMDS];
};

/* Starts a new command with its NUL-terminated words (ended by NULL). */
void txn_cmd(struct ctl_txn *t, const char *arg, ...) __attribute__((sentinel));
/* Adds one more string / binary argument to the last command. */
void txn_arg(struct ctl_txn *t, const char *s);
void txn_bin(struct ctl_txn *t, const void *p, size_t len);

/*
 * Runs t as MULTI ... EXEC. Returns 1 when it was applied, 0 when EXEC was
 * aborted because a WATCHed key changed (nothing was applied), -1 after
 * reporting a failure (nothing or, if Redis failed mid-EXEC, part applied:
 * Redis does not roll back, but it only fails that way when out of memory).
 */
int link_exec(struct ctl_link *l, struct ctl_txn *t);

/* The value of field in an HGETALL reply, or NULL. */
const char *reply_hash_get(const redisReply *r, const char *field);

#endif
