/*
 * session.c - WebSocket sessions: admission, inbound frames, outbound
 * queue, limits, keepalive and closing, for every role.
 *
 * Inbound: lws hands a message in pieces (rx buffer, fragments). A message
 * that arrives whole is decoded straight from lws's buffer; otherwise the
 * pieces are gathered in s->rx, never past max_frame_bytes (over it: close
 * 1009 at once, before buffering). Each message is decoded into one shared
 * arena, validated against the role's frame table and dispatched.
 *
 * Outbound: frames are copied into a per-session FIFO with LWS_PRE headroom.
 * Sending one only puts the session on the flush list; sessions_flush(),
 * run once per loop turn before the loop polls, writes each session's
 * frames with one write (several gathered into one buffer). Only when the
 * kernel takes less does lws wait for WRITEABLE. Asking lws for WRITEABLE
 * per frame cost 4 epoll_ctl and a poll() per frame (libuv restarts a poll
 * handle as DEL + ADD).
 * A reader that lets more than outbound_max_bytes pile up is cut off
 * (1008): memory per session stays bounded whatever the peer does.
 *
 * Limits: a token bucket for messages (the roles take from it), one for
 * typing/read signals (taken here; the excess is dropped unanswered, so a
 * flood costs a decode per frame and no reply), a window counting bad frames, a
 * bound on Redis requests in flight (reading pauses with rx flow control),
 * the per-address session count. Timers: one sweep visits every session
 * once a second (a tenth of them every 100 ms) to send pings, close idle
 * peers and sessions that never said hello, and give each role its tick.
 *
 * API: see session.h.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "gw.h"
#include "iplimit.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

struct outframe {
    struct outframe *next;
    uint32_t len;
    uint8_t binary;
    unsigned char data[];          /* LWS_PRE headroom, then len bytes */
};

static const struct role *roles[ROLE__COUNT];   /* registered, by kind */

static struct {
    struct session *head;
    struct session *cursor;        /* the sweep's next session (NULL: the head) */
    struct session *flush;         /* sessions with output to write this turn */
    unsigned count;
    struct proto_arena arena;
    uint32_t arena_elems;
    size_t arena_bytes;
    struct proto_writer w;
    uv_timer_t tick;
    bool ticking;                  /* tick initialised, not yet closed */
} S;

/* ---- outbound ------------------------------------------------------------ */

struct proto_writer *session_writer(struct session *s)
{
    proto_writer_reset(&S.w, (enum proto_enc)s->enc);
    return &S.w;
}

static void free_outbound(struct session *s)
{
    while (s->out_head) {
        struct outframe *f = s->out_head;
        s->out_head = f->next;
        free(f);
    }
    s->out_tail = NULL;
    s->out_bytes = 0;
}

/* Marks s as having output for sessions_flush (the list holds a reference). */
static void want_flush(struct session *s)
{
    if (s->on_flush)
        return;
    s->on_flush = 1;
    session_ref(s);
    s->flush_next = S.flush;
    S.flush = s;
}

/* Starts closing: what is queued still goes out, then the close frame.
 * lws kills the socket if that has not happened within `grace_s`. */
static void begin_close(struct session *s, uint16_t code, enum close_reason why, int grace_s)
{
    if (!s->wsi || s->closing)
        return;
    s->closing = 1;
    s->close_code = code;
    s->close_reason = (uint8_t)why;
    if (why != CLOSE_NORMAL)
        metrics.closes[why]++;
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, grace_s);
    lws_callback_on_writable(s->wsi);
}

void session_close(struct session *s, uint16_t code, enum close_reason why)
{
    begin_close(s, code, why, 5);
}

void session_send(struct session *s, struct proto_writer *w)
{
    struct outframe *f;

    if (!session_alive(s) || w->err)
        return;
    if (s->out_bytes + w->len > gw.cfg->outbound_max_bytes) {
        log_warn("slow_reader", "role=%s queued=%u", s->role->name, s->out_bytes);
        free_outbound(s);
        begin_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_SLOW_READER, 2);
        return;
    }
    f = malloc(sizeof *f + LWS_PRE + w->len);
    if (!f)
        return;
    f->next = NULL;
    f->len = (uint32_t)w->len;
    f->binary = s->enc == PROTO_MSGPACK;
    memcpy(f->data + LWS_PRE, proto_writer_data(w), w->len);
    if (s->out_tail)
        s->out_tail->next = f;
    else
        s->out_head = f;
    s->out_tail = f;
    s->out_bytes += f->len;
    want_flush(s);
}

