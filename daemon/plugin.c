/*
 * plugin.c - plugins: loading, their hooks, and the host table they call
 * (the ABI is plugins/chatgw_plugin.h; the daemon's side is plugin.h).
 *
 * Loading: each `plugin NAME PATH` of the config (the global ones first,
 * then each store's, in file order) is one instance: dlopen(RTLD_NOW |
 * RTLD_LOCAL), so a plugin that references a symbol nobody exports (a
 * daemon function: chatgwd is linked without -rdynamic and compiled with
 * hidden visibility) fails here, with the loader's reason; the three entry
 * points are looked up; chatgw_plugin_version picks the ABI version (the
 * highest both support; none -> refused); chatgw_plugin_init registers
 * hooks and timers. Any failure is logged with its reason (plugin_failed)
 * and the instance left out: the daemon serves on without it.
 *
 * Hooks: one list per hookable event, in load order. A per-store instance
 * sees only events of its store (TICK and RELOAD: all). Every call is
 * timed; one over plugin_hook_budget is logged (at most once a second per
 * instance) and counted for /metrics.
 *
 * Lifetime: an instance holds a reference for being loaded, one per Redis
 * request in flight and one per open timer handle. Unloading (reload,
 * stop) removes its hooks, closes its timers and calls its cleanup at
 * once; the shared object is closed when the last reference goes, so a
 * Redis reply that comes back later finds the instance dead and calls
 * nothing in code that is gone.
 *
 * API: see plugin.h.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "codec.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
#include "store.h"


#define KV_KEY_MAX 200
#define KV_VALUE_MAX (64 * 1024)
#define SEND_TEXT_MAX (64 * 1024)
#define SUGGEST_MAX 512               /* bytes of suggested keys per message */

/* ABI versions this daemon speaks, highest first. */
static const int abi_supported[] = { 1 };
#define NABI ((int)(sizeof abi_supported / sizeof abi_supported[0]))

/* Events a plugin may hook (the ABI's CHATGW_HOOK_EVENT_MAP). */
static const bool hookable[CHATGW_EV_MAX + 1] = {
#define HOOKABLE(name, num) [num] = true,
    CHATGW_HOOK_EVENT_MAP(HOOKABLE)
#undef HOOKABLE
};

#define RESULT_MIN (-7)                /* the lowest of CHATGW_RESULT_MAP */
static const char *const result_text[] = {
#define RESULT_TEXT(name, num, text) [num - RESULT_MIN] = text,
    CHATGW_RESULT_MAP(RESULT_TEXT)
#undef RESULT_TEXT
};

static const char *result_str(int rc)
{
    return rc >= RESULT_MIN && rc <= 3 && result_text[rc - RESULT_MIN] ? result_text[rc - RESULT_MIN]
                                                                     : "unknown result";
}

static const char *const priority_name[] = {
#define PRIO_NAME(name, num, wire) [num] = wire,
    CHATGW_PRIORITY_MAP(PRIO_NAME)
#undef PRIO_NAME
};
#define NPRIO ((int)(sizeof priority_name / sizeof priority_name[0]))

typedef int version_fn(int, const int *);
typedef int init_fn(const struct chatgw_host *, chatgw_plugin *, void **, const struct chatgw_opt *, int);
typedef int cleanup_fn(void *, const struct chatgw_opt *, int);

/*
 * How long each hook (and each plugin's timers) takes, by plugin, store and
 * hook: counts in buckets 8 to a power of two (a bucket spans 12.5 %), so
 * /metrics can give a p99 without keeping samples. Found once, when the
 * hook is registered; kept across reloads.
 */
#define HIST_N 320                    /* up to 2^41 ns */
struct hook_time {
    char plugin[CONFIG_ID_MAX + 1], store[CONFIG_ID_MAX + 1];
    const char *hook;                 /* a static label */
    uint64_t calls, sum_ns, max_ns;
    uint32_t b[HIST_N];
    struct hook_time *next;
};

struct chatgw_timer {
    uv_timer_t t;
    struct hook_time *tm;
    chatgw_plugin *p;
    chatgw_timer_fn *fn;
    void *ud;
    struct chatgw_timer *next;
};

struct chatgw_plugin {
    char *name, *store, *path;        /* store NULL: every store */
    struct chatgw_opt *opts;
    int nopts;
    void *dl;
    cleanup_fn *cleanup;
    void *ud;
    bool live;                        /* between init and cleanup */
    unsigned refs;
    struct chatgw_timer *timers;
    uint64_t slow_logged_ms, err_logged_ms;
    struct chatgw_plugin *next;
};

struct hook {
    chatgw_plugin *p;
    chatgw_hook_fn *fn;
    void *ud;
    struct hook_time *tm;
};

/* Counters for /metrics, by plugin name and store; they survive reloads. */
struct stat_row {
    char plugin[CONFIG_ID_MAX + 1], store[CONFIG_ID_MAX + 1];
    uint64_t slow, failed, warn, block;
};

static struct {
    chatgw_plugin *list;
    struct hook *hooks[CHATGW_EV_MAX + 1];
    size_t nhooks[CHATGW_EV_MAX + 1], cap[CHATGW_EV_MAX + 1];
    uv_timer_t tick;
    bool ticking;
    unsigned loaded;
    uint64_t load_failures;
    struct stat_row *stats;
    size_t nstats;
    plugin_queues_fn *on_queues;
    struct hook_time *times;
    size_t ntimes;
    struct {                          /* the last event run with once */
        int event;
        int64_t seq;
        char chat[CHAT_ID_HEX + 1], agent[128];
        char keys[SUGGEST_MAX];
    } memo;
} P;

/* ---- counters -------------------------------------------------------------- */

static struct stat_row *stat_for(const chatgw_plugin *p, const char *store)
{
    struct stat_row *rows;

