/*
 * tz.c - time zones from the system's tz database (see tz.h).
 *
 * A TZif file (RFC 8536) holds transition times, each naming a local time
 * type (UTC offset, DST flag), and from version 2 on a second copy of the
 * data with 64-bit times followed by a POSIX TZ string (the footer) that
 * gives the rule for times after the last transition. We keep the 64-bit
 * transitions and their offsets, and parse the footer's common form
 * (STDoff[DST[off],Mm.w.d[/time],Mm.w.d[/time]]); a footer we cannot read
 * leaves the last transition's offset in force. The file is read once, at
 * config load; every conversion afterwards is arithmetic.
 *
 * API: see tz.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

#define ZONEINFO "/usr/share/zoneinfo/"
#define TZ_FILE_MAX (256 * 1024)

struct rule {                     /* Mm.w.d/time: month, week 1..5, weekday 0=Sun */
    int month, week, wday;
    int32_t time;                 /* seconds after local midnight */
};

struct tz {
    size_t n;                     /* transitions */
    int64_t *at;                  /* UTC seconds */
    int32_t *off;                 /* offset in effect from at[i] */
    int32_t first_off;            /* before the first transition */
    int has_rule;                 /* the footer, parsed */
    int32_t std_off, dst_off;
    struct rule start, end;       /* DST from start (std time) to end (dst time) */
};

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t tz_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the POSIX TZ footer ---- */

