/*
 * session_buyer.c - the buyer's side of a chat (/v1/buyer).
 *
 * hello opens a new chat (welcome comes from memory: ids are made here; the
 * chat's record reaches Redis with its first message, so a hello alone
 * writes nothing there, and new chats per address are metered) or resumes
 * one by its token (checked in constant time against the stored hash) and
 * replays the transcript after `since`, a page at a time as the socket
 * drains. A chat with no message yet cannot be resumed: there is nothing
 * to resume, and the client starts a new one. A new chat may name the
 * buyer's previous chat by its resume token (a returning buyer): that
 * welcome waits for one read that checks the token and finds the agent.
 *
 * The golden window: the first message of a chat is answered with the
 * store's greeting at once, from the config in memory, before Redis is
 * asked anything. Its seq is known in advance: the buyer's first message
 * is seq 1 and the greeting seq 2, and the append script stores both in
 * that order in one step (or, if the log is no longer empty, neither
 * prediction is reused). Every message is acked only once Redis has it;
 * a repeated client id gets the same seq back and is stored once.
 *
 * While nobody has answered, a buyer message left unanswered for the
 * store's hold_after gets a holding reply with the queue position.
 *
 * typing and read go to the chat's agent (signal.lua, one script call
 * each, never on a message's path): typing at most once per typing_relay,
 * a read only when it moves past the last one this session sent. The
 * agent's come back as typing {name, for_ms} and read {seq}; a resumed
 * chat tells how far the agent has read right after the welcome.
 *
 * API: buyer_role (the role table row for session.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "chat.h"
#include "context.h"
#include "db.h"
#include "event.h"
#include "gw.h"
#include "greet.h"
#include "index.h"
#include "hours.h"
#include "shift.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
#include "router.h"
#include "session.h"
#include "store.h"
#include "session_buyer.h"
#include "token.h"
#include "window.h"

#define REPLAY_PAGE 100
_Static_assert(REPLAY_PAGE <= STORE_REPLAY_MAX, "a replay page is one store_replay");
#define ID_MAX_BYTES 64
#define NAME_MAX_CHARS 64

struct buyer {
    char chat[TOKEN_HEX_ID + 1];
    char store[CONFIG_ID_MAX + 1];
    char group[CONFIG_ID_MAX + 1];
    char id[ID_MAX_BYTES + 1];           /* the buyer's id */
    char *name;                          /* display name, may be "" */
    char *meta;                          /* meta record until Redis has it */
    size_t meta_len;
    unsigned char secret[TOKEN_ID_BYTES]; /* of the resume token, until Redis has the chat */
    int64_t seq;                         /* last seq this session knows */
    int64_t replay_next, replay_end;     /* replay in progress: [next, end] */
    uint8_t greeted, greet_pending, closed, replaying, replay_busy;
    int64_t opens;                       /* created while closed: the next opening */
    uint8_t assigned;                    /* the buyer was told its agent */
    uint8_t fresh;                       /* a new chat Redis has no record of yet */
    char *agent_later;                   /* agent name held until the first ack */
    struct window had;                   /* records sent, or the buyer's own and acked */
    struct buyer_context *ctx;           /* the signed context of a new chat, or NULL */
    char prev_agent[INDEX_KEY_MAX + 1];  /* a returning buyer's last agent (hello's previous) */
    int64_t prev_at;                     /* when it last had the buyer (ms) */
    char closed_reason[32];
    uint64_t typing_at;                  /* loop ms the last typing was relayed; 0 = never */
    int64_t read_kept;                   /* the highest read seq Redis took from it */
};

/* A request to Redis on behalf of a session, with what the answer needs. */
struct buyer_req {
    struct session *s;
    uint64_t t0_us;
    char id[ID_MAX_BYTES + 1];
    char *text;                        /* a msg's text, when plugins hook BUYER_MSG */
    int64_t score;                     /* a rate's, a read's seq */
};

static struct proto_writer rec_w;        /* msgpack records for Redis */
static struct proto_arena rec_arena;     /* decoding stored records */

static uint64_t now_us(void) { return uv_hrtime() / 1000; }

static struct buyer *B(struct session *s) { return s->data; }

static void buyer_free(struct session *s);

static const struct store_conf *buyer_store(const struct buyer *b)
{
    return config_find_store(gw.cfg, b->store);
}

static struct buyer_req *req_new(struct session *s, const char *id)
{
    struct buyer_req *q = session_req_new(s, sizeof *q);

    if (!q)
        return NULL;
    q->t0_us = now_us();
    if (id)
        snprintf(q->id, sizeof q->id, "%s", id);
    return q;
}

/* Ends a request; true when its session can still be answered. */
static bool req_end(struct buyer_req *q, struct session **sp)
{
    return session_req_done(q, sp);
}

/* ---- frames to the buyer -------------------------------------------------- */

static void send_msg(struct session *s, int64_t seq, const char *from, const char *name,
                     const char *text, uint64_t ts)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, name ? 6 : 5);
    proto_w_key(w, "t");    proto_w_cstr(w, "msg");
    proto_w_key(w, "seq");  proto_w_int(w, seq);
    proto_w_key(w, "from"); proto_w_cstr(w, from);
    if (name) {
        proto_w_key(w, "name");
        proto_w_cstr(w, name);
    }
    proto_w_key(w, "text"); proto_w_cstr(w, text);
    proto_w_key(w, "ts");   proto_w_int(w, (int64_t)ts);
    session_send(s, w);
}

static void send_ack(struct session *s, const char *id, int64_t seq)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 3);
    proto_w_key(w, "t");   proto_w_cstr(w, "ack");
    proto_w_key(w, "id");  proto_w_cstr(w, id);
    proto_w_key(w, "seq"); proto_w_int(w, seq);
    session_send(s, w);
}

static void send_queue(struct session *s, int64_t position)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 2);
    proto_w_key(w, "t");        proto_w_cstr(w, "queue");
    proto_w_key(w, "position"); proto_w_int(w, position);
    session_send(s, w);
}

static void send_closed(struct session *s, const char *reason)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 2);
    proto_w_key(w, "t");      proto_w_cstr(w, "closed");
    proto_w_key(w, "reason"); proto_w_cstr(w, reason);
    session_send(s, w);
}

static void send_agent(struct session *s, const char *name)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 2);
    proto_w_key(w, "t");    proto_w_cstr(w, "agent");
    proto_w_key(w, "name"); proto_w_cstr(w, name);
    session_send(s, w);
    B(s)->assigned = 1;
}

