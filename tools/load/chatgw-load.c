/*
 * chatgw-load.c - a load generator for chatgwd's buyer and agent endpoints.
 *
 *   chatgw-load [--url ws://127.0.0.1:8080/v1/buyer]... [--sessions N]
 *               [--rate R] [--msgs M] [--msg-rate X] [--hold S] [--duration S]
 *               [--resume-frac F] [--resumes K] [--pipeline F] [--workers W] [--src-ips N]
 *               [--agents N --agent-tokens FILE [--agent-url URL]...
 *                [--agent-start with|first|after] [--sync-assigned] ...]
 *               [--hook CMD] [--msgpack] [--pid PID] [--json] ...   (see usage())
 *
 * One process holds tens of thousands of WebSocket clients on one libuv
 * loop (ws_client.c); --workers forks several such processes, each taking
 * 1/W of the sessions, and this file is their parent: it checks the
 * options (loopback targets only; descriptors and ports enough for the
 * sessions), forks the workers, waits until every session has finished
 * its script, holds them open for --hold seconds, tells the workers to
 * close, and adds up what they send back (load_report.c prints it).
 * With --pid it reads the gateway's VmRSS at the start, once loaded, at
 * the end of the hold and after the sessions closed.
 *
 * With --agents, agents (load_agent.c) answer the buyers. The run may
 * then pass barriers (load.h): the parent waits until every worker has
 * reached one ('P'), runs --hook with the barrier's name, and lets them
 * all go on ('G'). --hook also runs at "start", "loaded", "held" and
 * "end", so that a script can take the gateway's CPU or Redis's counters
 * at exactly those points. At the end the chat ids every worker's agents
 * were assigned are checked together: a chat assigned twice is a double
 * assignment, whichever workers saw it.
 *
 * Always bounded: --duration (default 60 s) caps the run from the start
 * of the ramp; closing and collecting add at most a few seconds, after
 * which a worker that has not reported is killed.
 *
 * Exit: 0 when every session completed its script, 1 when some did not
 * (or a resume check failed, or an agent failed, a chat was assigned
 * twice or an agent went over its capacity), 2 on bad options or an
 * unusable setup.
 * SIGINT/SIGTERM end the run early: the workers close their sessions,
 * the report is printed, and then the signal is raised again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "load.h"

#define MAX_WORKERS 64
#define FDS_SPARE 64                 /* descriptors a worker needs besides sessions */
#define COLLECT_NS 15000000000ull    /* after 'X': closing and reporting */
#define SETTLE_NS 1000000000ull      /* before the gateway's end RSS */
#define HOOK_NS 20000000000ull       /* longest wait for --hook */

struct worker {
    pid_t pid;
    int out, ctl;                    /* from the worker / to the worker */
    bool loaded, reported, dead;
    char tag;                        /* 'R' while its result comes in, 'I' its chat ids */
    unsigned barriers;               /* 'P' received */
    size_t got;
    struct load_result r;
    uint8_t *ids;                    /* r.assigned_ids chat ids, 16 bytes each */
};

static struct worker workers[MAX_WORKERS];
static volatile sig_atomic_t interrupted;

