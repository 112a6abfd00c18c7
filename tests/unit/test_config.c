/* test_config.c - config file parsing, defaults, validation, errors. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "test.h"
#include "config.h"

static char errbuf[4096];

/*
 * Writes text to a fresh /tmp file and loads it into *c (which gets
 * defaults first). Error lines land in errbuf with the file's path
 * replaced by "T", so "T:3: listen: ..." can be compared exactly.
 */
static int load_text(struct config *c, const char *text)
{
    char path[] = "/tmp/chatgw-test-XXXXXX", *out = NULL, *p;
    size_t outlen = 0, plen = strlen(path);
    FILE *errs = open_memstream(&out, &outlen);
    int fd = mkstemp(path), rc;
    size_t n = strlen(text), o = 0;

    if (fd < 0 || !errs || write(fd, text, n) != (ssize_t)n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    close(fd);
    config_defaults(c);
    rc = config_load(c, path, errs);
    fclose(errs);
    unlink(path);
    for (p = out; *p && o + 1 < sizeof errbuf;) {
        if (strncmp(p, path, plen) == 0) {
            errbuf[o++] = 'T';
            p += plen;
        } else {
            errbuf[o++] = *p++;
        }
    }
    errbuf[o] = '\0';
    free(out);
    return rc;
}

/* Loads text that must fail with exactly the error lines want. */
#define EXPECT_ERRORS(text, want)                                         \
    do {                                                                  \
        struct config c_;                                                 \
        int rc_ = load_text(&c_, text);                                   \
        ASSERT_EQ(c_.nstores, 0);                                         \
        config_free(&c_);                                                 \
        ASSERT_EQ(rc_, -1);                                               \
        ASSERT_STREQ(errbuf, want);                                       \
    } while (0)

TEST(defaults)
{
    struct config c;

    config_defaults(&c);
    ASSERT(c.path == NULL);
    ASSERT_STREQ(c.listen, "127.0.0.1:8080");
    ASSERT(!c.reuseport);
    ASSERT_STREQ(c.tls_cert, "");
    ASSERT_STREQ(c.redis, "");
    ASSERT_STREQ(c.redis_server, "redis-server");
    ASSERT_STREQ(c.state_dir, "/var/lib/chatgw");
    ASSERT_EQ(c.redis_connect_timeout_ms, 2000);
    ASSERT_EQ(c.redis_backoff_max_ms, 5000);
    ASSERT_EQ(c.transcript_ttl_ms, 90ULL * 86400 * 1000);
    ASSERT_STREQ(c.node_id, "");
    ASSERT_EQ(c.log_level, LOG_INFO);
    ASSERT_EQ(c.max_frame_bytes, 8192);
    ASSERT_EQ(c.max_depth, 8);
    ASSERT_EQ(c.max_elems, 512);
    ASSERT_EQ(c.max_sessions, 19000);
    ASSERT_EQ(c.max_sessions_per_ip, 200);
    ASSERT(c.msg_rate == 10.0);
    ASSERT_EQ(c.msg_burst, 20);
    ASSERT_EQ(c.bad_frames_max, 3);
    ASSERT_EQ(c.bad_frames_window_ms, 10000);
    ASSERT_EQ(c.outbound_max_bytes, 256 * 1024);
    ASSERT_EQ(c.inflight_max, 16);
    ASSERT_EQ(c.hello_timeout_ms, 10000);
    ASSERT_EQ(c.ping_interval_ms, 30000);
    ASSERT_EQ(c.idle_timeout_ms, 75000);
    ASSERT_EQ(c.shutdown_timeout_ms, 5000);
    ASSERT_EQ(c.nstores, 0);
    config_free(&c);
    config_free(&c);                    /* freeing twice is harmless */
}

TEST(store_defaults)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "store shop1\n"), 0);
    ASSERT_EQ(c.nstores, 1);
    const struct store_conf *s = config_find_store(&c, "shop1");
    ASSERT(s != NULL);
    ASSERT_STREQ(s->id, "shop1");
    ASSERT_STREQ(s->name, "shop1");
    ASSERT_STREQ(s->greeting, "Hello, welcome to {store}! How can I help you?");
    ASSERT_EQ(s->nhold_text, 1);
    ASSERT_STREQ(s->hold_text[0], "Thanks for waiting! All our agents are busy right now; we will be "
                                  "with you shortly.");
    ASSERT_STREQ(s->timezone, "UTC");
    ASSERT_EQ(s->ngroups, 2);
    ASSERT_STREQ(s->groups[0], "pre-sales");
    ASSERT_STREQ(s->groups[1], "after-sales");
    ASSERT_STREQ(s->default_group, "pre-sales");
    ASSERT_EQ(s->max_text_chars, 2000);
    ASSERT_EQ(s->hold_after_ms, 20000);
    ASSERT_EQ(s->breach_after_ms, 30000);
    ASSERT_EQ(s->hold_every_ms, 30000);
    ASSERT_EQ(s->hold_max, 3);
    ASSERT_EQ(s->reassign_after_ms, 60000);
    ASSERT_EQ(s->away_reassign_ms, 120000);
    ASSERT_EQ(config_clock_start_ms(s), 20000);
    config_free(&c);
}

TEST(empty_file_is_valid)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "# nothing\n\n   \n"), 0);
    ASSERT_STREQ(errbuf, "");
    ASSERT(c.path != NULL);
    ASSERT_EQ(c.nstores, 0);
    ASSERT_STREQ(c.listen, "127.0.0.1:8080");
    config_free(&c);
}

