/*
 * session_supervisor.c - the supervisor's floor session at /v1/supervisor.
 *
 * login {token}: the token's SHA-256 must belong to a supervisor
 * (cg:tok:<hash> -> supervisor:<id>; an agent's token is refused here, as a
 * supervisor's is at /v1/agent), whose record (cg:sup:<id>: name, store,
 * tok) holds the same hash, compared again in constant time. A supervisor
 * sees one store, or every store this node serves ("*"). The steps up to
 * the supervisor's identity are the agent's too (desk_login.c): failed
 * logins count at the same gate, per address.
 *
 * Then the snapshot (floor.lua "snapshot": queues, agents, live chats,
 * read in one step so every node shows the same floor; events that come
 * while it is read wait behind it), then `event {kind, store, ...}` frames
 * as the floor changes: a consumer in the event table (event.c) turns the
 * floor events of a supervisor's stores into them. A node with no
 * supervisor logged in pays one test of a counter per event, and listens
 * on no floor channel.
 *
 * Its hands on chats (watch, join, whisper, msg, assign, transfer,
 * close, transcript) are in supervise.c; the two share struct sup
 * (supervisor.h), and the frame table below names both.
 *
 * Where the events come from: the scripts publish each floor event, with
 * its store, on cg:floor:<store> while some node listens there (router.c
 * marks this node in cg:floornodes:<store> while it holds the channel).
 * The copies that go to the sessions' nodes (cg:node:<node>) name their
 * store too; an event that names its store is taken from the floor
 * channel only (never twice). One without a store (none the scripts send
 * today) falls back to the store of a local session that shows it
 * (router_store_of).
 *
 * API: supervisor_role.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "config.h"
#include "db.h"
#include "desk_login.h"
#include "event.h"
#include "gw.h"
#include "index.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "session.h"
#include "session_supervisor.h"
#include "store.h"
#include "supervisor.h"
#include "token.h"

struct sup_req {
    struct session *s;
};

/* The supervisors logged in here, and how many hold each floor channel. */
static struct {
    struct sup *head;
    size_t count;
    struct { char store[CONFIG_ID_MAX + 1]; unsigned n; } *chans;
    size_t nchans;
} SV;

static struct sup *S_(struct session *s) { return s->data; }

struct sup *sup_first(void)
{
    return SV.head;
}

/* ---- floor channels, counted per store ------------------------------------- */

static void chan_hold(const char *store)
{
    void *v;

    sup_stats_watch(store);
    for (size_t i = 0; i < SV.nchans; i++)
        if (strcmp(SV.chans[i].store, store) == 0) {
            SV.chans[i].n++;
            return;
        }
    if (!(v = realloc(SV.chans, (SV.nchans + 1) * sizeof *SV.chans)))
        return;
    SV.chans = v;
    snprintf(SV.chans[SV.nchans].store, sizeof SV.chans[0].store, "%s", store);
    SV.chans[SV.nchans++].n = 1;
    if (router_floor_listen(store, true) != 0)
        log_warn("floor_listen_failed", "store=%s", store);
}

static void chan_release(const char *store)
{
    sup_stats_unwatch(store);
    for (size_t i = 0; i < SV.nchans; i++)
        if (strcmp(SV.chans[i].store, store) == 0) {
            if (--SV.chans[i].n == 0) {
                router_floor_listen(store, false);
                SV.chans[i] = SV.chans[--SV.nchans];
            }
            return;
        }
}

/* The stores a supervisor sees, as this node serves them: its floor channels. */
static void sup_listen(struct sup *p)
{
    const struct config *c = gw.cfg;
    size_t n = strcmp(p->store, ALL_STORES) == 0 ? c->nstores : 1;

    if (!(p->listening = calloc(n, sizeof *p->listening)))
        return;
    for (size_t i = 0; i < n; i++) {
        snprintf(p->listening[i], sizeof p->listening[i], "%s", n == 1 &&
                 strcmp(p->store, ALL_STORES) != 0 ? p->store : c->stores[i].id);
        chan_hold(p->listening[i]);
    }
    p->nlistening = n;
}

static void sup_unlisten(struct sup *p)
{
    for (size_t i = 0; i < p->nlistening; i++)
        chan_release(p->listening[i]);
    free(p->listening);
    p->listening = NULL;
    p->nlistening = 0;
}

static void sup_link(struct sup *p)
{
    p->next = SV.head;
    if (SV.head)
        SV.head->prev = p;
    SV.head = p;
    SV.count++;
    sup_listen(p);
}