/* typing {name, for_ms}: the agent is typing; show it for for_ms unless renewed. */
static void send_typing(struct session *s, const char *name)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 3);
    proto_w_key(w, "t");      proto_w_cstr(w, "typing");
    proto_w_key(w, "name");   proto_w_cstr(w, name);
    proto_w_key(w, "for_ms"); proto_w_int(w, (int64_t)(3 * gw.cfg->typing_relay_ms));
    session_send(s, w);
}

/* read {seq}: the agent has read the buyer's messages up to seq. */
static void send_read(struct session *s, int64_t seq)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 2);
    proto_w_key(w, "t");   proto_w_cstr(w, "read");
    proto_w_key(w, "seq"); proto_w_int(w, seq);
    session_send(s, w);
}

/* A stored msgpack record becomes {t:"msg", seq, ...record fields}. */
static bool send_record(struct session *s, int64_t seq, const char *rec, size_t len)
{
    struct proto_writer *w = session_writer(s);

    if (!chat_write_msg(w, NULL, seq, rec, len))
        return false;
    session_send(s, w);
    return true;
}

/* ---- records for Redis ---------------------------------------------------- */

/* The signed context's fields of the chat's record (router.lua gives
 * them to the agent): priority, sbuyer, sname, and product (a msgpack
 * map {id, title, price, url} packed into one field). */
static void write_context(struct proto_writer *w, const struct buyer_context *c)
{
    proto_w_key(w, "priority"); proto_w_cstr(w, context_priority_name(c->priority));
    proto_w_key(w, "sbuyer");   proto_w_cstr(w, c->buyer_id);
    proto_w_key(w, "sname");    proto_w_cstr(w, c->buyer_name);
    if (c->product) {
        struct proto_writer pw;
        proto_writer_init(&pw, PROTO_MSGPACK, 0);
        proto_w_map(&pw, 4);
        proto_w_key(&pw, "id");    proto_w_cstr(&pw, c->product_id);
        proto_w_key(&pw, "title"); proto_w_cstr(&pw, c->title);
        proto_w_key(&pw, "price"); proto_w_cstr(&pw, c->price);
        proto_w_key(&pw, "url");   proto_w_cstr(&pw, c->url);
        proto_w_key(w, "product");
        if (pw.err)
            proto_w_nil(w);
        else
            proto_w_str(w, proto_writer_data(&pw), pw.len);
        proto_writer_free(&pw);
    }
}

/* A new chat's queue weight (arrivals it may go before): its signed priority's. */
static uint32_t queue_weight(const struct store_conf *st, const struct buyer_context *c)
{
    if (!st || !c)
        return 0;
    const uint32_t w[CONTEXT__PRIORITIES] = {
        [CONTEXT_NORMAL] = 0, [CONTEXT_ORDERED] = st->priority_weight_ordered,
        [CONTEXT_PAID] = st->priority_weight_paid, [CONTEXT_VIP] = st->priority_weight_vip,
    };
    return c->priority < CONTEXT__PRIORITIES ? w[c->priority] : 0;
}

/* hello's context: kept when its store's site signed it, else ignored
 * and logged with the reason (never the secret, never the payload). */
static void take_context(struct buyer *b, const struct store_conf *st, const struct proto_value *v)
{
    const struct config *cfg = gw.cfg;
    const struct context_limits lim = {
        .max_bytes = cfg->context_max_bytes, .id_bytes = cfg->context_id_bytes,
        .name_chars = cfg->context_name_chars, .title_chars = cfg->context_title_chars,
        .price_chars = cfg->context_price_chars, .url_bytes = cfg->context_url_bytes,
    };
    const char *why;

    if (!v || v->type == PROTO_NIL)
        return;
    if (v->type != PROTO_STR)
        why = "format";
    else if (!st || !st->context_secret || !st->context_secret[0])
        why = "no_secret";
    else
        why = context_verify(v->u.s, v->len, &lim, st->context_secret,
                             (int64_t)(gw_wall_ms() / 1000), &b->ctx);
    if (why)
        log_warn("context_ignored", "store=%s reason=%s", st ? st->id : "-", why);
}

/* The chat's record, made with its first message (created: that message's time). */
static int make_meta(struct buyer *b, uint64_t created)
{
    char tok_hash[TOKEN_HASH_HEX + 1];

    const struct store_conf *st = config_find_store(gw.cfg, b->store);
    int64_t until = 0;

    b->opens = 0;
    /* a chat started while the store is closed, or while no agent of its
     * group is on shift (hours.c, the group's hours from memory):
     * off_hours_text instead of the greeting, and 'oh' (the opening it
     * was told) in its record so that the clock does not tell it again
     * in this closed period */
    enum hours_state gh = st && st->plan ? hours_open(b->store, b->group, (int64_t)created,
                                                      &b->opens) : HOURS_STORE;
    if (gh == HOURS_STORE && st && st->plan)
        gh = shift_open(st->plan, (int64_t)created, &until, &b->opens) ? HOURS_OPEN : HOURS_CLOSED;
    if (gh == HOURS_OPEN)
        b->opens = 0;
    else if (gh == HOURS_CLOSED && !b->opens)
        b->opens = -1;                   /* closed, no opening within 8 days */
    token_hash_hex(b->secret, sizeof b->secret, tok_hash);
    proto_writer_reset(&rec_w, PROTO_MSGPACK);
    proto_w_map(&rec_w, 7 + (b->opens ? 1 : 0) + (b->ctx ? 3 + b->ctx->product : 0) +
                        (b->prev_agent[0] ? 2 : 0));
    if (b->ctx)
        write_context(&rec_w, b->ctx);
    if (b->prev_agent[0]) {              /* a returning buyer's last agent (router.lua sticky_of) */
        proto_w_key(&rec_w, "pa"); proto_w_cstr(&rec_w, b->prev_agent);
        proto_w_key(&rec_w, "pt"); proto_w_int(&rec_w, b->prev_at);
    }
    if (b->opens) {
        proto_w_key(&rec_w, "oh");   proto_w_int(&rec_w, b->opens);
    }
    proto_w_key(&rec_w, "store");   proto_w_cstr(&rec_w, b->store);
    proto_w_key(&rec_w, "buyer");   proto_w_cstr(&rec_w, b->id);
    proto_w_key(&rec_w, "name");    proto_w_cstr(&rec_w, b->name);
    proto_w_key(&rec_w, "group");   proto_w_cstr(&rec_w, b->group);
    proto_w_key(&rec_w, "created"); proto_w_int(&rec_w, (int64_t)created);
    proto_w_key(&rec_w, "state");   proto_w_cstr(&rec_w, "open");
    proto_w_key(&rec_w, "tok");     proto_w_cstr(&rec_w, tok_hash);
    if (rec_w.err)
        return -1;
    b->meta = malloc(rec_w.len);
    if (!b->meta)
        return -1;
    memcpy(b->meta, proto_writer_data(&rec_w), rec_w.len);
    b->meta_len = rec_w.len;
    return 0;
}

