/*
 * session_agent.h - the agent's role, served by session.c once gateway.c
 * adds it (session_role_add); everything else of it is reached through
 * the role's table (frames, events, lifecycle).
 *
 * API: agent_role.
 */
#ifndef CHATGW_SESSION_AGENT_H
#define CHATGW_SESSION_AGENT_H

#include "session.h"

extern const struct role agent_role;

#endif