static void sup_unlink(struct sup *p)
{
    if (!p->logged_in)
        return;
    p->logged_in = 0;
    if (p->prev)
        p->prev->next = p->next;
    else
        SV.head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    SV.count--;
    sup_unlisten(p);
}

/* ---- events to the floor ---------------------------------------------------- */

static void pend_free(struct sup *p)
{
    for (struct pending *f = p->pend_head, *next; f; f = next) {
        next = f->next;
        free(f);
    }
    p->pend_head = p->pend_tail = NULL;
    p->pend_bytes = 0;
}

static const char *ev_s(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = ev ? proto_map_get(ev, k) : NULL;
    return v && v->type == PROTO_STR ? v->u.s : NULL;
}

static int64_t ev_i(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = ev ? proto_map_get(ev, k) : NULL;
    return v && v->type == PROTO_INT ? v->u.i : v && v->type == PROTO_FLOAT ? (int64_t)v->u.f : 0;
}

/* The fields of each kind: from the event's map, as strings or integers;
 * as FLOOR_BOOL: an integer as true/false; FLOOR_MS: a time in ms, null
 * when 0 (unknown). */
enum floor_as { FLOOR_PLAIN, FLOOR_BOOL, FLOOR_MS };
struct floor_field { const char *out, *in; bool integer; enum floor_as as; };
#define FLOOR_FIELDS_MAX 8

static const struct floor_kind {
    enum event_id id;
    const char *kind;
    struct floor_field fields[FLOOR_FIELDS_MAX];
} floor_kinds[] = {
    { EV_QUEUED,     "queued",     { { "chat", "chat", false }, { "group", "group", false },
                                     { "position", "position", true } } },
    { EV_ASSIGNED,   "assigned",   { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "group", "group", false }, { "waited_ms", "waited", true } } },
    { EV_UNASSIGNED, "unassigned", { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "reason", "reason", false } } },
    { EV_CLOSED,     "closed",     { { "chat", "chat", false }, { "reason", "reason", false },
                                     { "group", "group", false } } },
    { EV_BREACH,     "breach",     { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "group", "group", false }, { "waited_ms", "waited", true } } },
    { EV_REASSIGNED, "reassigned", { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "to", "to", false }, { "group", "group", false },
                                     { "reason", "reason", false } } },
    { EV_FLOOR_AGENT, "agent",     { { "agent", "agent", false }, { "change", "change", false },
                                     { "name", "name", false }, { "state", "state", false },
                                     { "online", "online", true }, { "load", "load", true },
                                     { "capacity", "capacity", true } } },
    { EV_SHIFT,       "shift",     { { "agent", "agent", false },
                                     { "on_shift", "on", true, FLOOR_BOOL },
                                     { "ends_at", "ends", true, FLOOR_MS },
                                     { "next", "next", true, FLOOR_MS } } },
    { EV_GUARD,       "guard",     { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "group", "group", false }, { "verdict", "verdict", false },
                                     { "rule", "rule", false } } },
    { EV_TRANSFERRED, "transferred", { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "to", "to", false }, { "group", "group", false },
                                     { "by", "by", false } } },
    { EV_ESCALATION,  "escalation", { { "chat", "chat", false }, { "agent", "agent", false },
                                     { "group", "group", false }, { "rule", "rule", false },
                                     { "excerpt", "excerpt", false }, { "n", "n", true },
                                     { "ts", "ts", true } } },
};

static bool sees(const struct sup *p, const char *store)
{
    return strcmp(p->store, ALL_STORES) == 0 ? config_find_store(gw.cfg, store) != NULL
                                             : strcmp(p->store, store) == 0;
}

/*
 * Sends a frame written in the session's writer, or, while a read that
 * events must follow is under way (a snapshot, a watch's history), keeps
 * it to send right after that read's frame: the read may see what the
 * event says (the client applies both; events repeat harmlessly), but an
 * event is never lost between the read and its frame. Held frames past
 * outbound_max_bytes are dropped and a fresh snapshot is read instead.
 */
void sup_emit(struct sup *p, struct proto_writer *w)
{
    struct pending *f;

    if (!p->holds) {
        session_send(p->s, w);
        return;
    }
    if (w->err || p->snap_again)
        return;
    if (p->pend_bytes + w->len > gw.cfg->outbound_max_bytes ||
        !(f = malloc(sizeof *f + w->len))) {
        pend_free(p);
        p->snap_again = true;
        return;
    }
    f->next = NULL;
    f->len = w->len;
    memcpy(f->data, proto_writer_data(w), w->len);
    if (p->pend_tail)
        p->pend_tail->next = f;
    else
        p->pend_head = f;
    p->pend_tail = f;
    p->pend_bytes += w->len;
}

