/*
 * guard.c - the guard plugin: what an agent must never send, checked on
 * every agent message before the buyer sees it.
 *
 * Options (in its `plugin` block; `rules` may repeat, files add up):
 *   rules FILE          the rules of the stores this instance serves (a
 *                       plugin line in a store block: that store; a global
 *                       one: every store without rules of its own)
 *   rules.STORE FILE    a global instance's rules for one store
 *   count yes|no        count each hit per agent in the plugin's Redis
 *                       values, key hits:STORE:AGENT:RULE (yes)
 *
 * Rules file (UTF-8), one rule per line, four fields, "quoted" when they
 * hold blanks (\" and \\ inside quotes):
 *   ACTION  NAME  PATTERN  REASON
 *   block   invoice_sale  特价不开发票  "Tmall: refusing an invoice costs 6 points"
 * ACTION is warn (the message is held until the agent resends it with
 * confirm: true) or block (refused: nothing is stored or sent). PATTERN
 * is text found anywhere in the message (Latin letters in any case), or
 * re:REGEX, a POSIX extended regular expression (case-insensitive; it
 * works on bytes, so `.` is one byte of a Chinese character). The first
 * block rule that matches wins, else the first warn rule.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatgw_plugin.h"

#define RULES_MAX 500
#define FIELD_MAX 512
#define TEXT_MAX 16384

struct rule {
    char name[65];
    bool block;
    bool is_re;
    char *text;                       /* a literal, lower-cased ASCII */
    regex_t re;
    char *reason;
};

struct ruleset {
    char *store;                      /* NULL: any store without its own */
    struct rule *r;
    int n;
};

struct guard {
    const struct chatgw_host *h;
    chatgw_plugin *self;
    struct ruleset *sets;
    int nsets;
    bool count;
    char text[TEXT_MAX];
};

int chatgw_plugin_version(int count, const int *supported)
{
    for (int i = 0; i < count; i++)
        if (supported[i] == 1)
            return 1;
    return -1;
}

