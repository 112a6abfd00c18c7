/*
 * window.c - the records a buyer's session already has (see window.h).
 *
 * `shown` plus a 64-bit map of the records after it: marking the record
 * just above `shown` advances it over every set bit in a row; marking one
 * past the map slides the map up in one step, not one record at a time,
 * so a seq far ahead costs the same as a near one.
 */
#include "window.h"

#define WINDOW_BITS 64

void window_reset(struct window *w, int64_t shown)
{
    w->shown = shown;
    w->done = 0;
}

bool window_has(const struct window *w, int64_t seq)
{
    int64_t off = seq - w->shown - 1;

    return off < 0 || (off < WINDOW_BITS && (w->done >> off) & 1);
}

void window_mark(struct window *w, int64_t seq)
{
    int64_t off = seq - w->shown - 1;

    if (off < 0)
        return;
    if (off >= WINDOW_BITS) {           /* beyond the map: slide it up to seq */
        int64_t slide = off - (WINDOW_BITS - 1);
        w->shown += slide;
        w->done = slide >= WINDOW_BITS ? 0 : w->done >> slide;
        off = WINDOW_BITS - 1;
    }
    w->done |= (uint64_t)1 << off;
    while (w->done & 1) {
        w->done >>= 1;
        w->shown++;
    }
}
