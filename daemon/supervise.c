/*
 * supervise.c - a supervisor's hands on the chats of its stores (the
 * frames of /v1/supervisor after login; session_supervisor.c has the
 * login, the floor's events and the snapshot).
 *
 *   watch {chat}       the chat's recent history (history_max), then every
 *                      record as it is stored: router.lua "watch" adds this
 *                      node to the chat's watchers (field 'wn'), which
 *                      append.lua and router.lua publish each record to
 *                      (event WATCH_MSG). Silent: the buyer is not told.
 *                      A node registers once per chat, whatever its
 *                      supervisors, and leaves when its last one unwatches.
 *   join {chat}        a watch that may also write: msg {chat, id, text}
 *                      then goes to the buyer as from "supervisor", and is
 *                      an answer (it stops the clock, as an agent's).
 *   whisper {chat, text, id?}
 *                      a private record (append.lua, ARGV[13]): the
 *                      chat's agent and its watchers see it, the buyer
 *                      never does.
 *   assign, transfer, close
 *                      router.lua "supervise": the router overridden.
 *   transcript {chat, from?}
 *                      any chat of its stores, open or closed, a page of
 *                      TRANSCRIPT_PAGE records at a time (floor.lua).
 *
 * A chat of another store and one that does not exist answer alike:
 * not_found. Nothing here blocks: each frame is one script call.
 *
 * API: supervise_* (supervisor.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "db.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "stats.h"
#include "store.h"
#include "supervisor.h"

#define TRANSCRIPT_PAGE 100
#define STORE_LIST_MAX 4096

struct act_req {
    struct session *s;
    char chat[CHAT_ID_HEX + 1];
    char id[CHAT_MSG_ID_MAX + 1];
    char to[INDEX_KEY_MAX + 8];
    char what[16];                      /* the frame it answers */
    bool joined;                        /* watch: it is a join */
    bool added;                         /* watch: this frame began the watch */
};

static struct sup *P(struct session *s) { return s->data; }

/* ---- common checks --------------------------------------------------------------- */

/* The chat field: a chat id, else bad_value. */
static const char *chat_arg(struct session *s, const struct proto_value *f, const char *ref)
{
    const struct proto_value *c = proto_map_get(f, "chat");

    if (!chat_id_valid(c->u.s, c->len)) {
        session_error_field(s, CG_E_BAD_VALUE, ref, "chat");
        return NULL;
    }
    return c->u.s;
}

/* An optional id: 1-64 bytes; "" when absent; NULL (answered) when bad. */
static const char *id_arg(struct session *s, const struct proto_value *f, bool required)
{
    const struct proto_value *v = proto_map_get(f, "id");

    if ((!v || v->type == PROTO_NIL) && !required)
        return "";
    if (!v || v->type != PROTO_STR || v->len == 0 || v->len > CHAT_MSG_ID_MAX) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "id");
        return NULL;
    }
    return v->u.s;
}

/* A text the buyer or the agent reads: 1 to the longest max_text_chars
 * of its stores (the chat's own store is checked by nobody else). */
static bool text_ok(struct session *s, const struct proto_value *t, const char *ref)
{
    const struct config *c = gw.cfg;
    uint32_t max = 0;

    for (size_t i = 0; i < c->nstores; i++)
        if ((strcmp(P(s)->store, ALL_STORES) == 0 || strcmp(P(s)->store, c->stores[i].id) == 0) &&
            c->stores[i].max_text_chars > max)
            max = c->stores[i].max_text_chars;
    if (t->len == 0) {
        session_error_field(s, CG_E_BAD_VALUE, ref, "text");
        return false;
    }
    if (proto_utf8_chars(t->u.s, t->len) > max) {
        session_error(s, CG_E_TOO_LARGE, ref);
        return false;
    }
    return true;
}

static struct act_req *act_new(struct session *s, const char *what, const char *chat,
                               const char *id)
{
    struct act_req *q = session_req_new(s, sizeof *q);

    if (!q)
        return NULL;
    snprintf(q->what, sizeof q->what, "%s", what);
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    snprintf(q->id, sizeof q->id, "%s", id ? id : "");
    return q;
}

