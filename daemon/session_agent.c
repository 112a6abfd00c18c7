/*
 * session_agent.c - the agent's desk session at /v1/agent.
 *
 * login {token}: the token's SHA-256 finds the agent (cg:tok:<hash> ->
 * agent:<id>, then cg:agent:<id>); the stored hash is compared again in
 * constant time. The session then counts as the agent being online on
 * this node (router.lua "online", which checks the hash once more, so a
 * token revoked or an agent deleted after the lookup cannot slip in, and
 * refuses past agent_sessions_max sessions), and the welcome lists the
 * chats the agent already holds, with their recent history. The login's
 * steps up to the agent's identity (the gate of failed logins per
 * address, the token's owner) are desk_login.c's, shared with the
 * supervisor's.
 *
 * After login: state (ready|away), msg (stored by append.lua, which also
 * checks, atomically, that the chat is this agent's), transfer and close
 * (router.lua "release"). What happens to the agent's chats reaches every
 * one of its sessions as router events: assign, unassign, msg.
 *
 * Plugins (plugin.h) see every agent message before it is stored: one may
 * block it (`error blocked` with its rule and reason: nothing is stored)
 * or hold it (`guard {chat, id, rule, reason}`; the same id resent with
 * confirm: true goes out; the session remembers the last HELD_MAX held
 * ids). `quick {chat, key, id}` asks the plugins to expand a phrase with
 * the chat's names (read with store_resume), then sends it like a msg;
 * `quick_list` lists their library; a buyer message reaching the desk may
 * come with `suggest {chat, seq, keys}`.
 *
 * typing {chat} and read {chat, seq} go to the buyer of a chat the agent
 * holds (signal.lua checks it: else forbidden, as for msg), typing at most
 * once per typing_relay per chat; the buyer's come back as typing {chat,
 * for_ms} and read {chat, seq}, and the welcome's chats and assign carry
 * `read`, how far the buyer has read. What one window does that its
 * others should show comes to them as events with the doer's tag (src),
 * which the doer skips: its own read as read_self {chat, seq}, a note on
 * a buyer as buyer_notes {chat, notes}, a msg as msg.
 *
 * API: agent_role (its on_event takes the table's agent events).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "chat.h"
#include "config.h"
#include "db.h"
#include "desk_login.h"
#include "event.h"
#include "gw.h"
#include "index.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
#include "router.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "session_agent.h"
#include "token.h"

#define AGENT_NAME_MAX 256
#define HELD_MAX 8                      /* messages held for confirmation, per session */
#define QUICK_KEY_MAX 64
#define QUICK_TEXT_MAX 8192             /* an expanded phrase, bytes */
#define SIGNAL_CHATS 8                  /* chats whose typing/read a session remembers */

/* A message a plugin held (warn) until the agent confirms it. */
struct held {
    char chat[CHAT_ID_HEX + 1];
    char id[CHAT_MSG_ID_MAX + 1];
};

/* The last typing relayed and read sent for one chat, by this session. */
struct signalled {
    char chat[CHAT_ID_HEX + 1];
    uint64_t typing_at;                 /* loop ms; 0 = never */
    int64_t read_kept;                  /* the highest read Redis took from it */
};

struct agent {
    char id[INDEX_KEY_MAX + 1];
    char name[AGENT_NAME_MAX];
    char store[CONFIG_ID_MAX + 1];
    char groups[16 * (CONFIG_ID_MAX + 1)];  /* space-separated */
    char tag[96];                        /* node#n: this session, in events it caused */
    char token_hash[TOKEN_HASH_HEX + 1]; /* the login's, checked again by "online" */
    char state[8];                       /* at login: ready | away */
    int64_t shift_on, shift_ends, shift_next; /* at login: its shift (router.lua shift_state) */
    int64_t shift_ot;                    /* at login: in overtime (router.lua shift_tell) */
    uint32_t capacity;
    uint8_t logged_in;
    uint8_t counted;                     /* Redis counts this session as online */
    uint8_t attached;                    /* in the router's index: gets events */
    uint8_t missed;                      /* an event came before the welcome */
    struct desk_login login;             /* its login (logging_in while under way) */
    struct session *s;                   /* the session it belongs to */
    char ip[64];
    struct held held[HELD_MAX];          /* a ring: the oldest is forgotten */
    uint8_t held_next;
    struct signalled sig[SIGNAL_CHATS];  /* a ring, like held */
    uint8_t sig_next;
};

/* A request to Redis on behalf of an agent session. */
struct agent_req {
    struct session *s;
    char id[CHAT_MSG_ID_MAX + 1];       /* the frame's message id, for errors */
    char chat[CHAT_ID_HEX + 1];
    char to[INDEX_KEY_MAX + 8];
    char *text;                         /* a quick reply's text, for its ack */
    int64_t seq;                        /* a read's */
};

/* A quick reply waiting for its chat's names. */
struct quick_req {
    struct session *s;
    char id[CHAT_MSG_ID_MAX + 1];
    char chat[CHAT_ID_HEX + 1];
    char key[QUICK_KEY_MAX + 1];
    bool confirm;
};


static uint64_t next_tag;

static struct agent *A(struct session *s) { return s->data; }

static struct agent_req *req_new(struct session *s)
{
    return session_req_new(s, sizeof(struct agent_req));
}

static bool req_end(struct agent_req *q, struct session **sp)
{
    return session_req_done(q, sp);
}

/* Frees a request that could not be sent; answers unavailable. */
static void req_unsent(struct agent_req *q, const char *ref)
{
    struct session *s = q->s;

    session_req_drop(q);
    session_error(s, CG_E_UNAVAILABLE, ref);
}

/* ---- frames to the agent ---------------------------------------------------- */

static void write_history(struct proto_writer *w, const char *chat, int64_t first,
                          const struct proto_value *hist)
{
    uint32_t n = hist && hist->type == PROTO_ARRAY ? hist->len : 0;

    proto_w_array(w, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct proto_value *rec = &hist->u.items[i];
        if (rec->type != PROTO_STR ||
            !chat_write_msg(w, chat, first + (int64_t)i, rec->u.s, rec->len))
            proto_w_nil(w);
    }
}

/* A chat's signed context (hello's context, see session_buyer.c), for its
 * agent only: the priority, the buyer the store's site vouches for, and the
 * product it views (a map of strings id, title, price, url). */
struct chat_ctx {
    const char *priority, *sbuyer, *sname;   /* "" = none */
    const struct proto_value *product;       /* a map, or NULL */
    const struct proto_value *notes;         /* agents' notes on the signed
                                                buyer (router.lua buyer_notes):
                                                an array of maps, or NULL */
};

/* The keys write_context adds to a chat's map. */
static uint32_t ctx_keys(const struct chat_ctx *cx)
{
    return (cx->priority[0] ? 1u : 0u) + (cx->product ? 1u : 0u) + (cx->notes ? 1u : 0u);
}

static void write_context(struct proto_writer *w, const struct chat_ctx *cx)
{
    static const char *const product_keys[] = { "id", "title", "price", "url" };

    if (cx->priority[0]) {
        proto_w_key(w, "priority"); proto_w_cstr(w, cx->priority);
    }
    if (cx->product) {
        proto_w_key(w, "product");
        proto_w_map(w, 4);
        for (size_t i = 0; i < 4; i++) {
            const struct proto_value *v = proto_map_get(cx->product, product_keys[i]);
            proto_w_key(w, product_keys[i]);
            proto_w_cstr(w, v && v->type == PROTO_STR ? v->u.s : "");
        }
    }
    if (cx->notes) {
        proto_w_key(w, "buyer_notes");
        proto_w_value(w, cx->notes);
    }
}

/* `buyer` {id, name, signed?} and the rest of the chat's context. */
static void write_buyer(struct proto_writer *w, const char *buyer, const char *bname,
                        const struct chat_ctx *cx)
{
    proto_w_key(w, "buyer");
    proto_w_map(w, cx->sbuyer[0] ? 3 : 2);
    proto_w_key(w, "id");    proto_w_cstr(w, buyer);
    proto_w_key(w, "name");  proto_w_cstr(w, bname);
    if (cx->sbuyer[0]) {
        proto_w_key(w, "signed");
        proto_w_map(w, 2);
        proto_w_key(w, "id");   proto_w_cstr(w, cx->sbuyer);
        proto_w_key(w, "name"); proto_w_cstr(w, cx->sname);
    }
    write_context(w, cx);
}

