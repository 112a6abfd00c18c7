/*
 * shift.c - a store's service hours (see shift.h).
 *
 * How: the config's lines are parsed once into a plan (shifts with their
 * minutes and weekdays, dated exceptions, the zone). Spans are computed on
 * demand for a window of local dates: every shift whose weekday matches a
 * date that is not closed gives [start, end) in UTC through the zone (so a
 * DST day's shift is as long as the wall clock says), every extended date
 * its window. Everything is arithmetic on the plan: no I/O after load.
 * Nodes with the same config compute the same spans for the same dates;
 * that is how they agree (router.c publishes them to Redis for the
 * scripts, which decide with them).
 *
 * API: see shift.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shift.h"
#include "tz.h"

#define DAY_MS 86400000LL
#define PLAN_SHIFTS_MAX 32
#define PLAN_DATES_MAX 256

struct shift_def {
    char name[SHIFT_NAME_MAX + 1];
    int start, end;                   /* minutes; end <= start: the next day */
    unsigned days;                    /* bit 0 = Monday */
};

struct shift_date {
    int64_t day;
    int closed;                       /* else extended: start..end */
    int start, end;
};

struct shift_plan {
    struct tz *tz;
    struct shift_def shift[PLAN_SHIFTS_MAX];
    int nshift;
    struct shift_date date[PLAN_DATES_MAX];
    int ndate;
};

static const char *const DAYS[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

const char *shift_day_name(int wday)
{
    return wday >= 0 && wday < 7 ? DAYS[wday] : "?";
}

static int day_index(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, DAYS[i], 3) == 0)
            return i;
    return -1;
}

int shift_parse_days(const char *s)
{
    unsigned bits = 0;

    while (*s) {
        size_t n = strcspn(s, ",");
        const char *dash = memchr(s, '-', n);
        int a = day_index(s, dash ? (size_t)(dash - s) : n);
        int b = dash ? day_index(dash + 1, n - (size_t)(dash - s) - 1) : a;
        if (a < 0 || b < 0)
            return -1;
        for (int i = a;; i = (i + 1) % 7) {   /* fri-mon wraps */
            bits |= 1u << i;
            if (i == b)
                break;
        }
        s += n;
        if (*s == ',' && !*++s)
            return -1;
    }
    return bits ? (int)bits : -1;
}

