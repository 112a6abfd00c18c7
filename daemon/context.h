/*
 * context.h - a buyer's context, signed by its store's site.
 *
 * hello may carry `context`: base64url(JSON payload) "." hex(HMAC-SHA256(
 * the store's context_secret, the base64url part)), see proto/PROTOCOL.md
 * (Signed context). context_verify checks the signature (constant time),
 * the expiry and every field (types, lengths, UTF-8) and fills a
 * buyer_context, or names why it is ignored. Nothing here logs: the
 * caller logs the reason, never the secret nor the payload.
 *
 * API: enum context_priority, struct context_limits, struct buyer_context,
 * context_verify, context_priority_name.
 */
#ifndef CHATGW_CONTEXT_H
#define CHATGW_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTEXT_PRIORITIES(X) X(NORMAL, "normal") X(ORDERED, "ordered") X(PAID, "paid") X(VIP, "vip")

enum context_priority {
#define CTX_PRIO_ENUM(e, s) CONTEXT_##e,
    CONTEXT_PRIORITIES(CTX_PRIO_ENUM)
#undef CTX_PRIO_ENUM
    CONTEXT__PRIORITIES
};

/* The payload's limits: options of the config table (context_max_bytes,
 * context_id_bytes, ...; documented in PROTOCOL.md and chatgw.conf(5)). */
struct context_limits {
    size_t max_bytes;               /* the whole context as sent */
    size_t id_bytes;                /* buyer.id, product.id */
    size_t name_chars;              /* buyer.name */
    size_t title_chars;             /* product.title */
    size_t price_chars;             /* product.price */
    size_t url_bytes;               /* product.url: http:// or https:// */
};

/* One allocation (free() it): the strings point into text[], "" when absent. */
struct buyer_context {
    enum context_priority priority;
    bool product;                   /* product_id (and the others) were given */
    const char *buyer_id, *buyer_name;
    const char *product_id, *title, *price, *url;
    char text[];
};

/* Checks ctx (len bytes) signed with secret at now_s (seconds since the
 * epoch) against lim. NULL and *out (allocated) when valid; else *out is
 * NULL and the reason it is ignored ("too_long", "format", "no_secret",
 * "signature", "payload", "exp", "expired", "priority", "memory", or the
 * field at fault, e.g. "buyer", "product.url"). */
const char *context_verify(const char *ctx, size_t len, const struct context_limits *lim,
                           const char *secret, int64_t now_s, struct buyer_context **out);

const char *context_priority_name(enum context_priority p);

#endif
