/*
 * config.c - chatgwd's configuration: defaults, parsing, validation and the
 * commented sample file (format: see config.h).
 *
 * How: two tables, global_opts[] and store_opts[], list every option once
 * (name, type, field offset, default as config text, limits, extra check,
 * unit, help) and drive everything:
 *   - config_defaults feeds each default text through set_opt(), the code
 *     that handles a value read from a file;
 *   - config_load splits each line into words (quotes, escapes, comments),
 *     finds the first word in the table of the current scope (global, or
 *     the store block opened by the last `store ID` line) and hands the
 *     values to set_opt(); rules across options (default_group in groups,
 *     hold_after < breach_after, ping_interval < idle_timeout, tls_cert with
 *     tls_key) are checked when a store block or the file ends;
 *   - config_free frees the string fields the tables name;
 *   - config_write_defaults prints the tables as a commented config, and
 *     config_write_man as the manual chatgw.conf(5).
 * The file fills a scratch config that replaces *c only when no problem was
 * found; every problem is reported, not only the first (up to MAX_ERRORS).
 * The file is hostile until checked: at most CONF_MAX_BYTES are read and
 * CONF_MAX_LINE kept per line (so `-c /dev/zero` fails at once in bounded
 * memory), a NUL byte is an error, error lines show control characters and
 * invalid UTF-8 as \xHH, and no error quotes a Redis URL (its password).
 * An empty string
 * means "derived": redis "" = embedded, node_id "" = hostname:port,
 * name "" = the store id, default_group "" = the first group.
 *
 * API: config_defaults, config_load, config_free, config_find_store,
 *      config_store_has_group, config_write_defaults, config_write_man
 *      (see config.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "db_url.h"
#include "greet.h"
#include "shift.h"

#define MAX_WORDS 64              /* words on one line */
#define CONF_MAX_BYTES (1 << 20)  /* a config file larger than 1 MiB is refused */
#define CONF_MAX_LINE 4096        /* bytes in one line */
#define MAX_ERRORS 100            /* error lines printed; the rest are counted */
#define TPL_MAX 2048              /* bytes in a greeting/hold_text template */
#define ZONEINFO "/usr/share/zoneinfo/"

enum type { T_SECTION, T_STR, T_BOOL, T_U32, T_DBL, T_DUR, T_SIZE, T_LEVEL, T_LISTEN, T_LIST,
            T_TEXTS, T_LINES };

typedef int check_fn(const char *v, char *why, size_t cap);

struct opt {
    const char *name;             /* NULL: a section heading (help) */
    enum type type;
    size_t off;                   /* field in struct config / store_conf */
    const char *def;              /* default, as written in a config file */
    double min, max;              /* numbers: plain, bytes or ms; T_LIST, T_TEXTS: count */
    check_fn *check;              /* extra check of a string value, or NULL */
    const char *unit;
    const char *help;
    size_t count_off;             /* T_LIST, T_TEXTS: the int holding the count */
};

static check_fn check_nonempty, check_redis, check_tpl, check_tz, check_id, check_id_or_empty,
                check_file, check_listen_or_empty, check_origin, check_web_root;

#define KIB 1024.0
#define MIB (1024.0 * 1024)
#define MS 1.0
#define SEC 1000.0
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

#define OFF(f) offsetof(OPT_STRUCT, f)
#define SECTION(h)              { NULL, T_SECTION, 0, NULL, 0, 0, NULL, NULL, h, 0 }
#define STR(n, d, chk, u, h)    { #n, T_STR, OFF(n), d, 0, 0, chk, u, h, 0 }
#define BOOL(n, d, h)           { #n, T_BOOL, OFF(n), d, 0, 0, NULL, "yes|no", h, 0 }
#define LEVEL(n, d, h)          { #n, T_LEVEL, OFF(n), d, 0, 0, NULL, "error|warn|info|debug", h, 0 }
#define LISTEN(n, d, h)         { #n, T_LISTEN, OFF(n), d, 0, 0, NULL, "HOST:PORT", h, 0 }
#define U32(n, d, lo, hi, u, h) { #n, T_U32, OFF(n), d, lo, hi, NULL, u, h, 0 }
#define DBL(n, d, lo, hi, u, h) { #n, T_DBL, OFF(n), d, lo, hi, NULL, u, h, 0 }
#define SIZE(n, d, lo, hi, h)   { #n, T_SIZE, OFF(n), d, lo, hi, NULL, "bytes", h, 0 }
#define DUR(n, d, lo, hi, h)    { #n, T_DUR, OFF(n##_ms), d, lo, hi, NULL, "duration", h, 0 }
#define LISTU(n, cnt, d, lo, hi, chk, u, h) { #n, T_LIST, OFF(n), d, lo, hi, chk, u, h, OFF(cnt) }
#define LIST(n, cnt, d, lo, hi, chk, h) LISTU(n, cnt, d, lo, hi, chk, "names", h)
/* a text option that may be given several times (each line adds one) */
#define TEXTS(n, cnt, d, hi, chk, u, h) { #n, T_TEXTS, OFF(n), d, 1, hi, chk, u, h, OFF(cnt) }
/* an option that may be given several times, each line's words one value;
 * none by default (ex: an example, shown in the sample config) */
#define LINES(n, cnt, ex, hi, chk, u, h) { #n, T_LINES, OFF(n), ex, 0, hi, chk, u, h, OFF(cnt) }