static void send_assign_like(struct proto_writer *w, const char *chat, const char *buyer,
                             const char *bname, const char *group, int64_t waited,
                             int64_t first, const struct proto_value *hist,
                             const struct chat_ctx *cx)
{
    proto_w_key(w, "chat");  proto_w_cstr(w, chat);
    write_buyer(w, buyer, bname, cx);
    proto_w_key(w, "group"); proto_w_cstr(w, group);
    proto_w_key(w, "waited_ms"); proto_w_int(w, waited);
    proto_w_key(w, "history");
    write_history(w, chat, first, hist);
}

static const char *ev_s(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = proto_map_get(ev, k);
    return v && v->type == PROTO_STR ? v->u.s : "";
}

static void write_shift(struct proto_writer *w, int64_t on, int64_t ends, int64_t next,
                        int64_t ot);
static void send_buyer_notes(struct session *s, const char *chat, const char *id,
                             const struct proto_value *notes);
static struct signalled *signalled(struct agent *a, const char *chat, bool add);
static int64_t reply_int(const redisReply *e);

static int64_t ev_i(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = proto_map_get(ev, k);
    return v && v->type == PROTO_INT ? v->u.i : v && v->type == PROTO_FLOAT ? (int64_t)v->u.f : 0;
}

static void agent_rejoin(struct session *s);

/* ---- plugins ------------------------------------------------------------------- */

/* Space-separated words as an array of strings. */
static void write_words(struct proto_writer *w, const char *list)
{
    uint32_t n = 0;

    for (const char *p = list; *p; ) {
        p += strspn(p, " ");
        if (*p)
            n++;
        p += strcspn(p, " ");
    }
    proto_w_array(w, n);
    for (const char *p = list; *p; ) {
        p += strspn(p, " ");
        size_t k = strcspn(p, " ");
        if (k)
            proto_w_str(w, p, k);
        p += k;
    }
}

static void send_suggest(struct session *s, const char *chat, int64_t seq, const char *keys)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 4);
    proto_w_key(w, "t");    proto_w_cstr(w, "suggest");
    proto_w_key(w, "chat"); proto_w_cstr(w, chat);
    proto_w_key(w, "seq");  proto_w_int(w, seq);
    proto_w_key(w, "keys"); write_words(w, keys);
    session_send(s, w);
}

/* The plugins' quick-reply keys for a message reaching the desk ("" none):
 * they run once per event on this node, whatever the agent's windows. */
static const char *agent_suggestions(struct agent *a, const struct proto_value *ev,
                                     const struct proto_value *rec)
{
    const char *from, *text;
    size_t len;

    if (!plugin_hooked(CHATGW_EV_MSG_TO_AGENT) ||
        !chat_record_read(rec->u.s, rec->len, &from, &text, &len) ||
        chat_record_is_private(rec->u.s, rec->len))      /* a note, a whisper: not the buyer's */
        return "";
    struct chatgw_event ce = { .store = a->store, .chat = ev_s(ev, "chat"), .agent = a->id,
                               .agent_name = a->name, .seq = ev_i(ev, "seq"), .from = from,
                               .text = text, .text_len = len };
    return plugin_suggest(&ce);
}

/* read_self {chat, seq}: the agent read the chat up to seq in another of
 * its windows; this one need not say so again (its read ring keeps it). */
static void send_read_self(struct session *s, const char *chat, int64_t seq)
{
    struct signalled *g = signalled(A(s), chat, false);
    struct proto_writer *w = session_writer(s);

    if (g && seq > g->read_kept)
        g->read_kept = seq;
    proto_w_map(w, 3);
    proto_w_key(w, "t");    proto_w_cstr(w, "read_self");
    proto_w_key(w, "chat"); proto_w_cstr(w, chat);
    proto_w_key(w, "seq");  proto_w_int(w, seq);
    session_send(s, w);
}

/* Assigned, unassigned, breach, escalation: the plugins hear it once per node. */
static void agent_plugins_notify(struct agent *a, const struct event *e)
{
    static const int hook_of[EV__END] = { [EV_ASSIGNED] = CHATGW_EV_ASSIGNED,
                                          [EV_UNASSIGNED] = CHATGW_EV_UNASSIGNED,
                                          [EV_BREACH] = CHATGW_EV_BREACH,
                                          [EV_ESCALATION] = CHATGW_EV_ESCALATION };
    const struct proto_value *ev = e->body;
    int hook = e->id < EV__END ? hook_of[e->id] : 0;

    if (!hook || !plugin_hooked(hook))
        return;
    struct chatgw_event ce = { .event = hook, .store = a->store, .chat = ev_s(ev, "chat"),
                               .agent = a->id, .agent_name = a->name,
                               .buyer_name = ev_s(ev, "bname"), .group = ev_s(ev, "group"),
                               .reason = ev_s(ev, "reason") };
    if (e->id == EV_ESCALATION) {      /* the rule, the excerpt; n tells flags apart */
        ce.reason = ev_s(ev, "rule");
        ce.text = ev_s(ev, "excerpt");
        ce.text_len = ce.text ? strlen(ce.text) : 0;
        ce.seq = ev_i(ev, "n");
    }
    plugin_notify(&ce, true);
}

/* typing {chat, for_ms} (show it for for_ms unless renewed) or read {chat, seq}. */
static void send_signal(struct session *s, const struct event *e)
{
    const struct proto_value *ev = e->body;
    struct proto_writer *w = session_writer(s);
    bool read = e->id == EV_READ_TO_AGENT;

    proto_w_map(w, 3);
    proto_w_key(w, "t");    proto_w_cstr(w, read ? "read" : "typing");
    proto_w_key(w, "chat"); proto_w_cstr(w, ev_s(ev, "chat"));
    if (read) {
        proto_w_key(w, "seq"); proto_w_int(w, ev_i(ev, "seq"));
    } else {
        proto_w_key(w, "for_ms"); proto_w_int(w, (int64_t)(3 * gw.cfg->typing_relay_ms));
    }
    session_send(s, w);
}

