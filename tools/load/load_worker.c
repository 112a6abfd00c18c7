/*
 * load_worker.c - one chatgw-load process: its share of the buyer
 * sessions, all on one libuv loop.
 *
 * Worker w of W takes sessions w, w+W, w+2W, ... of the run and starts
 * session g at t0 + g/rate, so the workers together ramp evenly. Each
 * session runs a script:
 *
 *   connect + upgrade -> hello -> welcome -> msg m1 -> greeting, ack m1
 *   -> msgs m2..mM every 1/msg_rate -> their acks -> done, idle
 *
 * With agents (--agents here, or --await-agent when they run elsewhere)
 * m2..mM wait for the buyer's `agent {name}` (and, with --sync-assigned,
 * for every buyer to have one), texts start with the uv_hrtime stamp
 * "b<ns> ", and the script also waits for the agent's echo of each of
 * m2..mM (load_agent.c); a chat the agent closes ends the script.
 * With --agent-delay the agents answer after a while instead of echoing,
 * and buyers converse: m2 goes 1/msg_rate after the answer to m1, m3 after
 * the answer to m2, and so on, and the script waits for the answer to the
 * last one; each answer is timed from the oldest message it answers
 * (question->answer; msg1->answer for the first).
 *
 * A pipelined session sends hello and m1 back to back without waiting for
 * welcome. A resuming session drops its socket once half its messages are
 * acked (with --resumes K: K times, at points spread over its messages by
 * a phase of its own), reconnects (to the next --url) with {hello, resume,
 * since} and checks the replay: seqs since+1 .. welcome.seq, each once and
 * in order, and welcome.seq no less than the last seq it had seen; then it
 * goes on.
 *
 * Timing: messages due later sit in a binary heap on their due time, under
 * one uv timer; new sessions come from a 1 ms ramp timer; a 100 ms sweep
 * applies --timeout to whatever a session waits for and watches the
 * deadline. Per session: the struct below and no buffer while idle.
 *
 * Barriers (load.h): when this worker's sessions reach the next one it
 * says 'P'; the parent's 'G' starts what comes after it (buyers, agents,
 * or the buyers' messages). When every session has finished (done or
 * failed; an agent once it is ready) the worker tells the parent ('L')
 * and waits; 'X' from the parent, its EOF or the deadline
 * closes every session (close 1000, then 2 s grace), and the results go
 * down the pipe.
 *
 * API: worker_run.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "client.h"

#define RING 16                     /* messages in flight per session */
#define NO_HEAP UINT32_MAX
#define CLOSE_GRACE_NS 2000000000ull
#define VERBOSE_MAX 20              /* failures reported with -v, per worker */

enum state {
    S_NEW,          /* not started */
    S_CONNECTING,   /* TCP connect and upgrade */
    S_WELCOME,      /* hello sent, waiting for welcome */
    S_RUN,          /* sending messages, waiting for greeting and acks */
    S_DROPPING,     /* socket dropped on purpose, reconnect when closed */
    S_REPLAY,       /* resume hello sent: welcome and the replay */
    S_DONE,         /* script finished; idle until the end */
    S_FAILED,
    S_CLOSED        /* done, then closed by us at the end */
};

struct sess {
    struct client c;                /* first: callbacks cast back */
    uint32_t heap_at;               /* index in the send heap or NO_HEAP */
    uint32_t sent, acked, refused;  /* messages m1..m<sent> went out */
    uint8_t state, pipelined, resumer, resuming, resumes_done;
    uint8_t greeted, greet_failed;
    uint8_t got_agent, m1_acked, agent_closed, queued_mark, assigned_mark;
    uint32_t echoes;                /* agent replies that echo one of ours */
    uint32_t answers;               /* --agent-delay: the agent's answers */
    uint64_t t_unanswered;          /* ... oldest message sent since the last one; 0 = none */
    uint64_t t_answer;              /* ... the last answer */
    int64_t last_seq;               /* highest seq seen */
    int64_t seq_at_drop;            /* last_seq when it dropped its socket */
    int64_t since, replay_next, replay_end;
    uint64_t t_start, t_hello, t_msg1, t_wait, next_due, t_agent;
    uint64_t sent_at[RING];         /* send time of m<k> at [k % RING] */
    char *token;                    /* resume token, resumers only */
};

