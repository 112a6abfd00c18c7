/*
 * escalate.c - the escalation plugin: what a supervisor must hear of, and
 * what the gateway does about it at once.
 *
 * Options (in its `plugin` block; `rules` may repeat, files add up):
 *   rules FILE          the rules of the stores this instance serves (a
 *                       plugin line in a store block: that store; a global
 *                       one: every store without rules of its own)
 *   rules.STORE FILE    a global instance's rules for one store
 *   window DURATION     a rule fires at most once per chat within it (30m)
 *   offer_limit YUAN    `offer` rules without limit=: the largest refund or
 *                       discount an agent may offer alone (15: the
 *                       handbooks let agents give 5-15 yuan of freight)
 *   hold_text TEXT      the holding text for a buyer who writes Chinese
 *   hold_text.en TEXT   ... and for one who does not
 *   chats_max N         chats followed at once on this node (20000)
 *
 * Rules file (UTF-8; plugins/README.md has it in full), one rule a line,
 * fields "quoted" when they hold blanks:
 *   KIND     NAME        WHAT                     ACTION...
 *   words    complaint   "投诉|complain"          flag priority=vip hold
 *   bargain  bargaining  "便宜|优惠|cheaper"      count=3 flag
 *   offer    big_offer   "退你|退您|refund"       limit=15 flag
 *   wait     long_wait   90s                      flag priority=paid
 * words: a buyer message holds one of the words (| between them; Latin
 * letters in any case, the rest byte for byte). bargain: the count-th
 * buyer message of the chat that holds one (3). offer: an agent message
 * holds one and an amount of money above the limit (see offer_amount).
 * wait: a buyer message has had no agent message after it for DURATION
 * (`breach`: when the chat's breach event comes, after the store's
 * breach_after). Actions: flag (to supervisors, with the message as the
 * excerpt), priority=ordered|paid|vip (raised to at least that), group=NAME
 * (to the head of that group's queue), hold (the buyer gets the holding
 * text, as `auto`). They run in that order: flag, priority, hold, group.
 *
 * State: what each chat has done (rules fired and when, bargaining
 * messages, the oldest unanswered buyer message) is kept here, on the node
 * whose hook saw it (the buyer's for words, bargain and wait; the agent's
 * for offer), and forgotten when the chat closes or has been quiet for the
 * window. A buyer who comes back on another node starts over there.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chatgw_plugin.h"
#include "common/rules_file.h"

#define RULES_MAX 64
#define WORDS_MAX 64
#define WORD_MAX 64
#define TEXT_MAX 16384
#define HOLD_MAX 1024
#define BUCKETS 4096
#define CHECKS_MAX 64                  /* wait rules' read_last in flight */
#define WAIT_READ 20                   /* messages read back to see an answer */
#define OFFER_GAP 12                   /* bytes between an offer word and its amount */
#define MARK_GAP 6                     /* bytes between a marked amount and the word after it */

enum kind { K_WORDS, K_BARGAIN, K_OFFER, K_WAIT };
static const char *const kind_names[] = { "words", "bargain", "offer", "wait" };

struct rule {
    char name[65];
    enum kind kind;
    char *words[WORDS_MAX];            /* lower-cased ASCII */
    int nwords;
    int count;                         /* bargain */
    double limit;                      /* offer; < 0: the offer_limit option */
    uint64_t after_ms;                 /* wait; 0: on breach */
    bool flag, hold;
    int priority;                      /* CHATGW_PRIO_*, or -1 */
    char group[65];
};

struct ruleset {                       /* one store's (rules_file.h) */
    struct rule r[RULES_MAX];
    int n;
    uint64_t longest_wait_ms, shortest_wait_ms;
};

struct chat_rule {
    uint64_t fired_ms;                 /* monotonic; 0 = never */
    uint32_t count;                    /* bargain: messages seen */
};

