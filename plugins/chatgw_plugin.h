/*
 * chatgw_plugin.h - the plugin ABI of chatgwd: the one header a plugin
 * includes. Installed in PREFIX/include/chatgw/: build a plugin with
 *     cc -shared -fPIC $(pkg-config --cflags chatgw) -o my.so my.c
 * and `#include <chatgw_plugin.h>`. plugins/README.md is the guide.
 *
 * A plugin is a shared object that chatgwd loads with dlopen at start and
 * on SIGHUP, once per `plugin NAME PATH` line of its config (globally, or
 * inside a `store` block: then it sees only that store's chats). It exports
 * three functions and nothing else of it is called by name:
 *
 *   int chatgw_plugin_version(int count, const int *supported);
 *       The daemon's supported ABI versions, highest first. Return the
 *       highest one the plugin supports, or -1: the daemon then refuses it.
 *   int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self,
 *                          void **userdata, const struct chatgw_opt *opts, int nopts);
 *       Read options, register hooks (host->hook), start timers. Return
 *       CHATGW_OK, or an error: the plugin is then left out (its cleanup is
 *       still called, so init may fail half-way).
 *   int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts);
 *       Free everything; hooks and timers are already gone.
 *
 * The host never hands out its own structs: a plugin sees the opaque
 * handles below and a table of function pointers (struct chatgw_host) that
 * starts with its version and size, so a newer daemon can grow it and an
 * older plugin still works. chatgwd exports no symbols: a plugin that
 * references one of the daemon's functions fails to load ("undefined
 * symbol"). Everything runs on the daemon's one event loop thread: a hook
 * must return quickly (the daemon logs and counts a hook that takes longer
 * than `plugin_hook_budget`, 2 ms by default) and must never block; Redis
 * goes through the host's asynchronous functions. A plugin that crashes
 * takes the daemon down with it: it runs inside the process.
 *
 * Strings handed to a plugin are UTF-8 and valid only during the call;
 * copy what you keep. One shared object may be loaded several times (a
 * global line and a store's, or two names for one path): its globals are
 * then shared, so keep state in the userdata init hands back. Strings a plugin hands to the host are copied before
 * the host function returns.
 */
#ifndef CHATGW_PLUGIN_H
#define CHATGW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest ABI version this header describes. */
#define CHATGW_ABI_VERSION 1

/* Opaque handles: one loaded plugin instance, one timer. */
typedef struct chatgw_plugin chatgw_plugin;
typedef struct chatgw_timer chatgw_timer;

/* One option of the plugin's indented block: `key value...`; value "" when
 * the line had none, several words joined by one space. */
struct chatgw_opt {
    const char *key;
    const char *value;
};

/*
 * Results: what a hook answers, and what host functions return.
 * A hook answers CHATGW_OK (done: pass, or answered), CHATGW_DEFER (not
 * mine: the next plugin decides), CHATGW_WARN or CHATGW_BLOCK (only for
 * CHATGW_EV_AGENT_MSG), or CHATGW_ERR (it failed: logged, counted as DEFER).
 */
#define CHATGW_RESULT_MAP(X)                                                      \
    X(OK,          0,  "done")                                                    \
    X(DEFER,       1,  "not mine: let the next plugin decide")                    \
    X(WARN,        2,  "agent message: hold it until the agent confirms")          \
    X(BLOCK,       3,  "agent message: refuse it; nothing is stored or sent")      \
    X(ERR,         -1, "the hook or call failed")                                 \
    X(ERR_INVAL,   -2, "a bad argument")                                          \
    X(ERR_NOMEM,   -3, "out of memory")                                           \
    X(ERR_UNAVAILABLE, -4, "Redis is unavailable now; try again later")           \
    X(ERR_NOTSUP,  -5, "not available in this daemon (yet)")                      \
    X(ERR_NOTFOUND, -6, "no such chat (of the plugin's stores), or no such group") \
    X(ERR_CLOSED,  -7, "the chat is closed")

enum chatgw_result {
#define CHATGW_RESULT_ENUM(name, num, text) CHATGW_##name = num,
    CHATGW_RESULT_MAP(CHATGW_RESULT_ENUM)
#undef CHATGW_RESULT_ENUM
};

