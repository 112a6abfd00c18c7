/*
 * redis_uv.h - hiredis on the libuv loop (see redis_uv.c).
 */
#ifndef CHATGW_REDIS_UV_H
#define CHATGW_REDIS_UV_H

#include <uv.h>
#include <hiredis/async.h>

/* Attaches ac to loop in place of hiredis's adapter. Returns 0 or -1. */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);
/* Writes every command queued since the last call; once per loop turn. */
void redis_uv_flush(void);

#endif
