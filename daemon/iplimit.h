/*
 * iplimit.h - how many sessions each peer address holds, to refuse the
 * one over max_sessions_per_ip (close 1013). A small open hash of address
 * strings to counts; entries vanish when their count returns to zero.
 *
 * API: iplimit_acquire, iplimit_release, iplimit_free_all.
 */
#ifndef CHATGW_IPLIMIT_H
#define CHATGW_IPLIMIT_H

#include <stdint.h>

struct ip_slot;

/* Counts one more session for ip; NULL when that would pass max. */
struct ip_slot *iplimit_acquire(const char *ip, uint32_t max);
void iplimit_release(struct ip_slot *slot);
void iplimit_free_all(void);

#endif
