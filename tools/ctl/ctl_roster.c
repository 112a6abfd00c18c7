/*
 * ctl_roster.c - `roster set|del|show|import|export`: which shifts each
 * agent works, kept in Redis (cg:roster:<agent>) so that every node
 * agrees (router.lua reads it to decide who is on shift).
 *
 * An agent's roster is a hash: a weekday ("mon".."sun") or a date
 * ("YYYY-MM-DD", which wins over its weekday) -> its shifts, comma-
 * separated, or "-" for none. An agent with no roster works every shift
 * of its store; one whose roster names dates only, every shift on the
 * other dates. Shift names are checked against the ones the nodes publish
 * for the agent's store (cg:store:<id> field `shifts`).
 *
 * CSV (import and export), one header line then rows:
 *     agent,shifts,days,date
 *     ann,day;late,mon-fri,
 *     ann,-,,2026-02-17
 * shifts are separated by `;` ("-" = none); days (mon-fri, sat-sun,
 * mon,wed needs quotes) or date, not both; neither = every day. The whole
 * file is checked first; a bad row is reported as FILE:LINE: problem and
 * nothing is written. An import replaces the rosters of the agents it
 * names.
 *
 * API: cmd_roster_set, cmd_roster_del, cmd_roster_show, cmd_roster_import,
 *      cmd_roster_export, roster_notice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"
#include "keys.h"
#include "shift.h"

#define ROSTER_FIELD_MAX 16
#define ROSTER_ROWS_MAX 100000
#define ROSTER_LINE_MAX 1024

static const char *const DAY[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void rkey(const char *agent, char *out, size_t cap)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, key_pattern(KEY_ROSTER), agent);
#pragma GCC diagnostic pop
}

static void skey(enum key_name k, const char *id, char *out, size_t cap)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, key_pattern(k), id);
#pragma GCC diagnostic pop
}

/* Checks that agent exists and each of `shifts` (sep-separated, or "-") is
 * a shift of its store; why says what is wrong. 0 or -1 (CTL_REDIS: -2). */
static int check_shifts(struct ctl *x, const char *agent, const char *shifts, char sep,
                        char *why, size_t cap)
{
    char k[160], store[CTL_ID_MAX + 1];
    redisReply *r;

    skey(KEY_AGENT, agent, k, sizeof k);
    if (!(r = link_callv(&x->link, "HGET", k, "store", NULL)))
        return -2;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        snprintf(why, cap, "no agent \"%s\"", agent);
        return -1;
    }
    snprintf(store, sizeof store, "%s", r->str);
    freeReplyObject(r);
    if (strcmp(shifts, "-") == 0)
        return 0;
    skey(KEY_STORE, store, k, sizeof k);
    if (!(r = link_callv(&x->link, "HGET", k, "shifts", NULL)))
        return -2;
    char known[1024];
    snprintf(known, sizeof known, " %s ", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    for (const char *p = shifts; *p;) {
        size_t n = strcspn(p, (char[]){ sep, 0 });
        char name[SHIFT_NAME_MAX + 3];
        if (n == 0 || n > SHIFT_NAME_MAX) {
            snprintf(why, cap, "bad shift list \"%s\"", shifts);
            return -1;
        }
        snprintf(name, sizeof name, " %.*s ", (int)n, p);
        if (!strstr(known, name)) {
            snprintf(why, cap, "store \"%s\" has no shift \"%.*s\" (its shifts:%.*s)", store,
                     (int)n, p, (int)strlen(known) - 1, known);
            return -1;
        }
        p += n;
        if (*p)
            p++;
    }
    return 0;
}

/* The fields a row sets: a date, or the days' names. */
static int row_fields(const char *days, const char *date, const char **f, char *datebuf,
                      char *why, size_t cap)
{
    int n = 0;

    if (days && *days && date && *date) {
        snprintf(why, cap, "days or date, not both");
        return -1;
    }
    if (date && *date) {
        if (shift_parse_date(date) < 0) {
            snprintf(why, cap, "\"%s\" is not a date YYYY-MM-DD", date);
            return -1;
        }
        snprintf(datebuf, 11, "%s", date);
        f[n++] = datebuf;
        return n;
    }
    int bits = days && *days ? shift_parse_days(days) : 0x7f;
    if (bits < 0) {
        snprintf(why, cap, "\"%s\" is not a list of days (mon-fri, mon,wed, sat-sun)", days);
        return -1;
    }
    for (int i = 0; i < 7; i++)
        if (bits & (1 << i))
            f[n++] = DAY[i];
    return n;
}