void session_error(struct session *s, enum cg_err err, const char *ref)
{
    session_error_field(s, err, ref, NULL);
}

void session_error_field(struct session *s, enum cg_err err, const char *ref,
                         const char *field)
{
    struct proto_writer *w = session_writer(s);

    metrics.errors[err]++;
    proto_w_map(w, 3 + (ref != NULL) + (field != NULL));
    proto_w_key(w, "t");
    proto_w_cstr(w, "error");
    proto_w_key(w, "code");
    proto_w_cstr(w, cg_err_code(err));
    proto_w_key(w, "text");
    proto_w_cstr(w, cg_err_text(err));
    if (ref) {
        proto_w_key(w, "ref");
        proto_w_cstr(w, ref);
    }
    if (field) {
        proto_w_key(w, "field");
        proto_w_cstr(w, field);
    }
    session_send(s, w);
}

/*
 * The WebSocket header of an unmasked server frame (FIN set) carrying len
 * bytes; returns its size, 2, 4 or 10.
 */
static size_t frame_header(unsigned char *h, uint8_t opcode, size_t len)
{
    h[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static void frame_sent(struct session *s)
{
    struct outframe *f = s->out_head;

    s->out_head = f->next;
    if (!s->out_head)
        s->out_tail = NULL;
    s->out_bytes -= f->len;
    metrics.frames_out++;
    metrics.bytes_out += f->len;
    free(f);
}

/*
 * Writes what is queued (and a due ping) with one write: one frame goes
 * out from its own buffer, several are framed here and gathered, up to
 * GATHER_MAX bytes. What the kernel does not take lws keeps and sends
 * first when the socket is writable again (lws_partial_buffered).
 * Returns -1 when the connection failed.
 */
#define GATHER_MAX (64 * 1024)

static int write_out(struct session *s)
{
    static unsigned char buf[LWS_PRE + GATHER_MAX];
    unsigned char *p = buf + LWS_PRE;
    struct lws *wsi = s->wsi;
    size_t n = 0;

    if (s->out_head && !s->out_head->next && !s->ping_due) {
        struct outframe *f = s->out_head;
        if (lws_write(wsi, f->data + LWS_PRE, f->len,
                      f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)f->len)
            return -1;
        frame_sent(s);
        return 0;
    }
    if (!s->out_head && s->ping_due) {
        /* lws drops an empty pong before our callback sees it: ping with a payload */
        static unsigned char ping[LWS_PRE + 2] = { [LWS_PRE] = 'c', [LWS_PRE + 1] = 'g' };
        s->ping_due = 0;
        return lws_write(wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 2 ? -1 : 0;
    }
    while (s->out_head) {
        struct outframe *f = s->out_head;
        if (n + 10 + f->len > GATHER_MAX) {
            if (n == 0) {           /* a frame larger than the buffer: alone */
                if (lws_write(wsi, f->data + LWS_PRE, f->len,
                              f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)f->len)
                    return -1;
                frame_sent(s);
                return 0;
            }
            break;
        }
        n += frame_header(p + n, f->binary ? 2 : 1, f->len);
        memcpy(p + n, f->data + LWS_PRE, f->len);
        n += f->len;
        frame_sent(s);
    }
    if (s->ping_due && n + 4 <= GATHER_MAX) {
        s->ping_due = 0;
        n += frame_header(p + n, 9, 2);
        p[n++] = 'c';
        p[n++] = 'g';
    }
    /* LWS_WRITE_RAW: the bytes are already WebSocket frames */
    return n && lws_write(wsi, p, n, LWS_WRITE_RAW) < (int)n ? -1 : 0;
}

/* Sends the close frame after what was queued; returns -1 to drop the socket. */
static int write_close(struct session *s)
{
    static const char *const why[] = {
#define CR_STR(name, str) str,
        CLOSE_REASON_MAP(CR_STR)
#undef CR_STR
    };
    /*
     * lws sends no close frame when WRITEABLE returns -1 (it takes that
     * as a failed write, and so does a timeout), so write the frame
     * ourselves: opcode 4 is lws's internal LWS_WRITE_CLOSE, the one
     * lws_close_reason would use. Then drop the connection; the peer's
     * answering close is not waited for.
     */
    unsigned char frame[LWS_PRE + 2 + 32];
    const char *r = why[s->close_reason];
    size_t n = strlen(r) < 32 ? strlen(r) : 32;

    frame[LWS_PRE] = (unsigned char)(s->close_code >> 8);
    frame[LWS_PRE + 1] = (unsigned char)(s->close_code & 0xff);
    memcpy(frame + LWS_PRE + 2, r, n);
    lws_write(s->wsi, frame + LWS_PRE, 2 + n, (enum lws_write_protocol)4);
    return -1;
}

/*
 * Writes what can go now, and says what comes next: lws's WRITEABLE once
 * the kernel takes more (lws asks for it itself when it kept a part), the
 * close frame once a closing session has drained, or the role's on_drain.
 */
static int send_pending(struct session *s)
{
    struct lws *wsi = s->wsi;

    if (write_out(s) < 0)
        return -1;
    if (lws_partial_buffered(wsi))
        return 0;
    if (s->out_head || s->ping_due) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->closing)
        return write_close(s);
    if (s->role->on_drain)
        s->role->on_drain(s);
    return 0;
}

void sessions_flush(void)
{
    while (S.flush) {
        struct session *s = S.flush;

        S.flush = s->flush_next;
        s->flush_next = NULL;
        s->on_flush = 0;
        /* closing sessions finish on WRITEABLE; lws holding a part waits too */
        if (s->wsi && !s->closing && !lws_partial_buffered(s->wsi) && send_pending(s) < 0)
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        session_unref(s);
    }
}

/* ---- limits -------------------------------------------------------------- */

bool session_take_token(struct session *s)
{
    bool agent = s->role->kind == ROLE_AGENT;

    return bucket_take(&s->msgs, agent ? gw.cfg->agent_msg_rate : gw.cfg->msg_rate,
                       agent ? gw.cfg->agent_msg_burst : gw.cfg->msg_burst, gw_now_ms());
}

bool session_take_chat(struct session *s)
{
    return iplimit_take_chat(s->ip, gw.cfg->new_chat_rate, gw.cfg->new_chat_burst, gw_now_ms());
}

void session_ref(struct session *s)
{
    s->refs++;
}

void session_unref(struct session *s)
{
    if (--s->refs > 0)
        return;
    if (s->role->on_free)
        s->role->on_free(s);
    free(s->origin);
    free(s);
}

/* Count a Redis request in flight; reading pauses at inflight_max. */
static void session_req_begin(struct session *s)
{
    session_ref(s);
    if (++s->inflight >= gw.cfg->inflight_max && s->wsi && !s->rx_paused) {
        s->rx_paused = 1;
        lws_rx_flow_control(s->wsi, 0);
    }
}

static void session_req_end(struct session *s)
{
    s->inflight--;
    if (s->rx_paused && s->inflight < gw.cfg->inflight_max && s->wsi) {
        s->rx_paused = 0;
        lws_rx_flow_control(s->wsi, 1);
    }
    session_unref(s);
}

void *session_req_new(struct session *s, size_t size)
{
    struct session **req = calloc(1, size);

    if (!req)
        return NULL;
    *req = s;
    session_req_begin(s);
    return req;
}

bool session_req_done(void *req, struct session **sp)
{
    struct session *s = *(struct session **)req;
    bool alive = session_alive(s);

    *sp = s;
    free(req);
    session_req_end(s);       /* when alive, the socket still holds a ref */
    return alive;
}

void session_req_drop(void *req)
{
    struct session *s = *(struct session **)req;

    free(req);
    session_req_end(s);
}

/* Counts a bad frame; true when the session has had too many and closes. */
static bool note_bad_frame(struct session *s)
{
    uint64_t now = gw_now_ms();

    if (s->bad_count == 0 || now - s->bad_since_ms > gw.cfg->bad_frames_window_ms) {
        s->bad_since_ms = now;
        s->bad_count = 0;
    }
    if (++s->bad_count < gw.cfg->bad_frames_max)
        return false;
    log_info("session_closed", "role=%s reason=bad_frames", s->role->name);
    session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_BAD_FRAMES);
    return true;
}

/* ---- inbound ------------------------------------------------------------- */

static const char *frame_ref(const struct proto_value *frame)
{
    const struct proto_value *id = proto_map_get(frame, "id");
    return id && id->type == PROTO_STR && id->len > 0 && id->len <= 64 ? id->u.s : NULL;
}

static const struct frame_handler *find_handler(const struct role *r, const char *t)
{
    const struct frame_handler *h;

    for (h = r->frames; h->type; h++)
        if (strcmp(h->type, t) == 0)
            return h;
    return NULL;
}

static void dispatch(struct session *s, const struct proto_value *frame)
{
    const struct proto_value *t = proto_map_get(frame, "t");
    const struct frame_handler *h;
    const char *ref = frame_ref(frame);
    const struct field_spec *f;

    if (!t || t->type != PROTO_STR) {
        session_error(s, CG_E_BAD_FRAME, ref);
        note_bad_frame(s);
        return;
    }
    h = find_handler(s->role, t->u.s);
    if (!h) {
        session_error(s, CG_E_BAD_TYPE, ref);
        note_bad_frame(s);
        return;
    }
    if (h->signal && !bucket_take(&s->signals, gw.cfg->signal_rate, gw.cfg->signal_burst,
                                  gw_now_ms())) {
        metrics.signals_dropped++;
        return;
    }
    if (h->needs_hello && !s->hello_done) {
        session_error(s, CG_E_NO_SESSION, ref);
        return;
    }
    for (f = h->required; f < h->required + 4 && f->name; f++) {
        const struct proto_value *v = proto_map_get(frame, f->name);
        if (!v) {
            session_error_field(s, CG_E_MISSING_FIELD, ref, f->name);
            return;
        }
        if (v->type != f->type) {
            session_error_field(s, CG_E_BAD_VALUE, ref, f->name);
            return;
        }
    }
    h->fn(s, frame);
}

static void on_message(struct session *s, const void *buf, size_t len, bool binary)
{
    enum proto_enc enc = binary ? PROTO_MSGPACK : PROTO_JSON;
    struct proto_limits lim = { gw.cfg->max_depth, gw.cfg->max_elems };
    const struct proto_value *frame;
    enum proto_status st;

    metrics.frames_in++;
    metrics.bytes_in += len;
    if (!s->enc_known) {
        s->enc = (uint8_t)enc;
        s->enc_known = 1;
    }
    st = proto_decode(buf, len, enc, &lim, &S.arena, &frame);
    if (st != PROTO_OK) {
        log_debug("bad_frame", "role=%s why=\"%s\"", s->role->name, proto_status_str(st));
        session_error(s, CG_E_BAD_FRAME, NULL);
        note_bad_frame(s);
        return;
    }
    dispatch(s, frame);
}

static int on_receive(struct session *s, struct lws *wsi, const void *in, size_t len)
{
    size_t remaining = lws_remaining_packet_payload(wsi);
    bool final = lws_is_final_fragment(wsi) && remaining == 0;
    bool binary = lws_frame_is_binary(wsi);
    uint32_t max = gw.cfg->max_frame_bytes;

    s->last_rx_ms = gw_now_ms();
    if (s->closing)
        return 0;
    if ((uint64_t)s->rx_len + len + remaining > max) {
        /*
         * One close frame, ours, like every other close: returning -1 with
         * lws_close_reason had lws send its 1009 and then our WRITEABLE
         * send a second close (code 0). Stop reading: the rest of the
         * frame is not wanted.
         */
        log_info("session_closed", "role=%s reason=too_large", s->role->name);
        free(s->rx);
        s->rx = NULL;
        s->rx_len = 0;
        lws_rx_flow_control(wsi, 0);
        begin_close(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, CLOSE_TOO_LARGE, 2);
        return 0;
    }
    if (final && s->rx_len == 0) {
        on_message(s, in, len, binary);
        return 0;
    }
    if (!s->rx) {
        s->rx = malloc(max);
        if (!s->rx)
            return -1;
    }
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += (uint32_t)len;
    if (final) {
        char *rx = s->rx;
        uint32_t n = s->rx_len;
        s->rx = NULL;
        s->rx_len = 0;
        on_message(s, rx, n, binary);
        free(rx);
    }
    return 0;
}

/* ---- admission and teardown ---------------------------------------------- */

const struct role *session_role_for_path(const char *path)
{
    for (size_t i = 0; i < ROLE__COUNT; i++)
        if (roles[i] && strcmp(roles[i]->path, path) == 0)
            return roles[i];
    return NULL;
}

static int on_established(struct lws *wsi, struct session **slot, const struct role *role)
{
    char ip[64] = "";
    struct session *s = calloc(1, sizeof *s);
    uint64_t now = gw_now_ms();

    if (!s)
        return -1;
    *slot = s;
    s->wsi = wsi;
    s->role = role;
    s->refs = 1;
    s->created_ms = s->last_rx_ms = s->last_ping_ms = now;
    bucket_fill(&s->msgs, role->kind == ROLE_AGENT ? gw.cfg->agent_msg_burst : gw.cfg->msg_burst,
                now);
    bucket_fill(&s->signals, gw.cfg->signal_burst, now);
    s->next = S.head;
    if (S.head)
        S.head->prev = s;
    S.head = s;
    S.count++;
    metrics.sessions[role->kind]++;
    metrics.sessions_opened[role->kind]++;

    lws_get_peer_simple(wsi, ip, sizeof ip);
    /* the upgrade's headers go with this callback: keep the page a buyer
     * came from while some store limits them (checked at hello) */
    int olen = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (role->kind == ROLE_BUYER && olen > 0 && olen < 512 && config_buyer_origins_used(gw.cfg) &&
        (s->origin = malloc((size_t)olen + 1)) &&
        lws_hdr_copy(wsi, s->origin, olen + 1, WSI_TOKEN_ORIGIN) <= 0)
        s->origin[0] = '\0';
    /* the kernel's send buffer is capped too: set on the listener (server.c) */
    if (gw.shutting_down) {
        session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, CLOSE_SHUTDOWN);
        return 0;
    }
    if (S.count > gw.cfg->max_sessions) {
        log_warn("session_refused", "reason=full ip=%s", ip);
        session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_FULL);
        return 0;
    }
    s->ip = iplimit_acquire(ip, gw.cfg->max_sessions_per_ip, gw_now_ms());
    if (!s->ip) {
        log_warn("session_refused", "reason=per_ip ip=%s", ip);
        session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_PER_IP);
        return 0;
    }
    if (role->on_open)
        role->on_open(s);
    return 0;
}