static struct {
    const struct load_opts *o;
    unsigned index;
    int ctl_fd, out_fd;
    uv_loop_t loop;
    uv_timer_t sends, sweep;
    uv_poll_t ctl;
    struct client_set clients;      /* the buyers: W.s, the ramp, the counts */
    struct sess *s;
    uint32_t finished, verbose_left;
    struct sess **heap;
    uint32_t heap_len;
    uint64_t interval_ns, deadline, stop_at;
    bool loaded_sent, stopping;
    struct load_result res;
    uint32_t na;                    /* agents of this worker (load_agent.c) */
    uint32_t b_queued, b_assigned;  /* buyers past those points */
    unsigned bar;                   /* next barrier in o->barriers */
    bool bar_sent;                  /* 'P' sent for it */
    bool buyers_started, released;
    uint64_t t_release;
} W;

static void check_progress(struct sess *s);
static void start_session(struct sess *s);
static void stop_run(void);
static void check_barrier(void);

/* ---- small helpers -------------------------------------------------------- */

/* splitmix64: a fixed, well-spread number per session */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Every 1/frac-th session, spread evenly over the run. */
static bool picked(uint32_t g, double frac)
{
    return (uint64_t)((g + 1) * frac) != (uint64_t)(g * frac);
}

void worker_note(const char *role, uint32_t g, const char *what, const char *detail)
{
    if (!W.o->verbose || W.verbose_left == 0)
        return;
    W.verbose_left--;
    fprintf(stderr, "chatgw-load: worker %u %s %u: %s%s%s\n", W.index, role, g, what,
            detail ? ": " : "", detail ? detail : "");
}

static void note(struct sess *s, const char *what, const char *detail)
{
    worker_note(W.clients.role, s->c.g, what, detail);
}

/* ---- the send heap -------------------------------------------------------- */

static void heap_swap(uint32_t a, uint32_t b)
{
    struct sess *t = W.heap[a];

    W.heap[a] = W.heap[b];
    W.heap[b] = t;
    W.heap[a]->heap_at = a;
    W.heap[b]->heap_at = b;
}

static void heap_up(uint32_t i)
{
    while (i > 0 && W.heap[i]->next_due < W.heap[(i - 1) / 2]->next_due) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < W.heap_len && W.heap[l]->next_due < W.heap[m]->next_due)
            m = l;
        if (r < W.heap_len && W.heap[r]->next_due < W.heap[m]->next_due)
            m = r;
        if (m == i)
            return;
        heap_swap(i, m);
        i = m;
    }
}

static void heap_remove(struct sess *s)
{
    uint32_t i = s->heap_at;

    if (i == NO_HEAP)
        return;
    W.heap_len--;
    if (i != W.heap_len) {
        heap_swap(i, W.heap_len);
        heap_up(i);
        heap_down(i);
    }
    s->heap_at = NO_HEAP;
}

static void on_sends_due(uv_timer_t *t);

/* Sets the send timer for the earliest due message. */
static void heap_arm(void)
{
    uint64_t now = now_ns(), due;

    if (W.heap_len == 0 || W.stopping) {
        uv_timer_stop(&W.sends);
        return;
    }
    due = W.heap[0]->next_due;
    uv_timer_start(&W.sends, on_sends_due, due > now ? (due - now + 999999) / 1000000 : 0, 0);
}

static void heap_push(struct sess *s)
{
    s->heap_at = W.heap_len;
    W.heap[W.heap_len++] = s;
    heap_up(s->heap_at);
}

/* ---- sending -------------------------------------------------------------- */

static void send_buf(struct sess *s, const uint8_t *p, size_t n)
{
    client_send(&W.clients, &s->c, p, n);
}

static void send_hello(struct sess *s)
{
    uint8_t b[512];

    s->t_hello = s->t_wait = now_ns();
    if (s->resuming)
        send_buf(s, b, wire_resume(b, sizeof b, W.o->enc, s->token, s->since));
    else
        send_buf(s, b, wire_hello(b, sizeof b, W.o->enc, W.o->store));
}

