/*
 * gw.c - the process-wide state (see gw.h) and the wall clock.
 *
 * API: gw, gw_wall_ms.
 */
#include <time.h>

#include "gw.h"

struct gw gw;

uint64_t gw_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + gw.clock_offset_ms;
}
