/* nosym.c - a test plugin without chatgw_plugin_cleanup: refused. */
#include "chatgw_plugin.h"

int chatgw_plugin_version(int count, const int *supported)
{
    (void)count;
    return supported[0];
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    (void)host; (void)self; (void)userdata; (void)opts; (void)nopts;
    return CHATGW_OK;
}