static void forget_meta(struct buyer *b)
{
    free(b->meta);
    b->meta = NULL;
    b->meta_len = 0;
}

/* ---- hello ---------------------------------------------------------------- */

/* An optional string field; a present non-string one names itself in *bad. */
static const char *opt_str(const struct proto_value *frame, const char *key, const char **bad)
{
    const struct proto_value *v = proto_map_get(frame, key);

    if (!v || v->type == PROTO_NIL)
        return NULL;
    if (v->type != PROTO_STR && !*bad)
        *bad = key;
    return v->type == PROTO_STR ? v->u.s : NULL;
}

static void send_welcome(struct session *s, const char *resume)
{
    struct buyer *b = B(s);
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 4);
    proto_w_key(w, "t");      proto_w_cstr(w, "welcome");
    proto_w_key(w, "chat");   proto_w_cstr(w, b->chat);
    proto_w_key(w, "resume"); proto_w_cstr(w, resume);
    proto_w_key(w, "seq");    proto_w_int(w, b->seq);
    session_send(s, w);
}

/* A new chat within the address's new_chat_rate; false: refused (closed). */
static bool new_chat_allowed(struct session *s)
{
    if (session_take_chat(s))
        return true;
    log_warn("chat_refused", "reason=new_chat_rate");
    buyer_free(s);
    session_error(s, CG_E_RATE_LIMITED, NULL);
    session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_PER_IP);
    return false;
}

/* Makes the new chat's ids and answers welcome (counted already). */
static void new_chat(struct session *s)
{
    struct buyer *b = B(s);
    unsigned char rnd[2 * TOKEN_ID_BYTES], *id = rnd;
    char resume[TOKEN_HEX_RESUME + 1];

    if (token_random(rnd, sizeof rnd)) {            /* one getrandom for both */
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    memcpy(b->secret, rnd + TOKEN_ID_BYTES, sizeof b->secret);
    hex_encode(id, TOKEN_ID_BYTES, b->chat);
    hex_encode(id, TOKEN_ID_BYTES, resume);
    hex_encode(b->secret, TOKEN_ID_BYTES, resume + TOKEN_HEX_ID);
    b->fresh = 1;
    s->hello_done = 1;
    b->seq = 0;
    metrics.chats_created++;
    send_welcome(s, resume);
    router_buyer_attach(s, b->chat, false);
    log_info("chat_created", "chat=%s store=%s group=%s", b->chat, b->store, b->group);
}

static void replay_more(struct session *s);

static void on_replay_page(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    struct session *s;
    struct buyer *b;
    size_t i;

    if (!req_end(q, &s))
        return;
    b = B(s);
    b->replay_busy = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        session_error(s, CG_E_UNAVAILABLE, NULL);
        session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_POLICY);
        return;
    }
    for (i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        /*
         * Replay is paced by the reader: stop at half the outbound limit
         * and fetch the rest when the queue drains, so a long transcript
         * never trips the slow-reader limit of a reader that keeps up.
         */
        if (s->out_bytes >= gw.cfg->outbound_max_bytes / 2)
            break;
        /* a private record (a note, a whisper) is had, never sent */
        if (e->type == REDIS_REPLY_STRING && !window_has(&b->had, b->replay_next) &&
            !chat_record_is_private(e->str, e->len) &&
            !send_record(s, b->replay_next, e->str, e->len))
            log_warn("bad_record", "chat=%s seq=%lld", b->chat, (long long)b->replay_next);
        window_mark(&b->had, b->replay_next);
        b->replay_next++;
    }
    if (r->elements == 0)
        b->replay_next = b->replay_end + 1;   /* log shorter than it said */
    replay_more(s);
}

/* Sends the next page once the previous one has left the queue. */
static void replay_more(struct session *s)
{
    struct buyer *b = B(s);
    struct buyer_req *q;

    if (!b->replaying || b->replay_busy || s->out_head)
        return;
    if (b->replay_next > b->replay_end) {
        b->replaying = 0;
        if (b->closed)
            send_closed(s, b->closed_reason);
        return;
    }
    int64_t last = b->replay_next + REPLAY_PAGE - 1;
    if (last > b->replay_end)
        last = b->replay_end;
    q = req_new(s, NULL);
    if (!q)
        return;
    if (store_replay(b->chat, b->replay_next, last, on_replay_page, q) != 0) {
        session_req_drop(q);
        session_error(s, CG_E_UNAVAILABLE, NULL);
        session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_POLICY);
        return;
    }
    b->replay_busy = 1;
}

struct resume_req {
    struct buyer_req base;
    char resume[TOKEN_HEX_RESUME + 1];
    int64_t since;
};

static void refuse_resume(struct session *s)
{
    session_error(s, CG_E_UNAUTHORIZED, NULL);
    session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
}

static const char *meta_str(const struct proto_value *m, const char *k)
{
    const struct proto_value *v = proto_map_get(m, k);
    return v && v->type == PROTO_STR ? v->u.s : "";
}

static bool origin_ok(struct session *s, const struct store_conf *st);

