/*
 * router.c - this node's side of routing (see router.h).
 *
 * Two indexes find local sessions for events: chat id -> the buyer sessions
 * showing that chat (a buyer may have it open in several tabs), agent id ->
 * the agent's sessions here (one agent may have several desk windows).
 * Events arrive on the subscriber link as msgpack maps packed by our Lua
 * scripts: {k, chat?, agent?, ...}, and go to every session of the id.
 * There is no fixed cap on those sessions here: how many desk windows an
 * agent may have is the agent_sessions_max option, checked at login.
 *
 * A lost subscriber link may have dropped events; when it is back, every
 * local buyer re-reads its transcript from the last seq it saw (the
 * transcript is the truth, events are only the doorbell).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "codec.h"
#include "config.h"
#include "event.h"
#include "gw.h"
#include "hours.h"
#include "index.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "shift.h"
#include "session.h"
#include "store.h"

struct local_set {                  /* the local sessions of one chat or agent */
    char id[INDEX_KEY_MAX + 1];     /* its key in the index */
    size_t n, cap;
    struct session **v;
};

static struct {
    struct index buyers, agents;
    struct proto_arena arena;       /* for events; grows to the largest seen */
    uint32_t arena_elems;
    size_t arena_bytes;
    uv_timer_t beat;
    uv_timer_t clock;               /* armed to the next deadline in cg:clock */
    uv_timer_t shift;               /* armed to the next shift boundary of any store */
    uint64_t clock_at;              /* wall ms it is armed for; 0 = not armed */
    bool clock_busy;                /* a clock step is in flight */
    bool started;
    char chan_node[160];
    char chan_floor[32];            /* the prefix of the stores' floor channels */
    char sweep_cursor[24];          /* SSCAN cursor over this node's agents */
    char (*floors)[CONFIG_ID_MAX + 1]; /* the stores whose floor channel we hear */
    size_t nfloors;
} R;

const char *router_node(void)
{
    return gw.node_id;
}

/* ---- assignment ----------------------------------------------------------- */

struct assign_req {
    char store[CONFIG_ID_MAX + 1], group[CONFIG_ID_MAX + 1];
};

/* {chat, agent, ..., the earliest sticky wait's end the step set or 0}:
 * that end is a deadline in cg:clock (router.lua sticky_of), armed here
 * at once so that the chat goes to anyone on time. */
static void on_assigned(void *ud, redisReply *r)
{
    struct assign_req *q = ud;

    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("assign_failed", "store=%s group=%s error=%s", q->store, q->group, r->str);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 1) {
        size_t pairs = r->elements / 2;
        const redisReply *wait_end = r->element[r->elements - 1];
        metrics.assignments += pairs;
        for (size_t i = 0; i < pairs; i++)
            log_info("chat_assigned", "chat=%s agent=%s", r->element[2 * i]->str,
                     r->element[2 * i + 1]->str);
        if (wait_end->type == REDIS_REPLY_INTEGER && wait_end->integer > 0)
            router_clock_arm((uint64_t)wait_end->integer);
        /* a full batch: more may be waiting */
        if (pairs >= gw.cfg->assign_batch)
            router_assign(q->store, q->group);
    }
    free(q);
}

void router_assign(const char *store, const char *group)
{
    struct assign_req *q = calloc(1, sizeof *q);
    char batch[16], hist[16];

    if (!q)
        return;
    snprintf(q->store, sizeof q->store, "%s", store);
    snprintf(q->group, sizeof q->group, "%s", group);
    snprintf(batch, sizeof batch, "%u", gw.cfg->assign_batch);
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { store, group, batch, hist };
    if (store_route("assign", 4, args, on_assigned, q) != 0)
        free(q);
}

void router_assign_groups(const redisReply *r)
{
    char store[CONFIG_ID_MAX + 1];

    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        const char *sp = e->type == REDIS_REPLY_STRING ? strchr(e->str, ' ') : NULL;
        if (!sp || (size_t)(sp - e->str) > CONFIG_ID_MAX)
            continue;
        memcpy(store, e->str, (size_t)(sp - e->str));
        store[sp - e->str] = '\0';
        router_assign(store, sp + 1);
    }
}

