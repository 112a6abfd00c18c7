/*
 * ws_client.c - a minimal RFC 6455 WebSocket client on libuv (see
 * ws_client.h for the lifecycle).
 *
 * Reading: every connection reads into one static 64 KiB buffer (the loop
 * is single-threaded and read_cb consumes it at once). Complete frames are
 * handled straight from there; the bytes of a frame that is not complete
 * yet go to c->spill, and the next read is appended to them. An idle
 * connection therefore holds no buffer at all.
 *
 * Writing: uv_try_write first, which succeeds whole almost always on
 * loopback; what the kernel does not take is copied into a write request
 * queued behind it (libuv keeps the order: try_write refuses while
 * anything is queued).
 *
 * Masks and handshake keys come from a xorshift generator: a client mask
 * only has to be unpredictable to intermediaries, and there are none here.
 *
 * API: see ws_client.h.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws_client.h"

/* ST_IDLE: no handle (never connected, or closed and reported). */
enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_SHUT };

#define HEAD_MAX 8192                /* longest upgrade answer we accept */

#ifndef IP_BIND_ADDRESS_NO_PORT      /* Linux 4.2; in <linux/in.h>, not glibc's */
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* What only the connect and the upgrade need; freed once open. */
struct ws_handshake {
    uv_connect_t req;
    const struct ws_target *target;
    char key[25];                    /* base64 of 16 random bytes */
    char accept[29];                 /* what Sec-WebSocket-Accept must say */
};

/* A write the kernel did not take at once. */
struct ws_write {
    uv_write_t req;
    size_t len;
    uint8_t data[];
};

static uint8_t read_buf[65536];
static uint64_t rng_state;
static uint64_t pings_answered;