TEST(quoting_escapes_comments)
{
    struct config c;

    ASSERT_EQ(load_text(&c,
        "   state_dir ./var#comment right after\n"
        "\tnode_id \"a \\\"b\\\" \\\\ c\\nd # not a comment\"   # a comment\n"
        "redis \"\"\n"
        "log_level debug\r\n"
        "store s\n"
        "  name \"Demo Flagship Store\"\n"), 0);
    ASSERT_STREQ(c.state_dir, "./var");
    ASSERT_STREQ(c.node_id, "a \"b\" \\ c\nd # not a comment");
    ASSERT_STREQ(c.redis, "");
    ASSERT_EQ(c.log_level, LOG_DEBUG);
    ASSERT_STREQ(c.stores[0].name, "Demo Flagship Store");
    config_free(&c);
}

TEST(quoting_errors)
{
    EXPECT_ERRORS("node_id \"abc\n"
                  "node_id \"a\\tb\"\n"
                  "state_dir \"a\"b\n"
                  "\"quoted\" name\n",
                  "T:1: node_id: unterminated quote\n"
                  "T:2: node_id: unknown escape \\t (use \\\" \\\\ or \\n)\n"
                  "T:3: state_dir: text right after a closing quote\n"
                  "T:4: quoted: unknown option\n");
}

TEST(value_count)
{
    EXPECT_ERRORS("listen\n"
                  "state_dir /a /b\n"
                  "store s\n"
                  "name Demo Store\n"
                  "groups\n",
                  "T:1: listen: missing value\n"
                  "T:2: state_dir: expects one value (quote a value that contains spaces)\n"
                  "T:4: name: expects one value (quote a value that contains spaces)\n"
                  "T:5: groups: expects 1 to 16 names, got 0\n");
}

TEST(strings)
{
    EXPECT_ERRORS("state_dir \"\"\n"
                  "redis http://x\n"
                  "node_id \"\xff\"\n",
                  "T:1: state_dir: must not be empty\n"
                  "T:2: redis: URL must start with redis:// or unix:// (expected "
                  "redis://[:password@]host[:port][/db] or unix:///path/to.sock[?db=N])\n"
                  "T:3: node_id: not valid UTF-8\n");
    struct config c;
    ASSERT_EQ(load_text(&c, "redis redis://:pw@10.0.0.1:6380/2\n"), 0);
    ASSERT_STREQ(c.redis, "redis://:pw@10.0.0.1:6380/2");
    config_free(&c);
    ASSERT_EQ(load_text(&c, "redis unix:///tmp/x/redis.sock?db=3\n"), 0);
    ASSERT_STREQ(c.redis, "unix:///tmp/x/redis.sock?db=3");
    config_free(&c);
}

TEST(bools)
{
    static const char *yes[] = { "yes", "true", "on", "YES" }, *no[] = { "no", "false", "off" };
    char text[64];
    struct config c;

    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        snprintf(text, sizeof text, "reuseport %s\n", yes[i]);
        ASSERT_EQ(load_text(&c, text), 0);
        ASSERT(c.reuseport);
        config_free(&c);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        snprintf(text, sizeof text, "reuseport %s\n", no[i]);
        ASSERT_EQ(load_text(&c, text), 0);
        ASSERT(!c.reuseport);
        config_free(&c);
    }
    EXPECT_ERRORS("reuseport maybe\n", "T:1: reuseport: expected yes or no, got \"maybe\"\n");
}

TEST(uint32s)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "max_depth 32\nmax_elems 16\nmax_sessions 1000000\nstore s\nmax_text_chars 1\n"), 0);
    ASSERT_EQ(c.max_depth, 32);
    ASSERT_EQ(c.max_elems, 16);
    ASSERT_EQ(c.max_sessions, 1000000);
    ASSERT_EQ(c.stores[0].max_text_chars, 1);
    config_free(&c);
    EXPECT_ERRORS("max_depth 0\n"
                  "max_elems 65537\n"
                  "inflight_max -1\n"
                  "msg_burst 3x\n"
                  "max_sessions 99999999999999999999999\n"
                  "store s\n"
                  "max_text_chars 65537\n",
                  "T:1: max_depth: must be between 1 and 32\n"
                  "T:2: max_elems: must be between 16 and 65536\n"
                  "T:3: inflight_max: invalid number \"-1\"\n"
                  "T:4: msg_burst: invalid number \"3x\"\n"
                  "T:5: max_sessions: must be between 1 and 1000000\n"
                  "T:7: max_text_chars: must be between 1 and 65536\n");
}

TEST(doubles)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "msg_rate 2.5\n"), 0);
    ASSERT(c.msg_rate == 2.5);
    config_free(&c);
    ASSERT_EQ(load_text(&c, "msg_rate .1\n"), 0);
    ASSERT(c.msg_rate == 0.1);
    config_free(&c);
    EXPECT_ERRORS("msg_rate 0.05\n", "T:1: msg_rate: must be between 0.1 and 10000\n");
    EXPECT_ERRORS("msg_rate 10001\n", "T:1: msg_rate: must be between 0.1 and 10000\n");
    EXPECT_ERRORS("msg_rate nan\n", "T:1: msg_rate: invalid number \"nan\"\n");
    EXPECT_ERRORS("msg_rate 1e999\n", "T:1: msg_rate: invalid number \"1e999\"\n");
    EXPECT_ERRORS("msg_rate 5/s\n", "T:1: msg_rate: invalid number \"5/s\"\n");
}