/* The events of the table (event.h) that are for an agent's session. */
static void agent_on_event(struct session *s, const struct event *e)
{
    const struct proto_value *ev = e->body;
    struct agent *a = A(s);
    struct proto_writer *w;

    if (!session_alive(s) || !a || !a->attached)
        return;
    if (e->id == EV_REJOIN) {
        agent_rejoin(s);
        return;
    }
    if (e->id == EV_KICK) {
        log_info("agent_kicked", "agent=%s", a->id);
        session_error(s, CG_E_UNAUTHORIZED, NULL);
        session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
        return;
    }
    if (e->id == EV_TYPING_TO_AGENT || e->id == EV_READ_TO_AGENT) {
        if (a->logged_in)               /* before the welcome: its chats carry `read` */
            send_signal(s, e);
        return;
    }
    if (e->id == EV_READ_SELF) {        /* read in another window: this one has too */
        if (a->logged_in && strcmp(ev_s(ev, "src"), a->tag) != 0)
            send_read_self(s, ev_s(ev, "chat"), ev_i(ev, "seq"));
        return;
    }
    if (e->id == EV_BUYER_NOTES) {      /* the writing window has its answer */
        if (!a->logged_in)
            a->missed = 1;              /* its chats again, with their notes */
        else if (strcmp(ev_s(ev, "src"), a->tag) != 0)
            send_buyer_notes(s, ev_s(ev, "chat"), "", proto_map_get(ev, "notes"));
        return;
    }
    if (e->id != EV_ASSIGNED && e->id != EV_UNASSIGNED && e->id != EV_MSG_TO_AGENT &&
        e->id != EV_BREACH && e->id != EV_SHIFT && e->id != EV_ESCALATION)
        return;
    if (e->id == EV_SHIFT && !a->logged_in) {
        a->shift_on = ev_i(ev, "on");     /* the welcome tells it */
        a->shift_ends = ev_i(ev, "ends");
        a->shift_next = ev_i(ev, "next");
        a->shift_ot = ev_i(ev, "ot");
        return;
    }
    if (!a->logged_in) {
        /* between "online" and the welcome: the welcome's list may not
         * have it; the chats are sent again once the welcome is out */
        a->missed = 1;
        return;
    }
    if (e->id != EV_MSG_TO_AGENT)
        agent_plugins_notify(a, e);
    w = session_writer(s);
    if (e->id == EV_ASSIGNED) {
        const struct proto_value *pv = proto_map_get(ev, "product");
        const struct proto_value *nv = proto_map_get(ev, "bnotes");
        struct chat_ctx cx = { ev_s(ev, "priority"), ev_s(ev, "sbuyer"), ev_s(ev, "sname"),
                               pv && pv->type == PROTO_MAP ? pv : NULL,
                               nv && nv->type == PROTO_ARRAY && nv->len ? nv : NULL };
        proto_w_map(w, 7 + ctx_keys(&cx));
        proto_w_key(w, "t"); proto_w_cstr(w, "assign");
        send_assign_like(w, ev_s(ev, "chat"), ev_s(ev, "buyer"), ev_s(ev, "bname"),
                         ev_s(ev, "group"), ev_i(ev, "waited"), ev_i(ev, "first"),
                         proto_map_get(ev, "hist"), &cx);
        proto_w_key(w, "read"); proto_w_int(w, ev_i(ev, "read"));
    } else if (e->id == EV_SHIFT) {
        proto_w_map(w, 2);
        proto_w_key(w, "t"); proto_w_cstr(w, "shift");
        proto_w_key(w, "shift");
        write_shift(w, ev_i(ev, "on"), ev_i(ev, "ends"), ev_i(ev, "next"), ev_i(ev, "ot"));
    } else if (e->id == EV_BREACH) {
        proto_w_map(w, 3);
        proto_w_key(w, "t");         proto_w_cstr(w, "breach");
        proto_w_key(w, "chat");      proto_w_cstr(w, ev_s(ev, "chat"));
        proto_w_key(w, "waited_ms"); proto_w_int(w, ev_i(ev, "waited"));
    } else if (e->id == EV_ESCALATION) {
        proto_w_map(w, 4);
        proto_w_key(w, "t");       proto_w_cstr(w, "escalation");
        proto_w_key(w, "chat");    proto_w_cstr(w, ev_s(ev, "chat"));
        proto_w_key(w, "rule");    proto_w_cstr(w, ev_s(ev, "rule"));
        proto_w_key(w, "excerpt"); proto_w_cstr(w, ev_s(ev, "excerpt"));
    } else if (e->id == EV_UNASSIGNED) {
        proto_w_map(w, 3);
        proto_w_key(w, "t");      proto_w_cstr(w, "unassign");
        proto_w_key(w, "chat");   proto_w_cstr(w, ev_s(ev, "chat"));
        proto_w_key(w, "reason"); proto_w_cstr(w, ev_s(ev, "reason"));
    } else {
        const struct proto_value *rec = proto_map_get(ev, "rec");
        if (strcmp(ev_s(ev, "src"), a->tag) == 0 || !rec || rec->type != PROTO_STR)
            return;                     /* its own message: it has the ack */
        const char *keys = agent_suggestions(a, ev, rec);
        if (!chat_write_msg(w, ev_s(ev, "chat"), ev_i(ev, "seq"), rec->u.s, rec->len))
            return;
        metrics.relayed++;
        session_send(s, w);
        if (keys[0])
            send_suggest(s, ev_s(ev, "chat"), ev_i(ev, "seq"), keys);
        return;
    }
    session_send(s, w);
}

/* ---- login ------------------------------------------------------------------- */

/* A login step found Redis unavailable: the client may try again. */
static void login_unavailable(struct session *s)
{
    desk_login_unavailable(&A(s)->login);
    /* counted online already: start over on a new session (agent_close
     * takes the count back) rather than count this one twice */
    if (A(s)->counted)
        session_close(s, CLOSE_TRY_AGAIN_LATER, CLOSE_POLICY);
}

static void on_chats(void *ud, redisReply *r);

/* router.lua "online" refused the session: the answer, then close. */
static const struct {
    const char *error;              /* the script's error reply */
    enum cg_err err;
    const char *why;                /* logged */
    bool failed_login;              /* counts towards login_fail_max */
} online_refusals[] = {
    { "too_many_sessions", CG_E_TOO_MANY_SESSIONS, "too_many_sessions", false },
    /* the token was replaced or the agent deleted after the lookup */
    { "unauthorized",      CG_E_UNAUTHORIZED,      "token_revoked",     true },
};

static bool online_refused(struct session *s, const char *e)
{
    struct agent *a = A(s);

    for (size_t i = 0; i < sizeof online_refusals / sizeof online_refusals[0]; i++) {
        if (strcmp(e, online_refusals[i].error) != 0)
            continue;
        /* no events from now on; its offline at close is harmless (by tag) */
        if (a->attached)
            router_agent_detach(s, a->id);
        a->attached = 0;
        if (online_refusals[i].failed_login && !a->logged_in) {
            desk_login_fail(&a->login, online_refusals[i].err, online_refusals[i].why);
            return true;
        }
        a->login.logging_in = 0;
        log_info(a->logged_in ? "agent_refused" : "login_refused", "agent=%s ip=%s reason=%s",
                 a->id, a->ip, online_refusals[i].why);
        session_error(s, online_refusals[i].err, NULL);
        session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
        return true;
    }
    return false;
}

static void on_online(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    struct session *s;
    char hist[16];

    if (!req_end(q, &s))
        return;
    if (r && r->type == REDIS_REPLY_ERROR && online_refused(s, db_error_text(r)))
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        login_unavailable(s);
        return;
    }
    if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY &&
        r->element[2]->elements == 4) {
        A(s)->shift_on = reply_int(r->element[2]->element[0]);
        A(s)->shift_ends = reply_int(r->element[2]->element[1]);
        A(s)->shift_next = reply_int(r->element[2]->element[2]);
        A(s)->shift_ot = reply_int(r->element[2]->element[3]);
    }
    snprintf(A(s)->state, sizeof A(s)->state, "%s",
             r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : "away");
    if (strcmp(A(s)->state, "ready") == 0)
        router_assign_groups(r->element[1]);   /* a ready agent is back: chats? */
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { A(s)->id, hist };
    q = req_new(s);
    if (!q || store_route("chats", 2, args, on_chats, q) != 0) {
        if (q)
            req_unsent(q, NULL);
    }
}

