/* test_escalate.c - the escalate plugin's reading of text and rules, on
 * its own (its source is compiled in here, so its static functions can be
 * called): the amounts an agent's message offers, words in any case of
 * Latin letters and in Chinese, which buyers write Chinese, durations,
 * and the rules file's errors. What a rule then does to a chat is
 * tests/integration/test_escalate.py's. */
#include "escalate/escalate.c"
#include "test.h"

static struct rule offer_rule(void)
{
    static char words[] = "退你|退您|退款|优惠|refund|discount|返现";
    struct rule r;

    memset(&r, 0, sizeof r);
    r.kind = K_OFFER;
    parse_words(&r, words);
    return r;
}

static void free_rule(struct rule *r)
{
    for (int i = 0; i < r->nwords; i++)
        free(r->words[i]);
}

static double amount(const struct rule *r, const char *text)
{
    char lower[512];
    lower_copy(lower, text, strlen(text));
    return offer_amount(r, lower);
}

TEST(an_offer_s_amount_is_money_next_to_an_offer_word)
{
    static const struct { const char *text; double want; } cases[] = {
        { "亲，退你20元可以吗", 20 },
        { "退你10元运费", 10 },
        { "OK, I can REFUND 150 yuan", 150 },
        { "I'll give you a ¥35.5 discount", 35.5 },
        { "a ￥25 discount", 25 },
        { "20 yuan refund", 20 },
        { "20元的优惠", 20 },
        { "refund 20", 20 },
        { "这款199元，给您优惠5元", 5 },      /* the price is no offer */
        { "给您打8折", -1 },                 /* no offer word, and a rate */
        { "优惠20%", -1 },                   /* a rate */
        { "refund within 7 days", -1 },      /* a time */
        { "退款申请我们收到后会尽快处理，一般1-3个工作日内退回您的支付账户哦~", -1 },
        { "这件衣服199元", -1 },
        { "", -1 },
    };
    struct rule r = offer_rule();

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = amount(&r, cases[i].text);
        if (got != cases[i].want) {
            free_rule(&r);
            FAIL_("\"%s\": %g, want %g", cases[i].text, got, cases[i].want);
        }
    }
    free_rule(&r);
}

TEST(words_match_latin_in_any_case_and_chinese_as_written)
{
    char words[] = "投诉| Complain |bad review";
    char lower[128];
    struct rule r;
    size_t len;

    memset(&r, 0, sizeof r);
    ASSERT(parse_words(&r, words) == NULL);
    ASSERT_EQ(r.nwords, 3);
    ASSERT_STREQ(r.words[1], "complain");            /* trimmed, lower-cased */
    lower_copy(lower, "I will COMPLAIN", 15);
    ASSERT(find_word(&r, lower, &len) && len == 8);
    lower_copy(lower, "我要投诉", strlen("我要投诉"));
    ASSERT(find_word(&r, lower, &len) && len == strlen("投诉"));
    lower_copy(lower, "a Bad Review", 12);
    ASSERT(find_word(&r, lower, &len));
    lower_copy(lower, "投资", strlen("投资"));        /* shares a first byte only */
    ASSERT(!find_word(&r, lower, &len));
    free_rule(&r);
}

TEST(a_buyer_writes_chinese_when_its_message_has_a_chinese_character)
{
    ASSERT(has_cjk("你好"));
    ASSERT(has_cjk("ok 好的"));
    ASSERT(!has_cjk("hello"));
    ASSERT(!has_cjk("\xc2\xa5" "20"));                /* ¥ */
    ASSERT(!has_cjk("wait \xe2\x80\x94 what"));       /* an em dash */
    ASSERT(!has_cjk(""));
}

TEST(durations)
{
    uint64_t ms;

    ASSERT(parse_duration("90s", &ms) && ms == 90000);
    ASSERT(parse_duration("2m", &ms) && ms == 120000);
    ASSERT(parse_duration("500ms", &ms) && ms == 500);
    ASSERT(parse_duration("1h", &ms) && ms == 3600000);
    ASSERT(parse_duration("1d", &ms) && ms == 86400000);
    ASSERT(!parse_duration("90", &ms));
    ASSERT(!parse_duration("s", &ms));
    ASSERT(!parse_duration("-1s", &ms));
    ASSERT(!parse_duration("1x", &ms));
}