static void send_next_msg(struct sess *s)
{
    static uint8_t b[16384];
    uint32_t k = ++s->sent;
    uint64_t now = now_ns();

    if (s->acked + s->refused + 1 == k)
        s->t_wait = now;               /* nothing was outstanding: start waiting now */
    s->sent_at[k % RING] = now;
    if (k == 1) {
        s->t_msg1 = now;
        if (!W.res.t_first_msg || now < W.res.t_first_msg)
            W.res.t_first_msg = now;
    }
    W.res.msgs_sent++;
    if (W.o->agent_answer && !s->t_unanswered)
        s->t_unanswered = now;
    if (W.o->await_agent) {
        static char text[8200];
        snprintf(text, sizeof text, "b%" PRIu64 " %s", now_ns(), W.o->text);
        send_buf(s, b, wire_msg(b, sizeof b, W.o->enc, k, text));
        return;
    }
    send_buf(s, b, wire_msg(b, sizeof b, W.o->enc, k, W.o->text));
}

/*
 * The message after which the session drops its socket next, or 0 when it
 * has no resume left. Resume j of K comes after ceil((j + phase) * M / K)
 * messages: halfway for one resume, unless --resumes spread the phase.
 */
static uint32_t drop_point(const struct sess *s)
{
    uint32_t k = W.o->resumes, m = W.o->msgs;
    double phase = 0.5;

    if (!s->resumer || s->resumes_done >= k)
        return 0;
    if (W.o->resume_spread)
        phase = ((double)(mix(s->c.g) % 1024) + 0.5) / 1024.0;
    double p = ceil(((double)s->resumes_done + phase) * (double)m / (double)k);
    return p < 1 ? 1 : p > m ? m : (uint32_t)p;
}

/* Queues the next message, if the script has one to send now. */
static void schedule(struct sess *s)
{
    uint32_t drop_at = drop_point(s);
    uint32_t outstanding = s->sent - s->acked - s->refused;

    if (s->heap_at != NO_HEAP || s->state != S_RUN || s->sent >= W.o->msgs || s->sent == 0 ||
        outstanding >= RING)
        return;
    if (drop_at && s->sent >= drop_at)
        return;                        /* the rest waits for the resume */
    if (W.o->agent_answer) {
        /* a conversation: the next question once the last one is answered */
        uint64_t base = s->t_answer > s->t_agent ? s->t_answer : s->t_agent;
        if (!s->got_agent || s->t_unanswered || (W.o->sync_assigned && !W.released))
            return;
        if (W.o->sync_assigned && W.t_release > base)
            base = W.t_release;
        s->next_due = base + W.interval_ns;
    } else if (W.o->await_agent) {
        uint64_t base = s->t_agent, phase = 0;
        if (!s->got_agent || (W.o->sync_assigned && !W.released))
            return;                    /* m2.. go to the agent */
        if (W.o->sync_assigned) {
            /* all buyers start at once: spread them over one interval */
            base = W.t_release > base ? W.t_release : base;
            phase = W.interval_ns ? mix(s->c.g) % W.interval_ns : 0;
        }
        s->next_due = base + phase + (uint64_t)(s->sent - 1) * W.interval_ns;
    } else {
        s->next_due = s->t_msg1 + (uint64_t)s->sent * W.interval_ns;
    }
    heap_push(s);
    if (s->heap_at == 0)
        heap_arm();
}

static void on_sends_due(uv_timer_t *t)
{
    uint64_t now = now_ns();

    (void)t;
    while (W.heap_len > 0 && W.heap[0]->next_due <= now + 500000) {
        struct sess *s = W.heap[0];
        heap_remove(s);
        send_next_msg(s);
        schedule(s);
    }
    heap_arm();
}

/* ---- endings -------------------------------------------------------------- */

static void check_loaded(void)
{
    if (W.loaded_sent || W.finished < W.clients.n || agents_settled() < W.na)
        return;
    W.loaded_sent = true;
    W.res.rss_loaded_kib = load_rss_kib(getpid());
    if (write(W.out_fd, "L", 1) != 1)
        stop_run();                    /* the parent is gone */
}

/* s is past the QUEUED or ASSIGNED barrier (done or failed count too). */
static void mark_queued(struct sess *s)
{
    if (s->queued_mark)
        return;
    s->queued_mark = 1;
    W.b_queued++;
    check_barrier();
}