static int hset_fields(struct ctl *x, const char *agent, const char **f, int n, const char *val)
{
    char k[160];
    const char *argv[2 + 2 * ROSTER_FIELD_MAX];
    int argc = 0;

    rkey(agent, k, sizeof k);
    argv[argc++] = "HSET";
    argv[argc++] = k;
    for (int i = 0; i < n; i++) {
        argv[argc++] = f[i];
        argv[argc++] = val;
    }
    redisReply *r = link_call(&x->link, argc, argv, NULL);
    if (!r)
        return CTL_REDIS;
    freeReplyObject(r);
    return CTL_OK;
}

/*
 * Tells every node that a roster or an agent changed: {k:"roster",
 * agent?} on cg:ctl (event ROSTER). Each node runs its stores' shift step
 * again: agents hear their shift, and each group's service hours are
 * computed anew. The change is written already; a lost notice is only
 * late (the next shift boundary does the same), so it warns, not fails.
 */
void roster_notice(struct ctl *x, const char *agent)
{
    struct proto_writer w;

    proto_writer_init(&w, PROTO_MSGPACK, 0);
    proto_w_map(&w, agent ? 2 : 1);
    proto_w_key(&w, "k");
    proto_w_cstr(&w, "roster");
    if (agent) {
        proto_w_key(&w, "agent");
        proto_w_cstr(&w, agent);
    }
    const char *argv[] = { "PUBLISH", key_pattern(KEY_CTL_CHAN), proto_writer_data(&w) };
    size_t lens[] = { 7, strlen(argv[1]), w.len };
    redisReply *r = w.err ? NULL : link_call(&x->link, 3, argv, lens);
    if (!r)
        fprintf(stderr, "chatgwctl: warning: the nodes were not told; they see the change "
                "at the next shift boundary\n");
    freeReplyObject(r);
    proto_writer_free(&w);
}

/* Commas of the command line become the stored separator (,). */
int cmd_roster_set(struct ctl *x, const struct kind *k, const char *id)
{
    const char *f[ROSTER_FIELD_MAX];
    char why[512], date[11];
    int n, rc;

    (void)k;
    if ((n = row_fields(x->o.days, x->o.date, f, date, why, sizeof why)) < 0)
        return ctl_fail(CTL_USAGE, "%s", why);
    if ((rc = check_shifts(x, id, x->o.arg, ',', why, sizeof why)) == -2)
        return CTL_REDIS;
    if (rc < 0)
        return ctl_fail(strncmp(why, "no agent", 8) == 0 ? CTL_NOT_FOUND : CTL_USAGE, "%s", why);
    if ((rc = hset_fields(x, id, f, n, x->o.arg)) == CTL_OK)
        roster_notice(x, id);
    return rc;
}