    store = store ? store : "";
    for (size_t i = 0; i < P.nstats; i++)
        if (strcmp(P.stats[i].plugin, p->name) == 0 && strcmp(P.stats[i].store, store) == 0)
            return &P.stats[i];
    if (P.nstats >= 4096 || !(rows = realloc(P.stats, (P.nstats + 1) * sizeof *rows)))
        return NULL;
    P.stats = rows;
    memset(&rows[P.nstats], 0, sizeof rows[0]);
    snprintf(rows[P.nstats].plugin, sizeof rows[0].plugin, "%s", p->name);
    snprintf(rows[P.nstats].store, sizeof rows[0].store, "%s", store);
    return &rows[P.nstats++];
}

/* The times of one hook of p (NULL when out of memory or past 4096). */
static struct hook_time *hook_time_for(const chatgw_plugin *p, const char *hook)
{
    const char *store = p->store ? p->store : "";
    struct hook_time *t;

    for (t = P.times; t; t = t->next)
        if (t->hook == hook && strcmp(t->plugin, p->name) == 0 && strcmp(t->store, store) == 0)
            return t;
    if (P.ntimes >= 4096 || !(t = calloc(1, sizeof *t)))
        return NULL;
    snprintf(t->plugin, sizeof t->plugin, "%s", p->name);
    snprintf(t->store, sizeof t->store, "%s", store);
    t->hook = hook;
    t->next = P.times;
    P.times = t;
    P.ntimes++;
    return t;
}

static unsigned hist_index(uint64_t ns)
{
    unsigned e, i;

    if (ns < 16)
        return (unsigned)ns;
    e = 63u - (unsigned)__builtin_clzll(ns);
    i = (e - 2) * 8 + (unsigned)((ns >> (e - 3)) & 7);
    return i < HIST_N ? i : HIST_N - 1;
}

/* The bucket's upper bound, ns. */
static uint64_t hist_upper(unsigned i)
{
    return i < 16 ? i + 1 : (uint64_t)(9 + i % 8) << (i / 8 - 1);
}

/* The q-th quantile (0..1) of t's calls, as its bucket's upper bound, ns. */
static uint64_t hist_quantile(const struct hook_time *t, double q)
{
    uint64_t want = (uint64_t)((double)t->calls * q + 0.999999), seen = 0;

    for (unsigned i = 0; i < HIST_N; i++)
        if ((seen += t->b[i]) >= want && want > 0)
            return hist_upper(i) < t->max_ns ? hist_upper(i) : t->max_ns;
    return t->max_ns;
}

/* ---- hooks ------------------------------------------------------------------- */

static bool serves(const chatgw_plugin *p, const struct chatgw_event *ev)
{
    if (!p->store)
        return true;
    if (ev->event == CHATGW_EV_TICK || ev->event == CHATGW_EV_RELOAD)
        return true;
    return ev->store && strcmp(ev->store, p->store) == 0;
}

/* Times fn; over the budget: logged (once a second per plugin) and counted. */
static void timed_end(chatgw_plugin *p, const char *what, uint64_t t0, struct hook_time *tm)
{
    uint64_t ns = uv_hrtime() - t0;
    struct stat_row *row;

    if (tm) {
        tm->calls++;
        tm->sum_ns += ns;
        tm->max_ns = ns > tm->max_ns ? ns : tm->max_ns;
        tm->b[hist_index(ns)]++;
    }
    if (ns <= gw.cfg->plugin_hook_budget_ms * 1000000ull)
        return;
    if ((row = stat_for(p, p->store)))
        row->slow++;
    if (gw_now_ms() - p->slow_logged_ms >= 1000 || !p->slow_logged_ms) {
        p->slow_logged_ms = gw_now_ms();
        log_warn("plugin_slow_hook", "plugin=%s store=%s hook=%s ms=%.3f budget_ms=%llu", p->name,
                 p->store ? p->store : "*", what, (double)ns / 1e6,
                 (unsigned long long)gw.cfg->plugin_hook_budget_ms);
    }
}

static const char *event_label(int event)
{
    static const char *const names[CHATGW_EV_MAX + 1] = {
#define EV_LABEL(name, num) [num] = #name,
        CHATGW_HOOK_EVENT_MAP(EV_LABEL)
#undef EV_LABEL
    };
    return event > 0 && event <= CHATGW_EV_MAX && names[event] ? names[event] : "?";
}

static int call_hook(const struct hook *h, struct chatgw_event *ev)
{
    chatgw_plugin *p = h->p;
    struct stat_row *row;
    uint64_t t0 = uv_hrtime();
    int rc;

    ev->answer_text = ev->answer_rule = ev->answer_reason = ev->answer_keys = NULL;
    rc = h->fn(h->ud, ev);
    timed_end(p, event_label(ev->event), t0, h->tm);
    if (rc < 0) {
        if ((row = stat_for(p, p->store)))
            row->failed++;
        if (gw_now_ms() - p->err_logged_ms >= 1000 || !p->err_logged_ms) {
            p->err_logged_ms = gw_now_ms();
            log_warn("plugin_hook_failed", "plugin=%s hook=%s result=%d", p->name,
                     event_label(ev->event), rc);
        }
    }
    return rc;
}

bool plugin_hooked(int event)
{
    return event > 0 && event <= CHATGW_EV_MAX && P.nhooks[event] > 0;
}

/* True when this event is the one run last with once (another desk window). */
static bool seen_once(const struct chatgw_event *ev)
{
    const char *chat = ev->chat ? ev->chat : "", *agent = ev->agent ? ev->agent : "";

    if (P.memo.event == ev->event && P.memo.seq == ev->seq && strcmp(P.memo.chat, chat) == 0 &&
        strcmp(P.memo.agent, agent) == 0)
        return true;
    P.memo.event = ev->event;
    P.memo.seq = ev->seq;
    snprintf(P.memo.chat, sizeof P.memo.chat, "%s", chat);
    snprintf(P.memo.agent, sizeof P.memo.agent, "%s", agent);
    P.memo.keys[0] = '\0';
    return false;
}

