/*
 * shift.h - a store's service hours: its named shifts, closed dates and
 * extended dates, in its own time zone, turned into spans of UTC time.
 *
 * Config lines (one store's; see config.c):
 *     shift NAME HH:MM-HH:MM [DAYS]   DAYS: mon-fri | mon,wed | sat-sun |
 *                                     fri-mon ...; default every day; an
 *                                     end at or before the start is on the
 *                                     next day (the shift crosses midnight);
 *                                     24:00 is the end of the day
 *     closed YYYY-MM-DD               no shift starts on that date
 *     extend YYYY-MM-DD HH:MM-HH:MM   open then besides the shifts: the
 *                                     span's name is "*" (every agent)
 * A shift belongs to the date it starts on (its roster day). A store with
 * no shift line has no plan: always open.
 *
 * API: shift_plan_new, shift_plan_free, shift_check_line, shift_check_date,
 *      shift_spans, shift_open, shift_next_boundary, shift_window, shift_label,
 *      shift_day_name, shift_parse_days.
 */
#ifndef CHATGW_SHIFT_H
#define CHATGW_SHIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHIFT_NAME_MAX 32
#define SHIFT_SPANS_MAX 512           /* spans one call computes, at most */

struct shift_plan;

struct shift_span {
    int64_t s, e;                     /* UTC ms, [s, e) */
    const char *name;                 /* the shift's, or "*" (an extended date) */
    int64_t day;                      /* its local start date, days since the epoch */
    int wday;                         /* that date's weekday, 0 = Monday */
};

/* Syntax checks of one option value (for the config's table). */
int shift_check_line(const char *v, char *why, size_t cap);
int shift_check_date(const char *v, char *why, size_t cap);   /* closed */
int shift_check_extend(const char *v, char *why, size_t cap);

/* A plan from a store's lines, its zone loaded (reads the zone file);
 * NULL with the problem in why. nshift == 0 gives NULL with why "". */
struct shift_plan *shift_plan_new(const char *tz, char *const *shift, int nshift,
                                  char *const *closed, int nclosed,
                                  char *const *extend, int nextend, char *why, size_t cap);
void shift_plan_free(struct shift_plan *p);

/* The spans that overlap [from, to), by start; at most cap. */
size_t shift_spans(const struct shift_plan *p, int64_t from, int64_t to,
                   struct shift_span *out, size_t cap);
/* Open at now (some span covers it); *until = when the open stretch ends,
 * *opens = when a closed store opens next (0 = not within 8 days). A NULL
 * plan is always open (until 0). */
bool shift_open(const struct shift_plan *p, int64_t now, int64_t *until, int64_t *opens);
/* The next instant after now at which a span starts or ends, or local
 * midnight, whichever comes first (0 for no plan). */
int64_t shift_next_boundary(const struct shift_plan *p, int64_t now);
/* The window of spans the nodes publish: local midnight a day before
 * now's date to local midnight nine days after it (whole days, so that
 * nodes publishing at different moments of one day publish the same). */
void shift_window(const struct shift_plan *p, int64_t now, int64_t *from, int64_t *to);
/* "Mon 16 Feb 09:00", the local time of ms in the plan's zone. */
void shift_label(const struct shift_plan *p, int64_t ms, char *out, size_t cap);
/* "YYYY-MM-DD" of a day number. */
void shift_date_text(int64_t day, char *out, size_t cap);
const char *shift_day_name(int wday);        /* "mon".."sun" */
/* DAYS text to a bit set (bit 0 = Monday); -1 when invalid. */
int shift_parse_days(const char *s);
/* "YYYY-MM-DD" to a day number; -1 on error (dates before 1970 refused). */
int64_t shift_parse_date(const char *s);

#endif
