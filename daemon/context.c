/*
 * context.c - a buyer's context, signed by its store's site (context.h).
 *
 * The signed text is the base64url part as sent (no re-encoding, so the
 * site's JSON serializer may write what it likes); the signature is
 * compared as 32 bytes in constant time. Only then is the payload decoded
 * (JSON, into a fixed arena: at most CONTEXT_ELEMS values) and each field
 * checked against a row of the field table.
 *
 * API: see context.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "context.h"
#include "token.h"

#define SIG_BYTES 32
#define CONTEXT_ELEMS 64

const char *context_priority_name(enum context_priority p)
{
    static const char *const names[] = {
#define CTX_PRIO_NAME(e, s) s,
        CONTEXT_PRIORITIES(CTX_PRIO_NAME)
#undef CTX_PRIO_NAME
    };
    return p < CONTEXT__PRIORITIES ? names[p] : "normal";
}

/* base64url without padding (a trailing '=' is accepted); -1 on a bad char. */
static long b64url_decode(const char *s, size_t len, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;

    while (len > 0 && s[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-') v = 62;
        else if (c == '_') v = 63;
        else return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return bits >= 6 ? -1 : n;         /* a lone 6-bit tail is no byte */
}

/* A string field of at most max (bytes or, with chars, characters), copied. */
static bool take_str(const struct proto_value *map, const char *k, size_t max, bool chars,
                     bool required, char *dst, size_t cap)
{
    const struct proto_value *v = proto_map_get(map, k);
    char num[40];
    const char *s;
    size_t len;

    if (!v || v->type == PROTO_NIL) {
        dst[0] = '\0';
        return !required;
    }
    if (v->type == PROTO_INT && strcmp(k, "price") == 0) {
        snprintf(num, sizeof num, "%lld", (long long)v->u.i);
        s = num;
        len = strlen(num);
    } else if (v->type == PROTO_FLOAT && strcmp(k, "price") == 0) {
        snprintf(num, sizeof num, "%.15g", v->u.f);
        s = num;
        len = strlen(num);
    } else if (v->type == PROTO_STR) {
        s = v->u.s;
        len = v->len;
    } else {
        return false;
    }
    if (len == 0 && required)
        return false;
    if ((chars ? proto_utf8_chars(s, len) : len) > max || len >= cap)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

/* The payload's string fields: where each goes and its limit. */
struct field {
    const char *obj, *key, *name;
    size_t max;
    bool chars, required;
    size_t off, cap;
};
#define F(obj, key, max, chars, req, m) \
    { obj, key, obj "." key, max, chars, req, offsetof(struct buyer_context, m), \
      sizeof ((struct buyer_context *)0)->m }
static const struct field fields[] = {
    F("buyer", "id", CONTEXT_ID_BYTES, false, true, buyer_id),
    F("buyer", "name", CONTEXT_NAME_CHARS, true, false, buyer_name),
    F("product", "id", CONTEXT_ID_BYTES, false, true, product_id),
    F("product", "title", CONTEXT_TITLE_CHARS, true, false, title),
    F("product", "price", CONTEXT_PRICE_CHARS, true, false, price),
    F("product", "url", CONTEXT_URL_BYTES, false, false, url),
};
#undef F

static const char *check_payload(const struct proto_value *p, int64_t now_s,
                                 struct buyer_context *out)
{
    const struct proto_value *exp = proto_map_get(p, "exp");
    const struct proto_value *prio = proto_map_get(p, "priority");

    if (!exp || exp->type != PROTO_INT)
        return "exp";
    if (exp->u.i <= now_s)
        return "expired";
    out->priority = CONTEXT_NORMAL;
    if (prio && prio->type != PROTO_NIL) {
        int i = 0;
        if (prio->type != PROTO_STR)
            return "priority";
        while (i < CONTEXT__PRIORITIES && strcmp(prio->u.s, context_priority_name(i)) != 0)
            i++;
        if (i == CONTEXT__PRIORITIES)
            return "priority";
        out->priority = (enum context_priority)i;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field *f = &fields[i];
        const struct proto_value *obj = proto_map_get(p, f->obj);
        if (!obj || obj->type == PROTO_NIL) {
            if (strcmp(f->obj, "buyer") == 0)
                return "buyer";
            continue;                  /* no product: fine */
        }
        if (obj->type != PROTO_MAP)
            return f->obj;
        if (!take_str(obj, f->key, f->max, f->chars, f->required, (char *)out + f->off, f->cap))
            return f->name;
        if (strcmp(f->obj, "product") == 0)
            out->product = true;
    }
    if (out->url[0] && strncmp(out->url, "https://", 8) != 0 && strncmp(out->url, "http://", 7) != 0)
        return "product.url";
    return NULL;
}

const char *context_verify(const char *ctx, size_t len, size_t max_bytes, const char *secret,
                           int64_t now_s, struct buyer_context *out)
{
    static struct proto_arena arena;
    static unsigned char json[64 * 1024];
    unsigned char want[SIG_BYTES], got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    const char *dot;
    size_t body;

    memset(out, 0, sizeof *out);
    if (len > max_bytes || len > sizeof json)
        return "too_long";
    dot = memchr(ctx, '.', len);
    body = dot ? (size_t)(dot - ctx) : 0;
    if (!dot || body == 0 || len - body - 1 != 2 * SIG_BYTES ||
        hex_decode(dot + 1, SIG_BYTES, want) != 0)
        return "format";
    if (!secret || !secret[0])
        return "no_secret";
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)ctx, body, got,
              &got_len) || got_len != SIG_BYTES || !token_equal(want, got, SIG_BYTES))
        return "signature";
    long n = b64url_decode(ctx, body, json);
    if (n <= 0)
        return "payload";
    if (!arena.vals && proto_arena_init(&arena, CONTEXT_ELEMS, sizeof json) != 0)
        return "payload";
    const struct proto_limits lim = { .max_depth = 3, .max_elems = CONTEXT_ELEMS };
    const struct proto_value *p;
    if (proto_decode(json, (size_t)n, PROTO_JSON, &lim, &arena, &p) != PROTO_OK)
        return "payload";
    const char *why = check_payload(p, now_s, out);
    if (why)
        memset(out, 0, sizeof *out);
    return why;
}