static void usage(FILE *out)
{
    fprintf(out,
        "usage: chatgw-load [options]\n"
        "  --url URL          ws://HOST:PORT/PATH, loopback only; repeat to spread sessions\n"
        "                     round-robin (default ws://127.0.0.1:8080/v1/buyer)\n"
        "  --sessions N       buyer sessions in all (default 1000)\n"
        "  --rate R           new sessions per second, a steady ramp; 0 = as fast as\n"
        "                     possible, 256 handshakes at a time per worker (default 0)\n"
        "  --msgs M           messages per session after hello (default 1: the first,\n"
        "                     which the greeting answers)\n"
        "  --msg-rate X       messages per second per session after the first; 0 = at\n"
        "                     once (default 1)\n"
        "  --pipeline F       fraction of sessions that send hello and their first\n"
        "                     message back to back: they give hello->greeting, the\n"
        "                     others msg1->greeting (default 0)\n"
        "  --resume-frac F    fraction of sessions that drop their socket halfway and\n"
        "                     resume, checking the replay (default 0)\n"
        "  --resumes K        each of them drops and resumes K times, at points spread\n"
        "                     over its messages with a phase of its own, so the run's\n"
        "                     resumes are spread evenly over time (default: once,\n"
        "                     halfway)\n"
        "  --hold S           keep every session open S seconds once all finished\n"
        "                     their script (default 0)\n"
        "  --duration S       hard cap on the run from the start of the ramp (default 60)\n"
        "  --timeout S        longest wait for any one answer (default 10)\n"
        "  --workers W        processes, each with 1/W of the sessions (default 1)\n"
        "  --src-ips N        bind clients round-robin to 127.0.0.1 .. 127.0.0.N, for\n"
        "                     more than ~28k sessions per target (default 0: no bind)\n"
        "  --msgpack          msgpack binary frames instead of JSON text frames\n"
        "  --store ID         store in hello (default demo)\n"
        "  --text TEXT        message text (default \"Is this in stock?\")\n"
        "  --pid PID          the gateway's pid: report its RSS growth per session (with\n"
        "                     several --url, taken to serve 1/K of the sessions)\n"
        "  --json             one JSON object instead of the table\n"
        "  -v, --verbose      say why sessions failed (the first 20 per worker)\n"
        "agents (then buyers wait for their agent: m2..M go after `agent`, and each is\n"
        "echoed back; texts carry the send time, for relay latencies):\n"
        "  --agents N         agent sessions in all (default 0)\n"
        "  --agent-tokens F   their tokens, one per line (chatgwctl agent add prints them)\n"
        "  --agent-url URL    ws://.../v1/agent, loopback only; repeat to spread agents\n"
        "                     round-robin (default: each --url with the path /v1/agent)\n"
        "  --agent-rate R     agent logins per second; 0 = at once (default 0)\n"
        "  --agent-start W    with: agents and buyers start together; first: agents log\n"
        "                     in and go ready, then buyers come; after: buyers come and\n"
        "                     queue, then agents log in (default with)\n"
        "  --agent-greet      agents reply to each assign\n"
        "  --agent-delay-ms D ... after D ms (implies --agent-greet; default 0)\n"
        "  --agent-close-after K  agents close a chat after K buyer messages (default 0:\n"
        "                     never)\n"
        "  --agent-delay MIN-MAX  agents answer instead of echoing: each unanswered\n"
        "                     stretch of a chat (the question it came with, then any\n"
        "                     buyer message after an answer) gets one answer after a\n"
        "                     delay drawn uniformly from MIN..MAX ms; with it buyers\n"
        "                     converse: m2.. each go 1/msg-rate after the answer to the\n"
        "                     one before, and --agent-close-after K closes the chat with\n"
        "                     the answer after the K-th message (m1 not counted)\n"
        "  --seed S           the seed of those delays (default 1)\n"
        "  --await-agent      buyers wait for an agent even with no --agents here\n"
        "  --sync-assigned    buyers send m2.. only once every buyer has its agent\n"
        "  --hook CMD         run `sh -c CMD sh PHASE` at each phase: start, the barriers\n"
        "                     (agents_ready, queued, assigned), loaded, held, end; the\n"
        "                     run waits for it (at most 20 s)\n");
}

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void on_signal(int sig)
{
    interrupted = sig;
}