void plugin_notify(struct chatgw_event *ev, bool once)
{
    int e = ev->event;

    if (!plugin_hooked(e) || (once && seen_once(ev)))
        return;
    ev->size = sizeof *ev;
    for (size_t i = 0; i < P.nhooks[e]; i++)
        if (serves(P.hooks[e][i].p, ev))
            call_hook(&P.hooks[e][i], ev);
}

enum plugin_verdict plugin_agent_msg(struct chatgw_event *ev, char *rule, size_t rule_cap,
                                     char *reason, size_t reason_cap)
{
    enum plugin_verdict v = PLUGIN_PASS;
    const int e = CHATGW_EV_AGENT_MSG;

    ev->event = e;
    ev->size = sizeof *ev;
    rule[0] = reason[0] = '\0';
    for (size_t i = 0; i < P.nhooks[e] && v != PLUGIN_BLOCK; i++) {
        const struct hook *h = &P.hooks[e][i];
        struct stat_row *row;
        int rc;

        if (!serves(h->p, ev))
            continue;
        rc = call_hook(h, ev);
        if ((rc == CHATGW_WARN && !ev->confirmed && v == PLUGIN_PASS) || rc == CHATGW_BLOCK) {
            v = rc == CHATGW_BLOCK ? PLUGIN_BLOCK : PLUGIN_WARN;
            snprintf(rule, rule_cap, "%s", ev->answer_rule ? ev->answer_rule : h->p->name);
            snprintf(reason, reason_cap, "%s", ev->answer_reason ? ev->answer_reason : "");
        }
        if ((rc == CHATGW_WARN || rc == CHATGW_BLOCK) && (row = stat_for(h->p, ev->store))) {
            if (rc == CHATGW_BLOCK)
                row->block++;
            else
                row->warn++;
        }
    }
    return v;
}

int plugin_quick_reply(struct chatgw_event *ev, char *text, size_t cap)
{
    const int e = CHATGW_EV_QUICK_REPLY;

    ev->event = e;
    ev->size = sizeof *ev;
    for (size_t i = 0; i < P.nhooks[e]; i++) {
        const struct hook *h = &P.hooks[e][i];
        if (serves(h->p, ev) && call_hook(h, ev) == CHATGW_OK && ev->answer_text) {
            snprintf(text, cap, "%s", ev->answer_text);
            return 0;
        }
    }
    return -1;
}

void plugin_quick_list(struct chatgw_event *ev, struct plugin_list *out)
{
    const int e = CHATGW_EV_QUICK_LIST;

    memset(out, 0, sizeof *out);
    ev->event = e;
    ev->size = sizeof *ev;
    ev->host_ref = out;
    for (size_t i = 0; i < P.nhooks[e]; i++)
        if (serves(P.hooks[e][i].p, ev))
            call_hook(&P.hooks[e][i], ev);
    ev->host_ref = NULL;
}

void plugin_list_free(struct plugin_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].category);
        free(l->items[i].key);
        free(l->items[i].text);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

const char *plugin_suggest(struct chatgw_event *ev)
{
    const int e = CHATGW_EV_MSG_TO_AGENT;
    size_t n = 0;

    ev->event = e;
    ev->size = sizeof *ev;
    if (!plugin_hooked(e))
        return "";
    if (seen_once(ev))
        return P.memo.keys;
    for (size_t i = 0; i < P.nhooks[e]; i++) {
        const struct hook *h = &P.hooks[e][i];
        if (!serves(h->p, ev) || call_hook(h, ev) != CHATGW_OK || !ev->answer_keys)
            continue;
        int k = snprintf(P.memo.keys + n, sizeof P.memo.keys - n, "%s%s", n ? " " : "",
                         ev->answer_keys);
        if (k < 0 || (size_t)k >= sizeof P.memo.keys - n) {
            P.memo.keys[n] = '\0';        /* no partial key */
            break;
        }
        n += (size_t)k;
    }
    return P.memo.keys;
}

/* ---- instances ------------------------------------------------------------------ */

static void plugin_unref(chatgw_plugin *p)
{
    if (--p->refs > 0)
        return;
    if (p->dl)
        dlclose(p->dl);
    for (int i = 0; i < p->nopts; i++) {
        free((char *)p->opts[i].key);
        free((char *)p->opts[i].value);
    }
    free(p->opts);
    free(p->name);
    free(p->store);
    free(p->path);
    free(p);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct chatgw_timer *t = h->data;
    chatgw_plugin *p = t->p;

    free(t);
    plugin_unref(p);
}

static void timer_close(struct chatgw_timer *t)
{
    uv_timer_stop(&t->t);
    uv_close((uv_handle_t *)&t->t, on_timer_closed);
}

/* Hooks, timers and cleanup: the instance does nothing from here on. */
static void plugin_shut(chatgw_plugin *p)
{
    for (int e = 1; e <= CHATGW_EV_MAX; e++) {
        size_t o = 0;
        for (size_t i = 0; i < P.nhooks[e]; i++)
            if (P.hooks[e][i].p != p)
                P.hooks[e][o++] = P.hooks[e][i];
        P.nhooks[e] = o;
    }
    while (p->timers) {
        struct chatgw_timer *t = p->timers;
        p->timers = t->next;
        timer_close(t);
    }
    if (p->live && p->cleanup) {
        p->live = false;
        p->cleanup(p->ud, p->opts, p->nopts);
    }
    p->live = false;
}

static const struct chatgw_host host_table;

/* Copies the config's line into a new instance (the config may be freed on reload). */
/*
 * Where a plugin path without a slash is looked up: beside the binary, as
 * `make install` lays it out (BIN/../lib/chatgw/plugins), or the build's
 * own (build/plugins, for build/chatgwd). Found at run time, so that one
 * binary serves any PREFIX and installing never rebuilds it.
 */
