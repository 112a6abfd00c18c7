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
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatgw_plugin.h"
#include "common/rules_file.h"

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

struct ruleset {                      /* one store's (rules_file.h) */
    struct rule *r;
    int n;
};

struct guard {
    const struct chatgw_host *h;
    chatgw_plugin *self;
    struct rules_sets sets;
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

static void free_set(void *p)
{
    struct ruleset *set = p;

    for (int i = 0; i < set->n; i++) {
        if (set->r[i].is_re)
            regfree(&set->r[i].re);
        free(set->r[i].text);
        free(set->r[i].reason);
    }
    free(set->r);
}

/* One line of a rules file (rules_file.h's parse). */
static const char *parse_rule(void *p, char *line, void *state)
{
    struct ruleset *set = p;
    char *w[5];
    int n = rules_split(line, w, 4);
    struct rule *r, *grown;

    (void)state;
    if (n == 0)
        return NULL;
    if (n != 4)
        return n < 0 ? "unterminated quote" : "expected: ACTION NAME PATTERN REASON";
    if (strcmp(w[0], "warn") != 0 && strcmp(w[0], "block") != 0)
        return "ACTION must be warn or block";
    if (!rules_name_ok(w[1]))
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

static const struct rules_file rules_format = {
    .set_size = sizeof(struct ruleset), .count_at = offsetof(struct ruleset, n), .noun = "rules",
    .line_max = 2048, .too_long = "line longer than 2 KiB", .utf8 = true, .parse = parse_rule,
};

static bool matches(const struct rule *r, const char *text, const char *lower)
{
    return r->is_re ? regexec(&r->re, text, 0, NULL, 0) == 0 : strstr(lower, r->text) != NULL;
}

static int on_agent_msg(void *ud, struct chatgw_event *ev)
{
    struct guard *g = ud;
    const struct ruleset *set = rules_sets_of(&g->sets, ev->store);
    const struct rule *hit = NULL;
    char lower[TEXT_MAX];
    size_t n = ev->text_len < TEXT_MAX ? ev->text_len : TEXT_MAX - 1;

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
        if (strcmp(opts[i].key, "count") == 0)
            continue;
        if (!rules_option(host, self, opts[i].key, "rules", &store)) {
            host->log(self, CHATGW_LOG_ERROR, "unknown option %s (rules, rules.STORE, count)",
                      opts[i].key);
            return CHATGW_ERR_INVAL;
        }
        if (!rules_file_load(host, self, &g->sets, store, opts[i].value, &rules_format, NULL))
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
    rules_sets_free(&g->sets, free_set);
    free(g);
    return CHATGW_OK;
}
