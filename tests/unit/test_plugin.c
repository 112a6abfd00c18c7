/* test_plugin.c - the plugin loader: a good plugin loads, answers its hooks,
 * runs its timer and is cleaned up; a missing file, a missing symbol, a
 * wrong ABI version, a failing init and a reference to a daemon symbol are
 * each refused with their reason, and leave the others working. The test
 * plugins are the files of tests/unit/plugins, built into build/tests/plugins. */
#include <unistd.h>

#include "config.h"
#include "gw.h"
#include "log.h"
#include "plugin.h"
#include "test.h"

#define SO(name) "build/tests/plugins/" name ".so"

static char trace_path[] = "/tmp/chatgw-plugin-trace-XXXXXX";

static int load_conf(struct config *c, const char *text)
{
    char path[] = "/tmp/chatgw-plugin-conf-XXXXXX";
    int fd = mkstemp(path), rc;

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -1;
    close(fd);
    config_defaults(c);
    rc = config_load(c, path, stderr);
    unlink(path);
    return rc;
}

static void read_trace(char *out, size_t cap)
{
    FILE *f = fopen(trace_path, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;

    out[n] = '\0';
    if (f)
        fclose(f);
}

static void clear_trace(void)
{
    FILE *f = fopen(trace_path, "w");
    if (f)
        fclose(f);
}

/* --check-config's view: one line per plugin, the failures with their reason. */
TEST(check_reports_each_plugin_with_its_reason)
{
    struct config c;
    char text[2048], *ok = NULL, *bad = NULL;
    size_t okn = 0, badn = 0;

    snprintf(text, sizeof text,
             "plugin good " SO("good") "\n    trace %s\n"
             "plugin missing /nonexistent/missing.so\n"
             "plugin nosym " SO("nosym") "\n"
             "plugin badver " SO("badver") "\n"
             "plugin initfail " SO("initfail") "\n    trace %s\n"
             "plugin daemonsym " SO("daemonsym") "\n"
             "store s\n  plugin good " SO("good") "\n    trace %s\n", trace_path, trace_path, trace_path);
    ASSERT_EQ(load_conf(&c, text), 0);
    clear_trace();
    FILE *out = open_memstream(&ok, &okn), *errs = open_memstream(&bad, &badn);
    int failed = plugin_check(&c, out, errs);
    fclose(out);
    fclose(errs);
    ASSERT_EQ(failed, 5);
    ASSERT(strstr(ok, ":1: plugin good: ok") != NULL);
    ASSERT(strstr(ok, ":10: plugin good of store s: ok") != NULL);
    ASSERT(strstr(bad, ":3: plugin missing: /nonexistent/missing.so: cannot open shared object file") != NULL);
    ASSERT(strstr(bad, ":4: plugin nosym: missing symbol chatgw_plugin_cleanup") != NULL);
    ASSERT(strstr(bad, ":5: plugin badver: supports no ABI version of this daemon (it chose 99") != NULL);
    ASSERT(strstr(bad, ":6: plugin initfail: init failed: a bad argument (-2)") != NULL);
    ASSERT(strstr(bad, ":8: plugin daemonsym: ") != NULL);
    ASSERT(strstr(bad, "undefined symbol: store_append (a plugin may call only the host table") != NULL);
    free(ok);
    free(bad);
    char tr[512];
    read_trace(tr, sizeof tr);
    /* loaded and unloaded twice (global and store), and the failed init cleaned up */
    ASSERT_STREQ(tr, "init\ninitfail-cleanup\ninit\ncleanup\ncleanup\n");
    config_free(&c);
}

static void on_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop until the trace holds want (or a second passes). */
static int wait_trace(uv_loop_t *loop, const char *want)
{
    uv_timer_t t;
    char tr[512];
    int found = 0;

    uv_timer_init(loop, &t);
    for (int i = 0; i < 100 && !found; i++) {
        uv_timer_start(&t, on_timeout, 10, 0);
        uv_run(loop, UV_RUN_DEFAULT);
        read_trace(tr, sizeof tr);
        found = strstr(tr, want) != NULL;
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return found;
}

TEST(a_loaded_plugin_answers_its_hooks_and_a_failed_one_is_left_out)
{
    struct config c;
    uv_loop_t loop;
    char text[1024], out[256], rule[64], reason[256];

    snprintf(text, sizeof text,
             "plugin_hook_budget 20ms\n"
             "plugin missing /nonexistent/missing.so\n"
             "store s\n  plugin good " SO("good") "\n    greeting \"Hello there\"\n    trace %s\n"
             "store t\n", trace_path);
    ASSERT_EQ(load_conf(&c, text), 0);
    clear_trace();
    uv_loop_init(&loop);
    gw.loop = &loop;
    gw.cfg = &c;
    ASSERT_EQ(plugin_start(), 0);
    ASSERT(plugin_hooked(CHATGW_EV_QUICK_REPLY));
    ASSERT(!plugin_hooked(CHATGW_EV_BUYER_MSG));

    struct chatgw_event ev = { .store = "s", .chat = "c", .text = "/hi", .text_len = 3,
                               .buyer_name = "Ann" };
    ASSERT_EQ(plugin_quick_reply(&ev, out, sizeof out), 0);
    ASSERT_STREQ(out, "Hello there Ann");
    ev.text = "/nope";
    ASSERT_EQ(plugin_quick_reply(&ev, out, sizeof out), -1);
    ev.text = "/hi";
    ev.store = "t";                       /* a store-s plugin does not serve t */
    ASSERT_EQ(plugin_quick_reply(&ev, out, sizeof out), -1);

    struct chatgw_event m = { .store = "s", .text = "a bad word", .text_len = 10 };
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_BLOCK);
    ASSERT_STREQ(rule, "no_bad");
    ASSERT_STREQ(reason, "never say bad");
    m.text = "warn me";
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_WARN);
    ASSERT_STREQ(reason, "are you sure?");
    m.confirmed = 1;                      /* resent with confirm: true */
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_PASS);
    m.confirmed = 0;
    m.text = "fail";                      /* an error counts as a pass, and is counted */
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_PASS);
    m.text = "fine";
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_PASS);
    m.text = "slow";                      /* over plugin_hook_budget: logged and counted */
    ASSERT_EQ(plugin_agent_msg(&m, rule, sizeof rule, reason, sizeof reason), PLUGIN_PASS);

    ASSERT(wait_trace(&loop, "timer\n"));

    char *mt = plugin_metrics_text();
    ASSERT(mt != NULL);
    ASSERT(strstr(mt, "chatgw_plugins_loaded 1\n") != NULL);
    ASSERT(strstr(mt, "chatgw_plugin_load_failures_total") != NULL);
    ASSERT(strstr(mt, "chatgw_plugin_blocks_total{plugin=\"good\",store=\"s\"} 1\n") != NULL);
    ASSERT(strstr(mt, "chatgw_plugin_warnings_total{plugin=\"good\",store=\"s\"} 2\n") != NULL);
    ASSERT(strstr(mt, "chatgw_plugin_hook_failures_total{plugin=\"good\",store=\"s\"} 1\n") != NULL);
    ASSERT(strstr(mt, "chatgw_plugin_slow_hooks_total{plugin=\"good\",store=\"s\"} 1\n") != NULL);
    free(mt);

    /* a reload cleans up and loads again, with the options of now */
    free(c.stores[0].plugins[0].values[0]);
    c.stores[0].plugins[0].values[0] = strdup("Welcome back");
    plugin_reload();
    ASSERT_EQ(plugin_quick_reply(&ev, out, sizeof out), -1);   /* still store t */
    ev.store = "s";
    ASSERT_EQ(plugin_quick_reply(&ev, out, sizeof out), 0);
    ASSERT_STREQ(out, "Welcome back Ann");
    plugin_stop();
    uv_run(&loop, UV_RUN_DEFAULT);
    char tr[512];
    read_trace(tr, sizeof tr);
    ASSERT_STREQ(tr, "init\ntimer\ncleanup\ninit\ncleanup\n");
    ASSERT_EQ(uv_loop_close(&loop), 0);
    gw.loop = NULL;
    gw.cfg = NULL;
    config_free(&c);
}

int main(void)
{
    int fd = mkstemp(trace_path);

    if (fd < 0)
        return 2;
    close(fd);
    log_set_level(LOG_ERROR);
    RUN(check_reports_each_plugin_with_its_reason);
    RUN(a_loaded_plugin_answers_its_hooks_and_a_failed_one_is_left_out);
    unlink(trace_path);
    return TEST_SUMMARY();
}