static const char *plugin_dir(void)
{
    static const char *const beside[] = { "/../lib/chatgw/plugins", "/plugins" };
    static char dir[PATH_MAX];
    char exe[PATH_MAX];
    struct stat st;
    ssize_t n;

    if (dir[0])
        return dir;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return ".";
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
        char d[PATH_MAX + 32];
        snprintf(d, sizeof d, "%s%s", exe, beside[i]);
        if (stat(d, &st) == 0 && S_ISDIR(st.st_mode) && realpath(d, dir))
            return dir;
    }
    snprintf(dir, sizeof dir, "%.*s/../lib/chatgw/plugins", (int)(sizeof dir - 32), exe);
    return dir;
}

static chatgw_plugin *plugin_new(const struct plugin_conf *pc, const char *store)
{
    chatgw_plugin *p = calloc(1, sizeof *p);
    char path[PATH_MAX + 256];
    bool ok;

    if (!p)
        return NULL;
    p->refs = 1;
    snprintf(path, sizeof path, "%s%s%s", strchr(pc->path, '/') ? "" : plugin_dir(),
             strchr(pc->path, '/') ? "" : "/", pc->path);
    p->name = strdup(pc->name);
    p->store = store ? strdup(store) : NULL;
    p->path = strdup(path);
    p->opts = calloc((size_t)pc->nopts + 1, sizeof *p->opts);
    ok = p->name && p->path && p->opts && (!store || p->store);
    for (int i = 0; ok && i < pc->nopts; i++) {
        p->opts[i].key = strdup(pc->keys[i]);
        p->opts[i].value = strdup(pc->values[i]);
        p->nopts = i + 1;
        ok = p->opts[i].key && p->opts[i].value;
    }
    if (!ok) {
        plugin_unref(p);
        return NULL;
    }
    return p;
}

/* dlopen, version, init. 0, or -1 with the reason in why (p then unloaded). */
static int plugin_open(chatgw_plugin *p, char *why, size_t cap)
{
    version_fn *version;
    init_fn *init;
    const char *err;
    int v, rc;

    dlerror();
    if (!(p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL))) {
        err = dlerror();
        if (err && strstr(err, "undefined symbol"))
            snprintf(why, cap, "%s (a plugin may call only the host table it is given: "
                     "chatgwd exports no symbols)", err);
        else
            snprintf(why, cap, "%s", err ? err : "cannot load");
        return -1;
    }
    version = (version_fn *)dlsym(p->dl, "chatgw_plugin_version");
    init = (init_fn *)dlsym(p->dl, "chatgw_plugin_init");
    p->cleanup = (cleanup_fn *)dlsym(p->dl, "chatgw_plugin_cleanup");
    if (!version || !init || !p->cleanup) {
        snprintf(why, cap, "missing symbol %s (a plugin exports chatgw_plugin_version, "
                 "chatgw_plugin_init and chatgw_plugin_cleanup)", !version ? "chatgw_plugin_version"
                 : !init ? "chatgw_plugin_init" : "chatgw_plugin_cleanup");
        p->cleanup = NULL;
        return -1;
    }
    v = version(NABI, abi_supported);
    for (rc = 0; rc < NABI && abi_supported[rc] != v; rc++)
        ;
    if (rc == NABI) {
        snprintf(why, cap, "supports no ABI version of this daemon (it chose %d; this daemon "
                 "speaks %d)", v, abi_supported[0]);
        p->cleanup = NULL;
        return -1;
    }
    p->live = true;
    rc = init(&host_table, p, &p->ud, p->opts, p->nopts);
    if (rc != CHATGW_OK) {
        snprintf(why, cap, "init failed: %s (%d)", result_str(rc), rc);
        return -1;
    }
    return 0;
}

/* Loads one; logs the outcome, or prints it to out (failures to errs). */
static void load_one(const struct plugin_conf *pc, const char *store, FILE *out, FILE *errs)
{
    chatgw_plugin *p = plugin_new(pc, store);
    char why[1024] = "out of memory";

    if (p && plugin_open(p, why, sizeof why) == 0) {
        p->next = P.list;
        P.list = p;
        P.loaded++;
        if (out)
            fprintf(out, "%s:%d: plugin %s%s%s: ok (%s)\n", gw.cfg->path ? gw.cfg->path : "-",
                    pc->line, pc->name, store ? " of store " : "", store ? store : "", p->path);
        if (out)
            fflush(out);
        else
            log_info("plugin_loaded", "plugin=%s store=%s path=%s abi=%d", p->name,
                     store ? store : "*", p->path, abi_supported[0]);
        return;
    }
    P.load_failures++;
    if (out) {
        fprintf(errs, "%s:%d: plugin %s%s%s: %s\n", gw.cfg->path ? gw.cfg->path : "-",
                pc->line, pc->name, store ? " of store " : "", store ? store : "", why);
    } else {
        char q[1100];
        log_error("plugin_failed", "plugin=%s store=%s path=%s reason=%s action=left_out",
                  pc->name, store ? store : "*", p ? p->path : pc->path,
                  log_quote(q, sizeof q, why));
    }
    if (p) {
        plugin_shut(p);
        plugin_unref(p);
    }
}

static void load_all(const struct config *c, FILE *out, FILE *errs)
{
    for (size_t i = 0; i < c->nplugins; i++)
        load_one(&c->plugins[i], NULL, out, errs);
    for (size_t s = 0; s < c->nstores; s++)
        for (size_t i = 0; i < c->stores[s].nplugins; i++)
            load_one(&c->stores[s].plugins[i], c->stores[s].id, out, errs);
}

static void unload_all(void)
{
    /* the list is newest first: clean up in the reverse order of loading */
    while (P.list) {
        chatgw_plugin *p = P.list;
        P.list = p->next;
        plugin_shut(p);
        plugin_unref(p);
    }
    P.loaded = 0;
    P.memo.event = 0;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    plugin_notify(&(struct chatgw_event){ .event = CHATGW_EV_TICK }, false);
}

void plugin_on_queues(plugin_queues_fn *fn)
{
    P.on_queues = fn;
}

