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
 *                   after --agent-delay-ms
 *   msg from buyer  echo it at once: text "a<now> b<the buyer's stamp>";
 *                   after --agent-close-after K of them, close the chat
 *   unassign        let it go (load - 1)
 *   breach          count it
 *
 * With --agent-delay MIN-MAX the agent answers instead of echoing, as a
 * person would: a chat it is given has a question waiting, and so has a
 * chat whose buyer writes after the last answer; each such unanswered
 * stretch gets one answer, "a<now> answer", after a delay drawn uniformly
 * from [MIN, MAX] ms (from the assign, or from the stretch's first buyer
 * message), by a generator seeded with --seed and the worker's number.
 * With --agent-close-after K it closes the chat after the answer that
 * follows the K-th buyer message (the one the chat came with not counted).
 * An answer due for a chat the agent no longer holds is dropped (a chat
 * given back to it later is a new one: `gen`).
 *
 * Replies and answers wait in one heap, on their due time, under one timer.
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

#include <uv.h>

#include "client.h"

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
    uint32_t gen;                   /* this holding of the chat (A.gen) */
    uint8_t closing;                /* close sent */
    uint8_t answer_due;             /* --agent-delay: an answer is pending */
};

struct agent {
    struct client c;                /* first: callbacks cast back */
    uint8_t state, over;
    uint32_t cap, nchats, chats_cap, next_id;
    struct achat *chats;
    uint64_t t_start, t_login, t_wait;
};

enum pending_kind {
    P_GREET,                        /* --agent-greet: the reply to an assign */
    P_ANSWER,                       /* --agent-delay: the answer to a stretch */
};

/* A reply or an answer, due at `due`. */
struct pending {
    uint64_t due;
    uint32_t agent, gen;
    uint8_t kind;
    char chat[CHAT_HEX + 1];
};

static struct {
    struct worker_env env;
    const struct load_opts *o;
    struct load_result *res;
    struct client_set clients;      /* the agents: A.a, the ramp, the counts */
    struct agent *a;
    uint32_t settled;
    uv_timer_t replies;
    bool timers;
    struct pending *pq;             /* heap of replies and answers, earliest due first */
    uint32_t pq_len, pq_cap;
    uint32_t gen;                   /* holdings of chats so far */
    uint64_t rng;                   /* splitmix64 state (--seed) */
    uint8_t *set;                   /* open addressing, 16-byte keys, 0 = empty */
    uint32_t set_cap, set_len;
    uint8_t *ids;                   /* every assign's chat id, in order */
    uint64_t nids, ids_cap;
} A;

static void note(struct agent *a, const char *what, const char *detail)
{
    worker_note(A.clients.role, a->c.g, what, detail);
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
    client_send(&A.clients, &a->c, p, n);
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

/* splitmix64: the next number of this worker's sequence */
static uint64_t rng_next(void)
{
    uint64_t x = (A.rng += 0x9e3779b97f4a7c15ull);

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* --agent-delay: a delay drawn uniformly from [min, max] ms, in ns. */
static uint64_t answer_delay_ns(void)
{
    double u = (double)(rng_next() >> 11) / 9007199254740992.0;   /* [0, 1) */
    double ms = A.o->answer_min_ms + (A.o->answer_max_ms - A.o->answer_min_ms) * u;

    return (uint64_t)(ms * 1e6);
}

static void answer_now(struct agent *a, struct achat *c)
{
    char text[64];

    c->answer_due = 0;
    snprintf(text, sizeof text, "a%" PRIu64 " answer", now_ns());
    A.res->answers++;
    send_msg(a, c->id, text);
    if (A.o->agent_close_after && c->got >= A.o->agent_close_after) {
        uint8_t b[128];
        c->closing = 1;
        A.res->chat_closes++;
        send_buf(a, b, wire_close(b, sizeof b, A.o->enc, c->id));
    }
}

static bool pq_before(uint32_t i, uint32_t j)
{
    return A.pq[i].due < A.pq[j].due;
}

static void pq_swap(uint32_t i, uint32_t j)
{
    struct pending t = A.pq[i];

    A.pq[i] = A.pq[j];
    A.pq[j] = t;
}

/* Takes the earliest out of the heap. */
static void pq_pop(void)
{
    uint32_t i = 0;

    A.pq[0] = A.pq[--A.pq_len];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < A.pq_len && pq_before(l, m))
            m = l;
        if (r < A.pq_len && pq_before(r, m))
            m = r;
        if (m == i)
            return;
        pq_swap(i, m);
        i = m;
    }
}

static void on_replies_due(uv_timer_t *t);

static void replies_arm(void)
{
    uint64_t now = now_ns(), due;

    if (A.pq_len == 0 || A.clients.stopping) {
        uv_timer_stop(&A.replies);
        return;
    }
    due = A.pq[0].due;
    uv_timer_start(&A.replies, on_replies_due, due > now ? (due - now + 999999) / 1000000 : 0, 0);
}

