/*
 * server.c - the listening addresses: libwebsockets on our libuv loop.
 *
 * One lws protocol serves everything on the port: WebSocket upgrades on a
 * role's path (/v1/buyer, ...) become sessions (session.c); plain HTTP gets
 * /healthz (200 when Redis is ready, else 503), /metrics (Prometheus text)
 * and the static pages of web_root, from memory (web.c); anything else is
 * 404. Upgrades
 * on other paths are refused during the handshake. With metrics_listen
 * set, a second address serves /healthz and /metrics, and the main one
 * answers 404 for /metrics.
 *
 * HTTP/1.1 only: lws 4.1 offers HTTP/2 (the h2c upgrade, ALPN h2) but
 * refuses WebSocket over it, so a client that took the offer could not
 * open a session. We advertise only http/1.1 in ALPN and ignore h2c
 * upgrade requests (RFC 9110 7.8 lets a server ignore Upgrade).
 *
 * Desk roles (agent, supervisor) are refused (403) at the upgrade when a
 * browser opens them from a page that is neither the gateway's own origin
 * nor in allowed_origins: any other page the agent visits could otherwise
 * log in with the desk's token or lock the desk's address out by failing
 * logins. Refused before the session exists, so no login is counted.
 *
 * API: server_start, server_stop, server_stop_accepting, server_tune,
 *      server_set_ready.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>
#include <libwebsockets.h>

#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "session.h"
#include "web.h"

/* lws's per-connection user data, HTTP and WebSocket alike */
struct conn {
    struct session *s;
    const struct role *role;
    unsigned char *body;           /* HTTP response body, LWS_PRE in front */
    size_t body_len;
};

static struct lws_context *ctx;
static struct lws_vhost *vhost;
static bool ready;

/*
 * We own the listening socket and hand each accepted connection to lws:
 * lws 4.1 does not set SO_REUSEPORT for us across processes, and owning
 * it lets a stopping daemon close it first so the kernel sends new
 * connections to the processes that stay.
 */
struct listener {
    int fd;
    uv_poll_t poll;
    uv_timer_t pause;               /* out of files: accept again later */
    bool polling;
};

enum { LISTEN_MAIN, LISTEN_METRICS, LISTEN__COUNT };
static struct listener L[LISTEN__COUNT] = { { .fd = -1 }, { .fd = -1 } };

/* what a connection accepted on metrics_listen carries as opaque user data */
static char metrics_port_mark;

#define ACCEPT_PAUSE_MS 100

void server_set_ready(bool r)
{
    ready = r;
}

static const struct role *role_of(struct lws *wsi)
{
    char uri[128];

    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return NULL;
    return session_role_for_path(uri);
}