static int64_t reply_int(const redisReply *e)
{
    return e->type == REDIS_REPLY_INTEGER ? e->integer
         : e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

static const char *rstr(const redisReply *e)
{
    return e->type == REDIS_REPLY_STRING ? e->str : "";
}

/* {on_shift, ends_at, next, overtime}: ms since the epoch, null when none
 * (a store without shifts: on shift, no end); overtime: off shift and yet
 * taking chats, having set ready off shift where the store allows it. */
static void write_shift(struct proto_writer *w, int64_t on, int64_t ends, int64_t next,
                        int64_t ot)
{
    proto_w_map(w, 4);
    proto_w_key(w, "on_shift"); proto_w_bool(w, on != 0);
    proto_w_key(w, "overtime"); proto_w_bool(w, on == 0 && ot != 0);
    proto_w_key(w, "ends_at");
    if (ends > 0) proto_w_int(w, ends); else proto_w_nil(w);
    proto_w_key(w, "next");
    if (next > 0) proto_w_int(w, next); else proto_w_nil(w);
}

/* {id, name, timezone, overtime}: what the desk says about the agent's
 * store beside its shift (the zone its hours are in, whether ready off
 * shift takes chats, 7.6). */
static void write_store(struct proto_writer *w, const char *id)
{
    const struct store_conf *st = config_find_store(gw.cfg, id);

    proto_w_key(w, "store");
    proto_w_map(w, 4);
    proto_w_key(w, "id");       proto_w_cstr(w, id);
    proto_w_key(w, "name");     proto_w_cstr(w, st && st->name ? st->name : id);
    proto_w_key(w, "timezone"); proto_w_cstr(w, st && st->timezone ? st->timezone : "UTC");
    proto_w_key(w, "overtime"); proto_w_bool(w, st && st->overtime);
}

/* One entry of router.lua "chats": {chat, buyer, bname, group, waited,
 * first, history, priority, sbuyer, sname, product (msgpack), read, and
 * the notes on its signed buyer (msgpack) when there are any}. */
#define HELD_CHAT_FIELDS 12
static bool held_chat_ok(const redisReply *c)
{
    return c->type == REDIS_REPLY_ARRAY && c->elements >= HELD_CHAT_FIELDS &&
           c->element[6]->type == REDIS_REPLY_ARRAY;
}

/* Its signed context; the product and the buyer's notes decoded into
 * scratch arenas that the next call reuses. */
static struct chat_ctx held_ctx(const redisReply *c)
{
    static struct proto_arena arena, narena;
    static const struct proto_limits lim = { .max_depth = 2, .max_elems = 16 };
    struct chat_ctx cx = { rstr(c->element[7]), rstr(c->element[8]), rstr(c->element[9]), NULL,
                           NULL };
    const redisReply *p = c->element[10], *n = c->elements > 12 ? c->element[12] : NULL;
    const struct proto_value *v;

    if (p->type == REDIS_REPLY_STRING && p->len > 0 &&
        (arena.vals || proto_arena_init(&arena, 16, 8192) == 0) &&
        proto_decode(p->str, p->len, PROTO_MSGPACK, &lim, &arena, &v) == PROTO_OK)
        cx.product = v;
    if (n && n->type == REDIS_REPLY_STRING && n->len > 0) {
        struct proto_limits nlim = { .max_depth = 3, .max_elems = (uint32_t)n->len + 16 };
        proto_arena_free(&narena);
        if (proto_arena_init(&narena, nlim.max_elems, n->len * 2 + 64) == 0 &&
            proto_decode(n->str, n->len, PROTO_MSGPACK, &nlim, &narena, &v) == PROTO_OK &&
            (v = proto_map_get(v, "notes")) && v->type == PROTO_ARRAY && v->len)
            cx.notes = v;
    }
    return cx;
}

/* The number of keys write_held_chat writes. */
static uint32_t held_chat_keys(const redisReply *c)
{
    struct chat_ctx cx = held_ctx(c);
    return 6 + ctx_keys(&cx);
}

/* Its fields: chat, buyer, group, waited_ms, history, read (how far the
 * buyer has read), and its context. */
static void write_held_chat(struct proto_writer *w, const redisReply *c)
{
    const redisReply *h = c->element[6];
    int64_t first = reply_int(c->element[5]);
    struct chat_ctx cx = held_ctx(c);

    proto_w_key(w, "chat");  proto_w_cstr(w, rstr(c->element[0]));
    write_buyer(w, rstr(c->element[1]), rstr(c->element[2]), &cx);
    proto_w_key(w, "group"); proto_w_cstr(w, rstr(c->element[3]));
    proto_w_key(w, "waited_ms"); proto_w_int(w, reply_int(c->element[4]));
    proto_w_key(w, "read"); proto_w_int(w, reply_int(c->element[11]));
    proto_w_key(w, "history");
    proto_w_array(w, (uint32_t)h->elements);
    for (size_t k = 0; k < h->elements; k++)
        if (h->element[k]->type != REDIS_REPLY_STRING ||
            !chat_write_msg(w, rstr(c->element[0]), first + (int64_t)k,
                            h->element[k]->str, h->element[k]->len))
            proto_w_nil(w);
}

/* Chats that changed while the agent was logging in: each as an assign. */
static void on_rechats(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    struct session *s;

    if (!req_end(q, &s) || !r || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < r->elements; i++) {
        if (!held_chat_ok(r->element[i]))
            continue;
        struct proto_writer *w = session_writer(s);
        proto_w_map(w, 1 + held_chat_keys(r->element[i]));
        proto_w_key(w, "t"); proto_w_cstr(w, "assign");
        write_held_chat(w, r->element[i]);
        session_send(s, w);
    }
}

/* The welcome: who the agent is, its state, and the chats it holds. */
static void on_chats(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    struct session *s;
    struct agent *a;
    struct proto_writer *w;

    if (!req_end(q, &s))
        return;
    a = A(s);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        login_unavailable(s);
        return;
    }
    a->logged_in = 1;
    a->login.logging_in = 0;
    s->hello_done = 1;
    metrics.logins++;
    w = session_writer(s);
    proto_w_map(w, 6);
    proto_w_key(w, "t"); proto_w_cstr(w, "welcome");
    proto_w_key(w, "shift");
    write_shift(w, a->shift_on, a->shift_ends, a->shift_next, a->shift_ot);
    write_store(w, a->store);
    proto_w_key(w, "agent");
    proto_w_map(w, 4);
    proto_w_key(w, "id");   proto_w_cstr(w, a->id);
    proto_w_key(w, "name"); proto_w_cstr(w, a->name);
    proto_w_key(w, "groups");
    {
        uint32_t n = 0;
        for (const char *p = a->groups; *p; ) {
            while (*p == ' ') p++;
            if (*p) n++;
            while (*p && *p != ' ') p++;
        }
        proto_w_array(w, n);
        for (const char *p = a->groups; *p; ) {
            while (*p == ' ') p++;
            const char *e = p;
            while (*e && *e != ' ') e++;
            if (e > p)
                proto_w_str(w, p, (size_t)(e - p));
            p = e;
        }
    }
    proto_w_key(w, "capacity"); proto_w_int(w, a->capacity);
    proto_w_key(w, "state"); proto_w_cstr(w, a->state);
    proto_w_key(w, "chats");
    proto_w_array(w, (uint32_t)r->elements);
    for (size_t i = 0; i < r->elements; i++) {
        if (!held_chat_ok(r->element[i])) {
            proto_w_nil(w);
            continue;
        }
        proto_w_map(w, held_chat_keys(r->element[i]));
        write_held_chat(w, r->element[i]);
    }
    session_send(s, w);
    log_info("agent_login", "agent=%s ip=%s chats=%zu", a->id, a->ip, r->elements);
    if (a->missed) {
        char hist[16];
        a->missed = 0;
        snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
        const char *args[] = { a->id, hist };
        q = req_new(s);
        if (q && store_route("chats", 2, args, on_rechats, q) != 0)
            req_unsent(q, NULL);
    }
}

/* The agent's identity (desk_login.c's last step): its store and groups. */
static void on_identity(struct session *s, redisReply *r, const char *hash)
{
    struct agent *a = A(s);
    struct agent_req *q;
    char max[16];

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
        r->element[4]->type != REDIS_REPLY_STRING || r->element[4]->len != TOKEN_HASH_HEX ||
        !token_equal(r->element[4]->str, hash, TOKEN_HASH_HEX) ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        desk_login_fail(&a->login, CG_E_UNAUTHORIZED, "stale_token");
        return;
    }
    snprintf(a->name, sizeof a->name, "%s", rstr(r->element[0])[0] ? rstr(r->element[0]) : a->id);
    snprintf(a->store, sizeof a->store, "%s", rstr(r->element[1]));
    snprintf(a->groups, sizeof a->groups, "%s", rstr(r->element[2]));
    a->capacity = (uint32_t)reply_int(r->element[3]);
    if (!config_find_store(gw.cfg, a->store)) {
        desk_login_fail(&a->login, CG_E_NOT_FOUND, "store_not_served");
        return;
    }
    desk_login_settle(&a->login);       /* the token is good */
    /* events for the agent reach this session from the "online" step on */
    if (!a->attached && router_agent_attach(s, a->id) == 0)
        a->attached = 1;
    /* the session's registration in Redis, and its mark on its own messages */
    snprintf(a->tag, sizeof a->tag, "%s#%llu", router_node(), (unsigned long long)++next_tag);
    snprintf(max, sizeof max, "%u", gw.cfg->agent_sessions_max);
    memcpy(a->token_hash, hash, sizeof a->token_hash);
    const char *args[] = { a->id, a->tag, max, a->token_hash };
    q = req_new(s);
    if (!q || store_route("online", 4, args, on_online, q) != 0) {
        a->login.logging_in = 0;
        if (q)
            req_unsent(q, NULL);
        return;
    }
    /* from here on the session may count as the agent being online, even
     * if it closes before the welcome: agent_close undoes it (by its tag,
     * so undoing a registration that was refused or dropped is harmless) */
    a->counted = 1;
}