#define OPT_STRUCT struct config
static const struct opt global_opts[] = {
    SECTION("Network"),
    LISTEN(listen, "127.0.0.1:8080", "address and port to listen on; IPv6 as [::1]:8080"),
    BOOL(reuseport, "no", "set SO_REUSEPORT, so that several chatgwd processes share the port"),
    STR(tls_cert, "", check_file, "path", "PEM certificate; TLS is on when tls_cert and tls_key are both set"),
    STR(tls_key, "", check_file, "path", "PEM private key of tls_cert"),
    STR(web_root, "", check_web_root, "path", "directory of the static pages served at / (the widget, "
        "/demo/, /desk/), read into memory at start and on SIGHUP; empty = the installed pages "
        "(BIN/../share/chatgw/web, else BIN/../web); off = none"),
    SIZE(web_max_bytes, "8m", 1 * KIB, 256 * MIB, "most bytes of web_root held in memory; a larger "
         "web_root is not loaded (at start: no pages; on SIGHUP: the old ones stay)"),
    U32(web_max_files, "500", 1, 100000, "files", "most files of web_root held in memory; with more, "
        "web_root is not loaded, as with web_max_bytes"),
    STR(metrics_listen, "", check_listen_or_empty, "HOST:PORT", "serve /metrics (and /healthz) on "
        "this address only, and answer 404 for /metrics on listen; empty = /metrics on listen"),
    LISTU(allowed_origins, nallowed_origins, "", 0, CONFIG_MAX_ORIGINS, check_origin, "origins",
          "web pages (scheme://host[:port]) besides the gateway's own that may open /v1/agent and "
          "/v1/supervisor; a browser upgrade from any other Origin gets 403; clients that send no "
          "Origin (desk apps, scripts) are not browsers and are let in"),
    SECTION("Storage"),
    STR(redis, "", check_redis, "URL", "Redis to use: redis://[:password@]host[:port][/db] or "
        "unix:///path/to.sock[?db=N]; empty = start an embedded redis-server in state_dir"),
    STR(redis_server, "redis-server", check_nonempty, "path", "redis-server binary run for the embedded Redis"),
    STR(state_dir, "/var/lib/chatgw", check_nonempty, "path", "directory of the embedded Redis: socket, data, log"),
    DUR(redis_connect_timeout, "2s", 100 * MS, 1 * MINUTE, "give up a Redis connection attempt after this long"),
    DUR(redis_timeout, "2s", 100 * MS, 1 * MINUTE, "a Redis reply overdue this long marks the link down: the "
        "requests waiting get unavailable, /healthz turns 503, and the link reconnects"),
    DUR(redis_backoff_max, "5s", 100 * MS, 10 * MINUTE, "longest wait between Redis reconnection attempts"),
    DUR(transcript_ttl, "90d", 1 * SEC, 3650 * DAY, "a chat is kept this long after its last activity"),
    DUR(stats_ttl, "90d", 1 * HOUR, 3650 * DAY, "hourly statistics (response times, breaches, ...) are kept "
        "this long"),
    DUR(stats_flush, "1s", 100 * MS, 1 * MINUTE, "response times are added to the statistics in Redis "
        "this often (a node killed loses at most this much of them)"),
    SECTION("Identity and logging"),
    STR(node_id, "", NULL, "text", "name of this process in logs and Redis; empty = hostname:port (and :pid with reuseport)"),
    LEVEL(log_level, "info", "least important level logged"),
    SECTION("Per-session limits"),
    SIZE(max_frame_bytes, "8k", 256, 1 * MIB, "a larger frame closes the session with code 1009"),
    U32(max_depth, "8", 1, 32, "levels", "deepest nesting of maps and arrays in a frame"),
    U32(max_elems, "512", 16, 65536, "values", "most values in one frame"),
    U32(max_sessions, "19000", 1, 1000000, "sessions", "most WebSocket sessions in this process"),
    U32(max_sessions_per_ip, "200", 1, 1000000, "sessions", "more sessions from one IP are closed with code 1013"),
    DBL(msg_rate, "10", 0.1, 10000, "messages per second", "buyer messages allowed per second, sustained; "
        "more get rate_limited"),
    U32(msg_burst, "20", 1, 100000, "messages", "burst allowed above msg_rate (token bucket depth)"),
    DBL(new_chat_rate, "1", 0.01, 100000, "chats per second", "new chats one IP may open, sustained "
        "(a hello without resume); more get rate_limited and close 1013"),
    U32(new_chat_burst, "60", 1, 1000000, "chats", "burst allowed above new_chat_rate, per IP"),
    DBL(signal_rate, "5", 0.1, 10000, "frames per second", "typing and read frames allowed per "
        "second per session (buyer or agent), sustained; more are dropped silently"),
    U32(signal_burst, "20", 1, 100000, "frames", "burst allowed above signal_rate"),
    U32(bad_frames_max, "3", 1, 1000, "frames", "this many bad frames within bad_frames_window close the session "
        "with code 1008"),
    DUR(bad_frames_window, "10s", 100 * MS, 1 * HOUR, "time window of bad_frames_max"),
    SIZE(outbound_max_bytes, "256k", 4 * KIB, 64 * MIB, "a slow reader with more output queued is closed with code 1008; also caps each session socket's kernel send buffer"),
    U32(inflight_max, "16", 1, 1024, "requests", "Redis requests in flight per session"),
    DUR(hello_timeout, "10s", 100 * MS, 10 * MINUTE, "no hello within this long closes the session with code 1008"),
    DUR(ping_interval, "30s", 100 * MS, 1 * HOUR, "a session silent this long is pinged"),
    DUR(idle_timeout, "75s", 100 * MS, 1 * DAY, "a session silent this long is closed with code 1001; "
        "must be longer than ping_interval"),
    DUR(shutdown_timeout, "5s", 0, 10 * MINUTE, "on SIGTERM, wait at most this long for sessions to close"),
    DUR(typing_relay, "2s", 100 * MS, 1 * MINUTE, "a session's typing is relayed to the other side of "
        "a chat at most once per this long (per chat); the receiver shows it for three times as long "
        "unless renewed"),
    SECTION("Agents and routing"),
    DBL(agent_msg_rate, "50", 0.1, 10000, "messages per second", "agent messages allowed per second, "
        "sustained; more get rate_limited"),
    U32(agent_msg_burst, "100", 1, 100000, "messages", "burst allowed above agent_msg_rate"),
    U32(login_fail_max, "5", 1, 10000, "logins", "this many failed logins from one IP within "
        "login_fail_window make further attempts rate_limited"),
    DUR(login_fail_window, "1m", 1 * SEC, 1 * DAY, "time window of login_fail_max"),
    U32(agent_sessions_max, "32", 1, 10000, "sessions", "most sessions (desk windows) one agent may "
        "have open at once, over all nodes; one more login gets too_many_sessions"),
    DUR(agent_grace, "30s", 0, 1 * DAY, "an agent whose sessions are all gone keeps its chats this long; "
        "then they go back to the head of their queue"),
    DUR(node_heartbeat, "2s", 100 * MS, 1 * MINUTE, "how often this node says it is alive in Redis "
        "(and sweeps for dead nodes and expired grace)"),
    DUR(node_timeout, "10s", 300 * MS, 10 * MINUTE, "a node silent this long is dead: its agents count as "
        "disconnected; must be longer than node_heartbeat"),
    U32(history_max, "50", 1, 10000, "messages", "most recent messages sent with assign and with an "
        "agent's welcome, per chat"),
    U32(assign_batch, "16", 1, 10000, "chats", "most chats one assignment step hands out (a step "
        "holds Redis for about 0.1 ms per chat)"),
    SIZE(context_max_bytes, "4k", 256, 64 * KIB, "longest signed context a buyer's hello may carry; "
         "a longer one is ignored (logged)"),
    U32(snapshot_chats, "500", 1, 100000, "chats", "most live chats a supervisor's snapshot lists "
        "(more: it says truncated); each costs Redis about 5 us and the frame about 200 bytes"),
    U32(supervisor_watch_max, "20", 1, 1000, "chats", "most chats one supervisor session may watch "
        "(or join) at once; one more watch gets bad_value"),
    U32(context_id_bytes, "64", 1, 64 * KIB, "bytes", "longest buyer.id and product.id of a signed "
        "context; a longer one makes the context ignored (logged)"),
    U32(context_name_chars, "64", 1, 64 * KIB, "characters", "longest buyer.name of a signed context; "
        "a longer one makes the context ignored (logged)"),
    U32(context_title_chars, "200", 1, 64 * KIB, "characters", "longest product.title of a signed "
        "context; a longer one makes the context ignored (logged)"),
    U32(context_price_chars, "32", 1, 64 * KIB, "characters", "longest product.price of a signed "
        "context; a longer one makes the context ignored (logged)"),
    U32(context_url_bytes, "2048", 16, 64 * KIB, "bytes", "longest product.url of a signed context; "
        "a longer one makes the context ignored (logged)"),
    U32(buyer_notes_max, "20", 1, 1000, "notes", "most notes agents keep on one signed buyer of a "
        "store (note with buyer: true); a new one beyond them drops the oldest"),
    SIZE(buyer_note_max_bytes, "1k", 16, 16 * KIB, "longest note on a buyer (UTF-8 bytes); a longer "
         "one gets too_large"),
    DUR(buyer_notes_keep, "365d", 1 * DAY, 3650 * DAY, "a note on a buyer is shown this long after "
        "it was written, then dropped"),
    SECTION("Plugins"),
    DUR(plugin_hook_budget, "2ms", 1 * MS, 10 * SEC, "a plugin hook that runs longer than this is "
        "logged (plugin_slow_hook) and counted in /metrics (chatgw_plugin_slow_hooks_total)"),
    SECTION("Testing"),
    DUR(test_clock_offset, "0", 0, 36500 * DAY, "FOR TESTS ONLY: the gateway's wall clock runs this far "
        "ahead of the system's (shifts, deadlines, timestamps); refused unless chatgwd was started with "
        "--test-clock; logged at warn at start and on every change"),
};
#undef OPT_STRUCT

