/*
 * config.h - chatgwd's configuration: one table of options drives parsing,
 * defaults, validation (--check-config) and the commented conf/chatgw.conf.
 *
 * File format (one option per line, '#' starts a comment, values may be
 * double-quoted with \" \\ \n escapes; durations take ms|s|m|h|d suffixes,
 * sizes take k|m suffixes (KiB, MiB)):
 *
 *     listen 127.0.0.1:8080
 *     max_frame_bytes 8k
 *     store demo                 # starts a store block; options below it
 *       name "Demo Flagship Store"   # belong to that store until the next
 *       greeting "Hello from {store}" # `store` line
 *       plugin guard guard.so    # a plugin, for this store only; the lines
 *         rules /etc/chatgw/guard.rules  # indented deeper are its options
 *
 * `plugin NAME PATH` may stand above the first store (a global plugin) or
 * in a store block; its options are `key value...` lines indented deeper
 * than it, kept as text for the plugin (plugin.c loads it; this file only
 * reads the lines, so chatgwctl shares it without loading anything).
 *
 * Errors are reported one per line as `FILE:LINE: OPTION: PROBLEM`, with
 * non-printable bytes as \xHH and no Redis URL quoted. A file is at most
 * 1 MiB, a line at most 4096 bytes.
 *
 * API: config_defaults, config_load, config_free, config_find_store,
 *      config_store_has_group, config_write_defaults, config_write_man.
 */
#ifndef CHATGW_CONFIG_H
#define CHATGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_GROUPS 16
#define CONFIG_MAX_ORIGINS 16
#define CONFIG_MAX_TEXTS 8        /* hold_text lines per store */
#define CONFIG_ID_MAX 64          /* store ids, group names: [A-Za-z0-9_.-]{1,64} */
#define CONFIG_MAX_SHIFTS 32      /* shift lines per store */
#define CONFIG_MAX_DATES 128      /* closed lines, and extend lines, per store */

struct shift_plan;

#define CONFIG_MAX_PLUGINS 16     /* plugin lines per scope (global, each store) */
#define CONFIG_MAX_PLUGIN_OPTS 64 /* option lines per plugin */

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* One `plugin NAME PATH` line and its indented options. */
struct plugin_conf {
    char *name;                   /* [A-Za-z0-9_.-]{1,64}, unique in its scope */
    char *path;                   /* as written: with a slash, used as is; else
                                     looked up in the plugin directory */
    char **keys, **values;        /* nopts options, in file order */
    int nopts;
    int line;                     /* where it was configured */
};

struct store_conf {
    char *id;
    char *name;                   /* display name, {store} in templates */
    char *greeting;               /* first-message auto reply; {store} {buyer} */
    char *hold_text[CONFIG_MAX_TEXTS]; /* holding replies, taken in turn */
    int nhold_text;
    char *transfer_text;          /* the buyer is moved to another agent or group */
    char *agent_gone_text;        /* its agent was disconnected past agent_grace */
    char *reassign_text;          /* its agent did not answer: a colleague takes over */
    char *farewell_sold, *farewell_no_sale; /* close with outcome sold / no_sale */
    char *timezone;               /* IANA name, e.g. Asia/Shanghai */
    char *groups[CONFIG_MAX_GROUPS];
    int ngroups;                  /* default: pre-sales, after-sales */
    char *buyer_origins[CONFIG_MAX_ORIGINS]; /* store pages that may open its chats */
    int nbuyer_origins;           /* 0 = any page (the widget is embedded anywhere) */
    char *default_group;          /* default: first group */
    uint32_t max_text_chars;      /* default 2000 */
    uint64_t hold_after_ms;       /* unanswered buyer msg -> holding reply; 20s */
    uint64_t hold_every_ms;       /* holding replies at least this far apart; 30s */
    uint32_t hold_max;            /* holding replies per unanswered stretch; 3 */
    uint64_t breach_after_ms;     /* unanswered this long -> flagged; 30s */
    uint64_t reassign_after_ms;   /* unanswered -> a free colleague; 60s; 0 = off */
    uint64_t away_reassign_ms;    /* agent away this long -> its chats move; 2m; 0 = off */
    struct plugin_conf *plugins;  /* this store's own plugins */
    size_t nplugins;
    char *shift[CONFIG_MAX_SHIFTS]; /* "NAME HH:MM-HH:MM [DAYS]" (shift.h) */
    int nshift;                   /* 0: no service hours, always open */
    char *closed[CONFIG_MAX_DATES]; /* "YYYY-MM-DD" */
    int nclosed;
    char *extend[CONFIG_MAX_DATES]; /* "YYYY-MM-DD HH:MM-HH:MM" */
    int nextend;
    bool overtime;                /* an agent off shift who sets itself ready takes chats */
    char *off_hours_text;         /* to a buyer while closed; {opens} */
    struct shift_plan *plan;      /* from the lines above; NULL = always open */
    char *context_secret;         /* HMAC key of hello's signed context; "" = ignore them */
    uint32_t priority_weight_ordered, priority_weight_paid, priority_weight_vip; /* 20 50 100 */
    uint32_t sticky_days;         /* a returning buyer's last agent, kept: 7; 0 = off */
    uint64_t sticky_wait_ms;      /* waiting for that agent while it is full: 10s */
};

