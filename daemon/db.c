/*
 * db.c - the asynchronous Redis link: connect, handshake, retry, scripts.
 *
 * States: DOWN -> (resolve) -> CONNECTING -> HANDSHAKE -> READY, and back
 * to DOWN on any failure, with a retry timer whose delay doubles from
 * 50 ms up to backoff_max and resets once the link is ready. A watchdog
 * timer bounds CONNECTING+HANDSHAKE (hiredis 0.14 has no connect timeout
 * and the loop's adapter, redis_uv.c, cannot tell a stuck connect).
 *
 * Every request carries a `struct db_req` that owns the formatted command,
 * so a NOSCRIPT answer can be healed by sending SCRIPT LOAD and the very
 * same bytes again, in order on the same connection.
 *
 * Deadlines: a Redis that stops answering (SIGSTOP, a stuck disk, a
 * half-open TCP link) must not hold requests forever. Replies on one
 * connection come in the order the commands went, so the requests in
 * flight form a FIFO, and the oldest one's send time is the only deadline
 * that matters: one timer per link, armed lazily at that deadline (a send
 * only starts it when it is idle; when it fires early it re-arms to the
 * current oldest). Past redis_timeout the link is declared down: the
 * context is freed, which answers every request in flight with a NULL
 * reply (sessions say `unavailable`, the client resends the same id),
 * /healthz turns 503 and the link reconnects with the usual backoff. The
 * stalled socket is closed, so a late reply can never be matched to a
 * newer request. The subscriber link sends nothing on its own, so it is
 * probed: every redis_timeout it re-SUBSCRIBEs to its first channel (a
 * no-op that Redis confirms) and drops the link if nothing at all came
 * back since the previous probe.
 *
 * API: see db.h.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/async.h>
#include <openssl/sha.h>

#include "codec.h"
#include "db.h"
#include "log.h"
#include "redis_uv.h"

extern const char lua_append[], lua_resume[], lua_router[], lua_schema[], lua_stats[],
                  lua_floor[], lua_signal[];

static const char *const script_src[DB_LUA__COUNT] = { lua_append, lua_resume, lua_router,
                                                              lua_schema, lua_stats, lua_floor,
                                                              lua_signal };
static const char *const script_name[DB_LUA__COUNT] = { "append", "resume", "router",
                                                               "schema", "stats", "floor",
                                                               "signal" };

enum link_state { LINK_DOWN, LINK_RESOLVING, LINK_CONNECTING, LINK_HANDSHAKE, LINK_READY };

struct db_req {
    db_reply_cb *cb;
    void *ud;
    char *cmd;            /* formatted RESP command, kept for a NOSCRIPT resend */
    int len;
    int8_t script;        /* enum db_script, or -1 */
    uint8_t resent;
    uint64_t sent_ms;     /* when it joined the in-flight FIFO */
    struct db_req *prev, *next;
};

/*
 * One connection with its own state machine. The process has two: the
 * command link (requests and scripts) and the subscriber link (a connection
 * in SUBSCRIBE mode can send nothing else).
 */
struct link {
    const char *name;                /* "redis" or "redis_sub", in log events */
    uv_loop_t *loop;
    const struct db_url *url;
    uint64_t connect_timeout_ms, backoff_max_ms, backoff_ms;
    uint64_t timeout_ms;             /* redis_timeout: a reply due this long is a stall */
    bool failure_logged;             /* a handshake error was logged this outage */
    bool down_logged;                /* redis_down was logged this outage */
    db_state_cb *on_state;
    redisAsyncContext *ac;
    enum link_state state;
    bool stopping, started, is_sub;
    int handshake_left;              /* replies still expected before READY */
    uv_timer_t retry, watchdog;
    uv_timer_t deadline;             /* the oldest request's; the sub link's probe */
    struct db_req *oldest, *newest;  /* requests in flight, in send order */
    unsigned inflight;
    bool probe_out;                  /* sub link: probe sent, nothing heard since */
    uv_getaddrinfo_t gai;
    char addr[INET6_ADDRSTRLEN];
};

static struct link L = { .name = "redis" }, P = { .name = "redis_sub", .is_sub = true };
static char sha[DB_LUA__COUNT][41];

/* the subscriber link's channels and consumer */
static struct {
    char **channels;
    size_t n;
    db_message_cb *on_message;
} sub;

static void link_connect(struct link *l);
static void link_drop(struct link *l, const char *why);
static uint64_t timeout_ms = 2000;   /* both links; set by db_init */

/* ---- link state ---------------------------------------------------------- */