struct chat {
    char id[33];
    const struct ruleset *set;
    uint64_t seen_ms;                  /* monotonic: last heard of */
    int64_t wait_seq;                  /* the oldest unanswered buyer message, 0 none */
    uint64_t wait_since_ms;            /* monotonic, when it came */
    bool checking;                     /* a read_last in flight */
    bool closed;                       /* closed while checking: drop it after */
    struct chat *next;                 /* its bucket */
    struct chat *wprev, *wnext;        /* the waiting list (oldest wait first), while wait_seq */
    struct chat_rule rule[];           /* one per rule of set */
};

struct check {                         /* a wait rule's read_last */
    struct esc *e;
    char chat[33];
    bool busy;
};

enum { ACT_FLAG, ACT_PRIORITY, ACT_HOLD, ACT_GROUP, NACTS };
struct act {                           /* an action's callback data */
    struct esc *e;
    const char *name;
};

struct esc {
    const struct chatgw_host *h;
    chatgw_plugin *self;
    struct rules_sets sets;
    uint64_t window_ms;
    double offer_limit;
    char hold_zh[HOLD_MAX], hold_en[HOLD_MAX];
    size_t chats_max, nchats;
    struct chat *bucket[BUCKETS];
    struct chat *waiting, *waiting_tail;
    uint64_t shortest_wait_ms;         /* of every set's wait rules */
    struct check checks[CHECKS_MAX];
    struct act acts[NACTS];
    unsigned ticks;
    char lower[TEXT_MAX];
};

int chatgw_plugin_version(int count, const int *supported)
{
    for (int i = 0; i < count; i++)
        if (supported[i] == 1)
            return 1;
    return -1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- text ---- */

static void lower_copy(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
}

/* True when s holds a Chinese character (U+4000..U+9FFF: lead bytes E4-E9). */
static bool has_cjk(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0xE4 && *p <= 0xE9)
            return true;
    return false;
}

/* The first of r's words in lower, or NULL; *len its length. */
static const char *find_word(const struct rule *r, const char *lower, size_t *len)
{
    const char *best = NULL;

    for (int i = 0; i < r->nwords; i++) {
        const char *p = strstr(lower, r->words[i]);
        if (p && (!best || p < best)) {
            best = p;
            *len = strlen(r->words[i]);
        }
    }
    return best;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Money marks before a number, and units after one: those that make it an
 * amount of money, and those that make it something else (a rate, a time). */
static const char *const mark_before[] = { "\xc2\xa5", "\xef\xbf\xa5", "rmb", "cny", "$" };
static const char *const mark_after[] = { "元", "块", "yuan", "rmb", "kuai", "cny" };
static const char *const not_money[] = { "折", "%", "percent", "天", "小时", "分钟", "个", "件",
                                         "号", "单", "次", "day", "hour", "minute", "item",
                                         "piece", "time" };

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool after_is(const char *p, const char *const *list, size_t n)
{
    p = skip_blanks(p);
    for (size_t i = 0; i < n; i++)
        if (starts(p, list[i]))
            return true;
    return false;
}

static bool before_is_mark(const char *text, const char *num)
{
    const char *p = num;

    while (p > text && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    for (size_t i = 0; i < sizeof mark_before / sizeof mark_before[0]; i++) {
        size_t n = strlen(mark_before[i]);
        if ((size_t)(p - text) >= n && memcmp(p - n, mark_before[i], n) == 0)
            return true;
    }
    return false;
}

/*
 * The largest amount an agent's message offers: a number (digits, one
 * point) that comes at most OFFER_GAP bytes after one of the rule's words
 * ("退你20元", "refund 20", "优惠 20"), or a number marked as money (¥20,
 * 20元, 20 yuan) that ends at most MARK_GAP bytes before one ("20元的优惠",
 * "20 yuan refund"). A number followed by a rate or a time (8折, 20%, 7天,
 * 3 days) is no amount. -1 when there is none. `lower` is the message
 * lower-cased.
 */
static double offer_amount(const struct rule *r, const char *lower)
{
    double best = -1;

    for (const char *p = lower; *p; ) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *start = p, *end;
        double v = 0, scale = 0;
        for (; isdigit((unsigned char)*p) || (*p == '.' && !scale && isdigit((unsigned char)p[1]));
             p++) {
            if (*p == '.')
                scale = 1;
            else if (scale)
                v += (*p - '0') * (scale /= 10);
            else
                v = v * 10 + (*p - '0');
        }
        end = p;
        if (after_is(end, not_money, sizeof not_money / sizeof not_money[0]))
            continue;
        bool marked = before_is_mark(lower, start) ||
                      after_is(end, mark_after, sizeof mark_after / sizeof mark_after[0]);
        bool near = false;
        for (int i = 0; i < r->nwords && !near; i++) {
            size_t wl = strlen(r->words[i]);
            /* the word ends OFFER_GAP bytes or less before the number, no digit between */
            for (const char *w = strstr(lower, r->words[i]); w && w < start && !near;
                 w = strstr(w + 1, r->words[i])) {
                const char *we = w + wl;
                if (we <= start && (size_t)(start - we) <= OFFER_GAP &&
                    strcspn(we, "0123456789") == (size_t)(start - we))
                    near = true;
            }
            /* a marked amount: the word begins MARK_GAP bytes or less after it */
            if (marked && !near) {
                const char *q = end;
                q = skip_blanks(q);
                for (size_t m = 0; m < sizeof mark_after / sizeof mark_after[0]; m++)
                    if (starts(q, mark_after[m])) {
                        q += strlen(mark_after[m]);
                        break;
                    }
                const char *w = strstr(q, r->words[i]);
                if (w && (size_t)(w - q) <= MARK_GAP)
                    near = true;
            }
        }
        if (near && v > best)
            best = v;
    }
    return best;
}

/* ---- the rules file ---- */

/* "90s", "2m", "1h", "500ms", "1d" -> ms; false when it is none. */
static bool parse_duration(const char *s, uint64_t *ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
    };
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-' || v > 1000000000ull)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            *ms = v * units[i].ms;
            return true;
        }
    return false;
}