static uint32_t rng32(void)
{
    if (!rng_state)
        rng_state = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

const char *ws_why_name(enum ws_why why)
{
    static const char *const names[] = {
#define WS_WHY_STR(name, str) str,
        WS_WHY_MAP(WS_WHY_STR)
#undef WS_WHY_STR
    };
    return why < WS__COUNT ? names[why] : "?";
}

bool ws_is_open(const struct ws_conn *c)
{
    return c->state == ST_OPEN;
}

uint64_t ws_pings_answered(void)
{
    return pings_answered;
}

/* ---- closing --------------------------------------------------------------- */

static void on_tcp_closed(uv_handle_t *hd)
{
    struct ws_conn *c = hd->data;

    free(c->hs);
    free(c->spill);
    free(c->frag);
    c->hs = NULL;
    c->spill = c->frag = NULL;
    c->spill_len = c->spill_cap = c->frag_len = 0;
    c->state = ST_IDLE;
    c->h->on_closed(c, (enum ws_why)c->why, c->code, c->err);
}

/* Ends the connection for `why` (the first reason given sticks). */
static void shut(struct ws_conn *c, enum ws_why why, int err)
{
    if (c->state == ST_IDLE || c->state == ST_SHUT)
        return;
    c->state = ST_SHUT;
    c->why = (uint8_t)why;
    c->err = err;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
}

void ws_abort(struct ws_conn *c)
{
    shut(c, WS_ABORT, 0);
}

/* ---- writing --------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    struct ws_write *w = (struct ws_write *)req;
    struct ws_conn *c = req->handle->data;

    free(w);
    if (status < 0 && status != UV_ECANCELED)
        shut(c, WS_IO, status);
}

static int write_all(struct ws_conn *c, const uint8_t *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    struct ws_write *w;

    if (r == UV_EAGAIN)
        r = 0;
    if (r < 0) {
        shut(c, WS_IO, r);
        return -1;
    }
    if ((size_t)r == n)
        return 0;
    w = malloc(sizeof *w + n - (size_t)r);
    if (!w) {
        shut(c, WS_IO, UV_ENOMEM);
        return -1;
    }
    w->len = n - (size_t)r;
    memcpy(w->data, p + r, w->len);
    b = uv_buf_init((char *)w->data, (unsigned)w->len);
    r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        free(w);
        shut(c, WS_IO, r);
        return -1;
    }
    return 0;
}

/* One masked frame; small ones are built on the stack. */
static int send_frame(struct ws_conn *c, unsigned op, const void *payload, size_t n)
{
    uint8_t stack[1024], *f = stack, *m;
    size_t hl = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
    uint32_t key = rng32();
    int rc;

    if (hl + 4 + n > sizeof stack && !(f = malloc(hl + 4 + n)))
        return -1;
    f[0] = (uint8_t)(0x80 | op);
    if (n < 126) {
        f[1] = (uint8_t)(0x80 | n);
    } else if (n <= 0xffff) {
        f[1] = 0x80 | 126;
        f[2] = (uint8_t)(n >> 8);
        f[3] = (uint8_t)n;
    } else {
        f[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    m = f + hl;
    memcpy(m, &key, 4);
    for (size_t i = 0; i < n; i++)
        m[4 + i] = ((const uint8_t *)payload)[i] ^ m[i & 3];
    rc = write_all(c, f, hl + 4 + n);
    if (f != stack)
        free(f);
    return rc;
}

int ws_send(struct ws_conn *c, unsigned opcode, const void *p, size_t n)
{
    if (c->state != ST_OPEN)
        return -1;
    return send_frame(c, opcode, p, n);
}

void ws_close(struct ws_conn *c, unsigned code)
{
    uint8_t b[2] = { (uint8_t)(code >> 8), (uint8_t)code };

    if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) {
        shut(c, WS_ABORT, 0);
        return;
    }
    if (c->state != ST_OPEN)
        return;
    c->state = ST_CLOSING;
    send_frame(c, WS_OP_CLOSE, b, 2);
}

/* ---- frames from the server ---------------------------------------------- */

/*
 * Answers the peer's close frame with the same code, best effort: the
 * peer may have closed TCP already (EPIPE), which must not turn its clean
 * close into an I/O failure. Six bytes always fit in the socket buffer
 * when it is still open.
 */
static void echo_close(struct ws_conn *c, const uint8_t *code, size_t n)
{
    uint8_t f[8] = { 0x80 | WS_OP_CLOSE, (uint8_t)(0x80 | n) };
    uint32_t key = rng32();
    uv_buf_t b;

    memcpy(f + 2, &key, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = code[i] ^ f[2 + i];
    b = uv_buf_init((char *)f, (unsigned)(6 + n));
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
}

static void deliver(struct ws_conn *c, const uint8_t *p, size_t n, unsigned op)
{
    if (c->state == ST_OPEN || c->state == ST_CLOSING)
        c->h->on_message(c, p, n, op == WS_OP_BINARY);
}

static void on_frame(struct ws_conn *c, bool fin, unsigned op, const uint8_t *p, size_t n)
{
    if (op & 0x8) {                                  /* control frame */
        if (!fin || n > 125) {
            shut(c, WS_PROTOCOL, 0);
            return;
        }
        switch (op) {
        case WS_OP_PING:
            if (c->state == ST_OPEN && send_frame(c, WS_OP_PONG, p, n) == 0)
                pings_answered++;
            return;
        case WS_OP_PONG:
            return;
        case WS_OP_CLOSE:
            c->code = n >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1005;
            if (c->state == ST_OPEN)
                echo_close(c, p, n >= 2 ? 2 : 0);
            shut(c, WS_OK, 0);
            return;
        default:
            shut(c, WS_PROTOCOL, 0);
            return;
        }
    }
    if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
        if (c->frag) {                               /* a new message mid-fragments */
            shut(c, WS_PROTOCOL, 0);
            return;
        }
        if (fin) {
            deliver(c, p, n, op);
            return;
        }
        if (!(c->frag = malloc(n ? n : 1))) {
            shut(c, WS_IO, UV_ENOMEM);
            return;
        }
        memcpy(c->frag, p, n);
        c->frag_len = (uint32_t)n;
        c->frag_op = (uint8_t)op;
        return;
    }
    if (op != WS_OP_CONT || !c->frag || c->frag_len + n > WS_MAX_MESSAGE) {
        shut(c, WS_PROTOCOL, 0);
        return;
    }
    uint8_t *g = realloc(c->frag, c->frag_len + n);
    if (!g) {
        shut(c, WS_IO, UV_ENOMEM);
        return;
    }
    memcpy(g + c->frag_len, p, n);
    c->frag = g;
    c->frag_len += (uint32_t)n;
    if (fin) {
        deliver(c, c->frag, c->frag_len, c->frag_op);
        free(c->frag);
        c->frag = NULL;
        c->frag_len = 0;
    }
}

/* Handles the complete frames in p; returns the bytes used. */
static size_t parse_frames(struct ws_conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0;

    while (n - off >= 2 && c->state != ST_SHUT) {
        const uint8_t *f = p + off;
        uint64_t len = f[1] & 0x7f;
        size_t hl = 2;

        if ((f[0] & 0x70) || (f[1] & 0x80)) {        /* RSV bits; servers never mask */
            shut(c, WS_PROTOCOL, 0);
            break;
        }
        if (len == 126) {
            if (n - off < 4)
                break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (n - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            hl = 10;
        }
        if (len > WS_MAX_MESSAGE) {
            shut(c, WS_PROTOCOL, 0);
            break;
        }
        if (n - off < hl + len)
            break;
        off += hl + (size_t)len;
        on_frame(c, (f[0] & 0x80) != 0, f[0] & 0x0f, f + hl, (size_t)len);
    }
    return off;
}

/* ---- the upgrade ---------------------------------------------------------- */

static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

/* Checks the answer to the upgrade; returns the bytes of its head, 0 when
 * it is not complete yet, or -1 after shutting the connection. */
static long parse_head(struct ws_conn *c, const uint8_t *p, size_t n)
{
    const char *s = (const char *)p, *end, *line, *eol;
    bool accepted = false;
    int status;

    end = memmem(s, n, "\r\n\r\n", 4);
    if (!end) {
        if (n > HEAD_MAX) {
            shut(c, WS_HANDSHAKE, 0);
            return -1;
        }
        return 0;
    }
    if (n < 12 || strncmp(s, "HTTP/1.1 ", 9) != 0) {
        shut(c, WS_HANDSHAKE, 0);
        return -1;
    }
    status = atoi(s + 9);
    if (status != 101) {
        c->code = (uint16_t)status;
        shut(c, WS_HANDSHAKE, 0);
        return -1;
    }
    for (line = s; line < end; line = eol + 2) {
        eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (header_is(line, (size_t)(eol - line), "Sec-WebSocket-Accept")) {
            const char *v = line + strlen("Sec-WebSocket-Accept:");
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            accepted = eol - v >= 28 && memcmp(v, c->hs->accept, 28) == 0;
        }
    }
    if (!accepted) {
        shut(c, WS_ACCEPT, 0);
        return -1;
    }
    return end + 4 - s;
}

/* Consumes what can be consumed of p; returns the bytes used. */
static size_t consume(struct ws_conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;

    if (c->state == ST_HANDSHAKE) {
        long head = parse_head(c, p, n);
        if (head <= 0)
            return head < 0 ? n : 0;
        used = (size_t)head;
        free(c->hs);
        c->hs = NULL;
        c->state = ST_OPEN;
        c->h->on_open(c);
    }
    return used + parse_frames(c, p + used, n - used);
}

/* Makes room for n bytes in the spill buffer. */
static int spill_reserve(struct ws_conn *c, size_t n)
{
    size_t cap = c->spill_cap ? c->spill_cap : 256;
    uint8_t *b;

    if (n <= c->spill_cap)
        return 0;
    while (cap < n)
        cap *= 2;
    if (!(b = realloc(c->spill, cap)))
        return -1;
    c->spill = b;
    c->spill_cap = (uint32_t)cap;
    return 0;
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *b)
{
    (void)hd;
    (void)suggested;
    *b = uv_buf_init((char *)read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct ws_conn *c = st->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = (size_t)nread, used;

    if (nread == 0 || c->state == ST_SHUT)
        return;
    if (nread < 0) {
        /* EOF after our close frame: the peer closed without answering */
        if (nread == UV_EOF)
            shut(c, c->state == ST_CLOSING ? WS_OK : WS_EOF, 0);
        else
            shut(c, WS_IO, (int)nread);
        return;
    }
    if (c->spill_len) {                              /* continue a partial frame */
        if (spill_reserve(c, c->spill_len + n) != 0) {
            shut(c, WS_IO, UV_ENOMEM);
            return;
        }
        memcpy(c->spill + c->spill_len, p, n);
        c->spill_len += (uint32_t)n;
        p = c->spill;
        n = c->spill_len;
    }
    used = consume(c, p, n);
    if (c->state == ST_SHUT)
        return;                                      /* buffers go in on_tcp_closed */
    if (used == n) {
        free(c->spill);
        c->spill = NULL;
        c->spill_len = c->spill_cap = 0;
    } else if (p == c->spill) {
        memmove(c->spill, c->spill + used, n - used);
        c->spill_len = (uint32_t)(n - used);
    } else if (spill_reserve(c, n - used) == 0) {
        memcpy(c->spill, p + used, n - used);
        c->spill_len = (uint32_t)(n - used);
    } else {
        shut(c, WS_IO, UV_ENOMEM);
    }
}

/* ---- connecting ----------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
    struct ws_conn *c = req->handle->data;
    const struct ws_target *t = c->hs->target;
    char head[512];
    int n, r;

    if (c->state == ST_SHUT)
        return;                                      /* aborted meanwhile */
    if (status < 0) {
        shut(c, WS_CONNECT, status);
        return;
    }
    c->state = ST_HANDSHAKE;
    if ((r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) != 0) {
        shut(c, WS_IO, r);
        return;
    }
    n = snprintf(head, sizeof head,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n", t->path, t->host, c->hs->key);
    write_all(c, (const uint8_t *)head, (size_t)n);
}

/* A fresh key, and the accept value that proves the server read it.
 * The digest is fetched once: EVP_sha1() makes OpenSSL 3 fetch it from its
 * providers on every EVP_Digest, a cost per connection. */
static void make_key(struct ws_handshake *hs)
{
    static EVP_MD *sha1;
    unsigned char raw[16], sha[EVP_MAX_MD_SIZE];
    char both[24 + sizeof WS_GUID];
    unsigned shalen = 0;

    for (int i = 0; i < 16; i += 4) {
        uint32_t r = rng32();
        memcpy(raw + i, &r, 4);
    }
    EVP_EncodeBlock((unsigned char *)hs->key, raw, 16);
    memcpy(both, hs->key, 24);
    memcpy(both + 24, WS_GUID, sizeof WS_GUID - 1);
    if (!sha1)
        sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    EVP_Digest(both, 24 + sizeof WS_GUID - 1, sha, &shalen, sha1 ? sha1 : EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)hs->accept, sha, (int)shalen);
}

int ws_connect(struct ws_conn *c, uv_loop_t *loop, const struct ws_target *t,
               const struct sockaddr *src, const struct ws_handler *h)
{
    struct ws_handshake *hs = calloc(1, sizeof *hs);
    int r;

    if (!hs)
        return UV_ENOMEM;
    r = uv_tcp_init_ex(loop, &c->tcp, t->addr.ss_family);
    if (r != 0) {
        free(hs);
        return r;
    }
    c->tcp.data = c;
    c->h = h;
    c->hs = hs;
    c->spill = c->frag = NULL;
    c->spill_len = c->spill_cap = c->frag_len = 0;
    c->code = 0;
    c->err = 0;
    c->state = ST_CONNECTING;
    hs->target = t;
    make_key(hs);
    uv_tcp_nodelay(&c->tcp, 1);
    if (src) {
        uv_os_fd_t fd;
        int one = 1;
        /* defer the port choice to connect(): ports then count per destination */
        if (src->sa_family == AF_INET && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if ((r = uv_tcp_bind(&c->tcp, src, 0)) != 0) {
            shut(c, WS_CONNECT, r);
            return 0;
        }
    }
    r = uv_tcp_connect(&hs->req, &c->tcp, (const struct sockaddr *)&t->addr, on_connect);
    if (r != 0)
        shut(c, WS_CONNECT, r);
    return 0;
}
