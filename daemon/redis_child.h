/*
 * redis_child.h - the embedded redis-server chatgwd runs when no Redis
 * address is configured.
 *
 * It listens only on a unix socket in the state directory (no TCP port),
 * keeps an append-only file there (appendfsync everysec) so a restart
 * keeps chats, runs in its own process group (a Ctrl-C on the terminal
 * reaches chatgwd, which stops it in order), and dies with chatgwd even
 * on kill -9 (PR_SET_PDEATHSIG). If it exits on its own it is restarted
 * with backoff.
 *
 * API: redis_child_start, redis_child_stop.
 */
#ifndef CHATGW_REDIS_CHILD_H
#define CHATGW_REDIS_CHILD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Starts it; writes the socket path into sock (cap bytes). Returns 0 when
 * redis-server was started, -1 on failure, or 1 when the redis-server of
 * a previous daemon on this state directory is still exiting: ours starts
 * once it is gone, and then on_up is called (only in that case).
 */
int redis_child_start(const char *binary, const char *state_dir, uint64_t backoff_max_ms,
                      char *sock, size_t cap, void (*on_up)(void));
/* Stops it (SIGTERM, then SIGKILL after 5 s) and closes its handles. */
void redis_child_stop(void);

#endif