static bool parse_amount(const char *s, double *v)
{
    char *end;

    errno = 0;
    *v = strtod(s, &end);
    return !errno && end != s && !*end && *v >= 0 && *v < 1e9;
}

static int priority_of(const char *s)
{
    static const char *const names[] = { "normal", "ordered", "paid", "vip" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* One action or parameter of a rule. */
static const char *parse_action(struct rule *r, const char *a)
{
    const char *v = strchr(a, '=');

    if (strcmp(a, "flag") == 0)
        r->flag = true;
    else if (strcmp(a, "hold") == 0)
        r->hold = true;
    else if (starts(a, "priority=")) {
        if ((r->priority = priority_of(v + 1)) <= 0)
            return "priority= takes ordered, paid or vip";
    } else if (starts(a, "group=")) {
        if (!rules_name_ok(v + 1))
            return "group= takes a group's name (A-Z a-z 0-9 _ . -)";
        snprintf(r->group, sizeof r->group, "%s", v + 1);
    } else if (starts(a, "count=") && r->kind == K_BARGAIN) {
        char *end;
        long n = strtol(v + 1, &end, 10);
        if (*end || n < 1 || n > 1000)
            return "count= takes 1 to 1000";
        r->count = (int)n;
    } else if (starts(a, "limit=") && r->kind == K_OFFER) {
        if (!parse_amount(v + 1, &r->limit))
            return "limit= takes an amount (yuan)";
    } else {
        return "unknown action (flag, hold, priority=LEVEL, group=NAME; bargain: count=N; "
               "offer: limit=YUAN)";
    }
    return NULL;
}

static const char *parse_words(struct rule *r, char *list)
{
    for (char *w = strtok(list, "|"); w; w = strtok(NULL, "|")) {
        w += strspn(w, " \t");
        size_t n = strlen(w);
        while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
            w[--n] = '\0';
        if (n == 0)
            continue;
        if (n > WORD_MAX)
            return "a word over 64 bytes";
        if (r->nwords == WORDS_MAX)
            return "more than 64 words";
        if (!(r->words[r->nwords] = malloc(n + 1)))
            return "out of memory";
        lower_copy(r->words[r->nwords++], w, n);
    }
    return r->nwords ? NULL : "no words (give them as \"w1|w2|...\")";
}

static const char *parse_rule(struct ruleset *set, char *line)
{
    char *w[24];
    int n = rules_split(line, w, 23);
    struct rule *r;
    const char *why;

    if (n == 0)
        return NULL;
    if (n < 0)
        return "unterminated quote";
    if (n < 4 || n > 23)
        return "expected: KIND NAME WHAT ACTION... (at most 20 actions)";
    if (set->n == RULES_MAX)
        return "more than 64 rules";
    r = &set->r[set->n];
    memset(r, 0, sizeof *r);
    r->priority = -1;
    r->limit = -1;
    r->count = 3;
    for (r->kind = 0; r->kind <= K_WAIT && strcmp(w[0], kind_names[r->kind]) != 0; r->kind++)
        ;
    if (r->kind > K_WAIT)
        return "KIND must be words, bargain, offer or wait";
    if (!rules_name_ok(w[1]))
        return "NAME must be 1 to 64 of A-Z a-z 0-9 _ . -";
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->r[i].name, w[1]) == 0)
            return "a rule of that NAME is above";
    snprintf(r->name, sizeof r->name, "%s", w[1]);
    if (r->kind == K_WAIT) {
        if (strcmp(w[2], "breach") != 0 && (!parse_duration(w[2], &r->after_ms) || !r->after_ms))
            return "wait takes a duration (90s, 2m, 1h) or breach";
    } else if ((why = parse_words(r, w[2]))) {
        goto fail;
    }
    for (int i = 3; i < n; i++)
        if ((why = parse_action(r, w[i])))
            goto fail;
    if (!r->flag && !r->hold && r->priority < 0 && !r->group[0]) {
        why = "no action (flag, hold, priority=LEVEL, group=NAME)";
        goto fail;
    }
    if (r->after_ms > set->longest_wait_ms)
        set->longest_wait_ms = r->after_ms;
    if (r->after_ms && (!set->shortest_wait_ms || r->after_ms < set->shortest_wait_ms))
        set->shortest_wait_ms = r->after_ms;
    set->n++;
    return NULL;
fail:
    for (int i = 0; i < r->nwords; i++)
        free(r->words[i]);
    return why;
}