static void mark_assigned(struct sess *s)
{
    if (s->assigned_mark)
        return;
    s->assigned_mark = 1;
    W.b_assigned++;
    check_barrier();
}

/* Marks s failed (the socket is the caller's business). */
static void fail(struct sess *s, enum fail why, const char *detail)
{
    if (s->state == S_DONE || s->state == S_FAILED || s->state == S_CLOSED || s->state == S_NEW)
        return;
    if (s->state == S_CONNECTING)
        W.clients.connecting--;
    heap_remove(s);
    s->state = S_FAILED;
    W.res.buyers.failed[why]++;
    W.finished++;
    note(s, "failed", detail);
    mark_queued(s);
    mark_assigned(s);
    check_loaded();
}

static void fail_and_close(struct sess *s, enum fail why, const char *detail)
{
    fail(s, why, detail);
    client_close(&s->c);
}

static void done(struct sess *s)
{
    heap_remove(s);
    s->state = S_DONE;
    W.res.completed++;
    W.finished++;
    mark_queued(s);
    mark_assigned(s);
    check_loaded();
}

/* Drops the socket without a word, to come back with the resume token. */
static void drop(struct sess *s)
{
    heap_remove(s);
    s->state = S_DROPPING;
    s->resuming = 1;
    s->since = (int64_t)(mix(s->c.g + 7919u * s->resumes_done) % (uint64_t)(s->last_seq + 1));
    s->seq_at_drop = s->last_seq;
    W.res.dropped++;
    s->c.closed_by_us = 1;
    ws_abort(&s->c.ws);
}

static void check_progress(struct sess *s)
{
    uint32_t resolved = s->acked + s->refused, drop_at = drop_point(s);
    bool greet_ok = s->greeted || s->greet_failed || W.o->msgs == 0;

    if (s->state != S_RUN)
        return;
    if (drop_at && s->sent >= drop_at && resolved == s->sent && greet_ok) {
        if (s->token)
            drop(s);
        else
            fail_and_close(s, FAIL_REFUSED, "welcome without a resume token");
        return;
    }
    /* with agents: the agent came, and echoed each of m2.. that was stored
     * (--agent-delay: answered the last message) */
    bool agent_ok = !W.o->await_agent ||
                    (s->got_agent && (W.o->agent_answer ? !s->t_unanswered
                                                        : s->echoes >= s->acked - s->m1_acked));
    if (s->sent == W.o->msgs && resolved == s->sent && greet_ok && agent_ok &&
        !drop_point(s)) {
        done(s);
        return;
    }
    schedule(s);
}

static void resume_complete(struct sess *s)
{
    s->resumes_done++;
    s->state = S_RUN;
    W.res.resumed++;
    hist_add(&W.res.lat[LAT_RESUME], us_since(s->t_hello));
    check_progress(s);
}

/* ---- frames from the gateway ---------------------------------------------- */

static void on_welcome(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    if (s->state == S_WELCOME) {
        hist_add(&W.res.lat[LAT_WELCOME], us_since(s->t_hello));
        if (s->resumer && r->resume.n > 0 && !s->token) {
            s->token = malloc(r->resume.n + 1);
            if (s->token) {
                memcpy(s->token, r->resume.p, r->resume.n);
                s->token[r->resume.n] = '\0';
            }
        }
        s->state = S_RUN;
        s->t_wait = now_ns();
        if (!s->pipelined && W.o->msgs > 0)
            send_next_msg(s);
        check_progress(s);
    } else if (s->state == S_REPLAY && s->replay_end < 0) {
        s->replay_end = r->seq;
        if (r->seq < s->last_seq) {
            W.res.resume_lost++;       /* the gateway knows less than we saw */
            note(s, "resume lost messages", NULL);
        }
        s->replay_next = s->since + 1;
        s->t_wait = now_ns();
        if (s->replay_next > s->replay_end)
            resume_complete(s);
    } else {
        W.res.buyers.other_frames++;
    }
}

static void on_replayed(struct sess *s, const struct wire_reply *r)
{
    if (r->seq == s->replay_next) {
        s->replay_next++;
        W.res.replayed++;
    } else if (r->seq < s->replay_next) {
        W.res.resume_dups++;
        note(s, "replay repeated a seq", NULL);
    } else {
        W.res.resume_gaps++;
        note(s, "replay skipped a seq", NULL);
        s->replay_next = r->seq + 1;
    }
    if (r->seq > s->last_seq)
        s->last_seq = r->seq;
    s->t_wait = now_ns();
    if (s->replay_next > s->replay_end)
        resume_complete(s);
}

