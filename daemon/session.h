/*
 * session.h - one WebSocket session, whatever its role.
 *
 * A session owns what belongs to its socket and nothing else: its outbound
 * queue, its partial inbound message, its limits (token bucket, bad-frame
 * window, Redis requests in flight), its timers (folded into one sweep).
 * Inbound messages are assembled up to max_frame_bytes, decoded into the
 * shared arena, checked against the role's frame table (type, signal
 * rate, required fields and their types) and handed to the row's handler. Replies go out
 * in the encoding of the client's first frame.
 *
 * Lifetime: a session lives while its socket does and while async requests
 * hold a reference (session_ref/unref). Once the socket is gone, `wsi` is
 * NULL: callbacks that come back later find it dead and drop their answer.
 *
 * API: role tables (struct role), session_send, session_error,
 *      session_close, session_ref/unref, session_alive, session_take_token,
 *      session_req_new/done/drop, sessions_*.
 */
#ifndef CHATGW_SESSION_H
#define CHATGW_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bucket.h"
#include "codec.h"
#include "errors.h"
#include "roles.h"

struct event;
struct lws;
struct session;

/* A required field of a frame: its name and the type it must have. */
struct field_spec {
    const char *name;
    uint8_t type;                  /* enum proto_type */
};

/* One row of a role's dispatch table: a frame type and its handler. */
struct frame_handler {
    const char *type;
    void (*fn)(struct session *s, const struct proto_value *frame);
    bool needs_hello;              /* else answered with no_session */
    struct field_spec required[4];
    bool signal;                   /* typing, read: metered by signal_rate,
                                      the excess dropped unanswered */
};

struct role {
    enum role_kind kind;
    const char *name;              /* "buyer" */
    const char *path;              /* "/v1/buyer" */
    const struct frame_handler *frames;
    void (*on_open)(struct session *s);
    void (*on_close)(struct session *s);   /* socket gone; refs may remain */
    void (*on_free)(struct session *s);    /* last reference dropped */
    void (*on_tick)(struct session *s, uint64_t now_ms); /* once a second */
    void (*on_drain)(struct session *s);   /* outbound queue just emptied */
    void (*on_event)(struct session *s, const struct event *ev); /* one for this session */
    const char *(*store_of)(const struct session *s);  /* its store, or NULL */
    int (*start)(void);                    /* the role's own state, before any session */
    void (*stop)(void);                    /* ... freed once the loop has drained */
};

struct outframe;

struct session {
    struct lws *wsi;               /* NULL once the socket is closed */
    const struct role *role;
    struct session *prev, *next;   /* all live sessions */
    struct session *flush_next;    /* on the flush list (on_flush) */
    struct outframe *out_head, *out_tail;
    char *rx;                      /* partial message, only while fragmented */
    struct ip_slot *ip;
    char *origin;                  /* a buyer's Origin, kept when some store limits them */
    void *data;                    /* the role's state */
    uint64_t created_ms, last_rx_ms, last_ping_ms, bad_since_ms;
    struct bucket msgs, signals;   /* msg_rate (or agent_msg_rate), signal_rate */
    uint32_t refs, out_bytes, rx_len, inflight, bad_count;
    uint16_t close_code;
    uint8_t enc, enc_known, hello_done, closing, ping_due, rx_paused, close_reason, on_flush;
};

/* Queue the frame held by w (built with session_writer) for sending. */
struct proto_writer *session_writer(struct session *s);
void session_send(struct session *s, struct proto_writer *w);
/* Send {t:"error", code, text, ref?}. */
void session_error(struct session *s, enum cg_err err, const char *ref);
/* The same, naming the offending field ("field": name). */
void session_error_field(struct session *s, enum cg_err err, const char *ref,
                         const char *field);
/* Close after what is queued has gone out (code 1000..4999). */
void session_close(struct session *s, uint16_t code, enum close_reason why);

void session_ref(struct session *s);
void session_unref(struct session *s);
static inline bool session_alive(const struct session *s) { return s->wsi && !s->closing; }

/* Token bucket for messages: true if one may pass now. */
bool session_take_token(struct session *s);
/* One new chat from the session's address (new_chat_rate): true if it may. */
bool session_take_chat(struct session *s);

/*
 * A request to Redis on behalf of a session: any struct whose first member
 * is `struct session *s`. _new allocates it zeroed and counts it in flight;
 * _done frees it and says whether the session can still be answered (*sp
 * is the session either way); _drop frees one that was never sent.
 */
void *session_req_new(struct session *s, size_t size);
bool session_req_done(void *req, struct session **sp);
void session_req_drop(void *req);

/* The role serving a WebSocket path ("/v1/buyer"), or NULL. */
const struct role *session_role_for_path(const char *path);
/* The lws protocol callback hands WebSocket events here; *slot is the
 * connection's session pointer in lws's per-connection user data. */
int sessions_establish(struct lws *wsi, struct session **slot, const struct role *role);
int sessions_ws_event(struct lws *wsi, int reason, struct session **slot, void *in, size_t len);
/* Re-sizes the decode arena after a reload changed frame limits. */
int sessions_reconfigure(void);
int sessions_init(void);
void sessions_tick_start(void);
/* Close every session with 1001; returns the number still open. */
unsigned sessions_close_all(void);
unsigned sessions_count(void);
/* Writes the output sessions queued this loop turn; run before polling. */
void sessions_flush(void);
void sessions_shutdown(void);

/* Serves a role at its path (gateway.c adds each one before sessions_init). */
int session_role_add(const struct role *role);

#endif
