/*
 * ctl_stores.h - the stores and groups chatgwctl checks --store and --group
 * against.
 *
 * They come from the config file when chatgwctl was given -c FILE (the
 * same file chatgwd reads), else from what chatgwd publishes in Redis when
 * it starts and on reload: the SET cg:stores and a HASH cg:store:<id>
 * {name, groups (space-separated)} per store. Either way the list is read
 * once, sorted by id, and only when a command needs it.
 *
 * API: stores_from_config, stores_from_redis, stores_free, stores_pick,
 *      stores_check_groups, cstore_has_group.
 */
#ifndef CHATGW_CTL_STORES_H
#define CHATGW_CTL_STORES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ctl_link.h"

struct cstore {
    char *id;
    char *name;                   /* display name; the id when none */
    char *groups[CONFIG_MAX_GROUPS];
    int ngroups;                  /* in the store's order: the first is the default */
};

struct ctl_stores {
    struct cstore *v;
    size_t n;
    char source[400];             /* "config FILE" or "Redis at URL", for messages */
};

/* Returns CTL_OK or CTL_FAIL (out of memory). */
int stores_from_config(struct ctl_stores *s, const struct config *c);
/* Returns CTL_OK, CTL_REDIS or CTL_FAIL, having said why. */
int stores_from_redis(struct ctl_stores *s, struct ctl_link *l);
void stores_free(struct ctl_stores *s);

/*
 * The store a command acts on: `id` when given (CTL_UNKNOWN_STORE if it is
 * not known), else the only store there is; with several and no --store,
 * CTL_USAGE; with none at all, CTL_UNKNOWN_STORE. Reports the failure.
 */
int stores_pick(const struct ctl_stores *s, const char *id, const struct cstore **out);
/* CTL_OK when every group is one of st's, else CTL_UNKNOWN_STORE (reported). */
int stores_check_groups(const struct cstore *st, char *const *groups, int n);
bool cstore_has_group(const struct cstore *st, const char *group);

#endif
