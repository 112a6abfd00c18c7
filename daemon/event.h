/*
 * event.h - every event a node hears or makes, numbered once.
 *
 * CHATGW_EVENT_MAP is the one table: number (append-only: a number is
 * never reused or renumbered, tests/unit/test_event.c pins them), enum
 * name, wire name (the `k` field of the msgpack maps the Lua scripts
 * PUBLISH on cg:node:<node> and cg:ctl), who it is for, and its payload
 * fields. Events come from Redis (router.c decodes them) or from this node
 * itself (LOCAL: resync, rejoin); either way they go through
 * event_dispatch to every registered consumer, in the order they
 * registered. The dispatcher names no consumer: the router's delivery to
 * local sessions registers like the supervisor floor and plugins will.
 *
 * Who it is for: EVT_CHAT the sessions of the buyer of `chat`, EVT_AGENT
 * the sessions of `agent`, EVT_NODE this node (no session), EVT_ALL every
 * local session.
 *
 * Rows marked "LOCAL hook" are never published: they are the points where
 * the roles call plugins (plugin.c), numbered here so that the plugin ABI
 * (plugins/chatgw_plugin.h, CHATGW_EV_*) uses the same numbers.
 *
 * API: CHATGW_EVENT_MAP, enum event_id, struct event, event_name,
 *      event_by_name, event_target, event_consumer_add, event_dispatch,
 *      event_consumers_clear.
 */
#ifndef CHATGW_EVENT_H
#define CHATGW_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"

enum event_target { EVT_CHAT, EVT_AGENT, EVT_NODE, EVT_ALL };

#define CHATGW_EVENT_MAP(X)                                                              \
    X(1,  MSG_TO_BUYER, "bmsg",     EVT_CHAT,  "chat seq rec: a record the buyer should see") \
    X(2,  MSG_TO_AGENT, "amsg",     EVT_AGENT, "agent chat seq rec src: a record for the agent's windows") \
    X(3,  ASSIGNED,     "assign",   EVT_AGENT, "agent chat buyer bname group waited first hist") \
    X(4,  UNASSIGNED,   "unassign", EVT_AGENT, "agent chat reason")                        \
    X(5,  AGENT_TOOK,   "agent",    EVT_CHAT,  "chat name: an agent took the buyer's chat") \
    X(6,  CLOSED,       "closed",   EVT_CHAT,  "chat reason")                              \
    X(7,  QUEUED,       "queued",   EVT_CHAT,  "chat group position: back in a queue")     \
    X(8,  KICK,         "kick",     EVT_AGENT, "agent: its token changed or it is gone")   \
    X(9,  REFRESH,      "refresh",  EVT_NODE,  "agent: its identity changed")              \
    X(10, RESYNC,       "resync",   EVT_CHAT,  "LOCAL chat: events for it may be lost; read the truth") \
    X(11, REJOIN,       "rejoin",   EVT_ALL,   "LOCAL: this node was declared dead; register again") \
    X(12, BREACH,       "breach",   EVT_AGENT, "agent chat store group waited: unanswered past breach_after") \
    X(13, AGENT_MSG,    "agent_msg", EVT_NODE, "LOCAL hook: an agent message before it is stored (plugins)") \
    X(14, QUICK_REPLY,  "quick",    EVT_NODE,  "LOCAL hook: an agent asked for a quick reply (plugins)") \
    X(15, BUYER_MSG,    "buyer_msg", EVT_NODE, "LOCAL hook: a buyer message was stored, on its node (plugins)") \
    X(16, TICK,         "tick",     EVT_NODE,  "LOCAL hook: once a second (plugins)") \
    X(17, RELOAD,       "reload",   EVT_NODE,  "LOCAL hook: the config was read again (plugins)") \
    X(18, QUICK_LIST,   "quick_list", EVT_NODE, "LOCAL hook: an agent asked for the quick-reply library (plugins)") \
    X(19, SHIFT,        "shift",    EVT_AGENT, "agent on ends next: its shift began or ended") \
    X(20, REASSIGNED,   "reassigned", EVT_NODE, "chat store group agent to reason: the clock gave a chat to a colleague (floor)") \
    X(21, FLOOR_AGENT,  "floor_agent", EVT_NODE, "agent store change name state online load capacity: an agent changed (floor)") \
    X(22, WATCH_MSG,    "wmsg",     EVT_NODE,  "chat store seq rec: a record for the supervisors watching the chat") \
    X(23, ESCALATION,   "escalation", EVT_AGENT, "agent? chat store group rule excerpt ts n: a plugin flagged the chat to supervisors (also on cg:floor:<store>)") \
    X(24, GUARD,        "guard",    EVT_NODE,  "chat store group agent verdict rule: a plugin held or blocked an agent's message (floor)") \
    X(25, TRANSFERRED,  "transferred", EVT_NODE, "chat store group agent? to by: a chat was transferred (floor)") \
    X(26, TYPING_TO_AGENT, "atyping", EVT_AGENT, "agent chat: the buyer is typing (signal.lua)") \
    X(27, TYPING_TO_BUYER, "btyping", EVT_CHAT, "chat name: the chat's agent is typing (signal.lua)") \
    X(28, READ_TO_AGENT, "aread",   EVT_AGENT, "agent chat seq: the buyer has read up to seq (signal.lua)") \
    X(29, READ_TO_BUYER, "bread",   EVT_CHAT,  "chat seq: the agent has read up to seq (signal.lua)") \
    X(30, ROSTER,       "roster",   EVT_NODE,  "agent?: a roster changed, an agent came or went (chatgwctl): shifts and each group's hours again (refresh does too)") \
    X(31, BUYER_NOTES,  "anotes",   EVT_AGENT, "agent chat notes src: the notes on a chat's signed buyer after the agent wrote one (its other windows)") \
    X(32, READ_SELF,    "aread_self", EVT_AGENT, "agent chat seq src: the agent read the chat up to seq in one window (signal.lua): its other windows")

enum event_id {
    EV_NONE = 0,
#define EV_ENUM(num, name, wire, target, fields) EV_##name = num,
    CHATGW_EVENT_MAP(EV_ENUM)
#undef EV_ENUM
    EV__END
};

struct event {
    enum event_id id;
    const char *chat;                  /* the chat it concerns, or NULL */
    const char *agent;                 /* the agent it concerns, or NULL */
    const struct proto_value *body;    /* the whole map (fields above), or NULL */
    bool floor;                        /* came on a store's floor channel: for
                                          supervisors only, not for sessions */
};

/* A consumer sees every event; it returns nothing and must not block. */
typedef void event_consumer_fn(const struct event *ev, void *ud);

const char *event_name(enum event_id id);
/* EV_NONE when the name is not in the table. */
enum event_id event_by_name(const char *name);
enum event_target event_target(enum event_id id);

/* -1 when the list is full (EVENT_CONSUMERS_MAX). */
#define EVENT_CONSUMERS_MAX 16
int event_consumer_add(event_consumer_fn *fn, void *ud);
void event_consumers_clear(void);
void event_dispatch(const struct event *ev);

#endif
