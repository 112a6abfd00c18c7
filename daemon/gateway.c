/*
 * gateway.c - the daemon's lifecycle: start, reload, stop.
 *
 * Start: configuration (file, then command-line overrides), the embedded
 * redis-server when no Redis URL is set, the Redis link, the listener, the
 * signal handlers. The listener serves at once (greetings never wait on
 * Redis); /healthz and systemd's READY=1 wait until Redis is ready too.
 *
 * Reload (SIGHUP): the file is read again into a new config; if it is bad
 * the problems are logged and the old one stays. Options that only apply
 * at start (listen, metrics_listen, redis, state_dir, reuseport, tls) are
 * reported when changed and take effect at the next restart. Plugins are
 * cleaned up and loaded again with their new options; sessions stay.
 *
 * Stop (SIGTERM/SIGINT): every session is closed with 1001, and once they
 * are gone (or shutdown_timeout passed) the listener, the Redis link and
 * the embedded redis-server are closed and the loop runs until it drains.
 *
 * API: gateway_run.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "chat.h"
#include "floor.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
#include "redis_child.h"
#include "redis_uv.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "web.h"
#include "session_agent.h"
#include "session_buyer.h"
#include "session_supervisor.h"

static struct {
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t drain;
    uv_prepare_t before_poll;      /* writes what this turn queued */
    uint64_t drain_deadline;
    struct db_url url;
    bool notified_ready, embedded;
    bool fatal;                    /* stopping on an error: exit status 1 */
} G;