static int agent_identity(struct session *s, const char *id, db_reply_cb *cb, void *ud)
{
    snprintf(A(s)->id, sizeof A(s)->id, "%s", id);
    return store_agent_identity(A(s)->id, cb, ud);
}

static const struct desk_role agent_desk = {
    .owner = "agent:",
    .log_tag = "",
    .identity = agent_identity,
    .on_identity = on_identity,
};

static void on_login(struct session *s, const struct proto_value *f)
{
    desk_login_start(&A(s)->login, A(s)->logged_in, proto_map_get(f, "token"));
}

/* ---- registering again ---------------------------------------------------------- */

static void on_rejoined(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    struct session *s;
    char hist[16];

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "ready") == 0)
        router_assign_groups(r->element[1]);
    if (!req_end(q, &s))
        return;
    if (r && r->type == REDIS_REPLY_ERROR && online_refused(s, db_error_text(r)))
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY || !A(s)->logged_in)
        return;                         /* a login under way sends the welcome */
    /* events may have gone elsewhere meanwhile: the chats it holds now */
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { A(s)->id, hist };
    q = req_new(s);
    if (q && store_route("chats", 2, args, on_rechats, q) != 0)
        req_unsent(q, NULL);
}

/*
 * Registers the session as online again (router.lua "online" is idempotent
 * per session): Redis restarted, or the sweep of another node declared this
 * one dead and dropped its sessions. No session limit applies: it is open.
 */
static void agent_rejoin(struct session *s)
{
    struct agent *a = A(s);
    struct agent_req *q;

    if (!session_alive(s) || !a || !a->counted)
        return;
    const char *args[] = { a->id, a->tag, "0", a->token_hash };
    q = req_new(s);
    if (q && store_route("online", 4, args, on_rejoined, q) != 0)
        session_req_drop(q);
}

/* ---- after login -------------------------------------------------------------- */

static void on_state_set(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    char state[sizeof q->to];
    struct session *s;

    memcpy(state, q->to, sizeof state);
    if (r && r->type == REDIS_REPLY_ARRAY)
        router_assign_groups(r);       /* ready: look for chats for it */
    if (!req_end(q, &s))
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        session_error(s, CG_E_UNAVAILABLE, NULL);
        return;
    }
    struct proto_writer *w = session_writer(s);
    proto_w_map(w, 2);
    proto_w_key(w, "t");     proto_w_cstr(w, "state");
    proto_w_key(w, "state"); proto_w_cstr(w, state);
    session_send(s, w);
    log_info("agent_state", "agent=%s state=%s", A(s)->id, state);
}

static void on_state(struct session *s, const struct proto_value *f)
{
    const char *st = proto_map_get(f, "state")->u.s;
    struct agent_req *q;

    if (strcmp(st, "ready") != 0 && strcmp(st, "away") != 0) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "state");
        return;
    }
    q = req_new(s);
    if (!q)
        return;
    snprintf(q->to, sizeof q->to, "%s", st);
    const char *args[] = { A(s)->id, st };
    if (store_route("state", 2, args, on_state_set, q) != 0)
        req_unsent(q, NULL);
}

/* Maps a script's error reply to our error codes. */
static enum cg_err script_error(const char *e)
{
    if (strncmp(e, "forbidden", 9) == 0) return CG_E_FORBIDDEN;
    if (strncmp(e, "not_signed", 10) == 0) return CG_E_NOT_SIGNED;
    if (strncmp(e, "closed", 6) == 0)    return CG_E_CONFLICT;
    if (strncmp(e, "conflict", 8) == 0)  return CG_E_CONFLICT;
    if (strncmp(e, "not_found", 9) == 0 || strncmp(e, "no_chat", 7) == 0)
        return CG_E_NOT_FOUND;
    return CG_E_INTERNAL;
}

static void refuse(struct session *s, const char *chat, enum cg_err err, const char *ref,
                   const char *what, const char *detail)
{
    char q[200];

    if (err == CG_E_FORBIDDEN)
        log_warn("agent_forbidden", "agent=%s chat=%s action=%s", A(s)->id, chat, what);
    else if (err == CG_E_INTERNAL)
        log_error("agent_action_failed", "agent=%s chat=%s action=%s error=%s", A(s)->id, chat,
                  what, log_quote(q, sizeof q, detail ? detail : "-"));
    session_error(s, err, ref);
}

/* The chat field of a frame: a chat id, else bad_value. */
static const char *chat_field(struct session *s, const struct proto_value *f, const char *ref)
{
    const struct proto_value *c = proto_map_get(f, "chat");

    if (!chat_id_valid(c->u.s, c->len)) {
        session_error_field(s, CG_E_BAD_VALUE, ref, "chat");
        return NULL;
    }
    return c->u.s;
}

static void on_msg_stored(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    char id[CHAT_MSG_ID_MAX + 1], chat[CHAT_ID_HEX + 1];
    struct session *s;

    char *text = q->text;               /* a quick reply's: the ack shows it */

    memcpy(id, q->id, sizeof id);
    memcpy(chat, q->chat, sizeof chat);
    if (!req_end(q, &s)) {
        free(text);
        return;
    }
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, id);
    } else if (r->type == REDIS_REPLY_ERROR) {
        refuse(s, chat, script_error(db_error_text(r)), id, "msg", r->str);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != STORE_APPEND_REPLY) {
        session_error(s, CG_E_INTERNAL, id);
    } else {
        if (!r->element[1]->integer)
            metrics.msgs_stored++;
        if (r->element[5]->integer >= 0 && r->element[7]->type == REDIS_REPLY_STRING) {
            stats_response(A(s)->store, r->element[7]->str, A(s)->id, r->element[5]->integer,
                           r->element[6]->integer == 1, gw_wall_ms());
            metrics_observe_answer(A(s)->store, r->element[7]->str, r->element[5]->integer,
                                   r->element[6]->integer == 1);
        }
        struct proto_writer *w = session_writer(s);
        proto_w_map(w, 4 + (text != NULL));
        proto_w_key(w, "t");    proto_w_cstr(w, "ack");
        proto_w_key(w, "chat"); proto_w_cstr(w, chat);
        proto_w_key(w, "id");   proto_w_cstr(w, id);
        proto_w_key(w, "seq");  proto_w_int(w, r->element[0]->integer);
        if (text) {
            proto_w_key(w, "text");
            proto_w_cstr(w, text);
        }
        session_send(s, w);
    }
    free(text);
}

/* ---- held messages and the plugins' verdict ----------------------------------- */

static void held_put(struct agent *a, const char *chat, const char *id)
{
    struct held *h = &a->held[a->held_next++ % HELD_MAX];

    snprintf(h->chat, sizeof h->chat, "%s", chat);
    snprintf(h->id, sizeof h->id, "%s", id);
}

/* True (and forgotten) when this message was held for confirmation. */
static bool held_take(struct agent *a, const char *chat, const char *id)
{
    for (int i = 0; i < HELD_MAX; i++)
        if (a->held[i].id[0] && strcmp(a->held[i].id, id) == 0 &&
            strcmp(a->held[i].chat, chat) == 0) {
            a->held[i].id[0] = '\0';
            return true;
        }
    return false;
}