static const char *skip_name(const char *p)
{
    if (*p == '<') {
        p = strchr(p, '>');
        return p ? p + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds; NULL when none. */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1, v[3] = { 0, 0, 0 };

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    for (int i = 0; i < 3; i++) {
        v[i] = (int)strtol(p, (char **)&p, 10);
        if (i < 2 && *p == ':' && isdigit((unsigned char)p[1]))
            p++;
        else
            break;
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *parse_rule(const char *p, struct rule *r)
{
    if (*p != 'M')
        return NULL;                  /* Jn and n forms: not in today's zones */
    if (sscanf(p, "M%d.%d.%d", &r->month, &r->week, &r->wday) != 3 || r->month < 1 ||
        r->month > 12 || r->week < 1 || r->week > 5 || r->wday < 0 || r->wday > 6)
        return NULL;
    p += strcspn(p, ",/");
    r->time = 7200;
    if (*p == '/' && !(p = parse_hms(p + 1, &r->time)))
        return NULL;
    return p;
}

static void parse_footer(struct tz *z, const char *p)
{
    int32_t std, dst;

    if (!(p = skip_name(p)) || !(p = parse_hms(p, &std)))
        return;
    z->std_off = -std;                /* POSIX counts west */
    if (!*p)
        return;                       /* no DST: the last offset stays */
    if (!(p = skip_name(p)))
        return;
    dst = std - 3600;
    if (*p != ',' && !(p = parse_hms(p, &dst)))
        return;
    z->dst_off = -dst;
    if (*p != ',' || !(p = parse_rule(p + 1, &z->start)) || *p != ',' ||
        !(p = parse_rule(p + 1, &z->end)))
        return;
    z->has_rule = 1;
}

/* Local midnight's day number of rule r in year y (its date). */
static int64_t rule_day(const struct rule *r, int y)
{
    int64_t first = tz_days_from_civil(y, r->month, 1);
    int wd_first = (int)((first % 7 + 11) % 7);   /* 1970-01-01 was a Thursday: 0=Sun */
    int64_t d = first + (r->wday - wd_first + 7) % 7 + 7 * (r->week - 1);
    int ny = r->month == 12 ? y + 1 : y, nm = r->month == 12 ? 1 : r->month + 1;
    while (d >= tz_days_from_civil(ny, nm, 1))
        d -= 7;                       /* week 5 = the last one */
    return d;
}

static int32_t rule_offset(const struct tz *z, int64_t t)
{
    int y, m, d;
    tz_civil_from_days(floor_div(t + z->std_off, 86400), &y, &m, &d);
    /* the change times are local: start in standard time, end in DST */
    int64_t s = rule_day(&z->start, y) * 86400 + z->start.time - z->std_off;
    int64_t e = rule_day(&z->end, y) * 86400 + z->end.time - z->dst_off;
    int in = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return in ? z->dst_off : z->std_off;
}

/* ---- the file ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int parse(struct tz *z, const unsigned char *b, size_t len)
{
    uint32_t cnt[6];
    size_t pos = 0;

    if (len < 44 || memcmp(b, "TZif", 4) != 0)
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        int t64 = pass == 1;
        if (pos + 44 > len || memcmp(b + pos, "TZif", 4) != 0)
            return -1;
        for (int i = 0; i < 6; i++)
            cnt[i] = be32(b + pos + 20 + 4 * i);   /* isut isstd leap time type char */
        pos += 44;
        size_t tsz = t64 ? 8 : 4;
        size_t body = cnt[3] * tsz + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * (tsz + 4) + cnt[1] + cnt[0];
        if (cnt[4] == 0 || cnt[3] > 100000 || cnt[4] > 256 || pos + body > len)
            return -1;
        if (!t64 && b[4] >= '2') {
            pos += body;                  /* the 64-bit copy follows */
            continue;
        }
        const unsigned char *times = b + pos, *idx = times + cnt[3] * tsz,
                            *types = idx + cnt[3];
        z->n = cnt[3];
        z->at = calloc(z->n + 1, sizeof *z->at);
        z->off = calloc(z->n + 1, sizeof *z->off);
        if (!z->at || !z->off)
            return -1;
        for (size_t i = 0; i < z->n; i++) {
            z->at[i] = t64 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
            if (idx[i] >= cnt[4])
                return -1;
            z->off[i] = (int32_t)be32(types + 6 * idx[i]);
        }
        z->first_off = (int32_t)be32(types);
        z->std_off = z->n ? z->off[z->n - 1] : z->first_off;
        pos += body;
        if (t64 && pos < len && b[pos] == '\n') {
            char foot[128];
            size_t fl = 0;
            for (pos++; pos < len && b[pos] != '\n' && fl + 1 < sizeof foot; pos++)
                foot[fl++] = (char)b[pos];
            foot[fl] = '\0';
            parse_footer(z, foot);
        }
        return 0;
    }
    return 0;
}

struct tz *tz_load(const char *name, char *why, size_t cap)
{
    struct tz *z = calloc(1, sizeof *z);
    char path[256];
    unsigned char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!z) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    if (strcmp(name, "UTC") == 0)
        return z;
    snprintf(path, sizeof path, ZONEINFO "%s", name);
    if (!(f = fopen(path, "rb"))) {
        snprintf(why, cap, "cannot read %s", path);
        free(z);
        return NULL;
    }
    if ((buf = malloc(TZ_FILE_MAX)))
        len = fread(buf, 1, TZ_FILE_MAX, f);
    fclose(f);
    if (!buf || parse(z, buf, len) != 0) {
        snprintf(why, cap, "%s is not a TZif file chatgwd can read", path);
        free(buf);
        tz_free(z);
        return NULL;
    }
    free(buf);
    return z;
}

void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
    if (!z || (z->n == 0 && !z->has_rule))
        return z ? z->std_off : 0;
    if (z->n == 0 || t >= z->at[z->n - 1])
        return z->has_rule ? rule_offset(z, t) : z->n ? z->off[z->n - 1] : z->std_off;
    if (t < z->at[0])
        return z->first_off;
    size_t lo = 0, hi = z->n - 1;         /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

void tz_local(const struct tz *z, int64_t utc_ms, struct tz_time *out)
{
    int64_t s = floor_div(utc_ms, 1000);
    int64_t l = s + tz_offset(z, s);
    int64_t days = floor_div(l, 86400), sec = l - days * 86400;

    out->days = days;
    tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(sec / 3600);
    out->min = (int)(sec % 3600 / 60);
    out->wday = (int)((days % 7 + 10) % 7);  /* 1970-01-01 was a Thursday: 0=Mon */
}

int64_t tz_utc(const struct tz *z, int64_t days, int min)
{
    int64_t local = days * 86400 + (int64_t)min * 60;
    int32_t o1 = tz_offset(z, local - tz_offset(z, local));
    int64_t t = local - o1;
    int32_t o2 = tz_offset(z, t);
    if (o2 != o1)                      /* in a gap: the instant the clocks jumped */
        t = local - (o1 < o2 ? o1 : o2);
    return t * 1000;
}
