/*
 * quickreply.c - the quick-reply plugin: a store's phrase library, shortcut
 * keys, placeholders, and suggestions for the agent.
 *
 * Options (in its `plugin` block; `library` may repeat, files merge):
 *   library FILE            the library of the stores this instance serves
 *                           (a plugin line in a store block: that store;
 *                           a global one: every store without its own)
 *   library.STORE FILE      a global instance's library for one store
 *   suggest yes|no          suggest phrases for buyer messages (yes)
 *   suggest_max N           at most N keys per message (3, 1..10)
 *
 * Library file (UTF-8; plugins/README.md has the full format):
 *   # comment
 *   [greeting]                      a category; phrases below belong to it
 *   /hi 亲，您好！欢迎光临{store}~     KEY TEXT: the key starts with /, the
 *                                   text runs to the end of the line
 *     triggers 你好 | hello          indented under a phrase: words in a buyer
 *                                   message that suggest it (| separates)
 * Placeholders {store} {agent} {buyer} {product} (one the daemon does not
 * know is empty), {{ and }} for braces, \n for a line break. Categories
 * keep the order of their first appearance; a key appears once per
 * store. The file is read at load, so again on every SIGHUP; a bad file
 * fails the load (the daemon logs which line and why).
 *
 * Hooks: QUICK_REPLY (expand a key), QUICK_LIST (the library), and
 * MSG_TO_AGENT (suggestions for a buyer's message: triggers are matched
 * case-insensitively for Latin letters, as bytes for the rest of UTF-8).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatgw_plugin.h"
#include "common/rules_file.h"

#define FILE_MAX (1 << 20)
#define PHRASES_MAX 1000
#define KEY_MAX 64
#define CAT_MAX 64
#define TEXT_MAX 2000
#define TRIGGERS_MAX 16
#define TRIGGER_MAX 64

struct phrase {
    char key[KEY_MAX + 1], category[CAT_MAX + 1];
    char *text;
    char *triggers[TRIGGERS_MAX];
    int ntriggers;
};

struct library {                      /* one store's (rules_file.h) */
    struct phrase *p;
    int n;
};

struct qr {
    const struct chatgw_host *h;
    chatgw_plugin *self;
    struct rules_sets libs;
    bool suggest;
    int suggest_max;
    char out[8192];                   /* an expanded phrase (valid until the next hook) */
    char keys[512];
};

int chatgw_plugin_version(int count, const int *supported)
{
    for (int i = 0; i < count; i++)
        if (supported[i] == 1)
            return 1;
    return -1;
}

/* ---- placeholders ---- */

struct vars {
    const char *store, *agent, *buyer, *product;
};

static const char *var(const struct vars *v, const char *name, size_t n)
{
    static const struct { const char *name; size_t off; } names[] = {
        { "store", offsetof(struct vars, store) }, { "agent", offsetof(struct vars, agent) },
        { "buyer", offsetof(struct vars, buyer) }, { "product", offsetof(struct vars, product) },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, name, n) == 0) {
            const char *s = v ? *(const char *const *)((const char *)v + names[i].off) : "";
            return s ? s : "";
        }
    return NULL;
}

/* Expands tpl into out (v NULL: only checks it). -1 with why on a bad template. */
static int expand(const char *tpl, const struct vars *v, char *out, size_t cap, const char **why)
{
    size_t o = 0;

    for (const char *p = tpl; *p; ) {
        const char *add = p;
        size_t n = 1;
        if (p[0] == '{' && p[1] == '{') {
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            add = "}";
            p += 2;
        } else if (p[0] == '{') {
            const char *e = strchr(p, '}');
            if (!e) {
                *why = "unclosed { (write {{ for a brace)";
                return -1;
            }
            if (!(add = var(v, p + 1, (size_t)(e - p - 1)))) {
                *why = "unknown placeholder (known: {store} {agent} {buyer} {product})";
                return -1;
            }
            n = strlen(add);
            p = e + 1;
        } else if (p[0] == '\\' && p[1] == 'n') {
            add = "\n";
            p += 2;
        } else {
            p++;
        }
        if (o + n >= cap)
            n = cap - 1 - o;          /* truncated: the daemon's limit is larger anyway */
        if (out)
            memcpy(out + o, add, n);
        o += n;
    }
    if (out)
        out[o] = '\0';
    return 0;
}

/* ---- the library file ---- */

