/*
 * load.h - what the parts of chatgw-load share: the run's options, and
 * the results one worker process sends its parent.
 *
 * The parent (chatgw-load.c) parses the options, forks the workers and
 * paces the run; each worker (load_worker.c) drives its share of the
 * sessions on its own libuv loop and writes one struct load_result down
 * a pipe at the end; the parent adds them up and prints them
 * (load_report.c). A result is plain data so that it can cross the pipe
 * as is (followed by the chat ids its agents were assigned, which the
 * parent checks for double assignments across workers).
 *
 * Agents (--agents, load_agent.c) live in the same workers as buyers,
 * agent a in worker a % W. What the two roles do alike (the ramp, the
 * connection, frame dispatch by table, how a connection ended) is
 * client.c's, and each counts it into its own struct role_result. A run may have barriers (enum barrier): each
 * worker says 'P' when its sessions reached the next one, and the parent,
 * once every worker has, runs --hook and answers 'G', which starts the
 * next part of the run in every worker at once.
 *
 * API: struct load_opts, struct role_result, struct load_result,
 *      struct load_run, worker_run, result_init, result_merge,
 *      result_count_close, result_error_index, report_text, report_json,
 *      load_rss_kib; inside a worker: struct worker_env, worker_*, agents_*.
 */
#ifndef CHATGW_LOAD_H
#define CHATGW_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "hist.h"
#include "wire.h"
#include "ws_client.h"

#define LOAD_MAX_URLS 16
#define LOAD_CLOSE_SLOTS 32
#define LOAD_TIMELINE 900           /* seconds of buyer->agent timeline */
#define LOAD_SLOW_US 5000           /* "slow" in the timeline */

/* When agents start, relative to buyers (--agent-start). */
enum agent_start {
    AGENTS_WITH,                   /* both at once */
    AGENTS_FIRST,                  /* agents log in and go ready, then buyers come */
    AGENTS_AFTER,                  /* buyers come and queue, then agents log in */
};

/* Points where every worker waits for the others (and --hook runs). */
#define BARRIER_MAP(X)                                                         \
    X(AGENTS_READY, "agents_ready")  /* every agent ready (or failed) */       \
    X(QUEUED, "queued")              /* every buyer's first msg answered */    \
    X(ASSIGNED, "assigned")          /* every buyer has its agent */

enum barrier {
#define BAR_ENUM(name, str) BAR_##name,
    BARRIER_MAP(BAR_ENUM)
#undef BAR_ENUM
    BAR__COUNT
};

#define AGENT_TOKEN_HEX 64

struct load_opts {
    struct ws_target targets[LOAD_MAX_URLS];
    char urls[LOAD_MAX_URLS][192];
    unsigned ntargets;
    uint32_t sessions, msgs, workers, src_ips;
    double rate;                   /* new sessions per second; 0 = at once */
    double msg_rate;               /* messages per second per session; 0 = at once */
    double hold_s, duration_s, timeout_s;
    double resume_frac, pipeline_frac;
    uint32_t resumes;              /* drops and resumes per resuming session */
    bool resume_spread;            /* --resumes given: drop points spread by session */
    enum wire_enc enc;
    const char *store, *text;
    bool json, verbose;
    int gw_pid;                    /* 0: none */
    uint64_t t0_ns;                /* when the ramp starts (uv_hrtime) */
    /* agents */
    struct ws_target agent_targets[LOAD_MAX_URLS];
    char agent_urls[LOAD_MAX_URLS][192];
    unsigned nagent_targets;
    uint32_t agents, agent_close_after;
    double agent_rate;             /* logins per second; 0 = at once */
    double agent_delay_ms;         /* before the reply to an assign */
    bool agent_greet;              /* reply to each assign */
    /* --agent-delay MIN-MAX: agents answer each unanswered stretch of a
     * chat (the question it came with, then each buyer message after an
     * answer) after a delay drawn uniformly from [min, max] ms, instead
     * of echoing; buyers then converse (see load_worker.c) */
    bool agent_answer;
    double answer_min_ms, answer_max_ms;
    uint64_t seed;                 /* --seed: the delays' random numbers */
    bool await_agent;              /* buyers: messages 2..M wait for `agent` */
    bool sync_assigned;            /* ... and for every buyer to have one */
    enum agent_start agent_start;
    char (*tokens)[AGENT_TOKEN_HEX + 1];   /* agent g logs in with tokens[g] */
    const char *hook;              /* run by the parent at each phase */
    enum barrier barriers[BAR__COUNT];
    unsigned nbarriers;
};