int plugin_start(void)
{
    load_all(gw.cfg, NULL, NULL);
    uv_timer_init(gw.loop, &P.tick);
    uv_timer_start(&P.tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&P.tick);
    P.ticking = true;
    return 0;
}

void plugin_reload(void)
{
    unload_all();
    load_all(gw.cfg, NULL, NULL);
    plugin_notify(&(struct chatgw_event){ .event = CHATGW_EV_RELOAD }, false);
}

void plugin_stop(void)
{
    unload_all();
    if (P.ticking)
        uv_close((uv_handle_t *)&P.tick, NULL);
    P.ticking = false;
    for (int e = 0; e <= CHATGW_EV_MAX; e++) {
        free(P.hooks[e]);
        P.hooks[e] = NULL;
        P.nhooks[e] = P.cap[e] = 0;
    }
}

int plugin_check(const struct config *c, FILE *out, FILE *errs)
{
    struct config *saved_cfg = gw.cfg;
    uv_loop_t *saved_loop = gw.loop, loop;
    uint64_t failed = P.load_failures;

    uv_loop_init(&loop);
    gw.loop = &loop;
    gw.cfg = (struct config *)c;
    load_all(c, out, errs);
    unload_all();
    for (int e = 0; e <= CHATGW_EV_MAX; e++) {
        free(P.hooks[e]);
        P.hooks[e] = NULL;
        P.nhooks[e] = P.cap[e] = 0;
    }
    uv_run(&loop, UV_RUN_DEFAULT);            /* the timers' close callbacks */
    uv_loop_close(&loop);
    gw.loop = saved_loop;
    gw.cfg = saved_cfg;
    return (int)(P.load_failures - failed);
}

/* ---- /metrics ------------------------------------------------------------------ */

char *plugin_metrics_text(void)
{
    static const struct { const char *name, *help; size_t off; } series[] = {
        { "chatgw_plugin_slow_hooks_total", "Plugin hooks that ran longer than plugin_hook_budget.",
          offsetof(struct stat_row, slow) },
        { "chatgw_plugin_hook_failures_total", "Plugin hooks that answered an error.",
          offsetof(struct stat_row, failed) },
        { "chatgw_plugin_warnings_total", "Agent messages a plugin held for confirmation, by the "
          "chat's store.", offsetof(struct stat_row, warn) },
        { "chatgw_plugin_blocks_total", "Agent messages a plugin refused, by the chat's store.",
          offsetof(struct stat_row, block) },
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    fprintf(f, "# HELP chatgw_plugins_loaded Plugin instances loaded now.\n"
               "# TYPE chatgw_plugins_loaded gauge\nchatgw_plugins_loaded %u\n"
               "# HELP chatgw_plugin_load_failures_total Plugin loads that failed.\n"
               "# TYPE chatgw_plugin_load_failures_total counter\n"
               "chatgw_plugin_load_failures_total %llu\n",
            P.loaded, (unsigned long long)P.load_failures);
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", series[k].name, series[k].help,
                series[k].name);
        for (size_t i = 0; i < P.nstats; i++)
            fprintf(f, "%s{plugin=\"%s\",store=\"%s\"} %llu\n", series[k].name, P.stats[i].plugin,
                    P.stats[i].store,
                    *(unsigned long long *)((char *)&P.stats[i] + series[k].off));
    }
    fprintf(f, "# HELP chatgw_plugin_hook_calls_total Calls of each plugin hook (hook=timer: its "
               "timers).\n# TYPE chatgw_plugin_hook_calls_total counter\n");
    for (const struct hook_time *t = P.times; t; t = t->next)
        fprintf(f, "chatgw_plugin_hook_calls_total{plugin=\"%s\",store=\"%s\",hook=\"%s\"} %llu\n",
                t->plugin, t->store, t->hook, (unsigned long long)t->calls);
    fprintf(f, "# HELP chatgw_plugin_hook_seconds_total Time spent in each plugin hook.\n"
               "# TYPE chatgw_plugin_hook_seconds_total counter\n");
    for (const struct hook_time *t = P.times; t; t = t->next)
        fprintf(f, "chatgw_plugin_hook_seconds_total{plugin=\"%s\",store=\"%s\",hook=\"%s\"} %.9f\n",
                t->plugin, t->store, t->hook, (double)t->sum_ns / 1e9);
    fprintf(f, "# HELP chatgw_plugin_hook_p99_seconds The 99th percentile of a plugin hook's "
               "time since start (to 12.5 %%).\n# TYPE chatgw_plugin_hook_p99_seconds gauge\n");
    for (const struct hook_time *t = P.times; t; t = t->next)
        fprintf(f, "chatgw_plugin_hook_p99_seconds{plugin=\"%s\",store=\"%s\",hook=\"%s\"} %.9f\n",
                t->plugin, t->store, t->hook, (double)hist_quantile(t, 0.99) / 1e9);
    fprintf(f, "# HELP chatgw_plugin_hook_max_seconds The longest call of a plugin hook since "
               "start.\n# TYPE chatgw_plugin_hook_max_seconds gauge\n");
    for (const struct hook_time *t = P.times; t; t = t->next)
        fprintf(f, "chatgw_plugin_hook_max_seconds{plugin=\"%s\",store=\"%s\",hook=\"%s\"} %.9f\n",
                t->plugin, t->store, t->hook, (double)t->max_ns / 1e9);
    fclose(f);
    return buf;
}

/* ---- the host table ---------------------------------------------------------- */

static void host_log(chatgw_plugin *self, int level, const char *fmt, ...)
{
    char msg[1024], q[1100];
    va_list ap;

    if (!self || !fmt)
        return;
    level = level < LOG_ERROR ? LOG_ERROR : level > LOG_DEBUG ? LOG_DEBUG : level;
    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_event(level, "plugin_log", "plugin=%s store=%s msg=%s", self->name,
              self->store ? self->store : "*", log_quote(q, sizeof q, msg));
}

