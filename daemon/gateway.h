/*
 * gateway.h - the process-wide state every module may read: the loop, the
 * current configuration (swapped whole on SIGHUP), and the clock.
 *
 * API: gw (the state), gw_now_ms, gw_wall_ms, gateway_run.
 */
#ifndef CHATGW_GATEWAY_H
#define CHATGW_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

struct cli_opts {
    const char *config_path;
    const char *listen, *redis, *state_dir;
    bool reuseport;
    int verbosity;                /* -1 quiet, 0 default, 1 verbose */
};

struct gw {
    uv_loop_t *loop;
    struct config *cfg;           /* current; replaced on a good reload */
    const struct cli_opts *cli;
    char node_id[128];
    bool shutting_down;
};

extern struct gw gw;

/* Monotonic milliseconds (the loop's cached time). */
static inline uint64_t gw_now_ms(void) { return uv_now(gw.loop); }
/* Wall-clock milliseconds since the epoch, for timestamps users see. */
uint64_t gw_wall_ms(void);

/* Runs the daemon until it is told to stop. Returns the exit status. */
int gateway_run(const struct cli_opts *cli);

#endif