static char *trim(char *s)
{
    size_t n;

    s += strspn(s, " \t");
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static void lower_ascii(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void free_library(void *p)
{
    struct library *l = p;

    for (int i = 0; i < l->n; i++) {
        free(l->p[i].text);
        for (int t = 0; t < l->p[i].ntriggers; t++)
            free(l->p[i].triggers[t]);
    }
    free(l->p);
}

/* One line of a library file. NULL when fine, else the problem. */
static const char *parse_line(struct library *l, char *line, char *cat, bool *have_phrase)
{
    bool indented = line[0] == ' ' || line[0] == '\t';
    char *s = trim(line), *sp;
    const char *why;

    if (!*s || *s == '#')
        return NULL;
    if (!rules_utf8_ok((const unsigned char *)s))
        return "not valid UTF-8, or a control character";
    if (indented) {
        struct phrase *p = &l->p[l->n - 1];
        if (!*have_phrase || strncmp(s, "triggers", 8) != 0 || (s[8] != ' ' && s[8] != '\t'))
            return "an indented line must be `triggers WORD | WORD...` under a phrase";
        for (char *w = strtok(s + 9, "|"); w; w = strtok(NULL, "|")) {
            w = trim(w);
            if (!*w)
                continue;
            if (strlen(w) > TRIGGER_MAX || p->ntriggers == TRIGGERS_MAX)
                return "too many or too long triggers (16 of at most 64 bytes)";
            if (!(p->triggers[p->ntriggers] = strdup(w)))
                return "out of memory";
            lower_ascii(p->triggers[p->ntriggers++]);
        }
        return NULL;
    }
    *have_phrase = false;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']' || n < 3 || n - 2 > CAT_MAX)
            return "a category line is [NAME] (1 to 64 bytes)";
        snprintf(cat, CAT_MAX + 1, "%.*s", (int)(n - 2), s + 1);
        return NULL;
    }
    if (*s != '/')
        return "expected [category], /key text, or an indented triggers line";
    if (!cat[0])
        return "a phrase before any [category]";
    sp = s + strcspn(s, " \t");
    if (!*sp || (size_t)(sp - s) > KEY_MAX || sp - s < 2)
        return "expected /key (2 to 64 bytes) then the text";
    *sp++ = '\0';
    sp = trim(sp);
    if (!*sp || strlen(sp) > TEXT_MAX)
        return "the text is empty or longer than 2000 bytes";
    if (expand(sp, NULL, NULL, (size_t)-1, &why) != 0)
        return why;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->p[i].key, s) == 0)
            return "duplicate key";
    if (l->n == PHRASES_MAX)
        return "more than 1000 phrases";
    struct phrase *grown = realloc(l->p, (size_t)(l->n + 1) * sizeof *grown);
    if (!grown)
        return "out of memory";
    l->p = grown;
    memset(&l->p[l->n], 0, sizeof l->p[0]);
    snprintf(l->p[l->n].key, sizeof l->p[0].key, "%s", s);
    snprintf(l->p[l->n].category, sizeof l->p[0].category, "%s", cat);
    if (!(l->p[l->n].text = strdup(sp)))
        return "out of memory";
    l->n++;
    *have_phrase = true;
    return NULL;
}

struct reading {                      /* a file's lines so far */
    char cat[CAT_MAX + 1];
    bool have_phrase;
};

static const char *parse_file_line(void *set, char *line, void *state)
{
    struct reading *r = state;

    return parse_line(set, line, r->cat, &r->have_phrase);
}

static const struct rules_file library_format = {
    .set_size = sizeof(struct library), .count_at = offsetof(struct library, n),
    .noun = "phrases", .say_added = true, .line_max = 4096, .file_max = FILE_MAX,
    .too_long = "file over 1 MiB or line over 4 KiB", .parse = parse_file_line,
};

/* ---- hooks ---- */

static int on_quick(void *ud, struct chatgw_event *ev)
{
    struct qr *q = ud;
    const struct library *l = rules_sets_of(&q->libs, ev->store);
    const char *why;

    for (int i = 0; l && i < l->n; i++) {
        if (strcmp(l->p[i].key, ev->text) != 0)
            continue;
        struct vars v = { .store = ev->store ? q->h->store_name(q->self, ev->store) : NULL,
                          .agent = ev->agent_name, .buyer = ev->buyer_name,
                          .product = ev->product };
        if (expand(l->p[i].text, &v, q->out, sizeof q->out, &why) != 0)
            return CHATGW_ERR;
        ev->answer_text = q->out;
        return CHATGW_OK;
    }
    return CHATGW_DEFER;
}