TEST(durations)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "hello_timeout 500ms\nping_interval 5m\nidle_timeout 2h\n"
                            "transcript_ttl 90d\nbad_frames_window 7\nshutdown_timeout 0\n"
                            "redis_connect_timeout 3S\n"), 0);
    ASSERT_EQ(c.hello_timeout_ms, 500);
    ASSERT_EQ(c.ping_interval_ms, 5 * 60000);
    ASSERT_EQ(c.idle_timeout_ms, 2 * 3600000);
    ASSERT_EQ(c.transcript_ttl_ms, 90ULL * 86400000);
    ASSERT_EQ(c.bad_frames_window_ms, 7000);
    ASSERT_EQ(c.shutdown_timeout_ms, 0);
    ASSERT_EQ(c.redis_connect_timeout_ms, 3000);
    config_free(&c);
    EXPECT_ERRORS("hello_timeout 10x\n"
                  "hello_timeout_ms 10\n"
                  "shutdown_timeout 1.5s\n"
                  "redis_connect_timeout 50ms\n"
                  "transcript_ttl 3651d\n",
                  "T:1: hello_timeout: invalid duration \"10x\" (e.g. 500ms, 10s, 5m, 2h, 90d)\n"
                  "T:2: hello_timeout_ms: unknown option\n"
                  "T:3: shutdown_timeout: invalid duration \"1.5s\" (e.g. 500ms, 10s, 5m, 2h, 90d)\n"
                  "T:4: redis_connect_timeout: must be between 100ms and 1m\n"
                  "T:5: transcript_ttl: must be between 1s and 3650d\n");
}

TEST(sizes)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "max_frame_bytes 1m\noutbound_max_bytes 4096\n"), 0);
    ASSERT_EQ(c.max_frame_bytes, 1048576);
    ASSERT_EQ(c.outbound_max_bytes, 4096);
    config_free(&c);
    ASSERT_EQ(load_text(&c, "max_frame_bytes 256\noutbound_max_bytes 64m\n"), 0);
    ASSERT_EQ(c.max_frame_bytes, 256);
    ASSERT_EQ(c.outbound_max_bytes, 64u << 20);
    config_free(&c);
    EXPECT_ERRORS("max_frame_bytes 2m\n"
                  "outbound_max_bytes 8q\n"
                  "max_frame_bytes 255\n",
                  "T:1: max_frame_bytes: must be between 256 and 1048576\n"
                  "T:2: outbound_max_bytes: invalid size \"8q\" (e.g. 512, 8k, 1m)\n"
                  "T:3: max_frame_bytes: given twice (first on line 1)\n");
}

TEST(log_levels)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    char text[64];
    struct config c;

    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "log_level %s\n", names[i]);
        ASSERT_EQ(load_text(&c, text), 0);
        ASSERT_EQ(c.log_level, LOG_ERROR + i);
        config_free(&c);
    }
    EXPECT_ERRORS("log_level verbose\n",
                  "T:1: log_level: expected error, warn, info or debug, got \"verbose\"\n");
}

TEST(listen_addresses)
{
    static const char *ok[] = { "0.0.0.0:1", "[::1]:8080", "[::]:65535", "localhost:80" };
    char text[64];
    struct config c;

    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        snprintf(text, sizeof text, "listen %s\n", ok[i]);
        ASSERT_EQ(load_text(&c, text), 0);
        ASSERT_STREQ(c.listen, ok[i]);
        config_free(&c);
    }
    EXPECT_ERRORS("listen 8080\n", "T:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, "
                  "got \"8080\"\n");
    EXPECT_ERRORS("listen :8080\n", "T:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, "
                  "got \":8080\"\n");
    EXPECT_ERRORS("listen ::1:8080\n", "T:1: listen: an IPv6 address needs brackets, e.g. [::1]:8080\n");
    EXPECT_ERRORS("listen 127.0.0.1:0\n", "T:1: listen: port must be between 1 and 65535\n");
    EXPECT_ERRORS("listen 127.0.0.1:65536\n", "T:1: listen: port must be between 1 and 65535\n");
    EXPECT_ERRORS("listen 127.0.0.1:http\n", "T:1: listen: port must be between 1 and 65535\n");
    EXPECT_ERRORS("listen [zz]:80\n", "T:1: listen: invalid IPv6 address \"zz\"\n");
    EXPECT_ERRORS("listen ho/st:80\n", "T:1: listen: invalid host \"ho/st\"\n");
}

TEST(allowed_origins_and_metrics_listen)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "metrics_listen \"\"\n"), 0);
    ASSERT_EQ(c.nallowed_origins, 0);
    ASSERT_STREQ(c.metrics_listen, "");
    config_free(&c);
    ASSERT_EQ(load_text(&c, "allowed_origins https://desk.example.com http://[::1]:8080 "
                            "HTTP://10.0.0.1:80\nmetrics_listen 127.0.0.1:9180\n"), 0);
    ASSERT_EQ(c.nallowed_origins, 3);
    ASSERT_STREQ(c.allowed_origins[1], "http://[::1]:8080");
    ASSERT_STREQ(c.metrics_listen, "127.0.0.1:9180");
    config_free(&c);
    ASSERT_EQ(load_text(&c, "allowed_origins\n"), 0);          /* an empty list */
    ASSERT_EQ(c.nallowed_origins, 0);
    config_free(&c);
    EXPECT_ERRORS("allowed_origins desk.example.com\n"
                  "metrics_listen 9180\n",
                  "T:1: allowed_origins: expected http://HOST[:PORT] or https://HOST[:PORT], "
                  "got \"desk.example.com\"\n"
                  "T:2: metrics_listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, "
                  "got \"9180\"\n");
    EXPECT_ERRORS("allowed_origins https://a.example/\n",
                  "T:1: allowed_origins: invalid origin \"https://a.example/\" "
                  "(scheme://host[:port], no path)\n");
    EXPECT_ERRORS("allowed_origins https://a.example:123456\n",
                  "T:1: allowed_origins: invalid origin \"https://a.example:123456\" "
                  "(scheme://host[:port], no path)\n");
    EXPECT_ERRORS("allowed_origins http://[::1\n",
                  "T:1: allowed_origins: invalid origin \"http://[::1\" "
                  "(scheme://host[:port], no path)\n");
}