static void act_unsent(struct act_req *q)
{
    struct session *s = q->s;
    char id[sizeof q->id];

    memcpy(id, q->id, sizeof id);
    session_req_drop(q);
    session_error(s, CG_E_UNAVAILABLE, id[0] ? id : NULL);
}

/* A script's error, as a supervisor is told it: another store's chat is
 * as unknown as one that does not exist. */
static enum cg_err script_error(const char *e)
{
    static const struct { const char *prefix; enum cg_err err; } map[] = {
        { "not_found", CG_E_NOT_FOUND }, { "forbidden", CG_E_NOT_FOUND },
        { "no_chat", CG_E_NOT_FOUND },   { "closed", CG_E_CONFLICT },
        { "conflict", CG_E_CONFLICT },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(e, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].err;
    return CG_E_INTERNAL;
}

/* Ends a request: ACT_OK with the session when the reply is to be used;
 * ACT_ERR when the error (unavailable, the script's) has been sent; ACT_GONE
 * when the session is gone (*sp must not be touched). */
enum act_end { ACT_GONE, ACT_ERR, ACT_OK };

static enum act_end act_end(struct act_req *q, redisReply *r, struct session **sp, char *id,
                            size_t idcap)
{
    struct session *s;
    const char *what = q->what;
    char chat[CHAT_ID_HEX + 1], w[16];

    snprintf(id, idcap, "%s", q->id);
    memcpy(chat, q->chat, sizeof chat);
    memcpy(w, what, sizeof w);
    if (!session_req_done(q, &s))
        return ACT_GONE;
    *sp = s;
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, id[0] ? id : NULL);
        return ACT_ERR;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        enum cg_err err = script_error(db_error_text(r));
        if (err == CG_E_INTERNAL)
            log_error("supervisor_action_failed", "supervisor=%s chat=%s action=%s error=%s",
                      P(s)->id, chat, w, r->str);
        session_error(s, err, id[0] ? id : NULL);
        return ACT_ERR;
    }
    return ACT_OK;
}

/* ---- watching -------------------------------------------------------------------- */

static struct watch *watch_find(struct sup *p, const char *chat)
{
    for (size_t i = 0; i < p->nwatch; i++)
        if (strcmp(p->watch[i].chat, chat) == 0)
            return &p->watch[i];
    return NULL;
}

/* Whether any supervisor here but `except` watches the chat. */
static bool node_watches(const char *chat, const struct sup *except)
{
    for (struct sup *p = sup_first(); p; p = p->next)
        if (p != except && watch_find(p, chat))
            return true;
    return false;
}

static void watch_off(struct sup *p, const char *chat)
{
    char stores[STORE_LIST_MAX], hist[16];

    if (node_watches(chat, p))
        return;                         /* another supervisor here still does */
    sup_store_list(p, stores, sizeof stores);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { chat, "off", stores, hist };
    store_route("watch", 4, args, NULL, NULL);
}

static const char *rstr(const redisReply *e)
{
    return e->type == REDIS_REPLY_STRING ? e->str : "";
}

