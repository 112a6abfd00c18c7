/*
 * errors.h - every error a client can be told, defined once.
 *
 * CHATGW_ERRNO_MAP is the single table: enum name, stable wire code (the
 * `code` field of an `error` frame, never renamed), and the human text
 * sent as `text`. proto/PROTOCOL.md lists the same table (§3), and
 * tests/unit/test_protocol_doc.c keeps the two in step; tests check the
 * daemon's answers against these codes.
 *
 * API: enum cg_err, cg_err_code(), cg_err_text().
 */
#ifndef CHATGW_ERRORS_H
#define CHATGW_ERRORS_H

#define CHATGW_ERRNO_MAP(X)                                                   \
    X(BAD_FRAME,     "bad_frame",     "frame is not a valid JSON or msgpack map") \
    X(TOO_LARGE,     "too_large",     "value exceeds its size limit")          \
    X(BAD_TYPE,      "bad_type",      "unknown frame type")                    \
    X(MISSING_FIELD, "missing_field", "a required field is missing")           \
    X(BAD_VALUE,     "bad_value",     "a field has the wrong type or value")   \
    X(NO_SESSION,    "no_session",    "say hello first")                       \
    X(UNAUTHORIZED,  "unauthorized",  "not authorized")                        \
    X(FORBIDDEN,     "forbidden",     "not allowed")                           \
    X(NOT_FOUND,     "not_found",     "no such object")                        \
    X(CONFLICT,      "conflict",      "state does not allow this now")         \
    X(RATE_LIMITED,  "rate_limited",  "too many requests, slow down")          \
    X(TOO_MANY_SESSIONS, "too_many_sessions", "too many sessions open for this login") \
    X(UNAVAILABLE,   "unavailable",   "storage unavailable, retry later")      \
    X(BLOCKED,       "blocked",       "a rule of the store forbids this message") \
    X(INTERNAL,      "internal",      "internal error")                        \
    X(NOT_SIGNED,    "not_signed",    "the chat's buyer has no signed id")

enum cg_err {
    CG_OK = 0,
#define CG_ERR_ENUM(name, code, text) CG_E_##name,
    CHATGW_ERRNO_MAP(CG_ERR_ENUM)
#undef CG_ERR_ENUM
    CG_E__COUNT
};

const char *cg_err_code(enum cg_err e);
const char *cg_err_text(enum cg_err e);

#endif