static void set_state(struct link *l, enum link_state st)
{
    bool was = l->state == LINK_READY, is = st == LINK_READY;
    l->state = st;
    if (was != is && l->on_state)
        l->on_state(is);
}

static void on_retry(uv_timer_t *t)
{
    link_connect(t->data);
}

static void schedule_retry(struct link *l)
{
    uv_timer_stop(&l->watchdog);
    set_state(l, LINK_DOWN);
    if (l->stopping)
        return;
    uv_timer_start(&l->retry, on_retry, l->backoff_ms, 0);
    l->backoff_ms = l->backoff_ms * 2 > l->backoff_max_ms ? l->backoff_max_ms : l->backoff_ms * 2;
}

/* Drops the current context (if any) and schedules a retry. Callbacks of
 * requests in flight run with NULL replies from inside redisAsyncFree. */
static void link_drop(struct link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    char url[300];

    db_redacted_url(l->url, url, sizeof url);
    if (!l->down_logged)            /* once per outage; retries are quiet */
        log_warn("redis_down", "link=%s url=%s reason=%s retry_ms=%llu", l->name, url, why,
                 (unsigned long long)l->backoff_ms);
    l->down_logged = true;
    l->ac = NULL;
    uv_timer_stop(&l->deadline);
    l->probe_out = false;
    schedule_retry(l);
    if (ac)
        redisAsyncFree(ac);
}

static void on_watchdog(uv_timer_t *t)
{
    struct link *l = t->data;
    if (l->state != LINK_READY)
        link_drop(l, "timeout");
}

/* ---- deadlines ----------------------------------------------------------- */

static void on_deadline(uv_timer_t *t);
static void on_probe(uv_timer_t *t);

/* q was just handed to hiredis: it is the newest request in flight. */
static void inflight_push(struct link *l, struct db_req *q)
{
    q->sent_ms = uv_now(l->loop);
    q->next = NULL;
    q->prev = l->newest;
    if (l->newest)
        l->newest->next = q;
    else
        l->oldest = q;
    l->newest = q;
    l->inflight++;
    if (!uv_is_active((uv_handle_t *)&l->deadline))
        uv_timer_start(&l->deadline, on_deadline, l->timeout_ms, 0);
}

/* q's reply came, or the context that held it is being freed. */
static void inflight_remove(struct link *l, struct db_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        l->oldest = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->newest = q->prev;
    q->prev = q->next = NULL;
    l->inflight--;
}

static void stalled(struct link *l, uint64_t waited_ms, unsigned inflight)
{
    log_warn("redis_timeout", "link=%s waited_ms=%llu inflight=%u", l->name,
             (unsigned long long)waited_ms, inflight);
    link_drop(l, "timeout");
}

/*
 * The timer was due at the deadline of what was the oldest request when it
 * was armed. Replies since then moved the oldest on: re-arm to its
 * deadline, or, if it is past, the link has stalled.
 */
static void on_deadline(uv_timer_t *t)
{
    struct link *l = t->data;
    uint64_t age;

    if (!l->oldest)
        return;                 /* all answered: the next send re-arms */
    age = uv_now(l->loop) - l->oldest->sent_ms;
    if (age < l->timeout_ms)
        uv_timer_start(t, on_deadline, l->timeout_ms - age, 0);
    else
        stalled(l, age, l->inflight);
}

static void link_up(struct link *l)
{
    char url[300];

    uv_timer_stop(&l->watchdog);
    l->backoff_ms = 50;
    l->failure_logged = false;
    l->down_logged = false;
    db_redacted_url(l->url, url, sizeof url);
    log_info("redis_ready", "link=%s url=%s", l->name, url);
    if (l->is_sub) {
        l->probe_out = false;
        uv_timer_start(&l->deadline, on_probe, l->timeout_ms, l->timeout_ms);
    }
    set_state(l, LINK_READY);
}

/* handshake steps other than script loads (which use their index) */
enum { STEP_SELECT = -3, STEP_AUTH = -2, STEP_PING = -1, STEP_SUBSCRIBE = 100 };