static void on_closed(struct session *s)
{
    if (s->role->on_close)
        s->role->on_close(s);
    if (S.cursor == s)
        S.cursor = s->next;
    if (s->prev)
        s->prev->next = s->next;
    else
        S.head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    S.count--;
    metrics.sessions[s->role->kind]--;
    iplimit_release(s->ip, gw_now_ms());
    s->ip = NULL;
    free_outbound(s);
    free(s->rx);
    s->rx = NULL;
    s->wsi = NULL;
    session_unref(s);
}

int sessions_ws_event(struct lws *wsi, int reason, struct session **slot, void *in, size_t len)
{
    struct session *s = *slot;

    switch (reason) {
    case LWS_CALLBACK_RECEIVE:
        return s ? on_receive(s, wsi, in, len) : -1;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (s)
            s->last_rx_ms = gw_now_ms();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s && s->wsi ? send_pending(s) : 0;
    case LWS_CALLBACK_CLOSED:
        if (s) {
            *slot = NULL;
            on_closed(s);
        }
        return 0;
    default:
        return 0;
    }
}

int sessions_establish(struct lws *wsi, struct session **slot, const struct role *role)
{
    return on_established(wsi, slot, role);
}

/* ---- the sweep ------------------------------------------------------------ */

/*
 * The sweep visits every session once per sweep interval, a slice at a
 * time: SWEEP_SLICES ticks per interval, each visiting its share of the
 * sessions from a cursor (Redis's clientsCron does the same). Visiting all
 * of them in one tick sent every ping that fell due in that second in one
 * loop turn: with 15,000 sessions opened within a few seconds, 2,000 pings
 * at once, a 100 ms stall that new buyers waited through.
 */
