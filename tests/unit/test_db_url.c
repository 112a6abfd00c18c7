/* test_db_url.c - Redis URLs: every accepted form, every refusal, and a
 * password that never shows in the redacted form. */
#include "db_url.h"
#include "test.h"

TEST(tcp_url_with_everything)
{
    struct db_url u;
    char err[128], shown[300];
    ASSERT_EQ(db_url_parse(&u, "redis://:s3cret@db.example:6380/2", err, sizeof err), 0);
    ASSERT(!u.is_unix);
    ASSERT_STREQ(u.host, "db.example");
    ASSERT_EQ(u.port, 6380);
    ASSERT_EQ(u.db, 2);
    ASSERT_STREQ(u.password, "s3cret");
    db_redacted_url(&u, shown, sizeof shown);
    ASSERT(strstr(shown, "s3cret") == NULL);
    ASSERT(strstr(shown, "db.example:6380") != NULL);
    db_url_free(&u);
    ASSERT(u.password == NULL);
}

TEST(tcp_url_defaults)
{
    struct db_url u;
    char err[128];
    ASSERT_EQ(db_url_parse(&u, "redis://127.0.0.1", err, sizeof err), 0);
    ASSERT_EQ(u.port, 6379);
    ASSERT_EQ(u.db, 0);
    ASSERT(u.password == NULL);
    db_url_free(&u);
}

TEST(ipv6_host)
{
    struct db_url u;
    char err[128];
    ASSERT_EQ(db_url_parse(&u, "redis://[::1]:7000", err, sizeof err), 0);
    ASSERT_STREQ(u.host, "::1");
    ASSERT_EQ(u.port, 7000);
    db_url_free(&u);
}

TEST(unix_url_with_db)
{
    struct db_url u;
    char err[128];
    ASSERT_EQ(db_url_parse(&u, "unix:///run/redis/redis.sock?db=3", err, sizeof err), 0);
    ASSERT(u.is_unix);
    ASSERT_STREQ(u.host, "/run/redis/redis.sock");
    ASSERT_EQ(u.db, 3);
    db_url_free(&u);
}

TEST(bad_urls_are_refused_with_a_reason)
{
    static const char *const bad[] = {
        "http://x", "redis://", "redis://h:0", "redis://h:70000", "redis://h:12ab",
        "redis://user@h", "redis://h/x", "unix://relative.sock", "unix:///s?db=x",
        "unix:///s?foo=1",
        /* each of these was accepted before the whole URL was checked */
        "redis://h:+80", "redis://h: 80", "redis://ho st", "redis://h\x1b", "redis://[::1]x",
        "redis://[zz]:1", "redis://[]", "redis://user:pw@h", "redis://:@h", "redis://h/-1",
        "redis://h/+1", "redis://h/ 1", "redis://h/99999999999", "unix:///s?db=-1",
        "unix:///s?db=", "unix:///s?db=99999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct db_url u;
        char err[128] = "";
        if (db_url_parse(&u, bad[i], err, sizeof err) != -1)
            FAIL_("accepted %s", bad[i]);
        if (err[0] == '\0')
            FAIL_("no reason for %s", bad[i]);
    }
}

TEST(password_may_hold_at_and_slash)
{
    struct db_url u;
    char err[128];
    ASSERT_EQ(db_url_parse(&u, "redis://:p@s/s@h:1/2", err, sizeof err), 0);
    ASSERT_STREQ(u.password, "p@s/s");
    ASSERT_STREQ(u.host, "h");
    ASSERT_EQ(u.port, 1);
    ASSERT_EQ(u.db, 2);
    db_url_free(&u);
}

TEST(errors_never_quote_the_url)
{
    static const char *const bad[] = {
        "http://:hunter2@x", "redis://:hunter2@h:0", "redis://:hunter2@", "redis://u:hunter2@h",
        "redis://:hunter2@[x]", "redis://:hunter2@h/z", "redis://:hunter2@h:1x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct db_url u;
        char err[128] = "";
        if (db_url_parse(&u, bad[i], err, sizeof err) != -1)
            FAIL_("accepted %s", bad[i]);
        if (strstr(err, "hunter2"))
            FAIL_("password in \"%s\"", err);
        if (u.password)
            FAIL_("password left allocated for %s", bad[i]);
    }
}

int main(void)
{
    RUN(tcp_url_with_everything);
    RUN(tcp_url_defaults);
    RUN(ipv6_host);
    RUN(unix_url_with_db);
    RUN(bad_urls_are_refused_with_a_reason);
    RUN(password_may_hold_at_and_slash);
    RUN(errors_never_quote_the_url);
    return TEST_SUMMARY();
}