static const char *host_option(chatgw_plugin *self, const char *key)
{
    const char *v = NULL;

    for (int i = 0; self && key && i < self->nopts; i++)
        if (strcmp(self->opts[i].key, key) == 0)
            v = self->opts[i].value;
    return v;
}

static const char *host_name(chatgw_plugin *self)
{
    return self ? self->name : NULL;
}

static const char *host_store(chatgw_plugin *self)
{
    return self ? self->store : NULL;
}

static const char *host_store_name(chatgw_plugin *self, const char *store)
{
    const struct store_conf *st = self && store ? config_find_store(gw.cfg, store) : NULL;

    return st ? st->name : NULL;
}

static int host_hook(chatgw_plugin *self, int event, chatgw_hook_fn *fn, void *ud)
{
    struct hook *grown;

    if (!self || !self->live || !fn || event < 1 || event > CHATGW_EV_MAX || !hookable[event])
        return CHATGW_ERR_INVAL;
    if (P.nhooks[event] == P.cap[event]) {
        size_t cap = P.cap[event] ? P.cap[event] * 2 : 4;
        if (!(grown = realloc(P.hooks[event], cap * sizeof *grown)))
            return CHATGW_ERR_NOMEM;
        P.hooks[event] = grown;
        P.cap[event] = cap;
    }
    P.hooks[event][P.nhooks[event]++] =
        (struct hook){ self, fn, ud, hook_time_for(self, event_label(event)) };
    return CHATGW_OK;
}

static void on_timer(uv_timer_t *h)
{
    struct chatgw_timer *t = h->data;
    uint64_t t0 = uv_hrtime();

    if (!t->p->live)
        return;
    t->fn(t->ud);
    timed_end(t->p, "timer", t0, t->tm);
}

static int host_timer_start(chatgw_plugin *self, uint64_t after_ms, uint64_t repeat_ms,
                            chatgw_timer_fn *fn, void *ud, chatgw_timer **out)
{
    struct chatgw_timer *t;

    if (!self || !self->live || !fn)
        return CHATGW_ERR_INVAL;
    if (!(t = calloc(1, sizeof *t)))
        return CHATGW_ERR_NOMEM;
    uv_timer_init(gw.loop, &t->t);
    t->t.data = t;
    t->p = self;
    t->fn = fn;
    t->ud = ud;
    t->tm = hook_time_for(self, "timer");
    t->next = self->timers;
    self->timers = t;
    self->refs++;
    uv_timer_start(&t->t, on_timer, after_ms, repeat_ms);
    if (out)
        *out = t;
    return CHATGW_OK;
}

static void host_timer_stop(chatgw_plugin *self, chatgw_timer *t)
{
    struct chatgw_timer **pp;

    if (!self || !t)
        return;
    for (pp = &self->timers; *pp && *pp != t; pp = &(*pp)->next)
        ;
    if (!*pp)
        return;                       /* not its timer, or stopped already */
    *pp = t->next;
    timer_close(t);
}

/* A request to Redis on a plugin's behalf. */
struct preq {
    chatgw_plugin *p;
    union {
        chatgw_done_fn *done;
        chatgw_value_fn *value;
        chatgw_int_fn *num;
        chatgw_msgs_fn *msgs;
    } cb;
    void *ud;
    char chat[CHAT_ID_HEX + 1];
    char *rec;
    size_t rec_len;
};

static struct preq *preq_new(chatgw_plugin *p, void *ud)
{
    struct preq *q = calloc(1, sizeof *q);

    if (q) {
        q->p = p;
        q->ud = ud;
        p->refs++;
    }
    return q;
}

static void preq_free(struct preq *q)
{
    chatgw_plugin *p = q->p;

    free(q->rec);
    free(q);
    plugin_unref(p);
}

/* The request was never sent: nothing is called back. */
static int preq_unsent(struct preq *q)
{
    preq_free(q);
    return CHATGW_ERR_UNAVAILABLE;
}

static int reply_result(const redisReply *r)
{
    return !r ? CHATGW_ERR_UNAVAILABLE : r->type == REDIS_REPLY_ERROR ? CHATGW_ERR : CHATGW_OK;
}

static void on_sent(void *ud, redisReply *r)
{
    struct preq *q = ud;
    int rc = reply_result(r);

    if (rc == CHATGW_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != STORE_APPEND_REPLY))
        rc = CHATGW_ERR;
    if (rc == CHATGW_ERR && r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "no_chat"))
        rc = CHATGW_ERR_INVAL;
    if (q->p->live && q->cb.done)
        q->cb.done(q->ud, rc);
    preq_free(q);             /* append.lua told the buyer's node and the agent's */
}

static int host_send(chatgw_plugin *self, const char *chat, int from, const char *text,
                     size_t len, chatgw_done_fn *cb, void *ud)
{
    const char *name = host_store_name(self, self ? self->store : NULL), *rec;
    char *copy;
    size_t rec_len;
    struct preq *q;

    if (!self || !self->live || !chat || !chat_id_valid(chat, strlen(chat)) || !text ||
        len == 0 || len > SEND_TEXT_MAX || memchr(text, '\0', len) ||
        !proto_utf8_valid(text, len) || (from != CHATGW_FROM_AUTO && from != CHATGW_FROM_SYSTEM))
        return CHATGW_ERR_INVAL;
    if (!(copy = malloc(len + 1)))
        return CHATGW_ERR_NOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    rec = chat_record(from == CHATGW_FROM_AUTO ? "auto" : "system", name, copy, gw_wall_ms(),
                      NULL, &rec_len);
    free(copy);
    if (!rec || !(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    if (!(q->rec = malloc(rec_len))) {
        preq_free(q);
        return CHATGW_ERR_NOMEM;
    }
    memcpy(q->rec, rec, rec_len);
    q->rec_len = rec_len;
    q->cb.done = cb;
    snprintf(q->chat, sizeof q->chat, "%s", chat);
    struct store_append ap = { .chat = q->chat, .id = "", .rec = q->rec, .rec_len = rec_len,
                               .who = "", .tag = "", .store = "", .node = "",
                               .now_ms = gw_wall_ms() };
    return store_append(&ap, on_sent, q) == 0 ? CHATGW_OK : preq_unsent(q);
}

/* ---- actions on a chat: flag, priority, group, history -------------------- */

#define FLAG_EXCERPT_MAX 240          /* bytes of a flag's excerpt */
#define RULE_MAX 64

static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 1 && n <= max && proto_utf8_valid(s, n);
}

static bool id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n >= 1 && n <= CONFIG_ID_MAX &&
           !s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")];
}