/* ---- options ---------------------------------------------------------------- */

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "chatgw-load: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return -1;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* "MIN-MAX" (or one number: both), each in [lo, hi], MIN <= MAX. */
static int parse_range(const char *s, double lo, double hi, double *min, double *max)
{
    char *end;
    double a = strtod(s, &end), b = a;

    if (end == s || (*end && *end != '-'))
        return -1;
    if (*end == '-') {
        const char *t = end + 1;
        b = strtod(t, &end);
        if (end == t || *end)
            return -1;
    }
    if (!(a >= lo && b <= hi && a <= b))
        return -1;
    *min = a;
    *max = b;
    return 0;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);

    if (end == s || *end || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/*
 * ws://HOST[:PORT][/PATH] into a target. HOST must be a loopback address
 * (127.0.0.0/8, ::1 in brackets, or localhost): this tool refuses to load
 * anything but the machine it runs on.
 */
static int parse_url(const char *url, struct ws_target *t)
{
    const char *h = url, *hend, *path;
    char host[64];
    unsigned long port = 80;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;

    if (strncmp(url, "wss://", 6) == 0)
        return bad("%s: wss:// (TLS) is not supported", url);
    if (strncmp(url, "ws://", 5) != 0)
        return bad("%s: not a ws:// URL", url);
    h += 5;
    path = strchr(h, '/');
    if (!path)
        path = h + strlen(h);
    if (*h == '[') {
        hend = memchr(h, ']', (size_t)(path - h));
        if (!hend)
            return bad("%s: unclosed [", url);
        h++;
    } else {
        hend = memchr(h, ':', (size_t)(path - h));
        if (!hend)
            hend = path;
    }
    if (hend == h || (size_t)(hend - h) >= sizeof host)
        return bad("%s: bad host", url);
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (*hend == ']')
        hend++;
    if (*hend == ':') {
        char *end;
        port = strtoul(hend + 1, &end, 10);
        if (end != path || port == 0 || port > 65535)
            return bad("%s: bad port", url);
    } else if (hend != path) {
        return bad("%s: bad host", url);
    }
    memset(&t->addr, 0, sizeof t->addr);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            return bad("%s: refusing a target that is not a loopback address", url);
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            return bad("%s: refusing a target that is not a loopback address", url);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
    } else {
        return bad("%s: refusing a target that is not a loopback address "
                   "(give 127.x.x.x, [::1] or localhost)", url);
    }
    snprintf(t->host, sizeof t->host, "%s%s%s:%lu", t->addr.ss_family == AF_INET6 ? "[" : "",
             host, t->addr.ss_family == AF_INET6 ? "]" : "", port);
    if (strlen(*path ? path : "/") >= sizeof t->path)
        return bad("%s: path too long", url);
    snprintf(t->path, sizeof t->path, "%s", *path ? path : "/");
    return 0;
}

/* Appends a --url / --agent-url target (at most LOAD_MAX_URLS of each). */
static int add_url(const char *url, const char *what, struct ws_target *targets,
                   char urls[][192], unsigned *n)
{
    if (*n == LOAD_MAX_URLS)
        return bad("at most %s URLs", what);
    if (strlen(url) >= 192)
        return bad("%s: URL too long", url);
    snprintf(urls[*n], 192, "%s", url);
    return parse_url(url, &targets[(*n)++]);
}

/* The agents' tokens: one per line (64 hex), blank lines and # comments
 * skipped; at least o->agents of them. */