/* {store, group, state, agent, buyer name, first seq, {records}} */
static void on_watched(void *ud, redisReply *r)
{
    struct act_req *q = ud;
    bool joined = q->joined, added = q->added;
    char chat[CHAT_ID_HEX + 1], id[CHAT_MSG_ID_MAX + 1];
    struct session *s;
    struct sup *p;
    struct watch *wt;

    memcpy(chat, q->chat, sizeof chat);
    switch (act_end(q, r, &s, id, sizeof id)) {
    case ACT_GONE:
        return;
    case ACT_ERR:
        /* not watched after all (a failed join of a watched chat keeps the watch) */
        if ((p = P(s)) && added && (wt = watch_find(p, chat))) {
            *wt = p->watch[--p->nwatch];
            watch_off(p, chat);
        }
        if (p)
            sup_release(p);
        return;
    case ACT_OK:
        break;
    }
    p = P(s);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
        r->element[6]->type != REDIS_REPLY_ARRAY) {
        session_error(s, CG_E_INTERNAL, NULL);
        sup_release(p);
        return;
    }
    if ((wt = watch_find(p, chat)) && joined)
        wt->joined = true;
    const redisReply *h = r->element[6];
    int64_t first = r->element[5]->integer;
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 7 + (rstr(r->element[3])[0] != 0));
    proto_w_key(w, "t");     proto_w_cstr(w, joined ? "joined" : "watching");
    proto_w_key(w, "chat");  proto_w_cstr(w, chat);
    proto_w_key(w, "store"); proto_w_cstr(w, rstr(r->element[0]));
    proto_w_key(w, "group"); proto_w_cstr(w, rstr(r->element[1]));
    proto_w_key(w, "state"); proto_w_cstr(w, rstr(r->element[2]));
    if (rstr(r->element[3])[0]) {
        proto_w_key(w, "agent");
        proto_w_cstr(w, rstr(r->element[3]));
    }
    proto_w_key(w, "buyer");
    proto_w_map(w, 1);
    proto_w_key(w, "name");  proto_w_cstr(w, rstr(r->element[4]));
    proto_w_key(w, "history");
    proto_w_array(w, (uint32_t)h->elements);
    for (size_t k = 0; k < h->elements; k++)
        if (h->element[k]->type != REDIS_REPLY_STRING ||
            !chat_write_msg(w, chat, first + (int64_t)k, h->element[k]->str, h->element[k]->len))
            proto_w_nil(w);
    session_send(s, w);
    log_info(joined ? "supervisor_join" : "supervisor_watch", "supervisor=%s chat=%s", p->id,
             chat);
    sup_release(p);                     /* then the records stored meanwhile */
}

static void watch_start(struct session *s, const struct proto_value *f, bool join)
{
    struct sup *p = P(s);
    const char *chat = chat_arg(s, f, NULL);
    char stores[STORE_LIST_MAX], hist[16];
    struct act_req *q;
    bool added = false;
    void *v;

    if (!chat)
        return;
    if (!watch_find(p, chat)) {
        added = true;
        if (p->nwatch >= gw.cfg->supervisor_watch_max) {
            session_error_field(s, CG_E_BAD_VALUE, NULL, "chat");
            return;
        }
        if (!(v = realloc(p->watch, (p->nwatch + 1) * sizeof *p->watch)))
            return;
        p->watch = v;
        memset(&p->watch[p->nwatch], 0, sizeof p->watch[0]);
        snprintf(p->watch[p->nwatch++].chat, sizeof p->watch[0].chat, "%s", chat);
    }
    if (!(q = act_new(s, join ? "join" : "watch", chat, NULL)))
        return;
    q->joined = join;
    q->added = added;
    sup_store_list(p, stores, sizeof stores);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { chat, "on", stores, hist };
    /* registered before the history is read: the records stored from then
     * on reach this node; they wait until the history is out */
    sup_hold(p);
    if (store_route("watch", 4, args, on_watched, q) != 0) {
        sup_release(p);
        act_unsent(q);
    }
}

void supervise_watch(struct session *s, const struct proto_value *f)
{
    watch_start(s, f, false);
}

void supervise_join(struct session *s, const struct proto_value *f)
{
    watch_start(s, f, true);
}

void supervise_unwatch(struct session *s, const struct proto_value *f)
{
    struct sup *p = P(s);
    const char *chat = chat_arg(s, f, NULL);
    struct watch *wt;

    if (!chat)
        return;
    if (!(wt = watch_find(p, chat))) {
        session_error(s, CG_E_NOT_FOUND, NULL);
        return;
    }
    *wt = p->watch[--p->nwatch];
    watch_off(p, chat);
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 2);
    proto_w_key(w, "t");    proto_w_cstr(w, "unwatched");
    proto_w_key(w, "chat"); proto_w_cstr(w, chat);
    session_send(s, w);
}

