/*
 * client.c - the parts of a chatgw-load client that buyers and agents
 * share (see client.h): the ramp, the connection from a chosen source
 * address, frame dispatch by table, and the accounting of a connection's
 * end.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "client.h"

static struct client *client_at(const struct client_set *s, uint32_t i)
{
    return (struct client *)((char *)s->clients + (size_t)i * s->size);
}

/* Whether client g of a ramp that started at t0 is due at now. */
static bool ramp_due(const struct client_set *s, uint32_t g, uint64_t now)
{
    if (s->rate > 0)
        return s->t0 + (uint64_t)((double)g * 1e9 / s->rate) <= now;
    return s->connecting < CLIENT_MAX_CONNECTING;
}

static void on_ramp(uv_timer_t *t)
{
    struct client_set *s = t->data;
    uint64_t now = now_ns();

    while (s->next_start < s->n && !s->stopping) {
        struct client *c = client_at(s, s->next_start);
        if (!ramp_due(s, c->g, now))
            break;
        s->next_start++;
        s->start(c);
    }
    if (s->next_start >= s->n || s->stopping)
        uv_timer_stop(t);
}

void client_set_init(struct client_set *s)
{
    uv_timer_init(s->loop, &s->ramp);
    s->ramp.data = s;
}

void client_ramp_start(struct client_set *s, uint64_t t0)
{
    uint64_t now = now_ns();

    s->t0 = t0;
    uv_timer_start(&s->ramp, on_ramp, t0 > now ? (t0 - now) / 1000000 : 0, 1);
}

/* The source address of client g with --src-ips (127.0.0.1 + g % N), in
 * *buf, or NULL: no --src-ips, or a target that is not IPv4. */
static const struct sockaddr *src_addr(const struct client_set *s, uint32_t g,
                                       const struct ws_target *t, struct sockaddr_in *buf)
{
    if (s->o->src_ips == 0 || t->addr.ss_family != AF_INET)
        return NULL;
    memset(buf, 0, sizeof *buf);
    buf->sin_family = AF_INET;
    buf->sin_addr.s_addr = htonl(0x7f000001u + g % s->o->src_ips);
    return (const struct sockaddr *)buf;
}

int client_connect(struct client_set *s, struct client *c, const struct ws_target *t)
{
    struct sockaddr_in src;
    int r;

    s->connecting++;
    r = ws_connect(&c->ws, s->loop, t, src_addr(s, c->g, t, &src), s->handler);
    if (r == 0)
        s->open++;
    return r;
}

void client_send(const struct client_set *s, struct client *c, const uint8_t *p, size_t n)
{
    if (n > 0)
        ws_send(&c->ws, s->o->enc == WIRE_MSGPACK ? WS_OP_BINARY : WS_OP_TEXT, p, n);
}

void client_close(struct client *c)
{
    c->closed_by_us = 1;
    ws_close(&c->ws, 1000);
}

void client_abort_all(struct client_set *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        ws_abort(&client_at(s, i)->ws);   /* no-op on a closed one */
}

void client_on_message(struct client_set *s, struct client *c, const uint8_t *p, size_t n,
                       bool binary)
{
    struct wire_reply r;

    if (wire_parse(p, n, binary, &r) != 0 || r.t.n == 0) {
        s->res->bad_frames++;
        return;
    }
    for (const struct client_frame *f = s->frames; f->type; f++) {
        if (wire_is(r.t, f->type) && (!f->needs_seq || r.has_seq)) {
            f->on_frame(c, &r);
            return;
        }
    }
    s->res->other_frames++;
}

enum fail client_on_closed(struct client_set *s, struct client *c, enum ws_why why,
                           unsigned code, int err, char *detail, size_t cap)
{
    static const enum fail fail_of[WS__COUNT] = {
        [WS_OK] = FAIL_CLOSED, [WS_CONNECT] = FAIL_CONNECT, [WS_HANDSHAKE] = FAIL_HANDSHAKE,
        [WS_ACCEPT] = FAIL_ACCEPT, [WS_PROTOCOL] = FAIL_PROTOCOL, [WS_EOF] = FAIL_EOF,
        [WS_IO] = FAIL_IO, [WS_ABORT] = FAIL_UNFINISHED,
    };

    s->open--;
    if (!c->closed_by_us) {
        if (why == WS_OK)
            result_count_close(s->res, code, 1);
        else if (why == WS_EOF)
            result_count_close(s->res, 1006, 1);
    }
    if (why == WS_OK)
        snprintf(detail, cap, "close frame %u", code);
    else if (why == WS_HANDSHAKE)
        snprintf(detail, cap, "upgrade answered with HTTP %u", code);
    else
        snprintf(detail, cap, "%s%s%s", ws_why_name(why), err ? " " : "",
                 err ? uv_err_name(err) : "");
    return fail_of[why];
}

void client_error(struct client_set *s, const struct wire_reply *r, char *code, size_t cap)
{
    s->res->errors[result_error_index(r->code)]++;
    snprintf(code, cap, "%.*s", (int)(r->code.n < 32 ? r->code.n : 32), r->code.p);
}
