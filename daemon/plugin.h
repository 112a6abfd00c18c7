/*
 * plugin.h - plugins: shared objects loaded from the config's `plugin`
 * lines, their hooks, and the host table they call (plugins/chatgw_plugin.h
 * is the ABI they see; this is the daemon's side of it).
 *
 * The roles call the hooks at their points (an agent message before it is
 * stored, a quick reply, a message reaching a desk, ...) with a struct
 * chatgw_event they fill in; plugins answer through it. Nothing here
 * names a role.
 *
 * API: plugin_on_queues, plugin_start, plugin_reload, plugin_stop, plugin_check,
 *      plugin_hooked, plugin_notify, plugin_agent_msg, plugin_quick_reply,
 *      plugin_quick_list, plugin_list_free, plugin_suggest, plugin_metrics_text.
 */
#ifndef CHATGW_PLUGIN_DAEMON_H
#define CHATGW_PLUGIN_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chatgw_plugin.h"
#include "config.h"

/* A plugin moved a chat (host move_group): fn gets router.lua's reply, the
 * "store group" queues to assign (the router's; set by the top, so that
 * this module names no routing function). */
struct redisReply;
typedef void plugin_queues_fn(const struct redisReply *r);
void plugin_on_queues(plugin_queues_fn *fn);

/* Loads the plugins of gw.cfg (each failure logged and left out) and starts
 * the once-a-second TICK. Returns 0 (a plugin that fails is no failure). */
int plugin_start(void);
/* After a reload replaced gw.cfg: cleans every plugin up, loads them again
 * with the new options, then runs the RELOAD hooks. */
void plugin_reload(void);
/* Cleans every plugin up; the loop then drains their handles. */
void plugin_stop(void);
/* --check-config: loads and unloads each plugin of c, on a loop of its
 * own, with a line for each: to out when it loaded, to errs (FILE:LINE:
 * plugin NAME: reason) when not. Returns the number that failed. */
int plugin_check(const struct config *c, FILE *out, FILE *errs);

/* True when some plugin hooks event (the roles skip building it otherwise). */
bool plugin_hooked(int event);
/* Runs every hook of ev->event whose plugin serves ev->store; the answers
 * are ignored. Events a node sees once per desk window (MSG_TO_AGENT,
 * ASSIGNED, UNASSIGNED) go through plugin_suggest / this with once=true:
 * a repeat of the same event right after runs nothing. */
void plugin_notify(struct chatgw_event *ev, bool once);

enum plugin_verdict { PLUGIN_PASS, PLUGIN_WARN, PLUGIN_BLOCK };
/* AGENT_MSG: the strongest answer of the hooks (BLOCK > WARN > pass; WARN
 * is passed when ev->confirmed), with the rule and reason of the one that
 * gave it. */
enum plugin_verdict plugin_agent_msg(struct chatgw_event *ev, char *rule, size_t rule_cap,
                                     char *reason, size_t reason_cap);
/* QUICK_REPLY: the first hook that answers OK gives the text. 0, or -1
 * when none knows ev->text (the key). */
int plugin_quick_reply(struct chatgw_event *ev, char *text, size_t cap);
/* QUICK_LIST: the phrases the hooks list, in their order (at most
 * PLUGIN_LIST_MAX). The caller frees it with plugin_list_free. */
#define PLUGIN_LIST_MAX 1000
struct plugin_phrase {
    char *category, *key, *text;
};
struct plugin_list {
    struct plugin_phrase *items;
    size_t n, cap;
};
void plugin_quick_list(struct chatgw_event *ev, struct plugin_list *out);
void plugin_list_free(struct plugin_list *l);

/* MSG_TO_AGENT: the keys the hooks suggest, space-separated ("" none);
 * once per event (see plugin_notify). */
const char *plugin_suggest(struct chatgw_event *ev);

/* The plugins' lines for /metrics, malloc'ed (caller frees), or NULL. */
char *plugin_metrics_text(void);

#endif