/* Latencies measured, each into its own histogram. */
#define LAT_MAP(X)                                                             \
    X(CONNECT, "connect", "connect")              /* TCP connect + upgrade */  \
    X(WELCOME, "hello_welcome", "hello->welcome")                              \
    /* the golden window, for a client that waits for welcome before its    \
     * first message: first message sent -> greeting received */            \
    X(GREET, "msg1_greeting", "msg1->greeting")                                \
    /* a client that sends hello and its first message back to back         \
     * (--pipeline): hello sent -> greeting received */                      \
    X(HELLO_GREET, "hello_greeting", "hello->greeting")                        \
    X(ACK, "msg_ack", "msg->ack")                                              \
    X(RESUME, "resume_replay", "resume->replayed")                             \
    /* with agents: a buyer's first msg sent -> `agent {name}` received */     \
    X(ASSIGN, "msg1_agent", "msg1->agent")                                     \
    /* relay, from the uv_hrtime stamp in the text (one clock for all        \
     * processes): buyer msg sent -> its agent has it, and back */           \
    X(B2A, "buyer_agent", "buyer->agent")                                      \
    X(A2B, "agent_buyer", "agent->buyer")                                      \
    X(ECHO, "echo_rtt", "msg->echo")       /* buyer msg -> the agent's echo */ \
    X(LOGIN, "agent_login", "login->welcome")                                  \
    /* --agent-delay: a buyer's first message sent -> the agent's answer,   \
     * and every answer: the oldest unanswered message sent -> the answer */ \
    X(ANSWER1, "msg1_answer", "msg1->answer")                                  \
    X(ANSWER, "answer", "question->answer")

enum lat {
#define LAT_ENUM(name, key, label) LAT_##name,
    LAT_MAP(LAT_ENUM)
#undef LAT_ENUM
    LAT__COUNT
};

/* Why a session did not finish its script. */
#define FAIL_MAP(X)                                                            \
    X(CONNECT, "connect")         /* TCP connect failed */                     \
    X(HANDSHAKE, "handshake")     /* the upgrade was not answered with 101 */  \
    X(ACCEPT, "bad_accept")       /* 101 with a wrong Sec-WebSocket-Accept */  \
    X(PROTOCOL, "protocol")       /* a malformed WebSocket frame */            \
    X(CLOSED, "closed")           /* the gateway sent a close frame */         \
    X(EOF, "eof")                 /* TCP closed without a close frame */       \
    X(IO, "io")                   /* read or write error */                    \
    X(REFUSED, "refused")         /* hello answered with an error frame */     \
    X(TIMEOUT, "timeout")         /* no answer within --timeout */             \
    X(LOCAL, "local")             /* no socket here (descriptors, memory) */   \
    X(UNFINISHED, "unfinished")   /* still running at the end of the run */

enum fail {
#define FAIL_ENUM(name, str) FAIL_##name,
    FAIL_MAP(FAIL_ENUM)
#undef FAIL_ENUM
    FAIL__COUNT
};

/* The gateway's error codes (daemon/errors.h); anything else is "other". */
#define ERR_CODES(X)                                                           \
    X("bad_frame") X("too_large") X("bad_type") X("missing_field")              \
    X("bad_value") X("no_session") X("unauthorized") X("forbidden")            \
    X("not_found") X("conflict") X("rate_limited") X("unavailable")            \
    X("internal") X("other")

#define ERR_COUNT_ONE(s) +1
enum { ERR__COUNT = 0 ERR_CODES(ERR_COUNT_ONE) };

struct close_count {
    uint32_t code;                 /* 1006: TCP closed without a close frame */
    uint32_t n;
};

/* One second of buyer->agent relay, by the send stamp's second from t0. */
struct tl_sec {
    uint32_t n, slow;              /* messages, and those over LOAD_SLOW_US */
    uint32_t max_us;
};

/* What buyers and agents count alike, each into its own. */
struct role_result {
    uint64_t started, connected;
    uint64_t failed[FAIL__COUNT];
    uint64_t errors[ERR__COUNT];   /* error frames, by code */
    struct close_count closes[LOAD_CLOSE_SLOTS];   /* by the gateway */
    uint64_t closes_other;
    uint64_t other_frames;         /* readable, but not expected then */
    uint64_t bad_frames;           /* unreadable */
};