TEST(groups_and_default_group)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "store s\n  default_group vip\n  groups sales vip A_b.c-9\n"), 0);
    ASSERT_EQ(c.stores[0].ngroups, 3);
    ASSERT_STREQ(c.stores[0].groups[2], "A_b.c-9");
    ASSERT_STREQ(c.stores[0].default_group, "vip");
    ASSERT(config_store_has_group(&c.stores[0], "sales"));
    ASSERT(!config_store_has_group(&c.stores[0], "pre-sales"));
    ASSERT(!config_store_has_group(&c.stores[0], NULL));
    config_free(&c);
    ASSERT_EQ(load_text(&c, "store s\n  groups vip sales\n"), 0);
    ASSERT_STREQ(c.stores[0].default_group, "vip");
    config_free(&c);
    EXPECT_ERRORS("store s\n"
                  "groups a b c d e f g h i j k l m n o p q\n"
                  "store t\n"
                  "groups a b a\n"
                  "store u\n"
                  "groups a b/c\n"
                  "store v\n"
                  "default_group after\n"
                  "store w\n"
                  "groups x y\n",
                  "T:2: groups: expects 1 to 16 names, got 17\n"
                  "T:4: groups: duplicate name \"a\"\n"
                  "T:6: groups: invalid name \"b/c\" (1 to 64 of A-Z a-z 0-9 _ . -)\n"
                  "T:8: default_group: \"after\" is not one of groups\n");
}

TEST(store_blocks)
{
    struct config c;

    ASSERT_EQ(load_text(&c,
        "listen 127.0.0.1:9000\n"
        "store demo\n"
        "  name \"Demo Store\"\n"
        "  max_text_chars 100\n"
        "store other.shop_2\n"
        "  hold_after 5s\n"), 0);
    ASSERT_STREQ(c.listen, "127.0.0.1:9000");
    ASSERT_EQ(c.nstores, 2);
    const struct store_conf *d = config_find_store(&c, "demo"), *o = config_find_store(&c, "other.shop_2");
    ASSERT(d && o);
    ASSERT_STREQ(d->name, "Demo Store");
    ASSERT_EQ(d->max_text_chars, 100);
    ASSERT_EQ(d->hold_after_ms, 20000);
    ASSERT_STREQ(o->name, "other.shop_2");
    ASSERT_EQ(o->max_text_chars, 2000);
    ASSERT_EQ(o->hold_after_ms, 5000);
    ASSERT(config_find_store(&c, "nope") == NULL);
    ASSERT(config_find_store(&c, NULL) == NULL);
    config_free(&c);
}

TEST(store_block_errors)
{
    char id65[128], text[256], want[256];

    memset(id65, 'a', 65);
    id65[65] = '\0';
    snprintf(text, sizeof text, "store %s\nstore\nstore a b\n", id65);
    snprintf(want, sizeof want, "T:1: store: invalid name \"%s\" (1 to 64 of A-Z a-z 0-9 _ . -)\n"
             "T:2: store: missing store id\nT:3: store: expects one store id\n", id65);
    EXPECT_ERRORS(text, want);
    EXPECT_ERRORS("greeting hi\n"
                  "store a\n"
                  "  listen 127.0.0.1:1\n"
                  "  frobnicate 1\n"
                  "store a\n"
                  "store x/y\n",
                  "T:1: greeting: store option before any `store` line\n"
                  "T:3: listen: global option inside a store block (move it above the first `store` line)\n"
                  "T:4: frobnicate: unknown option\n"
                  "T:5: store: duplicate store id \"a\" (first on line 2)\n"
                  "T:6: store: invalid name \"x/y\" (1 to 64 of A-Z a-z 0-9 _ . -)\n");
}

TEST(templates)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "store s\n greeting \"Hi {buyer}, {{this}} is {store}\"\n"
                            " hold_text \"#{position} {agent}\"\n"), 0);
    ASSERT_STREQ(c.stores[0].greeting, "Hi {buyer}, {{this}} is {store}");
    ASSERT_EQ(c.stores[0].nhold_text, 1);
    ASSERT_STREQ(c.stores[0].hold_text[0], "#{position} {agent}");
    config_free(&c);
    /* several holding replies: the lines add up, replacing the default */
    ASSERT_EQ(load_text(&c, "store s\n hold_text one\n hold_text \"two {agent}\"\n"
                            "store t\n hold_max 0\n reassign_after 0\n"), 0);
    ASSERT_EQ(c.stores[0].nhold_text, 2);
    ASSERT_STREQ(c.stores[0].hold_text[0], "one");
    ASSERT_STREQ(c.stores[0].hold_text[1], "two {agent}");
    ASSERT_EQ(c.stores[1].nhold_text, 1);
    ASSERT_EQ(config_clock_start_ms(&c.stores[1]), 30000);   /* only the breach is left */
    config_free(&c);
    EXPECT_ERRORS("store s\n"
                  "hold_text 1\nhold_text 2\nhold_text 3\nhold_text 4\nhold_text 5\n"
                  "hold_text 6\nhold_text 7\nhold_text 8\nhold_text 9\n",
                  "T:10: hold_text: given more than 8 times\n");
    EXPECT_ERRORS("store s\n"
                  "greeting \"Hello {shop}\"\n"
                  "hold_text \"You are {position\"\n",
                  "T:2: greeting: unknown placeholder {shop} (known: {store} {buyer} {position} {agent} {opens})\n"
                  "T:3: hold_text: unclosed { (write {{ for a literal brace)\n");
}

TEST(timezones)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "store a\ntimezone Asia/Shanghai\nstore b\ntimezone UTC\n"), 0);
    ASSERT_STREQ(c.stores[0].timezone, "Asia/Shanghai");
    ASSERT_STREQ(c.stores[1].timezone, "UTC");
    config_free(&c);
    EXPECT_ERRORS("store s\n"
                  "timezone Mars/Olympus\n"
                  "store t\n"
                  "timezone ../../etc/passwd\n"
                  "store u\n"
                  "timezone Asia\n",
                  "T:2: timezone: unknown time zone \"Mars/Olympus\" (no file /usr/share/zoneinfo/Mars/Olympus)\n"
                  "T:4: timezone: invalid time zone \"../../etc/passwd\" (an IANA name like Asia/Shanghai)\n"
                  "T:6: timezone: unknown time zone \"Asia\" (no file /usr/share/zoneinfo/Asia)\n");
}