static int on_list(void *ud, struct chatgw_event *ev)
{
    struct qr *q = ud;
    const struct library *l = rules_sets_of(&q->libs, ev->store);

    for (int i = 0; l && i < l->n; i++)
        if (q->h->list_add(q->self, ev, l->p[i].category, l->p[i].key, l->p[i].text) != CHATGW_OK)
            return CHATGW_ERR;
    return CHATGW_OK;
}

/* Keys whose triggers the buyer's message holds, in library order. */
static int on_msg(void *ud, struct chatgw_event *ev)
{
    struct qr *q = ud;
    const struct library *l = rules_sets_of(&q->libs, ev->store);
    char text[4096];
    size_t o = 0;
    int found = 0;

    if (!ev->from || strcmp(ev->from, "buyer") != 0 || !ev->text || !l)
        return CHATGW_DEFER;
    snprintf(text, sizeof text, "%.*s", (int)(ev->text_len < sizeof text ? ev->text_len
                                                                         : sizeof text - 1),
             ev->text);
    lower_ascii(text);
    q->keys[0] = '\0';
    for (int i = 0; i < l->n && found < q->suggest_max; i++) {
        const struct phrase *p = &l->p[i];
        for (int t = 0; t < p->ntriggers; t++) {
            if (!strstr(text, p->triggers[t]))
                continue;
            int n = snprintf(q->keys + o, sizeof q->keys - o, "%s%s", o ? " " : "", p->key);
            if (n < 0 || (size_t)n >= sizeof q->keys - o) {
                q->keys[o] = '\0';
                i = l->n;
                break;
            }
            o += (size_t)n;
            found++;
            break;
        }
    }
    if (!found)
        return CHATGW_DEFER;
    ev->answer_keys = q->keys;
    return CHATGW_OK;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    struct qr *q = calloc(1, sizeof *q);
    const char *v;
    int files = 0;

    if (!q)
        return CHATGW_ERR_NOMEM;
    *userdata = q;
    if (host->version < 1 || host->size < offsetof(struct chatgw_host, list_add) + sizeof host->list_add)
        return CHATGW_ERR_INVAL;
    q->h = host;
    q->self = self;
    q->suggest = true;
    q->suggest_max = 3;
    if ((v = host->option(self, "suggest")))
        q->suggest = strcmp(v, "no") != 0 && strcmp(v, "off") != 0 && strcmp(v, "false") != 0;
    if ((v = host->option(self, "suggest_max"))) {
        q->suggest_max = atoi(v);
        if (q->suggest_max < 1 || q->suggest_max > 10) {
            host->log(self, CHATGW_LOG_ERROR, "suggest_max must be 1 to 10, got \"%s\"", v);
            return CHATGW_ERR_INVAL;
        }
    }
    for (int i = 0; i < nopts; i++) {
        const char *store = NULL;
        struct reading r = { "", false };
        if (strcmp(opts[i].key, "suggest") == 0 || strcmp(opts[i].key, "suggest_max") == 0)
            continue;
        if (!rules_option(host, self, opts[i].key, "library", &store)) {
            host->log(self, CHATGW_LOG_ERROR, "unknown option %s (library, library.STORE, "
                      "suggest, suggest_max)", opts[i].key);
            return CHATGW_ERR_INVAL;
        }
        if (!rules_file_load(host, self, &q->libs, store, opts[i].value, &library_format, &r))
            return CHATGW_ERR_INVAL;
        files++;
    }
    if (files == 0) {
        host->log(self, CHATGW_LOG_ERROR, "no library: give `library FILE`");
        return CHATGW_ERR_INVAL;
    }
    if (host->hook(self, CHATGW_EV_QUICK_REPLY, on_quick, q) != CHATGW_OK ||
        host->hook(self, CHATGW_EV_QUICK_LIST, on_list, q) != CHATGW_OK ||
        (q->suggest && host->hook(self, CHATGW_EV_MSG_TO_AGENT, on_msg, q) != CHATGW_OK))
        return CHATGW_ERR;
    return CHATGW_OK;
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    struct qr *q = userdata;

    (void)opts; (void)nopts;
    if (!q)
        return CHATGW_OK;
    rules_sets_free(&q->libs, free_library);
    free(q);
    return CHATGW_OK;
}
