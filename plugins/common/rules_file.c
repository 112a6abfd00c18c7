/*
 * rules_file.c - the shipped plugins' reading of their per-store files.
 *
 * Each plugin keeps one set per store it has a file for (`rules.STORE
 * FILE`, or `rules FILE` for its own store or, global, for every store
 * without its own); a hook finds the set of its event's store with
 * rules_sets_of. A file is read at init, never at run time (hooks must
 * not block): a line at a time into a fixed buffer, so a line past the
 * plugin's bound is an error, not a cut; the first bad line fails the
 * load with FILE:LINE and why, which the daemon logs with the plugin.
 *
 * Compiled into each plugin (see rules_file.h): the names are hidden by
 * -fvisibility=hidden, so two plugins in one process never share them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_file.h"

bool rules_option(const struct chatgw_host *h, chatgw_plugin *self, const char *key,
                  const char *name, const char **store)
{
    size_t n = strlen(name);

    if (strncmp(key, name, n) != 0)
        return false;
    if (!key[n])
        *store = h->store(self);
    else if (key[n] == '.' && key[n + 1])
        *store = key + n + 1;
    else
        return false;
    return true;
}

void *rules_sets_find(const struct rules_sets *s, const char *store)
{
    for (int i = 0; i < s->n; i++)
        if ((!store && !s->v[i].store) ||
            (store && s->v[i].store && strcmp(s->v[i].store, store) == 0))
            return s->v[i].set;
    return NULL;
}

void *rules_sets_of(const struct rules_sets *s, const char *store)
{
    void *set = store ? rules_sets_find(s, store) : NULL;

    return set ? set : rules_sets_find(s, NULL);
}

void *rules_sets_get(struct rules_sets *s, const char *store, size_t size)
{
    void *set = rules_sets_find(s, store);
    struct rules_store *grown;

    if (set)
        return set;
    if (!(grown = realloc(s->v, (size_t)(s->n + 1) * sizeof *grown)))
        return NULL;
    s->v = grown;
    grown[s->n] = (struct rules_store){ NULL, calloc(1, size) };
    if (grown[s->n].set && store && !(grown[s->n].store = strdup(store))) {
        free(grown[s->n].set);
        return NULL;
    }
    return grown[s->n].set ? s->v[s->n++].set : NULL;
}

void rules_sets_free(struct rules_sets *s, void (*free_set)(void *set))
{
    for (int i = 0; i < s->n; i++) {
        free_set(s->v[i].set);
        free(s->v[i].set);
        free(s->v[i].store);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int count_of(const struct rules_file *how, const void *set)
{
    return *(const int *)((const char *)set + how->count_at);
}

void *rules_file_load(const struct chatgw_host *h, chatgw_plugin *self, struct rules_sets *s,
                      const char *store, const char *path, const struct rules_file *how,
                      void *state)
{
    void *set = rules_sets_get(s, store, how->set_size);
    int before = set ? count_of(how, set) : 0;
    FILE *f = fopen(path, "r");
    char line[RULES_LINE_MAX];
    long total = 0;
    int lineno = 0;

    if (!set || !f) {
        h->log(self, CHATGW_LOG_ERROR, "%s: %s", path, f ? "out of memory" : strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    while (fgets(line, how->line_max, f)) {
        size_t n = strlen(line);
        const char *why;
        lineno++;
        total += (long)n;
        if ((how->file_max && total > how->file_max) ||
            (n == (size_t)how->line_max - 1 && line[n - 1] != '\n'))
            why = how->too_long;
        else {
            line[strcspn(line, "\n")] = '\0';
            why = !how->utf8 || rules_utf8_ok((const unsigned char *)line)
                      ? how->parse(set, line, state)
                      : "not valid UTF-8, or a control character";
        }
        if (why) {
            h->log(self, CHATGW_LOG_ERROR, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return NULL;
        }
    }
    fclose(f);
    if (how->say_added)
        h->log(self, CHATGW_LOG_INFO, "%s: %d %s (%d in all for %s)", path,
               count_of(how, set) - before, how->noun, count_of(how, set),
               store ? store : "every store");
    else
        h->log(self, CHATGW_LOG_INFO, "%s: %d %s for %s", path, count_of(how, set), how->noun,
               store ? store : "every store");
    return set;
}

int rules_split(char *s, char **w, int max)
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

bool rules_utf8_ok(const unsigned char *s)
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

bool rules_name_ok(const char *s)
{
    return *s && strlen(s) <= 64 &&
           !s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")];
}