/* The script's error as a result: not_found, closed, or a failure. */
static int chat_result(const redisReply *r)
{
    int rc = reply_result(r);

    if (rc == CHATGW_ERR && strncmp(db_error_text(r), "not_found", 9) == 0)
        return CHATGW_ERR_NOTFOUND;
    if (rc == CHATGW_ERR && strncmp(db_error_text(r), "closed", 6) == 0)
        return CHATGW_ERR_CLOSED;
    return rc;
}

static void on_chat_done(void *ud, redisReply *r)
{
    struct preq *q = ud;

    if (q->p->live && q->cb.done)
        q->cb.done(q->ud, chat_result(r));
    preq_free(q);
}

static void on_moved(void *ud, redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ARRAY && P.on_queues)
        P.on_queues(r);               /* the new queue grew, the agent has room */
    on_chat_done(ud, r);
}

/* A flag is an escalation: counted by store and group on the node whose
 * plugin raised it ({flags, store, group}, router.lua "flag"). */
static void on_flagged(void *ud, redisReply *r)
{
    struct metrics_sg *g;

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING &&
        (g = metrics_sg(r->element[1]->str, r->element[2]->str)))
        g->escalations++;
    on_chat_done(ud, r);
}

static bool chat_ok(chatgw_plugin *self, const char *chat)
{
    return self && self->live && chat && chat_id_valid(chat, strlen(chat));
}

/* At most max bytes of s, cut at a character boundary (s is valid UTF-8). */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static int host_flag(chatgw_plugin *self, const char *chat, const char *rule, const char *reason,
                     chatgw_done_fn *cb, void *ud)
{
    char excerpt[FLAG_EXCERPT_MAX + 1];
    struct preq *q;

    reason = reason ? reason : "";
    if (!chat_ok(self, chat) || !text_ok(rule, RULE_MAX) || !proto_utf8_valid(reason, strlen(reason)))
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.done = cb;
    size_t n = utf8_cut(reason, FLAG_EXCERPT_MAX);
    memcpy(excerpt, reason, n);
    excerpt[n] = '\0';
    return store_chat_flag(chat, self->store, rule, excerpt, on_flagged, q) == 0
           ? CHATGW_OK : preq_unsent(q);
}

static int host_set_priority(chatgw_plugin *self, const char *chat, int priority,
                             chatgw_done_fn *cb, void *ud)
{
    int level = priority & ~CHATGW_PRIO_RAISE;
    struct preq *q;

    if (!chat_ok(self, chat) || level < 0 || level >= NPRIO || !priority_name[level])
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.done = cb;
    return store_chat_priority(chat, self->store, priority_name[level],
                               (priority & CHATGW_PRIO_RAISE) != 0, on_chat_done, q) == 0
           ? CHATGW_OK : preq_unsent(q);
}

static int host_move_group(chatgw_plugin *self, const char *chat, const char *group,
                           chatgw_done_fn *cb, void *ud)
{
    struct preq *q;

    if (!chat_ok(self, chat) || !id_ok(group))
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.done = cb;
    return store_chat_move(chat, self->store, group, on_moved, q) == 0 ? CHATGW_OK
                                                                        : preq_unsent(q);
}

/* {store, first seq, {records}}: the messages handed to the plugin, copied
 * once into one block (records are decoded twice: to size, then to copy). */
static void on_last(void *ud, redisReply *r)
{
    struct preq *q = ud;
    int rc = chat_result(r), n = 0;
    struct chatgw_msg *msgs = NULL;
    char *text = NULL;

    if (rc == CHATGW_OK && r->type == REDIS_REPLY_NIL)
        rc = CHATGW_ERR_NOTFOUND;
    else if (rc == CHATGW_OK &&
             (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
              r->element[0]->type != REDIS_REPLY_STRING ||
              r->element[1]->type != REDIS_REPLY_INTEGER ||
              r->element[2]->type != REDIS_REPLY_ARRAY))
        rc = CHATGW_ERR;
    else if (rc == CHATGW_OK && q->p->store && strcmp(r->element[0]->str, q->p->store) != 0)
        rc = CHATGW_ERR_NOTFOUND;     /* another store's chat: as if none */
    if (rc == CHATGW_OK && q->p->live && q->cb.msgs) {
        const redisReply *recs = r->element[2];
        struct chat_rec cr;
        size_t bytes = 0, off = 0;

        for (size_t i = 0; i < recs->elements; i++)
            if (recs->element[i]->type == REDIS_REPLY_STRING &&
                chat_record_fields(recs->element[i]->str, recs->element[i]->len, &cr))
                bytes += strlen(cr.from) + 1 + (cr.name ? strlen(cr.name) + 1 : 0) +
                         cr.text_len + 1;
        msgs = calloc(recs->elements ? recs->elements : 1, sizeof *msgs);
        text = malloc(bytes ? bytes : 1);
        if (!msgs || !text)
            rc = CHATGW_ERR_NOMEM;
        for (size_t i = 0; rc == CHATGW_OK && i < recs->elements; i++) {
            if (recs->element[i]->type != REDIS_REPLY_STRING ||
                !chat_record_fields(recs->element[i]->str, recs->element[i]->len, &cr))
                continue;
            struct chatgw_msg *m = &msgs[n++];
            m->seq = r->element[1]->integer + (int64_t)i;
            m->ts_ms = cr.ts_ms;
            m->text_len = cr.text_len;
            m->from = memcpy(text + off, cr.from, strlen(cr.from) + 1);
            off += strlen(cr.from) + 1;
            if (cr.name) {
                m->name = memcpy(text + off, cr.name, strlen(cr.name) + 1);
                off += strlen(cr.name) + 1;
            }
            memcpy(text + off, cr.text, cr.text_len);
            text[off + cr.text_len] = '\0';
            m->text = text + off;
            off += cr.text_len + 1;
        }
    }
    if (q->p->live && q->cb.msgs)
        q->cb.msgs(q->ud, rc, rc == CHATGW_OK ? msgs : NULL, rc == CHATGW_OK ? n : 0);
    free(msgs);
    free(text);
    preq_free(q);
}