#define SWEEP_SLICES 10

static void sweep_one(struct session *s, uint64_t now)
{
    const struct config *c = gw.cfg;

    if (s->closing)
        return;
    if (now - s->last_rx_ms >= c->idle_timeout_ms) {
        log_info("session_closed", "role=%s reason=idle", s->role->name);
        begin_close(s, LWS_CLOSE_STATUS_GOINGAWAY, CLOSE_IDLE, 2);
        return;
    }
    if (!s->hello_done && now - s->created_ms >= c->hello_timeout_ms) {
        log_info("session_closed", "role=%s reason=hello_timeout", s->role->name);
        session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_HELLO_TIMEOUT);
        return;
    }
    if (now - s->last_rx_ms >= c->ping_interval_ms &&
        now - s->last_ping_ms >= c->ping_interval_ms) {
        s->last_ping_ms = now;
        s->ping_due = 1;
        want_flush(s);
    }
    if (s->role->on_tick)
        s->role->on_tick(s, now);
}

static void on_tick(uv_timer_t *t)
{
    uint64_t now = gw_now_ms();
    unsigned n = (S.count + SWEEP_SLICES - 1) / SWEEP_SLICES;

    (void)t;
    while (n-- > 0 && S.count > 0) {
        struct session *s = S.cursor ? S.cursor : S.head;
        S.cursor = s->next;                 /* NULL: start over at the head */
        sweep_one(s, now);                  /* may close s: the cursor moved on */
    }
}