static int http_reply(struct lws *wsi, struct conn *c, unsigned status,
                      const char *type, const char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
                  *end = hdr + sizeof hdr - 1;

    c->body = malloc(LWS_PRE + len + 1);
    if (!c->body)
        return -1;
    memcpy(c->body + LWS_PRE, body, len);
    c->body_len = len;
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static bool on_metrics_port(struct lws *wsi)
{
    return lws_get_opaque_user_data(wsi) == &metrics_port_mark;
}

static int on_healthz(struct lws *wsi, struct conn *c)
{
    bool ok = ready && !gw.shutting_down;

    return ok ? http_reply(wsi, c, HTTP_STATUS_OK, "text/plain", "ok\n", 3)
              : http_reply(wsi, c, HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain",
                           "unavailable\n", 12);
}

static int on_metrics(struct lws *wsi, struct conn *c)
{
    size_t len;
    char *text = metrics_render(&len);
    int rc;

    if (!text)
        return -1;
    rc = http_reply(wsi, c, HTTP_STATUS_OK, "text/plain; version=0.0.4", text, len);
    free(text);
    return rc;
}

/*
 * A static page from memory (web.c). ETag with If-None-Match (304) and
 * Cache-Control no-cache: a browser asks again each time and mostly gets
 * a 304, so a page changed by a reload is seen at once. Any origin may
 * load the files (Access-Control-Allow-Origin *): a store's page imports
 * widget.js and its modules across origins. The CSP and the other
 * security headers come from lws (HTTP_HEADERS_SECURITY_BEST_PRACTICES).
 */
static int on_web(struct lws *wsi, struct conn *c, const char *path)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                  *end = hdr + sizeof hdr - 1;
    char inm[256], loc[300];
    bool redirect;
    const struct web_file *f = web_find(path, &redirect);
    int n;

    if (!f && redirect && strlen(path) + 2 < sizeof loc) {
        n = snprintf(loc, sizeof loc, "%s/", path);
        if (lws_add_http_header_status(wsi, HTTP_STATUS_MOVED_PERMANENTLY, &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION, (unsigned char *)loc, n,
                                         &p, end) ||
            lws_add_http_header_content_length(wsi, 0, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    if (!f)
        return http_reply(wsi, c, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10);
    if (lws_hdr_copy(wsi, inm, sizeof inm, WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0 &&
        web_etag_matches(inm, f->etag)) {
        if (lws_add_http_header_status(wsi, HTTP_STATUS_NOT_MODIFIED, &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG, (unsigned char *)f->etag,
                                         (int)strlen(f->etag), &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)"no-cache", 8, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    if (!(c->body = malloc(LWS_PRE + f->len + 1)))
        return -1;
    memcpy(c->body + LWS_PRE, f->data, f->len);
    c->body_len = f->len;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, f->type, f->len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG, (unsigned char *)f->etag,
                                     (int)strlen(f->etag), &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-cache", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
                                    (const unsigned char *)"*", 1, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Plain HTTP paths, and on which port: the main one, metrics_listen's, or
 * "metrics": metrics_listen's when set, else the main one. */
enum { ON_MAIN = 1, ON_METRICS_PORT = 2, ON_METRICS = 4 };

static const struct route {
    const char *path;
    int (*fn)(struct lws *wsi, struct conn *c);
    unsigned where;
} routes[] = {
    { "/healthz", on_healthz, ON_MAIN | ON_METRICS_PORT },
    { "/metrics", on_metrics, ON_METRICS },
};

static int on_http(struct lws *wsi, struct conn *c, const char *path)
{
    bool apart = L[LISTEN_METRICS].fd >= 0;
    unsigned here = on_metrics_port(wsi) ? ON_METRICS_PORT | ON_METRICS
                                         : apart ? ON_MAIN : ON_MAIN | ON_METRICS;

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(path, routes[i].path) == 0 && (routes[i].where & here))
            return routes[i].fn(wsi, c);
    if (!on_metrics_port(wsi))
        return on_web(wsi, c, path);
    return http_reply(wsi, c, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10);
}

/*
 * May this upgrade open a desk? Yes without an Origin header (not a
 * browser: a desk app, a script), from the gateway's own origin (the
 * request's Host with this listener's scheme) or from allowed_origins.
 */
static bool origin_allowed(struct lws *wsi, char *origin, size_t cap)
{
    const struct config *cfg = gw.cfg;
    char host[256], own[300];
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

    origin[0] = '\0';
    if (n <= 0)
        return true;
    if ((size_t)n >= cap || lws_hdr_copy(wsi, origin, (int)cap, WSI_TOKEN_ORIGIN) <= 0)
        return false;
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0) {
        snprintf(own, sizeof own, "%s://%s", lws_is_ssl(wsi) ? "https" : "http", host);
        if (config_origin_equal(origin, own))
            return true;
    }
    for (int i = 0; i < cfg->nallowed_origins; i++)
        if (config_origin_equal(origin, cfg->allowed_origins[i]))
            return true;
    return false;
}

/*
 * Refuses an upgrade with a short HTTP/1.1 answer. lws_return_http_status
 * would say HTTP/1.0 here (lws learns the request's version only after the
 * upgrade step), which WebSocket clients reject as no valid answer at all.
 * Returns what the upgrade callback returns: >0, answered.
 */
static int refuse_upgrade(struct lws *wsi, unsigned status, const char *text)
{
    unsigned char buf[LWS_PRE + 256];
    int n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE,
                     "HTTP/1.1 %u %s\r\ncontent-type: text/plain\r\ncontent-length: %zu\r\n"
                     "cache-control: no-store\r\n\r\n%s\n", status, text, strlen(text) + 1, text);

    return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS) < n ? -1 : 1;
}

/*
 * An HTTP upgrade, before lws acts on it: `in` names the protocol. Returns
 * 0 to go on, >0 when we answered (lws completes the transaction), <0 to
 * hang up.
 */
static int on_upgrade(struct lws *wsi, char *proto)
{
    const struct role *role;
    char origin[256], q[300], ip[64] = "";

    if (strcasecmp(proto, "h2c") == 0) {
        /*
         * Ignore it and answer in HTTP/1.1. lws 4.1 has no switch for
         * this: it tests `proto` (its own header buffer) again right after
         * we return, and serves plain HTTP when it is neither websocket
         * nor h2c. test_wire.py checks the answer stays HTTP/1.1.
         */
        proto[0] = '\0';
        return 0;
    }
    if (strcasecmp(proto, "websocket") != 0)
        return -1;                  /* lws already answered 403 */
    if (on_metrics_port(wsi))
        return refuse_upgrade(wsi, HTTP_STATUS_NOT_FOUND, "Not Found");
    role = role_of(wsi);
    if (!role || role->kind == ROLE_BUYER || origin_allowed(wsi, origin, sizeof origin))
        return 0;
    metrics.origin_refused++;
    lws_get_peer_simple(wsi, ip, sizeof ip);
    log_info("upgrade_refused", "role=%s reason=origin origin=%s ip=%s", role->name,
             log_quote(q, sizeof q, origin), ip);
    return refuse_upgrade(wsi, HTTP_STATUS_FORBIDDEN, "Forbidden");
}

static int on_http_writeable(struct lws *wsi, struct conn *c)
{
    if (!c->body)
        return 0;
    if (lws_write(wsi, c->body + LWS_PRE, c->body_len, LWS_WRITE_HTTP_FINAL) < (int)c->body_len)
        return -1;
    free(c->body);
    c->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_lws_event(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                        void *in, size_t len)
{
    struct conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_upgrade(wsi, in);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return role_of(wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
        c->role = role_of(wsi);
        return c->role ? sessions_establish(wsi, &c->s, c->role) : -1;
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return c ? sessions_ws_event(wsi, (int)reason, &c->s, in, len) : 0;
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, c, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_http_writeable(wsi, c);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) {
            free(c->body);
            c->body = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    /* rx buffer: 256 bytes per connection; larger frames arrive in pieces
     * and are assembled by the session (1024 cost 0.75 KiB more per idle
     * session, measured at 10,000 sessions). tx_packet_size: lws sends at
     * most this much per write (0 would mean the rx buffer's 256 bytes,
     * the rest held back for another WRITEABLE); the session gathers up to
     * 64 KiB per write (session.c) */
    { "chatgw", on_lws_event, sizeof(struct conn), 256, 0, NULL, 64 * 1024 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Splits "host:port" / "[v6]:port" into iface and port. */
static int split_listen(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(listen, ':');
    size_t n;

    if (!colon)
        return -1;
    n = (size_t)(colon - listen);
    if (listen[0] == '[' && n >= 2 && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(host, listen, n);
    host[n] = '\0';
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* libwebsockets' own messages, as our key=value lines */
static void on_lws_log(int level, const char *line)
{
    char msg[256], q[300];
    size_t n = strlen(line);

    if (n >= sizeof msg)
        n = sizeof msg - 1;
    memcpy(msg, line, n);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    msg[n] = '\0';
    if (level & LLL_ERR)
        log_error("lws", "msg=%s", log_quote(q, sizeof q, msg));
    else if (level & LLL_WARN)
        log_warn("lws", "msg=%s", log_quote(q, sizeof q, msg));
    else
        log_debug("lws", "msg=%s", log_quote(q, sizeof q, msg));
}

static void on_acceptable(uv_poll_t *h, int status, int events);

static void on_accept_resume(uv_timer_t *t)
{
    struct listener *l = t->data;

    if (l->polling)
        uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
}

static void on_acceptable(uv_poll_t *h, int status, int events)
{
    struct listener *l = h->data;
    struct lws *wsi;

    (void)events;
    if (status < 0)
        return;
    /* a bounded batch per wakeup keeps one busy port from starving the loop */
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /*
                 * The connection stays in the backlog and the socket stays
                 * readable: retrying at once would spin. Stop listening for
                 * a moment (as nginx does) and say so once per pause.
                 */
                metrics.accept_errors++;
                log_warn("accept_paused", "error=\"%s\" pause_ms=%d sessions=%u", strerror(errno),
                         ACCEPT_PAUSE_MS, sessions_count());
                uv_poll_stop(&l->poll);
                uv_timer_start(&l->pause, on_accept_resume, ACCEPT_PAUSE_MS, 0);
            }
            return;
        }
        /* TCP_NODELAY and SO_SNDBUF come from the listener (server_tune) */
        wsi = lws_adopt_socket_vhost(vhost, fd);
        if (!wsi) {
            metrics.accept_errors++;
            close(fd);
        } else if (l == &L[LISTEN_METRICS]) {
            lws_set_opaque_user_data(wsi, &metrics_port_mark);
        }
    }
}

/*
 * Options every accepted socket inherits from the listener on Linux, set
 * once here instead of twice per connection:
 * - TCP_NODELAY: replies often go out back to back (greeting, ack, queue);
 *   without it the second waits for the client's delayed ACK;
 * - SO_SNDBUF = outbound_max_bytes: otherwise autotuning lets a reader
 *   that never reads park megabytes in the kernel, out of our count.
 */
void server_tune(void)
{
    int one = 1, sndbuf = (int)gw.cfg->outbound_max_bytes, fd = L[LISTEN_MAIN].fd;

    if (fd < 0)
        return;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
        log_warn("listen_tune_failed", "error=\"%s\"", strerror(errno));
}

static int open_listener(struct listener *l, const char *host, int port, bool reuseport)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char sport[8];
    int one = 1, fd = -1, rc;

    snprintf(sport, sizeof sport, "%d", port);
    /* start-up only: a blocking name lookup here never delays a session */
    rc = getaddrinfo(host, sport, &hints, &res);
    if (rc != 0) {
        log_error("listen_failed", "listen=%s:%d error=\"%s\"", host, port, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        log_error("listen_failed", "listen=%s:%d error=\"%s\"%s", host, port, strerror(errno),
                  errno == EADDRINUSE ? " hint=\"another process has the port; "
                                        "set reuseport yes on all of them to share it\"" : "");
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    l->fd = fd;
    uv_timer_init(gw.loop, &l->pause);
    uv_poll_init(gw.loop, &l->poll, fd);
    l->pause.data = l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_acceptable);
    l->polling = true;
    return 0;
}

void server_stop_accepting(void)
{
    for (struct listener *l = L; l < L + LISTEN__COUNT; l++) {
        if (l->polling) {
            uv_poll_stop(&l->poll);
            uv_close((uv_handle_t *)&l->poll, NULL);
            uv_timer_stop(&l->pause);
            uv_close((uv_handle_t *)&l->pause, NULL);
            l->polling = false;
        }
        if (l->fd >= 0) {
            close(l->fd);
            l->fd = -1;
        }
    }
}

int server_start(void)
{
    static char host[256], mhost[256];
    const struct config *cfg = gw.cfg;
    struct lws_context_creation_info info;
    void *loops[1] = { gw.loop };
    bool apart = cfg->metrics_listen && cfg->metrics_listen[0];
    int port, mport = 0;

    if (split_listen(cfg->listen, host, sizeof host, &port) != 0) {
        log_error("bad_listen", "listen=%s", cfg->listen);
        return -1;
    }
    if (apart && split_listen(cfg->metrics_listen, mhost, sizeof mhost, &mport) != 0) {
        log_error("bad_listen", "metrics_listen=%s", cfg->metrics_listen);
        return -1;
    }
    lws_set_log_level(log_enabled(LOG_DEBUG) ? (LLL_ERR | LLL_WARN | LLL_NOTICE)
                                             : (LLL_ERR | LLL_WARN), on_lws_log);
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;  /* connections come from our listener */
    /*
     * No lws validity timers: we ping and time out idle sessions in our own
     * sweep. lws re-arms its per-connection timer on every frame by inserting
     * into one sorted list, which costs O(sessions) per frame.
     */
    static const lws_retry_bo_t no_validity = { .secs_since_valid_ping = 0,
                                                .secs_since_valid_hangup = 0 };
    info.retry_and_idle_policy = &no_validity;
    info.protocols = protocols;
    info.vhost_name = "chatgw";
    info.server_string = "chatgw";
    info.timeout_secs = 10;                    /* handshakes and HTTP */
    info.alpn = "http/1.1";                    /* not h2: see the top of this file */
    if (cfg->tls_cert && cfg->tls_key && cfg->tls_cert[0] && cfg->tls_key[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    ctx = lws_create_context(&info);
    if (ctx && !(vhost = lws_create_vhost(ctx, &info))) {
        lws_context_destroy(ctx);
        ctx = NULL;
    }
    if (!ctx) {
        log_error("lws_init_failed", "hint=\"is the libwebsockets evlib_uv plugin "
                  "(libwebsockets-evlib-uv) installed?\"");
        return -1;
    }
    /* metrics_listen never shares its port: a scrape must reach this process */
    if (open_listener(&L[LISTEN_MAIN], host, port, cfg->reuseport) != 0 ||
        (apart && open_listener(&L[LISTEN_METRICS], mhost, mport, false) != 0)) {
        server_stop_accepting();
        lws_context_destroy(ctx);
        ctx = NULL;
        return -1;
    }
    server_tune();
    log_info("listening", "addr=%s tls=%s reuseport=%s metrics=%s", cfg->listen,
             info.ssl_cert_filepath ? "yes" : "no", cfg->reuseport ? "yes" : "no",
             apart ? cfg->metrics_listen : cfg->listen);
    return 0;
}

void server_stop(void)
{
    server_stop_accepting();
    if (ctx) {
        lws_context_destroy(ctx);
        ctx = NULL;
    }
}