static void on_replies_due(uv_timer_t *t)
{
    uint64_t now = now_ns();

    (void)t;
    while (A.pq_len > 0 && A.pq[0].due <= now + 500000) {
        struct pending p = A.pq[0];
        struct agent *a = &A.a[p.agent];
        struct achat *c = find_chat(a, (struct wire_str){ p.chat, CHAT_HEX });
        pq_pop();
        if (a->state != A_READY || !c || c->gen != p.gen)
            continue;                  /* no longer its chat */
        if (p.kind == P_GREET)
            reply_now(a, p.chat);
        else if (c->answer_due && !c->closing)
            answer_now(a, c);
    }
    replies_arm();
}

/* Queues a reply (or an answer) to chat c of agent a, due in delay_ns. */
static void reply_later(struct agent *a, const struct achat *c, enum pending_kind kind,
                        uint64_t delay_ns)
{
    uint32_t i;

    if (A.pq_len == A.pq_cap) {
        uint32_t cap = A.pq_cap ? A.pq_cap * 2 : 256;
        struct pending *pq = realloc(A.pq, cap * sizeof *pq);
        if (!pq)
            return;
        A.pq = pq;
        A.pq_cap = cap;
    }
    i = A.pq_len++;
    A.pq[i] = (struct pending){ .due = now_ns() + delay_ns, .agent = (uint32_t)(a - A.a),
                                .gen = c->gen, .kind = (uint8_t)kind };
    memcpy(A.pq[i].chat, c->id, sizeof A.pq[i].chat);
    while (i > 0 && pq_before(i, (i - 1) / 2)) {
        pq_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    if (i == 0)
        replies_arm();
}

/* --agent-delay: chat c has a question nobody answered; one answer is due. */
static void answer_later(struct agent *a, struct achat *c)
{
    if (c->answer_due || c->closing)
        return;                        /* the stretch's answer is on its way */
    c->answer_due = 1;
    reply_later(a, c, P_ANSWER, answer_delay_ns());
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
        A.clients.connecting--;
    a->state = A_FAILED;
    A.res->agents.failed[why]++;
    note(a, "failed", detail);
    settle();
}

static void fail_and_close(struct agent *a, enum fail why, const char *detail)
{
    fail(a, why, detail);
    client_close(&a->c);
}

/* ---- frames from the gateway ---------------------------------------------- */

static void on_welcome(struct client *c, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)c;
    uint8_t b[64];

    if (a->state != A_LOGIN) {
        A.res->agents.other_frames++;
        return;
    }
    hist_add(&A.res->lat[LAT_LOGIN], us_since(a->t_login));
    a->cap = r->has_capacity && r->capacity > 0 ? (uint32_t)r->capacity : 0;
    a->state = A_STATE;
    a->t_wait = now_ns();
    send_buf(a, b, wire_state(b, sizeof b, A.o->enc, "ready"));
}

static void on_state(struct client *c, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)c;
    uint64_t now = now_ns();

    if (a->state != A_STATE || !wire_is(r->state, "ready")) {
        A.res->agents.other_frames++;
        return;
    }
    a->state = A_READY;
    A.res->agents_ready++;
    if (!A.res->t_first_ready || now < A.res->t_first_ready)
        A.res->t_first_ready = now;
    settle();
}

static void on_assign(struct client *cl, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)cl;
    uint8_t key[16];
    uint64_t now = now_ns();
    struct achat *c;

    if (a->state != A_READY && a->state != A_STATE) {
        A.res->agents.other_frames++;
        return;
    }
    if (!chat_bytes(r->chat, key)) {
        A.res->agents.bad_frames++;
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
    c->gen = ++A.gen;
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
            reply_later(a, c, P_GREET, (uint64_t)(A.o->agent_delay_ms * 1e6));
        else
            reply_now(a, c->id);
    }
    if (A.o->agent_answer)
        answer_later(a, c);            /* the question it came with */
}

static void on_unassign(struct client *cl, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)cl;
    struct achat *c = find_chat(a, r->chat);

    A.res->unassigns++;
    if (!c)
        return;
    *c = a->chats[--a->nchats];
}

static void on_msg(struct client *cl, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)cl;
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
    if (A.o->agent_answer) {
        answer_later(a, c);
        return;
    }
    snprintf(text, sizeof text, "a%" PRIu64 " b%" PRIu64, now_ns(), stamp);
    send_msg(a, c->id, text);
    if (A.o->agent_close_after && c->got >= A.o->agent_close_after) {
        uint8_t b[128];
        c->closing = 1;
        A.res->chat_closes++;
        send_buf(a, b, wire_close(b, sizeof b, A.o->enc, c->id));
    }
}

static void on_error(struct client *c, const struct wire_reply *r)
{
    struct agent *a = (struct agent *)c;
    char code[40];

    client_error(&A.clients, r, code, sizeof code);
    if (r->ref.n > 0 && r->ref.p[0] == 'a') {
        A.res->agent_refused++;
        note(a, "message refused", code);
    } else if (a->state == A_LOGIN || a->state == A_STATE) {
        fail_and_close(a, FAIL_REFUSED, code);
    } else {
        note(a, "error", code);
    }
}