static void on_resume(void *ud, redisReply *r)
{
    struct resume_req *rq = ud;
    static const struct proto_limits lim = { 2, 64 };
    const struct proto_value *m;
    unsigned char secret[TOKEN_ID_BYTES];
    char hash[TOKEN_HASH_HEX + 1];
    char resume[TOKEN_HEX_RESUME + 1];
    int64_t since = rq->since;
    struct session *s;
    struct buyer *b;
    const char *tok;

    memcpy(resume, rq->resume, sizeof resume);
    if (!req_end(&rq->base, &s))
        return;
    b = B(s);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        buyer_free(s);            /* the buyer may say hello again */
        session_error(s, CG_E_UNAVAILABLE, NULL);
        return;
    }
    if (r->element[0]->type != REDIS_REPLY_STRING ||
        proto_decode(r->element[0]->str, r->element[0]->len, PROTO_MSGPACK, &lim,
                     &rec_arena, &m) != PROTO_OK) {
        refuse_resume(s);
        return;
    }
    hex_decode(resume + TOKEN_HEX_ID, TOKEN_ID_BYTES, secret);
    token_hash_hex(secret, sizeof secret, hash);
    tok = meta_str(m, "tok");
    if (strlen(tok) != TOKEN_HASH_HEX || !token_equal(tok, hash, TOKEN_HASH_HEX) ||
        (b->store[0] && strcmp(meta_str(m, "store"), b->store) != 0)) {
        log_info("resume_refused", "store=%s", b->store[0] ? b->store : "-");
        refuse_resume(s);
        return;
    }
    if (!config_find_store(gw.cfg, meta_str(m, "store"))) {
        /* the store was removed from the config since the chat began */
        session_error(s, CG_E_NOT_FOUND, NULL);
        session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
        return;
    }
    if (!origin_ok(s, config_find_store(gw.cfg, meta_str(m, "store"))))
        return;
    snprintf(b->store, sizeof b->store, "%s", meta_str(m, "store"));
    memcpy(b->chat, resume, TOKEN_HEX_ID);
    b->chat[TOKEN_HEX_ID] = '\0';
    snprintf(b->group, sizeof b->group, "%s", meta_str(m, "group"));
    snprintf(b->id, sizeof b->id, "%s", meta_str(m, "buyer"));
    if (!b->name[0] && meta_str(m, "name")[0]) {
        free(b->name);
        b->name = strdup(meta_str(m, "name"));
        if (!b->name)
            b->name = strdup("");
    }
    if (strcmp(meta_str(m, "state"), "closed") == 0) {
        b->closed = 1;
        snprintf(b->closed_reason, sizeof b->closed_reason, "%s",
                 meta_str(m, "reason")[0] ? meta_str(m, "reason") : "closed");
    }
    b->seq = r->element[1]->type == REDIS_REPLY_INTEGER ? r->element[1]->integer : 0;
    b->greeted = b->seq > 0;
    s->hello_done = 1;
    metrics.chats_resumed++;
    send_welcome(s, resume);
    if (meta_str(m, "agent_name")[0] && !b->closed)
        send_agent(s, meta_str(m, "agent_name"));   /* as when it was assigned */
    const struct proto_value *rda = proto_map_get(m, "rda");
    if (rda && rda->type == PROTO_INT && rda->u.i > 0)
        send_read(s, rda->u.i);                     /* how far the agent has read */
    router_buyer_attach(s, b->chat, true);
    log_info("chat_resumed", "chat=%s store=%s since=%lld seq=%lld", b->chat, b->store,
             (long long)since, (long long)b->seq);
    b->replaying = 1;
    b->replay_next = since + 1;
    b->replay_end = b->seq;
    window_reset(&b->had, since < b->seq ? since : b->seq);
    replay_more(s);
}