struct config {
    char *path;                   /* file it was read from, or NULL */

    /* network */
    char *listen;                 /* "HOST:PORT", default 127.0.0.1:8080 */
    bool reuseport;               /* SO_REUSEPORT on the listener; default no */
    char *tls_cert, *tls_key;     /* PEM paths; TLS when both set */
    char *web_root;               /* static pages served at /: "" installed, "off" none */
    uint32_t web_max_bytes;       /* web_root held in memory, at most: 8m */
    uint32_t web_max_files;       /* 500 */
    char *metrics_listen;         /* "HOST:PORT" serving /metrics; "" = on listen */
    char *allowed_origins[CONFIG_MAX_ORIGINS]; /* browser pages that may open a desk */
    int nallowed_origins;         /* 0 = the desk's own origin only */

    /* storage */
    char *redis;                  /* URL; empty/NULL = embedded redis-server */
    char *redis_server;           /* binary for the embedded one: "redis-server" */
    char *state_dir;              /* default /var/lib/chatgw */
    uint64_t redis_connect_timeout_ms;  /* 2s */
    uint64_t redis_timeout_ms;          /* a reply overdue this long: link down; 2s */
    uint64_t redis_backoff_max_ms;      /* 5s */
    uint64_t transcript_ttl_ms;   /* kept after close (and after last activity): 90d */
    uint64_t stats_ttl_ms;        /* hourly statistics kept: 90d */
    uint64_t stats_flush_ms;      /* response times sent to Redis this often: 1s */

    /* identity and logging */
    char *node_id;                /* default: hostname:port */
    int log_level;                /* error|warn|info|debug, default info */

