/*
 * rules_file.h - how the shipped plugins read their per-store files (the
 * guard's and escalate's rules, quickreply's phrase library): a file a
 * line at a time within bounds, its lines split into words, one set of
 * what it says per store, and an error as FILE:LINE: why.
 *
 * plugins/common/ is compiled into each plugin's .so (the Makefile adds
 * it): it is neither a daemon export nor a shared library, so a plugin
 * still needs only chatgw_plugin.h. What a line means stays the plugin's
 * (its `parse` callback).
 *
 * API: rules_option, rules_sets_get, rules_sets_find, rules_sets_of,
 * rules_sets_free, rules_file_load, rules_split, rules_utf8_ok,
 * rules_name_ok.
 */
#ifndef CHATGW_PLUGINS_RULES_FILE_H
#define CHATGW_PLUGINS_RULES_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "chatgw_plugin.h"

#define RULES_LINE_MAX 4096            /* the largest line_max */

/* One set per store; store NULL: any store without its own. */
struct rules_store {
    char *store;
    void *set;                         /* set_size bytes, zeroed when made */
};

struct rules_sets {
    struct rules_store *v;
    int n;
};

/* How a plugin's file reads, and what its load says. */
struct rules_file {
    size_t set_size;                   /* the plugin's set */
    size_t count_at;                   /* offsetof the set's int count of what it holds */
    const char *noun;                  /* what it holds: "rules", "phrases" */
    bool say_added;                    /* log what the file added and the total, not the total */
    int line_max;                      /* bytes a line may take, its newline included */
    long file_max;                     /* bytes the file may take, 0: any */
    const char *too_long;              /* the error for a line (or the file) past them */
    bool utf8;                         /* each line UTF-8 with no control character, else refused */
    /* One line, its newline gone. NULL when fine, else why not. */
    const char *(*parse)(void *set, char *line, void *state);
};

/* Is key NAME (store: the plugin's own, NULL for a global one) or
 * NAME.STORE (that store)? */
bool rules_option(const struct chatgw_host *h, chatgw_plugin *self, const char *key,
                  const char *name, const char **store);

/* The store's set (NULL: the default's), made if need be; NULL out of memory. */
void *rules_sets_get(struct rules_sets *s, const char *store, size_t size);
/* The store's own set, or NULL. */
void *rules_sets_find(const struct rules_sets *s, const char *store);
/* The set that serves a store: its own, else the default, else NULL. */
void *rules_sets_of(const struct rules_sets *s, const char *store);
/* Frees every set and what it holds (free_set: what one set holds). */
void rules_sets_free(struct rules_sets *s, void (*free_set)(void *set));

/* Reads path into the store's set, line by line through how->parse (state
 * is its own), and logs what it holds now. Logs an error as "PATH: why" or
 * "PATH:LINE: why" and returns NULL; else the set. */
void *rules_file_load(const struct chatgw_host *h, chatgw_plugin *self, struct rules_sets *s,
                      const char *store, const char *path, const struct rules_file *how,
                      void *state);

/* Up to max words of s (blanks between, "quoted" with \" \\, # starts a
 * comment): their count, max + 1 when there are more, -1 on a bad quote. */
int rules_split(char *s, char **w, int max);

/* UTF-8 with no control character but tab. */
bool rules_utf8_ok(const unsigned char *s);

/* A rule's or group's name: 1 to 64 of A-Z a-z 0-9 _ . - */
bool rules_name_ok(const char *s);

#endif