TEST(cross_option_rules)
{
    EXPECT_ERRORS("ping_interval 75s\n"
                  "store a\n"
                  "  hold_after 60s\n"
                  "store b\n"
                  "  breach_after 20s\n",
                  "T:3: hold_after: must be less than breach_after (30s)\n"
                  "T:5: breach_after: must be greater than hold_after (20s)\n"
                  "T:1: ping_interval: must be less than idle_timeout (75s)\n");
    EXPECT_ERRORS("idle_timeout 30s\n", "T:1: idle_timeout: must be greater than ping_interval (30s)\n");
    EXPECT_ERRORS("tls_key conf/demo.conf\n", "T:1: tls_key: tls_cert and tls_key must be set together\n");
}

/* A self-signed EC certificate and its key, as PEM files cert and key. */
static int make_pair(const char *cert, const char *key)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    FILE *fc = fopen(cert, "w"), *fk = fopen(key, "w");
    int ok = k && x && fc && fk &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                        (const unsigned char *)"127.0.0.1", -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) &&
             X509_set_pubkey(x, k) && X509_sign(x, k, EVP_sha256()) &&
             PEM_write_X509(fc, x) && PEM_write_PrivateKey(fk, k, NULL, NULL, 0, NULL, NULL);

    if (fc)
        fclose(fc);
    if (fk)
        fclose(fk);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

TEST(tls_pair_is_read_and_matched)
{
    char text[1024], want[1024];
    const char *c1 = "/tmp/chatgw-test-c1.pem", *k1 = "/tmp/chatgw-test-k1.pem";
    const char *k2 = "/tmp/chatgw-test-k2.pem", *c2 = "/tmp/chatgw-test-c2.pem";
    struct config c;

    ASSERT(make_pair(c1, k1) == 0 && make_pair(c2, k2) == 0);
    snprintf(text, sizeof text, "tls_cert %s\ntls_key %s\n", c1, k1);
    ASSERT_EQ(load_text(&c, text), 0);
    ASSERT_STREQ(c.tls_key, k1);
    config_free(&c);
    /* another certificate's key */
    snprintf(text, sizeof text, "tls_cert %s\ntls_key %s\n", c1, k2);
    snprintf(want, sizeof want, "T:2: tls_key: \"%s\" is not the private key of tls_cert \"%s\"\n",
             k2, c1);
    EXPECT_ERRORS(text, want);
    /* the two swapped: neither is what it should be */
    snprintf(text, sizeof text, "tls_key %s\ntls_cert %s\n", c1, k1);
    snprintf(want, sizeof want, "T:2: tls_cert: \"%s\" holds no PEM certificate\n"
             "T:1: tls_key: \"%s\" holds no PEM private key (or one encrypted with a passphrase, "
             "which chatgwd cannot be given)\n", k1, c1);
    EXPECT_ERRORS(text, want);
    /* a file that is no PEM at all */
    snprintf(text, sizeof text, "tls_cert conf/demo.conf\ntls_key %s\n", k1);
    EXPECT_ERRORS(text, "T:1: tls_cert: \"conf/demo.conf\" holds no PEM certificate\n");
    unlink(c1); unlink(k1); unlink(c2); unlink(k2);
}

TEST(all_errors_reported_and_defaults_kept)
{
    struct config c;

    ASSERT_EQ(load_text(&c,
        "listen nowhere\n"
        "max_depth 99\n"
        "state_dir /srv/x\n"
        "store ok\n"
        "bogus 1\n"
        "max_text_chars 0\n"), -1);
    ASSERT_STREQ(errbuf,
        "T:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, got \"nowhere\"\n"
        "T:2: max_depth: must be between 1 and 32\n"
        "T:5: bogus: unknown option\n"
        "T:6: max_text_chars: must be between 1 and 65536\n");
    ASSERT(c.path == NULL);
    ASSERT_EQ(c.nstores, 0);
    ASSERT_STREQ(c.listen, "127.0.0.1:8080");
    ASSERT_STREQ(c.state_dir, "/var/lib/chatgw");
    ASSERT_EQ(c.max_depth, 8);
    config_free(&c);
}

TEST(missing_file)
{
    struct config c;

    config_defaults(&c);
    ASSERT_EQ(config_load(&c, "/nonexistent/chatgw.conf", NULL), -1);
    ASSERT_STREQ(c.listen, "127.0.0.1:8080");
    config_free(&c);
}

TEST(reload_replaces_previous)
{
    struct config c;
    char path[] = "/tmp/chatgw-test-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "listen 127.0.0.1:9\nstore z\n";

    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    ASSERT_EQ(load_text(&c, "store a\nstore b\n"), 0);
    ASSERT_EQ(config_load(&c, path, NULL), 0);   /* on top of a loaded config: no leak */
    unlink(path);
    ASSERT_EQ(c.nstores, 1);
    ASSERT_STREQ(c.stores[0].id, "z");
    ASSERT_STREQ(c.listen, "127.0.0.1:9");
    ASSERT_STREQ(c.path, path);
    config_free(&c);
}

