/* good.c - a well-behaved test plugin: answers quick replies, judges agent
 * messages, counts ticks with a timer, and writes "init"/"cleanup" to the
 * file named by its `trace` option so the test sees its lifecycle. Its
 * state is per instance (userdata): one .so loaded twice (a global line and
 * a store's) is one copy of its globals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chatgw_plugin.h"

struct state {
    const struct chatgw_host *host;
    chatgw_plugin *self;
    char reply[256], trace[256];
};
static void trace(struct state *st, const char *what)
{
    FILE *f = st->trace[0] ? fopen(st->trace, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", what);
        fclose(f);
    }
}

int chatgw_plugin_version(int count, const int *supported)
{
    for (int i = 0; i < count; i++)
        if (supported[i] == 1)
            return 1;
    return -1;
}

static int on_quick(void *ud, struct chatgw_event *ev)
{
    struct state *st = ud;

    if (strcmp(ev->text, "/hi") != 0)
        return CHATGW_DEFER;
    snprintf(st->reply, sizeof st->reply, "%s %s",
             st->host->option(st->self, "greeting") ? st->host->option(st->self, "greeting") : "hi",
             ev->buyer_name ? ev->buyer_name : "");
    ev->answer_text = st->reply;
    return CHATGW_OK;
}

static int on_agent_msg(void *ud, struct chatgw_event *ev)
{
    (void)ud;
    if (strstr(ev->text, "bad")) {
        ev->answer_rule = "no_bad";
        ev->answer_reason = "never say bad";
        return CHATGW_BLOCK;
    }
    if (strstr(ev->text, "warn")) {
        ev->answer_rule = "careful";
        ev->answer_reason = "are you sure?";
        return CHATGW_WARN;
    }
    if (strstr(ev->text, "fail"))
        return CHATGW_ERR;
    if (strstr(ev->text, "slow")) {           /* over the test's 20 ms budget */
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return CHATGW_OK;
}

static void on_timer(void *ud)
{
    trace(ud, "timer");
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    struct state *st = calloc(1, sizeof *st);

    (void)opts; (void)nopts;
    if (!st)
        return CHATGW_ERR_NOMEM;
    *userdata = st;
    if (host->version != 1 || host->size < sizeof *host)
        return CHATGW_ERR_INVAL;
    st->host = host;
    st->self = self;
    snprintf(st->trace, sizeof st->trace, "%s", host->option(self, "trace") ? host->option(self, "trace") : "");
    trace(st, "init");
    if (host->hook(self, CHATGW_EV_QUICK_REPLY, on_quick, st) != CHATGW_OK ||
        host->hook(self, CHATGW_EV_AGENT_MSG, on_agent_msg, st) != CHATGW_OK ||
        host->hook(self, 5, on_agent_msg, st) != CHATGW_ERR_INVAL)   /* not hookable */
        return CHATGW_ERR;
    return host->timer_start(self, 10, 0, on_timer, st, NULL);
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    (void)opts; (void)nopts;
    if (userdata) {
        trace(userdata, "cleanup");
        free(userdata);
    }
    return CHATGW_OK;
}