static void on_msg(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    if (s->state == S_REPLAY && s->replay_end >= 0) {
        /* an echo stored while the buyer was away comes back here */
        if (r->seq > s->seq_at_drop && wire_is(r->from, "agent") && wire_stamp(r->text, 'b')) {
            s->echoes++;
            W.res.echoes++;
        }
        on_replayed(s, r);
        return;
    }
    if (r->seq > s->last_seq)
        s->last_seq = r->seq;
    if (wire_is(r->from, "agent")) {
        uint64_t now = now_ns(), a = wire_stamp(r->text, 'a'), b = wire_stamp(r->text, 'b');
        W.res.agent_msgs_in++;
        if (a && a <= now)
            hist_add(&W.res.lat[LAT_A2B], (now - a) / 1000);
        if (b && b <= now) {           /* the echo of one of ours */
            hist_add(&W.res.lat[LAT_ECHO], (now - b) / 1000);
            s->echoes++;
            W.res.echoes++;
        }
        if (W.o->agent_answer && s->t_unanswered) {   /* the answer to a stretch */
            uint64_t us = now > s->t_unanswered ? (now - s->t_unanswered) / 1000 : 0;
            hist_add(&W.res.lat[LAT_ANSWER], us);
            if (s->answers++ == 0)
                hist_add(&W.res.lat[LAT_ANSWER1], us);
            s->t_unanswered = 0;
            s->t_answer = now;
        }
        s->t_wait = now;
        check_progress(s);
        return;
    }
    if (wire_is(r->from, "system")) {
        W.res.system_msgs++;
        return;
    }
    if (!wire_is(r->from, "auto")) {
        W.res.buyers.other_frames++;
        return;
    }
    if (s->greeted) {
        W.res.holds++;                 /* a holding reply: nobody answered yet */
        return;
    }
    s->greeted = 1;
    s->t_wait = now_ns();
    W.res.greetings++;
    /* one figure per kind of client: waited for welcome, or did not */
    if (s->pipelined)
        hist_add(&W.res.lat[LAT_HELLO_GREET], us_since(s->t_hello));
    else if (s->sent > 0)
        hist_add(&W.res.lat[LAT_GREET], us_since(s->t_msg1));
    check_progress(s);
}

static void on_ack(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    uint32_t k = wire_msg_number(r->id);
    uint64_t now = now_ns();

    if (k == 0 || k > s->sent) {
        W.res.buyers.other_frames++;
        return;
    }
    if (s->sent - k < RING)
        hist_add(&W.res.lat[LAT_ACK], (now - s->sent_at[k % RING]) / 1000);
    if (r->seq > s->last_seq)
        s->last_seq = r->seq;
    s->acked++;
    s->t_wait = now;
    W.res.msgs_acked++;
    if (k == 1) {
        s->m1_acked = 1;
        mark_queued(s);                /* append.lua queued the chat with it */
    }
    if (now > W.res.t_last_ack)
        W.res.t_last_ack = now;
    check_progress(s);
}

static void on_error(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    uint32_t k = wire_msg_number(r->ref);
    char code[40];

    client_error(&W.clients, r, code, sizeof code);
    if (k >= 1 && k <= s->sent) {
        s->refused++;                  /* that message will not be acked */
        W.res.msgs_refused++;
        if (k == 1 && !s->greeted)
            s->greet_failed = 1;
        note(s, "message refused", code);
        if (k == 1 && W.o->await_agent && s->state == S_RUN && !s->m1_acked) {
            fail_and_close(s, FAIL_REFUSED, "first message refused: no agent will come");
            return;
        }
        if (k == 1)
            mark_queued(s);
        check_progress(s);
    } else if (s->state == S_WELCOME || s->state == S_REPLAY) {
        fail_and_close(s, FAIL_REFUSED, code);
    } else {
        note(s, "error", code);
    }
}

