/*
 * client.h - what a buyer session (load_worker.c) and an agent
 * (load_agent.c) do alike: the ramp that starts them, the connection,
 * sending a frame, reading frames through the role's table, and the
 * accounting of how a connection ended.
 *
 * Each role keeps its clients in one array of its own struct, which
 * starts with a struct client, and describes them with a struct
 * client_set: the array, the role's frame table, its ws callbacks and the
 * struct role_result it counts into. The role keeps its script (states,
 * timeouts, what a frame means); this file only holds what would
 * otherwise be written twice.
 *
 * API: struct client, struct client_frame, struct client_set,
 *      client_set_init, client_ramp_start, client_connect, client_send,
 *      client_close, client_abort_all, client_on_message, client_on_closed,
 *      client_error, now_ns, us_since.
 */
#ifndef CHATGW_LOAD_CLIENT_H
#define CHATGW_LOAD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "load.h"

struct client {
    struct ws_conn ws;              /* first: the ws callbacks cast back */
    uint32_t g;                     /* number in the whole run */
    uint8_t closed_by_us;           /* its end is ours: not counted as a close */
};

/* One frame type a role reads: a row of its table, which ends with a
 * NULL type. A frame that matches no row (or lacks a required seq) is
 * counted as unexpected. */
struct client_frame {
    const char *type;
    bool needs_seq;
    void (*on_frame)(struct client *c, const struct wire_reply *r);
};

struct client_set {
    const char *role;               /* "session", "agent": in -v notes */
    const struct load_opts *o;
    uv_loop_t *loop;
    void *clients;                  /* n structs of `size` bytes, each a struct client first */
    size_t size;
    uint32_t n, next_start, connecting, open;
    const struct client_frame *frames;
    const struct ws_handler *handler;
    struct role_result *res;
    /* the ramp: client g is due at t0 + g/rate (rate 0: as fast as
     * CLIENT_MAX_CONNECTING handshakes at a time allow) */
    double rate;
    uint64_t t0;
    void (*start)(struct client *c);
    uv_timer_t ramp;
    bool stopping;                  /* no more starts */
};

#define CLIENT_MAX_CONNECTING 256

static inline uint64_t now_ns(void)
{
    return uv_hrtime();
}

static inline uint64_t us_since(uint64_t t)
{
    uint64_t now = now_ns();
    return now > t ? (now - t) / 1000 : 0;
}

/* Initializes the ramp timer on s->loop (s is filled in by the role). */
void client_set_init(struct client_set *s);
/* Starts the clients on the ramp, from t0 (uv_hrtime). */
void client_ramp_start(struct client_set *s, uint64_t t0);
/* Connects c to t (from its --src-ips address). 0, or the libuv error
 * when nothing was started: then the role fails it. */
int client_connect(struct client_set *s, struct client *c, const struct ws_target *t);
/* Sends one frame of n bytes (n 0: it did not fit, nothing is sent). */
void client_send(const struct client_set *s, struct client *c, const uint8_t *p, size_t n);
/* Closes c politely (close 1000); its end is not counted as a close. */
void client_close(struct client *c);
/* Drops every connection of the set that is still open. */
void client_abort_all(struct client_set *s);
/* Reads one frame: bad or unexpected ones are counted, others go to
 * their row of s->frames. */
void client_on_message(struct client_set *s, struct client *c, const uint8_t *p, size_t n,
                       bool binary);
/* Counts a connection's end (the gateway's close code, unless it was
 * ours) and says why in detail; returns what failed, should the client
 * not have been done. */
enum fail client_on_closed(struct client_set *s, struct client *c, enum ws_why why,
                           unsigned code, int err, char *detail, size_t cap);
/* Counts an error frame and copies its code (at most 32 bytes) into code. */
void client_error(struct client_set *s, const struct wire_reply *r, char *code, size_t cap);

#endif