void sup_hold(struct sup *p)
{
    p->holds++;
}

static void snapshot_ask(struct session *s);

void sup_release(struct sup *p)
{
    struct session *s = p->s;

    if (p->holds && --p->holds)
        return;
    for (struct pending *f = p->pend_head; f && session_alive(s); f = f->next) {
        struct proto_writer *w = session_writer(s);
        proto_w_raw(w, f->data, f->len);
        session_send(s, w);
    }
    pend_free(p);
    if (p->snap_again && session_alive(s) && !p->snap_busy) {
        p->snap_again = false;
        snapshot_ask(s);
    }
}

static void send_floor_event(struct session *s, const struct floor_kind *k, const char *store,
                             const struct proto_value *body)
{
    struct proto_writer *w = session_writer(s);
    uint32_t n = 3;

    for (size_t i = 0; i < FLOOR_FIELDS_MAX && k->fields[i].out; i++)
        n += k->fields[i].integer || ev_s(body, k->fields[i].in) ? 1 : 0;
    proto_w_map(w, n);
    proto_w_key(w, "t");     proto_w_cstr(w, "event");
    proto_w_key(w, "kind");  proto_w_cstr(w, k->kind);
    proto_w_key(w, "store"); proto_w_cstr(w, store);
    for (size_t i = 0; i < FLOOR_FIELDS_MAX && k->fields[i].out; i++) {
        const struct floor_field *f = &k->fields[i];
        if (f->integer) {
            int64_t v = ev_i(body, f->in);
            proto_w_key(w, f->out);
            if (f->as == FLOOR_BOOL)
                proto_w_bool(w, v != 0);
            else if (f->as == FLOOR_MS && v <= 0)
                proto_w_nil(w);
            else
                proto_w_int(w, v);
        } else if (ev_s(body, f->in)) {
            proto_w_key(w, f->out);
            proto_w_cstr(w, ev_s(body, f->in));
        }
    }
    sup_emit(S_(s), w);
}

static void kick(const char *id)
{
    for (struct sup *p = SV.head, *next; p; p = next) {
        next = p->next;
        if (strcmp(p->id, id) != 0)
            continue;
        log_info("supervisor_kicked", "supervisor=%s", p->id);
        session_error(p->s, CG_E_UNAUTHORIZED, NULL);
        session_close(p->s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
        sup_unlink(p);
    }
}

/* The consumer: every event of the table, in order; most are not the floor's. */
static void on_floor_event(const struct event *ev, void *ud)
{
    const struct floor_kind *k = NULL;
    const char *store;

    (void)ud;
    if (SV.count == 0)
        return;                         /* nobody watching here: nothing to pay */
    if (ev->id == EV_KICK) {
        if (ev_s(ev->body, "supervisor"))
            kick(ev_s(ev->body, "supervisor"));
        return;
    }
    for (size_t i = 0; i < sizeof floor_kinds / sizeof floor_kinds[0]; i++)
        if (floor_kinds[i].id == ev->id)
            k = &floor_kinds[i];
    if (ev->id == EV_WATCH_MSG) {
        supervise_on_watch_msg(ev);
        return;
    }
    if (!k)
        return;
    store = ev_s(ev->body, "store");
    if (!ev->floor && store)
        return;                         /* it comes on the store's floor channel too */
    if (!store && !(store = router_store_of(ev)))
        return;                         /* whose it is cannot be told here: show nobody */
    for (struct sup *p = SV.head; p; p = p->next)
        if (session_alive(p->s) && sees(p, store))
            send_floor_event(p->s, k, store, ev->body);
}

/* ---- the snapshot ------------------------------------------------------------- */

/* The stores a supervisor sees, as this node serves them. */
static int sup_stores(const struct sup *p, const char **out, int cap)
{
    const struct config *c = gw.cfg;
    int n = 0;

    if (strcmp(p->store, ALL_STORES) != 0) {
        out[n++] = p->store;
        return n;
    }
    for (size_t i = 0; i < c->nstores && n < cap; i++)
        out[n++] = c->stores[i].id;
    return n;
}

/* floor.lua's map, as {t:"snapshot", ts, queues, agents, chats, truncated}. */
static void send_snapshot(struct session *s, const redisReply *r)
{
    struct proto_limits lim = { 8, 0, false };
    struct proto_arena arena;
    const struct proto_value *m;
    struct proto_writer *w;

    lim.max_elems = (uint32_t)(r->len + 16);
    if (proto_arena_init(&arena, lim.max_elems, r->len * 2 + 256) != 0) {
        session_error(s, CG_E_INTERNAL, NULL);
        return;
    }
    if (proto_decode(r->str, r->len, PROTO_MSGPACK, &lim, &arena, &m) != PROTO_OK ||
        m->type != PROTO_MAP) {
        log_error("snapshot_bad_reply", "bytes=%zu", r->len);
        session_error(s, CG_E_INTERNAL, NULL);
        proto_arena_free(&arena);
        return;
    }
    w = session_writer(s);
    proto_w_map(w, m->len + 2);
    proto_w_key(w, "t");  proto_w_cstr(w, "snapshot");
    proto_w_key(w, "ts"); proto_w_int(w, (int64_t)gw_wall_ms());
    for (uint32_t i = 0; i < m->len; i++) {
        proto_w_key(w, m->u.items[2 * i].u.s);
        proto_w_value(w, &m->u.items[2 * i + 1]);
    }
    session_send(s, w);
    proto_arena_free(&arena);
}

static void on_snapshot(void *ud, redisReply *r)
{
    struct sup_req *q = ud;
    struct session *s;
    struct sup *p;

    if (!session_req_done(q, &s))
        return;
    p = S_(s);
    p->snap_busy = false;
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r && r->type == REDIS_REPLY_ERROR)
            log_error("snapshot_failed", "supervisor=%s error=%s", p->id, r->str);
        session_error(s, r ? CG_E_INTERNAL : CG_E_UNAVAILABLE, NULL);
    } else {
        send_snapshot(s, r);
    }
    sup_release(p);                     /* then what happened meanwhile, in order */
}