/* systemd's notify protocol: one datagram to $NOTIFY_SOCKET, if any. */
static void sd_notify_msg(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n;
    int fd;

    if (!path || (path[0] != '/' && path[0] != '@') || (n = strlen(path)) >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
    close(fd);
}

static void db_usable(bool ready)
{
    metrics.redis_up = ready;
    server_set_ready(ready);
    router_on_db_state(ready);
    if (ready) {
        metrics.redis_reconnects++;
        if (!G.notified_ready) {
            G.notified_ready = true;
            log_info("ready", "listen=%s node=%s buyers=%s://%s/v1/buyer", gw.cfg->listen,
                     gw.node_id, gw.cfg->tls_cert && gw.cfg->tls_cert[0] ? "wss" : "ws",
                     gw.cfg->listen);
            sd_notify_msg("READY=1\nSTATUS=serving");
        } else {
            sd_notify_msg("STATUS=serving");
        }
    } else {
        sd_notify_msg("STATUS=redis unavailable; greeting only");
    }
}

static void on_stop_signal(uv_signal_t *h, int sig);
static void on_schema(void *ud, redisReply *r);

/* Stops the daemon because it must not serve this Redis. */
static void stop_fatal(void)
{
    G.fatal = true;
    on_stop_signal(NULL, 0);
}

/* One step of the migration done: the next, or serve. */
static void on_migrated(void *ud, redisReply *r)
{
    int from = (int)(intptr_t)ud;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        log_error("schema_upgrade_failed", "from=%d error=%s", from,
                  r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
        return;                         /* the next connect tries again */
    }
    if (strcmp(r->element[0]->str, "0") != 0) {
        if (store_schema_migrate(from, r->element[0]->str, on_migrated, ud) != 0)
            log_error("schema_upgrade_failed", "from=%d error=redis_unavailable", from);
        return;
    }
    log_info("schema_upgraded", "from=%d to=%d", from, from + 1);
    if (store_schema_check(on_schema, NULL) != 0)
        log_error("schema_check_failed", "error=redis_unavailable");
}

/*
 * The data's layout, checked each time the link comes up, before this node
 * serves: a newer one (a newer chatgwd wrote it) stops the daemon, an older
 * one is brought up to date a step at a time, then the node serves.
 */
static void on_schema(void *ud, redisReply *r)
{
    (void)ud;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        log_error("schema_check_failed", "error=%s",
                  r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
        return;                         /* the next connect tries again */
    }
    if (r->integer > STORE_SCHEMA) {
        log_error("schema_newer", "found=%lld supported=%d action=stop reason=\"this Redis holds "
                  "data of a newer chatgwd; run that version, or a Redis of its own\"",
                  (long long)r->integer, STORE_SCHEMA);
        stop_fatal();
        return;
    }
    if (r->integer < STORE_SCHEMA) {
        log_info("schema_upgrading", "from=%lld to=%d", (long long)r->integer, STORE_SCHEMA);
        if (store_schema_migrate((int)r->integer, "0", on_migrated,
                                 (void *)(intptr_t)r->integer) != 0)
            log_error("schema_upgrade_failed", "error=redis_unavailable");
        return;
    }
    db_usable(true);
}

static void on_db_state(bool ready)
{
    if (!ready) {
        db_usable(false);
        return;
    }
    if (store_schema_check(on_schema, NULL) != 0)
        log_error("schema_check_failed", "error=redis_unavailable");
}

/* ---- configuration -------------------------------------------------------- */

static void override(char **field, const char *value)
{
    char *v;

    if (!value || !(v = strdup(value)))
        return;
    free(*field);
    *field = v;
}

static struct config *load_config(const struct cli_opts *cli, FILE *errs)
{
    struct config *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    config_defaults(c);
    if (cli->config_path && config_load(c, cli->config_path, errs) != 0) {
        config_free(c);
        free(c);
        return NULL;
    }
    if (c->test_clock_offset_ms && !cli->test_clock) {
        fprintf(errs, "%s: test_clock_offset: refused: chatgwd was not started with --test-clock "
                "(the option is for tests only)\n", cli->config_path);
        config_free(c);
        free(c);
        return NULL;
    }
    override(&c->listen, cli->listen);
    override(&c->redis, cli->redis);
    override(&c->state_dir, cli->state_dir);
    if (cli->reuseport)
        c->reuseport = true;
    if (cli->verbosity > 0)
        c->log_level = LOG_DEBUG;
    else if (cli->verbosity < 0)
        c->log_level = LOG_WARN;
    return c;
}

/* The test clock: the offset in force, logged loudly whenever it is set. */
static void clock_offset_apply(const struct config *c)
{
    if (c->test_clock_offset_ms == gw.clock_offset_ms)
        return;
    gw.clock_offset_ms = c->test_clock_offset_ms;
    log_warn("test_clock", "offset_ms=%llu now_ms=%llu note=\"FOR TESTS ONLY: the wall clock is "
             "moved\"", (unsigned long long)gw.clock_offset_ms, (unsigned long long)gw_wall_ms());
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void on_sighup(uv_signal_t *h, int sig)
{
    struct config *c, *old = gw.cfg;

    (void)h; (void)sig;
    if (!gw.cli->config_path) {
        log_warn("reload_skipped", "reason=\"no config file\"");
        return;
    }
    c = load_config(gw.cli, stderr);
    if (!c) {
        log_error("reload_failed", "file=%s action=\"kept the running config\"",
                  gw.cli->config_path);
        return;
    }
    if (!same(c->listen, old->listen) || !same(c->redis, old->redis) ||
        !same(c->state_dir, old->state_dir) || c->reuseport != old->reuseport ||
        !same(c->tls_cert, old->tls_cert) || !same(c->tls_key, old->tls_key) ||
        !same(c->metrics_listen, old->metrics_listen))
        log_warn("reload_partial", "reason=\"listen, metrics_listen, redis, state_dir, "
                 "reuseport and tls apply at the next restart\"");
    gw.cfg = c;
    if (sessions_reconfigure() != 0) {
        gw.cfg = old;
        config_free(c);
        free(c);
        log_error("reload_failed", "reason=\"out of memory\"");
        return;
    }
    log_set_level(c->log_level);
    clock_offset_apply(c);
    server_tune();
    web_reload();
    plugin_reload();                    /* cleaned up, loaded with the new options */
    config_free(old);
    free(old);
    log_info("reloaded", "file=%s stores=%zu", gw.cli->config_path, c->nstores);
    router_on_reload();
}

/*
 * Once per loop turn, just before the loop waits for events: write what
 * the turn queued, Redis commands first (their replies take longest), then
 * each session's frames, each connection with one write, then the log.
 */
static void on_before_poll(uv_prepare_t *h)
{
    (void)h;
    redis_uv_flush();
    sessions_flush();
    log_flush();
}

/* ---- stopping ------------------------------------------------------------- */

static void close_everything(void)
{
    uv_timer_stop(&G.drain);
    uv_close((uv_handle_t *)&G.drain, NULL);
    plugin_stop();
    sessions_shutdown();
    server_stop();
    stats_stop();                      /* its last flush, while Redis is up */
    floor_stop();
    web_stop();
    router_stop();
    db_stop();
    redis_child_stop();
    metrics_close();
    /* last: until Redis has stopped, a second Ctrl-C must not kill us */
    uv_close((uv_handle_t *)&G.sigterm, NULL);
    uv_close((uv_handle_t *)&G.sigint, NULL);
    uv_close((uv_handle_t *)&G.sighup, NULL);
    uv_close((uv_handle_t *)&G.before_poll, NULL);
}

static void on_drain(uv_timer_t *t)
{
    unsigned left = sessions_count();

    (void)t;
    if (left > 0 && gw_now_ms() < G.drain_deadline)
        return;
    if (left)
        log_warn("shutdown_forced", "sessions=%u", left);
    close_everything();
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
    unsigned n;

    (void)h;
    if (gw.shutting_down)
        return;
    gw.shutting_down = true;
    sd_notify_msg("STOPPING=1");
    server_stop_accepting();
    n = sessions_close_all();
    log_info("shutdown", "signal=%d sessions=%u", sig, n);
    G.drain_deadline = gw_now_ms() + gw.cfg->shutdown_timeout_ms;
    uv_timer_start(&G.drain, on_drain, 0, 20);
}

/* ---- starting ------------------------------------------------------------- */

static int make_dir(const char *path)
{
    char tmp[1024];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Connects once the embedded Redis is ours (not a previous daemon's). */
static void on_redis_child_up(void)
{
    db_start();
}

static int start_redis_link(void)
{
    char err[128], sock[1100], url[1200], shown[1300];
    const struct config *c = gw.cfg;
    int child = 0;

    if (!c->redis || !c->redis[0]) {
        if (make_dir(c->state_dir) != 0) {
            log_error("state_dir_failed", "dir=%s error=%s", c->state_dir, strerror(errno));
            return -1;
        }
        child = redis_child_start(c->redis_server, c->state_dir, c->redis_backoff_max_ms,
                                  sock, sizeof sock, on_redis_child_up);
        if (child < 0)
            return -1;
        G.embedded = true;
        snprintf(url, sizeof url, "unix://%s", sock);
    } else {
        snprintf(url, sizeof url, "%s", c->redis);
    }
    if (db_url_parse(&G.url, url, err, sizeof err) != 0) {
        log_error("bad_redis_url", "reason=\"%s\"", err);
        return -1;
    }
    db_redacted_url(&G.url, shown, sizeof shown);
    log_info("redis", "url=%s embedded=%s", shown, G.embedded ? "yes" : "no");
    db_init(gw.loop, &G.url, c->redis_connect_timeout_ms, c->redis_timeout_ms,
            c->redis_backoff_max_ms, on_db_state);
    if (router_init(&G.url) != 0)
        return -1;
    stats_init();
    if (child == 0)
        db_start();
    return 0;
}

/* The roles this daemon serves: the one list of them. */
static const struct role *const roles[] = { &buyer_role, &agent_role, &supervisor_role };
#define NROLES (sizeof roles / sizeof roles[0])

static int roles_start(void)
{
    for (size_t i = 0; i < NROLES; i++)
        if (session_role_add(roles[i]) != 0 || (roles[i]->start && roles[i]->start() != 0))
            return -1;
    return 0;
}

static void roles_stop(void)
{
    for (size_t i = 0; i < NROLES; i++)
        if (roles[i]->stop)
            roles[i]->stop();
}

int gateway_run(const struct cli_opts *cli)
{
    uv_loop_t loop;
    int rc = 1;

    memset(&gw, 0, sizeof gw);
    memset(&G, 0, sizeof G);
    gw.cli = cli;
    gw.cfg = load_config(cli, stderr);
    if (!gw.cfg)
        return 1;
    log_set_level(gw.cfg->log_level);
    clock_offset_apply(gw.cfg);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    gw.loop = &loop;
    if (gw.cfg->node_id && gw.cfg->node_id[0]) {
        snprintf(gw.node_id, sizeof gw.node_id, "%s", gw.cfg->node_id);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        const char *port = strrchr(gw.cfg->listen, ':');
        /* processes sharing a port with SO_REUSEPORT need the pid to differ */
        if (gw.cfg->reuseport)
            snprintf(gw.node_id, sizeof gw.node_id, "%s:%s:%d", host, port ? port + 1 : "0",
                     (int)getpid());
        else
            snprintf(gw.node_id, sizeof gw.node_id, "%s:%s", host, port ? port + 1 : "0");
    }
    log_info("starting", "version=%s node=%s stores=%zu", CHATGW_VERSION, gw.node_id,
             gw.cfg->nstores);

    uv_signal_init(&loop, &G.sigterm);
    uv_signal_init(&loop, &G.sigint);
    uv_signal_init(&loop, &G.sighup);
    uv_timer_init(&loop, &G.drain);
    uv_prepare_init(&loop, &G.before_poll);
    uv_prepare_start(&G.before_poll, on_before_poll);
    uv_unref((uv_handle_t *)&G.before_poll);     /* it alone keeps nothing running */
    uv_signal_start(&G.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&G.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&G.sighup, on_sighup, SIGHUP);

    plugin_on_queues(router_assign_groups);
    metrics_more(plugin_metrics_text);     /* metrics names no module above it */
    if (chat_init() != 0 || roles_start() != 0 || sessions_init() != 0 || web_start() != 0 ||
        server_start() != 0 || start_redis_link() != 0 || floor_start() != 0 ||
        plugin_start() != 0) {
        close_everything();
        uv_run(&loop, UV_RUN_DEFAULT);
        goto out;
    }
    sessions_tick_start();
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = G.fatal ? 1 : 0;
    log_info("stopped", "node=%s", gw.node_id);
out:
    roles_stop();
    chat_shutdown();
    if (uv_loop_close(&loop) == UV_EBUSY)
        log_warn("loop_not_drained", "handles=still_open");
    db_url_free(&G.url);
    config_free(gw.cfg);
    free(gw.cfg);
    return rc;
}
