/*
 * load_report.c - chatgw-load's results: adding up the workers' counts
 * and printing them, as a compact table for people or as one JSON object
 * for scripts (bench/run).
 *
 * The JSON keeps every latency figure in its own flat object of
 * microseconds ("msg1_greeting":{"count":..,"p50":..,"p99":..}), so a
 * shell script can pick one out without a JSON parser.
 *
 * API: result_init, result_merge, result_count_close, result_error_index,
 *      barrier_name, report_text, report_json.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "load.h"

static const char *const lat_key[] = {
#define LAT_KEY(name, key, label) key,
    LAT_MAP(LAT_KEY)
#undef LAT_KEY
};

static const char *const lat_label[] = {
#define LAT_LABEL(name, key, label) label,
    LAT_MAP(LAT_LABEL)
#undef LAT_LABEL
};

static const char *const fail_name[] = {
#define FAIL_STR(name, str) str,
    FAIL_MAP(FAIL_STR)
#undef FAIL_STR
};

static const char *const err_name[] = {
#define ERR_STR(s) s,
    ERR_CODES(ERR_STR)
#undef ERR_STR
};

static const char *const barrier_names[] = {
#define BAR_STR(name, str) str,
    BARRIER_MAP(BAR_STR)
#undef BAR_STR
};

static const struct { double q; const char *key; } quantiles[] = {
    { 0.50, "p50" }, { 0.90, "p90" }, { 0.99, "p99" }, { 0.999, "p999" },
};

/* ---- results -------------------------------------------------------------- */

void result_init(struct load_result *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < LAT__COUNT; i++)
        hist_init(&r->lat[i]);
    r->rss_start_kib = r->rss_loaded_kib = -1;
}

unsigned result_error_index(struct wire_str code)
{
    for (unsigned i = 0; i + 1 < ERR__COUNT; i++)
        if (wire_is(code, err_name[i]))
            return i;
    return ERR__COUNT - 1;              /* "other" */
}

const char *barrier_name(enum barrier b)
{
    return b < BAR__COUNT ? barrier_names[b] : "?";
}

void result_count_close(struct role_result *r, uint32_t code, uint64_t n)
{
    for (int i = 0; i < LOAD_CLOSE_SLOTS; i++) {
        if (r->closes[i].code == code || r->closes[i].code == 0) {
            r->closes[i].code = code;
            r->closes[i].n += (uint32_t)n;
            return;
        }
    }
    r->closes_other += n;
}

static void min_stamp(uint64_t *into, uint64_t v)
{
    if (v && (!*into || v < *into))
        *into = v;
}

static void max_stamp(uint64_t *into, uint64_t v)
{
    if (v > *into)
        *into = v;
}

static void add_rss(int64_t *into, int64_t v)
{
    if (v >= 0)
        *into = *into < 0 ? v : *into + v;
}

static void role_merge(struct role_result *into, const struct role_result *f)
{
    into->started += f->started;
    into->connected += f->connected;
    for (int i = 0; i < FAIL__COUNT; i++)
        into->failed[i] += f->failed[i];
    for (int i = 0; i < ERR__COUNT; i++)
        into->errors[i] += f->errors[i];
    for (int i = 0; i < LOAD_CLOSE_SLOTS && f->closes[i].code; i++)
        result_count_close(into, f->closes[i].code, f->closes[i].n);
    into->closes_other += f->closes_other;
    into->other_frames += f->other_frames;
    into->bad_frames += f->bad_frames;
}

