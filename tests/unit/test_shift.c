/* test_shift.c - time zones from TZif files (DST both ways, the POSIX
 * footer past the last transition) and a store's shift spans: midnight
 * crossing, DST days, closed and extended dates, boundaries. */
#include <stdint.h>

#include "shift.h"
#include "test.h"
#include "tz.h"

#define H 3600000LL

static int64_t utc(int y, int m, int d, int hh, int mm)
{
    return (tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60) * 1000LL;
}

TEST(berlin_offsets_across_dst)
{
    char why[256];
    struct tz *z = tz_load("Europe/Berlin", why, sizeof why);
    ASSERT(z != NULL);
    ASSERT_EQ(tz_offset(z, utc(2026, 1, 15, 12, 0) / 1000), 3600);
    ASSERT_EQ(tz_offset(z, utc(2026, 7, 15, 12, 0) / 1000), 7200);
    /* 2026-03-29 01:00 UTC: 02:00 CET -> 03:00 CEST */
    ASSERT_EQ(tz_offset(z, utc(2026, 3, 29, 0, 59) / 1000), 3600);
    ASSERT_EQ(tz_offset(z, utc(2026, 3, 29, 1, 0) / 1000), 7200);
    /* past the file's transitions (2037): the footer's rule */
    ASSERT_EQ(tz_offset(z, utc(2050, 7, 1, 0, 0) / 1000), 7200);
    ASSERT_EQ(tz_offset(z, utc(2050, 12, 1, 0, 0) / 1000), 3600);
    struct tz_time t;
    tz_local(z, utc(2026, 10, 25, 0, 30), &t);   /* 02:30 CEST, Sunday */
    ASSERT_EQ(t.hour, 2);
    ASSERT_EQ(t.wday, 6);
    ASSERT_EQ(tz_utc(z, tz_days_from_civil(2026, 3, 29), 9 * 60), utc(2026, 3, 29, 7, 0));
    ASSERT_EQ(tz_utc(z, tz_days_from_civil(2026, 3, 28), 9 * 60), utc(2026, 3, 28, 8, 0));
    tz_free(z);
    ASSERT(tz_load("No/Such_Zone", why, sizeof why) == NULL);
}

TEST(midnight_crossing_and_dst_day)
{
    char why[256];
    char *shifts[] = { "night 22:00-06:00", "day 09:00-17:30 mon-fri" };
    struct shift_plan *p = shift_plan_new("Europe/Berlin", shifts, 2, NULL, 0, NULL, 0,
                                          why, sizeof why);
    struct shift_span sp[64];
    int64_t until, opens;

    ASSERT(p != NULL);
    /* Saturday 2026-03-28 22:00 CET to Sunday 06:00 CEST: 7 hours of wall clock */
    size_t n = shift_spans(p, utc(2026, 3, 28, 20, 0), utc(2026, 3, 28, 22, 0), sp, 64);
    ASSERT_EQ(n, 1);
    ASSERT_STREQ(sp[0].name, "night");
    ASSERT_EQ(sp[0].s, utc(2026, 3, 28, 21, 0));
    ASSERT_EQ(sp[0].e, utc(2026, 3, 29, 4, 0));
    ASSERT_EQ(sp[0].wday, 5);                     /* its roster day: Saturday */
    /* Sunday noon: closed (no day shift on weekends), opens at 22:00 CEST */
    ASSERT(!shift_open(p, utc(2026, 3, 29, 10, 0), &until, &opens));
    ASSERT_EQ(opens, utc(2026, 3, 29, 20, 0));
    char label[64];
    shift_label(p, opens, label, sizeof label);
    ASSERT_STREQ(label, "Sun 29 Mar 22:00");
    /* Monday 05:00 local: the night shift, until 06:00 */
    ASSERT(shift_open(p, utc(2026, 3, 30, 3, 0), &until, &opens));
    ASSERT_EQ(until, utc(2026, 3, 30, 4, 0));
    ASSERT_EQ(shift_next_boundary(p, utc(2026, 3, 30, 3, 0)), utc(2026, 3, 30, 4, 0));
    shift_plan_free(p);
}

TEST(closed_and_extended_dates)
{
    char why[256];
    char *shifts[] = { "day 09:00-17:00" }, *closed[] = { "2026-02-17" },
         *extend[] = { "2026-11-11 00:00-24:00" };
    struct shift_plan *p = shift_plan_new("Asia/Shanghai", shifts, 1, closed, 1, extend, 1,
                                          why, sizeof why);
    int64_t until, opens;

    ASSERT(p != NULL);
    ASSERT(!shift_open(p, utc(2026, 2, 17, 3, 0), &until, &opens));   /* 11:00 local */
    ASSERT_EQ(opens, utc(2026, 2, 18, 1, 0));
    ASSERT(shift_open(p, utc(2026, 2, 18, 3, 0), &until, &opens));
    /* Singles' Day: open all day, the day shift inside it */
    ASSERT(shift_open(p, utc(2026, 11, 10, 17, 0), &until, &opens));  /* 01:00 local */
    ASSERT_EQ(until, utc(2026, 11, 11, 16, 0));
    ASSERT(!shift_open(p, utc(2026, 11, 11, 16, 30), &until, &opens));
    shift_plan_free(p);
}

TEST(line_syntax)
{
    char why[256];
    ASSERT_EQ(shift_check_line("day 09:00-17:30 mon-fri", why, sizeof why), 0);
    ASSERT_EQ(shift_check_line("late 17:00-24:00 fri-mon", why, sizeof why), 0);
    ASSERT_EQ(shift_check_line("x 09:00-17:30 mon,wed,sat-sun", why, sizeof why), 0);
    ASSERT_EQ(shift_check_line("day 9:00-17:30", why, sizeof why), -1);
    ASSERT_EQ(shift_check_line("day 09:00-09:00", why, sizeof why), -1);
    ASSERT_EQ(shift_check_line("day 09:00-24:30", why, sizeof why), -1);
    ASSERT_EQ(shift_check_line("day 09:00-17:00 monday", why, sizeof why), -1);
    ASSERT_EQ(shift_check_line("day", why, sizeof why), -1);
    ASSERT_EQ(shift_check_date("2026-02-30", why, sizeof why), -1);
    ASSERT_EQ(shift_check_date("2026-02-17", why, sizeof why), 0);
    ASSERT_EQ(shift_check_extend("2026-02-17 10:00-12:00", why, sizeof why), 0);
    ASSERT_EQ(shift_parse_days("sat-sun"), 0x60);
    ASSERT_EQ(shift_parse_days("sun-mon"), 0x41);
}

int main(void)
{
    RUN(berlin_offsets_across_dst);
    RUN(midnight_crossing_and_dst_day);
    RUN(closed_and_extended_dates);
    RUN(line_syntax);
    return TEST_SUMMARY();
}