static int read_tokens(const char *path, struct load_opts *o)
{
    char line[256];
    uint32_t n = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return bad("--agent-tokens %s: cannot open", path);
    o->tokens = calloc(o->agents, sizeof *o->tokens);
    if (!o->tokens) {
        fclose(f);
        return bad("%s", "out of memory");
    }
    while (n < o->agents && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n \t");
        if (len == 0 || line[0] == '#')
            continue;
        if (len != AGENT_TOKEN_HEX || strspn(line, "0123456789abcdefABCDEF") < len) {
            fclose(f);
            return bad("--agent-tokens %s: a line is not a 64-hex token", path);
        }
        memcpy(o->tokens[n], line, len);
        o->tokens[n++][len] = '\0';
    }
    fclose(f);
    if (n < o->agents) {
        fprintf(stderr, "chatgw-load: --agent-tokens %s: %" PRIu32 " tokens for %" PRIu32
                " agents\n", path, n, o->agents);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct load_opts *o)
{
    enum {
        O_URL = 256, O_SESSIONS, O_RATE, O_MSGS, O_MSG_RATE, O_HOLD, O_DURATION, O_TIMEOUT,
        O_RESUME, O_RESUMES, O_PIPELINE, O_WORKERS, O_SRC_IPS, O_MSGPACK, O_STORE, O_TEXT, O_PID, O_JSON,
        O_AGENTS, O_AGENT_TOKENS, O_AGENT_URL, O_AGENT_RATE, O_AGENT_START, O_AGENT_GREET,
        O_AGENT_DELAY, O_AGENT_CLOSE, O_AWAIT, O_SYNC_ASSIGNED, O_HOOK, O_AGENT_ANSWER,
        O_SEED
    };
    static const struct option longopts[] = {
        { "url", required_argument, NULL, O_URL },
        { "sessions", required_argument, NULL, O_SESSIONS },
        { "rate", required_argument, NULL, O_RATE },
        { "msgs", required_argument, NULL, O_MSGS },
        { "msg-rate", required_argument, NULL, O_MSG_RATE },
        { "hold", required_argument, NULL, O_HOLD },
        { "duration", required_argument, NULL, O_DURATION },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "resume-frac", required_argument, NULL, O_RESUME },
        { "resumes", required_argument, NULL, O_RESUMES },
        { "pipeline", required_argument, NULL, O_PIPELINE },
        { "workers", required_argument, NULL, O_WORKERS },
        { "src-ips", required_argument, NULL, O_SRC_IPS },
        { "msgpack", no_argument, NULL, O_MSGPACK },
        { "store", required_argument, NULL, O_STORE },
        { "text", required_argument, NULL, O_TEXT },
        { "pid", required_argument, NULL, O_PID },
        { "json", no_argument, NULL, O_JSON },
        { "agents", required_argument, NULL, O_AGENTS },
        { "agent-tokens", required_argument, NULL, O_AGENT_TOKENS },
        { "agent-url", required_argument, NULL, O_AGENT_URL },
        { "agent-rate", required_argument, NULL, O_AGENT_RATE },
        { "agent-start", required_argument, NULL, O_AGENT_START },
        { "agent-greet", no_argument, NULL, O_AGENT_GREET },
        { "agent-delay-ms", required_argument, NULL, O_AGENT_DELAY },
        { "agent-close-after", required_argument, NULL, O_AGENT_CLOSE },
        { "await-agent", no_argument, NULL, O_AWAIT },
        { "sync-assigned", no_argument, NULL, O_SYNC_ASSIGNED },
        { "hook", required_argument, NULL, O_HOOK },
        { "agent-delay", required_argument, NULL, O_AGENT_ANSWER },
        { "seed", required_argument, NULL, O_SEED },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    uint32_t pid;
    const char *tokens_file = NULL;
    int ch;

    *o = (struct load_opts){
        .sessions = 1000, .msgs = 1, .workers = 1, .resumes = 1, .msg_rate = 1, .duration_s = 60,
        .timeout_s = 10, .enc = WIRE_JSON, .store = "demo", .text = "Is this in stock?",
        .seed = 1,
    };
    while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        int rc = 0;
        switch (ch) {
        case O_URL:
            if ((rc = add_url(optarg, "16 --url", o->targets, o->urls, &o->ntargets)))
                return rc;
            break;
        case O_SESSIONS: rc = parse_u32(optarg, 0, 10000000, &o->sessions); break;
        case O_RATE: rc = parse_double(optarg, 0, 1e7, &o->rate); break;
        case O_MSGS: rc = parse_u32(optarg, 0, 1000000, &o->msgs); break;
        case O_MSG_RATE: rc = parse_double(optarg, 0, 1e6, &o->msg_rate); break;
        case O_HOLD: rc = parse_double(optarg, 0, 86400, &o->hold_s); break;
        case O_DURATION: rc = parse_double(optarg, 0.1, 86400, &o->duration_s); break;
        case O_TIMEOUT: rc = parse_double(optarg, 0.01, 3600, &o->timeout_s); break;
        case O_RESUME: rc = parse_double(optarg, 0, 1, &o->resume_frac); break;
        case O_RESUMES:
            rc = parse_u32(optarg, 1, 100, &o->resumes);
            o->resume_spread = true;
            break;
        case O_PIPELINE: rc = parse_double(optarg, 0, 1, &o->pipeline_frac); break;
        case O_WORKERS: rc = parse_u32(optarg, 1, MAX_WORKERS, &o->workers); break;
        case O_SRC_IPS: rc = parse_u32(optarg, 0, 254, &o->src_ips); break;
        case O_MSGPACK: o->enc = WIRE_MSGPACK; break;
        case O_STORE: o->store = optarg; break;
        case O_TEXT:
            o->text = optarg;
            rc = strlen(optarg) == 0 || strlen(optarg) > 8000 ? -1 : 0;
            break;
        case O_PID:
            rc = parse_u32(optarg, 1, INT32_MAX, &pid);
            o->gw_pid = (int)pid;
            break;
        case O_JSON: o->json = true; break;
        case O_AGENTS: rc = parse_u32(optarg, 0, 1000000, &o->agents); break;
        case O_AGENT_TOKENS: tokens_file = optarg; break;
        case O_AGENT_URL:
            if ((rc = add_url(optarg, "16 --agent-url", o->agent_targets, o->agent_urls,
                              &o->nagent_targets)))
                return rc;
            break;
        case O_AGENT_RATE: rc = parse_double(optarg, 0, 1e7, &o->agent_rate); break;
        case O_AGENT_START:
            if (strcmp(optarg, "with") == 0)
                o->agent_start = AGENTS_WITH;
            else if (strcmp(optarg, "first") == 0)
                o->agent_start = AGENTS_FIRST;
            else if (strcmp(optarg, "after") == 0)
                o->agent_start = AGENTS_AFTER;
            else
                rc = -1;
            break;
        case O_AGENT_GREET: o->agent_greet = true; break;
        case O_AGENT_DELAY:
            rc = parse_double(optarg, 0, 3600000, &o->agent_delay_ms);
            o->agent_greet = true;
            break;
        case O_AGENT_CLOSE: rc = parse_u32(optarg, 0, 1000000, &o->agent_close_after); break;
        case O_AWAIT: o->await_agent = true; break;
        case O_SYNC_ASSIGNED: o->sync_assigned = true; break;
        case O_HOOK: o->hook = optarg; break;
        case O_AGENT_ANSWER:
            rc = parse_range(optarg, 0, 3600000, &o->answer_min_ms, &o->answer_max_ms);
            o->agent_answer = true;
            break;
        case O_SEED: {
            char *end;
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            rc = end == optarg || *end || optarg[0] == '-' || errno ? -1 : 0;
            break;
        }
        case 'v': o->verbose = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (rc)
            return bad("bad value for --%s", longopts[ch - O_URL].name);
    }
    if (optind < argc)
        return bad("unexpected argument %s", argv[optind]);
    if (o->ntargets == 0) {
        snprintf(o->urls[0], sizeof o->urls[0], "ws://127.0.0.1:8080/v1/buyer");
        if (parse_url(o->urls[0], &o->targets[0]) != 0)
            return -1;
        o->ntargets = 1;
    }
    if (strlen(o->store) > 64)
        return bad("--store %s: too long", o->store);
    if (o->sessions == 0 && o->agents == 0)
        return bad("%s", "nothing to run: --sessions 0 and no --agents");
    if (o->agents > 0) {
        if (!tokens_file)
            return bad("%s", "--agents needs --agent-tokens FILE");
        if (read_tokens(tokens_file, o) != 0)
            return -1;
        if (o->nagent_targets == 0) {
            /* the buyer URLs, with the agent path */
            for (unsigned i = 0; i < o->ntargets; i++) {
                char host[sizeof o->targets[i].host];
                memcpy(host, o->targets[i].host, sizeof host);
                o->agent_targets[i] = o->targets[i];
                snprintf(o->agent_targets[i].path, sizeof o->agent_targets[i].path,
                         "/v1/agent");
                snprintf(o->agent_urls[i], sizeof o->agent_urls[i], "ws://%s/v1/agent", host);
            }
            o->nagent_targets = o->ntargets;
        }
        if (o->sessions > 0)
            o->await_agent = true;     /* they are here to answer the buyers */
    } else if (o->agent_start != AGENTS_WITH || o->nagent_targets || o->agent_greet ||
               o->agent_close_after || o->agent_answer) {
        return bad("%s", "the --agent-* options need --agents N");
    }
    if (o->agent_answer && o->agent_greet)
        return bad("%s", "--agent-delay answers the question: not with --agent-greet");
    if (o->sync_assigned && !o->await_agent)
        return bad("%s", "--sync-assigned needs agents (--agents or --await-agent)");
    if (o->agent_start == AGENTS_FIRST)
        o->barriers[o->nbarriers++] = BAR_AGENTS_READY;
    if (o->agent_start == AGENTS_AFTER)
        o->barriers[o->nbarriers++] = BAR_QUEUED;
    if (o->sync_assigned)
        o->barriers[o->nbarriers++] = BAR_ASSIGNED;
    for (unsigned i = 0; i < o->nagent_targets && o->src_ips > 0; i++)
        if (o->agent_targets[i].addr.ss_family != AF_INET)
            return bad("--src-ips needs IPv4 targets (%s)", o->agent_urls[i]);
    for (unsigned i = 0; i < o->ntargets && o->src_ips > 0; i++)
        if (o->targets[i].addr.ss_family != AF_INET)
            return bad("--src-ips needs IPv4 targets (%s)", o->urls[i]);
    return 0;
}

/* ---- the machine: descriptors, ports, the gateway's memory -------------- */

int64_t load_rss_kib(int pid)
{
    char path[64], line[256];
    int64_t kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNd64, &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* The gateway's open-files limit, or 0 when unknown. */
static uint64_t gw_nofile(int pid)
{
    char path[64], line[256];
    unsigned long long soft = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/limits", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Max open files %llu", &soft) == 1)
            break;
    fclose(f);
    return soft;
}