void supervise_forget(struct sup *p)
{
    while (p->nwatch > 0) {
        char chat[CHAT_ID_HEX + 1];
        memcpy(chat, p->watch[--p->nwatch].chat, sizeof chat);
        watch_off(p, chat);
    }
}

void supervise_on_watch_msg(const struct event *ev)
{
    const struct proto_value *rec = ev->body ? proto_map_get(ev->body, "rec") : NULL;
    const struct proto_value *seq = ev->body ? proto_map_get(ev->body, "seq") : NULL;

    if (!ev->chat || !rec || rec->type != PROTO_STR || !seq || seq->type != PROTO_INT)
        return;
    for (struct sup *p = sup_first(); p; p = p->next) {
        if (!session_alive(p->s) || !watch_find(p, ev->chat))
            continue;
        struct proto_writer *w = session_writer(p->s);
        if (chat_write_msg(w, ev->chat, seq->u.i, rec->u.s, rec->len))
            sup_emit(p, w);
    }
}

/* ---- writing: whisper, and msg once joined ------------------------------------------- */

static void on_written(void *ud, redisReply *r)
{
    struct act_req *q = ud;
    char chat[CHAT_ID_HEX + 1], id[CHAT_MSG_ID_MAX + 1];
    struct session *s;

    memcpy(chat, q->chat, sizeof chat);
    if (act_end(q, r, &s, id, sizeof id) != ACT_OK)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != STORE_APPEND_REPLY) {
        session_error(s, CG_E_INTERNAL, id[0] ? id : NULL);
        return;
    }
    if (!r->element[1]->integer)
        metrics.msgs_stored++;
    /* a joined supervisor's answer stops the clock and counts in the chat's
     * record (fr, rn, rs, r30); the hourly statistics count agents' only */
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 4);
    proto_w_key(w, "t");    proto_w_cstr(w, "ack");
    proto_w_key(w, "chat"); proto_w_cstr(w, chat);
    proto_w_key(w, "id");   proto_w_cstr(w, id);
    proto_w_key(w, "seq");  proto_w_int(w, r->element[0]->integer);
    session_send(s, w);
}

static void write_text(struct session *s, const char *chat, const char *id,
                       const struct proto_value *t, bool private_rec)
{
    struct sup *p = P(s);
    char who[INDEX_KEY_MAX + 16], stores[STORE_LIST_MAX];
    const char *rec;
    size_t len;
    struct act_req *q;
    uint64_t now = gw_wall_ms();

    rec = private_rec ? chat_record_private("supervisor", p->name, t->u.s, now,
                                            id[0] ? id : NULL, &len)
                      : chat_record("supervisor", p->name, t->u.s, now, id[0] ? id : NULL, &len);
    if (!rec) {
        session_error(s, CG_E_INTERNAL, id[0] ? id : NULL);
        return;
    }
    if (!(q = act_new(s, private_rec ? "whisper" : "msg", chat, id)))
        return;
    snprintf(who, sizeof who, "supervisor:%s", p->id);
    sup_store_list(p, stores, sizeof stores);
    struct store_append ap = { .chat = q->chat, .id = q->id, .id_len = strlen(q->id),
                               .rec = rec, .rec_len = len, .who = who, .tag = "",
                               .store = stores, .node = "", .now_ms = now,
                               .private_rec = private_rec };
    if (store_append(&ap, on_written, q) != 0)
        act_unsent(q);
}

void supervise_whisper(struct session *s, const struct proto_value *f)
{
    const char *id = id_arg(s, f, false), *chat;

    if (!id || !(chat = chat_arg(s, f, id[0] ? id : NULL)) ||
        !text_ok(s, proto_map_get(f, "text"), id[0] ? id : NULL))
        return;
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id[0] ? id : NULL);
        return;
    }
    write_text(s, chat, id, proto_map_get(f, "text"), true);
}

