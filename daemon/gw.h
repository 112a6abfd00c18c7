/*
 * gw.h - the process-wide state every module may read: the loop, the
 * current configuration (swapped whole on SIGHUP), this node's name, and
 * the clock. It sits below every other daemon module, so any of them may
 * include it without joining an include cycle; gateway.c, at the top,
 * fills it in.
 *
 * API: gw (the state), gw_now_ms, gw_wall_ms.
 */
#ifndef CHATGW_GW_H
#define CHATGW_GW_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

struct cli_opts {
    const char *config_path;
    const char *listen, *redis, *state_dir;
    bool reuseport;
    bool test_clock;              /* --test-clock: test_clock_offset may be set */
    int verbosity;                /* -1 quiet, 0 default, 1 verbose */
};

struct gw {
    uv_loop_t *loop;
    struct config *cfg;           /* current; replaced on a good reload */
    const struct cli_opts *cli;
    char node_id[128];
    bool shutting_down;
    uint64_t clock_offset_ms;     /* test_clock_offset in force (tests only) */
};

extern struct gw gw;

/* Monotonic milliseconds (the loop's cached time). */
static inline uint64_t gw_now_ms(void) { return uv_now(gw.loop); }
/* Wall-clock milliseconds since the epoch, for timestamps users see, the
 * scripts' `now` and the shifts: the system's clock plus the test clock's
 * offset (0 unless chatgwd runs with --test-clock). Never Redis TIME. */
uint64_t gw_wall_ms(void);

#endif
