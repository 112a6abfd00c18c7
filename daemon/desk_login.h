/*
 * desk_login.h - the login of a desk session: an agent's at /v1/agent, a
 * supervisor's at /v1/supervisor. Both take login {token} the same way,
 * step for step:
 *
 *   1. the gate of failed logins per address (login_gate.h) admits the
 *      attempt, makes it wait its turn, or refuses it (rate_limited);
 *   2. a token that cannot be one fails at once (malformed_token);
 *   3. the token's SHA-256 finds its owner (cg:tok:<hash>, store.h), which
 *      must be of the role's kind ("agent:ID", "supervisor:ID");
 *   4. the role reads that owner's identity and judges it.
 *
 * The role names its kind and does step 4 (struct desk_role); from there
 * it settles the attempt (desk_login_settle: the token is good) or fails
 * it (desk_login_fail: counted at the gate, the session closed). Redis
 * not answering is no failure: the client may try again.
 *
 * API: struct desk_role, struct desk_login, desk_login_init,
 *      desk_login_start, desk_login_settle, desk_login_fail,
 *      desk_login_unavailable, desk_login_close.
 */
#ifndef CHATGW_DESK_LOGIN_H
#define CHATGW_DESK_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "errors.h"
#include "login_gate.h"
#include "session.h"
#include "token.h"

/* What a role's login differs in. */
struct desk_role {
    const char *owner;                   /* its token owners' prefix: "agent:" */
    const char *other, *other_why;       /* another kind's prefix, refused as other_why
                                            (NULL: refused as unknown_token) */
    const char *log_tag;                 /* before ip= in its log lines: "", "role=supervisor " */
    /* Step 4: keeps the owner's id in the session's state and reads its
     * identity; cb gets the reply with ud. Nonzero: not sent. */
    int (*identity)(struct session *s, const char *id, db_reply_cb *cb, void *ud);
    /* The identity's reply (never NULL) for the token of that hash. */
    void (*on_identity)(struct session *s, redisReply *r, const char *token_hash);
};

/* A desk session's login, embedded in the role's state. */
struct desk_login {
    const struct desk_role *role;
    struct session *s;
    const char *ip;                      /* the role's copy of the client's address */
    struct login_ticket ticket;          /* its place at the gate */
    char token_hash[TOKEN_HASH_HEX + 1]; /* the attempt's */
    uint8_t logging_in;                  /* an attempt under way */
    uint8_t malformed;                   /* its token cannot be one */
};

/* At the session's open. */
void desk_login_init(struct desk_login *d, const struct desk_role *role, struct session *s,
                     const char *ip);
/* The login frame; logged_in: the session is already (a conflict). */
void desk_login_start(struct desk_login *d, bool logged_in, const struct proto_value *token);
/* The token is good: the attempt counts no more at the gate. */
void desk_login_settle(struct desk_login *d);
/* The attempt failed (why is logged): error err, the session closes. */
void desk_login_fail(struct desk_login *d, enum cg_err err, const char *why);
/* Redis did not answer a login step: error unavailable, the client may try again. */
void desk_login_unavailable(struct desk_login *d);
/* The session is closing: gone mid-lookup, the attempt counts as failed
 * (a bad token must not escape the count by hanging up); gone while
 * waiting, it leaves the queue. */
void desk_login_close(struct desk_login *d);

#endif
