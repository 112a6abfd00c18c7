/*
 * window.h - which records of a chat a buyer's session already has.
 *
 * A buyer gets each record once: replayed pages, events relayed from the
 * subscriber link, the gateway's own replies (greeting, holding reply), and
 * its own messages once acked on the command link. Events and acks travel
 * on two Redis links and arrive in either order, so "the highest seq sent"
 * is not enough: every record up to `shown` is had, and a 64-record bitmap
 * above it remembers the ones had out of order. A record more than 64 past
 * `shown` slides the window up to it: the records it slides over count as
 * had from then on, whether they were or not.
 *
 * API: struct window, window_reset, window_has, window_mark.
 */
#ifndef CHATGW_WINDOW_H
#define CHATGW_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct window {
    int64_t shown;      /* every record up to here is had */
    uint64_t done;      /* bit i: record shown+1+i is had, too */
};

/* Starts over: records up to shown are had, none above. */
void window_reset(struct window *w, int64_t shown);
/* Whether record seq is had. */
bool window_has(const struct window *w, int64_t seq);
/* Record seq is had now; `shown` advances over every record had in a row. */
void window_mark(struct window *w, int64_t seq);

#endif
