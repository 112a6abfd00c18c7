/*
 * session_supervisor.h - the supervisor's role, served by session.c once
 * gateway.c adds it (session_role_add); everything else of it is reached
 * through the role's table (frames, lifecycle) and its consumer in the
 * event table.
 *
 * API: supervisor_role.
 */
#ifndef CHATGW_SESSION_SUPERVISOR_H
#define CHATGW_SESSION_SUPERVISOR_H

#include "session.h"

extern const struct role supervisor_role;

#endif