    /* per-session limits */
    uint32_t max_frame_bytes;     /* 8k; larger frame -> close 1009 */
    uint32_t max_depth;           /* 8 */
    uint32_t max_elems;           /* 512 values per frame */
    uint32_t max_sessions;        /* per process, 19000 */
    uint32_t max_sessions_per_ip; /* 200; over -> close 1013 */
    double msg_rate;              /* buyer msgs per second sustained: 10 */
    uint32_t msg_burst;           /* token bucket depth: 20 */
    double new_chat_rate;         /* new chats per second per IP: 1 */
    uint32_t new_chat_burst;      /* 60 */
    double signal_rate;           /* typing/read frames per second: 5 */
    uint32_t signal_burst;        /* 20; the excess is dropped */
    uint32_t bad_frames_max;      /* 3 bad frames ... */
    uint64_t bad_frames_window_ms;/* ... within 10s -> close 1008 */
    uint32_t outbound_max_bytes;  /* 256k queued to a slow reader -> close 1008 */
    uint32_t inflight_max;        /* Redis requests in flight per session: 16 */
    uint64_t hello_timeout_ms;    /* no hello within 10s -> close 1008 */
    uint64_t ping_interval_ms;    /* idle this long -> ping: 30s */
    uint64_t idle_timeout_ms;     /* nothing heard this long -> close 1001: 75s */
    uint64_t shutdown_timeout_ms; /* SIGTERM drain: 5s */
    uint64_t typing_relay_ms;     /* typing relayed at most once per this, per session and chat: 2s */
    double agent_msg_rate;        /* agent messages per second: 50 */
    uint32_t agent_msg_burst;     /* 100 */
    uint32_t login_fail_max;      /* failed logins per IP per window: 5 */
    uint64_t login_fail_window_ms;/* 1m */
    uint32_t agent_sessions_max;  /* open sessions per agent, all nodes: 32 */
    uint64_t agent_grace_ms;      /* chats kept after an agent's last session: 30s */
    uint64_t node_heartbeat_ms;   /* 2s */
    uint64_t node_timeout_ms;     /* 10s */
    uint32_t history_max;         /* messages with assign/welcome: 50 */
    uint32_t assign_batch;        /* chats per assignment step: 16 */
    uint32_t context_max_bytes;   /* hello's signed context, longest: 4k */
    uint64_t test_clock_offset_ms;/* tests only (needs --test-clock): the wall clock runs ahead */
    uint32_t snapshot_chats;      /* live chats in a supervisor's snapshot: 500 */
    uint32_t supervisor_watch_max; /* chats one supervisor session watches: 20 */
    uint32_t context_id_bytes;    /* a signed context's buyer.id, product.id: 64 */
    uint32_t context_name_chars;  /* its buyer.name: 64 */
    uint32_t context_title_chars; /* its product.title: 200 */
    uint32_t context_price_chars; /* its product.price: 32 */
    uint32_t context_url_bytes;   /* its product.url: 2048 */
    uint32_t buyer_notes_max;     /* notes kept per signed buyer of a store, newest: 20 */
    uint32_t buyer_note_max_bytes; /* one note on a buyer, longest: 1k */
    uint64_t buyer_notes_keep_ms; /* a note on a buyer is kept this long: 365d */

    /* plugins */
    uint64_t plugin_hook_budget_ms; /* a hook running longer is logged and counted: 2ms */
    struct plugin_conf *plugins;  /* global plugins */
    size_t nplugins;

    struct store_conf *stores;
    size_t nstores;
};

/* Fills every option with its default (no stores). */
void config_defaults(struct config *c);

/*
 * Reads path on top of defaults. Every problem is written to `errs` (may be
 * NULL) as "path:line: option: problem\n". Returns 0 when valid, -1 when not
 * (then *c holds defaults only and needs config_free all the same).
 * A config with no store is valid for --check-config but the daemon refuses
 * to serve buyers for unknown stores.
 */
int config_load(struct config *c, const char *path, FILE *errs);

void config_free(struct config *c);

const struct store_conf *config_find_store(const struct config *c, const char *id);
bool config_store_has_group(const struct store_conf *s, const char *group);

/* Writes a commented config with every option and its default and unit. */
void config_write_defaults(FILE *out);
/* Writes the reference manual chatgw.conf(5), in troff, from the same table. */
void config_write_man(FILE *out);

/* Two origins (scheme://host[:port]) are the same, up to case and the
 * scheme's default port. */
bool config_origin_equal(const char *a, const char *b);
/* May a buyer session whose upgrade came with origin (NULL or "": none, not
 * a browser) open a chat of st? */
bool config_buyer_origin_ok(const struct store_conf *st, const char *origin);
/* Some store limits the pages its buyers may come from. */
bool config_buyer_origins_used(const struct config *c);

/* How long after an unanswered buyer message the store's clock takes its
 * first step (a hold, the breach or a reassignment); 0 = no clock. */
uint64_t config_clock_start_ms(const struct store_conf *st);

#endif
