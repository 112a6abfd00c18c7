/* badver.c - a test plugin built for an ABI this daemon does not speak. */
#include "chatgw_plugin.h"

int chatgw_plugin_version(int count, const int *supported)
{
    (void)count; (void)supported;
    return 99;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    (void)host; (void)self; (void)userdata; (void)opts; (void)nopts;
    return CHATGW_OK;
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    (void)userdata; (void)opts; (void)nopts;
    return CHATGW_OK;
}