#define OPT_STRUCT struct store_conf
static const struct opt store_opts[] = {
    STR(name, "", NULL, "text", "display name: the sender name of automatic replies and {store} in "
        "templates; empty = the store id"),
    STR(greeting, "Hello, welcome to {store}! How can I help you?", check_tpl, "template",
        "automatic reply to a chat's first message; placeholders {store} {buyer} {position} {agent}, "
        "{{ and }} for literal braces"),
    TEXTS(hold_text, nhold_text, "Thanks for waiting! All our agents are busy right now; we will be "
        "with you shortly.", CONFIG_MAX_TEXTS, check_tpl, "template",
        "holding reply to a buyer message unanswered for hold_after; may be given up to 8 times "
        "(used in turn); same placeholders ({position}: the place in the queue, empty once assigned)"),
    STR(transfer_text, "You are being transferred to another agent.", check_tpl, "template",
        "told to the buyer when its chat moves to another agent or group"),
    STR(agent_gone_text, "Your agent was disconnected; we are finding you another one.", check_tpl,
        "template", "told to the buyer when its agent has been gone for agent_grace"),
    STR(reassign_text, "Sorry for the wait! {agent} will help you now.", check_tpl, "template",
        "told to the buyer when a colleague takes over an unanswered chat ({agent}: the new agent)"),
    STR(farewell_sold, "Thank you for your order at {store}! Feel free to come back any time.",
        check_tpl, "template", "sent when an agent closes the chat with outcome sold"),
    STR(farewell_no_sale, "Thank you for visiting {store}! We are here whenever you need us.",
        check_tpl, "template", "sent when an agent closes the chat with outcome no_sale"),
    STR(timezone, "UTC", check_tz, "IANA zone", "the store's time zone, e.g. Asia/Shanghai"),
    LISTU(buyer_origins, nbuyer_origins, "", 0, CONFIG_MAX_ORIGINS, check_origin, "origins",
          "the store's web pages (scheme://host[:port]) that may open its chats: a browser's hello "
          "from any other page gets forbidden and close 1008; clients that send no Origin are let "
          "in; empty = any page"),
    LIST(groups, ngroups, "pre-sales after-sales", 1, CONFIG_MAX_GROUPS, check_id,
         "agent groups a buyer may ask for: 1 to 16 names of A-Z a-z 0-9 _ . -"),
    STR(default_group, "", check_id_or_empty, "name", "group of a chat whose buyer named none; one of "
        "groups; empty = the first group"),
    U32(max_text_chars, "2000", 1, 65536, "characters", "longest buyer message; a longer one gets too_large"),
    DUR(hold_after, "20s", 100 * MS, 1 * DAY, "a buyer message unanswered this long gets hold_text"),
    DUR(hold_every, "30s", 100 * MS, 1 * DAY, "holding replies are at least this far apart (and each "
        "needs a new buyer message since the last)"),
    U32(hold_max, "3", 0, 100, "replies", "most holding replies while a buyer waits for an answer; "
        "0 = none"),
    DUR(breach_after, "30s", 100 * MS, 7 * DAY, "unanswered this long, a chat is flagged (event breach, "
        "counted against its agent); must be longer than hold_after"),
    DUR(reassign_after, "60s", 0, 7 * DAY, "an assigned chat its agent has not answered this long is "
        "given to a free colleague of its group (a waiting chat goes to the head of its queue); 0 = off"),
    DUR(away_reassign, "2m", 0, 7 * DAY, "an agent away this long has its unanswered chats given to "
        "free colleagues; 0 = never"),
    LINES(shift, nshift, "day 09:00-17:30 mon-fri", CONFIG_MAX_SHIFTS, shift_check_line, "NAME HH:MM-HH:MM [DAYS]",
          "a named shift in the store's timezone, repeatable (up to 32): DAYS like mon-fri, mon,wed, "
          "sat-sun (default every day); an end at or before the start is on the next day; 24:00 ends "
          "the day. Agents are rostered to shifts (chatgwctl roster); an agent with no roster works "
          "every shift. No shift line: the store is always open"),
    LINES(closed, nclosed, "2026-02-17", CONFIG_MAX_DATES, shift_check_date, "YYYY-MM-DD",
          "a date (in timezone) on which no shift starts, repeatable (up to 128)"),
    LINES(extend, nextend, "2026-11-11 00:00-24:00", CONFIG_MAX_DATES, shift_check_extend, "YYYY-MM-DD HH:MM-HH:MM",
          "extra opening hours on a date, repeatable (up to 128): every agent of the store is on "
          "shift then"),
    BOOL(overtime, "no", "an agent off shift who sets itself ready (again) takes new chats"),
    STR(off_hours_text, "We are closed right now and will answer your message when we open "
        "({opens}). Feel free to leave us a message.", check_tpl, "template",
        "told to a buyer who writes while the store is closed, or its chat's group (none of its "
        "agents on shift), once per closed period; {opens}: when the next shift (of the group) "
        "opens, in the store's time zone"),
    STR(context_secret, "", NULL, "secret", "the key of the HMAC-SHA256 with which the store's site signs "
        "a buyer's context (hello's context: who the buyer is, its priority, the product it views); "
        "empty = contexts are ignored. A secret: never logged, never printed"),
    U32(priority_weight_ordered, "20", 0, 1000000, "arrivals", "a chat whose signed priority is ordered "
        "goes before the chats that arrived at most this many arrivals before it"),
    U32(priority_weight_paid, "50", 0, 1000000, "arrivals", "the same for priority paid"),
    U32(priority_weight_vip, "100", 0, 1000000, "arrivals", "the same for priority vip; the largest "
        "weight bounds how many later arrivals may go before a chat"),
    U32(sticky_days, "7", 0, 3650, "days", "a returning buyer (same signed buyer id, or a new chat "
        "whose hello names its previous chat's resume token) goes to the agent who had it last "
        "within this many days, when that agent can take it; 0 = off"),
    DUR(sticky_wait, "10s", 0, 1 * HOUR, "a returning buyer whose last agent is busy (ready but full) "
        "waits for it at most this long, then goes to anyone"),
};
#undef OPT_STRUCT

#define NGLOBAL (sizeof global_opts / sizeof global_opts[0])
#define NSTORE (sizeof store_opts / sizeof store_opts[0])

struct ctx {
    const char *path;
    FILE *errs;
    struct config *c;             /* the scratch config being filled */
    int nerr, line;
    int gline[NGLOBAL];           /* line each option was set on; 0 = default */
    int sline[NSTORE];            /* the same for the open store block */
    int *store_lines;             /* line of each `store` line */
    bool open;                    /* a store block is open */
    struct plugin_conf *plug;     /* the plugin whose option block is open */
    size_t plug_indent;           /* its line's indentation: options go deeper */
};

/* ---- small helpers ---- */

static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* s to out, with control characters, DEL, C1 controls and bytes that are
 * not valid UTF-8 as \xHH: a hostile file cannot write to the terminal. */
static void put_escaped(FILE *out, const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 :
                             c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        unsigned i = 1;

        if (n != 9 && !((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
                        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90) ||
                        (c == 0xC2 && s[1] < 0xA0)))         /* U+0080..U+009F */
            for (; i <= n && (s[i] & 0xC0) == 0x80; i++)
                ;
        if (c < 0x20 || c == 0x7F || n == 9 || i != n + 1) {
            fprintf(out, "\\x%02X", c);
            s++;
        } else {
            fwrite(s, 1, i, out);
            s += i;
        }
    }
}