TEST(shipped_configs_load)
{
    struct config c;

    config_defaults(&c);
    ASSERT_EQ(config_load(&c, "conf/chatgw.conf", stderr), 0);
    ASSERT_EQ(c.nstores, 0);
    ASSERT_STREQ(c.state_dir, "/var/lib/chatgw");
    config_free(&c);

    config_defaults(&c);
    ASSERT_EQ(config_load(&c, "conf/demo.conf", stderr), 0);
    ASSERT_STREQ(c.listen, "127.0.0.1:8080");
    ASSERT_STREQ(c.redis, "");
    ASSERT_STREQ(c.state_dir, "./var");
    ASSERT_EQ(c.nstores, 1);
    const struct store_conf *s = config_find_store(&c, "demo");
    ASSERT(s != NULL);
    ASSERT_STREQ(s->name, "Demo Flagship Store");
    ASSERT(strstr(s->greeting, "{store}") != NULL);
    ASSERT_STREQ(s->timezone, "Asia/Shanghai");
    ASSERT_EQ(s->ngroups, 2);
    ASSERT_STREQ(s->groups[0], "pre-sales");
    ASSERT_STREQ(s->groups[1], "after-sales");
    config_free(&c);
}

TEST(written_defaults_match_shipped_file)
{
    char *buf = NULL, file[65536];
    size_t len = 0, n;
    FILE *out = open_memstream(&buf, &len), *in = fopen("conf/chatgw.conf", "r");

    ASSERT(out && in);
    config_write_defaults(out);
    fclose(out);
    n = fread(file, 1, sizeof file, in);
    fclose(in);
    int same = n == len && memcmp(buf, file, n) == 0;
    free(buf);
    if (!same)
        FAIL_("conf/chatgw.conf differs from config_write_defaults(); regenerate it with "
              "build/chatgwd --print-config > conf/chatgw.conf");
}

/* The option names of the tables, from the commented config: "#name" and
 * "#    name" lines, space-separated into names (each followed by ' '). */
static void option_names(char *names, size_t cap)
{
    char *buf = NULL, *p;
    size_t len = 0, n = 0;
    FILE *out = open_memstream(&buf, &len);

    config_write_defaults(out);
    fclose(out);
    names[0] = '\0';
    long plugin_indent = -1;            /* lines indented deeper are a plugin's own */
    for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        long indent = p[0] == '#' ? (long)strspn(p + 1, " ") : -1;
        if (plugin_indent >= 0 && indent > plugin_indent)
            continue;
        plugin_indent = -1;
        if (indent >= 0 && strncmp(p + 1 + indent, "plugin ", 7) == 0) {
            plugin_indent = indent;
            continue;                   /* "plugin NAME PATH": has its own man entry */
        }
        const char *q = p[0] == '#' && islower((unsigned char)p[1]) ? p + 1 :
                        strncmp(p, "#    ", 5) == 0 && islower((unsigned char)p[5]) ? p + 5 : NULL;
        size_t k = q ? strcspn(q, " \n") : 0;
        if (k == 5 && strncmp(q, "store", 5) == 0)
            continue;                   /* "#store example": the block, no option */
        if (k && n + k + 1 < cap) {
            memcpy(names + n, q, k);
            names[n + k] = ' ';
            names[n += k + 1] = '\0';
        }
    }
    free(buf);
}

static bool is_option(const char *names, const char *w, size_t k)
{
    for (const char *p = names; *p; p += strcspn(p, " ") + 1)
        if (strcspn(p, " ") == k && strncmp(p, w, k) == 0)
            return true;
    return false;
}

TEST(man_page_is_the_table)
{
    char *buf = NULL, *file = malloc(1 << 20), names[4096], word[64], seen[4096] = "";
    size_t len = 0, n;
    FILE *out = open_memstream(&buf, &len), *in = fopen("man/chatgw.conf.5", "r");
    int entries = 0;

    ASSERT(out && in && file);
    config_write_man(out);
    fclose(out);
    n = fread(file, 1, (1 << 20) - 1, in);
    fclose(in);
    file[n] = '\0';
    int same = n == len && memcmp(buf, file, n) == 0;
    free(buf);
    if (!same) {
        free(file);
        FAIL_("man/chatgw.conf.5 differs from config_write_man(); regenerate it with "
              "build/chatgwd --print-config=man > man/chatgw.conf.5");
    }
    option_names(names, sizeof names);
    ASSERT(strlen(names) > 200);
    snprintf(names + strlen(names), sizeof names - strlen(names), "plugin ");
    /* each entry (".TP" then "\fBname\fR") is an option, and each option has one */
    for (char *p = file; (p = strstr(p, ".TP\n\\fB")); p += 3) {
        size_t k = strcspn(p + 7, "\\");
        snprintf(word, sizeof word, "%.*s", (int)(k < 63 ? k : 63), p + 7);
        if (!is_option(names, word, k)) {
            free(file);
            FAIL_("man/chatgw.conf.5 has an entry for \"%s\", which is no option", word);
        }
        if (is_option(seen, word, k)) {
            free(file);
            FAIL_("man/chatgw.conf.5 has two entries for \"%s\"", word);
        }
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s ", word);
        entries++;
    }
    for (const char *p = names; *p; p += strcspn(p, " ") + 1) {
        size_t k = strcspn(p, " ");
        snprintf(word, sizeof word, "%.*s", (int)k, p);
        if (!is_option(seen, word, k)) {
            free(file);
            FAIL_("option \"%s\" has no entry in man/chatgw.conf.5", word);
        }
    }
    /* prose names options in bold: a bold word_with_underscores must be one */
    for (char *p = file; (p = strstr(p, "\\fB")); p += 3) {
        size_t k = strspn(p + 3, "abcdefghijklmnopqrstuvwxyz0123456789_");
        snprintf(word, sizeof word, "%.*s", (int)(k < 63 ? k : 63), p + 3);
        if (k && strchr(word, '_') && strncmp(p + 3 + k, "\\fR", 3) == 0 &&
            !is_option(names, word, k)) {
            free(file);
            FAIL_("man/chatgw.conf.5 names \"%s\", which is no option", word);
        }
    }
    free(file);
    ASSERT(entries > 40);
}

