/*
 * load.h - what the parts of chatgw-load share: the run's options, and
 * the results one worker process sends its parent.
 *
 * The parent (chatgw-load.c) parses the options, forks the workers and
 * paces the run; each worker (load_worker.c) drives its share of the
 * sessions on its own libuv loop and writes one struct load_result down
 * a pipe at the end; the parent adds them up and prints them
 * (load_report.c). A result is plain data so that it can cross the pipe
 * as is.
 *
 * API: struct load_opts, struct load_result, struct load_run,
 *      worker_run, result_init, result_merge, report_text, report_json.
 */
#ifndef CHATGW_LOAD_H
#define CHATGW_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buyer_wire.h"
#include "hist.h"
#include "ws_client.h"

#define LOAD_MAX_URLS 16
#define LOAD_CLOSE_SLOTS 32

struct load_opts {
    struct ws_target targets[LOAD_MAX_URLS];
    char urls[LOAD_MAX_URLS][192];
    unsigned ntargets;
    uint32_t sessions, msgs, workers, src_ips;
    double rate;                   /* new sessions per second; 0 = at once */
    double msg_rate;               /* messages per second per session; 0 = at once */
    double hold_s, duration_s, timeout_s;
    double resume_frac, pipeline_frac;
    enum wire_enc enc;
    const char *store, *text;
    bool json, verbose;
    int gw_pid;                    /* 0: none */
    uint64_t t0_ns;                /* when the ramp starts (uv_hrtime) */
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
    X(RESUME, "resume_replay", "resume->replayed")

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

struct load_result {
    struct hist lat[LAT__COUNT];
    uint64_t started, connected, completed, lost_idle;
    uint64_t failed[FAIL__COUNT];
    uint64_t msgs_sent, msgs_acked, msgs_refused;
    uint64_t greetings, holds, queue, closed_frames, other_frames, bad_frames, pings;
    uint64_t dropped, resumed, replayed, resume_gaps, resume_dups, resume_lost;
    uint64_t errors[ERR__COUNT];
    struct close_count closes[LOAD_CLOSE_SLOTS];
    uint64_t closes_other;
    /* uv_hrtime stamps (one clock for all processes); 0 = never */
    uint64_t t_first_start, t_last_connect, t_first_msg, t_last_ack;
    int64_t rss_start_kib, rss_loaded_kib;  /* the worker's own */
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
};

enum { RSS_START, RSS_LOADED, RSS_HELD, RSS_END };

/* Runs worker `index` of o->workers; returns the process's exit code.
 * ctl_fd: 'X' from the parent (or EOF) stops the run. out_fd: 'L' once
 * every session finished its script, then 'R' and the struct load_result. */
int worker_run(const struct load_opts *o, unsigned index, int ctl_fd, int out_fd);

void result_init(struct load_result *r);
void result_merge(struct load_result *into, const struct load_result *from);
void result_count_close(struct load_result *r, uint32_t code, uint64_t n);
/* The index of an error code in ERR_CODES. */
unsigned result_error_index(struct wire_str code);

void report_text(FILE *out, const struct load_opts *o, const struct load_run *run);
void report_json(FILE *out, const struct load_opts *o, const struct load_run *run);

#endif