static void report(struct ctx *x, int line, const char *opt, const char *fmt, ...)
{
    char msg[CONF_MAX_LINE + 512], head[64];
    va_list ap;

    if (++x->nerr > MAX_ERRORS + 1 || !x->errs)
        return;
    if (x->nerr == MAX_ERRORS + 1) {
        opt = "config";
        snprintf(msg, sizeof msg, "more problems follow; only the first %d are shown", MAX_ERRORS);
    } else {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    put_escaped(x->errs, (const unsigned char *)x->path);
    snprintf(head, sizeof head, ":%d: ", line);
    fputs(head, x->errs);
    put_escaped(x->errs, (const unsigned char *)opt);
    fputs(": ", x->errs);
    put_escaped(x->errs, (const unsigned char *)msg);
    fputc('\n', x->errs);
}

static const struct opt *find(const struct opt *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].name && strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

/* Line the option `name` of table t was set on (lines[] parallel to t). */
static int line_of(const struct opt *t, size_t n, const int *lines, const char *name)
{
    const struct opt *o = find(t, n, name);

    return o ? lines[o - t] : 0;
}

/* "90d", "75s", "500ms": the largest unit that divides ms. */
static const char *fmt_dur(uint64_t ms, char *buf, size_t cap)
{
    static const struct { const char *sfx; uint64_t ms; } u[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
    };
    size_t i = 0;

    while (i < 4 && (ms == 0 ? u[i].ms != 1000 : ms % u[i].ms != 0))
        i++;
    snprintf(buf, cap, "%llu%s", (unsigned long long)(ms / u[i].ms), u[i].sfx);
    return buf;
}

/* A limit of option o as text: durations with a unit, others plain. */
static const char *fmt_limit(const struct opt *o, double v, char *buf, size_t cap)
{
    if (o->type == T_DUR)
        return fmt_dur((uint64_t)v, buf, cap);
    snprintf(buf, cap, o->type == T_DBL ? "%g" : "%.0f", v);
    return buf;
}

static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s++, n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 :
                               c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (n == 9 || (c == 0xE0 && *s < 0xA0) || (c == 0xED && *s >= 0xA0) ||
            (c == 0xF0 && *s < 0x90) || (c == 0xF4 && *s >= 0x90))
            return false;
        for (; n > 0; n--, s++)
            if ((*s & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/*
 * Digits with an optional suffix of type t (T_U32: none; T_SIZE: k m;
 * T_DUR: ms s m h d, none = s). Saturates at UINT64_MAX, which no limit
 * allows. Returns -1 when s is not of that form.
 */
static int parse_uint(enum type t, const char *s, uint64_t *out)
{
    static const struct { enum type t; const char *sfx; uint64_t mult; } sfx[] = {
        { T_U32, "", 1 }, { T_SIZE, "", 1 }, { T_SIZE, "k", 1024 }, { T_SIZE, "m", 1048576 },
        { T_DUR, "", 1000 }, { T_DUR, "ms", 1 }, { T_DUR, "s", 1000 }, { T_DUR, "m", 60000 },
        { T_DUR, "h", 3600000 }, { T_DUR, "d", 86400000 },
    };
    uint64_t n = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        if (sfx[i].t == t && strcasecmp(s, sfx[i].sfx) == 0) {
            *out = n > UINT64_MAX / sfx[i].mult ? UINT64_MAX : n * sfx[i].mult;
            return 0;
        }
    }
    return -1;
}

/* Index of s in the NULL-terminated names, or -1. */
static int pick(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcasecmp(names[i], s) == 0)
            return i;
    return -1;
}

/* ---- checks of string values ---- */

static int check_nonempty(const char *v, char *why, size_t cap)
{
    return *v ? 0 : fail(why, cap, "must not be empty");
}

static int check_id_or_empty(const char *v, char *why, size_t cap)
{
    return *v ? check_id(v, why, cap) : 0;
}

/* The full URL parser of the Redis link; its errors never quote the URL. */
static int check_redis(const char *v, char *why, size_t cap)
{
    struct db_url u;
    char err[128];

    if (!*v)
        return 0;
    if (db_url_parse(&u, v, err, sizeof err) != 0)
        return fail(why, cap, "%s (expected redis://[:password@]host[:port][/db] or "
                    "unix:///path/to.sock[?db=N])", err);
    db_url_free(&u);
    return 0;
}

/* A file read at start (TLS): it must exist and be a regular file. */
static int check_file(const char *v, char *why, size_t cap)
{
    struct stat st;

    if (!*v)
        return 0;
    if (stat(v, &st) != 0)
        return fail(why, cap, "cannot use \"%s\": %s", v, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(why, cap, "\"%s\" is not a regular file", v);
    return 0;
}

static int check_web_root(const char *v, char *why, size_t cap)
{
    struct stat st;

    if (!*v || strcmp(v, "off") == 0)
        return 0;
    if (stat(v, &st) != 0)
        return fail(why, cap, "cannot use \"%s\": %s", v, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(why, cap, "\"%s\" is not a directory", v);
    return 0;
}

static int check_tpl(const char *v, char *why, size_t cap)
{
    char bad[CONFIG_ID_MAX + 1];

    if (strlen(v) > TPL_MAX)
        return fail(why, cap, "longer than %d bytes", TPL_MAX);
    if (greet_check(v, bad, sizeof bad) == 0)
        return 0;
    if (strcmp(bad, "unclosed {") == 0)
        return fail(why, cap, "unclosed { (write {{ for a literal brace)");
    return fail(why, cap, "unknown placeholder {%s} (known: {store} {buyer} {position} {agent} {opens})", bad);
}

static int check_tz(const char *v, char *why, size_t cap)
{
    char path[256];
    struct stat st;

    if (strcmp(v, "UTC") == 0)
        return 0;
    if (!*v || *v == '/' || strstr(v, "..") || strlen(v) > 128 ||
        v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/")])
        return fail(why, cap, "invalid time zone \"%s\" (an IANA name like Asia/Shanghai)", v);
    snprintf(path, sizeof path, ZONEINFO "%s", v);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return fail(why, cap, "unknown time zone \"%s\" (no file %s)", v, path);
    return 0;
}

static int check_id(const char *v, char *why, size_t cap)
{
    size_t n = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

    if (n >= 1 && n <= CONFIG_ID_MAX && !v[n])
        return 0;
    return fail(why, cap, "invalid name \"%s\" (1 to %d of A-Z a-z 0-9 _ . -)", v, CONFIG_ID_MAX);
}

static int check_listen(const char *v, char *why, size_t cap);

static int check_listen_or_empty(const char *v, char *why, size_t cap)
{
    return *v ? check_listen(v, why, cap) : 0;
}

/* scheme://host[:port], as a browser sends it in Origin: no path, no slash */
static int check_origin(const char *v, char *why, size_t cap)
{
    const char *h = strncasecmp(v, "http://", 7) == 0 ? v + 7 :
                    strncasecmp(v, "https://", 8) == 0 ? v + 8 : NULL;
    size_t n;

    if (!h)
        return fail(why, cap, "expected http://HOST[:PORT] or https://HOST[:PORT], got \"%s\"", v);
    if (h[0] == '[') {                    /* [IPv6] */
        n = 1 + strspn(h + 1, "0123456789abcdefABCDEF:.");
        n = h[n] == ']' ? n + 1 : 0;
    } else {
        n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-");
    }
    if (n > 0 && h[n] == ':') {
        size_t d = strspn(h + n + 1, "0123456789");
        n = d >= 1 && d <= 5 ? n + 1 + d : 0;
    }
    if (n == 0 || h[n])
        return fail(why, cap, "invalid origin \"%s\" (scheme://host[:port], no path)", v);
    return 0;
}

static int check_listen(const char *v, char *why, size_t cap)
{
    const char *colon = strrchr(v, ':');
    char host[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    uint64_t port;
    size_t n;

    if (!colon || colon == v)
        return fail(why, cap, "expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, got \"%s\"", v);
    n = (size_t)(colon - v);
    if (v[0] == '[') {
        if (n < 3 || v[n - 1] != ']' || n - 2 >= sizeof host)
            return fail(why, cap, "expected [IPV6]:PORT, got \"%s\"", v);
        memcpy(host, v + 1, n - 2);
        host[n - 2] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return fail(why, cap, "invalid IPv6 address \"%s\"", host);
    } else if (memchr(v, ':', n)) {
        return fail(why, cap, "an IPv6 address needs brackets, e.g. [::1]:8080");
    } else if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_") != n) {
        return fail(why, cap, "invalid host \"%.*s\"", (int)n, v);
    }
    if (parse_uint(T_U32, colon + 1, &port) != 0 || port < 1 || port > 65535)
        return fail(why, cap, "port must be between 1 and 65535");
    return 0;
}

/* ---- setting one option ---- */

static int set_str(char **field, const char *v, char *why, size_t cap)
{
    char *s = strdup(v);

    if (!s)
        return fail(why, cap, "out of memory");
    free(*field);
    *field = s;
    return 0;
}

static int set_list(const struct opt *o, void *base, char **v, int n, char *why, size_t cap)
{
    char **list = (char **)((char *)base + o->off);
    char *copy[CONFIG_MAX_GROUPS > CONFIG_MAX_ORIGINS ? CONFIG_MAX_GROUPS : CONFIG_MAX_ORIGINS];
    int *count = (int *)((char *)base + o->count_off), i, j;

    if (n < o->min || n > o->max)
        return fail(why, cap, "expects %.0f to %.0f %s, got %d", o->min, o->max, o->unit, n);
    for (i = 0; i < n; i++) {
        if (o->check && o->check(v[i], why, cap) != 0)
            return -1;
        for (j = 0; j < i; j++)
            if (strcmp(v[i], v[j]) == 0)
                return fail(why, cap, "duplicate name \"%s\"", v[i]);
    }
    for (i = 0; i < n && (copy[i] = strdup(v[i])); i++)
        ;
    if (i < n) {
        while (i-- > 0)
            free(copy[i]);
        return fail(why, cap, "out of memory");
    }
    for (j = 0; j < *count; j++)
        free(list[j]);
    memcpy(list, copy, (size_t)n * sizeof copy[0]);
    *count = n;
    return 0;
}

/* Parses the n values v of option o into its field of base. */
static int set_opt(const struct opt *o, void *base, char **v, int n, char *why, size_t cap)
{
    static const char *const bools[] = { "no", "yes", "false", "true", "off", "on", NULL };
    static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
    static const char *const what[][2] = { [T_U32] = { "number", "" },
        [T_SIZE] = { "size", " (e.g. 512, 8k, 1m)" }, [T_DUR] = { "duration", " (e.g. 500ms, 10s, 5m, 2h, 90d)" } };
    void *f = (char *)base + o->off;
    char lo[32], hi[32], *end;
    uint64_t u = 0;
    double d = 0;
    int i;

    char joined[CONF_MAX_LINE + 1], *one[1];
    if (o->type == T_LIST)
        return set_list(o, base, v, n, why, cap);
    if (o->type == T_LINES && n > 0) {
        size_t len = 0;
        for (i = 0; i < n; i++)
            len += (size_t)snprintf(joined + len, sizeof joined - len, "%s%s", i ? " " : "", v[i]);
        one[0] = joined;
        v = one;
        n = 1;
    }
    if (n != 1)
        return fail(why, cap, n ? "expects one value (quote a value that contains spaces)" : "missing value");
    switch (o->type) {
    case T_TEXTS:
    case T_LINES:
    case T_STR:
        if (!utf8_valid((const unsigned char *)v[0]))
            return fail(why, cap, "not valid UTF-8");
        if (v[0][strcspn(v[0], "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0d\x0e\x0f\x10"
                               "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e"
                               "\x1f\x7f")])
            return fail(why, cap, "control character (only \\n and tabs are allowed)");
        if (o->check && o->check(v[0], why, cap) != 0)
            return -1;
        if (o->type == T_TEXTS || o->type == T_LINES) {
            int *count = (int *)((char *)base + o->count_off);
            if (*count >= o->max)
                return fail(why, cap, "given more than %.0f times", o->max);
            ((char **)f)[*count] = NULL;
            if (set_str(&((char **)f)[*count], v[0], why, cap) != 0)
                return -1;
            (*count)++;
            return 0;
        }
        return set_str(f, v[0], why, cap);
    case T_LISTEN:
        return check_listen(v[0], why, cap) ? -1 : set_str(f, v[0], why, cap);
    case T_BOOL:
        if ((i = pick(bools, v[0])) < 0)
            return fail(why, cap, "expected yes or no, got \"%s\"", v[0]);
        *(bool *)f = i % 2;
        return 0;
    case T_LEVEL:
        if ((i = pick(levels, v[0])) < 0)
            return fail(why, cap, "expected error, warn, info or debug, got \"%s\"", v[0]);
        *(int *)f = LOG_ERROR + i;
        return 0;
    case T_DBL:
        errno = 0;
        d = strtod(v[0], &end);
        if (!(isdigit((unsigned char)*v[0]) || *v[0] == '.') || *end || errno || !isfinite(d))
            return fail(why, cap, "invalid number \"%s\"", v[0]);
        break;
    default:
        if (parse_uint(o->type, v[0], &u) != 0)
            return fail(why, cap, "invalid %s \"%s\"%s", what[o->type][0], v[0], what[o->type][1]);
        d = (double)u;
        break;
    }
    if (d < o->min || d > o->max)
        return fail(why, cap, "must be between %s and %s", fmt_limit(o, o->min, lo, sizeof lo),
                    fmt_limit(o, o->max, hi, sizeof hi));
    if (o->type == T_DBL)
        *(double *)f = d;
    else if (o->type == T_DUR)
        *(uint64_t *)f = u;
    else
        *(uint32_t *)f = (uint32_t)u;
    return 0;
}

/*
 * Splits s in place into words: blanks separate them, `#` outside quotes
 * starts a comment, "..." is one word with \" \\ \n escapes. Returns the
 * number of words, or -1 with the problem in why.
 */
static int split(char *s, char **w, int maxw, char *why, size_t cap)
{
    char *r = s, *o;
    int n = 0;

    for (;;) {
        r += strspn(r, " \t");
        if (!*r || *r == '#')
            return n;
        if (n == maxw)
            return fail(why, cap, "more than %d values", maxw - 1);
        w[n++] = o = r;
        if (*r != '"') {
            r += strcspn(r, " \t#");
            if (*r != ' ' && *r != '\t') {
                *r = '\0';        /* end of line or a comment */
                return n;
            }
            *r++ = '\0';
            continue;
        }
        for (r++; *r != '"'; r++) {
            if (!*r)
                return fail(why, cap, "unterminated quote");
            if (*r == '\\') {
                r++;
                if (*r == 'n')
                    *o++ = '\n';
                else if (*r == '"' || *r == '\\')
                    *o++ = *r;
                else if (!*r)
                    return fail(why, cap, "unterminated quote");
                else
                    return fail(why, cap, "unknown escape \\%c (use \\\" \\\\ or \\n)", *r);
            } else {
                *o++ = *r;
            }
        }
        r++;                      /* past the closing quote; o < r */
        *o = '\0';
        if (*r && *r != ' ' && *r != '\t' && *r != '#')
            return fail(why, cap, "text right after a closing quote");
    }
}

/* Sets every option of table t in base to its default. */
static void apply_defaults(const struct opt *t, size_t n, void *base)
{
    char buf[256], why[256], *w[MAX_WORDS], *one[1];

    for (size_t i = 0; i < n; i++) {
        if (!t[i].name || t[i].type == T_LINES)
            continue;                 /* T_LINES: none by default */
        if (t[i].type == T_LIST) {
            snprintf(buf, sizeof buf, "%s", t[i].def);
            set_opt(&t[i], base, w, split(buf, w, MAX_WORDS, why, sizeof why), why, sizeof why);
        } else {
            one[0] = (char *)t[i].def;
            set_opt(&t[i], base, one, 1, why, sizeof why);
        }
    }
}

static void free_fields(const struct opt *t, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char **f = (char **)((char *)base + t[i].off);

        if (t[i].type == T_STR || t[i].type == T_LISTEN) {
            free(*f);
            *f = NULL;
        } else if (t[i].type == T_LIST || t[i].type == T_TEXTS || t[i].type == T_LINES) {
            int *count = (int *)((char *)base + t[i].count_off);
            for (int j = 0; j < *count; j++)
                free(f[j]);
            *count = 0;
        }
    }
}

/* ---- store blocks and rules across options ---- */

/* The rule "lo < hi" between two duration options of table t. */
static void check_order(struct ctx *x, const struct opt *t, size_t n, const int *lines, const void *base,
                        const char *lo, const char *hi, int fallback_line)
{
    const struct opt *a = find(t, n, lo), *b = find(t, n, hi);
    uint64_t va = *(const uint64_t *)((const char *)base + a->off);
    uint64_t vb = *(const uint64_t *)((const char *)base + b->off);
    char buf[32];

    if (va >= vb && lines[a - t])
        report(x, lines[a - t], lo, "must be less than %s (%s)", hi, fmt_dur(vb, buf, sizeof buf));
    else if (va >= vb)
        report(x, lines[b - t] ? lines[b - t] : fallback_line, hi, "must be greater than %s (%s)", lo,
               fmt_dur(va, buf, sizeof buf));
}

static void finish_store(struct ctx *x)
{
    struct store_conf *s = x->open ? &x->c->stores[x->c->nstores - 1] : NULL;
    int line = s ? x->store_lines[x->c->nstores - 1] : 0, gl;
    char why[64];

    if (!s)
        return;
    x->open = false;
    if (!s->name[0] && s->id)
        set_str(&s->name, s->id, why, sizeof why);
    gl = line_of(store_opts, NSTORE, x->sline, "default_group");
    if (!s->default_group[0] && s->ngroups > 0)
        set_str(&s->default_group, s->groups[0], why, sizeof why);
    else if (s->default_group[0] && !config_store_has_group(s, s->default_group))
        report(x, gl ? gl : line, "default_group", "\"%s\" is not one of groups", s->default_group);
    check_order(x, store_opts, NSTORE, x->sline, s, "hold_after", "breach_after", line);
    /* the service hours: the zone's file is read here, once, not on the loop */
    if (x->nerr == 0 && s->nshift > 0) {
        char why2[320];
        s->plan = shift_plan_new(s->timezone, s->shift, s->nshift, s->closed, s->nclosed,
                                 s->extend, s->nextend, why2, sizeof why2);
        if (!s->plan)
            report(x, line_of(store_opts, NSTORE, x->sline, "shift"), "shift", "%s", why2);
    }
}

/* An encrypted key would ask for a passphrase on the terminal: refuse it. */
static int no_passphrase(char *buf, int size, int rw, void *u)
{
    (void)buf; (void)size; (void)rw; (void)u;
    return 0;
}

/*
 * tls_cert and tls_key, both set and both regular files: the certificate
 * and the key are read as TLS will read them at start, and must match, so
 * that --check-config (and ExecReload) says so rather than the next start.
 */
static void check_tls_pair(struct ctx *x, const struct config *c)
{
    int lc = line_of(global_opts, NGLOBAL, x->gline, "tls_cert");
    int lk = line_of(global_opts, NGLOBAL, x->gline, "tls_key");
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    FILE *f;

    if ((f = fopen(c->tls_cert, "r"))) {
        cert = PEM_read_X509(f, NULL, no_passphrase, NULL);
        fclose(f);
    }
    if (!f)
        report(x, lc, "tls_cert", "cannot read \"%s\": %s", c->tls_cert, strerror(errno));
    else if (!cert)
        report(x, lc, "tls_cert", "\"%s\" holds no PEM certificate", c->tls_cert);
    if ((f = fopen(c->tls_key, "r"))) {
        key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
        fclose(f);
    }
    if (!f)
        report(x, lk, "tls_key", "cannot read \"%s\": %s", c->tls_key, strerror(errno));
    else if (!key)
        report(x, lk, "tls_key", "\"%s\" holds no PEM private key (or one encrypted with a "
               "passphrase, which chatgwd cannot be given)", c->tls_key);
    if (cert && key && X509_check_private_key(cert, key) != 1)
        report(x, lk, "tls_key", "\"%s\" is not the private key of tls_cert \"%s\"",
               c->tls_key, c->tls_cert);
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
}

static void finish_global(struct ctx *x)
{
    struct config *c = x->c;

    check_order(x, global_opts, NGLOBAL, x->gline, c, "ping_interval", "idle_timeout", 0);
    check_order(x, global_opts, NGLOBAL, x->gline, c, "node_heartbeat", "node_timeout", 0);
    if (!c->tls_cert[0] != !c->tls_key[0])
        report(x, line_of(global_opts, NGLOBAL, x->gline, c->tls_cert[0] ? "tls_cert" : "tls_key"),
               c->tls_cert[0] ? "tls_cert" : "tls_key", "tls_cert and tls_key must be set together");
    else if (c->tls_cert[0])
        check_tls_pair(x, c);
}

static void open_store(struct ctx *x, char **v, int n)
{
    struct config *c = x->c;
    struct store_conf *stores;
    int *lines;
    char why[256];

    if (x->open)
        finish_store(x);
    if (n != 1)
        report(x, x->line, "store", n ? "expects one store id" : "missing store id");
    else if (check_id(v[0], why, sizeof why) != 0)
        report(x, x->line, "store", "%s", why);
    for (size_t i = 0; n == 1 && i < c->nstores; i++)
        if (strcmp(c->stores[i].id, v[0]) == 0)
            report(x, x->line, "store", "duplicate store id \"%s\" (first on line %d)", v[0],
                   x->store_lines[i]);
    if ((stores = realloc(c->stores, (c->nstores + 1) * sizeof *stores)))
        c->stores = stores;
    if ((lines = realloc(x->store_lines, (c->nstores + 1) * sizeof *lines)))
        x->store_lines = lines;
    if (!stores || !lines) {
        report(x, x->line, "store", "out of memory");
        return;
    }
    memset(&c->stores[c->nstores], 0, sizeof *stores);
    x->store_lines[c->nstores] = x->line;
    apply_defaults(store_opts, NSTORE, &c->stores[c->nstores]);
    c->stores[c->nstores].id = strdup(n ? v[0] : "");
    c->nstores++;
    memset(x->sline, 0, sizeof x->sline);
    x->open = true;
}

/* ---- plugin lines ---- */

/* A plugin's path or an option's value: text a plugin may print. */
static int check_text(const char *v, char *why, size_t cap)
{
    if (!utf8_valid((const unsigned char *)v))
        return fail(why, cap, "not valid UTF-8");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return fail(why, cap, "control character");
    return 0;
}

static void free_plugins(struct plugin_conf *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < p[i].nopts; j++) {
            free(p[i].keys[j]);
            free(p[i].values[j]);
        }
        free(p[i].keys);
        free(p[i].values);
        free(p[i].name);
        free(p[i].path);
    }
    free(p);
}

/* `plugin NAME PATH`: a new plugin of the open scope (the store block, or global). */
static void open_plugin(struct ctx *x, char **v, int n, size_t indent)
{
    struct store_conf *st = x->open ? &x->c->stores[x->c->nstores - 1] : NULL;
    struct plugin_conf **list = st ? &st->plugins : &x->c->plugins, *grown;
    size_t *count = st ? &st->nplugins : &x->c->nplugins;
    char why[256];

    if (n != 2) {
        report(x, x->line, "plugin", "expects a name and a path: plugin NAME PATH");
        return;
    }
    if (check_id(v[0], why, sizeof why) != 0 || check_nonempty(v[1], why, sizeof why) != 0 ||
        check_text(v[1], why, sizeof why) != 0) {
        report(x, x->line, "plugin", "%s", why);
        return;
    }
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*list)[i].name, v[0]) == 0) {
            report(x, x->line, "plugin", "duplicate plugin \"%s\" (first on line %d)", v[0],
                   (*list)[i].line);
            return;
        }
    if (*count == CONFIG_MAX_PLUGINS) {
        report(x, x->line, "plugin", "more than %d plugins in one %s", CONFIG_MAX_PLUGINS,
               st ? "store" : "file");
        return;
    }
    if (!(grown = realloc(*list, (*count + 1) * sizeof *grown))) {
        report(x, x->line, "plugin", "out of memory");
        return;
    }
    *list = grown;
    x->plug = &grown[*count];
    memset(x->plug, 0, sizeof *x->plug);
    x->plug->name = strdup(v[0]);
    x->plug->path = strdup(v[1]);
    x->plug->line = x->line;
    x->plug_indent = indent;
    (*count)++;
    if (!x->plug->name || !x->plug->path)
        report(x, x->line, "plugin", "out of memory");
}

