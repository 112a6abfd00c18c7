/* test_iplimit.c - sessions per peer address, and new chats per address. */
#include "iplimit.h"
#include "test.h"

TEST(refuses_past_max_and_frees_on_release)
{
    struct ip_slot *a = iplimit_acquire("10.0.0.1", 2, 0), *b = iplimit_acquire("10.0.0.1", 2, 0);
    ASSERT(a && b && a == b);
    ASSERT(iplimit_acquire("10.0.0.1", 2, 0) == NULL);
    ASSERT(iplimit_acquire("10.0.0.2", 2, 0) != NULL);   /* others unaffected */
    iplimit_release(a, 0);
    ASSERT(iplimit_acquire("10.0.0.1", 2, 0) != NULL);
    iplimit_free_all();
}

TEST(many_addresses)
{
    char ip[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(ip, sizeof ip, "127.%d.%d.1", i / 250, i % 250);
        ASSERT(iplimit_acquire(ip, 1, 0) != NULL);
        ASSERT(iplimit_acquire(ip, 1, 0) == NULL);
    }
    iplimit_free_all();
}

TEST(new_chats_past_the_burst_wait_for_the_rate)
{
    struct ip_slot *a = iplimit_acquire("10.0.0.3", 5, 1000);
    for (int i = 0; i < 3; i++)
        ASSERT(iplimit_take_chat(a, 2.0, 3, 1000));
    ASSERT(!iplimit_take_chat(a, 2.0, 3, 1000));
    ASSERT(!iplimit_take_chat(a, 2.0, 3, 1400));        /* 0.8 of a chat */
    ASSERT(iplimit_take_chat(a, 2.0, 3, 1500));         /* one more at 2/s */
    ASSERT(!iplimit_take_chat(a, 2.0, 3, 1500));
    iplimit_free_all();
}

/* A connect-hello-disconnect loop must not start each time with a full meter. */
TEST(the_meter_outlives_the_sessions_until_it_is_full)
{
    struct ip_slot *a = iplimit_acquire("10.0.0.4", 5, 0);
    ASSERT(iplimit_take_chat(a, 1.0, 2, 0));
    ASSERT(iplimit_take_chat(a, 1.0, 2, 0));
    iplimit_release(a, 0);                               /* no session left */
    a = iplimit_acquire("10.0.0.4", 5, 100);
    ASSERT(!iplimit_take_chat(a, 1.0, 2, 100));          /* still empty */
    iplimit_release(a, 100);
    /* full again after 2 s: the slot goes with its last session */
    a = iplimit_acquire("10.0.0.4", 5, 5000);
    ASSERT(iplimit_take_chat(a, 1.0, 2, 5000));
    ASSERT(iplimit_take_chat(a, 1.0, 2, 5000));
    ASSERT(!iplimit_take_chat(a, 1.0, 2, 5000));
    iplimit_free_all();
}

int main(void)
{
    RUN(refuses_past_max_and_frees_on_release);
    RUN(many_addresses);
    RUN(new_chats_past_the_burst_wait_for_the_rate);
    RUN(the_meter_outlives_the_sessions_until_it_is_full);
    return TEST_SUMMARY();
}