static void free_set(void *p)
{
    struct ruleset *set = p;

    for (int i = 0; i < set->n; i++)
        for (int j = 0; j < set->r[i].nwords; j++)
            free(set->r[i].words[j]);
}

/* parse_rule as rules_file.h's parse */
static const char *parse_line(void *set, char *line, void *state)
{
    (void)state;
    return parse_rule(set, line);
}

static const struct rules_file rules_format = {
    .set_size = sizeof(struct ruleset), .count_at = offsetof(struct ruleset, n), .noun = "rules",
    .line_max = 4096, .too_long = "line longer than 4 KiB", .utf8 = true, .parse = parse_line,
};

/* ---- chats ---- */

static unsigned chat_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % BUCKETS;
}

/* The waiting list is ordered by when each wait began, so that a tick
 * looks only at the chats whose shortest wait is due. */
static void wait_unlink(struct esc *e, struct chat *c)
{
    if (c->wait_seq) {
        if (c->wprev)
            c->wprev->wnext = c->wnext;
        else
            e->waiting = c->wnext;
        if (c->wnext)
            c->wnext->wprev = c->wprev;
        else
            e->waiting_tail = c->wprev;
    }
    c->wprev = c->wnext = NULL;
    c->wait_seq = 0;
}

static void wait_link(struct esc *e, struct chat *c, int64_t seq, uint64_t since)
{
    struct chat *after;

    wait_unlink(e, c);
    for (after = e->waiting_tail; after && after->wait_since_ms > since; after = after->wprev)
        ;                              /* a new wait is the newest: O(1) then */
    c->wprev = after;
    c->wnext = after ? after->wnext : e->waiting;
    if (c->wnext)
        c->wnext->wprev = c;
    else
        e->waiting_tail = c;
    if (after)
        after->wnext = c;
    else
        e->waiting = c;
    c->wait_seq = seq;
    c->wait_since_ms = since;
}