/* `key value...` under a plugin line: kept as text for the plugin. */
static void plugin_option(struct ctx *x, char **w, int n)
{
    struct plugin_conf *p = x->plug;
    char why[256], **keys, **values, *v;
    size_t len = 0;

    if (check_id(w[0], why, sizeof why) != 0) {
        report(x, x->line, w[0], "%s", "invalid plugin option name (1 to 64 of A-Z a-z 0-9 _ . -)");
        return;
    }
    for (int i = 1; i < n; i++) {
        if (check_text(w[i], why, sizeof why) != 0) {
            report(x, x->line, w[0], "%s", why);
            return;
        }
        len += strlen(w[i]) + 1;
    }
    if (p->nopts == CONFIG_MAX_PLUGIN_OPTS) {
        report(x, x->line, w[0], "more than %d options for plugin %s", CONFIG_MAX_PLUGIN_OPTS,
               p->name);
        return;
    }
    keys = realloc(p->keys, (size_t)(p->nopts + 1) * sizeof *keys);
    if (keys)
        p->keys = keys;
    values = keys ? realloc(p->values, (size_t)(p->nopts + 1) * sizeof *values) : NULL;
    if (values)
        p->values = values;
    v = values ? calloc(1, len + 1) : NULL;
    if (!v || !(p->keys[p->nopts] = strdup(w[0]))) {
        free(v);
        report(x, x->line, w[0], "out of memory");
        return;
    }
    for (int i = 1; i < n; i++) {
        if (i > 1)
            strcat(v, " ");
        strcat(v, w[i]);
    }
    p->values[p->nopts++] = v;
}

