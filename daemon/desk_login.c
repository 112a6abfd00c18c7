/*
 * desk_login.c - login {token} of the agent's and the supervisor's desks
 * (see desk_login.h), one request after another: the gate, the token's
 * owner, the role's identity.
 *
 * Each Redis step carries the session, its login and the token's hash in
 * a request (session_req_new): a session that closed meanwhile ends the
 * chain when the reply comes (session_req_done), and the hash the role
 * compares is the one this attempt looked up, whatever the session did
 * since. Counted at the gate: every attempt from its start; a failure
 * stays counted, anything else is given back (settle), so that Redis
 * going away never locks an address out.
 *
 * API: see desk_login.h.
 */
#include <stddef.h>
#include <string.h>

#include <libwebsockets.h>

#include "config.h"
#include "desk_login.h"
#include "gw.h"
#include "index.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define TOKEN_HEX 64                    /* 256-bit tokens */

/* A login step under way in Redis. */
struct desk_req {
    struct session *s;                  /* first: session_req_new's */
    struct desk_login *d;               /* valid while s is alive */
    char token_hash[TOKEN_HASH_HEX + 1];
};

void desk_login_init(struct desk_login *d, const struct desk_role *role, struct session *s,
                     const char *ip)
{
    d->role = role;
    d->s = s;
    d->ip = ip;
}

void desk_login_settle(struct desk_login *d)
{
    login_gate_leave(&d->ticket, false, gw_now_ms());
}

void desk_login_fail(struct desk_login *d, enum cg_err err, const char *why)
{
    metrics.login_failures++;
    login_gate_leave(&d->ticket, true, gw_now_ms());
    log_info("login_refused", "%sip=%s reason=%s", d->role->log_tag, d->ip, why);
    d->logging_in = 0;
    session_error(d->s, err, NULL);
    session_close(d->s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
}

void desk_login_unavailable(struct desk_login *d)
{
    desk_login_settle(d);
    d->logging_in = 0;
    session_error(d->s, CG_E_UNAVAILABLE, NULL);
}

void desk_login_close(struct desk_login *d)
{
    login_gate_leave(&d->ticket, d->ticket.admitted, gw_now_ms());
}

/* A new step's request; NULL: the attempt ends, unavailable. */
static struct desk_req *step_new(struct desk_login *d, const char *token_hash)
{
    struct desk_req *q = session_req_new(d->s, sizeof *q);

    if (!q)
        return NULL;
    q->d = d;
    memcpy(q->token_hash, token_hash, sizeof q->token_hash);
    return q;
}

/* The reply to a step: the session's login, or NULL when there is nothing
 * more to do (the session is gone; no reply: unavailable). */
static struct desk_login *step_done(struct desk_req *q, redisReply *r,
                                    char hash[TOKEN_HASH_HEX + 1])
{
    struct desk_login *d = q->d;
    struct session *s;

    memcpy(hash, q->token_hash, TOKEN_HASH_HEX + 1);
    if (!session_req_done(q, &s))
        return NULL;
    if (!r) {
        desk_login_unavailable(d);
        return NULL;
    }
    return d;
}

static void on_identity(void *ud, redisReply *r)
{
    char hash[TOKEN_HASH_HEX + 1];
    struct desk_login *d = step_done(ud, r, hash);

    if (d)
        d->role->on_identity(d->s, r, hash);
}

/* The token's owner: one of the role's kind, then its identity. */
static void on_token(void *ud, redisReply *r)
{
    char hash[TOKEN_HASH_HEX + 1];
    struct desk_login *d = step_done(ud, r, hash);
    const struct desk_role *role;
    struct desk_req *q;
    size_t plen;

    if (!d)
        return;
    role = d->role;
    plen = strlen(role->owner);
    if (r->type != REDIS_REPLY_STRING || strncmp(r->str, role->owner, plen) != 0 ||
        r->len == plen || r->len - plen > INDEX_KEY_MAX) {
        desk_login_fail(d, CG_E_UNAUTHORIZED,
                        role->other && r->type == REDIS_REPLY_STRING &&
                        strncmp(r->str, role->other, strlen(role->other)) == 0
                            ? role->other_why : "unknown_token");
        return;
    }
    if (!(q = step_new(d, hash))) {
        desk_login_unavailable(d);
        return;
    }
    if (role->identity(d->s, r->str + plen, on_identity, q) != 0) {
        session_req_drop(q);
        desk_login_unavailable(d);
    }
}

/* The gate let the attempt go: look the token up. */
static void login_lookup(struct desk_login *d)
{
    struct desk_req *q;

    if (d->malformed) {
        desk_login_fail(d, CG_E_UNAUTHORIZED, "malformed_token");
        return;
    }
    if (!(q = step_new(d, d->token_hash))) {
        desk_login_settle(d);
        d->logging_in = 0;
        return;
    }
    if (store_token_owner(q->token_hash, on_token, q) != 0) {
        session_req_drop(q);
        desk_login_unavailable(d);
    }
}

static void login_rate_limited(struct desk_login *d)
{
    d->logging_in = 0;
    metrics.login_failures++;
    log_warn("login_rate_limited", "%sip=%s", d->role->log_tag, d->ip);
    session_error(d->s, CG_E_RATE_LIMITED, NULL);
    session_close(d->s, LWS_CLOSE_STATUS_POLICY_VIOLATION, CLOSE_POLICY);
}

static struct desk_login *ticket_login(struct login_ticket *t)
{
    return (struct desk_login *)((char *)t - offsetof(struct desk_login, ticket));
}

static void on_gate_admit(struct login_ticket *t)
{
    login_lookup(ticket_login(t));
}

static void on_gate_refuse(struct login_ticket *t)
{
    login_rate_limited(ticket_login(t));
}

void desk_login_start(struct desk_login *d, bool logged_in, const struct proto_value *token)
{
    if (logged_in || d->logging_in) {
        session_error(d->s, CG_E_CONFLICT, NULL);
        return;
    }
    d->logging_in = 1;
    d->malformed = token->len != TOKEN_HEX;
    if (!d->malformed)
        token_hash_hex((const unsigned char *)token->u.s, token->len, d->token_hash);
    d->ticket.on_admit = on_gate_admit;
    d->ticket.on_refuse = on_gate_refuse;
    switch (login_gate_enter(&d->ticket, d->ip, gw.cfg->login_fail_max,
                             gw.cfg->login_fail_window_ms, gw_now_ms())) {
    case GATE_REFUSE:
        login_rate_limited(d);
        break;
    case GATE_WAIT:
        break;                          /* on_gate_admit or on_gate_refuse */
    case GATE_ADMIT:
        login_lookup(d);
        break;
    }
}