/*
 * The events a plugin may hook: numbered as the daemon's event table
 * (daemon/event.h, append-only; a unit test keeps the two in step).
 * "where" says on which node the hook runs; "answer" what it may set.
 *
 *   2  MSG_TO_AGENT   a message reached the agent's desk on this node
 *                     (once per node, whatever the windows); store, chat,
 *                     agent, seq, from, text. answer_keys: phrase keys to
 *                     suggest to the agent (`suggest` frame).
 *   3  ASSIGNED       a chat was handed to an agent with a desk here;
 *                     store, chat, agent, group, buyer_name.
 *   4  UNASSIGNED     a chat left such an agent; store, chat, agent, reason.
 *   6  CLOSED         a chat whose buyer is on this node closed; store,
 *                     chat, reason.
 *   7  QUEUED         such a chat went back into a queue; store, chat, group.
 *  12  BREACH         a chat of an agent with a desk here was left unanswered
 *                     past breach_after; store, chat, agent, group.
 *  13  AGENT_MSG      an agent message about to be stored and delivered;
 *                     store, chat, agent, agent_name, text, confirmed.
 *                     Answer OK/DEFER (pass), WARN or BLOCK with
 *                     answer_rule and answer_reason. The strongest answer
 *                     wins (BLOCK > WARN > pass); a confirmed message
 *                     (the agent resent it with confirm: true after a
 *                     warning) passes WARN answers.
 *  14  QUICK_REPLY    an agent asked for a quick reply: text is the key;
 *                     store, chat, agent, agent_name, buyer_name, product.
 *                     Answer OK with answer_text (sent as the agent's own
 *                     message), or DEFER: no plugin knows it -> not_found.
 *  15  BUYER_MSG      a buyer message was stored (on the buyer's node,
 *                     after its ack); store, chat, seq, text, buyer_name.
 *  16  TICK           once a second.
 *  17  RELOAD         the config was read again (SIGHUP); plugins are
 *                     loaded anew before it, so this is for plugins that
 *                     care that a reload happened.
 *  18  QUICK_LIST     an agent asked for the quick-reply library; store,
 *                     agent. Answer with host->list_add once per phrase,
 *                     in the order the desk should show them.
 *  23  ESCALATION     a chat held by an agent with a desk here was flagged
 *                     to supervisors (host->flag, by any plugin on any
 *                     node); store, chat, agent, group, reason = the
 *                     rule, text = the excerpt.
 */
#define CHATGW_HOOK_EVENT_MAP(X)            \
    X(MSG_TO_AGENT, 2)                      \
    X(ASSIGNED,     3)                      \
    X(UNASSIGNED,   4)                      \
    X(CLOSED,       6)                      \
    X(QUEUED,       7)                      \
    X(BREACH,       12)                     \
    X(AGENT_MSG,    13)                     \
    X(QUICK_REPLY,  14)                     \
    X(BUYER_MSG,    15)                     \
    X(TICK,         16)                     \
    X(RELOAD,       17)                     \
    X(QUICK_LIST,   18)                     \
    X(ESCALATION,   23)

enum chatgw_event_id {
#define CHATGW_EVENT_ENUM(name, num) CHATGW_EV_##name = num,
    CHATGW_HOOK_EVENT_MAP(CHATGW_EVENT_ENUM)
#undef CHATGW_EVENT_ENUM
    CHATGW_EV_MAX = 23
};

/*
 * What a hook sees. Fields a given event does not carry are NULL (or 0).
 * `size` is the struct's size in the daemon: a plugin built against a newer
 * header reads a field only if offsetof(field) < size. The answer_* fields
 * are the hook's reply: point them at memory that stays valid until the
 * hook returns (the daemon copies it at once).
 */