int session_role_add(const struct role *role)
{
    if (role->kind >= ROLE__COUNT || roles[role->kind])
        return -1;
    roles[role->kind] = role;
    return 0;
}

int sessions_init(void)
{
    const struct config *c = gw.cfg;

    memset(&S, 0, sizeof S);
    S.arena_elems = c->max_elems;
    S.arena_bytes = c->max_frame_bytes;
    if (proto_arena_init(&S.arena, c->max_elems, c->max_frame_bytes + c->max_elems) != 0)
        return -1;
    proto_writer_init(&S.w, PROTO_JSON, LWS_PRE);
    uv_timer_init(gw.loop, &S.tick);
    S.ticking = true;
    return 0;
}

static uint64_t sweep_interval_ms(void);

/* Re-sizes the decode arena and re-times the sweep after a reload. */
int sessions_reconfigure(void)
{
    const struct config *c = gw.cfg;
    struct proto_arena a;

    if (uv_is_active((uv_handle_t *)&S.tick))
        sessions_tick_start();              /* timers may have changed */
    if (c->max_elems == S.arena_elems && c->max_frame_bytes == S.arena_bytes)
        return 0;
    if (proto_arena_init(&a, c->max_elems, c->max_frame_bytes + c->max_elems) != 0)
        return -1;
    proto_arena_free(&S.arena);
    S.arena = a;
    S.arena_elems = c->max_elems;
    S.arena_bytes = c->max_frame_bytes;
    return 0;
}