static void resume_chat(struct session *s, const char *token, int64_t since)
{
    unsigned char probe[TOKEN_ID_BYTES * 2];
    struct resume_req *rq;

    if (strlen(token) != TOKEN_HEX_RESUME || hex_decode(token, sizeof probe, probe) != 0) {
        refuse_resume(s);
        return;
    }
    rq = session_req_new(s, sizeof *rq);
    if (!rq) {
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    memcpy(rq->resume, token, TOKEN_HEX_RESUME + 1);
    for (char *c = rq->resume; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    rq->since = since;
    char chat[TOKEN_HEX_ID + 1];
    memcpy(chat, rq->resume, TOKEN_HEX_ID);
    chat[TOKEN_HEX_ID] = '\0';
    if (store_resume(chat, on_resume, rq) != 0) {
        session_req_drop(rq);
        buyer_free(s);
        session_error(s, CG_E_UNAVAILABLE, NULL);
    }
}

/*
 * A returning buyer (hello's previous: the resume token of its last chat,
 * kept by its browser): the token is checked as a resume's is (the
 * secret's hash against the record's tok, in constant time, and the same
 * store), and the new chat records who served that chat last and when
 * (pa, pt: the agent holding it now, else the one that held it when it
 * closed, else its own pa, so a chain of chats keeps its agent). The
 * scripts give it to that agent as they do a signed buyer's (sticky_days,
 * sticky_wait). A token that does not check out is ignored exactly like
 * no token: the same welcome, no error, so that nobody learns whether a
 * chat exists; the log says why (never the token).
 */
struct previous_req {
    struct buyer_req base;
    unsigned char secret[TOKEN_ID_BYTES];
};

static const char *reply_str(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
}

/* {store, tok, state, agent, la, closed, pa, pt}: the agent and since when, or why not. */
static const char *previous_agent(const struct buyer *b, const redisReply *r,
                                  const unsigned char *secret, const char **agent, int64_t *at)
{
    char hash[TOKEN_HASH_HEX + 1];
    const char *tok = reply_str(r, 1);

    token_hash_hex(secret, TOKEN_ID_BYTES, hash);
    if (strlen(tok) != TOKEN_HASH_HEX || !token_equal(tok, hash, TOKEN_HASH_HEX) ||
        strcmp(reply_str(r, 0), b->store) != 0)
        return "token";
    if (strcmp(reply_str(r, 2), "closed") != 0 && reply_str(r, 3)[0]) {
        *agent = reply_str(r, 3);
        *at = (int64_t)gw_wall_ms();
    } else if (reply_str(r, 4)[0]) {
        *agent = reply_str(r, 4);
        *at = strtoll(reply_str(r, 5), NULL, 10);
    } else if (reply_str(r, 6)[0]) {
        *agent = reply_str(r, 6);
        *at = strtoll(reply_str(r, 7), NULL, 10);
    } else {
        return "no_agent";
    }
    return strlen(*agent) <= INDEX_KEY_MAX ? NULL : "token";
}

static void on_previous(void *ud, redisReply *r)
{
    struct previous_req *pq = ud;
    unsigned char secret[TOKEN_ID_BYTES];
    const char *why = "unavailable", *agent = NULL;
    int64_t at = 0;
    struct session *s;

    memcpy(secret, pq->secret, sizeof secret);
    if (!req_end(&pq->base, &s))
        return;
    struct buyer *b = B(s);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 8)
        why = previous_agent(b, r, secret, &agent, &at);
    if (why) {
        log_info("previous_ignored", "store=%s reason=%s", b->store, why);
    } else {
        snprintf(b->prev_agent, sizeof b->prev_agent, "%s", agent);
        b->prev_at = at;
    }
    new_chat(s);
}

/* hello's previous: looked up before welcome; a malformed one is no token. */
static void previous_chat(struct session *s, const char *token)
{
    unsigned char probe[TOKEN_ID_BYTES * 2];
    char chat[TOKEN_HEX_ID + 1];
    struct previous_req *pq;

    if (strlen(token) != TOKEN_HEX_RESUME || hex_decode(token, sizeof probe, probe) != 0) {
        log_info("previous_ignored", "store=%s reason=format", B(s)->store);
        new_chat(s);
        return;
    }
    pq = session_req_new(s, sizeof *pq);
    if (!pq) {
        new_chat(s);
        return;
    }
    memcpy(pq->secret, probe + TOKEN_ID_BYTES, sizeof pq->secret);
    hex_encode(probe, TOKEN_ID_BYTES, chat);        /* lowercase, as stored */
    if (store_previous(chat, on_previous, pq) != 0) {
        session_req_drop(pq);
        log_info("previous_ignored", "store=%s reason=unavailable", B(s)->store);
        new_chat(s);
    }
}

/*
 * A store that names its pages (buyer_origins) takes chats from those
 * pages only: a browser on another site gets forbidden and close 1008, so
 * that no other page opens chats in the store's name. Clients that send
 * no Origin are not browsers and are let in.
 */
static bool origin_ok(struct session *s, const struct store_conf *st)
{
    char q[300];

    if (config_buyer_origin_ok(st, s->origin))
        return true;
    log_info("hello_refused", "store=%s reason=origin origin=%s", st->id,
             log_quote(q, sizeof q, s->origin));
    session_error(s, CG_E_FORBIDDEN, NULL);
    session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
    return false;
}

static void on_hello(struct session *s, const struct proto_value *f)
{
    const struct store_conf *st;
    const struct proto_value *since_v = proto_map_get(f, "since");
    const char *bad = NULL;
    const char *store = opt_str(f, "store", &bad);
    const char *id = opt_str(f, "buyer", &bad);
    const char *name = opt_str(f, "name", &bad);
    const char *group = opt_str(f, "group", &bad);
    const char *resume = opt_str(f, "resume", &bad);
    const char *previous = opt_str(f, "previous", &bad);
    const struct proto_value *context = proto_map_get(f, "context");
    int64_t since = 0;
    struct buyer *b;

    if (s->hello_done || s->data) {
        session_error(s, CG_E_CONFLICT, NULL);
        return;
    }
    if (since_v && since_v->type != PROTO_NIL) {
        if (since_v->type != PROTO_INT || since_v->u.i < 0)
            bad = bad ? bad : "since";
        else
            since = since_v->u.i;
    }
    if (!bad && id && (strlen(id) == 0 || strlen(id) > ID_MAX_BYTES))
        bad = "buyer";
    if (!bad && name && proto_utf8_chars(name, strlen(name)) > NAME_MAX_CHARS)
        bad = "name";
    if (bad) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, bad);
        return;
    }
    if (!store && !resume) {
        session_error_field(s, CG_E_MISSING_FIELD, NULL, "store");
        return;
    }
    /* A resume may name no store: the chat's record says which it is. */
    st = store ? config_find_store(gw.cfg, store) : NULL;
    if (store && !st) {
        session_error(s, CG_E_NOT_FOUND, NULL);
        session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
        return;
    }
    if (group && st && !config_store_has_group(st, group)) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "group");
        return;
    }
    if (st && !origin_ok(s, st))
        return;
    b = calloc(1, sizeof *b);
    if (!b || !(b->name = strdup(name ? name : ""))) {
        free(b);
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    s->data = b;
    if (st) {
        snprintf(b->store, sizeof b->store, "%s", st->id);
        snprintf(b->group, sizeof b->group, "%s", group ? group : st->default_group);
    }
    if (id) {
        snprintf(b->id, sizeof b->id, "%s", id);
    } else {
        unsigned char r[8];
        token_random(r, sizeof r);
        b->id[0] = 'b';
        b->id[1] = '-';
        hex_encode(r, sizeof r, b->id + 2);
    }
    if (resume) {
        resume_chat(s, resume, since);    /* its record has its context */
    } else if (new_chat_allowed(s)) {
        take_context(b, st, context);
        if (previous)
            previous_chat(s, previous);   /* then new_chat */
        else
            new_chat(s);
    }
}

/* ---- messages ------------------------------------------------------------- */

/* The chat is in its queue at `position` (0: unknown, or taken already). */
static void enqueued(struct session *s, int64_t position)
{
    /* an agent may have taken the chat already: then no position */
    if (position > 0 && !B(s)->assigned)
        send_queue(s, position);
    /* the buyer knows where it stands; now look for an agent */
    router_assign(B(s)->store, B(s)->group);
}

static void on_position(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    struct session *s;

    if (req_end(q, &s))
        enqueued(s, r && r->type == REDIS_REPLY_INTEGER ? r->integer + 1 : 0);
}

/* Asks the queue position of the chat for cb (a ZRANK reply). */
static void ask_position(struct session *s, db_reply_cb *cb, void *ud)
{
    struct buyer *b = B(s);

    if (store_queue_position(b->store, b->group, b->chat, cb, ud) != 0)
        cb(ud, NULL);
}

static void appended(void *ud, redisReply *r);

/* A buyer message stored: the plugins hear of it after the ack. */
static void on_appended(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    struct buyer *b = B(q->s);
    char *text = q->text, store[CONFIG_ID_MAX + 1] = "", chat[sizeof b->chat], name[sizeof b->name];
    bool hook = text && b && r && r->type == REDIS_REPLY_ARRAY &&
                r->elements == STORE_APPEND_REPLY &&
                r->element[1]->integer == 0;
    int64_t seq = hook ? r->element[0]->integer : 0;

    if (hook) {
        memcpy(store, b->store, sizeof store);
        memcpy(chat, b->chat, sizeof chat);
        memcpy(name, b->name, sizeof name);
    }
    appended(ud, r);
    if (hook)
        plugin_notify(&(struct chatgw_event){ .event = CHATGW_EV_BUYER_MSG, .store = store,
                                              .chat = chat, .buyer_name = name, .seq = seq,
                                              .from = "buyer", .text = text,
                                              .text_len = strlen(text) }, false);
    free(text);
}