/* `agent {name}`: an agent took the chat. */
static void on_agent(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    uint64_t now = now_ns();

    (void)r;
    W.res.agent_frames++;
    if (s->got_agent && s->resuming)
        return;                        /* a resumed chat is told its agent again */
    if (s->got_agent) {
        W.res.agent_frames_again++;    /* no transfers here: the chat went twice */
        note(s, "a second agent frame", NULL);
        return;
    }
    s->got_agent = 1;
    s->t_agent = now;
    if (!s->m1_acked)
        W.res.agent_before_ack++;
    if (s->t_msg1)
        hist_add(&W.res.lat[LAT_ASSIGN], (now - s->t_msg1) / 1000);
    mark_assigned(s);
    check_progress(s);
}

static void on_closed_frame(struct client *c, const struct wire_reply *r)
{
    struct sess *s = (struct sess *)c;
    W.res.closed_frames++;
    if (!wire_is(r->reason, "agent_closed") || s->agent_closed)
        return;
    s->agent_closed = 1;               /* the close 1000 that follows is expected */
    W.res.closed_by_agent++;
    if (s->state == S_RUN)
        done(s);
}

static void on_queue(struct client *c, const struct wire_reply *r)
{
    (void)r;
    W.res.queue++;
    if (((struct sess *)c)->got_agent)
        W.res.queue_after_agent++;
}

static const struct client_frame frames[] = {
    { "welcome", false, on_welcome },
    { "msg", true, on_msg },
    { "ack", false, on_ack },
    { "queue", false, on_queue },
    { "error", false, on_error },
    { "agent", false, on_agent },
    { "closed", false, on_closed_frame },
    { NULL, false, NULL },
};

static void on_message(struct ws_conn *c, const uint8_t *p, size_t n, bool binary)
{
    client_on_message(&W.clients, (struct client *)c, p, n, binary);
}

/* ---- the connection's life ------------------------------------------------ */

static void on_open(struct ws_conn *c)
{
    struct sess *s = (struct sess *)c;
    uint64_t now = now_ns();

    W.clients.connecting--;
    if (s->resuming) {
        s->state = S_REPLAY;
        s->replay_end = -1;
        send_hello(s);
        return;
    }
    hist_add(&W.res.lat[LAT_CONNECT], (now - s->t_start) / 1000);
    W.res.buyers.connected++;
    if (now > W.res.t_last_connect)
        W.res.t_last_connect = now;
    s->state = S_WELCOME;
    send_hello(s);
    if (s->pipelined && W.o->msgs > 0)
        send_next_msg(s);
}

static void on_closed(struct ws_conn *c, enum ws_why why, unsigned code, int err)
{
    struct sess *s = (struct sess *)c;
    char detail[96];
    enum fail failed = client_on_closed(&W.clients, &s->c, why, code, err, detail, sizeof detail);

    if (s->state == S_DROPPING && !W.stopping) {
        s->c.closed_by_us = 0;
        start_session(s);              /* back, with the resume token */
    } else if (s->state == S_DONE && !s->c.closed_by_us) {
        if (!s->agent_closed) {
            W.res.lost_idle++;
            note(s, "closed while idle", detail);
        }
    } else {
        fail(s, failed, detail);
    }
    worker_conn_closed();
}

void worker_conn_closed(void)
{
    if (W.stopping && W.clients.open == 0 && agents_open() == 0) {
        uv_timer_stop(&W.clients.ramp);
        uv_timer_stop(&W.sends);
        uv_timer_stop(&W.sweep);
    }
}

static const struct ws_handler handler = { on_open, on_message, on_closed };

static void start_session(struct sess *s)
{
    const struct load_opts *o = W.o;
    uint64_t now = now_ns();
    int r;

    /* a resume goes to the next url: a buyer may come back on any node */
    const struct ws_target *t =
        &o->targets[(s->c.g + s->resuming + s->resumes_done) % o->ntargets];
    if (!s->resuming) {
        s->t_start = now;
        W.res.buyers.started++;
        if (!W.res.t_first_start || now < W.res.t_first_start)
            W.res.t_first_start = now;
    }
    s->t_wait = now;
    s->state = S_CONNECTING;
    r = client_connect(&W.clients, &s->c, t);
    if (r != 0)
        fail(s, FAIL_LOCAL, uv_err_name(r));
}

static void start_client(struct client *c)
{
    start_session((struct sess *)c);
}