/*
 * Raises the soft RLIMIT_NOFILE to the hard one and checks that each
 * worker's sessions fit; warns when the ports per (source, destination)
 * pair or the gateway's own limit will not go round.
 */
static int check_machine(const struct load_opts *o)
{
    struct rlimit rl;
    uint64_t per_worker = (o->sessions + o->agents + o->workers - 1) / o->workers;
    unsigned lo = 32768, hi = 60999;
    FILE *f;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        per_worker + FDS_SPARE > rl.rlim_cur) {
        uint64_t room = rl.rlim_cur > FDS_SPARE ? rl.rlim_cur - FDS_SPARE : 1;
        fprintf(stderr, "chatgw-load: %" PRIu64 " sessions per process need %" PRIu64
                " open files, the limit is %llu (hard); use --workers %" PRIu64 " or more\n",
                per_worker, per_worker + FDS_SPARE, (unsigned long long)rl.rlim_cur,
                (o->sessions + room - 1) / room);
        return -1;
    }
    if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r"))) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    uint64_t pairs = (uint64_t)(o->src_ips ? o->src_ips : 1) * o->ntargets;
    if (hi > lo && (o->sessions + pairs - 1) / pairs > (hi - lo) * 9 / 10)
        fprintf(stderr, "chatgw-load: warning: ~%" PRIu64 " sessions per (source, destination)"
                " address pair, with %u ephemeral ports; use --src-ips\n",
                (o->sessions + pairs - 1) / pairs, hi - lo + 1);
    if (o->gw_pid) {
        uint64_t lim = gw_nofile(o->gw_pid);
        if (load_rss_kib(o->gw_pid) < 0) {
            fprintf(stderr, "chatgw-load: --pid %d: no such process to watch\n", o->gw_pid);
            return -1;
        }
        if (lim && o->sessions / o->ntargets + 32 > lim)
            fprintf(stderr, "chatgw-load: warning: the gateway's open-files limit is %" PRIu64
                    "; it cannot hold %" PRIu32 " sessions in one process\n", lim, o->sessions);
    }
    return 0;
}