static void chat_drop(struct esc *e, struct chat *c)
{
    struct chat **pp = &e->bucket[chat_hash(c->id)];

    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    wait_unlink(e, c);
    free(c);
    e->nchats--;
}

/* Chats quiet for the window (and the longest wait) are forgotten: every
 * stamp they hold is older than the window. With make_room, the quietest
 * goes too when the table is full. */
static void chats_sweep(struct esc *e, uint64_t now, bool make_room)
{
    struct chat *oldest = NULL;

    for (int b = 0; b < BUCKETS; b++)
        for (struct chat *c = e->bucket[b], *next; c; c = next) {
            next = c->next;
            if (now - c->seen_ms > e->window_ms + c->set->longest_wait_ms && !c->checking)
                chat_drop(e, c);
            else if (!c->checking && (!oldest || c->seen_ms < oldest->seen_ms))
                oldest = c;
        }
    if (make_room && e->nchats >= e->chats_max && oldest)
        chat_drop(e, oldest);
}

static struct chat *chat_get(struct esc *e, const char *id, const struct ruleset *set, bool create)
{
    unsigned h = chat_hash(id);
    struct chat *c;

    for (c = e->bucket[h]; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    if (!create || strlen(id) != 32)
        return NULL;
    if (e->nchats >= e->chats_max)
        chats_sweep(e, mono_ms(), true);
    if (e->nchats >= e->chats_max ||
        !(c = calloc(1, sizeof *c + (size_t)set->n * sizeof c->rule[0])))
        return NULL;
    memcpy(c->id, id, 33);
    c->set = set;
    c->next = e->bucket[h];
    e->bucket[h] = c;
    e->nchats++;
    return c;
}

/* ---- actions ---- */

static void on_action_done(void *ud, int result)
{
    const struct act *a = ud;

    if (result != CHATGW_OK)
        a->e->h->log(a->e->self, CHATGW_LOG_WARN, "action %s failed: %d", a->name, result);
}

/* Rule ri of chat c fires, unless it did within the window: its actions,
 * in order. True when it fired. */
static bool fire(struct esc *e, struct chat *c, int ri, const char *excerpt, const char *lang_text,
                 uint64_t now)
{
    const struct rule *r = &c->set->r[ri];

    if (c->rule[ri].fired_ms && now - c->rule[ri].fired_ms < e->window_ms)
        return false;
    c->rule[ri].fired_ms = now ? now : 1;
    e->h->log(e->self, CHATGW_LOG_INFO, "rule=%s kind=%s chat=%s", r->name, kind_names[r->kind],
              c->id);
    if (r->flag)
        e->h->flag(e->self, c->id, r->name, excerpt, on_action_done, &e->acts[ACT_FLAG]);
    if (r->priority > 0)
        e->h->set_priority(e->self, c->id, r->priority | CHATGW_PRIO_RAISE, on_action_done,
                           &e->acts[ACT_PRIORITY]);
    if (r->hold) {
        const char *t = has_cjk(lang_text) ? e->hold_zh : e->hold_en;
        e->h->send(e->self, c->id, CHATGW_FROM_AUTO, t, strlen(t), on_action_done,
                   &e->acts[ACT_HOLD]);
    }
    if (r->group[0])
        e->h->move_group(e->self, c->id, r->group, on_action_done, &e->acts[ACT_GROUP]);
    return true;
}

/* ---- hooks ---- */

static size_t lowered(struct esc *e, const struct chatgw_event *ev)
{
    size_t n = ev->text_len < TEXT_MAX ? ev->text_len : TEXT_MAX - 1;

    lower_copy(e->lower, ev->text, n);
    return n;
}

static int on_buyer_msg(void *ud, struct chatgw_event *ev)
{
    struct esc *e = ud;
    const struct ruleset *set = rules_sets_of(&e->sets, ev->store);
    struct chat *c;
    uint64_t now = mono_ms();
    size_t wl;

    if (!set || !ev->chat || !ev->text || !(c = chat_get(e, ev->chat, set, true)))
        return CHATGW_DEFER;
    c->seen_ms = now;
    lowered(e, ev);
    for (int i = 0; i < set->n; i++) {
        const struct rule *r = &set->r[i];
        if (r->kind == K_WORDS && find_word(r, e->lower, &wl))
            fire(e, c, i, ev->text, ev->text, now);
        else if (r->kind == K_BARGAIN && find_word(r, e->lower, &wl) &&
                 ++c->rule[i].count >= (uint32_t)r->count &&
                 fire(e, c, i, ev->text, ev->text, now))
            c->rule[i].count = 0;      /* fired: count the next ones afresh */
    }
    if (set->longest_wait_ms && !c->wait_seq)
        wait_link(e, c, ev->seq > 0 ? ev->seq : 1, now);
    return CHATGW_OK;
}

static int on_agent_msg(void *ud, struct chatgw_event *ev)
{
    struct esc *e = ud;
    const struct ruleset *set = rules_sets_of(&e->sets, ev->store);
    struct chat *c = NULL;
    uint64_t now = mono_ms();

    if (!set || !ev->chat || !ev->text)
        return CHATGW_DEFER;
    lowered(e, ev);
    for (int i = 0; i < set->n; i++) {
        const struct rule *r = &set->r[i];
        double limit = r->limit >= 0 ? r->limit : e->offer_limit;
        if (r->kind != K_OFFER || offer_amount(r, e->lower) <= limit)
            continue;
        if (!c && !(c = chat_get(e, ev->chat, set, true)))
            break;
        c->seen_ms = now;
        fire(e, c, i, ev->text, ev->text, now);
    }
    return CHATGW_OK;                   /* never holds a message: that is the guard's */
}

static int on_breach(void *ud, struct chatgw_event *ev)
{
    struct esc *e = ud;
    const struct ruleset *set = rules_sets_of(&e->sets, ev->store);
    struct chat *c = NULL;
    uint64_t now = mono_ms();

    if (!set || !ev->chat)
        return CHATGW_DEFER;
    for (int i = 0; i < set->n; i++) {
        if (set->r[i].kind != K_WAIT || set->r[i].after_ms)
            continue;
        if (!c && !(c = chat_get(e, ev->chat, set, true)))
            break;
        c->seen_ms = now;
        fire(e, c, i, "unanswered past breach_after", "", now);
    }
    return CHATGW_OK;
}

static int on_closed(void *ud, struct chatgw_event *ev)
{
    struct esc *e = ud;
    struct chat *c = ev->chat ? chat_get(e, ev->chat, NULL, false) : NULL;

    if (c && c->checking)
        c->closed = true;              /* its read back drops it */
    else if (c)
        chat_drop(e, c);
    return CHATGW_OK;
}

/* A wait rule's read back: answered since (an agent message after the one
 * waited on)? Then wait on the first buyer message after the last answer,
 * if any; else the due rules fire. */
static void on_read_back(void *ud, int result, const struct chatgw_msg *m, int n)
{
    struct check *k = ud;
    struct esc *e = k->e;
    struct chat *c = chat_get(e, k->chat, NULL, false);
    uint64_t now = mono_ms(), wall = wall_ms();
    int last_agent = -1, first_after = -1;

    k->busy = false;
    if (!c)
        return;
    c->checking = false;
    if (c->closed || result == CHATGW_ERR_NOTFOUND) {
        chat_drop(e, c);
        return;
    }
    if (result != CHATGW_OK)
        return;                        /* asked again at the next tick */
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].from, "agent") == 0 && m[i].seq > c->wait_seq)
            last_agent = i;
    if (last_agent >= 0) {
        for (int i = last_agent + 1; i < n && first_after < 0; i++)
            if (strcmp(m[i].from, "buyer") == 0)
                first_after = i;
        if (first_after < 0) {
            wait_unlink(e, c);
        } else {
            uint64_t age = wall > m[first_after].ts_ms ? wall - m[first_after].ts_ms : 0;
            wait_link(e, c, m[first_after].seq, now > age ? now - age : 0);
        }
        return;
    }
    /* unanswered: every wait rule that is due fires, with the message waited on */
    const char *text = "";
    for (int i = 0; i < n; i++)
        if (m[i].seq == c->wait_seq)
            text = m[i].text;
    char excerpt[300];
    snprintf(excerpt, sizeof excerpt, "%llu s: %s",
             (unsigned long long)((now - c->wait_since_ms) / 1000), text);
    for (int i = 0; i < c->set->n; i++) {
        const struct rule *r = &c->set->r[i];
        if (r->kind == K_WAIT && r->after_ms && now - c->wait_since_ms >= r->after_ms)
            fire(e, c, i, excerpt, text, now);
    }
    /* nothing more to wait for once the longest has fired */
    if (now - c->wait_since_ms >= c->set->longest_wait_ms)
        wait_unlink(e, c);
}

