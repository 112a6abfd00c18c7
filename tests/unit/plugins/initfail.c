/* initfail.c - a test plugin whose init fails half-way (a hook registered):
 * refused, its cleanup still called (it writes "cleanup" to its trace). */
#include <stdio.h>

#include "chatgw_plugin.h"

static char trace[256];

int chatgw_plugin_version(int count, const int *supported)
{
    (void)count;
    return supported[0];
}

static int on_tick(void *ud, struct chatgw_event *ev)
{
    (void)ud; (void)ev;
    return CHATGW_OK;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    (void)userdata; (void)opts; (void)nopts;
    snprintf(trace, sizeof trace, "%s", host->option(self, "trace") ? host->option(self, "trace") : "");
    host->hook(self, CHATGW_EV_TICK, on_tick, NULL);
    return CHATGW_ERR_INVAL;
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    FILE *f = trace[0] ? fopen(trace, "a") : NULL;

    (void)userdata; (void)opts; (void)nopts;
    if (f) {
        fputs("initfail-cleanup\n", f);
        fclose(f);
    }
    return CHATGW_OK;
}
