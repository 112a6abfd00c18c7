/*
 * login_gate.h - how many logins one client address may try: at most
 * login_fail_max failures within login_fail_window, and no more attempts
 * under way at once than failures it has left.
 *
 * An attempt is counted when it starts, so that 150 bad logins sent at
 * once cannot all pass the check before the first failure is counted
 * (they made 15 lookups against a limit of 5). Attempts past the limit
 * of those under way wait, in order, instead of being refused: a floor of
 * desks behind one address coming back together after a network blip all
 * log in, a few lookups at a time. When an attempt succeeds it gives its
 * count back and the next waiting one starts; when the failures reach the
 * limit, every waiting one is refused.
 *
 * API: struct login_ticket, login_gate_enter, login_gate_leave,
 *      login_gate_free_all.
 */
#ifndef CHATGW_LOGIN_GATE_H
#define CHATGW_LOGIN_GATE_H

#include <stdbool.h>
#include <stdint.h>

struct gate_addr;

/* One session's place at the gate; embedded in the session's state. */
struct login_ticket {
    struct login_ticket *next;                 /* in its address's queue */
    struct gate_addr *addr;                    /* NULL: neither waiting nor admitted */
    bool admitted;
    void (*on_admit)(struct login_ticket *t);  /* a waiting attempt may go now */
    void (*on_refuse)(struct login_ticket *t); /* ... or never: the address is blocked */
};

enum gate_verdict { GATE_ADMIT, GATE_WAIT, GATE_REFUSE };

/* Asks to try a login from ip. GATE_WAIT: on_admit or on_refuse comes later. */
enum gate_verdict login_gate_enter(struct login_ticket *t, const char *ip, uint32_t max_fails,
                                   uint64_t window_ms, uint64_t now_ms);
/* The attempt ended (failed: it counts), or a waiting one went away. Wakes
 * the attempts waiting behind it; no-op for a ticket not at the gate. */
void login_gate_leave(struct login_ticket *t, bool failed, uint64_t now_ms);
void login_gate_free_all(void);

#endif
