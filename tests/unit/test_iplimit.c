/* test_iplimit.c - sessions per peer address. */
#include "iplimit.h"
#include "test.h"

TEST(refuses_past_max_and_frees_on_release)
{
    struct ip_slot *a = iplimit_acquire("10.0.0.1", 2), *b = iplimit_acquire("10.0.0.1", 2);
    ASSERT(a && b && a == b);
    ASSERT(iplimit_acquire("10.0.0.1", 2) == NULL);
    ASSERT(iplimit_acquire("10.0.0.2", 2) != NULL);   /* others unaffected */
    iplimit_release(a);
    ASSERT(iplimit_acquire("10.0.0.1", 2) != NULL);
    iplimit_free_all();
}

TEST(many_addresses)
{
    char ip[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(ip, sizeof ip, "127.%d.%d.1", i / 250, i % 250);
        ASSERT(iplimit_acquire(ip, 1) != NULL);
        ASSERT(iplimit_acquire(ip, 1) == NULL);
    }
    iplimit_free_all();
}

int main(void)
{
    RUN(refuses_past_max_and_frees_on_release);
    RUN(many_addresses);
    return TEST_SUMMARY();
}