static void appended(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    uint64_t t0 = q->t0_us;
    char id[ID_MAX_BYTES + 1];
    struct session *s;
    struct buyer *b;

    memcpy(id, q->id, sizeof id);
    if (!req_end(q, &s))
        return;
    b = B(s);
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, id);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        bool closed = strncmp(db_error_text(r), "closed", 6) == 0;
        if (!closed)
            log_error("append_failed", "chat=%s error=%s", b->chat, r->str);
        session_error(s, closed ? CG_E_CONFLICT : CG_E_UNAVAILABLE, id);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != STORE_APPEND_REPLY) {
        session_error(s, CG_E_INTERNAL, id);
        return;
    }
    int64_t seq = r->element[0]->integer, dup = r->element[1]->integer,
            greet = r->element[2]->integer, position = r->element[3]->integer,
            deadline = r->element[4]->integer;
    if (deadline > 0)
        router_clock_arm((uint64_t)deadline);   /* the clock started: holds, breach */
    forget_meta(b);
    b->fresh = 0;
    memset(b->secret, 0, sizeof b->secret);
    b->greet_pending = 0;
    if (!dup)
        metrics.msgs_stored++;
    if ((greet ? greet : seq) > b->seq)
        b->seq = greet ? greet : seq;
    window_mark(&b->had, seq);
    if (greet)
        window_mark(&b->had, greet);      /* it went out before the ack */
    metrics_observe_ack(now_us() - t0);
    send_ack(s, id, seq);
    if (b->agent_later) {
        send_agent(s, b->agent_later);
        free(b->agent_later);
        b->agent_later = NULL;
    }
    if (greet) {
        enqueued(s, position);
    } else if (dup && seq == 1) {
        /* the first message's ack was lost and this is its resend */
        struct buyer_req *pq = req_new(s, NULL);
        if (pq)
            ask_position(s, on_position, pq);
    }
}

/* The greeting, or off_hours_text for a chat started while closed. */
static void greet_text(const struct buyer *b, const struct store_conf *st, char *text, size_t cap)
{
    char opens[64] = "";

    if (b->opens > 0)
        shift_label(st->plan, b->opens, opens, sizeof opens);
    struct greet_vars v = { .store = st->name, .buyer = b->name, .opens = opens };
    greet_render(b->opens ? st->off_hours_text : st->greeting, &v, text, cap);
}

static void greet_now(struct session *s, const struct store_conf *st, char *text, size_t cap)
{
    struct buyer *b = B(s);

    greet_text(b, st, text, cap);
    b->greeted = 1;
    b->greet_pending = 1;
    metrics.greetings++;
    send_msg(s, b->seq + 2, "auto", st->name, text, gw_wall_ms());
}

static void on_msg(struct session *s, const struct proto_value *f)
{
    struct buyer *b = B(s);
    const struct store_conf *st = buyer_store(b);
    const struct proto_value *idv = proto_map_get(f, "id"), *tv = proto_map_get(f, "text");
    char greeting[4096];
    const char *rec, *id = idv->u.s;
    size_t rec_len, greet_len = 0;
    char *greet_rec = NULL;
    uint64_t ts = gw_wall_ms();
    struct buyer_req *q;

    if (idv->len == 0 || idv->len > ID_MAX_BYTES || tv->len == 0) {
        session_error_field(s, CG_E_BAD_VALUE, idv->len && idv->len <= ID_MAX_BYTES ? id : NULL,
                            idv->len == 0 || idv->len > ID_MAX_BYTES ? "id" : "text");
        return;
    }
    if (!st) {                         /* the store left the config on reload */
        session_error(s, CG_E_NOT_FOUND, id);
        return;
    }
    if (proto_utf8_chars(tv->u.s, tv->len) > st->max_text_chars) {
        session_error(s, CG_E_TOO_LARGE, id);
        return;
    }
    if (b->closed) {
        session_error(s, CG_E_CONFLICT, id);
        return;
    }
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id);
        return;
    }
    if (b->fresh && !b->meta && make_meta(b, ts) != 0) {
        session_error(s, CG_E_INTERNAL, id);
        return;
    }
    bool first = !b->greeted;
    if (first)
        greet_now(s, st, greeting, sizeof greeting);
    if (b->greet_pending) {
        /* stored right after the first message; rendered again if the
         * first attempt to store it failed */
        if (!first)
            greet_text(b, st, greeting, sizeof greeting);
        rec = chat_record("auto", st->name, greeting, ts, NULL, &greet_len);
        greet_rec = rec ? malloc(greet_len) : NULL;
        if (greet_rec)
            memcpy(greet_rec, rec, greet_len);
    }
    rec = chat_record("buyer", b->name[0] ? b->name : NULL, tv->u.s, ts, id, &rec_len);
    if (!rec) {
        free(greet_rec);
        session_error(s, CG_E_INTERNAL, id);
        return;
    }
    struct store_append ap = { .chat = b->chat, .id = id, .id_len = idv->len, .rec = rec,
                               .rec_len = rec_len, .greet = greet_rec, .greet_len = greet_len,
                               .meta = b->meta, .meta_len = b->meta_len, .who = "buyer",
                               .tag = "", .store = "", .node = b->meta ? router_node() : "",
                               .queue_store = b->store, .queue_group = b->group,
                               .clock_start_ms = config_clock_start_ms(st),
                               .queue_weight = queue_weight(st, b->ctx),
                               .now_ms = ts };
    q = req_new(s, id);
    if (q && plugin_hooked(CHATGW_EV_BUYER_MSG))
        q->text = strdup(tv->u.s);
    if (!q || store_append(&ap, on_appended, q) != 0) {
        if (q) {
            free(q->text);
            session_req_drop(q);
        }
        session_error(s, CG_E_UNAVAILABLE, id);
    }
    free(greet_rec);
}

/* ---- the rest ------------------------------------------------------------- */

/*
 * typing: to the chat's agent, at most once per typing_relay (the rest
 * is dropped here, with no Redis call). A chat Redis has no record of
 * yet, or closed, has nobody to tell. No reply either way.
 */
