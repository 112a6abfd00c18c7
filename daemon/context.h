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
 * API: enum context_priority, struct buyer_context, context_verify,
 * context_priority_name.
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

/* The payload's limits (documented in PROTOCOL.md). */
#define CONTEXT_ID_BYTES 64         /* buyer.id, product.id */
#define CONTEXT_NAME_CHARS 64       /* buyer.name */
#define CONTEXT_TITLE_CHARS 200     /* product.title */
#define CONTEXT_PRICE_CHARS 32      /* product.price */
#define CONTEXT_URL_BYTES 2048      /* product.url: http:// or https:// */

struct buyer_context {
    enum context_priority priority;
    char buyer_id[CONTEXT_ID_BYTES + 1];
    char buyer_name[CONTEXT_NAME_CHARS * 4 + 1];
    bool product;                   /* the fields below are set */
    char product_id[CONTEXT_ID_BYTES + 1];
    char title[CONTEXT_TITLE_CHARS * 4 + 1];
    char price[CONTEXT_PRICE_CHARS * 4 + 1];
    char url[CONTEXT_URL_BYTES + 1];
};

/* Checks ctx (len bytes, at most max_bytes) signed with secret at now_s
 * (seconds since the epoch). NULL and *out filled when valid; else the
 * reason it is ignored ("too_long", "format", "signature", "payload",
 * "expired", or the field at fault, e.g. "product.url"). */
const char *context_verify(const char *ctx, size_t len, size_t max_bytes, const char *secret,
                           int64_t now_s, struct buyer_context *out);

const char *context_priority_name(enum context_priority p);

#endif