static void on_handshake_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct link *l = ac->data;
    redisReply *r = reply;
    intptr_t which = (intptr_t)priv;

    if (!l || ac != l->ac || (l->state != LINK_HANDSHAKE && which != STEP_SUBSCRIBE))
        return;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        /* never log the AUTH argument; the reply text is Redis's own */
        static const char *const steps[] = { "select", "auth", "ping" };
        char q[160];
        const char *err = !r || !r->str ? "no reply"
                          : strncasecmp(r->str, "WRONGPASS", 9) == 0 ? "wrong password" : r->str;
        /* said once per outage at error level; the retries only at debug */
        if (!l->failure_logged)
            log_error("redis_handshake_failed", "link=%s step=%s error=%s", l->name,
                      which == STEP_SUBSCRIBE ? "subscribe"
                      : which < 0 ? steps[which + 3] : "script_load",
                      log_quote(q, sizeof q, err));
        else
            log_debug("redis_handshake_failed", "link=%s step=%ld", l->name, (long)which);
        l->failure_logged = true;
        link_drop(l, "handshake");
        return;
    }
    if (which == STEP_SUBSCRIBE) {
        l->probe_out = false;   /* Redis is alive: anything it sends will do */
        /* every pushed message arrives here: [message, channel, payload] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_STRING) {
            if (strcmp(r->element[0]->str, "message") == 0) {
                if (l->state == LINK_READY && sub.on_message)
                    sub.on_message(r->element[1]->str, r->element[2]->str,
                                   r->element[2]->len);
                return;
            }
            if (strcmp(r->element[0]->str, "subscribe") != 0 || l->state != LINK_HANDSHAKE)
                return;
        } else {
            return;
        }
    } else if (which >= 0 && which < DB_LUA__COUNT && r->type == REDIS_REPLY_STRING &&
               strcmp(r->str, sha[which]) != 0) {
        log_warn("redis_script_sha_mismatch", "script=%s", script_name[which]);
    }
    if (--l->handshake_left == 0)
        link_up(l);
}

/*
 * The subscriber link's liveness check, every redis_timeout while ready:
 * nothing heard since the last probe is a stall; else probe again. The
 * probe is SUBSCRIBE to a channel we already have: Redis confirms it and
 * nothing changes. (PING would do in RESP2 too, but hiredis 0.14 files
 * its callback under "invalid commands" and never pops it: a leak.)
 */
static void on_probe(uv_timer_t *t)
{
    struct link *l = t->data;

    if (l->state != LINK_READY || !l->ac || sub.n == 0)
        return;
    if (l->probe_out) {
        stalled(l, l->timeout_ms, 1);      /* the probe */
        return;
    }
    if (redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)STEP_SUBSCRIBE,
                          "SUBSCRIBE %s", sub.channels[0]) == REDIS_OK)
        l->probe_out = true;
}

static void handshake(struct link *l)
{
    l->handshake_left = 0;
    set_state(l, LINK_HANDSHAKE);
    if (l->url->password) {
        redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)STEP_AUTH, "AUTH %s",
                          l->url->password);
        l->handshake_left++;
    }
    if (l->url->db) {
        redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)STEP_SELECT,
                          "SELECT %d", l->url->db);
        l->handshake_left++;
    }
    if (l->is_sub) {
        /* one reply per channel; then the same callback gets every message */
        for (size_t i = 0; i < sub.n; i++) {
            redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)STEP_SUBSCRIBE,
                              "SUBSCRIBE %s", sub.channels[i]);
            l->handshake_left++;
        }
        return;
    }
    for (int i = 0; i < DB_LUA__COUNT; i++) {
        redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)i,
                          "SCRIPT LOAD %s", script_src[i]);
        l->handshake_left++;
    }
    redisAsyncCommand(l->ac, on_handshake_reply, (void *)(intptr_t)STEP_PING, "PING");
    l->handshake_left++;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;

    if (!l || ac != l->ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback returns */
        l->ac = NULL;
        log_debug("redis_connect_failed", "link=%s error=%s", l->name, ac->errstr);
        schedule_retry(l);
        return;
    }
    handshake(l);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;

    (void)status;
    if (!l || ac != l->ac)
        return;
    l->ac = NULL;           /* hiredis frees it after this callback */
    link_drop(l, ac->err ? "lost" : "closed");
}

static void connect_to(struct link *l, const char *host, int port)
{
    redisAsyncContext *ac = l->url->is_unix ? redisAsyncConnectUnix(l->url->host)
                                            : redisAsyncConnect(host, port);
    if (!ac || ac->err) {
        log_debug("redis_connect_failed", "link=%s error=%s", l->name, ac ? ac->errstr : "oom");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(l);
        return;
    }
    ac->data = l;
    l->ac = ac;
    set_state(l, LINK_CONNECTING);
    if (redis_uv_attach(ac, l->loop) != 0) {
        l->ac = NULL;
        redisAsyncFree(ac);
        schedule_retry(l);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct link *l = req->data;

    if (l->stopping) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status != 0 || !res) {
        log_warn("redis_resolve_failed", "link=%s host=%s error=%s", l->name, l->url->host,
                 uv_strerror(status));
        uv_freeaddrinfo(res);
        schedule_retry(l);
        return;
    }
    if (res->ai_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, l->addr, sizeof l->addr);
    else
        uv_ip4_name((struct sockaddr_in *)res->ai_addr, l->addr, sizeof l->addr);
    uv_freeaddrinfo(res);
    connect_to(l, l->addr, l->url->port);
}