int64_t shift_parse_date(const char *s)
{
    int y, m, d, n = 0;

    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t day = tz_days_from_civil(y, m, d);
    int yy, mm, dd;
    tz_civil_from_days(day, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d ? day : -1;   /* 2026-02-30 is not a date */
}

void shift_date_text(int64_t day, char *out, size_t cap)
{
    int y, m, d;

    tz_civil_from_days(day, &y, &m, &d);
    snprintf(out, cap, "%04d-%02d-%02d", y, m, d);
}

/* "HH:MM" at s (exactly 5 chars) to minutes; 24:00 allowed when `end`. */
static int parse_hhmm(const char *s, bool end)
{
    if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
          s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
        return -1;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    if (h > 24 || (h == 24 && (m != 0 || !end)))
        return -1;
    return h * 60 + m;
}

/* "HH:MM-HH:MM" to start and end minutes. */
static int parse_range(const char *s, int *start, int *end, char *why, size_t cap)
{
    if (strlen(s) != 11 || s[5] != '-' || (*start = parse_hhmm(s, false)) < 0 ||
        (*end = parse_hhmm(s + 6, true)) < 0) {
        snprintf(why, cap, "\"%s\" is not a time range HH:MM-HH:MM (00:00 to 24:00)", s);
        return -1;
    }
    if (*start == *end) {
        snprintf(why, cap, "\"%s\" starts and ends at once (a whole day: 00:00-24:00)", s);
        return -1;
    }
    return 0;
}

/* Splits a value into at most 4 words in w (a copy in buf). */
static int words(const char *v, char *buf, size_t cap, char **w)
{
    int n = 0;

    snprintf(buf, cap, "%s", v);
    for (char *p = strtok(buf, " \t"); p && n < 5; p = strtok(NULL, " \t"))
        w[n++] = p;
    return n;
}

static int parse_shift(const char *v, struct shift_def *d, char *why, size_t cap)
{
    char buf[256], *w[5];
    int n = words(v, buf, sizeof buf, w), days = 0x7f;

    if (n < 2 || n > 3) {
        snprintf(why, cap, "expects NAME HH:MM-HH:MM [DAYS], e.g. day 09:00-17:30 mon-fri");
        return -1;
    }
    size_t nl = strspn(w[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (w[0][nl] || nl == 0 || nl > SHIFT_NAME_MAX) {
        snprintf(why, cap, "shift name \"%s\": 1 to %d of A-Z a-z 0-9 _ . -", w[0], SHIFT_NAME_MAX);
        return -1;
    }
    if (parse_range(w[1], &d->start, &d->end, why, cap) != 0)
        return -1;
    if (n == 3 && (days = shift_parse_days(w[2])) < 0) {
        snprintf(why, cap, "\"%s\" is not a list of days (mon-fri, mon,wed, sat-sun)", w[2]);
        return -1;
    }
    snprintf(d->name, sizeof d->name, "%s", w[0]);
    d->days = (unsigned)days;
    return 0;
}

static int parse_date(const char *v, bool closed, struct shift_date *d, char *why, size_t cap)
{
    char buf[256], *w[5];
    int n = words(v, buf, sizeof buf, w);

    if (n != (closed ? 1 : 2)) {
        snprintf(why, cap, closed ? "expects YYYY-MM-DD" : "expects YYYY-MM-DD HH:MM-HH:MM");
        return -1;
    }
    if ((d->day = shift_parse_date(w[0])) < 0) {
        snprintf(why, cap, "\"%s\" is not a date YYYY-MM-DD", w[0]);
        return -1;
    }
    d->closed = closed;
    d->start = d->end = 0;
    return closed ? 0 : parse_range(w[1], &d->start, &d->end, why, cap);
}

int shift_check_line(const char *v, char *why, size_t cap)
{
    struct shift_def d;
    return parse_shift(v, &d, why, cap);
}

int shift_check_date(const char *v, char *why, size_t cap)
{
    struct shift_date d;
    return parse_date(v, true, &d, why, cap);
}

int shift_check_extend(const char *v, char *why, size_t cap)
{
    struct shift_date d;
    return parse_date(v, false, &d, why, cap);
}

struct shift_plan *shift_plan_new(const char *tz, char *const *shift, int nshift,
                                  char *const *closed, int nclosed,
                                  char *const *extend, int nextend, char *why, size_t cap)
{
    struct shift_plan *p;

    why[0] = '\0';
    if (nshift == 0)
        return NULL;
    if (nshift > PLAN_SHIFTS_MAX || nclosed + nextend > PLAN_DATES_MAX) {
        snprintf(why, cap, "too many shift, closed or extend lines");
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p))) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    for (int i = 0; i < nshift; i++) {
        if (parse_shift(shift[i], &p->shift[i], why, cap) != 0)
            goto fail;
        for (int j = 0; j < i; j++)
            if (strcmp(p->shift[j].name, p->shift[i].name) == 0) {
                snprintf(why, cap, "shift \"%s\" defined twice", p->shift[i].name);
                goto fail;
            }
    }
    p->nshift = nshift;
    for (int i = 0; i < nclosed + nextend; i++)
        if (parse_date(i < nclosed ? closed[i] : extend[i - nclosed], i < nclosed,
                       &p->date[i], why, cap) != 0)
            goto fail;
    p->ndate = nclosed + nextend;
    if (!(p->tz = tz_load(tz, why, cap)))
        goto fail;
    return p;
fail:
    shift_plan_free(p);
    return NULL;
}

void shift_plan_free(struct shift_plan *p)
{
    if (!p)
        return;
    tz_free(p->tz);
    free(p);
}

static bool is_closed(const struct shift_plan *p, int64_t day)
{
    for (int i = 0; i < p->ndate; i++)
        if (p->date[i].closed && p->date[i].day == day)
            return true;
    return false;
}

static void put(struct shift_span *out, size_t cap, size_t *n, int64_t from, int64_t to,
                struct shift_span sp)
{
    if (sp.e <= from || sp.s >= to || sp.e <= sp.s || *n >= cap)
        return;
    size_t i = (*n)++;
    while (i > 0 && out[i - 1].s > sp.s) {    /* insertion: by start */
        out[i] = out[i - 1];
        i--;
    }
    out[i] = sp;
}

size_t shift_spans(const struct shift_plan *p, int64_t from, int64_t to,
                   struct shift_span *out, size_t cap)
{
    struct tz_time a, b;
    size_t n = 0;

    if (!p)
        return 0;
    tz_local(p->tz, from, &a);
    tz_local(p->tz, to, &b);
    /* a shift that started the day before may still be on */
    for (int64_t day = a.days - 1; day <= b.days; day++) {
        int wday = (int)((day % 7 + 10) % 7);
        if (!is_closed(p, day))
            for (int i = 0; i < p->nshift; i++) {
                const struct shift_def *d = &p->shift[i];
                if (!(d->days & (1u << wday)))
                    continue;
                struct shift_span sp = { tz_utc(p->tz, day, d->start),
                                         tz_utc(p->tz, d->end > d->start ? day : day + 1, d->end),
                                         d->name, day, wday };
                put(out, cap, &n, from, to, sp);
            }
        for (int i = 0; i < p->ndate; i++) {
            const struct shift_date *d = &p->date[i];
            if (d->closed || d->day != day)
                continue;
            struct shift_span sp = { tz_utc(p->tz, day, d->start),
                                     tz_utc(p->tz, d->end > d->start ? day : day + 1, d->end),
                                     "*", day, wday };
            put(out, cap, &n, from, to, sp);
        }
    }
    return n;
}

bool shift_open(const struct shift_plan *p, int64_t now, int64_t *until, int64_t *opens)
{
    struct shift_span sp[SHIFT_SPANS_MAX];
    size_t n;
    bool open = false;

    *until = *opens = 0;
    if (!p)
        return true;
    n = shift_spans(p, now - DAY_MS, now + 8 * DAY_MS, sp, SHIFT_SPANS_MAX);
    for (size_t i = 0; i < n; i++)
        if (sp[i].s <= now && now < sp[i].e) {
            open = true;
            if (sp[i].e > *until)
                *until = sp[i].e;
        }
    if (open) {                       /* the stretch goes on while spans touch */
        for (bool grew = true; grew;) {
            grew = false;
            for (size_t i = 0; i < n; i++)
                if (sp[i].s <= *until && sp[i].e > *until) {
                    *until = sp[i].e;
                    grew = true;
                }
        }
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (sp[i].s > now && (!*opens || sp[i].s < *opens))
            *opens = sp[i].s;
    return false;
}

int64_t shift_next_boundary(const struct shift_plan *p, int64_t now)
{
    struct shift_span sp[SHIFT_SPANS_MAX];
    struct tz_time t;
    size_t n;
    int64_t next;

    if (!p)
        return 0;
    tz_local(p->tz, now, &t);
    next = tz_utc(p->tz, t.days + 1, 0);
    if (next <= now)
        next = now + DAY_MS;
    n = shift_spans(p, now - DAY_MS, next + 1, sp, SHIFT_SPANS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (sp[i].s > now && sp[i].s < next)
            next = sp[i].s;
        if (sp[i].e > now && sp[i].e < next)
            next = sp[i].e;
    }
    return next;
}

void shift_window(const struct shift_plan *p, int64_t now, int64_t *from, int64_t *to)
{
    struct tz_time t;

    tz_local(p ? p->tz : NULL, now, &t);
    *from = tz_utc(p ? p->tz : NULL, t.days - 1, 0);
    *to = tz_utc(p ? p->tz : NULL, t.days + 9, 0);
}

void shift_label(const struct shift_plan *p, int64_t ms, char *out, size_t cap)
{
    static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
                                         "Aug", "Sep", "Oct", "Nov", "Dec" };
    static const char *const wd[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    struct tz_time t;

    tz_local(p ? p->tz : NULL, ms, &t);
    snprintf(out, cap, "%s %d %s %02d:%02d", wd[t.wday], t.day, mon[t.month - 1], t.hour, t.min);
}