static void lower_ascii(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static bool utf8_ok(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s++, n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 :
                               c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (n == 9 || (c < 0x20 && c != '\t') || c == 0x7f)
            return false;
        for (; n > 0; n--, s++)
            if ((*s & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* Up to max words of s (blanks between, "quoted" with \" \\); -1 on a bad quote. */
static int split(char *s, char **w, int max)
{
    int n = 0;

    for (;;) {
        s += strspn(s, " \t\r");
        if (!*s || *s == '#')
            return n;
        if (n == max)
            return max + 1;
        if (*s != '"') {
            w[n++] = s;
            s += strcspn(s, " \t\r");
            if (*s)
                *s++ = '\0';
            continue;
        }
        char *o = ++s;
        w[n++] = o;
        for (; *s != '"'; s++) {
            if (!*s)
                return -1;
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            *o++ = *s;
        }
        *o = '\0';
        s++;
    }
}

static void free_set(struct ruleset *set)
{
    for (int i = 0; i < set->n; i++) {
        if (set->r[i].is_re)
            regfree(&set->r[i].re);
        free(set->r[i].text);
        free(set->r[i].reason);
    }
    free(set->r);
    free(set->store);
}

static struct ruleset *set_for(struct guard *g, const char *store, bool create)
{
    struct ruleset *grown;

    for (int i = 0; i < g->nsets; i++)
        if ((!store && !g->sets[i].store) ||
            (store && g->sets[i].store && strcmp(g->sets[i].store, store) == 0))
            return &g->sets[i];
    if (!create || !(grown = realloc(g->sets, (size_t)(g->nsets + 1) * sizeof *grown)))
        return NULL;
    g->sets = grown;
    memset(&grown[g->nsets], 0, sizeof *grown);
    if (store && !(grown[g->nsets].store = strdup(store)))
        return NULL;
    return &g->sets[g->nsets++];
}

static const char *parse_rule(struct ruleset *set, char *line)
{
    char *w[5];
    int n = split(line, w, 4);
    struct rule *r, *grown;

    if (n == 0)
        return NULL;
    if (n != 4)
        return n < 0 ? "unterminated quote" : "expected: ACTION NAME PATTERN REASON";
    if (strcmp(w[0], "warn") != 0 && strcmp(w[0], "block") != 0)
        return "ACTION must be warn or block";
    if (!*w[1] || strlen(w[1]) > 64 || w[1][strspn(w[1], "abcdefghijklmnopqrstuvwxyz"
                                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")])
        return "NAME must be 1 to 64 of A-Z a-z 0-9 _ . -";
    if (!*w[2] || strlen(w[2]) > FIELD_MAX || strlen(w[3]) > FIELD_MAX)
        return "PATTERN empty, or a field over 512 bytes";
    if (set->n == RULES_MAX)
        return "more than 500 rules";
    if (!(grown = realloc(set->r, (size_t)(set->n + 1) * sizeof *grown)))
        return "out of memory";
    set->r = grown;
    r = &set->r[set->n];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", w[1]);
    r->block = strcmp(w[0], "block") == 0;
    if (strncmp(w[2], "re:", 3) == 0) {
        if (regcomp(&r->re, w[2] + 3, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
            return "PATTERN is not a valid POSIX extended regular expression";
        r->is_re = true;
    } else if ((r->text = strdup(w[2]))) {
        lower_ascii(r->text);
    }
    if ((!r->is_re && !r->text) || !(r->reason = strdup(w[3]))) {
        if (r->is_re)
            regfree(&r->re);
        free(r->text);
        return "out of memory";
    }
    set->n++;
    return NULL;
}

static int load_file(struct guard *g, const char *store, const char *path)
{
    struct ruleset *set = set_for(g, store, true);
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0;

    if (!set || !f) {
        g->h->log(g->self, CHATGW_LOG_ERROR, "%s: %s", path, f ? "out of memory" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        const char *why;
        lineno++;
        if (n == sizeof line - 1 && line[n - 1] != '\n')
            why = "line longer than 2 KiB";
        else {
            line[strcspn(line, "\n")] = '\0';
            why = utf8_ok((const unsigned char *)line) ? parse_rule(set, line)
                                                       : "not valid UTF-8, or a control character";
        }
        if (why) {
            g->h->log(g->self, CHATGW_LOG_ERROR, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    g->h->log(g->self, CHATGW_LOG_INFO, "%s: %d rules for %s", path, set->n,
              store ? store : "every store");
    return 0;
}

static bool matches(const struct rule *r, const char *text, const char *lower)
{
    return r->is_re ? regexec(&r->re, text, 0, NULL, 0) == 0 : strstr(lower, r->text) != NULL;
}

static int on_agent_msg(void *ud, struct chatgw_event *ev)
{
    struct guard *g = ud;
    const struct ruleset *set = ev->store ? set_for(g, ev->store, false) : NULL;
    const struct rule *hit = NULL;
    char lower[TEXT_MAX];
    size_t n = ev->text_len < TEXT_MAX ? ev->text_len : TEXT_MAX - 1;

    if (!set)
        set = set_for(g, NULL, false);
    if (!set || !ev->text)
        return CHATGW_DEFER;
    memcpy(g->text, ev->text, n);
    g->text[n] = '\0';
    memcpy(lower, g->text, n + 1);
    lower_ascii(lower);
    for (int i = 0; i < set->n && !(hit && hit->block); i++)
        if ((set->r[i].block || !hit) && matches(&set->r[i], g->text, lower))
            hit = &set->r[i];
    if (!hit)
        return CHATGW_OK;
    ev->answer_rule = hit->name;
    ev->answer_reason = hit->reason;
    if (g->count && ev->agent && (hit->block || !ev->confirmed)) {
        char key[200];
        snprintf(key, sizeof key, "hits:%s:%s:%s", ev->store ? ev->store : "", ev->agent, hit->name);
        g->h->kv_incr(g->self, key, 1, NULL, NULL);   /* best effort: Redis may be down */
    }
    return hit->block ? CHATGW_BLOCK : CHATGW_WARN;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    struct guard *g = calloc(1, sizeof *g);
    const char *v;
    int files = 0;

    if (!g)
        return CHATGW_ERR_NOMEM;
    *userdata = g;
    if (host->version < 1 || host->size < offsetof(struct chatgw_host, kv_incr) + sizeof host->kv_incr)
        return CHATGW_ERR_INVAL;
    g->h = host;
    g->self = self;
    g->count = !(v = host->option(self, "count")) || strcmp(v, "no") != 0;
    for (int i = 0; i < nopts; i++) {
        const char *store;
        if (strcmp(opts[i].key, "rules") == 0) {
            store = host->store(self);
        } else if (strncmp(opts[i].key, "rules.", 6) == 0 && opts[i].key[6]) {
            store = opts[i].key + 6;
        } else if (strcmp(opts[i].key, "count") == 0) {
            continue;
        } else {
            host->log(self, CHATGW_LOG_ERROR, "unknown option %s (rules, rules.STORE, count)",
                      opts[i].key);
            return CHATGW_ERR_INVAL;
        }
        if (load_file(g, store, opts[i].value) != 0)
            return CHATGW_ERR_INVAL;
        files++;
    }
    if (files == 0) {
        host->log(self, CHATGW_LOG_ERROR, "no rules: give `rules FILE`");
        return CHATGW_ERR_INVAL;
    }
    return host->hook(self, CHATGW_EV_AGENT_MSG, on_agent_msg, g);
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    struct guard *g = userdata;

    (void)opts; (void)nopts;
    if (!g)
        return CHATGW_OK;
    for (int i = 0; i < g->nsets; i++)
        free_set(&g->sets[i]);
    free(g->sets);
    free(g);
    return CHATGW_OK;
}