struct chatgw_event {
    uint32_t size;
    int event;                     /* enum chatgw_event_id */
    const char *store;             /* store id, or NULL when not known here */
    const char *chat;              /* chat id (32 hex), or NULL */
    const char *agent;             /* agent id, or NULL */
    const char *agent_name;        /* the agent's display name, or NULL */
    const char *buyer_name;        /* the buyer's display name, or NULL */
    const char *group;             /* the chat's group, or NULL */
    const char *product;           /* the product the buyer looks at, or NULL */
    int64_t seq;                   /* the message's seq, or 0 */
    const char *from;              /* buyer | agent | auto | system, or NULL */
    const char *text;              /* message text; QUICK_REPLY: the key */
    size_t text_len;
    const char *reason;            /* CLOSED, UNASSIGNED: why */
    int confirmed;                 /* AGENT_MSG: resent with confirm: true */
    /* answers */
    const char *answer_text;       /* QUICK_REPLY */
    const char *answer_rule;       /* AGENT_MSG, WARN or BLOCK: the rule's name */
    const char *answer_reason;     /* AGENT_MSG, WARN or BLOCK: shown to the agent */
    const char *answer_keys;       /* MSG_TO_AGENT: space-separated keys to suggest */
    void *host_ref;                /* the host's own; a plugin leaves it alone */
};

typedef int chatgw_hook_fn(void *ud, struct chatgw_event *ev);
typedef void chatgw_timer_fn(void *ud);
/* An asynchronous call finished: result CHATGW_OK or an error. */
typedef void chatgw_done_fn(void *ud, int result);
/* kv_get: value NULL when the key is absent (result CHATGW_OK) or on error. */
typedef void chatgw_value_fn(void *ud, int result, const char *value, size_t len);
/* kv_incr: the new value. */
typedef void chatgw_int_fn(void *ud, int result, int64_t value);
/* read_last: the messages, oldest first. */
struct chatgw_msg {
    int64_t seq;
    const char *from, *name, *text;
    size_t text_len;
    uint64_t ts_ms;
};
typedef void chatgw_msgs_fn(void *ud, int result, const struct chatgw_msg *msgs, int n);

/* Log levels of host->log. */
enum chatgw_log_level { CHATGW_LOG_ERROR = 0, CHATGW_LOG_WARN, CHATGW_LOG_INFO, CHATGW_LOG_DEBUG };

/* Who a message sent by a plugin is from. */
enum chatgw_from { CHATGW_FROM_AUTO = 0, CHATGW_FROM_SYSTEM = 1 };

/* A chat's priority (host->set_priority), lowest first; stored on the
 * chat by name. OR CHATGW_PRIO_RAISE into it to raise the chat to at
 * least that level (a higher one stays). */
#define CHATGW_PRIORITY_MAP(X) \
    X(NORMAL,  0, "normal")    \
    X(ORDERED, 1, "ordered")   \
    X(PAID,    2, "paid")      \
    X(VIP,     3, "vip")

enum chatgw_priority {
#define CHATGW_PRIO_ENUM(name, num, wire) CHATGW_PRIO_##name = num,
    CHATGW_PRIORITY_MAP(CHATGW_PRIO_ENUM)
#undef CHATGW_PRIO_ENUM
    CHATGW_PRIO_RAISE = 0x100
};

/*
 * The host: every function takes the plugin's own handle first. Functions
 * that go to Redis are asynchronous: they return CHATGW_OK and call cb
 * later (cb may be NULL), or return an error and never call cb. A callback
 * is not called once the plugin has been cleaned up (reload, stop).
 * Keys of the kv store: 1 to 200 bytes, no NUL; values at most 64 KiB.
 */
struct chatgw_host {
    uint32_t version;              /* the ABI version the daemon chose */
    uint32_t size;                 /* sizeof(struct chatgw_host) in the daemon */