static void snapshot_ask(struct session *s)
{
    struct sup *p = S_(s);
    const char *stores[STORE_SNAPSHOT_STORES_MAX];
    int n = sup_stores(p, stores, STORE_SNAPSHOT_STORES_MAX);
    struct sup_req *q;

    if (p->snap_busy) {
        p->snap_again = true;           /* after the one under way */
        return;
    }
    if (!(q = session_req_new(s, sizeof *q)))
        return;
    if (n == 0 || store_floor_snapshot(gw.cfg->snapshot_chats, n, stores, on_snapshot, q) != 0) {
        session_req_drop(q);
        session_error(s, CG_E_UNAVAILABLE, NULL);
        return;
    }
    p->snap_busy = true;
    sup_hold(p);
}

size_t sup_store_list(const struct sup *p, char *out, size_t cap)
{
    const char *stores[STORE_SNAPSHOT_STORES_MAX];
    int n = sup_stores(p, stores, STORE_SNAPSHOT_STORES_MAX);
    size_t len = 0;

    out[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", stores[i]);
    return len < cap ? len : cap - 1;
}

static void on_snapshot_frame(struct session *s, const struct proto_value *f)
{
    (void)f;
    snapshot_ask(s);
}

/* ---- login ------------------------------------------------------------------- */

static void send_welcome(struct session *s)
{
    struct sup *p = S_(s);
    const struct config *c = gw.cfg;
    bool all = strcmp(p->store, ALL_STORES) == 0;
    struct proto_writer *w = session_writer(s);

    proto_w_map(w, 2);
    proto_w_key(w, "t"); proto_w_cstr(w, "welcome");
    proto_w_key(w, "supervisor");
    proto_w_map(w, 3);
    proto_w_key(w, "id");   proto_w_cstr(w, p->id);
    proto_w_key(w, "name"); proto_w_cstr(w, p->name);
    proto_w_key(w, "stores");
    proto_w_array(w, all ? (uint32_t)c->nstores : 1);
    for (size_t i = 0; i < (all ? c->nstores : 1); i++)
        proto_w_cstr(w, all ? c->stores[i].id : p->store);
    session_send(s, w);
}

static const char *rstr(const redisReply *e)
{
    return e->type == REDIS_REPLY_STRING ? e->str : "";
}

/* The supervisor's identity (desk_login.c's last step): its store. */
static void on_identity(struct session *s, redisReply *r, const char *hash)
{
    struct sup *p = S_(s);

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[2]->type != REDIS_REPLY_STRING || r->element[2]->len != TOKEN_HASH_HEX ||
        !token_equal(r->element[2]->str, hash, TOKEN_HASH_HEX) ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        desk_login_fail(&p->login, CG_E_UNAUTHORIZED, "stale_token");
        return;
    }
    snprintf(p->name, sizeof p->name, "%s", rstr(r->element[0])[0] ? rstr(r->element[0]) : p->id);
    snprintf(p->store, sizeof p->store, "%s", rstr(r->element[1]));
    if (strcmp(p->store, ALL_STORES) != 0 && !config_find_store(gw.cfg, p->store)) {
        desk_login_fail(&p->login, CG_E_NOT_FOUND, "store_not_served");
        return;
    }
    desk_login_settle(&p->login);
    p->login.logging_in = 0;
    p->logged_in = 1;
    s->hello_done = 1;
    metrics.logins++;
    sup_link(p);
    send_welcome(s);
    snapshot_ask(s);                    /* then the floor as it is, then events */
    log_info("supervisor_login", "supervisor=%s store=%s ip=%s", p->id, p->store, p->ip);
}