/* guard {chat, id, rule, reason} (held) or error blocked {ref, rule, reason}. */
static void send_verdict(struct session *s, enum plugin_verdict v, const char *chat,
                         const char *id, const char *rule, const char *reason)
{
    struct proto_writer *w = session_writer(s);

    if (v == PLUGIN_BLOCK) {
        metrics.errors[CG_E_BLOCKED]++;
        proto_w_map(w, 7);
        proto_w_key(w, "t");      proto_w_cstr(w, "error");
        proto_w_key(w, "code");   proto_w_cstr(w, cg_err_code(CG_E_BLOCKED));
        proto_w_key(w, "text");   proto_w_cstr(w, cg_err_text(CG_E_BLOCKED));
        proto_w_key(w, "ref");    proto_w_cstr(w, id);
    } else {
        proto_w_map(w, 5);
        proto_w_key(w, "t");      proto_w_cstr(w, "guard");
        proto_w_key(w, "id");     proto_w_cstr(w, id);
    }
    proto_w_key(w, "chat");   proto_w_cstr(w, chat);
    proto_w_key(w, "rule");   proto_w_cstr(w, rule);
    proto_w_key(w, "reason"); proto_w_cstr(w, reason);
    session_send(s, w);
}

/*
 * The agent's text into the chat: the plugins judge it first (nothing is
 * stored when one blocks or holds it), then append.lua stores it (and
 * checks the chat is the agent's). quick: the ack carries the text.
 */
static void agent_send_text(struct session *s, const char *chat, const char *id, size_t id_len,
                            const char *text, size_t len, bool confirm, bool quick)
{
    struct agent *a = A(s);
    char who[INDEX_KEY_MAX + 8], rule[128], reason[512];
    const char *rec;
    size_t rec_len;
    struct agent_req *q;

    if (plugin_hooked(CHATGW_EV_AGENT_MSG)) {
        struct chatgw_event ce = { .store = a->store, .chat = chat, .agent = a->id,
                                   .agent_name = a->name, .from = "agent", .text = text,
                                   .text_len = len,
                                   .confirmed = confirm && held_take(a, chat, id) };
        enum plugin_verdict v = plugin_agent_msg(&ce, rule, sizeof rule, reason, sizeof reason);
        if (v != PLUGIN_PASS) {
            char qr[64];
            if (v == PLUGIN_WARN)
                held_put(a, chat, id);
            log_info(v == PLUGIN_BLOCK ? "agent_msg_blocked" : "agent_msg_held",
                     "agent=%s chat=%s store=%s rule=%s", a->id, chat, a->store,
                     log_quote(qr, sizeof qr, rule));
            send_verdict(s, v, chat, id, rule, reason);
            store_guard_hit(chat, a->id, v == PLUGIN_BLOCK, rule);
            return;
        }
    }
    uint64_t now = gw_wall_ms();       /* the record's time is the response's */
    rec = chat_record("agent", a->name, text, now, id, &rec_len);
    if (!rec) {
        session_error(s, CG_E_INTERNAL, id);
        return;
    }
    snprintf(who, sizeof who, "agent:%s", a->id);
    q = req_new(s);
    if (!q)
        return;
    snprintf(q->id, sizeof q->id, "%s", id);
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    if (quick && !(q->text = strdup(text))) {
        req_unsent(q, id);
        return;
    }
    struct store_append ap = { .chat = q->chat, .id = id, .id_len = id_len, .rec = rec,
                               .rec_len = rec_len, .who = who, .tag = a->tag, .store = a->store,
                               .node = "", .now_ms = now };
    if (store_append(&ap, on_msg_stored, q) != 0) {
        free(q->text);
        req_unsent(q, id);
    }
}

/* confirm: true, or absent; anything else is bad_value. */
static int confirm_field(struct session *s, const struct proto_value *f, const char *id,
                         bool *confirm)
{
    const struct proto_value *c = proto_map_get(f, "confirm");

    *confirm = c && c->type == PROTO_BOOL && c->u.b;
    if (c && c->type != PROTO_BOOL) {
        session_error_field(s, CG_E_BAD_VALUE, id, "confirm");
        return -1;
    }
    return 0;
}

static void on_msg(struct session *s, const struct proto_value *f)
{
    struct agent *a = A(s);
    const struct proto_value *idv = proto_map_get(f, "id"), *tv = proto_map_get(f, "text");
    const struct store_conf *st = config_find_store(gw.cfg, a->store);
    const char *id = idv->u.s, *chat;
    bool confirm;

    if (idv->len == 0 || idv->len > CHAT_MSG_ID_MAX) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "id");
        return;
    }
    if (!(chat = chat_field(s, f, id)))
        return;
    if (tv->len == 0) {
        session_error_field(s, CG_E_BAD_VALUE, id, "text");
        return;
    }
    if (!st || proto_utf8_chars(tv->u.s, tv->len) > st->max_text_chars) {
        session_error(s, st ? CG_E_TOO_LARGE : CG_E_NOT_FOUND, id);
        return;
    }
    if (confirm_field(s, f, id, &confirm) != 0)
        return;
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id);
        return;
    }
    agent_send_text(s, chat, id, idv->len, tv->u.s, tv->len, confirm, false);
}

/* The chat's record came: its names fill the phrase, which goes out as a msg. */
static void on_quick_meta(void *ud, redisReply *r)
{
    struct quick_req *q = ud;
    struct quick_req k = *q;
    struct chat_meta m;
    struct session *s;
    char text[QUICK_TEXT_MAX];

    if (!session_req_done(q, &s))
        return;
    struct agent *a = A(s);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        session_error(s, r ? CG_E_INTERNAL : CG_E_UNAVAILABLE, k.id);
        return;
    }
    /* like append.lua: a chat that is not the agent's tells it nothing */
    if (r->element[0]->type != REDIS_REPLY_STRING ||
        !chat_meta_read(r->element[0]->str, r->element[0]->len, &m) ||
        strcmp(m.agent, a->id) != 0 || strcmp(m.store, a->store) != 0) {
        refuse(s, k.chat, CG_E_FORBIDDEN, k.id, "quick", NULL);
        return;
    }
    struct chatgw_event ce = { .store = a->store, .chat = k.chat, .agent = a->id,
                               .agent_name = a->name, .buyer_name = m.buyer_name,
                               .group = m.group, .product = m.product[0] ? m.product : NULL,
                               .text = k.key, .text_len = strlen(k.key) };
    if (plugin_quick_reply(&ce, text, sizeof text) != 0 || !text[0]) {
        session_error(s, CG_E_NOT_FOUND, k.id);
        return;
    }
    agent_send_text(s, k.chat, k.id, strlen(k.id), text, strlen(text), k.confirm, true);
}

static void on_quick(struct session *s, const struct proto_value *f)
{
    const struct proto_value *idv = proto_map_get(f, "id"), *kv = proto_map_get(f, "key");
    const char *chat;
    struct quick_req *q;
    bool confirm;

    if (idv->len == 0 || idv->len > CHAT_MSG_ID_MAX) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "id");
        return;
    }
    if (!(chat = chat_field(s, f, idv->u.s)) || confirm_field(s, f, idv->u.s, &confirm) != 0)
        return;
    if (kv->len == 0 || kv->len > QUICK_KEY_MAX) {
        session_error_field(s, CG_E_BAD_VALUE, idv->u.s, "key");
        return;
    }
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, idv->u.s);
        return;
    }
    if (!plugin_hooked(CHATGW_EV_QUICK_REPLY)) {
        session_error(s, CG_E_NOT_FOUND, idv->u.s);
        return;
    }
    if (!(q = session_req_new(s, sizeof *q)))
        return;
    snprintf(q->id, sizeof q->id, "%s", idv->u.s);
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    snprintf(q->key, sizeof q->key, "%s", kv->u.s);
    q->confirm = confirm;
    if (store_resume(chat, on_quick_meta, q) != 0) {
        session_req_drop(q);
        session_error(s, CG_E_UNAVAILABLE, idv->u.s);
    }
}

/* quick_list {categories: [{name, phrases: [{key, text}]}]}, categories in
 * the order the plugins list them. */