/*
 * The sweep runs often enough to honour the shortest configured timer to
 * within a quarter of it: once a second with the defaults, faster only
 * when a config asks for sub-second pings or hello timeouts (the chat
 * clock has its own timer, router.c).
 */
static uint64_t sweep_interval_ms(void)
{
    const struct config *c = gw.cfg;
    uint64_t m = c->ping_interval_ms;

    if (c->idle_timeout_ms - c->ping_interval_ms < m)
        m = c->idle_timeout_ms - c->ping_interval_ms;
    if (c->hello_timeout_ms < m)
        m = c->hello_timeout_ms;
    m /= 4;
    return m < 50 ? 50 : m > 1000 ? 1000 : m;
}

void sessions_tick_start(void)
{
    uint64_t ms = sweep_interval_ms() / SWEEP_SLICES;
    uv_timer_start(&S.tick, on_tick, ms, ms);
}

unsigned sessions_close_all(void)
{
    struct session *s;

    for (s = S.head; s; s = s->next)
        session_close(s, LWS_CLOSE_STATUS_GOINGAWAY, CLOSE_SHUTDOWN);
    return S.count;
}

unsigned sessions_count(void)
{
    return S.count;
}

void sessions_shutdown(void)
{
    if (!S.ticking)
        return;
    S.ticking = false;
    uv_timer_stop(&S.tick);
    uv_close((uv_handle_t *)&S.tick, NULL);
    proto_arena_free(&S.arena);
    proto_writer_free(&S.w);
    iplimit_free_all();
}