static void do_line(struct ctx *x, char *s)
{
    char *w[MAX_WORDS], why[320], name[48];
    const struct opt *o;
    int n, *lines;
    void *base;
    size_t indent = strspn(s, " \t");

    s += indent;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(s, " \t#\""), s);
    if ((n = split(s, w, MAX_WORDS, why, sizeof why)) < 0) {
        report(x, x->line, name[0] ? name : "?", "%s", why);
        return;
    }
    if (n == 0)
        return;
    if (x->plug && indent > x->plug_indent) {
        plugin_option(x, w, n);
        return;
    }
    x->plug = NULL;
    if (strcmp(w[0], "plugin") == 0) {
        open_plugin(x, w + 1, n - 1, indent);
        return;
    }
    if (strcmp(w[0], "store") == 0) {
        open_store(x, w + 1, n - 1);
        return;
    }
    if (x->open && (o = find(store_opts, NSTORE, w[0]))) {
        base = &x->c->stores[x->c->nstores - 1];
        lines = &x->sline[o - store_opts];
    } else if (!x->open && (o = find(global_opts, NGLOBAL, w[0]))) {
        base = x->c;
        lines = &x->gline[o - global_opts];
    } else {
        report(x, x->line, w[0], "%s", find(global_opts, NGLOBAL, w[0]) ?
               "global option inside a store block (move it above the first `store` line)" :
               find(store_opts, NSTORE, w[0]) ? "store option before any `store` line" :
               "unknown option");
        return;
    }
    if (*lines && o->type != T_TEXTS && o->type != T_LINES) {
        report(x, x->line, w[0], "given twice (first on line %d)", *lines);
        return;
    }
    if (!*lines && o->type == T_TEXTS)
        free_fields(o, 1, base);  /* the first line replaces the default */
    *lines = x->line;
    if (set_opt(o, base, w + 1, n - 1, why, sizeof why) != 0)
        report(x, x->line, w[0], "%s", why);
}

/* ---- API ---- */

uint64_t config_clock_start_ms(const struct store_conf *st)
{
    uint64_t m = st->breach_after_ms;

    if (st->hold_max > 0 && st->nhold_text > 0 && st->hold_after_ms < m)
        m = st->hold_after_ms;
    if (st->reassign_after_ms > 0 && st->reassign_after_ms < m)
        m = st->reassign_after_ms;
    return m;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    apply_defaults(global_opts, NGLOBAL, c);
}

/* One line read by read_file: checked for size and NUL bytes, then parsed. */
static void end_line(struct ctx *x, char *line, size_t len, size_t seen, bool nul)
{
    char name[48];

    x->line++;
    if (len > 0 && len == seen && line[len - 1] == '\r') {
        len--;                    /* CRLF */
        seen--;
    }
    line[len] = '\0';
    if (seen <= CONF_MAX_LINE && !nul) {
        do_line(x, line);
        return;
    }
    line += strspn(line, " \t");
    snprintf(name, sizeof name, "%.*s", (int)strcspn(line, " \t#\""), line);
    if (nul)
        report(x, x->line, name[0] ? name : "config", "line holds a NUL byte");
    else
        report(x, x->line, name[0] ? name : "config", "line longer than %d bytes", CONF_MAX_LINE);
}

/*
 * Reads f line by line into a fixed buffer: at most CONF_MAX_BYTES in all
 * (from a regular file's size, before reading, else while reading), and
 * CONF_MAX_LINE kept per line. Returns -1 after reporting a file too big.
 */
