/*
 * db.h - the process's one asynchronous link to Redis.
 *
 * Everything shared between nodes lives in Redis; this module keeps one
 * hiredis async connection on the libuv loop, and keeps it alive: it
 * resolves the host asynchronously (no getaddrinfo on the loop), connects,
 * authenticates, selects the db, loads the Lua scripts, and only then calls
 * itself ready. A lost or stuck connection (no answer within
 * redis_connect_timeout) is dropped and retried with exponential backoff up
 * to redis_backoff_max. A ready link whose oldest request has had no reply
 * for redis_timeout is declared stalled and dropped the same way (the
 * subscriber link is probed on that period). While it is not ready every
 * request fails at once with CG_E_UNAVAILABLE; requests in flight when the
 * link drops get their callback with a NULL reply. Nothing waits, nothing
 * blocks, and no reply is ever matched to a request it does not answer.
 *
 * Scripts (the files in daemon/lua/, embedded at build time) are called by SHA; a
 * NOSCRIPT answer (Redis restarted behind a proxy, SCRIPT FLUSH) makes the
 * link load the script again and resend the same command, transparently.
 *
 * The URL it connects to is parsed by db_url.h.
 *
 * API: db_init, db_start, db_ready, db_command, db_eval, db_subscribe,
 *      db_subscribe_add, db_unsubscribe, db_stop.
 */
#ifndef CHATGW_DB_H
#define CHATGW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <hiredis/hiredis.h>

#include "db_url.h"

enum db_script { DB_LUA_APPEND, DB_LUA_RESUME, DB_LUA_ROUTER, DB_LUA_SCHEMA, DB_LUA_STATS,
                 DB_LUA_FLOOR, DB_LUA_SIGNAL,
                 DB_LUA__COUNT };

/* r is NULL when Redis could not answer (link down or dropped). */
typedef void db_reply_cb(void *ud, redisReply *r);
/* Called each time the link becomes ready or stops being ready. */
typedef void db_state_cb(bool ready);

/* reply_timeout_ms (redis_timeout) applies to both links: call db_init
 * before db_subscribe. */
int db_init(uv_loop_t *loop, const struct db_url *url, uint64_t connect_timeout_ms,
            uint64_t reply_timeout_ms, uint64_t backoff_max_ms, db_state_cb *on_state);
/* Starts connecting the link and, once db_subscribe was called, the
 * subscriber link (the embedded Redis may not be up at db_init). */
void db_start(void);
bool db_ready(void);
/* Sends a command (cb may be NULL: fire and forget). Returns 0, or -1 when the link is not ready (cb not called). */
int db_command(db_reply_cb *cb, void *ud, int argc, const char **argv, const size_t *lens);
/* EVALSHA script with nkeys of the argv being keys, argc at most
 * DB_EVAL_ARGS_MAX. Same contract. */
#define DB_EVAL_ARGS_MAX 160
int db_eval(enum db_script script, db_reply_cb *cb, void *ud, int nkeys,
            int argc, const char **argv, const size_t *lens);
/*
 * The subscriber link: a second connection, kept alive the same way, that
 * SUBSCRIBEs to the given channels on every (re)connect. on_message gets
 * each published payload; on_state says when it is (not) ready, so the
 * caller can catch up on what it may have missed meanwhile. It connects
 * at db_start.
 */
typedef void db_message_cb(const char *channel, const char *payload, size_t len);
int db_subscribe(uv_loop_t *loop, const struct db_url *url, uint64_t connect_timeout_ms,
                 uint64_t backoff_max_ms, const char *const *channels, size_t n,
                 db_message_cb *on_message, db_state_cb *on_state);
/* One more channel for the subscriber link, from now on and on every
 * reconnect; db_unsubscribe drops it (never the first one, the probe's).
 * -1 when out of memory. */
int db_subscribe_add(const char *channel);
void db_unsubscribe(const char *channel);

/* The text of an error reply from one of our scripts, without the "ERR "
 * Redis puts in front of redis.error_reply() strings ("forbidden", ...). */
static inline const char *db_error_text(const redisReply *r)
{
    const char *e = r->str ? r->str : "";
    return e[0] == 'E' && e[1] == 'R' && e[2] == 'R' && e[3] == ' ' ? e + 4 : e;
}

/* Writes what is queued, then closes both links; their handles are closed
 * asynchronously (run the loop). */
void db_stop(void);

#endif