/* Every queue this node's config knows, as the safety net. */
static void assign_all(void)
{
    const struct config *c = gw.cfg;

    for (size_t i = 0; i < c->nstores; i++)
        for (int g = 0; g < c->stores[i].ngroups; g++)
            router_assign(c->stores[i].id, c->stores[i].groups[g]);
}

/* ---- the 30-second clock --------------------------------------------------- */

/*
 * Deadlines live in Redis (cg:clock, see router.lua): every node arms one
 * timer to the earliest it knows of. It learns them from its own appends
 * (the deadline comes with the ack), from its clock steps (the next one
 * comes with the reply) and from every heartbeat (the head of cg:clock),
 * so a deadline set by a node that dies still fires, at most a heartbeat
 * late, and one set by a live node fires on time. Whichever node runs a
 * due step first does it; the others find nothing due.
 */
#define CLOCK_BATCH "64"

static void clock_run(void);

/* One of the clock step's lists ("store group" per breach, hold or
 * reassignment) into /metrics: the counter at off in struct metrics_sg. */
static void count_sg(const redisReply *list, size_t off)
{
    for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        const redisReply *e = list->element[i];
        char store[CONFIG_ID_MAX + 1];
        const char *sp = e->type == REDIS_REPLY_STRING ? strchr(e->str, ' ') : NULL;
        struct metrics_sg *g;

        if (!sp || (size_t)(sp - e->str) > CONFIG_ID_MAX)
            continue;
        memcpy(store, e->str, (size_t)(sp - e->str));
        store[sp - e->str] = '\0';
        if ((g = metrics_sg(store, sp + 1)))
            (*(uint64_t *)((char *)g + off))++;
    }
}

static void on_clock_step(void *ud, redisReply *r)
{
    (void)ud;
    R.clock_busy = false;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("clock_failed", "error=%s", r->str);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 5)
        return;
    router_assign_groups(r->element[1]);
    if (r->elements > 7) {
        count_sg(r->element[5], offsetof(struct metrics_sg, breaches));
        count_sg(r->element[6], offsetof(struct metrics_sg, holds));
        count_sg(r->element[7], offsetof(struct metrics_sg, reassigned));
    }
    if (r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer > 0)
        router_clock_arm((uint64_t)r->element[0]->integer);
}

static void clock_run(void)
{
    char hist[16];

    if (!db_ready() || R.clock_busy)
        return;
    snprintf(hist, sizeof hist, "%u", gw.cfg->history_max);
    const char *args[] = { CLOCK_BATCH, hist };
    if (store_route("clock", 2, args, on_clock_step, NULL) == 0)
        R.clock_busy = true;
}

static void on_clock(uv_timer_t *t)
{
    (void)t;
    R.clock_at = 0;
    clock_run();
}

void router_clock_arm(uint64_t at_ms)
{
    uint64_t now = gw_wall_ms();

    if (!R.started || (R.clock_at && R.clock_at <= at_ms))
        return;
    R.clock_at = at_ms;
    uv_timer_start(&R.clock, on_clock, at_ms > now ? at_ms - now : 0, 0);
}

/* ---- shifts ---------------------------------------------------------------- */

/*
 * Each node computes its stores' shift spans from its config (shift.c) and
 * publishes them to cg:store:<id> (store_publish_store); router.lua decides
 * "on shift now" with them and the agent's roster. At every boundary (a
 * shift starts or ends, or local midnight, which moves the window of
 * published spans) every node publishes again and runs "shifts" for the
 * store: agents whose shift began or ended hear of it (event shift), the
 * ready sets are redone, and the groups of agents now on shift get their
 * waiting chats at once. Nodes with the same config publish the same
 * spans and make the same decisions; the first one to run a step does it,
 * the others find nothing changed.
 */
static void shift_arm(void);

static void on_shifted(void *ud, redisReply *r)
{
    (void)ud;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("shift_step_failed", "error=%s", r->str);
    router_assign_groups(r);
}

/* {{group, own 0|1, {start, end, ...}}...} of one store (ud: its id, to
 * free): each group's service hours, kept in memory (hours.c) for the
 * first-message decision of session_buyer.c. */
