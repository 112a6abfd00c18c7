/*
 * ctl.h - what the parts of chatgwctl share: exit codes, the parsed command
 * line, the state a command runs with, and the commands themselves.
 *
 * Each exit code is defined once, in CTL_EXIT_MAP, with the words --help
 * prints for it (man/chatgwctl.1 lists the same). A failure is reported
 * once, on stderr, by the code that detects it (ctl_fail), and its code
 * travels back up as the return value until main exits with it.
 *
 * Files: chatgwctl.c (command line, command table, main), ctl_ident.c
 * (creating, re-keying, changing, deleting identities), ctl_list.c (agent
 * and supervisor lists), ctl_floor.c (nodes, agents and queues as they
 * are now), ctl_stats.c (a day's numbers, one chat), ctl_demo.c (the demo
 * desks of `make run`),
 * ctl_link.c (Redis), ctl_stores.c (stores and groups).
 *
 * API: CTL_EXIT_MAP, ctl_fail, ctl_id_valid, ctl_need_stores, AGENT,
 *      SUPERVISOR, ident_key, ident_create, ident_reissue, groups_join,
 *      groups_split, cmd_add, cmd_set, cmd_token, cmd_del, cmd_list, cmd_demo,
 *      cmd_nodes, cmd_agents, cmd_queue, cmd_stats, cmd_chat_show,
 *      cmd_chat_close, table_add_row, table_print.
 */
#ifndef CHATGW_CTL_H
#define CHATGW_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ctl_link.h"
#include "ctl_stores.h"

/* X(name, value, meaning) */
#define CTL_EXIT_MAP(X)                                                                 \
    X(OK, 0, "success")                                                                 \
    X(FAIL, 1, "local failure (no randomness, out of memory, stdout not writable)")    \
    X(USAGE, 2, "usage error: unknown command or option, bad value, bad config file")  \
    X(NOT_FOUND, 3, "no such agent, supervisor or chat")                                      \
    X(UNKNOWN_STORE, 4, "unknown store or group, or no stores known at all")            \
    X(REDIS, 5, "Redis unreachable, password refused, or a command failed")             \
    X(EXISTS, 6, "an agent or supervisor with that id already exists")

enum ctl_exit {
#define CTL_EXIT_ENUM(name, value, text) CTL_##name = value,
    CTL_EXIT_MAP(CTL_EXIT_ENUM)
#undef CTL_EXIT_ENUM
};

#define CTL_ID_MAX 64             /* ids: 1..64 of A-Z a-z 0-9 _ . - */
#define CTL_TOKEN_BYTES 32
#define CTL_TOKEN_HEX (CTL_TOKEN_BYTES * 2)
#define CTL_NAME_MAX_CHARS 64
#define CTL_CAPACITY_DEFAULT 5
#define CTL_CAPACITY_MAX 1000
#define CTL_GROUPS_TEXT (CONFIG_MAX_GROUPS * (CTL_ID_MAX + 1) + 1)

/* Prints "chatgwctl: <message>\n" on stderr; returns code. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An agent, supervisor, store or group id: 1..64 of A-Z a-z 0-9 _ . - */
bool ctl_id_valid(const char *s);
/* A day as YYYY-MM-DD (a real date); a chat id: 32 lowercase hex (ctl_stats.c). */
bool ctl_day_valid(const char *s);
bool ctl_chat_valid(const char *s);

/* What is managed: agents and supervisors differ only in this. */
struct kind {
    const char *noun;             /* "agent": also the token value prefix and kick field */
    const char *prefix;           /* key of one identity: prefix + id */
    const char *set;              /* set of all ids */
    bool agent;                   /* has groups and capacity; requeued when deleted */
};
extern const struct kind AGENT, SUPERVISOR;

/* Options of the command line (O_* bits say which were given). */
enum { O_NAME = 1, O_STORE = 2, O_GROUP = 4, O_CAPACITY = 8, O_JSON = 16, O_CSV = 32,
       O_DAYS = 64, O_DATE = 128, O_DAY = 256, O_AGENT = 512, O_SHIFT = 1024 };