/* ---- the workers --------------------------------------------------------- */

static int spawn_workers(const struct load_opts *o)
{
    for (unsigned i = 0; i < o->workers; i++) {
        int out[2], ctl[2];
        pid_t pid;

        if (pipe(out) != 0 || pipe(ctl) != 0) {
            perror("chatgw-load: pipe");
            return -1;
        }
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            perror("chatgw-load: fork");
            return -1;
        }
        if (pid == 0) {
            close(out[0]);
            close(ctl[1]);
            for (unsigned j = 0; j < i; j++) {   /* the other workers' pipes */
                close(workers[j].out);
                close(workers[j].ctl);
            }
            _exit(worker_run(o, i, ctl[0], out[1]));
        }
        close(out[1]);
        close(ctl[0]);
        workers[i] = (struct worker){ .pid = pid, .out = out[0], .ctl = ctl[1] };
    }
    return 0;
}

/* Whether a read of n from worker w brought bytes. EINTR: not now. EOF
 * or an error: nothing more will come; `dead` says whether that loses
 * its result. */
static bool read_some(struct worker *w, ssize_t n, bool dead)
{
    if (n < 0 && errno == EINTR)
        return false;
    if (n <= 0) {
        w->dead = dead;
        w->loaded = w->reported = true;
        return false;
    }
    return true;
}

/* Reads what worker w has sent: 'P', 'L', or 'R', its result and its chat ids. */
static void read_worker(struct worker *w)
{
    ssize_t n;

    if (w->tag == 'I') {
        size_t want = (size_t)w->r.assigned_ids * 16;
        n = read(w->out, w->ids + w->got, want - w->got);
        if (!read_some(w, n, true))
            return;
        w->got += (size_t)n;
        if (w->got == want) {
            w->reported = w->loaded = true;
            w->tag = 0;
        }
        return;
    }
    if (w->tag != 'R') {
        char c;
        n = read(w->out, &c, 1);
        if (!read_some(w, n, !w->reported))
            return;
        if (c == 'L')
            w->loaded = true;
        else if (c == 'P')
            w->barriers++;
        else if (c == 'R')
            w->tag = 'R';
        return;
    }
    n = read(w->out, (char *)&w->r + w->got, sizeof w->r - w->got);
    if (!read_some(w, n, true))
        return;
    w->got += (size_t)n;
    if (w->got == sizeof w->r) {
        w->got = 0;
        w->tag = 0;
        if (w->r.assigned_ids > 0 && w->r.assigned_ids < (1ull << 28) &&
            (w->ids = malloc((size_t)w->r.assigned_ids * 16))) {
            w->tag = 'I';
            return;
        }
        w->r.assigned_ids = 0;
        w->reported = w->loaded = true;
    }
}