static void on_typing(struct session *s, const struct proto_value *f)
{
    struct buyer *b = B(s);
    uint64_t now = gw_now_ms();

    (void)f;
    if (b->fresh || b->closed || (b->typing_at && now - b->typing_at < gw.cfg->typing_relay_ms))
        return;
    b->typing_at = now;
    store_signal(b->chat, "buyer", "", "", -1, NULL, NULL);
}

static void on_read_kept(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    int64_t seq = q->score;
    struct session *s;

    if (req_end(q, &s) && r && r->type == REDIS_REPLY_INTEGER && r->integer == 1 &&
        seq > B(s)->read_kept)
        B(s)->read_kept = seq;
}

/*
 * read {seq}: the buyer has read up to seq. Kept in the chat and told to
 * its agent when it moves forward (signal.lua ignores a seq beyond the
 * last message or not past the one kept); one not past what this session
 * had kept already costs nothing. No reply.
 */
static void on_read(struct session *s, const struct proto_value *f)
{
    struct buyer *b = B(s);
    const struct proto_value *seq = proto_map_get(f, "seq");
    struct buyer_req *q;

    if (seq->u.i < 0) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "seq");
        return;
    }
    if (b->fresh || seq->u.i <= b->read_kept || !(q = req_new(s, NULL)))
        return;
    q->score = seq->u.i;
    if (store_signal(b->chat, "buyer", "", "", seq->u.i, on_read_kept, q) != 0)
        session_req_drop(q);
}

/*
 * The chat may have been closed first (the agent closed it as the buyer
 * said bye): then the reply is "closed REASON" and the buyer is told the
 * stored reason, not its own.
 */
static void on_closed_stored(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    struct session *s;
    const char *e = r && r->type == REDIS_REPLY_ERROR ? db_error_text(r) : NULL;
    bool was_closed = e && strncmp(e, "closed", 6) == 0 && (e[6] == ' ' || e[6] == '\0');

    if (e && !was_closed)
        log_warn("close_failed", "error=%s", r->str);
    router_assign_groups(r);           /* its agent, if any, has room now */
    if (!req_end(q, &s))
        return;
    if (was_closed && e[6] == ' ' && e[7])
        snprintf(B(s)->closed_reason, sizeof B(s)->closed_reason, "%s", e + 7);
    send_closed(s, B(s)->closed_reason);
    session_close(s, LWS_CLOSE_STATUS_NORMAL, CLOSE_NORMAL);
}

static void on_bye(struct session *s, const struct proto_value *f)
{
    struct buyer *b = B(s);
    char ttl[24], hist[16];
    struct buyer_req *q;

    (void)f;
    if (b->closed) {
        send_closed(s, b->closed_reason);
        session_close(s, LWS_CLOSE_STATUS_NORMAL, CLOSE_NORMAL);
        return;
    }
    b->closed = 1;
    snprintf(b->closed_reason, sizeof b->closed_reason, "buyer_left");
    log_info("chat_closed", "chat=%s reason=buyer_left", b->chat);
    if (b->fresh && !b->greeted) {      /* no message ever sent: Redis has nothing */
        send_closed(s, "buyer_left");
        session_close(s, LWS_CLOSE_STATUS_NORMAL, CLOSE_NORMAL);
        return;
    }
    /* closes the chat, takes it out of its queue or from its agent */
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)gw.cfg->transcript_ttl_ms);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { b->chat, "buyer_left", "", "", ttl, hist };
    q = req_new(s, NULL);
    if (q && store_route("release", 6, args, on_closed_stored, q) == 0)
        return;
    if (q) {
        session_req_drop(q);
    }
    log_warn("close_not_stored", "chat=%s reason=redis_unavailable", b->chat);
    send_closed(s, "buyer_left");
    session_close(s, LWS_CLOSE_STATUS_NORMAL, CLOSE_NORMAL);
}

/* rate {score 1-5, comment?}: once, after the chat closed (router.lua "rate"). */
static void on_rated(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    int64_t score = q->score;
    struct session *s;

    if (!req_end(q, &s))
        return;
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        bool again = strncmp(db_error_text(r), "conflict", 8) == 0;
        if (!again)
            log_error("rate_failed", "chat=%s error=%s", B(s)->chat, r->str);
        session_error(s, again ? CG_E_CONFLICT : CG_E_INTERNAL, NULL);
        return;
    }
    log_info("chat_rated", "chat=%s score=%lld", B(s)->chat, (long long)score);
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 2);
    proto_w_key(w, "t");     proto_w_cstr(w, "rated");
    proto_w_key(w, "score"); proto_w_int(w, score);
    session_send(s, w);
}

static void on_rate(struct session *s, const struct proto_value *f)
{
    struct buyer *b = B(s);
    const struct proto_value *sc = proto_map_get(f, "score"), *cm = proto_map_get(f, "comment");
    const struct store_conf *st = buyer_store(b);
    char score[4];
    struct buyer_req *q;

    if (sc->u.i < 1 || sc->u.i > 5) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "score");
        return;
    }
    if (cm && cm->type != PROTO_NIL && cm->type != PROTO_STR) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "comment");
        return;
    }
    if (cm && cm->type == PROTO_STR && st &&
        proto_utf8_chars(cm->u.s, cm->len) > st->max_text_chars) {
        session_error(s, CG_E_TOO_LARGE, NULL);
        return;
    }
    if (!b->closed || b->fresh) {       /* a chat is rated once it is over */
        session_error(s, CG_E_CONFLICT, NULL);
        return;
    }
    snprintf(score, sizeof score, "%d", (int)sc->u.i);
    q = req_new(s, NULL);
    if (!q)
        return;
    q->score = (int)sc->u.i;
    const char *args[] = { b->chat, score, cm && cm->type == PROTO_STR ? cm->u.s : "" };
    if (store_route("rate", 3, args, on_rated, q) != 0) {
        session_req_drop(q);
        session_error(s, CG_E_UNAVAILABLE, NULL);
    }
}

static void buyer_drain(struct session *s)
{
    if (s->data)
        replay_more(s);
}

static void buyer_free(struct session *s)
{
    struct buyer *b = B(s);

    if (!b)
        return;
    free(b->name);
    free(b->meta);
    free(b->agent_later);
    free(b->ctx);
    free(b);
    s->data = NULL;
}

static void buyer_close(struct session *s)
{
    struct buyer *b = B(s);

    if (b && b->chat[0])
        router_buyer_detach(s, b->chat);
}

/* ---- events from the router ------------------------------------------------ */