static int host_read_last(chatgw_plugin *self, const char *chat, int n, chatgw_msgs_fn *cb,
                          void *ud)
{
    struct preq *q;

    if (!chat_ok(self, chat) || n < 1 || n > STORE_LAST_MAX || !cb)
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.msgs = cb;
    return store_chat_last(chat, n, on_last, q) == 0 ? CHATGW_OK : preq_unsent(q);
}

static bool kv_key_ok(chatgw_plugin *self, const char *key)
{
    size_t n = key ? strlen(key) : 0;

    return self && self->live && n >= 1 && n <= KV_KEY_MAX;
}

static void on_kv_value(void *ud, redisReply *r)
{
    struct preq *q = ud;
    int rc = reply_result(r);

    if (rc == CHATGW_OK && r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
        rc = CHATGW_ERR;
    if (q->p->live && q->cb.value) {
        bool val = rc == CHATGW_OK && r->type == REDIS_REPLY_STRING;
        q->cb.value(q->ud, rc, val ? r->str : NULL, val ? r->len : 0);
    }
    preq_free(q);
}

static void on_kv_done(void *ud, redisReply *r)
{
    struct preq *q = ud;

    if (q->p->live && q->cb.done)
        q->cb.done(q->ud, reply_result(r));
    preq_free(q);
}

static void on_kv_int(void *ud, redisReply *r)
{
    struct preq *q = ud;
    int rc = reply_result(r);

    if (rc == CHATGW_OK && r->type != REDIS_REPLY_INTEGER)
        rc = CHATGW_ERR;
    if (q->p->live && q->cb.num)
        q->cb.num(q->ud, rc, rc == CHATGW_OK ? r->integer : 0);
    preq_free(q);
}

static int host_kv_get(chatgw_plugin *self, const char *key, chatgw_value_fn *cb, void *ud)
{
    struct preq *q;

    if (!kv_key_ok(self, key))
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.value = cb;
    return store_plugin_kv_get(self->name, key, on_kv_value, q) == 0 ? CHATGW_OK : preq_unsent(q);
}

static int host_kv_set(chatgw_plugin *self, const char *key, const char *value, size_t len,
                       uint64_t ttl_ms, chatgw_done_fn *cb, void *ud)
{
    struct preq *q;

    if (!kv_key_ok(self, key) || (!value && len) || len > KV_VALUE_MAX)
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.done = cb;
    return store_plugin_kv_set(self->name, key, value ? value : "", len, ttl_ms, on_kv_done, q) == 0
           ? CHATGW_OK : preq_unsent(q);
}

static int host_kv_del(chatgw_plugin *self, const char *key, chatgw_done_fn *cb, void *ud)
{
    struct preq *q;

    if (!kv_key_ok(self, key))
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.done = cb;
    return store_plugin_kv_del(self->name, key, on_kv_done, q) == 0 ? CHATGW_OK : preq_unsent(q);
}

static int host_kv_incr(chatgw_plugin *self, const char *key, int64_t by, chatgw_int_fn *cb,
                        void *ud)
{
    struct preq *q;

    if (!kv_key_ok(self, key))
        return CHATGW_ERR_INVAL;
    if (!(q = preq_new(self, ud)))
        return CHATGW_ERR_NOMEM;
    q->cb.num = cb;
    return store_plugin_kv_incr(self->name, key, by, on_kv_int, q) == 0 ? CHATGW_OK
                                                                         : preq_unsent(q);
}

static int host_list_add(chatgw_plugin *self, struct chatgw_event *ev, const char *category,
                         const char *key, const char *text)
{
    struct plugin_list *l = ev ? ev->host_ref : NULL;
    struct plugin_phrase *grown, *it;

    if (!self || !l || ev->event != CHATGW_EV_QUICK_LIST || !text_ok(category, 64) ||
        !text_ok(key, 64) || !text_ok(text, 4096))
        return CHATGW_ERR_INVAL;
    if (l->n == PLUGIN_LIST_MAX)
        return CHATGW_ERR_NOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        if (!(grown = realloc(l->items, cap * sizeof *grown)))
            return CHATGW_ERR_NOMEM;
        l->items = grown;
        l->cap = cap;
    }
    it = &l->items[l->n];
    it->category = strdup(category);
    it->key = strdup(key);
    it->text = strdup(text);
    if (!it->category || !it->key || !it->text) {
        free(it->category);
        free(it->key);
        free(it->text);
        return CHATGW_ERR_NOMEM;
    }
    l->n++;
    return CHATGW_OK;
}

static const struct chatgw_host host_table = {
    .version = CHATGW_ABI_VERSION,
    .size = sizeof(struct chatgw_host),
    .log = host_log,
    .option = host_option,
    .name = host_name,
    .store = host_store,
    .store_name = host_store_name,
    .hook = host_hook,
    .timer_start = host_timer_start,
    .timer_stop = host_timer_stop,
    .send = host_send,
    .flag = host_flag,
    .set_priority = host_set_priority,
    .move_group = host_move_group,
    .read_last = host_read_last,
    .kv_get = host_kv_get,
    .kv_set = host_kv_set,
    .kv_del = host_kv_del,
    .kv_incr = host_kv_incr,
    .list_add = host_list_add,
};