TEST(written_sample_store_block_loads)
{
    char *buf = NULL, *p, *q;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct config c;

    ASSERT(out);
    config_write_defaults(out);
    fclose(out);
    /* uncomment every option line: "#name ...", "#    name ..." and a
     * plugin's "#        key ..." (its indentation is kept: it matters) */
    for (p = q = buf; *p; ) {
        size_t sp = p[0] == '#' ? strspn(p + 1, " ") : 1;
        if (p[0] == '#' && sp % 4 == 0 && islower((unsigned char)p[1 + sp]))
            p += 1;
        while (*p && (*q++ = *p++) != '\n')
            ;
    }
    *q = '\0';
    int rc = load_text(&c, buf);
    free(buf);
    ASSERT_STREQ(errbuf, "");
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.nstores, 1);
    ASSERT_STREQ(c.stores[0].id, "example");
    ASSERT_STREQ(c.stores[0].name, "example");
    ASSERT_EQ(c.max_frame_bytes, 8192);
    ASSERT_EQ(c.nplugins, 1);
    ASSERT_STREQ(c.plugins[0].name, "guard");
    ASSERT_EQ(c.plugins[0].nopts, 1);
    ASSERT_STREQ(c.plugins[0].keys[0], "rules");
    ASSERT_EQ(c.stores[0].nplugins, 1);
    ASSERT_STREQ(c.stores[0].plugins[0].name, "quickreply");
    ASSERT_STREQ(c.stores[0].plugins[0].values[0], "/etc/chatgw/quickreply-zh.txt");
    config_free(&c);
}

TEST(malformed_redis_urls_are_refused)
{
    static const char *const bad[] = {
        "redis://", "redis://h:0", "redis://h:70000", "redis://h:12ab", "redis://h:+80",
        "redis://ho st", "redis://[::1]x", "redis://[zz]:1", "redis://user:pw@h", "redis://:@h",
        "redis://h/-1", "redis://h/x", "redis://h/99999999999", "unix://rel.sock", "unix:///s?db=",
    };
    char text[128];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config c;
        snprintf(text, sizeof text, "redis \"%s\"\n", bad[i]);
        int rc = load_text(&c, text);
        config_free(&c);
        if (rc != -1 || strncmp(errbuf, "T:1: redis: ", 12) != 0)
            FAIL_("accepted %s (%s)", bad[i], errbuf);
    }
}

TEST(redis_password_never_in_an_error)
{
    static const char *const bad[] = {
        "http://:hunter2@x", "redis://:hunter2@h:0", "redis://:hunter2@", "redis://x:hunter2@h",
        "redis://:hunter2@h/db", "rediss://:hunter2@h",
    };
    char text[128];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config c;
        snprintf(text, sizeof text, "redis \"%s\"\n", bad[i]);
        ASSERT_EQ(load_text(&c, text), -1);
        config_free(&c);
        if (strstr(errbuf, "hunter2"))
            FAIL_("password shown: %s", errbuf);
    }
}

TEST(tls_files_must_exist)
{
    EXPECT_ERRORS("tls_cert /nonexistent/c.pem\ntls_key conf\n",
                  "T:1: tls_cert: cannot use \"/nonexistent/c.pem\": No such file or directory\n"
                  "T:2: tls_key: \"conf\" is not a regular file\n");
}

TEST(control_bytes_in_errors_are_escaped)
{
    EXPECT_ERRORS("listen \"\x1b[2J\x01\"\n"
                  "bo\x1bgus\xc2\x9b\xff 1\n"
                  "node_id \"a\x1b]0;x\x07\"\n"
                  "name\xe4\xb8\xad 1\n",
                  "T:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, "
                  "got \"\\x1B[2J\\x01\"\n"
                  "T:2: bo\\x1Bgus\\xC2\\x9B\\xFF: unknown option\n"
                  "T:3: node_id: control character (only \\n and tabs are allowed)\n"
                  "T:4: name\xe4\xb8\xad: unknown option\n");
}

TEST(plugin_blocks_global_and_per_store)
{
    struct config c;

    ASSERT_EQ(load_text(&c, "plugin guard /x/guard.so\n"
                            "    rules \"/etc/a b.rules\"\n"
                            "\n"
                            "    # a comment does not end the block\n"
                            "    words one two  three\n"
                            "    bare\n"
                            "plugin quick quick.so\n"
                            "listen 127.0.0.1:9\n"
                            "store s1\n"
                            "  name S\n"
                            "  plugin guard g2.so\n"
                            "    rules r2\n"
                            "  groups a b\n"
                            "store s2\n"), 0);
    ASSERT_STREQ(errbuf, "");
    ASSERT_STREQ(c.listen, "127.0.0.1:9");
    ASSERT_EQ(c.plugin_hook_budget_ms, 2);
    ASSERT_EQ(c.nplugins, 2);
    ASSERT_STREQ(c.plugins[0].name, "guard");
    ASSERT_STREQ(c.plugins[0].path, "/x/guard.so");
    ASSERT_EQ(c.plugins[0].line, 1);
    ASSERT_EQ(c.plugins[0].nopts, 3);
    ASSERT_STREQ(c.plugins[0].keys[0], "rules");
    ASSERT_STREQ(c.plugins[0].values[0], "/etc/a b.rules");
    ASSERT_STREQ(c.plugins[0].values[1], "one two three");
    ASSERT_STREQ(c.plugins[0].keys[2], "bare");
    ASSERT_STREQ(c.plugins[0].values[2], "");
    ASSERT_EQ(c.plugins[1].nopts, 0);
    ASSERT_EQ(c.nstores, 2);
    ASSERT_EQ(c.stores[0].nplugins, 1);
    ASSERT_STREQ(c.stores[0].plugins[0].path, "g2.so");
    ASSERT_STREQ(c.stores[0].plugins[0].values[0], "r2");
    ASSERT_EQ(c.stores[0].ngroups, 2);       /* the block ended at `groups` */
    ASSERT_EQ(c.stores[1].nplugins, 0);
    config_free(&c);
}

