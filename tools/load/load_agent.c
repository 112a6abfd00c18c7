/*
 * load_agent.c - the agents of one chatgw-load worker (--agents), on the
 * worker's libuv loop, next to its buyers.
 *
 * Agent g of the run logs in with the g-th token of --agent-tokens, on
 * --agent-url number g % K, and runs:
 *
 *   connect + upgrade -> login -> welcome -> state ready -> state -> ready
 *
 * and from then on serves whatever it is given until the end:
 *
 *   assign {chat}   take it (load + 1); with --agent-greet, reply to it
 *                   after --agent-delay-ms (one FIFO, as the delay is fixed)
 *   msg from buyer  echo it at once: text "a<now> b<the buyer's stamp>";
 *                   after --agent-close-after K of them, close the chat
 *   unassign        let it go (load - 1)
 *
 * Texts carry uv_hrtime stamps (wire_stamp): a buyer writes "b<ns> ...",
 * so the agent measures buyer->agent on receipt; the buyer measures
 * agent->buyer and the round trip from the echo. Forked workers share
 * CLOCK_MONOTONIC, so stamps compare across them.
 *
 * Checks: every assigned chat id goes into a set; one seen before is a
 * double assignment (counted here, and again across workers by the
 * parent from the list of ids). An agent holding more chats than the
 * capacity its welcome gave is over capacity.
 *
 * An agent counts as settled (for the barriers and for 'L') once it is
 * ready, or failed before that; a ready agent the gateway drops later is
 * "lost".
 *
 * API: agents_init, agents_start, agents_sweep, agents_stop, agents_abort,
 *      agents_open, agents_settled, agents_count, agents_assigned, agents_free.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <uv.h>

#include "load.h"

#define CHAT_HEX 32

enum astate {
    A_NEW,          /* not started */
    A_CONNECTING,   /* TCP connect and upgrade */
    A_LOGIN,        /* login sent, waiting for welcome */
    A_STATE,        /* state ready sent, waiting for its answer */
    A_READY,        /* serving chats until the end */
    A_FAILED,
    A_CLOSED        /* closed by us at the end */
};

struct achat {
    char id[CHAT_HEX + 1];
    uint32_t got;                   /* buyer messages received */
    uint8_t closing;                /* close sent */
};

struct agent {
    struct ws_conn ws;              /* first: callbacks cast back */
    uint32_t g;                     /* number in the whole run */
    uint8_t state, closed_by_us, over;
    uint32_t cap, nchats, chats_cap, next_id;
    struct achat *chats;
    uint64_t t_start, t_login, t_wait;
};

/* A reply to an assign, due at `due`. */
struct pending {
    uint32_t agent;
    char chat[CHAT_HEX + 1];
    uint64_t due;
};

static struct {
    struct worker_env env;
    const struct load_opts *o;
    struct load_result *res;
    struct agent *a;
    uint32_t n, next_start, connecting, open, settled;
    uint64_t t0;
    bool stopping;
    uv_timer_t ramp, replies;
    bool timers;
    struct pending *pq;             /* ring of replies due */
    uint32_t pq_head, pq_len, pq_cap;
    uint8_t *set;                   /* open addressing, 16-byte keys, 0 = empty */
    uint32_t set_cap, set_len;
    uint8_t *ids;                   /* every assign's chat id, in order */
    uint64_t nids, ids_cap;
} A;

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static uint64_t us_since(uint64_t t)
{
    uint64_t now = now_ns();
    return now > t ? (now - t) / 1000 : 0;
}

static void note(struct agent *a, const char *what, const char *detail)
{
    worker_note("agent", a->g, what, detail);
}

static void copy_str(char *dst, size_t cap, struct wire_str s)
{
    size_t n = s.n < cap - 1 ? s.n : cap - 1;

    memcpy(dst, s.p, n);
    dst[n] = '\0';
}

