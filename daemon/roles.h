/*
 * roles.h - the names a session is counted under: its kind (buyer, agent,
 * supervisor) and the reason it closed. session.c uses them, /metrics
 * labels its series with them and the logs print them; one table each, so
 * that none of those can drift from the others (nor from PROTOCOL.md §4:
 * tests/unit/test_protocol_doc.c). Header only, below session and
 * metrics, so that both may include it.
 *
 * API: ROLE_MAP, enum role_kind, CLOSE_REASON_MAP, enum close_reason.
 */
#ifndef CHATGW_ROLES_H
#define CHATGW_ROLES_H

#define ROLE_MAP(X) X(BUYER, "buyer") X(AGENT, "agent") X(SUPERVISOR, "supervisor")

enum role_kind {
#define ROLE_ENUM(name, str) ROLE_##name,
    ROLE_MAP(ROLE_ENUM)
#undef ROLE_ENUM
    ROLE__COUNT
};

/* RFC 6455 "try again later"; lws 4.1 has no name for it */
#define CLOSE_TRY_AGAIN_LATER 1013

#define CLOSE_REASON_MAP(X) \
    X(NORMAL, "normal") X(SLOW_READER, "slow_reader") X(IDLE, "idle")          \
    X(BAD_FRAMES, "bad_frames") X(TOO_LARGE, "too_large") X(PER_IP, "per_ip")  \
    X(HELLO_TIMEOUT, "hello_timeout") X(SHUTDOWN, "shutdown")                  \
    X(POLICY, "policy") X(FULL, "full")

enum close_reason {
#define CR_ENUM(name, str) CLOSE_##name,
    CLOSE_REASON_MAP(CR_ENUM)
#undef CR_ENUM
    CLOSE__COUNT
};

#endif