TEST(rules_lines_and_their_errors)
{
    static const struct { const char *line, *why; } cases[] = {
        { "# a comment", NULL },
        { "", NULL },
        { "words complaint \"投诉|complain\" flag priority=vip hold", NULL },
        { "bargain haggle \"便宜|cheaper\" count=4 flag", NULL },
        { "offer big \"退你|refund\" limit=20.5 flag group=after-sales", NULL },
        { "wait slow 90s flag", NULL },
        { "wait late breach priority=paid", NULL },
        { "shout x \"a\" flag", "KIND must be" },
        { "words bad/name \"a\" flag", "NAME must be" },
        { "words complaint \"x\" flag", "a rule of that NAME is above" },
        { "words w \"a\"", "expected: KIND NAME WHAT ACTION" },
        { "words w \" | \" flag", "no words" },
        { "words w \"a\" priority=normal", "priority= takes" },
        { "words w \"a\" count=3", "unknown action" },
        { "bargain b \"a\" count=0 flag", "count= takes" },
        { "offer o \"a\" limit=-3 flag", "limit= takes" },
        { "wait w2 soon flag", "wait takes a duration" },
        { "wait w3 0s flag", "wait takes a duration" },
        { "words w4 \"a\" group=a/b", "group= takes" },
        { "words w5 \"unterminated flag", "unterminated quote" },
    };
    struct ruleset set;

    memset(&set, 0, sizeof set);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s", cases[i].line);
        const char *why = parse_rule(&set, line);
        if (cases[i].why ? !why || !strstr(why, cases[i].why) : why != NULL) {
            free_set(&set);
            FAIL_("\"%s\": %s, want %s", cases[i].line, why ? why : "ok",
                  cases[i].why ? cases[i].why : "ok");
        }
    }
    ASSERT_EQ(set.n, 5);
    ASSERT_EQ(set.r[0].priority, CHATGW_PRIO_VIP);
    ASSERT(set.r[0].flag && set.r[0].hold && !set.r[0].group[0]);
    ASSERT_EQ(set.r[1].count, 4);
    ASSERT(set.r[2].limit == 20.5);
    ASSERT_STREQ(set.r[2].group, "after-sales");
    ASSERT_EQ(set.r[3].after_ms, 90000);
    ASSERT_EQ(set.r[4].after_ms, 0);
    ASSERT_EQ(set.longest_wait_ms, 90000);
    free_set(&set);
}

/* The waiting list stays ordered by when each wait began, whatever the
 * order the waits are linked in, so a tick stops at the first not due. */
TEST(the_waiting_list_is_kept_oldest_first)
{
    static struct esc e;
    static struct ruleset set;
    static const uint64_t since[] = { 500, 100, 900, 300, 700, 300 };
    struct chat *c[6];
    uint64_t last = 0;
    int n = 0;

    memset(&e, 0, sizeof e);
    e.chats_max = 10;
    for (int i = 0; i < 6; i++) {
        char id[33];
        snprintf(id, sizeof id, "%032x", i + 1);
        ASSERT((c[i] = chat_get(&e, id, &set, true)) != NULL);
        wait_link(&e, c[i], i + 1, since[i]);
    }
    wait_link(&e, c[2], 7, 200);                     /* relinked further back */
    wait_unlink(&e, c[0]);
    for (struct chat *w = e.waiting; w; w = w->wnext, n++) {
        ASSERT(w->wait_since_ms >= last);
        ASSERT(w->wnext ? w->wnext->wprev == w : e.waiting_tail == w);
        last = w->wait_since_ms;
    }
    ASSERT_EQ(n, 5);
    ASSERT(e.waiting == c[1] && e.waiting->wnext == c[2] && e.waiting_tail == c[4]);
    for (int i = 0; i < 6; i++)
        chat_drop(&e, c[i]);
    ASSERT(e.waiting == NULL && e.waiting_tail == NULL && e.nchats == 0);
}

int main(void)
{
    RUN(an_offer_s_amount_is_money_next_to_an_offer_word);
    RUN(words_match_latin_in_any_case_and_chinese_as_written);
    RUN(a_buyer_writes_chinese_when_its_message_has_a_chinese_character);
    RUN(durations);
    RUN(rules_lines_and_their_errors);
    RUN(the_waiting_list_is_kept_oldest_first);
    return TEST_SUMMARY();
}