static void on_quick_list(struct session *s, const struct proto_value *f)
{
    struct agent *a = A(s);
    struct chatgw_event ce = { .store = a->store, .agent = a->id, .agent_name = a->name };
    struct plugin_list l;
    struct proto_writer *w;
    uint32_t ncat = 0;

    (void)f;
    plugin_quick_list(&ce, &l);
    /* a category is new where no earlier phrase had it */
    bool *first = calloc(l.n ? l.n : 1, sizeof *first);
    if (!first) {
        plugin_list_free(&l);
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    for (size_t i = 0; i < l.n; i++) {
        size_t j = 0;
        while (j < i && strcmp(l.items[j].category, l.items[i].category) != 0)
            j++;
        first[i] = j == i;
        ncat += first[i];
    }
    w = session_writer(s);
    proto_w_map(w, 2);
    proto_w_key(w, "t"); proto_w_cstr(w, "quick_list");
    proto_w_key(w, "categories");
    proto_w_array(w, ncat);
    for (size_t i = 0; i < l.n; i++) {
        uint32_t n = 0;
        if (!first[i])
            continue;
        for (size_t j = i; j < l.n; j++)
            n += strcmp(l.items[j].category, l.items[i].category) == 0;
        proto_w_map(w, 2);
        proto_w_key(w, "name"); proto_w_cstr(w, l.items[i].category);
        proto_w_key(w, "phrases");
        proto_w_array(w, n);
        for (size_t j = i; j < l.n; j++) {
            if (strcmp(l.items[j].category, l.items[i].category) != 0)
                continue;
            proto_w_map(w, 2);
            proto_w_key(w, "key");  proto_w_cstr(w, l.items[j].key);
            proto_w_key(w, "text"); proto_w_cstr(w, l.items[j].text);
        }
    }
    session_send(s, w);
    free(first);
    plugin_list_free(&l);
}

static void on_released(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    char chat[CHAT_ID_HEX + 1], to[sizeof q->to];
    struct session *s;

    memcpy(chat, q->chat, sizeof chat);
    memcpy(to, q->to, sizeof to);
    if (r && r->type == REDIS_REPLY_ARRAY)
        router_assign_groups(r);       /* loads dropped, queues grew */
    if (!req_end(q, &s))
        return;
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        refuse(s, chat, script_error(db_error_text(r)), NULL, to[0] ? "transfer" : "close", r->str);
        return;
    }
    if (to[0]) {
        struct proto_writer *w = session_writer(s);
        proto_w_map(w, 3);
        proto_w_key(w, "t");    proto_w_cstr(w, "transferred");
        proto_w_key(w, "chat"); proto_w_cstr(w, chat);
        proto_w_key(w, "to");   proto_w_cstr(w, to);
        session_send(s, w);
        log_info("chat_transferred", "chat=%s from=%s to=%s", chat, A(s)->id, to);
    } else {
        log_info("chat_closed", "chat=%s reason=agent_closed agent=%s", chat, A(s)->id);
    }
}

static void release(struct session *s, const char *chat, const char *mode, const char *to,
                    const char *outcome)
{
    char ttl[24], hist[16];
    struct agent_req *q = req_new(s);

    if (!q)
        return;
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    snprintf(q->to, sizeof q->to, "%s", to ? to : "");
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)gw.cfg->transcript_ttl_ms);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { chat, mode, A(s)->id, to ? to : "", ttl, hist, outcome ? outcome : "" };
    if (store_route("release", 7, args, on_released, q) != 0)
        req_unsent(q, NULL);
}

static void on_transfer(struct session *s, const struct proto_value *f)
{
    const struct proto_value *to = proto_map_get(f, "to");
    const char *chat = chat_field(s, f, NULL);

    if (!chat)
        return;
    if (to->len == 0 || to->len > INDEX_KEY_MAX + 6) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "to");
        return;
    }
    release(s, chat, "transfer", to->u.s, NULL);
}

/* close {chat, outcome?}: outcome sold | no_sale sends the store's farewell */
static void on_close_chat(struct session *s, const struct proto_value *f)
{
    const char *chat = chat_field(s, f, NULL);
    const struct proto_value *o = proto_map_get(f, "outcome");

    if (!chat)
        return;
    if (o && o->type != PROTO_NIL && (o->type != PROTO_STR ||
        (strcmp(o->u.s, "sold") != 0 && strcmp(o->u.s, "no_sale") != 0))) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "outcome");
        return;
    }
    release(s, chat, "agent_close", NULL, o && o->type == PROTO_STR ? o->u.s : NULL);
}

/* This session's signal state for a chat, or NULL; with add, a chat not
 * seen takes the oldest slot. */
static struct signalled *signalled(struct agent *a, const char *chat, bool add)
{
    for (int i = 0; i < SIGNAL_CHATS; i++)
        if (strcmp(a->sig[i].chat, chat) == 0)
            return &a->sig[i];
    if (!add)
        return NULL;
    struct signalled *g = &a->sig[a->sig_next++ % SIGNAL_CHATS];
    *g = (struct signalled){ .typing_at = 0 };
    snprintf(g->chat, sizeof g->chat, "%s", chat);
    return g;
}

static void on_signalled(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    char chat[CHAT_ID_HEX + 1];
    int64_t seq = q->seq;
    struct session *s;

    memcpy(chat, q->chat, sizeof chat);
    if (!req_end(q, &s) || !r)
        return;                         /* a signal lost: the next one repeats it */
    if (r->type == REDIS_REPLY_ERROR) {
        refuse(s, chat, script_error(db_error_text(r)), NULL, seq >= 0 ? "read" : "typing",
               r->str);
        return;
    }
    struct signalled *g = seq >= 0 && r->type == REDIS_REPLY_INTEGER && r->integer == 1
                          ? signalled(A(s), chat, false) : NULL;
    if (g && seq > g->read_kept)
        g->read_kept = seq;
}

/* typing or read (read_seq >= 0) of a chat: to its buyer, if the agent holds it. */
static void signal_send(struct session *s, const char *chat, int64_t read_seq)
{
    struct agent *a = A(s);
    char who[INDEX_KEY_MAX + 8];
    struct agent_req *q = req_new(s);

    if (!q)
        return;
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    q->seq = read_seq;
    snprintf(who, sizeof who, "agent:%s", a->id);
    if (store_signal(chat, who, a->store, a->tag, read_seq, on_signalled, q) != 0)
        session_req_drop(q);
}

/* typing {chat}: relayed at most once per typing_relay per chat (the rest
 * is dropped here, with no Redis call). */
static void on_typing(struct session *s, const struct proto_value *f)
{
    const char *chat = chat_field(s, f, NULL);
    uint64_t now = gw_now_ms();

    if (!chat)
        return;
    struct signalled *g = signalled(A(s), chat, true);
    if (g->typing_at && now - g->typing_at < gw.cfg->typing_relay_ms)
        return;
    g->typing_at = now;
    signal_send(s, chat, -1);
}

/* read {chat, seq}: the agent has read the chat up to seq; kept in the
 * chat and told to its buyer when it moves forward (a seq not past what
 * this session had kept already costs nothing). */
static void on_read(struct session *s, const struct proto_value *f)
{
    const struct proto_value *seq = proto_map_get(f, "seq");
    const char *chat = chat_field(s, f, NULL);

    if (!chat)
        return;
    if (seq->u.i < 0) {
        session_error_field(s, CG_E_BAD_VALUE, NULL, "seq");
        return;
    }
    struct signalled *g = signalled(A(s), chat, true);
    if (seq->u.i <= g->read_kept)
        return;
    signal_send(s, chat, seq->u.i);
}

/* buyer_notes {chat, id? (the writer's), notes}: the notes on the chat's
 * signed buyer now. */
static void send_buyer_notes(struct session *s, const char *chat, const char *id,
                             const struct proto_value *notes)
{
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 3 + (id[0] != '\0'));
    proto_w_key(w, "t");     proto_w_cstr(w, "buyer_notes");
    proto_w_key(w, "chat");  proto_w_cstr(w, chat);
    if (id[0]) {
        proto_w_key(w, "id");
        proto_w_cstr(w, id);
    }
    proto_w_key(w, "notes");
    if (notes && notes->type == PROTO_ARRAY)
        proto_w_value(w, notes);
    else
        proto_w_array(w, 0);            /* cmsgpack packs an empty table as a map */
    session_send(s, w);
}

/* The buyer's notes now, after one was written: to the writing window
 * (its other windows get them as event anotes, router.lua "bnote"). */