static void link_connect(struct link *l)
{
    struct in6_addr a6;
    struct in_addr a4;

    if (l->stopping || l->ac)
        return;
    uv_timer_start(&l->watchdog, on_watchdog, l->connect_timeout_ms, 0);
    if (l->url->is_unix || inet_pton(AF_INET, l->url->host, &a4) == 1 ||
        inet_pton(AF_INET6, l->url->host, &a6) == 1) {
        connect_to(l, l->url->host, l->url->port);
        return;
    }
    /* a name: resolve off the loop thread (libuv's threadpool) */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    set_state(l, LINK_RESOLVING);
    l->gai.data = l;
    if (uv_getaddrinfo(l->loop, &l->gai, on_resolved, l->url->host, NULL, &hints) != 0)
        schedule_retry(l);
}

static void link_init(struct link *l, uv_loop_t *loop, const struct db_url *url,
                      uint64_t connect_timeout_ms, uint64_t backoff_max_ms,
                      db_state_cb *on_state)
{
    const char *name = l->name;
    bool is_sub = l->is_sub;

    memset(l, 0, sizeof *l);
    l->name = name;
    l->is_sub = is_sub;
    l->loop = loop;
    l->url = url;
    l->connect_timeout_ms = connect_timeout_ms;
    l->timeout_ms = timeout_ms;
    l->backoff_max_ms = backoff_max_ms;
    l->backoff_ms = 50;
    l->on_state = on_state;
    l->started = true;
    uv_timer_init(loop, &l->retry);
    uv_timer_init(loop, &l->watchdog);
    uv_timer_init(loop, &l->deadline);
    l->retry.data = l->watchdog.data = l->deadline.data = l;
}

static void link_stop(struct link *l)
{
    redisAsyncContext *ac = l->ac;

    if (!l->started || l->stopping)
        return;
    l->stopping = true;
    uv_timer_stop(&l->retry);
    uv_timer_stop(&l->watchdog);
    uv_timer_stop(&l->deadline);
    uv_close((uv_handle_t *)&l->retry, NULL);
    uv_close((uv_handle_t *)&l->watchdog, NULL);
    uv_close((uv_handle_t *)&l->deadline, NULL);
    l->ac = NULL;
    set_state(l, LINK_DOWN);
    if (ac)
        redisAsyncFree(ac);
}

/* ---- requests ------------------------------------------------------------ */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct db_req *q = priv;
    redisReply *r = reply;

    inflight_remove(&L, q);
    if (r && r->type == REDIS_REPLY_ERROR && q->script >= 0 && !q->resent &&
        strncmp(r->str, "NOSCRIPT", 8) == 0 && ac == L.ac && L.state == LINK_READY) {
        log_warn("redis_noscript", "script=%s action=reload", script_name[q->script]);
        q->resent = 1;
        if (redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s", script_src[q->script]) == REDIS_OK &&
            redisAsyncFormattedCommand(ac, on_reply, q, q->cmd, (size_t)q->len) == REDIS_OK) {
            inflight_push(&L, q);   /* behind everything sent meanwhile */
            return;
        }
        r = NULL;
    }
    if (q->cb)
        q->cb(q->ud, r);
    free(q->cmd);
    free(q);
}

/*
 * The command in RESP, as hiredis's redisFormatCommandArgv would write it,
 * without its snprintf per argument length (lens NULL: NUL-terminated
 * arguments). Returns the length, or -1.
 */