/* ---- timers --------------------------------------------------------------- */

static void stop_run(void)
{
    if (W.stopping && W.stop_at)
        return;
    W.stopping = true;
    W.stop_at = now_ns() + CLOSE_GRACE_NS;
    W.clients.stopping = true;
    uv_timer_stop(&W.clients.ramp);
    uv_timer_stop(&W.sends);
    agents_stop();
    for (uint32_t i = 0; i < W.clients.n; i++) {
        struct sess *s = &W.s[i];
        switch (s->state) {
        case S_NEW:
        case S_FAILED:
        case S_CLOSED:
            break;
        case S_DONE:
            s->state = S_CLOSED;
            client_close(&s->c);
            break;
        case S_DROPPING:               /* the close callback will not reconnect */
            fail(s, FAIL_UNFINISHED, "still resuming at the end");
            break;
        default:
            fail_and_close(s, FAIL_UNFINISHED, "still running at the end");
            break;
        }
    }
    if (W.clients.open == 0 && agents_open() == 0) {
        uv_timer_stop(&W.sweep);
    }
}

static void on_sweep(uv_timer_t *t)
{
    uint64_t now = now_ns(), limit = (uint64_t)(W.o->timeout_s * 1e9);

    (void)t;
    if (W.stopping) {
        if (now >= W.stop_at) {        /* the grace is over: drop the rest */
            client_abort_all(&W.clients);
            agents_abort();
        }
        if (W.clients.open == 0 && agents_open() == 0)
            uv_timer_stop(&W.sweep);
        return;
    }
    if (now >= W.deadline) {
        stop_run();
        return;
    }
    agents_sweep(now);
    for (uint32_t i = 0; i < W.clients.next_start; i++) {
        struct sess *s = &W.s[i];
        bool waiting;

        switch (s->state) {
        case S_CONNECTING:
        case S_WELCOME:
        case S_REPLAY:
            waiting = true;
            break;
        case S_RUN:
            waiting = s->sent > s->acked + s->refused ||
                      (s->sent > 0 && !s->greeted && !s->greet_failed) ||
                      /* all sent and stored: echoes are due */
                      (W.o->await_agent && s->got_agent && s->sent == W.o->msgs &&
                       (W.o->agent_answer ? s->t_unanswered != 0
                                          : s->echoes < s->acked - s->m1_acked));
            break;
        default:
            waiting = false;
        }
        if (waiting && now - s->t_wait > limit) {
            static const char *const what[] = {
                [S_CONNECTING] = "no upgrade", [S_WELCOME] = "no welcome",
                [S_RUN] = "no greeting, ack or echo", [S_REPLAY] = "no resume replay",
            };
            fail_and_close(s, FAIL_TIMEOUT, what[s->state]);
        }
    }
}

/* ---- barriers ------------------------------------------------------------- */

static void start_buyers(uint64_t t0)
{
    if (W.buyers_started || W.stopping)
        return;
    W.buyers_started = true;
    client_ramp_start(&W.clients, t0);
}

static bool barrier_reached(enum barrier b)
{
    switch (b) {
    case BAR_AGENTS_READY: return agents_settled() >= W.na;
    case BAR_QUEUED: return W.b_queued >= W.clients.n;
    case BAR_ASSIGNED: return W.b_assigned >= W.clients.n;
    default: return true;
    }
}

static void check_barrier(void)
{
    if (W.bar >= W.o->nbarriers || W.bar_sent || W.stopping)
        return;
    if (!barrier_reached(W.o->barriers[W.bar]))
        return;
    W.bar_sent = true;
    if (write(W.out_fd, "P", 1) != 1)
        stop_run();                    /* the parent is gone */
}

void worker_progress(void)
{
    check_barrier();
    check_loaded();
}

/* 'G': every worker is past the barrier; start what comes after it. */
static void pass_barrier(void)
{
    uint64_t now = now_ns();
    enum barrier b;

    if (W.bar >= W.o->nbarriers || !W.bar_sent)
        return;
    b = W.o->barriers[W.bar++];
    W.bar_sent = false;
    switch (b) {
    case BAR_AGENTS_READY:
        start_buyers(now);
        break;
    case BAR_QUEUED:
        agents_start(now);
        break;
    case BAR_ASSIGNED:
        W.released = true;
        W.t_release = now;
        for (uint32_t i = 0; i < W.clients.next_start; i++)
            schedule(&W.s[i]);
        heap_arm();
        break;
    default:
        break;
    }
    check_barrier();
}