int cmd_roster_del(struct ctl *x, const struct kind *k, const char *id)
{
    const char *f[ROSTER_FIELD_MAX], *argv[2 + ROSTER_FIELD_MAX];
    char why[256], date[11], key[160];
    int n, argc = 0;
    redisReply *r;

    (void)k;
    rkey(id, key, sizeof key);
    if (!x->o.days && !x->o.date) {
        r = link_callv(&x->link, "DEL", key, NULL);
    } else {
        if ((n = row_fields(x->o.days, x->o.date, f, date, why, sizeof why)) < 0)
            return ctl_fail(CTL_USAGE, "%s", why);
        argv[argc++] = "HDEL";
        argv[argc++] = key;
        for (int i = 0; i < n; i++)
            argv[argc++] = f[i];
        r = link_call(&x->link, argc, argv, NULL);
    }
    if (!r)
        return CTL_REDIS;
    freeReplyObject(r);
    roster_notice(x, id);
    return CTL_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every agent id, sorted (in *r, to free). */
static int agent_ids(struct ctl *x, redisReply **r, const char ***ids, size_t *n)
{
    if (!(*r = link_callv(&x->link, "SMEMBERS", key_pattern(KEY_AGENTS), NULL)))
        return CTL_REDIS;
    *n = (*r)->type == REDIS_REPLY_ARRAY ? (*r)->elements : 0;
    *ids = calloc(*n + 1, sizeof **ids);
    if (!*ids)
        return ctl_fail(CTL_FAIL, "out of memory");
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = (*r)->element[i]->str;
    qsort(*ids, *n, sizeof **ids, cmp_str);
    return CTL_OK;
}

/* The shifts of one roster hash on a date: its date field, else its
 * weekday's; "*" = no roster (every shift); "" = none. */
static const char *on_date(const redisReply *h, const char *date)
{
    if (h->type != REDIS_REPLY_ARRAY || h->elements == 0)
        return "*";
    const char *v = reply_hash_get(h, date);
    if (!v) {
        int64_t d = shift_parse_date(date);
        bool weekly = false;
        for (int i = 0; i < 7; i++)
            weekly = weekly || reply_hash_get(h, DAY[i]);
        if (!weekly)
            return "*";                  /* dates only: every shift on the others */
        v = reply_hash_get(h, DAY[(d % 7 + 10) % 7]);
    }
    return !v || strcmp(v, "-") == 0 ? "" : v;
}

int cmd_roster_show(struct ctl *x, const struct kind *k, const char *id)
{
    redisReply *all, *h;
    const char **ids;
    size_t n;
    char key[160];
    bool json = x->o.given & O_JSON;
    int rc;

    (void)k; (void)id;
    if (x->o.date && shift_parse_date(x->o.date) < 0)
        return ctl_fail(CTL_USAGE, "\"%s\" is not a date YYYY-MM-DD", x->o.date);
    if ((rc = agent_ids(x, &all, &ids, &n)) != CTL_OK)
        goto out;
    if (json)
        printf("{");
    for (size_t i = 0; i < n; i++) {
        rkey(ids[i], key, sizeof key);
        if (!(h = link_callv(&x->link, "HGETALL", key, NULL))) {
            rc = CTL_REDIS;
            break;
        }
        if (x->o.date) {
            const char *v = on_date(h, x->o.date);
            if (json)
                printf("%s\"%s\":\"%s\"", i ? "," : "", ids[i], v);
            else
                printf("%s\t%s\n", ids[i], strcmp(v, "*") == 0 ? "(every shift)" :
                       *v ? v : "(off)");
        } else {
            if (json)
                printf("%s\"%s\":{", i ? "," : "", ids[i]);
            else
                printf("%s", ids[i]);
            for (size_t j = 0; h->type == REDIS_REPLY_ARRAY && j + 1 < h->elements; j += 2) {
                if (json)
                    printf("%s\"%s\":\"%s\"", j ? "," : "", h->element[j]->str,
                           h->element[j + 1]->str);
                else
                    printf(" %s=%s", h->element[j]->str, h->element[j + 1]->str);
            }
            if (json)
                printf("}");
            else
                printf("%s\n", h->elements ? "" : " (every shift)");
        }
        freeReplyObject(h);
    }
    if (json)
        printf("}\n");
out:
    free(ids);
    if (all)
        freeReplyObject(all);
    return rc;
}

int cmd_roster_export(struct ctl *x, const struct kind *k, const char *id)
{
    redisReply *all, *h;
    const char **ids;
    size_t n;
    char key[160];
    int rc;

    (void)k; (void)id;
    if ((rc = agent_ids(x, &all, &ids, &n)) != CTL_OK)
        goto out;
    printf("agent,shifts,days,date\n");
    for (size_t i = 0; i < n; i++) {
        rkey(ids[i], key, sizeof key);
        if (!(h = link_callv(&x->link, "HGETALL", key, NULL))) {
            rc = CTL_REDIS;
            break;
        }
        for (size_t j = 0; h->type == REDIS_REPLY_ARRAY && j + 1 < h->elements; j += 2) {
            const char *f = h->element[j]->str;
            char shifts[1024];
            snprintf(shifts, sizeof shifts, "%s", h->element[j + 1]->str);
            for (char *p = shifts; *p; p++)
                if (*p == ',')
                    *p = ';';
            bool date = shift_parse_date(f) >= 0;
            printf("%s,%s,%s,%s\n", ids[i], shifts, date ? "" : f, date ? f : "");
        }
        freeReplyObject(h);
    }
out:
    free(ids);
    if (all)
        freeReplyObject(all);
    return rc;
}

struct row {
    char agent[CTL_ID_MAX + 1], shifts[512];
    const char *f[ROSTER_FIELD_MAX];
    char date[11];
    int nf;
};

/* Splits a CSV line in place into at most 5 fields ("..." quotes a field,
 * "" inside is a quote); the count, or -1 for a broken quote. */
static int csv_fields(char *s, char **v)
{
    int n = 0;

    while (n < 5) {
        if (*s == '"') {
            char *o = ++s;
            v[n++] = o;
            for (; *s && !(*s == '"' && s[1] != '"'); s++) {
                if (*s == '"')
                    s++;                /* "" -> " */
                *o++ = *s;
            }
            if (*s != '"')
                return -1;
            *o = '\0';
            s++;
            if (*s && *s != ',')
                return -1;
        } else {
            v[n++] = s;
            s += strcspn(s, ",");
        }
        if (!*s)
            return n;
        *s++ = '\0';
    }
    return n;
}

int cmd_roster_import(struct ctl *x, const struct kind *k, const char *file)
{
    FILE *fp = fopen(file, "r");
    char line[ROSTER_LINE_MAX + 2], why[512];
    struct row *rows = NULL;
    size_t nrows = 0, cap = 0;
    int lineno = 0, bad = 0, rc = CTL_OK;

    (void)k;
    if (!fp)
        return ctl_fail(CTL_USAGE, "%s: cannot open", file);
    while (fgets(line, sizeof line, fp)) {
        char *v[5];
        size_t len = strlen(line);
        lineno++;
        if (len > ROSTER_LINE_MAX) {
            fprintf(stderr, "%s:%d: line longer than %d bytes\n", file, lineno, ROSTER_LINE_MAX);
            bad++;
            while (len && line[len - 1] != '\n' && fgets(line, sizeof line, fp))
                len = strlen(line);
            continue;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, "agent,shifts,days,date") != 0) {
                fprintf(stderr, "%s:1: the header must be agent,shifts,days,date\n", file);
                bad++;
            }
            continue;
        }
        if (!line[0])
            continue;
        if (csv_fields(line, v) != 4) {
            fprintf(stderr, "%s:%d: expected 4 fields: agent,shifts,days,date\n", file, lineno);
            bad++;
            continue;
        }
        if (nrows == cap) {
            struct row *nr = cap < ROSTER_ROWS_MAX ? realloc(rows, (cap ? cap * 2 : 64) * sizeof *nr)
                                                   : NULL;
            if (!nr) {
                rc = ctl_fail(CTL_FAIL, "%s:%d: too many rows or out of memory", file, lineno);
                goto out;
            }
            rows = nr;
            cap = cap ? cap * 2 : 64;
        }
        struct row *w = &rows[nrows];
        int c;
        if (!ctl_id_valid(v[0])) {
            fprintf(stderr, "%s:%d: bad agent id \"%s\"\n", file, lineno, v[0]);
            bad++;
            continue;
        }
        if ((w->nf = row_fields(v[2], v[3], w->f, w->date, why, sizeof why)) < 0 ||
            (c = check_shifts(x, v[0], v[1], ';', why, sizeof why)) == -1) {
            fprintf(stderr, "%s:%d: %s\n", file, lineno, why);
            bad++;
            continue;
        }
        if (c == -2) {
            rc = CTL_REDIS;
            goto out;
        }
        snprintf(w->agent, sizeof w->agent, "%s", v[0]);
        snprintf(w->shifts, sizeof w->shifts, "%s", v[1]);
        for (char *p = w->shifts; *p; p++)
            if (*p == ';')
                *p = ',';
        nrows++;
    }
    if (bad) {
        rc = ctl_fail(CTL_USAGE, "%s: %d bad row%s; nothing written", file, bad, bad == 1 ? "" : "s");
        goto out;
    }
    /* the file is good: the rosters of the agents it names are replaced */
    for (size_t i = 0; i < nrows && rc == CTL_OK; i++) {
        bool first = true;
        for (size_t j = 0; j < i; j++)
            first = first && strcmp(rows[j].agent, rows[i].agent) != 0;
        if (first) {
            char key[160];
            rkey(rows[i].agent, key, sizeof key);
            redisReply *r = link_callv(&x->link, "DEL", key, NULL);
            if (!r)
                rc = CTL_REDIS;
            else
                freeReplyObject(r);
        }
        if (rows[i].nf == 1 && shift_parse_date(rows[i].f[0]) >= 0)
            rows[i].f[0] = rows[i].date;        /* the row moved: point at its own copy */
        if (rc == CTL_OK)
            rc = hset_fields(x, rows[i].agent, rows[i].f, rows[i].nf, rows[i].shifts);
    }
    if (rc == CTL_OK) {
        roster_notice(x, NULL);
        printf("%zu row%s imported\n", nrows, nrows == 1 ? "" : "s");
    }
out:
    free(rows);
    fclose(fp);
    return rc;
}