/* Has a waiting chat a wait rule due that has not fired in this window? */
static bool wait_due(const struct esc *e, const struct chat *c, uint64_t now)
{
    for (int i = 0; i < c->set->n; i++) {
        const struct rule *r = &c->set->r[i];
        if (r->kind == K_WAIT && r->after_ms && now - c->wait_since_ms >= r->after_ms &&
            (!c->rule[i].fired_ms || now - c->rule[i].fired_ms >= e->window_ms))
            return true;
    }
    return false;
}

static int on_tick(void *ud, struct chatgw_event *ev)
{
    struct esc *e = ud;
    uint64_t now = mono_ms();

    (void)ev;
    if (++e->ticks % 60 == 0)
        chats_sweep(e, now, false);   /* once a minute */
    for (struct chat *c = e->waiting, *next; c; c = next) {
        next = c->wnext;
        if (now - c->wait_since_ms < e->shortest_wait_ms)
            break;                     /* and every one after it */
        if (c->checking || !wait_due(e, c, now))
            continue;
        struct check *k = NULL;
        for (int i = 0; i < CHECKS_MAX && !k; i++)
            if (!e->checks[i].busy)
                k = &e->checks[i];
        if (!k)
            break;                     /* the rest at the next tick */
        k->e = e;
        memcpy(k->chat, c->id, 33);
        if (e->h->read_last(e->self, c->id, WAIT_READ, on_read_back, k) == CHATGW_OK) {
            k->busy = true;
            c->checking = true;
        }
    }
    return CHATGW_OK;
}