static int64_t ev_int(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = proto_map_get(ev, k);
    return v && v->type == PROTO_INT ? v->u.i : -1;
}

static const char *ev_text(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = proto_map_get(ev, k);
    return v && v->type == PROTO_STR ? v->u.s : "";
}

/* Sends what the transcript holds up to seq upto that this session lacks. */
static void catch_up(struct session *s, int64_t upto)
{
    struct buyer *b = B(s);

    if (upto > b->seq)
        b->seq = upto;
    if (b->replaying) {
        if (upto > b->replay_end)
            b->replay_end = upto;
        return;
    }
    if (upto <= b->had.shown)
        return;
    b->replaying = 1;
    b->replay_next = b->had.shown + 1;
    b->replay_end = upto;
    replay_more(s);
}

static void buyer_resync(struct session *s);

/* Queued, closed: the plugins hear it once per node. */
static void buyer_plugins_notify(struct buyer *b, int hook, const char *group, const char *reason)
{
    if (!plugin_hooked(hook))
        return;
    plugin_notify(&(struct chatgw_event){ .event = hook, .store = b->store, .chat = b->chat,
                                          .buyer_name = b->name, .group = group,
                                          .reason = reason }, true);
}

/* The events of the table (event.h) that are for a buyer's session. */
static void buyer_on_event(struct session *s, const struct event *e)
{
    const struct proto_value *ev = e->body;
    struct buyer *b = B(s);

    if (!session_alive(s) || !b)
        return;
    switch (e->id) {
    case EV_RESYNC:
        buyer_resync(s);
        break;
    case EV_MSG_TO_BUYER: {
        int64_t seq = ev_int(ev, "seq");
        const struct proto_value *rec = proto_map_get(ev, "rec");
        /* seqs an event skips are the buyer's own messages, or were lost
         * with the subscriber link (buyer_resync catches up) */
        if (seq <= 0 || window_has(&b->had, seq) || !rec || rec->type != PROTO_STR)
            return;
        if (chat_record_is_private(rec->u.s, rec->len)) {
            window_mark(&b->had, seq);      /* never the buyer's (append.lua sends none) */
            return;
        }
        if (b->replaying) {
            catch_up(s, seq);               /* keep the order: after the replay */
            return;
        }
        if (!send_record(s, seq, rec->u.s, rec->len))
            return;
        window_mark(&b->had, seq);
        if (seq > b->seq)
            b->seq = seq;
        metrics.relayed++;
        break;
    }
    case EV_AGENT_TOOK:
        /* the chat can be taken before the first message's ack is back:
         * keep the promised order (greeting, ack, then agent) */
        if (b->greet_pending) {
            free(b->agent_later);
            b->agent_later = strdup(ev_text(ev, "name"));
            b->assigned = 1;
        } else {
            send_agent(s, ev_text(ev, "name"));
        }
        break;
    case EV_QUEUED: {
        /* back in a queue (a transfer, its agent gone): maybe another group */
        const char *g = ev_text(ev, "group");
        buyer_plugins_notify(b, CHATGW_EV_QUEUED, g, NULL);
        int64_t position = ev_int(ev, "position");
        if (g[0] && strlen(g) <= CONFIG_ID_MAX)
            snprintf(b->group, sizeof b->group, "%s", g);
        b->assigned = 0;
        free(b->agent_later);
        b->agent_later = NULL;
        if (position > 0)
            send_queue(s, position);
        break;
    }
    case EV_TYPING_TO_BUYER:
        if (!b->closed)
            send_typing(s, ev_text(ev, "name"));
        break;
    case EV_READ_TO_BUYER:
        if (ev_int(ev, "seq") > 0)
            send_read(s, ev_int(ev, "seq"));
        break;
    case EV_CLOSED:
        buyer_plugins_notify(b, CHATGW_EV_CLOSED, NULL, ev_text(ev, "reason"));
        b->closed = 1;
        snprintf(b->closed_reason, sizeof b->closed_reason, "%s", ev_text(ev, "reason"));
        send_closed(s, b->closed_reason);
        session_close(s, LWS_CLOSE_STATUS_NORMAL, CLOSE_NORMAL);
        break;
    default:
        break;
    }
}

static void on_resync_len(void *ud, redisReply *r)
{
    struct buyer_req *q = ud;
    struct session *s;

    if (!req_end(q, &s))
        return;
    if (r && r->type == REDIS_REPLY_STRING)
        catch_up(s, strtoll(r->str, NULL, 10));
}

/* Events may have been lost: read the transcript's length, send what is missing. */
static void buyer_resync(struct session *s)
{
    struct buyer *b = B(s);
    struct buyer_req *q;

    if (!session_alive(s) || !b || !s->hello_done)
        return;
    q = req_new(s, NULL);
    if (q && store_log_length(b->chat, on_resync_len, q) != 0) {
        session_req_drop(q);
    }
}

static int buyer_start(void);
static void buyer_stop(void);

static const struct frame_handler buyer_frames[] = {
    { "hello",  on_hello,  false, { { NULL, 0 } } },
    { "msg",    on_msg,    true,  { { "id", PROTO_STR }, { "text", PROTO_STR } } },
    { "typing", on_typing, true,  { { NULL, 0 } }, .signal = true },
    { "read",   on_read,   true,  { { "seq", PROTO_INT } }, .signal = true },
    { "bye",    on_bye,    true,  { { NULL, 0 } } },
    { "rate",   on_rate,   true,  { { "score", PROTO_INT } } },
    { NULL, NULL, false, { { NULL, 0 } } }
};

static const char *buyer_store_of(const struct session *s)
{
    const struct buyer *b = s->data;

    return b && b->store[0] ? b->store : NULL;
}

const struct role buyer_role = {
    .kind = ROLE_BUYER,
    .name = "buyer",
    .path = "/v1/buyer",
    .frames = buyer_frames,
    .on_close = buyer_close,
    .on_free = buyer_free,
    .on_drain = buyer_drain,
    .on_event = buyer_on_event,
    .store_of = buyer_store_of,
    .start = buyer_start,
    .stop = buyer_stop,
};

static int buyer_start(void)
{
    proto_writer_init(&rec_w, PROTO_MSGPACK, 0);
    return proto_arena_init(&rec_arena, 64, 1 << 20);
}

static void buyer_stop(void)
{
    proto_writer_free(&rec_w);
    proto_arena_free(&rec_arena);
}