static void on_group_hours(void *ud, redisReply *r)
{
    char *store = ud, own[256] = "";
    int64_t few[2 * 64], *se;
    size_t ol = 0;

    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("group_hours_failed", "store=%s error=%s", store, r->str);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        if (g->type != REDIS_REPLY_ARRAY || g->elements != 3 ||
            g->element[0]->type != REDIS_REPLY_STRING ||
            g->element[1]->type != REDIS_REPLY_INTEGER || g->element[2]->type != REDIS_REPLY_ARRAY)
            continue;
        const redisReply *flat = g->element[2];
        size_t n = flat->elements / 2;
        se = 2 * n <= sizeof few / sizeof few[0] ? few : malloc(2 * n * sizeof *se);
        if (!se) {
            log_error("group_hours_failed", "store=%s reason=out_of_memory", store);
            continue;
        }
        for (size_t j = 0; j < 2 * n; j++)
            se[j] = flat->element[j]->type == REDIS_REPLY_INTEGER ? flat->element[j]->integer : 0;
        if (hours_set(store, g->element[0]->str, (int)g->element[1]->integer, se, n) != 0)
            log_error("group_hours_failed", "store=%s group=%s reason=out_of_memory", store,
                      g->element[0]->str);
        else if (g->element[1]->integer && ol < sizeof own)
            ol += (size_t)snprintf(own + ol, sizeof own - ol, "%s%s", ol ? "," : "",
                                   g->element[0]->str);
        if (se != few)
            free(se);
    }
    /* once per boundary or roster change: which groups have hours of their own */
    if (r && r->type == REDIS_REPLY_ARRAY)
        log_info("group_hours", "store=%s own=%s", store, ol ? own : "-");
    free(store);
}

static void shift_step(void)
{
    const struct config *c = gw.cfg;

    if (!db_ready())
        return;
    for (size_t i = 0; i < c->nstores; i++) {
        store_publish_store(&c->stores[i]);
        const char *args[] = { c->stores[i].id };
        store_route("shifts", 1, args, on_shifted, NULL);
        /* after the hours just published: each group's from its agents' rosters */
        char *id = strdup(c->stores[i].id);
        if (id && store_route("ghours", 1, args, on_group_hours, id) != 0)
            free(id);
    }
}

static void on_shift_timer(uv_timer_t *t)
{
    (void)t;
    shift_step();
    shift_arm();
}

static void shift_arm(void)
{
    const struct config *c = gw.cfg;
    int64_t now = (int64_t)gw_wall_ms(), next = 0;

    if (!R.started)
        return;
    for (size_t i = 0; i < c->nstores; i++) {
        int64_t b = shift_next_boundary(c->stores[i].plan, now);
        if (b > 0 && (next == 0 || b < next))
            next = b;
    }
    uv_timer_stop(&R.shift);
    if (next > 0)                   /* +1: past the boundary, on every node's clock */
        uv_timer_start(&R.shift, on_shift_timer, (uint64_t)(next - now) + 1, 0);
}

void router_on_reload(void)
{
    if (!R.started)
        return;
    shift_step();                   /* new shifts, or the test clock moved */
    shift_arm();
    R.clock_at = 0;                 /* deadlines are wall times: arm again */
    uv_timer_stop(&R.clock);
    clock_run();
}

/* ---- heartbeat and sweep -------------------------------------------------- */

static void rejoin_all(void);

/* {next cursor, {"store group"...}, declared dead, the clock's next deadline} */
static void on_swept(void *ud, redisReply *r)
{
    (void)ud;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_error("sweep_failed", "error=%s", r->str);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return;
    if (r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer > 0)
        router_clock_arm((uint64_t)r->element[3]->integer);
    if (r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < sizeof R.sweep_cursor)
        memcpy(R.sweep_cursor, r->element[0]->str, r->element[0]->len + 1);
    router_assign_groups(r->element[1]);
    if (r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 1) {
        /* paused (GC, VM steal, SIGSTOP) past node_timeout: another node
         * dropped our agents' sessions; they are open, so register them */
        log_warn("node_declared_dead", "node=%s agents=%zu", gw.node_id, index_count(&R.agents));
        rejoin_all();
    }
}