void supervise_msg(struct session *s, const struct proto_value *f)
{
    const char *id = id_arg(s, f, true), *chat;
    struct watch *wt;

    if (!id || !(chat = chat_arg(s, f, id)) || !text_ok(s, proto_map_get(f, "text"), id))
        return;
    if (!(wt = watch_find(P(s), chat)) || !wt->joined) {
        session_error(s, CG_E_CONFLICT, id);     /* join it first */
        return;
    }
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id);
        return;
    }
    write_text(s, chat, id, proto_map_get(f, "text"), false);
}

/* ---- the router overridden: assign, transfer, close ---------------------------------- */

static void on_supervised(void *ud, redisReply *r)
{
    struct act_req *q = ud;
    char chat[CHAT_ID_HEX + 1], to[sizeof q->to], what[sizeof q->what], id[CHAT_MSG_ID_MAX + 1];
    struct session *s;

    memcpy(chat, q->chat, sizeof chat);
    memcpy(to, q->to, sizeof to);
    memcpy(what, q->what, sizeof what);
    if (r && r->type == REDIS_REPLY_ARRAY)
        router_assign_groups(r);        /* loads dropped, queues grew */
    if (act_end(q, r, &s, id, sizeof id) != ACT_OK)
        return;
    static const struct { const char *what, *reply, *field; } replies[] = {
        { "assign", "assigned", "agent" }, { "transfer", "transferred", "to" },
        { "close", "closed", NULL },
    };
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        if (strcmp(replies[i].what, what) != 0)
            continue;
        struct proto_writer *w = session_writer(s);
        proto_w_map(w, replies[i].field ? 3 : 2);
        proto_w_key(w, "t");    proto_w_cstr(w, replies[i].reply);
        proto_w_key(w, "chat"); proto_w_cstr(w, chat);
        if (replies[i].field) {
            proto_w_key(w, replies[i].field);
            proto_w_cstr(w, to);
        }
        session_send(s, w);
    }
    log_info("supervisor_action", "supervisor=%s action=%s chat=%s to=%s", P(s)->id, what, chat,
             to[0] ? to : "-");
}

static void supervise(struct session *s, const char *action, const char *chat, const char *to,
                      bool force)
{
    char stores[STORE_LIST_MAX], ttl[24], hist[16];
    struct act_req *q = act_new(s, action, chat, NULL);

    if (!q)
        return;
    snprintf(q->to, sizeof q->to, "%s", to ? to : "");
    sup_store_list(P(s), stores, sizeof stores);
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)gw.cfg->transcript_ttl_ms);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { action, chat, stores, ttl, hist, q->to, force ? "1" : "0" };
    if (store_route("supervise", 7, args, on_supervised, q) != 0)
        act_unsent(q);
}

/* An agent id or "group:NAME" of at most INDEX_KEY_MAX + 6 bytes. */
static bool target_ok(struct session *s, const struct proto_value *v, const char *field)
{
    if (v->len == 0 || v->len > INDEX_KEY_MAX + 6) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, field);
        return false;
    }
    return true;
}

void supervise_assign(struct session *s, const struct proto_value *f)
{
    const struct proto_value *a = proto_map_get(f, "agent"), *force = proto_map_get(f, "force");
    const char *chat = chat_arg(s, f, NULL);

    if (!chat || !target_ok(s, a, "agent"))
        return;
    if (force && force->type != PROTO_BOOL && force->type != PROTO_NIL) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "force");
        return;
    }
    if (strncmp(a->u.s, "group:", 6) == 0) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "agent");   /* transfer does groups */
        return;
    }
    supervise(s, "assign", chat, a->u.s, force && force->type == PROTO_BOOL && force->u.b);
}

void supervise_transfer(struct session *s, const struct proto_value *f)
{
    const struct proto_value *to = proto_map_get(f, "to");
    const char *chat = chat_arg(s, f, NULL);

    if (chat && target_ok(s, to, "to"))
        supervise(s, "transfer", chat, to->u.s, false);
}