    /* ---- version 1 ---- */
    /* One log line: level=.. event=plugin_log plugin=NAME msg="..." */
    void (*log)(chatgw_plugin *self, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* The last value given for key in the plugin's block, or NULL. */
    const char *(*option)(chatgw_plugin *self, const char *key);
    /* The plugin's NAME from its `plugin` line. */
    const char *(*name)(chatgw_plugin *self);
    /* The store whose block loaded it, or NULL for a global plugin. */
    const char *(*store)(chatgw_plugin *self);
    /* A configured store's display name ({store} in texts), or NULL. */
    const char *(*store_name)(chatgw_plugin *self, const char *store);
    /* Calls fn for every `event` (enum chatgw_event_id), in the order the
     * plugins were loaded. CHATGW_ERR_INVAL for an event that cannot be hooked. */
    int (*hook)(chatgw_plugin *self, int event, chatgw_hook_fn *fn, void *ud);
    /* A timer: fn after after_ms, then every repeat_ms (0: once). The handle
     * stays valid until timer_stop (also after a one-shot timer fired). */
    int (*timer_start)(chatgw_plugin *self, uint64_t after_ms, uint64_t repeat_ms,
                       chatgw_timer_fn *fn, void *ud, chatgw_timer **out);
    void (*timer_stop)(chatgw_plugin *self, chatgw_timer *t);
    /* A message into the chat's transcript, from auto or system, with the
     * store's name as sender; stored, then delivered to both sides. */
    int (*send)(chatgw_plugin *self, const char *chat, int from, const char *text,
                size_t len, chatgw_done_fn *cb, void *ud);
    /* Supervisor-facing actions on a chat of the plugin's stores (a
     * per-store plugin: its store; a global one: any). Their callbacks get
     * CHATGW_OK, CHATGW_ERR_NOTFOUND (no such chat here, or no such group),
     * CHATGW_ERR_CLOSED, or CHATGW_ERR_UNAVAILABLE.
     * flag: tells the store's supervisors (event `escalation {chat, store,
     * rule, excerpt}` on its floor, and to the agent holding the chat),
     * keeps it on the chat (its last 20 flags) and counts it in the hourly
     * statistics (`escalations`). rule: 1 to 64 bytes; reason: the
     * excerpt shown with it, cut to 240 bytes at a character boundary
     * ("" allowed). A closed chat may be flagged. */
    int (*flag)(chatgw_plugin *self, const char *chat, const char *rule, const char *reason,
                chatgw_done_fn *cb, void *ud);
    /* priority: a CHATGW_PRIO_* level, | CHATGW_PRIO_RAISE to never lower. */
    int (*set_priority)(chatgw_plugin *self, const char *chat, int priority,
                        chatgw_done_fn *cb, void *ud);
    /* To the head of another group's queue of the chat's store, as an
     * agent's transfer to group:NAME (the agent holding it lets go; the
     * buyer gets the store's transfer_text). Already in that group: OK,
     * nothing changes. */
    int (*move_group)(chatgw_plugin *self, const char *chat, const char *group,
                      chatgw_done_fn *cb, void *ud);
    /* The last n messages (1..100), oldest first; n = 0 messages when the
     * chat has none. The strings live until cb returns. */
    int (*read_last)(chatgw_plugin *self, const char *chat, int n, chatgw_msgs_fn *cb, void *ud);
    /* The plugin's own key/value store in Redis (keys are per plugin NAME). */
    int (*kv_get)(chatgw_plugin *self, const char *key, chatgw_value_fn *cb, void *ud);
    int (*kv_set)(chatgw_plugin *self, const char *key, const char *value, size_t len,
                  uint64_t ttl_ms, chatgw_done_fn *cb, void *ud);   /* ttl 0: none */
    int (*kv_del)(chatgw_plugin *self, const char *key, chatgw_done_fn *cb, void *ud);
    int (*kv_incr)(chatgw_plugin *self, const char *key, int64_t by, chatgw_int_fn *cb, void *ud);
    /* QUICK_LIST: one phrase of the library (category, key, text template). */
    int (*list_add)(chatgw_plugin *self, struct chatgw_event *ev, const char *category,
                    const char *key, const char *text);
};

/* The three entry points, with default visibility so that a plugin built
 * with -fvisibility=hidden still exports them. */
#if defined(__GNUC__)
#define CHATGW_EXPORT __attribute__((visibility("default")))
#else
#define CHATGW_EXPORT
#endif

CHATGW_EXPORT int chatgw_plugin_version(int count, const int *supported);
CHATGW_EXPORT int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self,
                                     void **userdata, const struct chatgw_opt *opts, int nopts);
CHATGW_EXPORT int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts);

#ifdef __cplusplus
}
#endif

#endif