static int read_file(struct ctx *x, FILE *f)
{
    char line[CONF_MAX_LINE + 2];
    size_t len = 0, seen = 0, total = 0;
    bool nul = false;
    struct stat st = { 0 };
    int ch;

    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        report(x, 0, "config", "is a directory");
        return -1;
    }
    if (S_ISREG(st.st_mode) && st.st_size > CONF_MAX_BYTES) {
        report(x, 0, "config", "file larger than %d bytes (1 MiB)", CONF_MAX_BYTES);
        return -1;
    }
    while ((ch = getc_unlocked(f)) != EOF) {
        if (++total > CONF_MAX_BYTES) {
            report(x, x->line + 1, "config", "file larger than %d bytes (1 MiB); stopped reading",
                   CONF_MAX_BYTES);
            return -1;
        }
        if (ch == '\n') {
            end_line(x, line, len, seen, nul);
            len = seen = 0;
            nul = false;
            continue;
        }
        nul |= ch == '\0';
        if (++seen <= CONF_MAX_LINE + 1)      /* +1: room for a trailing \r */
            line[len++] = (char)ch;
    }
    if (ferror(f)) {
        report(x, x->line + 1, "config", "read error: %s", strerror(errno));
        return -1;
    }
    if (seen > 0)
        end_line(x, line, len, seen, nul);
    return 0;
}

int config_load(struct config *c, const char *path, FILE *errs)
{
    struct ctx x = { .path = path, .errs = errs };
    struct config tmp;
    FILE *f = fopen(path, "r");
    int open_errno = errno;         /* config_defaults may change errno */

    config_defaults(&tmp);
    x.c = &tmp;
    if (!f) {
        report(&x, 0, "config", "cannot open: %s", strerror(open_errno));
    } else {
        if (read_file(&x, f) == 0) {
            finish_store(&x);
            finish_global(&x);
        }
        fclose(f);
    }
    free(x.store_lines);
    if (x.nerr == 0 && !(tmp.path = strdup(path)))
        report(&x, 0, "config", "out of memory");
    config_free(c);
    if (x.nerr) {
        config_free(&tmp);
        config_defaults(c);
        return -1;
    }
    *c = tmp;
    return 0;
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < c->nstores; i++) {
        free(c->stores[i].id);
        shift_plan_free(c->stores[i].plan);
        free_fields(store_opts, NSTORE, &c->stores[i]);
        free_plugins(c->stores[i].plugins, c->stores[i].nplugins);
    }
    free(c->stores);
    free_plugins(c->plugins, c->nplugins);
    free(c->path);
    free_fields(global_opts, NGLOBAL, c);
    memset(c, 0, sizeof *c);
}

const struct store_conf *config_find_store(const struct config *c, const char *id)
{
    for (size_t i = 0; id && i < c->nstores; i++)
        if (strcmp(c->stores[i].id, id) == 0)
            return &c->stores[i];
    return NULL;
}

bool config_store_has_group(const struct store_conf *s, const char *group)
{
    for (int i = 0; group && i < s->ngroups; i++)
        if (strcmp(s->groups[i], group) == 0)
            return true;
    return false;
}

/* scheme://host[:port] lower-cased, without the scheme's default port */
static void origin_norm(const char *in, char *out, size_t cap)
{
    const char *dflt = strncasecmp(in, "https://", 8) == 0 ? ":443" :
                       strncasecmp(in, "http://", 7) == 0 ? ":80" : NULL;
    size_t n = 0, d = dflt ? strlen(dflt) : 0;

    for (; in[n] && n + 1 < cap; n++)
        out[n] = (char)tolower((unsigned char)in[n]);
    out[n] = '\0';
    if (dflt && n > d && strcmp(out + n - d, dflt) == 0)
        out[n - d] = '\0';
}

bool config_origin_equal(const char *a, const char *b)
{
    char na[300], nb[300];

    origin_norm(a, na, sizeof na);
    origin_norm(b, nb, sizeof nb);
    return strcmp(na, nb) == 0;
}

bool config_buyer_origin_ok(const struct store_conf *st, const char *origin)
{
    if (!st || st->nbuyer_origins == 0 || !origin || !origin[0])
        return true;
    for (int i = 0; i < st->nbuyer_origins; i++)
        if (config_origin_equal(origin, st->buyer_origins[i]))
            return true;
    return false;
}

bool config_buyer_origins_used(const struct config *c)
{
    for (size_t i = 0; i < c->nstores; i++)
        if (c->stores[i].nbuyer_origins > 0)
            return true;
    return false;
}

/* ---- the commented config ---- */

/* text as a value: quoted with escapes when needed. */
static void put_value(FILE *out, const char *v)
{
    if (*v && !v[strcspn(v, " \t#\"\\\n")]) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (; *v; v++)
        fputs(*v == '"' ? "\\\"" : *v == '\\' ? "\\\\" : *v == '\n' ? "\\n" : (char[2]){ *v, 0 }, out);
    fputc('"', out);
}

/* A `# ` comment wrapped at 78 columns, each line starting with prefix. */
static void put_comment(FILE *out, const char *prefix, const char *text)
{
    size_t width = 78 - strlen(prefix) - 2;

    while (*text) {
        size_t n = strlen(text);
        if (n > width) {
            n = width;
            while (n > 0 && text[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(text, " ");
        }
        fprintf(out, "%s# %.*s\n", prefix, (int)n, text);
        text += n;
        text += strspn(text, " ");
    }
}

/* Comments start with prefix, option lines with lprefix. */
static void write_table(FILE *out, const struct opt *t, size_t n, const char *prefix,
                        const char *lprefix)
{
    char help[1024], lo[32], hi[32], range[80];
    const struct opt *o;

    for (o = t; o < t + n; o++) {
        if (!o->name) {
            fprintf(out, "\n%s# ---- %s ----\n", prefix, o->help);
            continue;
        }
        range[0] = '\0';
        if (o->min != o->max && o->type != T_LIST && o->type != T_LINES)
            snprintf(range, sizeof range, " %s..%s", fmt_limit(o, o->min, lo, sizeof lo),
                     fmt_limit(o, o->max, hi, sizeof hi));
        if (o->type == T_LINES)           /* none by default; an example below */
            snprintf(help, sizeof help, "%s (%s, default none; for example:)", o->help, o->unit);
        else if (strlen(o->def) > 30)     /* long defaults: see the line below */
            snprintf(help, sizeof help, "%s (%s)", o->help, o->unit);
        else if (!o->def[0])
            snprintf(help, sizeof help, "%s (%s, default %s)", o->help, o->unit,
                     o->type == T_LIST || o->type == T_LINES ? "none" : "\"\"");
        else
            snprintf(help, sizeof help, "%s (%s%s, default %s)", o->help, o->unit, range, o->def);
        fputc('\n', out);
        put_comment(out, prefix, help);
        fprintf(out, "%s%s", lprefix, o->name);
        if (o->type == T_LINES) {
            fprintf(out, " %s", o->def);     /* the example, unquoted: words */
        } else if (o->type != T_LIST) {
            fputc(' ', out);
            put_value(out, o->def);
        } else if (o->def[0]) {
            fprintf(out, " %s", o->def);     /* an empty list: the name alone */
        }
        fputc('\n', out);
    }
}

void config_write_defaults(FILE *out)
{
    fputs("# chatgw.conf - configuration of chatgwd, the chat gateway.\n"
          "#\n"
          "# One option per line: `name value`. `#` starts a comment (outside quotes).\n"
          "# A value with blanks is double-quoted; inside quotes \\\" \\\\ and \\n are\n"
          "# escapes. Durations: 500ms 10s 5m 2h 90d (a bare number is seconds).\n"
          "# Sizes: 512 8k 1m (k = KiB, m = MiB; a bare number is bytes). yes|no\n"
          "# options also take true|false and on|off.\n"
          "#\n"
          "# `store ID` starts a store block: the options after it, up to the next\n"
          "# `store` line, belong to that store (ID: 1 to 64 of A-Z a-z 0-9 _ . -).\n"
          "# Global options go above the first `store` line.\n"
          "#\n"
          "# Every option is shown commented out with its default, so this file\n"
          "# configures nothing by itself. Check a config with\n"
          "#     chatgwd --check-config -c FILE\n"
          "# This file is the output of `chatgwd --print-config`.\n", out);
    write_table(out, global_opts, NGLOBAL, "", "#");
    fputs("\n# `plugin NAME PATH` loads a plugin (a shared object; plugins/README.md);\n"
          "# the lines indented deeper under it are its own options, `key value`.\n"
          "# A PATH without a slash is looked up in the plugin directory\n"
          "# (BIN/../lib/chatgw/plugins beside chatgwd, as installed). A plugin line above the first store serves\n"
          "# every store; one inside a store block serves that store only. Plugins\n"
          "# are loaded at start and again on SIGHUP (with their options read anew);\n"
          "# one that fails to load is logged with the reason and left out.\n"
          "# --check-config loads and unloads each one. Shipped: quickreply, guard.\n"
          "#plugin guard guard.so\n"
          "#    rules /etc/chatgw/guard-tmall.rules\n", out);
    fputs("\n# ---- Stores ----\n"
          "# A sample store block; buyers name the store id in their hello.\n\n"
          "#store example\n", out);
    write_table(out, store_opts, NSTORE, "#    ", "#    ");
    fputs("\n#    # this store's own plugins: the same `plugin` lines, indented options\n"
          "#    plugin quickreply quickreply.so\n"
          "#        library /etc/chatgw/quickreply-zh.txt\n", out);
}

/* ---- the reference manual, chatgw.conf(5) ---- */

/* text for troff: backslashes as \e, a leading . or ' kept literal. */
static void put_roff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\n')
            fputs("\\en", out);
        else
            fputc(*s, out);
    }
}