/* ---- the set of assigned chats --------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool chat_bytes(struct wire_str s, uint8_t out[16])
{
    if (s.n != CHAT_HEX)
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = hexval(s.p[2 * i]), lo = hexval(s.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool key_empty(const uint8_t *k)
{
    static const uint8_t zero[16];
    return memcmp(k, zero, 16) == 0;
}

static uint32_t key_slot(const uint8_t *k, uint32_t cap)
{
    uint64_t h;

    memcpy(&h, k, sizeof h);       /* chat ids are random already */
    return (uint32_t)(h * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

/* Adds k; false when it was there already (or no memory: then not checked). */
static bool set_add(const uint8_t *k)
{
    if ((A.set_len + 1) * 2 > A.set_cap) {
        uint32_t cap = A.set_cap ? A.set_cap * 2 : 1024;
        uint8_t *set = calloc(cap, 16), *old = A.set;
        if (!set)
            return true;
        for (uint32_t i = 0; i < A.set_cap; i++) {
            const uint8_t *o = old + 16 * (size_t)i;
            uint32_t j;
            if (key_empty(o))
                continue;
            for (j = key_slot(o, cap); !key_empty(set + 16 * (size_t)j); j = (j + 1) & (cap - 1))
                ;
            memcpy(set + 16 * (size_t)j, o, 16);
        }
        free(old);
        A.set = set;
        A.set_cap = cap;
    }
    for (uint32_t j = key_slot(k, A.set_cap);; j = (j + 1) & (A.set_cap - 1)) {
        uint8_t *e = A.set + 16 * (size_t)j;
        if (key_empty(e)) {
            memcpy(e, k, 16);
            A.set_len++;
            return true;
        }
        if (memcmp(e, k, 16) == 0)
            return false;
    }
}

static void ids_add(const uint8_t *k)
{
    if (A.nids == A.ids_cap) {
        uint64_t cap = A.ids_cap ? A.ids_cap * 2 : 1024;
        uint8_t *ids = realloc(A.ids, (size_t)cap * 16);
        if (!ids)
            return;
        A.ids = ids;
        A.ids_cap = cap;
    }
    memcpy(A.ids + 16 * (size_t)A.nids++, k, 16);
}

/* ---- sending ---------------------------------------------------------------- */

static void send_buf(struct agent *a, const uint8_t *p, size_t n)
{
    if (n > 0)
        ws_send(&a->ws, A.o->enc == WIRE_MSGPACK ? WS_OP_BINARY : WS_OP_TEXT, p, n);
}

static void send_msg(struct agent *a, const char *chat, const char *text)
{
    uint8_t b[512];
    char id[16];

    snprintf(id, sizeof id, "a%" PRIu32, ++a->next_id);
    A.res->agent_sent++;
    send_buf(a, b, wire_agent_msg(b, sizeof b, A.o->enc, chat, id, text));
}

static struct achat *find_chat(struct agent *a, struct wire_str chat)
{
    for (uint32_t i = 0; i < a->nchats; i++)
        if (wire_is(chat, a->chats[i].id))
            return &a->chats[i];
    return NULL;
}

static void reply_now(struct agent *a, const char *chat)
{
    char text[64];

    snprintf(text, sizeof text, "a%" PRIu64 " hello, how can I help?", now_ns());
    A.res->replies++;
    send_msg(a, chat, text);
}

static void on_replies_due(uv_timer_t *t);

static void replies_arm(void)
{
    uint64_t now = now_ns(), due;

    if (A.pq_len == 0 || A.stopping) {
        uv_timer_stop(&A.replies);
        return;
    }
    due = A.pq[A.pq_head].due;
    uv_timer_start(&A.replies, on_replies_due, due > now ? (due - now + 999999) / 1000000 : 0, 0);
}

static void on_replies_due(uv_timer_t *t)
{
    uint64_t now = now_ns();

    (void)t;
    while (A.pq_len > 0 && A.pq[A.pq_head].due <= now + 500000) {
        struct pending *p = &A.pq[A.pq_head];
        struct agent *a = &A.a[p->agent];
        struct wire_str chat = { p->chat, CHAT_HEX };
        if (a->state == A_READY && find_chat(a, chat))
            reply_now(a, p->chat);     /* still its chat */
        A.pq_head = (A.pq_head + 1) % A.pq_cap;
        A.pq_len--;
    }
    replies_arm();
}

static void reply_later(struct agent *a, const char *chat)
{
    if (A.pq_len == A.pq_cap) {
        uint32_t cap = A.pq_cap ? A.pq_cap * 2 : 256;
        struct pending *pq = malloc(cap * sizeof *pq);
        if (!pq)
            return;
        for (uint32_t i = 0; i < A.pq_len; i++)
            pq[i] = A.pq[(A.pq_head + i) % A.pq_cap];
        free(A.pq);
        A.pq = pq;
        A.pq_cap = cap;
        A.pq_head = 0;
    }
    struct pending *p = &A.pq[(A.pq_head + A.pq_len++) % A.pq_cap];
    p->agent = (uint32_t)(a - A.a);
    memcpy(p->chat, chat, sizeof p->chat);
    p->due = now_ns() + (uint64_t)(A.o->agent_delay_ms * 1e6);
    if (A.pq_len == 1)
        replies_arm();
}

/* ---- endings -------------------------------------------------------------- */

static void settle(void)
{
    A.settled++;
    worker_progress();
}

static void fail(struct agent *a, enum fail why, const char *detail)
{
    if (a->state == A_READY || a->state == A_FAILED || a->state == A_CLOSED || a->state == A_NEW)
        return;
    if (a->state == A_CONNECTING)
        A.connecting--;
    a->state = A_FAILED;
    A.res->agent_failed[why]++;
    note(a, "failed", detail);
    settle();
}

static void fail_and_close(struct agent *a, enum fail why, const char *detail)
{
    fail(a, why, detail);
    a->closed_by_us = 1;
    ws_close(&a->ws, 1000);
}

/* ---- frames from the gateway ---------------------------------------------- */

static void on_welcome(struct agent *a, const struct wire_reply *r)
{
    uint8_t b[64];

    if (a->state != A_LOGIN) {
        A.res->agent_other_frames++;
        return;
    }
    hist_add(&A.res->lat[LAT_LOGIN], us_since(a->t_login));
    a->cap = r->has_capacity && r->capacity > 0 ? (uint32_t)r->capacity : 0;
    a->state = A_STATE;
    a->t_wait = now_ns();
    send_buf(a, b, wire_state(b, sizeof b, A.o->enc, "ready"));
}

static void on_state(struct agent *a, const struct wire_reply *r)
{
    uint64_t now = now_ns();

    if (a->state != A_STATE || !wire_is(r->state, "ready")) {
        A.res->agent_other_frames++;
        return;
    }
    a->state = A_READY;
    A.res->agents_ready++;
    if (!A.res->t_first_ready || now < A.res->t_first_ready)
        A.res->t_first_ready = now;
    settle();
}

static void on_assign(struct agent *a, const struct wire_reply *r)
{
    uint8_t key[16];
    uint64_t now = now_ns();
    struct achat *c;

    if (a->state != A_READY && a->state != A_STATE) {
        A.res->agent_other_frames++;
        return;
    }
    if (!chat_bytes(r->chat, key)) {
        A.res->agent_bad_frames++;
        return;
    }
    A.res->assigns++;
    if (!A.res->t_first_assign || now < A.res->t_first_assign)
        A.res->t_first_assign = now;
    if (now > A.res->t_last_assign)
        A.res->t_last_assign = now;
    ids_add(key);
    if (!set_add(key)) {
        A.res->double_local++;
        note(a, "double assignment", NULL);
    }
    if (find_chat(a, r->chat))
        return;                        /* the same chat again: counted above */
    if (a->nchats == a->chats_cap) {
        uint32_t cap = a->chats_cap ? a->chats_cap * 2 : 4;
        struct achat *v = realloc(a->chats, cap * sizeof *v);
        if (!v)
            return;
        a->chats = v;
        a->chats_cap = cap;
    }
    c = &a->chats[a->nchats++];
    memset(c, 0, sizeof *c);
    copy_str(c->id, sizeof c->id, r->chat);
    if (a->nchats > A.res->max_load)
        A.res->max_load = a->nchats;
    if (a->cap && a->nchats > a->cap) {
        A.res->over_capacity_events++;
        if (!a->over) {
            a->over = 1;
            A.res->agents_over_capacity++;
            note(a, "over capacity", c->id);
        }
    }
    if (A.o->agent_greet) {
        if (A.o->agent_delay_ms > 0)
            reply_later(a, c->id);
        else
            reply_now(a, c->id);
    }
}

static void on_unassign(struct agent *a, const struct wire_reply *r)
{
    struct achat *c = find_chat(a, r->chat);

    A.res->unassigns++;
    if (!c)
        return;
    *c = a->chats[--a->nchats];
}

static void on_msg(struct agent *a, const struct wire_reply *r)
{
    uint64_t stamp, now = now_ns();
    struct achat *c;
    char text[64];

    if (!wire_is(r->from, "buyer")) {
        A.res->other_msgs_in++;
        return;
    }
    A.res->buyer_msgs_in++;
    stamp = wire_stamp(r->text, 'b');
    if (stamp && stamp <= now) {
        uint64_t us = (now - stamp) / 1000;
        hist_add(&A.res->lat[LAT_B2A], us);
        if (stamp >= A.o->t0_ns && (stamp - A.o->t0_ns) / 1000000000ull < LOAD_TIMELINE) {
            struct tl_sec *t = &A.res->timeline[(stamp - A.o->t0_ns) / 1000000000ull];
            t->n++;
            t->slow += us > LOAD_SLOW_US;
            if (us > t->max_us)
                t->max_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
    }
    if (!(c = find_chat(a, r->chat))) {
        A.res->unknown_chat_msgs++;    /* a chat it does not hold (any more) */
        return;
    }
    c->got++;
    if (c->closing)
        return;
    snprintf(text, sizeof text, "a%" PRIu64 " b%" PRIu64, now_ns(), stamp);
    send_msg(a, c->id, text);
    if (A.o->agent_close_after && c->got >= A.o->agent_close_after) {
        uint8_t b[128];
        c->closing = 1;
        A.res->chat_closes++;
        send_buf(a, b, wire_close(b, sizeof b, A.o->enc, c->id));
    }
}

static void on_error(struct agent *a, const struct wire_reply *r)
{
    char code[40];

    A.res->agent_errors[result_error_index(r->code)]++;
    snprintf(code, sizeof code, "%.*s", (int)(r->code.n < 32 ? r->code.n : 32), r->code.p);
    if (r->ref.n > 0 && r->ref.p[0] == 'a') {
        A.res->agent_refused++;
        note(a, "message refused", code);
    } else if (a->state == A_LOGIN || a->state == A_STATE) {
        fail_and_close(a, FAIL_REFUSED, code);
    } else {
        note(a, "error", code);
    }
}

static void on_message(struct ws_conn *c, const uint8_t *p, size_t n, bool binary)
{
    struct agent *a = (struct agent *)c;
    struct wire_reply r;

    if (wire_parse(p, n, binary, &r) != 0 || r.t.n == 0) {
        A.res->agent_bad_frames++;
        return;
    }
    if (wire_is(r.t, "msg"))
        on_msg(a, &r);
    else if (wire_is(r.t, "ack"))
        A.res->agent_acked++;
    else if (wire_is(r.t, "assign"))
        on_assign(a, &r);
    else if (wire_is(r.t, "unassign"))
        on_unassign(a, &r);
    else if (wire_is(r.t, "welcome"))
        on_welcome(a, &r);
    else if (wire_is(r.t, "state"))
        on_state(a, &r);
    else if (wire_is(r.t, "error"))
        on_error(a, &r);
    else
        A.res->agent_other_frames++;
}

/* ---- the connection's life ------------------------------------------------ */

static void on_open(struct ws_conn *c)
{
    struct agent *a = (struct agent *)c;
    uint8_t b[160];

    A.connecting--;
    A.res->agents_connected++;
    a->state = A_LOGIN;
    a->t_login = a->t_wait = now_ns();
    send_buf(a, b, wire_login(b, sizeof b, A.o->enc, A.o->tokens[a->g]));
}

static void on_closed(struct ws_conn *c, enum ws_why why, unsigned code, int err)
{
    static const enum fail fail_of[WS__COUNT] = {
        [WS_OK] = FAIL_CLOSED, [WS_CONNECT] = FAIL_CONNECT, [WS_HANDSHAKE] = FAIL_HANDSHAKE,
        [WS_ACCEPT] = FAIL_ACCEPT, [WS_PROTOCOL] = FAIL_PROTOCOL, [WS_EOF] = FAIL_EOF,
        [WS_IO] = FAIL_IO, [WS_ABORT] = FAIL_UNFINISHED,
    };
    struct agent *a = (struct agent *)c;
    char detail[96];

    A.open--;
    if (!a->closed_by_us) {
        if (why == WS_OK)
            result_count_agent_close(A.res, code, 1);
        else if (why == WS_EOF)
            result_count_agent_close(A.res, 1006, 1);
    }
    if (why == WS_OK)
        snprintf(detail, sizeof detail, "close frame %u", code);
    else if (why == WS_HANDSHAKE)
        snprintf(detail, sizeof detail, "upgrade answered with HTTP %u", code);
    else
        snprintf(detail, sizeof detail, "%s%s%s", ws_why_name(why), err ? " " : "",
                 err ? uv_err_name(err) : "");
    if (a->state == A_READY && !a->closed_by_us) {
        a->state = A_CLOSED;
        A.res->agents_lost++;
        note(a, "closed while serving", detail);
    } else {
        fail(a, fail_of[why], detail);
    }
    a->nchats = 0;
    worker_conn_closed();
}

static const struct ws_handler handler = { on_open, on_message, on_closed };

static void start_agent(struct agent *a)
{
    const struct load_opts *o = A.o;
    const struct ws_target *t = &o->agent_targets[a->g % o->nagent_targets];
    struct sockaddr_in src;
    int r;

    a->t_start = a->t_wait = now_ns();
    a->state = A_CONNECTING;
    A.res->agents_started++;
    A.connecting++;
    r = ws_connect(&a->ws, A.env.loop, t, worker_src_addr(a->g, t, &src), &handler);
    if (r != 0) {
        fail(a, FAIL_LOCAL, uv_err_name(r));
        return;
    }
    A.open++;
}

static void on_ramp(uv_timer_t *t)
{
    uint64_t now = now_ns();

    while (A.next_start < A.n && !A.stopping) {
        struct agent *a = &A.a[A.next_start];
        if (!worker_ramp_due(a->g, A.o->agent_rate, A.t0, now, A.connecting))
            break;
        A.next_start++;
        start_agent(a);
    }
    if (A.next_start >= A.n || A.stopping)
        uv_timer_stop(t);
}

/* ---- the worker's side ------------------------------------------------------ */

int agents_init(const struct worker_env *env, uint32_t n)
{
    memset(&A, 0, sizeof A);
    A.env = *env;
    A.o = env->o;
    A.res = env->res;
    A.n = n;
    A.a = calloc(n ? n : 1, sizeof *A.a);
    if (!A.a)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        A.a[i].g = env->index + i * env->o->workers;
    uv_timer_init(env->loop, &A.ramp);
    uv_timer_init(env->loop, &A.replies);
    A.timers = true;
    return 0;
}

void agents_start(uint64_t t0)
{
    uint64_t now = now_ns();

    if (A.n == 0 || A.stopping)
        return;
    A.t0 = t0;
    uv_timer_start(&A.ramp, on_ramp, t0 > now ? (t0 - now) / 1000000 : 0, 1);
}

void agents_sweep(uint64_t now)
{
    uint64_t limit = (uint64_t)(A.o->timeout_s * 1e9);

    if (A.stopping)
        return;
    for (uint32_t i = 0; i < A.next_start; i++) {
        struct agent *a = &A.a[i];
        if ((a->state == A_CONNECTING || a->state == A_LOGIN || a->state == A_STATE) &&
            now - a->t_wait > limit) {
            static const char *const what[] = {
                [A_CONNECTING] = "no upgrade", [A_LOGIN] = "no welcome",
                [A_STATE] = "no answer to state ready",
            };
            fail_and_close(a, FAIL_TIMEOUT, what[a->state]);
        }
    }
}

void agents_stop(void)
{
    if (A.stopping)
        return;
    A.stopping = true;
    if (A.timers) {
        uv_timer_stop(&A.ramp);
        uv_timer_stop(&A.replies);
    }
    for (uint32_t i = 0; i < A.n; i++) {
        struct agent *a = &A.a[i];
        switch (a->state) {
        case A_NEW:
        case A_FAILED:
        case A_CLOSED:
            break;
        case A_READY:
            a->state = A_CLOSED;
            a->closed_by_us = 1;
            ws_close(&a->ws, 1000);
            break;
        default:
            fail_and_close(a, FAIL_UNFINISHED, "still logging in at the end");
            break;
        }
    }
}

void agents_abort(void)
{
    for (uint32_t i = 0; i < A.n; i++)
        ws_abort(&A.a[i].ws);          /* no-op on a closed one */
}

uint32_t agents_open(void)
{
    return A.open;
}

uint32_t agents_settled(void)
{
    return A.settled;
}

uint32_t agents_count(void)
{
    return A.n;
}

const uint8_t *agents_assigned(uint64_t *n)
{
    *n = A.nids;
    return A.ids;
}

void agents_free(void)
{
    for (uint32_t i = 0; i < A.n; i++)
        free(A.a[i].chats);
    free(A.a);
    free(A.pq);
    free(A.set);
    free(A.ids);
    memset(&A, 0, sizeof A);
}