static void on_buyer_note(void *ud, redisReply *r)
{
    struct agent_req *q = ud;
    char id[CHAT_MSG_ID_MAX + 1], chat[CHAT_ID_HEX + 1];
    struct proto_limits lim = { 3, 0, false };
    struct proto_arena arena = { 0 };
    const struct proto_value *notes = NULL;
    struct session *s;

    memcpy(id, q->id, sizeof id);
    memcpy(chat, q->chat, sizeof chat);
    if (!req_end(q, &s))
        return;
    if (!r) {
        session_error(s, CG_E_UNAVAILABLE, id[0] ? id : NULL);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        refuse(s, chat, script_error(db_error_text(r)), id[0] ? id : NULL, "buyer_note", r->str);
        return;
    }
    lim.max_elems = r->type == REDIS_REPLY_STRING ? (uint32_t)r->len + 16 : 0;
    if (r->type != REDIS_REPLY_STRING ||
        proto_arena_init(&arena, lim.max_elems, r->len * 2 + 64) != 0 ||
        proto_decode(r->str, r->len, PROTO_MSGPACK, &lim, &arena, &notes) != PROTO_OK ||
        !(notes = proto_map_get(notes, "notes"))) {
        proto_arena_free(&arena);
        session_error(s, CG_E_INTERNAL, id[0] ? id : NULL);
        return;
    }
    send_buyer_notes(s, chat, id, notes);
    proto_arena_free(&arena);
}

/* note {chat, text, buyer: true}: a note on the chat's signed buyer, kept
 * per store and buyer id (router.lua "bnote": the newest buyer_notes_max,
 * each shown buyer_notes_keep), for the agents of its later chats. */
static void buyer_note(struct session *s, const char *chat, const struct proto_value *tv,
                       const char *id)
{
    struct agent_req *q;
    char max[24], keep[24];

    if (tv->len > gw.cfg->buyer_note_max_bytes) {
        session_error(s, CG_E_TOO_LARGE, id[0] ? id : NULL);
        return;
    }
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id[0] ? id : NULL);
        return;
    }
    if (!(q = req_new(s)))
        return;
    snprintf(q->id, sizeof q->id, "%s", id);
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    snprintf(max, sizeof max, "%u", gw.cfg->buyer_notes_max);
    snprintf(keep, sizeof keep, "%llu", (unsigned long long)gw.cfg->buyer_notes_keep_ms);
    const char *args[] = { q->chat, A(s)->id, tv->u.s, max, keep, A(s)->tag };
    if (store_route("bnote", 6, args, on_buyer_note, q) != 0)
        req_unsent(q, id[0] ? id : NULL);
}

/*
 * note {chat, text, id?}: a private note in the transcript of a chat the
 * agent holds (append.lua checks it): the agent's other windows and the
 * chat's supervisors see it, the buyer never does. No plugin judges it
 * (it is not for the buyer) and it is no answer (the clock runs on).
 */
static void on_note(struct session *s, const struct proto_value *f)
{
    struct agent *a = A(s);
    const struct proto_value *tv = proto_map_get(f, "text"), *idv = proto_map_get(f, "id");
    const struct proto_value *bv = proto_map_get(f, "buyer");
    const struct store_conf *st = config_find_store(gw.cfg, a->store);
    char who[INDEX_KEY_MAX + 8];
    const char *chat, *rec, *id = "";
    size_t rec_len, id_len = 0;
    struct agent_req *q;

    if (idv && idv->type != PROTO_NIL) {
        if (idv->type != PROTO_STR || idv->len == 0 || idv->len > CHAT_MSG_ID_MAX) {
            session_error_field(s, CG_E_BAD_VALUE, NULL, "id");
            return;
        }
        id = idv->u.s;
        id_len = idv->len;
    }
    if (!(chat = chat_field(s, f, id_len ? id : NULL)))
        return;
    if (tv->len == 0) {
        session_error_field(s, CG_E_BAD_VALUE, id_len ? id : NULL, "text");
        return;
    }
    if (bv && bv->type != PROTO_NIL && bv->type != PROTO_BOOL) {
        session_error_field(s, CG_E_BAD_VALUE, id_len ? id : NULL, "buyer");
        return;
    }
    if (bv && bv->type == PROTO_BOOL && bv->u.b) {
        buyer_note(s, chat, tv, id);
        return;
    }
    if (!st || proto_utf8_chars(tv->u.s, tv->len) > st->max_text_chars) {
        session_error(s, st ? CG_E_TOO_LARGE : CG_E_NOT_FOUND, id_len ? id : NULL);
        return;
    }
    if (!session_take_token(s)) {
        session_error(s, CG_E_RATE_LIMITED, id_len ? id : NULL);
        return;
    }
    rec = chat_record_private("agent", a->name, tv->u.s, gw_wall_ms(), id_len ? id : NULL,
                              &rec_len);
    if (!rec || !(q = req_new(s))) {
        if (!rec)
            session_error(s, CG_E_INTERNAL, id_len ? id : NULL);
        return;
    }
    snprintf(who, sizeof who, "agent:%s", a->id);
    snprintf(q->id, sizeof q->id, "%s", id);
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    struct store_append ap = { .chat = q->chat, .id = id, .id_len = id_len, .rec = rec,
                               .rec_len = rec_len, .who = who, .tag = a->tag, .store = a->store,
                               .node = "", .now_ms = gw_wall_ms(), .private_rec = true };
    if (store_append(&ap, on_msg_stored, q) != 0)
        req_unsent(q, id_len ? id : NULL);
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void agent_open(struct session *s)
{
    struct agent *a = calloc(1, sizeof *a);

    s->data = a;
    if (a) {
        a->s = s;
        desk_login_init(&a->login, &agent_desk, s, a->ip);
    }
    if (a && s->wsi)
        lws_get_peer_simple(s->wsi, a->ip, sizeof a->ip);
}

static void agent_close(struct session *s)
{
    struct agent *a = A(s);

    if (!a)
        return;
    desk_login_close(&a->login);
    if (a->attached)                    /* never leave a dangling entry */
        router_agent_detach(s, a->id);
    a->attached = 0;
    if (!a->counted)
        return;
    const char *args[] = { a->id, a->tag };
    store_route("offline", 2, args, NULL, NULL);
    log_info("agent_logout", "agent=%s", a->id);
}

static void agent_free(struct session *s)
{
    free(s->data);
    s->data = NULL;
}

static const char *agent_store_of(const struct session *s)
{
    const struct agent *a = s->data;

    return a && a->store[0] ? a->store : NULL;
}

static void agent_stop(void);

static const struct frame_handler agent_frames[] = {
    { "login",    on_login,      false, { { "token", PROTO_STR } } },
    { "state",    on_state,      true,  { { "state", PROTO_STR } } },
    { "msg",      on_msg,        true,  { { "chat", PROTO_STR }, { "id", PROTO_STR },
                                          { "text", PROTO_STR } } },
    { "transfer", on_transfer,   true,  { { "chat", PROTO_STR }, { "to", PROTO_STR } } },
    { "close",    on_close_chat, true,  { { "chat", PROTO_STR } } },
    { "typing",   on_typing,     true,  { { "chat", PROTO_STR } }, .signal = true },
    { "read",     on_read,       true,  { { "chat", PROTO_STR }, { "seq", PROTO_INT } },
                  .signal = true },
    { "quick",    on_quick,      true,  { { "chat", PROTO_STR }, { "key", PROTO_STR },
                                          { "id", PROTO_STR } } },
    { "quick_list", on_quick_list, true, { { NULL, 0 } } },
    { "note",     on_note,       true,  { { "chat", PROTO_STR }, { "text", PROTO_STR } } },
    { NULL, NULL, false, { { NULL, 0 } } }
};

const struct role agent_role = {
    .kind = ROLE_AGENT,
    .name = "agent",
    .path = "/v1/agent",
    .frames = agent_frames,
    .on_open = agent_open,
    .on_close = agent_close,
    .on_free = agent_free,
    .on_event = agent_on_event,
    .store_of = agent_store_of,
    .stop = agent_stop,
};

static void agent_stop(void)
{
    login_gate_free_all();
}
