/*
 * test_hours.c - each group's service hours as the node keeps them: the
 * first-message decision reads them from memory, so they must answer
 * open, closed with the next opening, or "the store's" for a group whose
 * hours are the store's or not heard of yet.
 */
#include "hours.h"
#include "test.h"

static const int64_t SPANS[] = { 1000, 2000, 5000, 6000, 3000, 4000 };

TEST(an_unknown_group_uses_the_store_s_hours)
{
    int64_t opens = 7;
    ASSERT_EQ(hours_open("demo", "after-sales", 1500, &opens), HOURS_STORE);
    ASSERT_EQ(opens, 0);
    hours_clear();
}

TEST(a_group_is_open_inside_one_of_its_spans_and_not_at_its_end)
{
    int64_t opens;
    ASSERT_EQ(hours_set("demo", "pre-sales", 1, SPANS, 3), 0);
    ASSERT_EQ(hours_open("demo", "pre-sales", 1000, &opens), HOURS_OPEN);
    ASSERT_EQ(hours_open("demo", "pre-sales", 5999, &opens), HOURS_OPEN);
    ASSERT_EQ(hours_open("demo", "pre-sales", 2000, &opens), HOURS_CLOSED);
    ASSERT_EQ(opens, 3000);                       /* the earliest later start, in any order */
    ASSERT_EQ(hours_open("demo", "pre-sales", 6000, &opens), HOURS_CLOSED);
    ASSERT_EQ(opens, 0);                          /* none known */
    ASSERT_EQ(hours_open("other", "pre-sales", 1500, &opens), HOURS_STORE);
    hours_clear();
}

TEST(a_group_without_spans_is_closed_and_an_answer_replaces_the_last)
{
    int64_t opens;
    ASSERT_EQ(hours_set("demo", "after-sales", 1, NULL, 0), 0);
    ASSERT_EQ(hours_open("demo", "after-sales", 1500, &opens), HOURS_CLOSED);
    ASSERT_EQ(opens, 0);
    ASSERT_EQ(hours_set("demo", "after-sales", 0, NULL, 0), 0);   /* the store's again */
    ASSERT_EQ(hours_open("demo", "after-sales", 1500, &opens), HOURS_STORE);
    ASSERT_EQ(hours_set("demo", "after-sales", 1, SPANS + 2, 1), 0);
    ASSERT_EQ(hours_open("demo", "after-sales", 1500, &opens), HOURS_CLOSED);
    ASSERT_EQ(opens, 5000);
    hours_clear();
}

TEST(many_groups_are_kept_apart)
{
    char g[16];
    int64_t opens, se[2];
    for (int i = 0; i < 40; i++) {
        snprintf(g, sizeof g, "g%d", i);
        se[0] = i * 100;
        se[1] = i * 100 + 50;
        ASSERT_EQ(hours_set("demo", g, 1, se, 1), 0);
    }
    ASSERT_EQ(hours_open("demo", "g17", 1720, &opens), HOURS_OPEN);
    ASSERT_EQ(hours_open("demo", "g17", 1760, &opens), HOURS_CLOSED);
    ASSERT_EQ(hours_open("demo", "g3", 1720, &opens), HOURS_CLOSED);
    hours_clear();
}

int main(void)
{
    RUN(an_unknown_group_uses_the_store_s_hours);
    RUN(a_group_is_open_inside_one_of_its_spans_and_not_at_its_end);
    RUN(a_group_without_spans_is_closed_and_an_answer_replaces_the_last);
    RUN(many_groups_are_kept_apart);
    return TEST_SUMMARY();
}