void supervise_close(struct session *s, const struct proto_value *f)
{
    const char *chat = chat_arg(s, f, NULL);

    if (chat)
        supervise(s, "close", chat, NULL, false);
}

/* ---- the transcript ------------------------------------------------------------------ */

/* {record (msgpack map), first, {records}, n} */
static void on_transcript(void *ud, redisReply *r)
{
    struct act_req *q = ud;
    char chat[CHAT_ID_HEX + 1], id[CHAT_MSG_ID_MAX + 1];
    struct session *s;
    struct proto_limits lim = { 2, 128, false };
    struct proto_arena arena;
    const struct proto_value *m;

    memcpy(chat, q->chat, sizeof chat);
    if (act_end(q, r, &s, id, sizeof id) != ACT_OK)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_ARRAY ||
        proto_arena_init(&arena, lim.max_elems, r->element[0]->len * 2 + 64) != 0) {
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    if (proto_decode(r->element[0]->str, r->element[0]->len, PROTO_MSGPACK, &lim, &arena,
                     &m) != PROTO_OK) {
        proto_arena_free(&arena);
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    const redisReply *h = r->element[2];
    int64_t first = r->element[1]->integer, n = r->element[3]->integer;
    int64_t next = first + (int64_t)h->elements;
    /* the notes on its signed buyer (floor.lua packs {notes}; '' = none) */
    const redisReply *nr = r->elements > 4 ? r->element[4] : NULL;
    struct proto_limits nlim = { 3, 0, false };
    struct proto_arena narena = { 0 };
    const struct proto_value *notes = NULL;
    nlim.max_elems = nr && nr->type == REDIS_REPLY_STRING ? (uint32_t)nr->len + 16 : 0;
    if (nr && nr->type == REDIS_REPLY_STRING && nr->len > 0 &&
        proto_arena_init(&narena, nlim.max_elems, nr->len * 2 + 64) == 0 &&
        (proto_decode(nr->str, nr->len, PROTO_MSGPACK, &nlim, &narena, &notes) != PROTO_OK ||
         !(notes = proto_map_get(notes, "notes")) || notes->type != PROTO_ARRAY))
        notes = NULL;
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 6 + (next <= n) + (notes != NULL));
    if (notes) {
        proto_w_key(w, "buyer_notes");
        proto_w_value(w, notes);
    }
    proto_w_key(w, "t");      proto_w_cstr(w, "transcript");
    proto_w_key(w, "chat");   proto_w_cstr(w, chat);
    proto_w_key(w, "record"); proto_w_value(w, m);
    proto_w_key(w, "first");  proto_w_int(w, first);
    proto_w_key(w, "n");      proto_w_int(w, n);
    proto_w_key(w, "messages");
    proto_w_array(w, (uint32_t)h->elements);
    for (size_t k = 0; k < h->elements; k++)
        if (h->element[k]->type != REDIS_REPLY_STRING ||
            !chat_write_msg(w, NULL, first + (int64_t)k, h->element[k]->str, h->element[k]->len))
            proto_w_nil(w);
    if (next <= n) {
        proto_w_key(w, "next");
        proto_w_int(w, next);
    }
    session_send(s, w);
    proto_arena_free(&arena);
    proto_arena_free(&narena);
}

void supervise_transcript(struct session *s, const struct proto_value *f)
{
    const struct proto_value *from = proto_map_get(f, "from");
    const char *chat = chat_arg(s, f, NULL);
    char stores[STORE_LIST_MAX];
    struct act_req *q;

    if (!chat)
        return;
    if (from && from->type != PROTO_NIL && (from->type != PROTO_INT || from->u.i < 1)) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "from");
        return;
    }
    if (!(q = act_new(s, "transcript", chat, NULL)))
        return;
    sup_store_list(P(s), stores, sizeof stores);
    if (store_transcript(chat, stores, from && from->type == PROTO_INT ? from->u.i : 1,
                         TRANSCRIPT_PAGE, on_transcript, q) != 0)
        act_unsent(q);
}
