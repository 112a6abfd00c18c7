/*
 * router.h - where chats meet agents, across every node on one Redis.
 *
 * Redis holds the queues, the agents' state and load and who holds which
 * chat; daemon/lua/router.lua changes them, one atomic step at a time, and
 * publishes an event on the node channel of each session concerned. This
 * module is the node's side of that: it calls the script, listens on its
 * node's channel (and on cg:ctl for admin commands), and hands each event,
 * numbered (event.h), to the dispatcher. Its own consumer there delivers
 * it to the local sessions it is for, found by chat id (buyers) or agent
 * id, through their role's on_event: the router names no role.
 *
 * Assignment runs when something changes (a chat queued, an agent ready or
 * freed) and, as a safety net, at each heartbeat. The heartbeat also finds
 * dead nodes and agents whose grace ran out (router.lua "sweep"), and tells
 * this node when another node had declared it dead (it was paused past
 * node_timeout): its agent sessions, still open, then register again.
 *
 * API: router_init, router_stop, router_on_db_state, router_assign,
 *      router_assign_groups, router_node,
 *      router_buyer_attach/detach, router_agent_attach/detach,
 *      router_store_of, router_floor_listen.
 */
#ifndef CHATGW_ROUTER_H
#define CHATGW_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

struct session;
struct proto_value;

/* A deadline of the clock (cg:clock) falls due at at_ms (wall clock):
 * this node runs the due steps then, unless armed earlier already. */
void router_clock_arm(uint64_t at_ms);
int router_init(const struct db_url *url);
/* The config was reloaded (shifts, or the test clock, may have changed):
 * stores are published again, shift and clock timers armed again. */
void router_on_reload(void);
void router_stop(void);
/* The command link came up (or went down). */
void router_on_db_state(bool ready);

/* Hand waiting chats of one queue to eligible agents (events do the rest). */
void router_assign(const char *store, const char *group);
/* The same for each "store group" string of a script's array reply. */
void router_assign_groups(const redisReply *r);
const char *router_node(void);

/* Local sessions by id, for events. */
/* resumed: the chat existed, events may have gone to its previous node */
int router_buyer_attach(struct session *s, const char *chat, bool resumed);
void router_buyer_detach(struct session *s, const char *chat);
int router_agent_attach(struct session *s, const char *agent);
void router_agent_detach(struct session *s, const char *agent);

/* The store of an event's chat or agent, from a local session that shows
 * it (its role's store_of), or NULL when none here does. */
struct event;
const char *router_store_of(const struct event *ev);
/* Listen on the store's floor channel (cg:floor:<store>), or stop. The
 * events heard there are dispatched with floor = true. */
int router_floor_listen(const char *store, bool on);

#endif