TEST(plugin_line_errors)
{
    EXPECT_ERRORS("plugin\nplugin a\nplugin a b c\nplugin \"a b\" x.so\nplugin ok \"\"\n"
                  "plugin g g.so\n  bad/key 1\nplugin g h.so\n",
                  "T:1: plugin: expects a name and a path: plugin NAME PATH\n"
                  "T:2: plugin: expects a name and a path: plugin NAME PATH\n"
                  "T:3: plugin: expects a name and a path: plugin NAME PATH\n"
                  "T:4: plugin: invalid name \"a b\" (1 to 64 of A-Z a-z 0-9 _ . -)\n"
                  "T:5: plugin: must not be empty\n"
                  "T:7: bad/key: invalid plugin option name (1 to 64 of A-Z a-z 0-9 _ . -)\n"
                  "T:8: plugin: duplicate plugin \"g\" (first on line 6)\n");
    /* an option line not indented deeper is an option of the daemon */
    EXPECT_ERRORS("plugin g g.so\nrules x\n", "T:2: rules: unknown option\n");
    EXPECT_ERRORS("plugin_hook_budget 0\n",
                  "T:1: plugin_hook_budget: must be between 1ms and 10s\n");
}

/* config_load of path; errors into errbuf, path kept as is. */
static int load_path(const char *path)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *errs = open_memstream(&out, &outlen);
    struct config c;
    int rc;

    config_defaults(&c);
    rc = config_load(&c, path, errs);
    fclose(errs);
    snprintf(errbuf, sizeof errbuf, "%s", out);
    free(out);
    config_free(&c);
    return rc;
}

TEST(endless_file_fails_fast_in_bounded_memory)
{
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(load_path("/dev/zero"), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ASSERT_STREQ(errbuf, "/dev/zero:1: config: file larger than 1048576 bytes (1 MiB); stopped reading\n");
    ASSERT(t1.tv_sec - t0.tv_sec < 2);
}

TEST(file_and_line_size_limits)
{
    char path[] = "/tmp/chatgw-test-XXXXXX", want[256];
    int fd = mkstemp(path);
    char *big = malloc((1 << 20) + 2);

    ASSERT(fd >= 0 && big);
    memset(big, '#', (1 << 20) + 1);
    big[(1 << 20) + 1] = '\0';
    ASSERT_EQ(write(fd, big, (1 << 20) + 1), (1 << 20) + 1);
    close(fd);
    ASSERT_EQ(load_path(path), -1);
    snprintf(want, sizeof want, "%s:0: config: file larger than 1048576 bytes (1 MiB)\n", path);
    ASSERT_STREQ(errbuf, want);
    unlink(path);

    /* 4096 bytes (and a CR) are a line; one more is too long */
    memcpy(big, "node_id ", 8);
    memset(big + 8, 'x', 4096 - 8);
    strcpy(big + 4096, "\r\nnode_id ");
    memset(big + 4106, 'y', 4096 - 7);
    strcpy(big + 4106 + 4089, "\nstore s\n");
    struct config c;
    int rc = load_text(&c, big);
    config_free(&c);
    free(big);
    ASSERT_EQ(rc, -1);
    ASSERT_STREQ(errbuf, "T:2: node_id: line longer than 4096 bytes\n");
}

TEST(nul_byte_in_a_line_is_an_error)
{
    char path[] = "/tmp/chatgw-test-XXXXXX";
    int fd = mkstemp(path);
    char want[256];

    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, "listen \"1.2.3.4:80\0junk\"\nstore s\n", 33), 33);
    close(fd);
    ASSERT_EQ(load_path(path), -1);
    unlink(path);
    snprintf(want, sizeof want, "%s:1: listen: line holds a NUL byte\n", path);
    ASSERT_STREQ(errbuf, want);
}

TEST(errors_shown_are_capped)
{
    char *text = malloc(200 * 8 + 1), *p = text;
    int n = 0;

    ASSERT(text);
    for (int i = 0; i < 200; i++)
        p += sprintf(p, "bad%03d\n", i);
    struct config c;
    ASSERT_EQ(load_text(&c, text), -1);
    config_free(&c);
    free(text);
    for (p = errbuf; (p = strchr(p, '\n')); p++)
        n++;
    ASSERT_EQ(n, 101);
    ASSERT(strstr(errbuf, "T:101: config: more problems follow; only the first 100 are shown\n"));
}

int main(void)
{
    RUN(defaults);
    RUN(store_defaults);
    RUN(empty_file_is_valid);
    RUN(quoting_escapes_comments);
    RUN(quoting_errors);
    RUN(value_count);
    RUN(strings);
    RUN(bools);
    RUN(uint32s);
    RUN(doubles);
    RUN(durations);
    RUN(sizes);
    RUN(log_levels);
    RUN(listen_addresses);
    RUN(allowed_origins_and_metrics_listen);
    RUN(groups_and_default_group);
    RUN(store_blocks);
    RUN(store_block_errors);
    RUN(templates);
    RUN(timezones);
    RUN(cross_option_rules);
    RUN(all_errors_reported_and_defaults_kept);
    RUN(missing_file);
    RUN(reload_replaces_previous);
    RUN(plugin_blocks_global_and_per_store);
    RUN(plugin_line_errors);
    RUN(shipped_configs_load);
    RUN(malformed_redis_urls_are_refused);
    RUN(redis_password_never_in_an_error);
    RUN(tls_files_must_exist);
    RUN(tls_pair_is_read_and_matched);
    RUN(control_bytes_in_errors_are_escaped);
    RUN(endless_file_fails_fast_in_bounded_memory);
    RUN(file_and_line_size_limits);
    RUN(nul_byte_in_a_line_is_an_error);
    RUN(errors_shown_are_capped);
    RUN(written_defaults_match_shipped_file);
    RUN(written_sample_store_block_loads);
    RUN(man_page_is_the_table);
    return TEST_SUMMARY();
}