/* ---- init ---- */

static const char *const default_hold_zh =
    "亲，这个问题我需要请示一下主管，请您稍等两分钟，马上给您答复~";
static const char *const default_hold_en =
    "Let me ask my supervisor about this. Please wait two minutes, I'll be right back with you.";

static int options(struct esc *e, const struct chatgw_opt *opts, int nopts, int *files)
{
    const struct chatgw_host *h = e->h;

    for (int i = 0; i < nopts; i++) {
        const char *k = opts[i].key, *v = opts[i].value, *store;
        if (rules_option(h, e->self, k, "rules", &store)) {
            if (!rules_file_load(h, e->self, &e->sets, store, v, &rules_format, NULL))
                return CHATGW_ERR_INVAL;
            (*files)++;
        } else if (strcmp(k, "window") == 0) {
            if (!parse_duration(v, &e->window_ms) || !e->window_ms) {
                h->log(e->self, CHATGW_LOG_ERROR, "window takes a duration (30m, 1h)");
                return CHATGW_ERR_INVAL;
            }
        } else if (strcmp(k, "offer_limit") == 0) {
            if (!parse_amount(v, &e->offer_limit)) {
                h->log(e->self, CHATGW_LOG_ERROR, "offer_limit takes an amount (yuan)");
                return CHATGW_ERR_INVAL;
            }
        } else if (strcmp(k, "hold_text") == 0 || strcmp(k, "hold_text.en") == 0) {
            if (!*v || strlen(v) >= HOLD_MAX || !rules_utf8_ok((const unsigned char *)v)) {
                h->log(e->self, CHATGW_LOG_ERROR, "%s: 1 to 1023 bytes of UTF-8", k);
                return CHATGW_ERR_INVAL;
            }
            snprintf(k[9] ? e->hold_en : e->hold_zh, HOLD_MAX, "%s", v);
        } else if (strcmp(k, "chats_max") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000000) {
                h->log(e->self, CHATGW_LOG_ERROR, "chats_max takes 1 to 1000000");
                return CHATGW_ERR_INVAL;
            }
            e->chats_max = (size_t)n;
        } else {
            h->log(e->self, CHATGW_LOG_ERROR, "unknown option %s (rules, rules.STORE, window, "
                   "offer_limit, hold_text, hold_text.en, chats_max)", k);
            return CHATGW_ERR_INVAL;
        }
    }
    return CHATGW_OK;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    struct esc *e = calloc(1, sizeof *e);
    bool words = false, offer = false, wait = false, breach = false;
    int files = 0, rc;

    if (!e)
        return CHATGW_ERR_NOMEM;
    *userdata = e;
    if (host->version < 1 ||
        host->size < offsetof(struct chatgw_host, read_last) + sizeof host->read_last)
        return CHATGW_ERR_INVAL;
    e->h = host;
    e->self = self;
    e->window_ms = 30 * 60000;
    e->offer_limit = 15;
    e->chats_max = 20000;
    snprintf(e->hold_zh, HOLD_MAX, "%s", default_hold_zh);
    snprintf(e->hold_en, HOLD_MAX, "%s", default_hold_en);
    for (int i = 0; i < NACTS; i++)
        e->acts[i] = (struct act){ e, (const char *[]){ "flag", "priority", "hold", "group" }[i] };
    if ((rc = options(e, opts, nopts, &files)) != CHATGW_OK)
        return rc;
    if (files == 0) {
        host->log(self, CHATGW_LOG_ERROR, "no rules: give `rules FILE`");
        return CHATGW_ERR_INVAL;
    }
    for (int s = 0; s < e->sets.n; s++) {
        const struct ruleset *set = e->sets.v[s].set;
        uint64_t w = set->shortest_wait_ms;
        if (w && (!e->shortest_wait_ms || w < e->shortest_wait_ms))
            e->shortest_wait_ms = w;
        for (int i = 0; i < set->n; i++) {
            const struct rule *r = &set->r[i];
            words |= r->kind == K_WORDS || r->kind == K_BARGAIN;
            offer |= r->kind == K_OFFER;
            wait |= r->kind == K_WAIT && r->after_ms;
            breach |= r->kind == K_WAIT && !r->after_ms;
        }
    }
    /* only the hooks the rules need: an agent message costs nothing here
     * when no store has an offer rule */
    if (((words || wait) && (rc = host->hook(self, CHATGW_EV_BUYER_MSG, on_buyer_msg, e))) ||
        (offer && (rc = host->hook(self, CHATGW_EV_AGENT_MSG, on_agent_msg, e))) ||
        (breach && (rc = host->hook(self, CHATGW_EV_BREACH, on_breach, e))) ||
        (rc = host->hook(self, CHATGW_EV_TICK, on_tick, e)) ||
        (rc = host->hook(self, CHATGW_EV_CLOSED, on_closed, e)))
        return rc;
    return CHATGW_OK;
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    struct esc *e = userdata;

    (void)opts; (void)nopts;
    if (!e)
        return CHATGW_OK;
    for (int b = 0; b < BUCKETS; b++)
        for (struct chat *c = e->bucket[b], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    rules_sets_free(&e->sets, free_set);
    free(e);
    return CHATGW_OK;
}