struct load_result {
    struct hist lat[LAT__COUNT];
    struct role_result buyers, agents;
    uint64_t completed, lost_idle;
    uint64_t msgs_sent, msgs_acked, msgs_refused;
    uint64_t greetings, holds, queue, closed_frames, pings;
    uint64_t dropped, resumed, replayed, resume_gaps, resume_dups, resume_lost;
    /* uv_hrtime stamps (one clock for all processes); 0 = never */
    uint64_t t_first_start, t_last_connect, t_first_msg, t_last_ack;
    int64_t rss_start_kib, rss_loaded_kib;  /* the worker's own */
    /* buyers, when agents answer */
    uint64_t agent_frames, agent_frames_again, agent_msgs_in, echoes, system_msgs;
    uint64_t closed_by_agent;
    uint64_t queue_after_agent;    /* `queue` once the buyer had its `agent` */
    uint64_t agent_before_ack;     /* `agent` before the first msg's ack */
    /* agents */
    uint64_t agents_ready, agents_lost;
    uint64_t agents_over_capacity, over_capacity_events, max_load;
    uint64_t assigns, unassigns, double_local, buyer_msgs_in, other_msgs_in, unknown_chat_msgs;
    uint64_t agent_sent, agent_acked, agent_refused, replies, chat_closes;
    uint64_t answers, breach_frames;   /* --agent-delay answers; `breach` frames */
    uint64_t t_first_ready, t_first_assign, t_last_assign;
    uint64_t assigned_ids;         /* 16-byte chat ids after the result on the pipe */
    struct tl_sec timeline[LOAD_TIMELINE];
};

/* One whole run as the parent saw it. */
struct load_run {
    struct load_result r;
    int64_t gw_rss_kib[4];         /* start, loaded, held, end; -1 = not read */
    double elapsed_s, cpu_s;
    unsigned workers_lost;
    bool loaded;                   /* every session finished before the deadline */
    bool held;                     /* and then stayed up for all of --hold */
    bool interrupted;              /* ended early by SIGINT/SIGTERM */
    uint64_t double_assignments;   /* assigns of a chat already assigned, all workers */
    uint64_t chats_assigned;       /* distinct chats */
    uint64_t t_barrier[BAR__COUNT], t_loaded;   /* uv_hrtime; 0 = not reached */
};

enum { RSS_START, RSS_LOADED, RSS_HELD, RSS_END };

/* Runs worker `index` of o->workers; returns the process's exit code.
 * ctl_fd: 'X' from the parent (or EOF) stops the run. out_fd: 'L' once
 * every session finished its script, then 'R' and the struct load_result. */
int worker_run(const struct load_opts *o, unsigned index, int ctl_fd, int out_fd);

void result_init(struct load_result *r);
void result_merge(struct load_result *into, const struct load_result *from);
/* n closes with code (1006: TCP closed without a close frame). */
void result_count_close(struct role_result *r, uint32_t code, uint64_t n);
/* The index of an error code in ERR_CODES. */
unsigned result_error_index(struct wire_str code);

void report_text(FILE *out, const struct load_opts *o, const struct load_run *run);
void report_json(FILE *out, const struct load_opts *o, const struct load_run *run);
const char *barrier_name(enum barrier b);
/* The VmRSS of process pid, or -1 when it cannot be read. */
int64_t load_rss_kib(int pid);

/* ---- inside a worker: what load_worker.c and load_agent.c share ---------- */

struct worker_env {
    const struct load_opts *o;
    unsigned index;
    uv_loop_t *loop;
    struct load_result *res;
};

/* load_worker.c, for the agents */
void worker_note(const char *role, uint32_t g, const char *what, const char *detail);
void worker_progress(void);        /* an agent got ready or failed: barriers, 'L' */
void worker_conn_closed(void);     /* an agent's connection is gone */

/* load_agent.c: this worker's n agents (numbers index, index+W, ...) */
int agents_init(const struct worker_env *env, uint32_t n);
void agents_start(uint64_t t0);    /* the login ramp, from t0 (uv_hrtime) */
void agents_sweep(uint64_t now);   /* --timeout on logins */
void agents_stop(void);            /* close every agent session */
void agents_abort(void);           /* drop whatever is still open */
uint32_t agents_open(void);        /* connections not yet closed */
uint32_t agents_settled(void);     /* ready or failed */
uint32_t agents_count(void);
/* Every chat id assigned here, 16 bytes each, in order (repeats kept). */
const uint8_t *agents_assigned(uint64_t *n);
void agents_free(void);

#endif