static int format_command(char **out, int argc, const char **argv, const size_t *lens)
{
    size_t total = 1 + 20 + 2;
    char *p;

    for (int i = 0; i < argc; i++)
        total += 1 + 20 + 2 + (lens ? lens[i] : strlen(argv[i])) + 2;
    if (total > INT_MAX || !(p = malloc(total)))
        return -1;
    *out = p;
    *p++ = '*';
    p += proto_fmt_int(p, argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        *p++ = '$';
        p += proto_fmt_int(p, (int64_t)len);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    return (int)(p - *out);
}

static int send_req(int8_t script, db_reply_cb *cb, void *ud, int argc,
                    const char **argv, const size_t *lens)
{
    struct db_req *q;

    if (L.state != LINK_READY || !L.ac)
        return -1;
    q = malloc(sizeof *q);
    if (!q)
        return -1;
    q->cb = cb;
    q->ud = ud;
    q->script = script;
    q->resent = 0;
    q->len = format_command(&q->cmd, argc, argv, lens);
    if (q->len < 0) {
        free(q);
        return -1;
    }
    if (redisAsyncFormattedCommand(L.ac, on_reply, q, q->cmd, (size_t)q->len) != REDIS_OK) {
        free(q->cmd);
        free(q);
        return -1;
    }
    inflight_push(&L, q);
    return 0;
}

int db_command(db_reply_cb *cb, void *ud, int argc, const char **argv, const size_t *lens)
{
    return send_req(-1, cb, ud, argc, argv, lens);
}

int db_eval(enum db_script script, db_reply_cb *cb, void *ud, int nkeys,
            int argc, const char **argv, const size_t *lens)
{
    const char *av[DB_EVAL_ARGS_MAX + 3];
    size_t lv[DB_EVAL_ARGS_MAX + 3];
    char nk[12];
    int i;

    if (argc > DB_EVAL_ARGS_MAX)
        return -1;
    av[0] = "EVALSHA"; lv[0] = 7;
    av[1] = sha[script]; lv[1] = 40;
    av[2] = nk; lv[2] = proto_fmt_int(nk, nkeys);
    for (i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        lv[i + 3] = lens ? lens[i] : strlen(argv[i]);
    }
    return send_req((int8_t)script, cb, ud, argc + 3, av, lv);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void script_sha(const char *src, char out[41])
{
    unsigned char d[SHA_DIGEST_LENGTH];
    int i;

    SHA1((const unsigned char *)src, strlen(src), d);
    for (i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int db_init(uv_loop_t *loop, const struct db_url *url, uint64_t connect_timeout_ms,
            uint64_t reply_timeout_ms, uint64_t backoff_max_ms, db_state_cb *on_state)
{
    timeout_ms = reply_timeout_ms;
    for (int i = 0; i < DB_LUA__COUNT; i++)
        script_sha(script_src[i], sha[i]);
    link_init(&L, loop, url, connect_timeout_ms, backoff_max_ms, on_state);
    return 0;
}

void db_start(void)
{
    link_connect(&L);
    if (P.started)
        link_connect(&P);
}

bool db_ready(void)
{
    return L.state == LINK_READY;
}

int db_subscribe(uv_loop_t *loop, const struct db_url *url, uint64_t connect_timeout_ms,
                 uint64_t backoff_max_ms, const char *const *channels, size_t n,
                 db_message_cb *on_message, db_state_cb *on_state)
{
    sub.channels = calloc(n, sizeof *sub.channels);
    if (!sub.channels)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(sub.channels[sub.n++] = strdup(channels[i])))
            return -1;
    sub.on_message = on_message;
    link_init(&P, loop, url, connect_timeout_ms, backoff_max_ms, on_state);
    return 0;
}

int db_subscribe_add(const char *channel)
{
    char **v = realloc(sub.channels, (sub.n + 1) * sizeof *v), *c;

    if (!v)
        return -1;
    sub.channels = v;
    if (!(c = strdup(channel)))
        return -1;
    sub.channels[sub.n++] = c;
    /* a link not ready subscribes to it with the others when it is */
    if (P.state == LINK_READY && P.ac)
        redisAsyncCommand(P.ac, on_handshake_reply, (void *)(intptr_t)STEP_SUBSCRIBE,
                          "SUBSCRIBE %s", c);
    return 0;
}

void db_unsubscribe(const char *channel)
{
    for (size_t i = 1; i < sub.n; i++) {
        if (strcmp(sub.channels[i], channel) != 0)
            continue;
        if (P.state == LINK_READY && P.ac)
            redisAsyncCommand(P.ac, NULL, NULL, "UNSUBSCRIBE %s", channel);
        free(sub.channels[i]);
        sub.channels[i] = sub.channels[--sub.n];
        return;
    }
}

void db_stop(void)
{
    /* what the other modules' stops queued (stats' last flush) is written
     * at the next loop turn, which never comes: write it now, or freeing
     * the links drops it */
    redis_uv_flush();
    link_stop(&L);
    link_stop(&P);
    for (size_t i = 0; i < sub.n; i++)
        free(sub.channels[i]);
    free(sub.channels);
    memset(&sub, 0, sizeof sub);
}
