/*
 * test.h - the unit tests' whole framework: a few ASSERT macros that report
 * file:line, and a runner that counts cases. Each test_<area>.c defines
 * cases with TEST(name) and lists them in main() with RUN(name); the binary
 * prints "N passed, N failed" and exits non-zero when anything failed.
 */
#ifndef CHATGW_TEST_H
#define CHATGW_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_;      /* failures in the current case */
static int tests_passed_, tests_failed_;

#define TEST(name) static void name(void)

#define FAIL_(...)                                                        \
    do {                                                                  \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                   \
        fprintf(stderr, __VA_ARGS__);                                     \
        fputc('\n', stderr);                                              \
        test_failed_++;                                                   \
        return;                                                           \
    } while (0)

#define ASSERT(cond)                                                      \
    do { if (!(cond)) FAIL_("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ(a, b)                                                   \
    do {                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);               \
        if (a_ != b_) FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);    \
    } while (0)

#define ASSERT_STREQ(a, b)                                                \
    do {                                                                  \
        const char *a_ = (a), *b_ = (b);                                  \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                            \
            FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                   \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                             \
    do { if (memcmp((a), (b), (n)) != 0) FAIL_("%s == %s (%zu bytes)", #a, #b, (size_t)(n)); } while (0)

#define RUN(name)                                                         \
    do {                                                                  \
        test_failed_ = 0;                                                 \
        name();                                                           \
        if (test_failed_) { tests_failed_++; fprintf(stderr, "FAIL %s\n", #name); } \
        else tests_passed_++;                                             \
    } while (0)

#define TEST_SUMMARY()                                                    \
    (printf("%s: %d passed, %d failed\n", __FILE__, tests_passed_, tests_failed_), \
     tests_failed_ ? 1 : 0)

#endif