static void sweep(void)
{
    char grace[24], timeout[24];

    snprintf(grace, sizeof grace, "%llu", (unsigned long long)gw.cfg->agent_grace_ms);
    snprintf(timeout, sizeof timeout, "%llu", (unsigned long long)gw.cfg->node_timeout_ms);
    if (!R.sweep_cursor[0])
        R.sweep_cursor[0] = '0';
    const char *args[] = { grace, timeout, R.sweep_cursor };
    store_route("sweep", 3, args, on_swept, NULL);
}

static void floor_assert_all(void);

static void on_beat(uv_timer_t *t)
{
    (void)t;
    if (!db_ready())
        return;
    sweep();
    assign_all();
    floor_assert_all();
}

/* Tells Redis which stores and groups this node serves (chatgwctl reads it). */
static void publish_stores(void)
{
    for (size_t i = 0; i < gw.cfg->nstores; i++)
        store_publish_store(&gw.cfg->stores[i]);
}

/* Every local session registers again (event REJOIN). */
static void rejoin_all(void)
{
    event_dispatch(&(struct event){ .id = EV_REJOIN });
}

static void on_reset(void *ud, redisReply *r)
{
    (void)ud;
    if (!r || r->type == REDIS_REPLY_ERROR)
        return;
    shift_step();
    shift_arm();
    /* what this node holds now is online again (Redis may have restarted) */
    rejoin_all();
    sweep();
    assign_all();
    floor_assert_all();             /* reset_node forgot this node's floor marks */
}

void router_on_db_state(bool ready)
{
    if (!ready || !R.started)
        return;
    publish_stores();
    store_route("reset_node", 0, NULL, on_reset, NULL);
}

/* ---- local sessions -------------------------------------------------------- */

/*
 * Events for the chat come here from now on; what was published before the
 * location was set went to the buyer's previous node, so read it now.
 */
static void on_located(void *ud, redisReply *r)
{
    struct session *s = ud;

    /* this session only: the chat's other local sessions were here already */
    if (r && r->type != REDIS_REPLY_ERROR && session_alive(s) && s->role->on_event)
        s->role->on_event(s, &(struct event){ .id = EV_RESYNC });
    session_unref(s);
}

/* Adds s to the sessions of id in ix. */
static int local_add(struct index *ix, const char *id, struct session *s)
{
    struct local_set *set = index_get(ix, id);

    if (!set) {
        set = calloc(1, sizeof *set);
        if (set)
            snprintf(set->id, sizeof set->id, "%s", id);
        if (!set || index_put(ix, set->id, set) != 0) {
            free(set);
            return -1;
        }
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 2;
        struct session **v = realloc(set->v, cap * sizeof *v);
        if (!v) {
            if (set->n == 0) {
                index_del(ix, set->id, set);
                free(set);
            }
            return -1;
        }
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = s;
    return 0;
}

static void local_del(struct index *ix, const char *id, struct session *s)
{
    struct local_set *set = index_get(ix, id);

    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i] == s) {
            set->v[i] = set->v[--set->n];
            break;
        }
    if (set->n == 0) {
        index_del(ix, set->id, set);
        free(set->v);
        free(set);
    }
}

static void local_free_all(struct index *ix)
{
    for (size_t i = 0; i < ix->cap; i++) {
        struct local_set *set = ix->slots[i].val;
        if (set) {
            free(set->v);
            free(set);
        }
    }
    index_free(ix);
}

int router_buyer_attach(struct session *s, const char *chat, bool resumed)
{
    if (local_add(&R.buyers, chat, s) != 0)
        return -1;
    /* where events for this chat's buyer go; a new chat: append.lua sets
     * it with the first message */
    if (!resumed)
        return 0;
    session_ref(s);
    if (store_locate(chat, gw.node_id, on_located, s) != 0)
        session_unref(s);
    return 0;
}

void router_buyer_detach(struct session *s, const char *chat)
{
    local_del(&R.buyers, chat, s);
}

int router_agent_attach(struct session *s, const char *agent)
{
    return local_add(&R.agents, agent, s);
}

void router_agent_detach(struct session *s, const char *agent)
{
    local_del(&R.agents, agent, s);
}

/* ---- events ----------------------------------------------------------------- */