static void on_breach(struct client *c, const struct wire_reply *r)
{
    (void)c;
    (void)r;
    A.res->breach_frames++;
}

static void on_ack(struct client *c, const struct wire_reply *r)
{
    (void)c;
    (void)r;
    A.res->agent_acked++;
}

static const struct client_frame frames[] = {
    { "msg", false, on_msg },
    { "ack", false, on_ack },
    { "assign", false, on_assign },
    { "unassign", false, on_unassign },
    { "welcome", false, on_welcome },
    { "state", false, on_state },
    { "breach", false, on_breach },
    { "error", false, on_error },
    { NULL, false, NULL },
};

static void on_message(struct ws_conn *c, const uint8_t *p, size_t n, bool binary)
{
    client_on_message(&A.clients, (struct client *)c, p, n, binary);
}

/* ---- the connection's life ------------------------------------------------ */

static void on_open(struct ws_conn *c)
{
    struct agent *a = (struct agent *)c;
    uint8_t b[160];

    A.clients.connecting--;
    A.res->agents.connected++;
    a->state = A_LOGIN;
    a->t_login = a->t_wait = now_ns();
    send_buf(a, b, wire_login(b, sizeof b, A.o->enc, A.o->tokens[a->c.g]));
}

static void on_closed(struct ws_conn *c, enum ws_why why, unsigned code, int err)
{
    struct agent *a = (struct agent *)c;
    char detail[96];
    enum fail failed = client_on_closed(&A.clients, &a->c, why, code, err, detail, sizeof detail);

    if (a->state == A_READY && !a->c.closed_by_us) {
        a->state = A_CLOSED;
        A.res->agents_lost++;
        note(a, "closed while serving", detail);
    } else {
        fail(a, failed, detail);
    }
    a->nchats = 0;
    worker_conn_closed();
}

static const struct ws_handler handler = { on_open, on_message, on_closed };

static void start_agent(struct client *c)
{
    struct agent *a = (struct agent *)c;
    const struct load_opts *o = A.o;
    int r;

    a->t_start = a->t_wait = now_ns();
    a->state = A_CONNECTING;
    A.res->agents.started++;
    r = client_connect(&A.clients, c, &o->agent_targets[c->g % o->nagent_targets]);
    if (r != 0)
        fail(a, FAIL_LOCAL, uv_err_name(r));
}

/* ---- the worker's side ------------------------------------------------------ */

int agents_init(const struct worker_env *env, uint32_t n)
{
    memset(&A, 0, sizeof A);
    A.env = *env;
    A.o = env->o;
    A.res = env->res;
    A.a = calloc(n ? n : 1, sizeof *A.a);
    if (!A.a)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        A.a[i].c.g = env->index + i * env->o->workers;
    A.clients = (struct client_set){
        .role = "agent", .o = env->o, .loop = env->loop, .clients = A.a, .size = sizeof *A.a,
        .n = n, .frames = frames, .handler = &handler, .res = &env->res->agents,
        .rate = env->o->agent_rate, .start = start_agent,
    };
    client_set_init(&A.clients);
    uv_timer_init(env->loop, &A.replies);
    A.timers = true;
    A.rng = env->o->seed ^ (0x9e3779b97f4a7c15ull * (env->index + 1));
    return 0;
}

void agents_start(uint64_t t0)
{
    if (A.clients.n == 0 || A.clients.stopping)
        return;
    client_ramp_start(&A.clients, t0);
}

void agents_sweep(uint64_t now)
{
    uint64_t limit = (uint64_t)(A.o->timeout_s * 1e9);

    if (A.clients.stopping)
        return;
    for (uint32_t i = 0; i < A.clients.next_start; i++) {
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
    if (A.clients.stopping)
        return;
    A.clients.stopping = true;
    if (A.timers) {
        uv_timer_stop(&A.clients.ramp);
        uv_timer_stop(&A.replies);
    }
    for (uint32_t i = 0; i < A.clients.n; i++) {
        struct agent *a = &A.a[i];
        switch (a->state) {
        case A_NEW:
        case A_FAILED:
        case A_CLOSED:
            break;
        case A_READY:
            a->state = A_CLOSED;
            client_close(&a->c);
            break;
        default:
            fail_and_close(a, FAIL_UNFINISHED, "still logging in at the end");
            break;
        }
    }
}

void agents_abort(void)
{
    client_abort_all(&A.clients);
}

uint32_t agents_open(void)
{
    return A.clients.open;
}

uint32_t agents_settled(void)
{
    return A.settled;
}

uint32_t agents_count(void)
{
    return A.clients.n;
}

const uint8_t *agents_assigned(uint64_t *n)
{
    *n = A.nids;
    return A.ids;
}

void agents_free(void)
{
    for (uint32_t i = 0; i < A.clients.n; i++)
        free(A.a[i].chats);
    free(A.a);
    free(A.pq);
    free(A.set);
    free(A.ids);
    memset(&A, 0, sizeof A);
}