static int sup_identity(struct session *s, const char *id, db_reply_cb *cb, void *ud)
{
    snprintf(S_(s)->id, sizeof S_(s)->id, "%s", id);
    return store_supervisor_identity(S_(s)->id, cb, ud);
}

/* An agent's token is no supervisor's: refused like an unknown one, but
 * logged as what it is. */
static const struct desk_role sup_desk = {
    .owner = "supervisor:",
    .other = "agent:",
    .other_why = "agent_token",
    .log_tag = "role=supervisor ",
    .identity = sup_identity,
    .on_identity = on_identity,
};

static void on_login(struct session *s, const struct proto_value *f)
{
    desk_login_start(&S_(s)->login, S_(s)->logged_in, proto_map_get(f, "token"));
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void sup_open(struct session *s)
{
    struct sup *p = calloc(1, sizeof *p);

    s->data = p;
    if (p) {
        p->s = s;
        desk_login_init(&p->login, &sup_desk, s, p->ip);
    }
    if (p && s->wsi)
        lws_get_peer_simple(s->wsi, p->ip, sizeof p->ip);
}

static void sup_close(struct session *s)
{
    struct sup *p = S_(s);

    if (!p)
        return;
    desk_login_close(&p->login);
    if (p->logged_in)
        log_info("supervisor_logout", "supervisor=%s", p->id);
    supervise_forget(p);                /* its watches end */
    sup_unlink(p);
}

static void sup_free(struct session *s)
{
    if (s->data) {
        pend_free(s->data);
        free(((struct sup *)s->data)->watch);
    }
    free(s->data);
    s->data = NULL;
}

static int sup_start(void)
{
    return event_consumer_add(on_floor_event, NULL);
}

static void sup_stop(void)
{
    sup_stats_stop();
    free(SV.chans);
    memset(&SV, 0, sizeof SV);
}

static const struct frame_handler sup_frames[] = {
    { "login",    on_login,          false, { { "token", PROTO_STR } } },
    { "snapshot", on_snapshot_frame, true,  { { NULL, 0 } } },
    { "watch",    supervise_watch,   true,  { { "chat", PROTO_STR } } },
    { "join",     supervise_join,    true,  { { "chat", PROTO_STR } } },
    { "unwatch",  supervise_unwatch, true,  { { "chat", PROTO_STR } } },
    { "whisper",  supervise_whisper, true,  { { "chat", PROTO_STR }, { "text", PROTO_STR } } },
    { "msg",      supervise_msg,     true,  { { "chat", PROTO_STR }, { "id", PROTO_STR },
                                              { "text", PROTO_STR } } },
    { "assign",   supervise_assign,  true,  { { "chat", PROTO_STR }, { "agent", PROTO_STR } } },
    { "transfer", supervise_transfer, true, { { "chat", PROTO_STR }, { "to", PROTO_STR } } },
    { "close",    supervise_close,   true,  { { "chat", PROTO_STR } } },
    { "transcript", supervise_transcript, true, { { "chat", PROTO_STR } } },
    { NULL, NULL, false, { { NULL, 0 } } }
};

const struct role supervisor_role = {
    .kind = ROLE_SUPERVISOR,
    .name = "supervisor",
    .path = "/v1/supervisor",
    .frames = sup_frames,
    .on_open = sup_open,
    .on_close = sup_close,
    .on_free = sup_free,
    .start = sup_start,
    .stop = sup_stop,
};