static bool all_loaded(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!workers[i].loaded)
            return false;
    return true;
}

static unsigned barrier_now;        /* the barrier all_at_barrier waits for */

static bool all_at_barrier(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (workers[i].barriers <= barrier_now && !workers[i].reported)
            return false;
    return true;
}

static bool all_reported(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!workers[i].reported)
            return false;
    return true;
}

/* Serves the workers' pipes until pred holds or `until` (uv_hrtime) has
 * passed, or ^C when `interruptible`; returns pred's value at the end. */
static bool wait_until(unsigned n, bool (*pred)(unsigned), uint64_t until, bool interruptible)
{
    struct pollfd fds[MAX_WORKERS];
    unsigned map[MAX_WORKERS];

    for (;;) {
        unsigned k = 0;
        uint64_t now;
        int ms;

        if (pred && pred(n))
            return true;
        now = now_ns();
        if (now >= until || (interrupted && interruptible))
            return false;
        for (unsigned i = 0; i < n; i++) {
            if (workers[i].reported)
                continue;
            fds[k] = (struct pollfd){ .fd = workers[i].out, .events = POLLIN };
            map[k++] = i;
        }
        ms = (int)((until - now) / 1000000) + 1;
        if (poll(fds, k, ms > 100 ? 100 : ms) <= 0)
            continue;
        for (unsigned j = 0; j < k; j++)
            if (fds[j].revents)
                read_worker(&workers[map[j]]);
    }
}

static void go_workers(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (workers[i].ctl >= 0 && write(workers[i].ctl, "G", 1) < 0) {
            /* gone already: its pipe says so */
        }
}

static void stop_workers(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (workers[i].ctl >= 0) {
            if (write(workers[i].ctl, "X", 1) < 0) {
                /* gone already: its pipe says so */
            }
            close(workers[i].ctl);
            workers[i].ctl = -1;
        }
    }
}

static double cpu_children_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !interrupted)
        ;
}

