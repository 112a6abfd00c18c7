/*
 * test_window.c - the records a buyer's session already has: acks (command
 * link) and events (subscriber link) arrive in either order, and each
 * record must reach the buyer once.
 */
#include "window.h"
#include "test.h"

TEST(a_new_window_has_nothing_above_its_start)
{
    struct window w;
    window_reset(&w, 0);
    ASSERT(!window_has(&w, 1));
    ASSERT(!window_has(&w, 2));
    ASSERT(!window_has(&w, 64));
    ASSERT_EQ(w.shown, 0);
}

TEST(records_up_to_the_resume_point_are_had)
{
    struct window w;
    window_reset(&w, 10);
    ASSERT(window_has(&w, 1));
    ASSERT(window_has(&w, 10));
    ASSERT(!window_has(&w, 11));
}

TEST(a_reset_forgets_records_had_out_of_order)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, 5);
    window_reset(&w, 2);
    ASSERT_EQ(w.shown, 2);
    ASSERT(!window_has(&w, 5));
}

TEST(records_in_order_advance_shown)
{
    struct window w;
    window_reset(&w, 0);
    for (int64_t seq = 1; seq <= 200; seq++) {
        ASSERT(!window_has(&w, seq));
        window_mark(&w, seq);
        ASSERT(window_has(&w, seq));
        ASSERT_EQ(w.shown, seq);
        ASSERT_EQ(w.done, 0);
    }
}

/* The event for seq 3 arrives before the ack of the buyer's own seq 2. */
TEST(a_record_out_of_order_waits_above_the_gap)
{
    struct window w;
    window_reset(&w, 1);
    window_mark(&w, 3);
    ASSERT(window_has(&w, 3));
    ASSERT(!window_has(&w, 2));
    ASSERT_EQ(w.shown, 1);
    window_mark(&w, 2);                 /* the gap fills: shown runs over both */
    ASSERT_EQ(w.shown, 3);
    ASSERT_EQ(w.done, 0);
}

TEST(filling_the_gap_runs_shown_over_every_record_had_in_a_row)
{
    struct window w;
    window_reset(&w, 0);
    for (int64_t seq = 2; seq <= 40; seq++)
        window_mark(&w, seq);
    window_mark(&w, 50);
    ASSERT_EQ(w.shown, 0);
    window_mark(&w, 1);
    ASSERT_EQ(w.shown, 40);             /* stops at the next gap, 41 */
    ASSERT(!window_has(&w, 41));
    ASSERT(window_has(&w, 50));
}

TEST(the_last_slot_of_the_window_is_kept)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, 64);                /* shown + 64: the map's top bit */
    ASSERT_EQ(w.shown, 0);
    ASSERT(window_has(&w, 64));
    ASSERT(!window_has(&w, 63));
    ASSERT(!window_has(&w, 1));
}

/* seq 65 with shown 0 does not fit: the window slides by one, so seq 1
 * counts as had, and what was marked above it stays marked. */
TEST(a_record_just_past_the_window_slides_it_by_one)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, 3);
    window_mark(&w, 65);
    ASSERT_EQ(w.shown, 1);
    ASSERT(window_has(&w, 1));
    ASSERT(!window_has(&w, 2));
    ASSERT(window_has(&w, 3));
    ASSERT(window_has(&w, 65));
    ASSERT(!window_has(&w, 64));
}

TEST(a_slide_that_reaches_records_had_runs_shown_over_them)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, 2);
    window_mark(&w, 3);
    window_mark(&w, 65);                /* slides over 1; 2 and 3 follow */
    ASSERT_EQ(w.shown, 3);
    ASSERT(window_has(&w, 65));
    ASSERT(!window_has(&w, 4));
}

TEST(a_jump_far_beyond_the_window_keeps_only_the_new_record)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, 5);
    window_mark(&w, 1000);
    ASSERT_EQ(w.shown, 1000 - 64);
    ASSERT(window_has(&w, 5));          /* below shown now */
    ASSERT(window_has(&w, 1000 - 64));
    ASSERT(!window_has(&w, 1000 - 63));
    ASSERT(window_has(&w, 1000));
    ASSERT(!window_has(&w, 1001));
}

/* A slide is one step, not one per record: a seq near the top of int64
 * comes back at once. */
TEST(a_huge_jump_costs_one_step)
{
    struct window w;
    window_reset(&w, 0);
    window_mark(&w, INT64_MAX - 1);
    ASSERT_EQ(w.shown, INT64_MAX - 1 - 64);
    ASSERT(window_has(&w, INT64_MAX - 1));
    ASSERT(!window_has(&w, INT64_MAX - 2));
}

TEST(marking_a_record_twice_changes_nothing)
{
    struct window w, before;
    window_reset(&w, 0);
    window_mark(&w, 1);
    window_mark(&w, 4);
    before = w;
    window_mark(&w, 4);
    ASSERT_EQ(w.shown, before.shown);
    ASSERT_EQ(w.done, before.done);
    window_mark(&w, 1);                 /* already below shown */
    ASSERT_EQ(w.shown, before.shown);
    ASSERT_EQ(w.done, before.done);
}

TEST(records_at_or_below_shown_are_had_and_marking_them_changes_nothing)
{
    struct window w;
    window_reset(&w, 20);
    window_mark(&w, 22);
    uint64_t done = w.done;
    for (int64_t seq = -1; seq <= 20; seq++) {
        ASSERT(window_has(&w, seq));
        window_mark(&w, seq);
        ASSERT_EQ(w.shown, 20);
        ASSERT_EQ(w.done, done);
    }
}

int main(void)
{
    RUN(a_new_window_has_nothing_above_its_start);
    RUN(records_up_to_the_resume_point_are_had);
    RUN(a_reset_forgets_records_had_out_of_order);
    RUN(records_in_order_advance_shown);
    RUN(a_record_out_of_order_waits_above_the_gap);
    RUN(filling_the_gap_runs_shown_over_every_record_had_in_a_row);
    RUN(the_last_slot_of_the_window_is_kept);
    RUN(a_record_just_past_the_window_slides_it_by_one);
    RUN(a_slide_that_reaches_records_had_runs_shown_over_them);
    RUN(a_jump_far_beyond_the_window_keeps_only_the_new_record);
    RUN(a_huge_jump_costs_one_step);
    RUN(marking_a_record_twice_changes_nothing);
    RUN(records_at_or_below_shown_are_had_and_marking_them_changes_nothing);
    return TEST_SUMMARY();
}
