/*
 * iplimit.h - how many sessions each peer address holds, to refuse the
 * one over max_sessions_per_ip (close 1013), and how many new chats it may
 * still open (a token bucket: new_chat_rate, new_chat_burst). A small hash
 * of address strings; an entry vanishes when its count returns to zero and
 * its bucket is full again.
 *
 * API: iplimit_acquire, iplimit_take_chat, iplimit_release, iplimit_free_all.
 */
#ifndef CHATGW_IPLIMIT_H
#define CHATGW_IPLIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ip_slot;

/* Counts one more session for ip; NULL when that would pass max. */
struct ip_slot *iplimit_acquire(const char *ip, uint32_t max, uint64_t now_ms);
/* One new chat from slot's address: false when its bucket is empty. */
bool iplimit_take_chat(struct ip_slot *slot, double per_s, uint32_t burst, uint64_t now_ms);
void iplimit_release(struct ip_slot *slot, uint64_t now_ms);
void iplimit_free_all(void);

#endif
