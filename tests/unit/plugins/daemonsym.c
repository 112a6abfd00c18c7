/* daemonsym.c - a test plugin that calls a daemon function directly
 * instead of through the host table: it must fail to load. */
#include "chatgw_plugin.h"

struct store_append;
typedef void db_reply_cb(void *ud, void *r);
int store_append(const struct store_append *a, db_reply_cb *cb, void *ud);

int chatgw_plugin_version(int count, const int *supported)
{
    (void)count;
    return supported[0];
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    (void)host; (void)self; (void)userdata; (void)opts; (void)nopts;
    return store_append(NULL, NULL, NULL);
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    (void)userdata; (void)opts; (void)nopts;
    return CHATGW_OK;
}
