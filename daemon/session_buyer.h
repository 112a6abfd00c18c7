/*
 * session_buyer.h - the buyer's role, served by session.c once gateway.c
 * adds it (session_role_add); everything else of it is reached through
 * the role's table (frames, events, lifecycle).
 *
 * API: buyer_role.
 */
#ifndef CHATGW_SESSION_BUYER_H
#define CHATGW_SESSION_BUYER_H

#include "session.h"

extern const struct role buyer_role;

#endif