struct opts {
    const char *redis, *config;
    const char *name, *store;
    const char *day, *agent;           /* stats: --day YYYY-MM-DD, --agent ID */
    const char *shift;                 /* stats: --shift NAME */
    char *groups[CONFIG_MAX_GROUPS];   /* point into argv, deduplicated */
    int ngroups;
    bool too_many_groups;
    int capacity;
    const char *days, *date;      /* roster: --days, --date */
    const char *arg;              /* a command's word after its id (roster set: the shifts) */
    unsigned given;
};

/* Everything a command runs with. */
struct ctl {
    struct opts o;
    struct config cfg;            /* with -c */
    bool have_cfg;
    struct ctl_link link;         /* connected before the command runs */
    struct ctl_stores stores;     /* read on first use: ctl_need_stores */
    bool have_stores;
};

/* Reads the stores (from the config with -c, else Redis) once. */
int ctl_need_stores(struct ctl *x);

/* A new identity's settings (groups and capacity: agents only). */
struct ident_new {
    const char *id, *name, *store;
    char *const *groups;
    int ngroups, capacity;
};

void ident_key(const struct kind *k, const char *id, char *out, size_t cap);
/* Creates it with a new token (into tok). CTL_OK, CTL_EXISTS (not
 * reported) or an error (reported). */
int ident_create(struct ctl *x, const struct kind *k, const struct ident_new *n,
                 char tok[CTL_TOKEN_HEX + 1]);
/* A new token (into tok) for an existing one, whose sessions are kicked;
 * with reset, its settings are put back to those. CTL_OK, CTL_NOT_FOUND
 * (not reported) or an error (reported). */
int ident_reissue(struct ctl *x, const struct kind *k, const char *id,
                  char tok[CTL_TOKEN_HEX + 1], const struct ident_new *reset);

/* v[0..n) joined with sep into out. */
void groups_join(char *const *v, int n, char sep, char *out, size_t cap);
/* A space-separated list split in place into v; returns how many. */
int groups_split(char *s, char **v, int max);

/* The commands: id is NULL for those that take none. */
typedef int command_fn(struct ctl *x, const struct kind *k, const char *id);
command_fn cmd_add, cmd_set, cmd_token, cmd_del, cmd_list, cmd_demo;
/* The floor (ctl_floor.c): reads only. */
command_fn cmd_nodes, cmd_agents, cmd_queue;
/* The roster (ctl_roster.c); import's id is the file. */
command_fn cmd_roster_set, cmd_roster_del, cmd_roster_show, cmd_roster_import, cmd_roster_export;
/* {k:"roster", agent?} on cg:ctl: the nodes compute shifts and group hours again. */
void roster_notice(struct ctl *x, const char *agent);

/* The numbers and the chats (ctl_stats.c): stats reads; chat show reads,
 * chat close closes. */
command_fn cmd_stats, cmd_chat_show, cmd_chat_close;

/* Tables (ctl_floor.c): rows of text cells, each column typed for JSON
 * (C_NUM: a number with a fraction); "-" is null in JSON. */
#define CTL_MAX_COLS 20
#define CTL_CELL 160
enum col_type { C_TEXT, C_INT, C_BOOL, C_NUM };
struct table {
    int ncol;
    const char *head[CTL_MAX_COLS];     /* for people and CSV */
    const char *json[CTL_MAX_COLS];     /* JSON keys */
    enum col_type type[CTL_MAX_COLS];
    size_t nrows, cap;
    char (*cells)[CTL_MAX_COLS][CTL_CELL];
};
/* A new zeroed row, or NULL (out of memory). */
char (*table_add_row(struct table *t))[CTL_CELL];
/* Prints t as asked (people, --json, --csv) and frees its rows; an empty
 * table for people says `none` on stderr. */
int table_print(struct ctl *x, struct table *t, const char *none);
/* Writes v to stdout as one CSV cell (RFC 4180 quoting). */
void csv_cell(const char *v);

#endif