static const char *ev_str(const struct proto_value *ev, const char *k)
{
    const struct proto_value *v = proto_map_get(ev, k);
    return v && v->type == PROTO_STR && v->len <= INDEX_KEY_MAX ? v->u.s : NULL;
}

static int arena_fit(size_t len)
{
    uint32_t elems = 64 + 4 * gw.cfg->history_max;
    size_t bytes = len + elems + 1;

    if (elems <= R.arena_elems && bytes <= R.arena_bytes)
        return 0;
    if (bytes < R.arena_bytes)
        bytes = R.arena_bytes;
    proto_arena_free(&R.arena);
    if (proto_arena_init(&R.arena, elems, bytes) != 0) {
        R.arena_elems = 0;
        R.arena_bytes = 0;
        return -1;
    }
    R.arena_elems = elems;
    R.arena_bytes = bytes;
    return 0;
}

static void on_refreshed(void *ud, redisReply *r)
{
    (void)ud;
    router_assign_groups(r);           /* new groups or room: chats for it? */
}

/*
 * Hands an event to every session of a set. Handlers may close sessions,
 * and a closed session leaves its set (which goes when it is empty): walk
 * a copy, each session in it held by a reference until the walk is done.
 */
static void deliver(const struct local_set *set, const struct event *ev)
{
    struct session *few[16], **v;
    size_t n = set ? set->n : 0;

    if (n == 0)
        return;
    v = n <= 16 ? few : malloc(n * sizeof *v);
    if (!v) {
        log_error("event_dropped", "kind=%s sessions=%zu reason=out_of_memory",
                  event_name(ev->id), n);
        return;
    }
    memcpy(v, set->v, n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        session_ref(v[i]);
    for (size_t i = 0; i < n; i++) {
        if (v[i]->role->on_event)
            v[i]->role->on_event(v[i], ev);
        session_unref(v[i]);
    }
    if (v != few)
        free(v);
}

static void deliver_all(const struct index *ix, const struct event *ev)
{
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].val)
            deliver(ix->slots[i].val, ev);
}

/* The consumer that hands events to this node's sessions (and to itself). */
static void on_local_event(const struct event *ev, void *ud)
{
    (void)ud;
    if (ev->floor)
        return;                     /* a copy for the supervisors' floor */
    switch (event_target(ev->id)) {
    case EVT_NODE:
        if (ev->id == EV_ROSTER || ev->id == EV_REFRESH)
            shift_step();           /* who is on shift, each group's hours: again */
        if (ev->id == EV_REFRESH && ev->agent && index_get(&R.agents, ev->agent)) {
            /* every node hears it; one re-check is enough, but all are harmless */
            const char *args[] = { ev->agent };
            store_route("refresh", 1, args, on_refreshed, NULL);
        }
        break;
    case EVT_AGENT:
        if (ev->agent)
            deliver(index_get(&R.agents, ev->agent), ev);
        break;
    case EVT_CHAT:
        if (ev->chat)
            deliver(index_get(&R.buyers, ev->chat), ev);
        break;
    case EVT_ALL:
        deliver_all(&R.agents, ev);
        deliver_all(&R.buyers, ev);
        break;
    }
}

/* A message on our channels: decoded once, then to every consumer. */
static void on_message(const char *channel, const char *payload, size_t len)
{
    struct proto_limits lim = { 4, 0, true };
    const struct proto_value *body;
    struct event ev;
    const char *k;

    if (arena_fit(len) != 0)
        return;
    lim.max_elems = R.arena_elems;
    if (proto_decode(payload, len, PROTO_MSGPACK, &lim, &R.arena, &body) != PROTO_OK ||
        !(k = ev_str(body, "k"))) {
        log_warn("bad_event", "channel=%s bytes=%zu", channel, len);
        return;
    }
    metrics.events_in++;
    ev = (struct event){ .id = event_by_name(k), .chat = ev_str(body, "chat"),
                         .agent = ev_str(body, "agent"), .body = body,
                         .floor = strncmp(channel, R.chan_floor, strlen(R.chan_floor)) == 0 };
    if (ev.id == EV_NONE) {
        log_warn("unknown_event", "channel=%s kind=%.32s", channel, k);
        return;
    }
    event_dispatch(&ev);
}

