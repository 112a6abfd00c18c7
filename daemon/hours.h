/*
 * hours.h - each group's service hours, as this node last heard them.
 *
 * A store's hours are its shifts (shift.h); a group's are the spans of
 * those that some agent of the group works by its roster (an agent with
 * no roster works every one). Only Redis knows the agents and rosters, so
 * router.lua's op "ghours" computes them and the router keeps its answer
 * here, per store and group, for the decision a buyer's first message
 * makes at once from memory (off_hours_text or the greeting). A group
 * this table does not know, or whose hours are the store's, answers
 * HOURS_STORE: the caller uses the store's plan, as without rosters.
 *
 * API: hours_set, hours_clear, hours_open.
 */
#ifndef CHATGW_HOURS_H
#define CHATGW_HOURS_H

#include <stddef.h>
#include <stdint.h>

enum hours_state { HOURS_STORE = -1, HOURS_CLOSED = 0, HOURS_OPEN = 1 };

/* The group's own spans ([s, e) in UTC ms, flat: s0 e0 s1 e1 ...; n pairs),
 * or none (own == 0: the store's apply). 0, or -1 out of memory. */
int hours_set(const char *store, const char *group, int own, const int64_t *se, size_t n);
/* Forgets every group (the router stops). */
void hours_clear(void);
/* The group open at now; when closed, *opens = the next start (0: none known). */
enum hours_state hours_open(const char *store, const char *group, int64_t now, int64_t *opens);

#endif