/* Runs --hook with the phase's name, and waits for it (bounded). */
static void hook(const struct load_opts *o, const char *phase)
{
    uint64_t until = now_ns() + HOOK_NS;
    pid_t pid;
    int status;

    if (!o->hook)
        return;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("chatgw-load: fork (hook)");
        return;
    }
    if (pid == 0) {
        for (unsigned i = 0; i < MAX_WORKERS; i++)
            if (workers[i].pid) {
                close(workers[i].out);
                if (workers[i].ctl >= 0)
                    close(workers[i].ctl);
            }
        execl("/bin/sh", "sh", "-c", o->hook, "sh", phase, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ns() >= until) {
            fprintf(stderr, "chatgw-load: --hook %s: still running after 20 s, killed\n", phase);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        sleep_ns(1000000);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "chatgw-load: --hook %s: failed (status %d)\n", phase, status);
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Every worker's assigned chat ids together: distinct chats, and assigns
 * of a chat that had been assigned already (in any worker). */
static void check_assigned(unsigned n, struct load_run *rr)
{
    uint64_t total = 0, k = 0;
    uint8_t *all;

    for (unsigned i = 0; i < n; i++)
        total += workers[i].ids && !workers[i].dead ? workers[i].r.assigned_ids : 0;
    if (total == 0 || !(all = malloc((size_t)total * 16)))
        return;
    for (unsigned i = 0; i < n; i++) {
        if (!workers[i].ids || workers[i].dead)
            continue;
        memcpy(all + 16 * (size_t)k, workers[i].ids, (size_t)workers[i].r.assigned_ids * 16);
        k += workers[i].r.assigned_ids;
    }
    qsort(all, (size_t)total, 16, cmp_id);
    rr->chats_assigned = total ? 1 : 0;
    for (uint64_t i = 1; i < total; i++) {
        if (memcmp(all + 16 * (size_t)(i - 1), all + 16 * (size_t)i, 16) == 0)
            rr->double_assignments++;
        else
            rr->chats_assigned++;
    }
    free(all);
}

/*
 * The run, seen from the parent: ramp and scripts (until every worker
 * says loaded, or the deadline), hold, close, collect, and the gateway's
 * RSS at each of those points.
 */
static int run(struct load_opts *o, struct load_run *rr)
{
    unsigned n = o->workers;
    uint64_t start = now_ns(), deadline, hold_end;

    memset(rr, 0, sizeof *rr);
    for (int i = 0; i < 4; i++)
        rr->gw_rss_kib[i] = -1;
    result_init(&rr->r);
    if (o->gw_pid)
        rr->gw_rss_kib[RSS_START] = load_rss_kib(o->gw_pid);
    hook(o, "start");
    o->t0_ns = now_ns() + 50000000ull;           /* let every worker be ready */
    deadline = o->t0_ns + (uint64_t)(o->duration_s * 1e9);
    if (spawn_workers(o) != 0) {
        stop_workers(n);
        return -1;
    }

    for (barrier_now = 0; barrier_now < o->nbarriers; barrier_now++) {
        if (!wait_until(n, all_at_barrier, deadline, true))
            break;
        rr->t_barrier[o->barriers[barrier_now]] = now_ns();
        hook(o, barrier_name(o->barriers[barrier_now]));
        go_workers(n);
    }
    rr->loaded = barrier_now == o->nbarriers && wait_until(n, all_loaded, deadline, true);
    if (rr->loaded)
        rr->t_loaded = now_ns();
    if (o->gw_pid)
        rr->gw_rss_kib[RSS_LOADED] = load_rss_kib(o->gw_pid);
    if (rr->loaded)
        hook(o, "loaded");
    if (rr->loaded && o->hold_s > 0) {
        hold_end = now_ns() + (uint64_t)(o->hold_s * 1e9);
        rr->held = hold_end <= deadline;
        wait_until(n, NULL, hold_end < deadline ? hold_end : deadline, true);
        rr->held = rr->held && !interrupted;
        if (o->gw_pid)
            rr->gw_rss_kib[RSS_HELD] = load_rss_kib(o->gw_pid);
        if (rr->held)
            hook(o, "held");
    }
    stop_workers(n);
    wait_until(n, all_reported, now_ns() + COLLECT_NS, false);  /* ^C still gets a report */
    for (unsigned i = 0; i < n; i++) {
        if (!workers[i].reported) {
            kill(workers[i].pid, SIGKILL);
            workers[i].dead = true;
        }
        waitpid(workers[i].pid, NULL, 0);
        close(workers[i].out);
        if (workers[i].dead)
            rr->workers_lost++;
        else
            result_merge(&rr->r, &workers[i].r);
    }
    check_assigned(n, rr);
    for (unsigned i = 0; i < n; i++)
        free(workers[i].ids);
    hook(o, "end");
    rr->elapsed_s = (double)(now_ns() - start) / 1e9;
    rr->interrupted = interrupted;
    rr->cpu_s = cpu_children_s();
    if (o->gw_pid) {
        sleep_ns(SETTLE_NS);                     /* let the gateway free the sessions */
        rr->gw_rss_kib[RSS_END] = load_rss_kib(o->gw_pid);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct load_opts o;
    static struct load_run rr;
    struct sigaction sa;
    uint64_t failed = 0;

    if (parse_args(argc, argv, &o) != 0 || check_machine(&o) != 0)
        return 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (run(&o, &rr) != 0)
        return 2;
    if (o.json)
        report_json(stdout, &o, &rr);
    else
        report_text(stdout, &o, &rr);
    if (interrupted) {
        /* die of the signal after the report, so that a calling shell
         * stops too instead of taking it as handled */
        fflush(stdout);
        signal((int)interrupted, SIG_DFL);
        raise((int)interrupted);
    }
    free(o.tokens);
    for (int i = 0; i < FAIL__COUNT; i++)
        failed += rr.r.buyers.failed[i] + rr.r.agents.failed[i];
    return failed || rr.workers_lost || rr.r.completed < o.sessions || rr.r.resume_gaps ||
                   rr.r.resume_dups || rr.r.resume_lost || rr.r.agents_ready < o.agents ||
                   rr.r.agents_lost || rr.double_assignments || rr.r.agents_over_capacity ||
                   rr.r.agent_frames_again ? 1 : 0;
}