static void on_sub_state(bool ready)
{
    if (!ready)
        return;
    /* events may have been lost while the link was down: catch up */
    for (size_t i = 0; i < R.buyers.cap; i++) {
        struct local_set *set = R.buyers.slots[i].val;
        if (set)
            event_dispatch(&(struct event){ .id = EV_RESYNC, .chat = set->id });
    }
}

/* ---- the supervisors' floor ------------------------------------------------- */

const char *router_store_of(const struct event *ev)
{
    const struct local_set *set = NULL;

    switch (event_target(ev->id)) {
    case EVT_AGENT:
        set = ev->agent ? index_get(&R.agents, ev->agent) : NULL;
        break;
    case EVT_CHAT:
        set = ev->chat ? index_get(&R.buyers, ev->chat) : NULL;
        break;
    default:
        break;
    }
    for (size_t i = 0; set && i < set->n; i++) {
        const struct session *s = set->v[i];
        const char *store = s->role->store_of ? s->role->store_of(s) : NULL;
        if (store)
            return store;
    }
    return NULL;
}

/*
 * While this node hears a store's floor channel it says so in Redis
 * (store_floor_listener), so that the scripts publish the store's floor
 * events only while somebody listens. The mark is written again at every
 * heartbeat (Redis may have restarted; a sweep that found this node
 * silent took it away) and taken away when the last supervisor goes.
 */
static void floor_assert_all(void)
{
    for (size_t i = 0; i < R.nfloors; i++)
        store_floor_listener(R.floors[i], true);
}

int router_floor_listen(const char *store, bool on)
{
    char chan[160];
    void *v;

    store_key(chan, sizeof chan, KEY_FLOOR_CHAN, store, NULL);
    if (!on) {
        for (size_t i = 0; i < R.nfloors; i++)
            if (strcmp(R.floors[i], store) == 0) {
                memcpy(R.floors[i], R.floors[--R.nfloors], sizeof R.floors[0]);
                break;
            }
        store_floor_listener(store, false);
        db_unsubscribe(chan);
        return 0;
    }
    if (strlen(store) > CONFIG_ID_MAX || !(v = realloc(R.floors, (R.nfloors + 1) * sizeof *R.floors)))
        return -1;
    R.floors = v;
    snprintf(R.floors[R.nfloors++], sizeof R.floors[0], "%s", store);
    if (db_subscribe_add(chan) != 0)
        return -1;
    store_floor_listener(store, true);
    return 0;
}

/* ---- lifecycle -------------------------------------------------------------- */

int router_init(const struct db_url *url)
{
    const char *channels[2];

    index_init(&R.buyers);
    index_init(&R.agents);
    store_key(R.chan_node, sizeof R.chan_node, KEY_NODE_CHAN, gw.node_id, NULL);
    store_key(R.chan_floor, sizeof R.chan_floor, KEY_FLOOR_CHAN, "", NULL);
    channels[0] = R.chan_node;
    channels[1] = key_pattern(KEY_CTL_CHAN);
    if (db_subscribe(gw.loop, url, gw.cfg->redis_connect_timeout_ms, gw.cfg->redis_backoff_max_ms,
                     channels, 2, on_message, on_sub_state) != 0)
        return -1;
    if (event_consumer_add(on_local_event, NULL) != 0)
        return -1;
    uv_timer_init(gw.loop, &R.beat);
    uv_timer_init(gw.loop, &R.clock);
    uv_timer_init(gw.loop, &R.shift);
    uv_timer_start(&R.beat, on_beat, gw.cfg->node_heartbeat_ms, gw.cfg->node_heartbeat_ms);
    R.started = true;
    return 0;
}

void router_stop(void)
{
    if (!R.started)
        return;
    R.started = false;
    uv_timer_stop(&R.beat);
    uv_close((uv_handle_t *)&R.beat, NULL);
    uv_timer_stop(&R.clock);
    uv_close((uv_handle_t *)&R.clock, NULL);
    uv_timer_stop(&R.shift);
    uv_close((uv_handle_t *)&R.shift, NULL);
    local_free_all(&R.buyers);
    local_free_all(&R.agents);
    proto_arena_free(&R.arena);
    free(R.floors);
    R.floors = NULL;
    R.nfloors = 0;
    hours_clear();
}
