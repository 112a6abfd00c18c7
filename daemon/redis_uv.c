/*
 * redis_uv.c - hiredis on the libuv loop, writing once per loop turn.
 *
 * hiredis 0.14's own libuv adapter asks for POLLOUT on every command, drops
 * it once the command is written and asks for POLLIN again after every
 * write. In libuv each uv_poll_start is an epoll_ctl DEL plus an ADD, so a
 * Redis command cost six epoll_ctl calls before its one write (measured with
 * strace on the relay bench; a quarter of them failed with ENOENT).
 *
 * This adapter does what Redis itself does for its clients (write in
 * beforeSleep): a command only marks its connection as having output, and
 * redis_uv_flush(), run by the gateway once per loop turn just before the
 * loop polls, writes everything queued since the last turn in one write.
 * POLLOUT is asked for only while connecting and when the kernel buffer is
 * full, and the poll handle is restarted only when the wanted events change.
 *
 * API: redis_uv_attach, redis_uv_flush.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <hiredis/async.h>

#include "redis_uv.h"

struct redis_uv {
    redisAsyncContext *ac;       /* NULL once hiredis let go of it */
    uv_poll_t poll;
    int want, armed;             /* UV_READABLE | UV_WRITABLE */
    bool pending;                /* on the flush list */
    bool flushing;               /* inside redis_uv_flush's write */
    struct redis_uv *next;
};

static struct redis_uv *pending;

static void on_poll(uv_poll_t *h, int status, int events);

static void arm(struct redis_uv *p)
{
    if (p->want == p->armed)
        return;
    p->armed = p->want;
    if (p->want)
        uv_poll_start(&p->poll, p->want, on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void unlink_pending(struct redis_uv *p)
{
    struct redis_uv **pp;

    if (!p->pending)
        return;
    for (pp = &pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    p->pending = false;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct redis_uv *p = h->data;

    if (status < 0)         /* an error on the fd: let hiredis find it reading */
        events = UV_READABLE;
    if (p->ac && (events & UV_READABLE))
        redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
}

static void add_read(void *d)
{
    struct redis_uv *p = d;
    p->want |= UV_READABLE;
    arm(p);
}

static void del_read(void *d)
{
    struct redis_uv *p = d;
    p->want &= ~UV_READABLE;
    arm(p);
}

static void add_write(void *d)
{
    struct redis_uv *p = d;

    /* connecting, or the kernel did not take it all: wait for POLLOUT */
    if (p->flushing || !(p->ac->c.flags & REDIS_CONNECTED)) {
        p->want |= UV_WRITABLE;
        arm(p);
        return;
    }
    if (!p->pending && !(p->want & UV_WRITABLE)) {
        p->pending = true;
        p->next = pending;
        pending = p;
    }
}

static void del_write(void *d)
{
    struct redis_uv *p = d;
    p->want &= ~UV_WRITABLE;
    arm(p);
}

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

static void cleanup(void *d)
{
    struct redis_uv *p = d;

    unlink_pending(p);
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->poll, on_close);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct redis_uv *p;

    if (ac->ev.data)
        return -1;
    p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->ac = ac;
    p->poll.data = p;
    ac->ev.data = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}

void redis_uv_flush(void)
{
    while (pending) {
        struct redis_uv *p = pending;

        pending = p->next;
        p->pending = false;
        if (!p->ac)
            continue;
        p->flushing = true;
        redisAsyncHandleWrite(p->ac);   /* may free the context: cleanup() runs */
        p->flushing = false;
    }
}