static void on_ctl(uv_poll_t *p, int status, int events)
{
    char c;
    ssize_t n;

    (void)events;
    n = status < 0 ? 0 : read(W.ctl_fd, &c, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == 1 && c == 'G') {
        pass_barrier();
        return;
    }
    uv_poll_stop(p);                   /* 'X', or EOF: the parent is gone */
    stop_run();
}

/* ---- the worker ----------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;

    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int worker_run(const struct load_opts *o, unsigned index, int ctl_fd, int out_fd)
{
    uint32_t n = o->sessions / o->workers + (index < o->sessions % o->workers);
    uint32_t na = o->agents / o->workers + (index < o->agents % o->workers);
    const uint8_t *ids;
    int rc = 0;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);           /* the parent ends the run on ^C */
    memset(&W, 0, sizeof W);
    W.o = o;
    W.index = index;
    W.ctl_fd = ctl_fd;
    W.out_fd = out_fd;
    W.verbose_left = VERBOSE_MAX;
    W.interval_ns = o->msg_rate > 0 ? (uint64_t)(1e9 / o->msg_rate) : 0;
    W.deadline = o->t0_ns + (uint64_t)(o->duration_s * 1e9);
    result_init(&W.res);
    W.res.rss_start_kib = load_rss_kib(getpid());
    W.s = calloc(n ? n : 1, sizeof *W.s);
    W.heap = calloc(n ? n : 1, sizeof *W.heap);
    W.na = na;
    if (!W.s || !W.heap || uv_loop_init(&W.loop) != 0 ||
        agents_init(&(struct worker_env){ o, index, &W.loop, &W.res }, na) != 0) {
        fprintf(stderr, "chatgw-load: worker %u: out of memory\n", index);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct sess *s = &W.s[i];
        s->c.g = index + i * o->workers;
        s->heap_at = NO_HEAP;
        s->pipelined = picked(s->c.g, o->pipeline_frac);
        s->resumer = picked(s->c.g, o->resume_frac);
    }
    W.clients = (struct client_set){
        .role = "session", .o = o, .loop = &W.loop, .clients = W.s, .size = sizeof *W.s,
        .n = n, .frames = frames, .handler = &handler, .res = &W.res.buyers,
        .rate = o->rate, .start = start_client,
    };
    client_set_init(&W.clients);
    uv_timer_init(&W.loop, &W.sends);
    uv_timer_init(&W.loop, &W.sweep);
    uv_poll_init(&W.loop, &W.ctl, ctl_fd);
    uv_poll_start(&W.ctl, UV_READABLE, on_ctl);
    uv_timer_start(&W.sweep, on_sweep, 100, 100);
    if (o->agent_start != AGENTS_FIRST)
        start_buyers(o->t0_ns);        /* else once every agent is ready */
    if (o->agent_start != AGENTS_AFTER)
        agents_start(o->t0_ns);        /* else once every buyer is queued */
    check_barrier();                   /* a worker with no sessions is there at once */
    check_loaded();

    /* runs until every session is closed after stop_run stopped the timers;
     * the ctl poll stays active meanwhile, so it is stopped here */
    while (uv_run(&W.loop, UV_RUN_ONCE)) {
        if (W.stopping && W.clients.open == 0 && agents_open() == 0 &&
            !uv_is_active((uv_handle_t *)&W.sweep))
            break;
    }
    uv_walk(&W.loop, close_walk, NULL);
    uv_run(&W.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&W.loop) != 0)
        rc = 1;
    W.res.pings = ws_pings_answered();
    ids = agents_assigned(&W.res.assigned_ids);
    if (write_all(out_fd, "R", 1) != 0 || write_all(out_fd, &W.res, sizeof W.res) != 0 ||
        (W.res.assigned_ids && write_all(out_fd, ids, (size_t)W.res.assigned_ids * 16) != 0))
        rc = 1;
    agents_free();
    for (uint32_t i = 0; i < n; i++)
        free(W.s[i].token);
    free(W.s);
    free(W.heap);
    return rc;
}