void result_merge(struct load_result *into, const struct load_result *f)
{
    for (int i = 0; i < LAT__COUNT; i++)
        hist_merge(&into->lat[i], &f->lat[i]);
    role_merge(&into->buyers, &f->buyers);
    role_merge(&into->agents, &f->agents);
#define ADD(field) into->field += f->field
    ADD(completed); ADD(lost_idle);
    ADD(msgs_sent); ADD(msgs_acked); ADD(msgs_refused);
    ADD(greetings); ADD(holds); ADD(queue); ADD(closed_frames);
    ADD(pings); ADD(dropped); ADD(resumed); ADD(replayed); ADD(resume_gaps);
    ADD(resume_dups); ADD(resume_lost);
    ADD(agent_frames); ADD(agent_frames_again); ADD(agent_msgs_in); ADD(echoes);
    ADD(system_msgs); ADD(closed_by_agent); ADD(queue_after_agent); ADD(agent_before_ack);
    ADD(agents_ready); ADD(agents_lost);
    ADD(agents_over_capacity); ADD(over_capacity_events);
    ADD(assigns); ADD(unassigns); ADD(double_local); ADD(buyer_msgs_in); ADD(other_msgs_in);
    ADD(unknown_chat_msgs); ADD(agent_sent); ADD(agent_acked); ADD(agent_refused);
    ADD(replies); ADD(chat_closes); ADD(answers); ADD(breach_frames);
    ADD(assigned_ids);
#undef ADD
    if (f->max_load > into->max_load)
        into->max_load = f->max_load;
    for (int i = 0; i < LOAD_TIMELINE; i++) {
        into->timeline[i].n += f->timeline[i].n;
        into->timeline[i].slow += f->timeline[i].slow;
        if (f->timeline[i].max_us > into->timeline[i].max_us)
            into->timeline[i].max_us = f->timeline[i].max_us;
    }
    min_stamp(&into->t_first_ready, f->t_first_ready);
    min_stamp(&into->t_first_assign, f->t_first_assign);
    max_stamp(&into->t_last_assign, f->t_last_assign);
    min_stamp(&into->t_first_start, f->t_first_start);
    min_stamp(&into->t_first_msg, f->t_first_msg);
    max_stamp(&into->t_last_connect, f->t_last_connect);
    max_stamp(&into->t_last_ack, f->t_last_ack);
    add_rss(&into->rss_start_kib, f->rss_start_kib);
    add_rss(&into->rss_loaded_kib, f->rss_loaded_kib);
}

/* ---- derived figures ------------------------------------------------------ */

static uint64_t failed_total(const struct role_result *r)
{
    uint64_t n = 0;

    for (int i = 0; i < FAIL__COUNT; i++)
        n += r->failed[i];
    return n;
}

static double per_s(uint64_t n, uint64_t from, uint64_t to)
{
    return to > from && n > 1 ? (double)n / ((double)(to - from) / 1e9) : 0.0;
}

static double sessions_per_s(const struct load_result *r)
{
    return per_s(r->buyers.connected, r->t_first_start, r->t_last_connect);
}

static double msgs_per_s(const struct load_result *r)
{
    return per_s(r->msgs_acked, r->t_first_msg, r->t_last_ack);
}

/* Assignments per second, from the first agent ready to the last assign. */
static double assigns_per_s(const struct load_result *r)
{
    uint64_t from = r->t_first_ready;

    if (r->t_first_assign && (!from || r->t_first_assign < from))
        from = r->t_first_assign;
    return per_s(r->assigns, from, r->t_last_assign);
}

static double assign_span_s(const struct load_result *r)
{
    uint64_t from = r->t_first_ready;

    if (r->t_first_assign && (!from || r->t_first_assign < from))
        from = r->t_first_assign;
    return r->t_last_assign > from && from ? (double)(r->t_last_assign - from) / 1e9 : 0.0;
}

static const char *const agent_start_names[] = { "with", "first", "after" };

/*
 * The gateway's RSS growth per session: from start to held (or loaded);
 * NAN when not measured. Sessions go round-robin over the URLs, so the
 * watched gateway is taken to hold 1/K of them with K URLs.
 */
static double gw_kib_per_session(const struct load_opts *o, const struct load_run *run)
{
    int64_t start = run->gw_rss_kib[RSS_START];
    int64_t at = run->gw_rss_kib[RSS_HELD] >= 0 ? run->gw_rss_kib[RSS_HELD]
                                                : run->gw_rss_kib[RSS_LOADED];

    if (start < 0 || at < 0 || run->r.buyers.connected == 0)
        return NAN;
    return (double)(at - start) * o->ntargets / (double)run->r.buyers.connected;
}

static double gen_kib_per_session(const struct load_result *r)
{
    if (r->rss_start_kib < 0 || r->rss_loaded_kib < 0 || r->buyers.connected == 0)
        return NAN;
    return (double)(r->rss_loaded_kib - r->rss_start_kib) / (double)r->buyers.connected;
}

/* ---- text ----------------------------------------------------------------- */