/* One option as a tagged paragraph: name and unit, help, default, range. */
static void man_option(FILE *out, const struct opt *o)
{
    char lo[32], hi[32];

    fputs(".TP\n\\fB", out);
    put_roff(out, o->name);
    fputs("\\fR \\fI", out);
    put_roff(out, o->type == T_LIST ? "name ..." : o->unit);
    fputs("\\fR\n", out);
    /* a sentence; "redis-server binary ..." keeps its program name */
    if (islower((unsigned char)o->help[0]) && o->help[strcspn(o->help, " -_")] != '-' &&
        o->help[strcspn(o->help, " -_")] != '_')
        fputc(toupper((unsigned char)o->help[0]), out);
    else
        fputc(o->help[0], out);
    put_roff(out, o->help + 1);
    fputs(".\n", out);
    if (o->type == T_LIST && o->def[0]) {
        fputs("Default: \\fB", out);
        put_roff(out, o->def);
        fputs("\\fR.\n", out);
    } else if (o->type == T_LIST || o->type == T_LINES) {
        fputs("Default: none.\n", out);
    } else if (!o->def[0]) {
        fputs("Default: empty.\n", out);
    } else if (strlen(o->def) > 30 || strchr(o->def, ' ')) {
        fputs("Default: \\(lq", out);
        put_roff(out, o->def);
        fputs("\\(rq.\n", out);
    } else {
        fputs("Default: \\fB", out);
        put_roff(out, o->def);
        fputs("\\fR.\n", out);
    }
    if (o->type == T_LIST)
        fprintf(out, "From %.0f to %.0f %s.\n", o->min, o->max, o->unit);
    else if (o->type == T_LINES)
        fprintf(out, "At most %.0f lines.\n", o->max);
    else if (o->min != o->max)
        fprintf(out, "From %s to %s.\n", fmt_limit(o, o->min, lo, sizeof lo),
                fmt_limit(o, o->max, hi, sizeof hi));
}

static void man_table(FILE *out, const struct opt *t, size_t n, const char *first_section)
{
    if (first_section)
        fprintf(out, ".SS %s\n", first_section);
    for (const struct opt *o = t; o < t + n; o++) {
        if (!o->name)
            fprintf(out, ".SS %s\n", o->help);
        else
            man_option(out, o);
    }
}

void config_write_man(FILE *out)
{
    fputs(".\\\" chatgw.conf.5 - written by `chatgwd --print-config=man` from the option\n"
          ".\\\" table in daemon/config.c; do not edit (tests/unit/test_config.c checks it).\n"
          ".TH CHATGW.CONF 5 \"\" \"chatgw " CHATGW_VERSION "\" \"File Formats Manual\"\n"
          ".nh\n.ad l\n"
          ".SH NAME\nchatgw.conf \\- configuration file of chatgwd, the chatgw chat gateway\n"
          ".SH SYNOPSIS\n.I /etc/chatgw/chatgw.conf\n"
          ".SH DESCRIPTION\n"
          ".BR chatgwd (8)\nreads its configuration from the file given with\n.BR \\-c .\n"
          "The file has one option per line, in the form\n"
          ".RI \\(lq name \" \" value \\(rq.\n"
          "A\n.B #\nstarts a comment (outside quotes).\n"
          "A value with blanks is double-quoted; inside quotes\n.BR \\e\" ,\n.B \\e\\e\nand\n"
          ".B \\en\nare the escapes.\n"
          "An option may be given once per scope.\n"
          ".PP\n"
          "Durations take the suffixes\n.BR ms ,\n.BR s ,\n.BR m ,\n.B h\nand\n.B d\n"
          "(a bare number is seconds).\n"
          "Sizes take\n.B k\nand\n.B m\n(KiB and MiB; a bare number is bytes).\n"
          ".I yes\nand\n.I no\noptions also take\n.IR true | false\nand\n.IR on | off .\n"
          ".PP\n"
          "A line\n.BI store \" id\"\nstarts a store block: the options after it, up to the next\n"
          ".B store\nline, belong to that store\n"
          "(an id is 1 to 64 of A\\-Z a\\-z 0\\-9 _ . \\-).\n"
          "Global options come before the first\n.B store\nline.\n"
          "Buyers name the store id in their\n.BR hello .\n"
          ".PP\n"
          "The file is at most 1\\ MiB, a line at most 4096 bytes, and a NUL byte is an error.\n"
          "String values may hold no control character other than tab and newline.\n"
          "Check a file with\n.BR \"chatgwd \\-\\-check\\-config \\-c\" \" file\" ;\n"
          "each problem is reported as\n.IB file : line : \" option\" : \" problem\" \\fR.\n"
          ".B chatgwd \\-\\-print\\-config\nprints every option, commented out, with its default:\n"
          "the installed file is that output.\n"
          ".SH GLOBAL OPTIONS\n", out);
    man_table(out, global_opts, NGLOBAL, NULL);
    fputs(".SH STORE OPTIONS\n"
          "These go in a\n.BI store \" id\"\nblock; each store has its own.\n", out);
    man_table(out, store_opts, NSTORE, NULL);
    fputs(".SH PLUGINS\n"
          ".TP\n\\fBplugin\\fR \\fIname path\\fR\n"
          "loads the shared object \\fIpath\\fR as the plugin \\fIname\\fR (see plugins/README.md).\n"
          "A \\fIpath\\fR without a slash is looked up in the plugin directory\n"
          "(\\fIBIN\\fR/../lib/chatgw/plugins beside chatgwd, as installed). The indented lines after it,\n"
          "\\fIkey value...\\fR, are the plugin's own options. Above the first\n"
          ".B store\nline a plugin serves every store; inside a store block, that store only.\n"
          "A plugin that fails to load is logged and left out; \\fB\\-\\-check\\-config\\fR\n"
          "loads and unloads each one; SIGHUP loads them again with their new options.\n", out);
    fputs(".SH RULES ACROSS OPTIONS\n"
          ".IP \\(bu 2\n\\fBtls_cert\\fR and \\fBtls_key\\fR are set together or not at all;\n"
          "both must be readable PEM files, and the key must be the certificate's.\n"
          ".IP \\(bu 2\n\\fBping_interval\\fR is less than \\fBidle_timeout\\fR.\n"
          ".IP \\(bu 2\n\\fBnode_heartbeat\\fR is less than \\fBnode_timeout\\fR.\n"
          ".IP \\(bu 2\n\\fBhold_after\\fR is less than \\fBbreach_after\\fR, in each store.\n"
          ".IP \\(bu 2\n\\fBdefault_group\\fR is one of the store's \\fBgroups\\fR.\n"
          ".IP \\(bu 2\nNo two stores have the same id.\n"
          ".SH RELOADING\n"
          "On SIGHUP\n.B chatgwd\nreads the file again.\n"
          "A file with an error is reported and the running configuration is kept.\n"
          "Changes to \\fBlisten\\fR, \\fBmetrics_listen\\fR, \\fBredis\\fR, \\fBstate_dir\\fR,\n"
          "\\fBreuseport\\fR, \\fBtls_cert\\fR and \\fBtls_key\\fR take effect at the next\n"
          "restart, and a reload logs a warning about them.\n"
          "The same holds, without the warning, for \\fBweb_root\\fR, \\fBnode_id\\fR,\n"
          "\\fBredis_server\\fR, \\fBredis_connect_timeout\\fR, \\fBredis_timeout\\fR and\n"
          "\\fBredis_backoff_max\\fR.\n"
          "Every other change, including the stores, takes effect at once.\n"
          ".SH EXAMPLE\n"
          ".EX\n"
          "listen 0.0.0.0:8080\n"
          "redis \"redis://:secret@10.0.0.5:6379/0\"\n"
          "\n"
          "store flagship\n"
          "    name \"Flagship Store\"\n"
          "    groups pre\\-sales after\\-sales\n"
          "    timezone Asia/Shanghai\n"
          ".EE\n"
          ".SH FILES\n"
          ".TP\n.I /etc/chatgw/chatgw.conf\n"
          "The configuration, as installed with \\fBPREFIX=/usr\\fR\n"
          "(\\fI/usr/local/etc/chatgw/chatgw.conf\\fR with the default prefix).\n"
          "A Redis password in it makes it a secret: keep it readable by root and the\n"
          "daemon's user only.\n"
          ".SH SEE ALSO\n.BR chatgwd (8),\n.BR chatgwctl (1)\n", out);
}
