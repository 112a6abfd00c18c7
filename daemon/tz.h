/*
 * tz.h - a time zone read once from the system's tz database, then used
 * without I/O: UTC <-> local time for the store's shifts.
 *
 * Why not localtime_r: it serves one zone per process (TZ), and switching
 * TZ re-reads the zone file on the event loop. tz_load reads the zone's
 * TZif file (/usr/share/zoneinfo/NAME, RFC 8536, version 2+ data and its
 * POSIX TZ footer for times past the last transition) when the config is
 * loaded; tz_local and tz_utc are pure computations afterwards.
 *
 * API: tz_load, tz_free, tz_offset, tz_local, tz_utc, tz_days_from_civil,
 *      tz_civil_from_days.
 */
#ifndef CHATGW_TZ_H
#define CHATGW_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

struct tz_time {                  /* a local time */
    int year, month, day;         /* civil date, month 1..12 */
    int hour, min;
    int wday;                     /* 0 = Monday .. 6 = Sunday */
    int64_t days;                 /* the date as days since 1970-01-01 */
};

/* Loads zone `name` ("UTC" needs no file). NULL with the problem in why. */
struct tz *tz_load(const char *name, char *why, size_t cap);
void tz_free(struct tz *z);
/* Seconds east of UTC in effect at utc_s. */
int32_t tz_offset(const struct tz *z, int64_t utc_s);
/* The local time of utc_ms. */
void tz_local(const struct tz *z, int64_t utc_ms, struct tz_time *out);
/* The UTC ms of local midnight + min minutes on day `days` (min may be
 * 1440 = the next midnight). A local time skipped by a DST change (02:30
 * on the day clocks jump from 02:00 to 03:00) maps to the instant the
 * wall clock reads as much past the jump (03:30). */
int64_t tz_utc(const struct tz *z, int64_t days, int min);

int64_t tz_days_from_civil(int y, int m, int d);
void tz_civil_from_days(int64_t days, int *y, int *m, int *d);

#endif