static void text_counts(FILE *out, const char *title, const char *const *names,
                        const uint64_t *counts, int n)
{
    bool any = false;

    fprintf(out, "%-11s", title);
    for (int i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        fprintf(out, " %s %" PRIu64, names[i], counts[i]);
        any = true;
    }
    fprintf(out, "%s\n", any ? "" : " none");
}

/* The close codes the gateway sent one role, and how often. */
static void text_closes(FILE *out, const char *title, const struct role_result *r)
{
    fprintf(out, "%-11s", title);
    for (int i = 0; i < LOAD_CLOSE_SLOTS && r->closes[i].code; i++)
        fprintf(out, " %" PRIu32 " x%" PRIu32, r->closes[i].code, r->closes[i].n);
    if (r->closes_other)
        fprintf(out, " other x%" PRIu64, r->closes_other);
    fprintf(out, "%s\n", r->closes[0].code || r->closes_other ? "" : " none (by the gateway)");
}

static void text_rss(FILE *out, const char *name, int64_t kib)
{
    if (kib >= 0)
        fprintf(out, " %s %.1f MiB", name, (double)kib / 1024.0);
}

void report_text(FILE *out, const struct load_opts *o, const struct load_run *run)
{
    const struct load_result *r = &run->r;
    const struct role_result *b = &r->buyers, *ag = &r->agents;
    uint64_t failed = failed_total(b);
    double gw = gw_kib_per_session(o, run), gen = gen_kib_per_session(r);

    fprintf(out, "chatgw-load: %" PRIu32 " sessions on %u url%s (%s), ", o->sessions,
            o->ntargets, o->ntargets == 1 ? "" : "s", o->enc == WIRE_MSGPACK ? "msgpack" : "json");
    if (o->rate > 0)
        fprintf(out, "%g new/s", o->rate);
    else
        fprintf(out, "all at once");
    fprintf(out, ", %" PRIu32 " msg%s each", o->msgs, o->msgs == 1 ? "" : "s");
    if (o->msgs > 1)
        fprintf(out, " at %g/s", o->msg_rate);
    fprintf(out, ", %" PRIu32 " worker%s\n", o->workers, o->workers == 1 ? "" : "s");
    if (o->agents) {
        fprintf(out, "             %" PRIu32 " agents on %u url%s, start %s", o->agents,
                o->nagent_targets, o->nagent_targets == 1 ? "" : "s",
                agent_start_names[o->agent_start]);
        if (o->agent_greet)
            fprintf(out, ", reply to assign after %g ms", o->agent_delay_ms);
        if (o->agent_answer)
            fprintf(out, ", answer after %g-%g ms (seed %" PRIu64 ")", o->answer_min_ms,
                    o->answer_max_ms, o->seed);
        if (o->agent_close_after)
            fprintf(out, ", close after %" PRIu32 " msgs", o->agent_close_after);
        fprintf(out, "%s\n", o->sync_assigned ? ", buyers in step" : "");
    }

    fprintf(out, "%-20s %8s %9s %9s %9s %9s %9s\n", "latency (ms)", "count", "p50", "p90",
            "p99", "p99.9", "max");
    for (int i = 0; i < LAT__COUNT; i++) {
        const struct hist *h = &r->lat[i];
        if (h->count == 0 && i != LAT_CONNECT && i != LAT_WELCOME && i != LAT_GREET &&
            i != LAT_ACK)
            continue;                  /* only shown when that mode ran */
        fprintf(out, "  %-18s %8" PRIu64, lat_label[i], h->count);
        for (size_t q = 0; q < sizeof quantiles / sizeof quantiles[0]; q++)
            fprintf(out, " %9.3f", (double)hist_quantile(h, quantiles[q].q) / 1000.0);
        fprintf(out, " %9.3f\n", (double)h->max_us / 1000.0);
    }
    fprintf(out, "sessions    started %" PRIu64 "  connected %" PRIu64 "  completed %" PRIu64
            "  failed %" PRIu64 "  closed while idle %" PRIu64 "  not started %" PRIu64 "\n",
            b->started, b->connected, r->completed, failed, r->lost_idle,
            (uint64_t)o->sessions - b->started);
    if (failed)
        text_counts(out, "failures", fail_name, b->failed, FAIL__COUNT);
    fprintf(out, "messages    sent %" PRIu64 "  acked %" PRIu64 "  refused %" PRIu64
            "  greetings %" PRIu64 "  holds %" PRIu64 "  queue %" PRIu64 "  pings %" PRIu64 "\n",
            r->msgs_sent, r->msgs_acked, r->msgs_refused, r->greetings, r->holds, r->queue,
            r->pings);
    if (r->dropped)
        fprintf(out, "resume      dropped %" PRIu64 "  resumed %" PRIu64 "  replayed %" PRIu64
                "  gaps %" PRIu64 "  dups %" PRIu64 "  lost %" PRIu64 "\n",
                r->dropped, r->resumed, r->replayed, r->resume_gaps, r->resume_dups,
                r->resume_lost);
    text_counts(out, "errors", err_name, b->errors, ERR__COUNT);
    text_closes(out, "closes", b);
    if (b->bad_frames || b->other_frames || r->closed_frames)
        fprintf(out, "frames      unreadable %" PRIu64 "  unexpected %" PRIu64
                "  closed %" PRIu64 "\n", b->bad_frames, b->other_frames, r->closed_frames);
    if (o->agents || o->await_agent)
        fprintf(out, "with agents agent frames %" PRIu64 " (again %" PRIu64 ", before the ack %"
                PRIu64 ", then a queue %" PRIu64 ")  agent msgs %" PRIu64 "  echoes %" PRIu64
                "  system %" PRIu64 "  closed by agent %" PRIu64 "\n",
                r->agent_frames, r->agent_frames_again, r->agent_before_ack, r->queue_after_agent,
                r->agent_msgs_in, r->echoes, r->system_msgs, r->closed_by_agent);
    if (o->agents) {
        uint64_t af = failed_total(ag);
        fprintf(out, "agents      started %" PRIu64 "  connected %" PRIu64 "  ready %" PRIu64
                "  failed %" PRIu64 "  lost %" PRIu64 "  not started %" PRIu64 "\n",
                ag->started, ag->connected, r->agents_ready, af, r->agents_lost,
                (uint64_t)o->agents - ag->started);
        if (af)
            text_counts(out, "  failures", fail_name, ag->failed, FAIL__COUNT);
        fprintf(out, "assignment  assigns %" PRIu64 " (%" PRIu64 " chats)  %.1f/s over %.3f s"
                "  DOUBLE %" PRIu64 "  OVER CAPACITY %" PRIu64 " agents (%" PRIu64
                " times, max load %" PRIu64 ")  unassigns %" PRIu64 "\n",
                r->assigns, run->chats_assigned, assigns_per_s(r), assign_span_s(r),
                run->double_assignments, r->agents_over_capacity, r->over_capacity_events,
                r->max_load, r->unassigns);
        fprintf(out, "agent msgs  from buyers %" PRIu64 "  other %" PRIu64 "  unknown chat %"
                PRIu64 "  sent %" PRIu64 "  acked %" PRIu64 "  refused %" PRIu64 "  replies %"
                PRIu64 "  closes %" PRIu64 "\n",
                r->buyer_msgs_in, r->other_msgs_in, r->unknown_chat_msgs, r->agent_sent,
                r->agent_acked, r->agent_refused, r->replies, r->chat_closes);
        if (o->agent_answer || r->breach_frames)
            fprintf(out, "  answers   %" PRIu64 "  breach frames %" PRIu64 "\n", r->answers,
                    r->breach_frames);
        text_counts(out, "  errors", err_name, ag->errors, ERR__COUNT);
        text_closes(out, "  closes", ag);
        if (ag->bad_frames || ag->other_frames)
            fprintf(out, "  frames    unreadable %" PRIu64 "  unexpected %" PRIu64 "\n",
                    ag->bad_frames, ag->other_frames);
    }
    {
        /* the relay second by second: how many seconds had slow messages */
        uint32_t secs = 0, slow_secs = 0, worst = 0;
        for (int i = 0; i < LOAD_TIMELINE; i++) {
            if (!r->timeline[i].n)
                continue;
            secs++;
            slow_secs += r->timeline[i].slow > 0;
            if (r->timeline[i].max_us > r->timeline[worst].max_us)
                worst = (uint32_t)i;
        }
        if (secs)
            fprintf(out, "relay       %" PRIu32 " of %" PRIu32 " seconds had a buyer->agent over "
                    "%d ms; worst at %" PRIu32 " s: max %.3f ms, %" PRIu32 " of %" PRIu32
                    " slow\n", slow_secs, secs, LOAD_SLOW_US / 1000, worst,
                    r->timeline[worst].max_us / 1000.0, r->timeline[worst].slow,
                    r->timeline[worst].n);
    }
    fprintf(out, "throughput  %.1f sessions/s connected, %.1f msgs/s acked\n",
            sessions_per_s(r), msgs_per_s(r));
    if (o->gw_pid) {
        fprintf(out, "gateway     rss");
        text_rss(out, "start", run->gw_rss_kib[RSS_START]);
        text_rss(out, "loaded", run->gw_rss_kib[RSS_LOADED]);
        text_rss(out, "held", run->gw_rss_kib[RSS_HELD]);
        text_rss(out, "end", run->gw_rss_kib[RSS_END]);
        if (!isnan(gw))
            fprintf(out, ": %+.2f KiB/session", gw);
        fprintf(out, "\n");
    }
    fprintf(out, "generator   ");
    if (!isnan(gen))
        fprintf(out, "rss %+.2f KiB/session, ", gen);
    fprintf(out, "cpu %.2f s, elapsed %.2f s", run->cpu_s, run->elapsed_s);
    if (run->interrupted)
        fprintf(out, " (interrupted)");
    else if (!run->loaded)
        fprintf(out, " (deadline hit before every session finished)");
    else if (!run->held && o->hold_s > 0)
        fprintf(out, " (hold cut short by --duration)");
    fprintf(out, "\n");
    if (run->workers_lost)
        fprintf(out, "WARNING: %u worker%s died; their sessions are missing\n",
                run->workers_lost, run->workers_lost == 1 ? "" : "s");
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void json_counts(FILE *out, const char *key, const char *const *names,
                        const uint64_t *counts, int n, bool all)
{
    bool first = true;

    fprintf(out, ",\"%s\":{", key);
    for (int i = 0; i < n; i++) {
        if (!counts[i] && !all)
            continue;
        fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", names[i], counts[i]);
        first = false;
    }
    fprintf(out, "}");
}

static void json_closes(FILE *out, const char *key, const struct role_result *r)
{
    fprintf(out, ",\"%s\":{", key);
    for (int i = 0; i < LOAD_CLOSE_SLOTS && r->closes[i].code; i++)
        fprintf(out, "%s\"%" PRIu32 "\":%" PRIu32, i ? "," : "", r->closes[i].code,
                r->closes[i].n);
    if (r->closes_other)
        fprintf(out, "%s\"other\":%" PRIu64, r->closes[0].code ? "," : "", r->closes_other);
    fprintf(out, "}");
}

static void json_num_or_null(FILE *out, const char *key, double v, bool ok, bool comma)
{
    fprintf(out, "%s\"%s\":", comma ? "," : "", key);
    if (ok)
        fprintf(out, "%.3f", v);
    else
        fprintf(out, "null");
}

void report_json(FILE *out, const struct load_opts *o, const struct load_run *run)
{
    const struct load_result *r = &run->r;
    const struct role_result *b = &r->buyers, *ag = &r->agents;
    double gw = gw_kib_per_session(o, run), gen = gen_kib_per_session(r);
    static const char *const rss_names[] = { "start", "loaded", "held", "end" };

    fprintf(out, "{\"config\":{\"urls\":[");
    for (unsigned i = 0; i < o->ntargets; i++) {
        fprintf(out, "%s", i ? "," : "");
        json_str(out, o->urls[i]);
    }
    fprintf(out, "],\"agent_urls\":[");
    for (unsigned i = 0; i < o->nagent_targets && o->agents; i++) {
        fprintf(out, "%s", i ? "," : "");
        json_str(out, o->agent_urls[i]);
    }
    fprintf(out, "],\"agents\":%" PRIu32 ",\"agent_start\":\"%s\",\"agent_rate\":%g,"
            "\"agent_delay_ms\":%g,\"agent_greet\":%s,\"agent_close_after\":%" PRIu32
            ",\"await_agent\":%s,\"sync_assigned\":%s",
            o->agents, agent_start_names[o->agent_start], o->agent_rate, o->agent_delay_ms,
            o->agent_greet ? "true" : "false", o->agent_close_after,
            o->await_agent ? "true" : "false", o->sync_assigned ? "true" : "false");
    if (o->agent_answer)
        fprintf(out, ",\"agent_answer_ms\":[%g,%g],\"seed\":%" PRIu64, o->answer_min_ms,
                o->answer_max_ms, o->seed);
    fprintf(out, ",\"sessions\":%" PRIu32 ",\"rate\":%g,\"msgs\":%" PRIu32 ",\"msg_rate\":%g,"
            "\"hold_s\":%g,\"duration_s\":%g,\"timeout_s\":%g,\"resume_frac\":%g,"
            "\"pipeline_frac\":%g,\"workers\":%" PRIu32 ",\"src_ips\":%" PRIu32
            ",\"encoding\":\"%s\"}",
            o->sessions, o->rate, o->msgs, o->msg_rate, o->hold_s, o->duration_s,
            o->timeout_s, o->resume_frac, o->pipeline_frac, o->workers, o->src_ips,
            o->enc == WIRE_MSGPACK ? "msgpack" : "json");
    fprintf(out, ",\"elapsed_s\":%.3f,\"loaded\":%s,\"held\":%s,\"interrupted\":%s,"
            "\"workers_lost\":%u", run->elapsed_s, run->loaded ? "true" : "false",
            run->held ? "true" : "false", run->interrupted ? "true" : "false", run->workers_lost);

    fprintf(out, ",\"latency_us\":{");
    for (int i = 0; i < LAT__COUNT; i++) {
        const struct hist *h = &r->lat[i];
        fprintf(out, "%s\"%s\":{\"count\":%" PRIu64, i ? "," : "", lat_key[i], h->count);
        for (size_t q = 0; q < sizeof quantiles / sizeof quantiles[0]; q++)
            fprintf(out, ",\"%s\":%" PRIu64, quantiles[q].key, hist_quantile(h, quantiles[q].q));
        fprintf(out, ",\"max\":%" PRIu64 ",\"mean\":%.1f}", h->max_us, hist_mean(h));
    }
    fprintf(out, "}");

    fprintf(out, ",\"sessions\":{\"started\":%" PRIu64 ",\"connected\":%" PRIu64
            ",\"completed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"closed_while_idle\":%" PRIu64
            ",\"not_started\":%" PRIu64 "}",
            b->started, b->connected, r->completed, failed_total(b), r->lost_idle,
            (uint64_t)o->sessions - b->started);
    json_counts(out, "failures", fail_name, b->failed, FAIL__COUNT, true);
    fprintf(out, ",\"messages\":{\"sent\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"refused\":%" PRIu64
            ",\"greetings\":%" PRIu64 ",\"holds\":%" PRIu64 ",\"queue\":%" PRIu64
            ",\"pings_answered\":%" PRIu64 ",\"closed_frames\":%" PRIu64 ",\"unexpected_frames\":%" PRIu64
            ",\"unreadable_frames\":%" PRIu64 "}",
            r->msgs_sent, r->msgs_acked, r->msgs_refused, r->greetings, r->holds, r->queue,
            r->pings, r->closed_frames, b->other_frames, b->bad_frames);
    fprintf(out, ",\"resume\":{\"dropped\":%" PRIu64 ",\"resumed\":%" PRIu64
            ",\"replayed\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"dups\":%" PRIu64
            ",\"lost\":%" PRIu64 "}",
            r->dropped, r->resumed, r->replayed, r->resume_gaps, r->resume_dups, r->resume_lost);
    json_counts(out, "errors", err_name, b->errors, ERR__COUNT, false);
    json_closes(out, "closes", b);
    fprintf(out, ",\"throughput\":{\"sessions_per_s\":%.1f,\"msgs_per_s\":%.1f"
            ",\"assigns_per_s\":%.1f}",
            sessions_per_s(r), msgs_per_s(r), assigns_per_s(r));
    fprintf(out, ",\"with_agents\":{\"agent_frames\":%" PRIu64 ",\"agent_frames_again\":%" PRIu64
            ",\"agent_msgs\":%" PRIu64 ",\"echoes\":%" PRIu64 ",\"system_msgs\":%" PRIu64
            ",\"closed_by_agent\":%" PRIu64 ",\"queue_after_agent\":%" PRIu64
            ",\"agent_before_ack\":%" PRIu64 "}",
            r->agent_frames, r->agent_frames_again, r->agent_msgs_in, r->echoes, r->system_msgs,
            r->closed_by_agent, r->queue_after_agent, r->agent_before_ack);
    fprintf(out, ",\"agents\":{\"started\":%" PRIu64 ",\"connected\":%" PRIu64
            ",\"ready\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"lost\":%" PRIu64
            ",\"not_started\":%" PRIu64 ",\"over_capacity\":%" PRIu64
            ",\"over_capacity_events\":%" PRIu64 ",\"max_load\":%" PRIu64 "}",
            ag->started, ag->connected, r->agents_ready, failed_total(ag),
            r->agents_lost, (uint64_t)o->agents - ag->started, r->agents_over_capacity,
            r->over_capacity_events, r->max_load);
    json_counts(out, "agent_failures", fail_name, ag->failed, FAIL__COUNT, true);
    fprintf(out, ",\"assignment\":{\"assigns\":%" PRIu64 ",\"chats\":%" PRIu64
            ",\"double\":%" PRIu64 ",\"double_in_worker\":%" PRIu64 ",\"unassigns\":%" PRIu64
            ",\"per_s\":%.1f,\"span_s\":%.3f}",
            r->assigns, run->chats_assigned, run->double_assignments, r->double_local,
            r->unassigns, assigns_per_s(r), assign_span_s(r));
    fprintf(out, ",\"agent_msgs\":{\"from_buyers\":%" PRIu64 ",\"other\":%" PRIu64
            ",\"unknown_chat\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"acked\":%" PRIu64
            ",\"refused\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"closes\":%" PRIu64
            ",\"unexpected_frames\":%" PRIu64 ",\"unreadable_frames\":%" PRIu64
            ",\"answers\":%" PRIu64 ",\"breach_frames\":%" PRIu64 "}",
            r->buyer_msgs_in, r->other_msgs_in, r->unknown_chat_msgs, r->agent_sent,
            r->agent_acked, r->agent_refused, r->replies, r->chat_closes, ag->other_frames,
            ag->bad_frames, r->answers, r->breach_frames);
    json_counts(out, "agent_errors", err_name, ag->errors, ERR__COUNT, false);
    json_closes(out, "agent_closes", ag);
    /* buyer->agent second by second (of the send, from the start of the
     * ramp): [second, messages, over LOAD_SLOW_US, max us] */
    fprintf(out, ",\"timeline_buyer_agent\":{\"slow_us\":%d,\"s\":[", LOAD_SLOW_US);
    {
        bool first = true;
        for (int i = 0; i < LOAD_TIMELINE; i++) {
            const struct tl_sec *t = &r->timeline[i];
            if (!t->n)
                continue;
            fprintf(out, "%s[%d,%" PRIu32 ",%" PRIu32 ",%" PRIu32 "]", first ? "" : ",", i, t->n,
                    t->slow, t->max_us);
            first = false;
        }
    }
    fprintf(out, "]}");
    /* when each barrier was passed and when every session finished, in
     * seconds from the start of the ramp */
    fprintf(out, ",\"phases_s\":{");
    {
        bool first = true;
        for (unsigned i = 0; i < o->nbarriers; i++) {
            uint64_t t = run->t_barrier[o->barriers[i]];
            fprintf(out, "%s\"%s\":", first ? "" : ",", barrier_names[o->barriers[i]]);
            if (t)
                fprintf(out, "%.3f", (double)(t - o->t0_ns) / 1e9);
            else
                fprintf(out, "null");
            first = false;
        }
        fprintf(out, "%s\"loaded\":", first ? "" : ",");
        if (run->t_loaded)
            fprintf(out, "%.3f", (double)(run->t_loaded - o->t0_ns) / 1e9);
        else
            fprintf(out, "null");
    }
    fprintf(out, "}");

    fprintf(out, ",\"gateway_rss_kib\":{");
    if (o->gw_pid) {
        fprintf(out, "\"pid\":%d", o->gw_pid);
        for (int i = 0; i < 4; i++)
            json_num_or_null(out, rss_names[i], (double)run->gw_rss_kib[i],
                             run->gw_rss_kib[i] >= 0, true);
        json_num_or_null(out, "per_session", gw, !isnan(gw), true);
    }
    fprintf(out, "}");
    fprintf(out, ",\"generator\":{");
    json_num_or_null(out, "rss_per_session_kib", gen, !isnan(gen), false);
    fprintf(out, ",\"cpu_s\":%.2f}}\n", run->cpu_s);
}
