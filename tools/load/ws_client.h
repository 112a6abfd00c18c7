/*
 * ws_client.h - a minimal RFC 6455 WebSocket client on libuv, small
 * enough to hold tens of thousands of connections in one process.
 *
 * A connection is a struct ws_conn the caller embeds in its own state (no
 * allocation per connection while it idles). ws_connect opens TCP,
 * optionally from a chosen source address, sends the upgrade request and
 * checks the 101 answer and its Sec-WebSocket-Accept. Frames from the
 * server are parsed in place from one read buffer shared by all
 * connections; only an incomplete frame left at the end of a read is kept,
 * in a per-connection spill buffer that is freed once used up. Fragmented
 * messages are reassembled; pings are answered with a pong echoing the
 * payload; a close frame is answered and ends the connection.
 *
 * Lifecycle: ws_connect -> on_open -> on_message* -> on_closed, with
 * ws_close (polite: close frame, then wait for the peer's) or ws_abort
 * (drop the socket now) to end it early. on_closed runs exactly once for
 * every ws_connect that returned 0, after the handle is closed, so the
 * struct may then be reused or freed.
 *
 * API: ws_connect, ws_send, ws_close, ws_abort, ws_is_open, ws_why_name,
 *      ws_pings_answered.
 */
#ifndef CHATGW_LOAD_WS_CLIENT_H
#define CHATGW_LOAD_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#define WS_OP_CONT   0x0
#define WS_OP_TEXT   0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE  0x8
#define WS_OP_PING   0x9
#define WS_OP_PONG   0xa

/* A received message larger than this is a protocol error. */
#define WS_MAX_MESSAGE (1u << 20)

/* How a connection ended (on_closed). */
#define WS_WHY_MAP(X)                                                          \
    X(OK, "ok")                 /* close frames exchanged */                   \
    X(CONNECT, "connect")       /* TCP connect (or bind) failed */             \
    X(HANDSHAKE, "handshake")   /* answer to the upgrade was not 101 */        \
    X(ACCEPT, "accept")         /* 101 with a wrong Sec-WebSocket-Accept */    \
    X(PROTOCOL, "protocol")     /* malformed frame from the server */          \
    X(EOF, "eof")               /* TCP closed without a close frame */         \
    X(IO, "io")                 /* read or write error */                      \
    X(ABORT, "abort")           /* ws_abort by the caller */

enum ws_why {
#define WS_WHY_ENUM(name, str) WS_##name,
    WS_WHY_MAP(WS_WHY_ENUM)
#undef WS_WHY_ENUM
    WS__COUNT
};

/* Where to connect: the address, and the Host header and path to send. */
struct ws_target {
    struct sockaddr_storage addr;
    char host[80];                 /* "127.0.0.1:8080" */
    char path[128];                /* "/v1/buyer" */
};

struct ws_conn;

struct ws_handler {
    void (*on_open)(struct ws_conn *c);
    void (*on_message)(struct ws_conn *c, const uint8_t *p, size_t n, bool binary);
    /* The handle is closed. code: the peer's close code (1005 when its
     * close frame had none), the HTTP status when the upgrade was
     * refused, else 0. err: the libuv error behind CONNECT or IO, else 0. */
    void (*on_closed)(struct ws_conn *c, enum ws_why why, unsigned code, int err);
};

struct ws_handshake;

struct ws_conn {
    uv_tcp_t tcp;
    const struct ws_handler *h;
    struct ws_handshake *hs;       /* only while connecting */
    uint8_t *spill;                /* unparsed bytes kept between reads */
    uint8_t *frag;                 /* a fragmented message being gathered */
    uint32_t spill_len, spill_cap, frag_len;
    uint16_t code;                 /* see on_closed */
    uint8_t state, frag_op, why;
    int err;
};

/*
 * Starts connecting c to t, from src when not NULL (port 0: the port is
 * picked at connect time, so each source address has its own ~28k ports
 * per destination). Returns 0 when on_closed will follow, or a libuv
 * error when nothing was started (no handle: e.g. out of descriptors).
 */
int ws_connect(struct ws_conn *c, uv_loop_t *loop, const struct ws_target *t,
               const struct sockaddr *src, const struct ws_handler *h);
/* Sends one frame (masked, as a client must). 0, or -1 when not open. */
int ws_send(struct ws_conn *c, unsigned opcode, const void *p, size_t n);
/* Sends a close frame with code and waits for the peer's; before the
 * connection is open, the same as ws_abort. */
void ws_close(struct ws_conn *c, unsigned code);
/* Drops the connection now, without a close frame. */
void ws_abort(struct ws_conn *c);
bool ws_is_open(const struct ws_conn *c);
/* Pings answered so far by every connection of this process. */
uint64_t ws_pings_answered(void);
const char *ws_why_name(enum ws_why why);

#endif
