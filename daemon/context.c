/*
 * context.c - a buyer's context, signed by its store's site (context.h).
 *
 * The signed text is the base64url part as sent (no re-encoding, so the
 * site's JSON serializer may write what it likes); the signature is
 * compared as 32 bytes in constant time. Only then is the payload decoded
 * (JSON, into a fixed arena: at most CONTEXT_ELEMS values) and each field
 * checked against a row of the field table, its limit from the config
 * (struct context_limits); a valid one is copied into one allocation
 * sized to what it holds.
 *
 * API: see context.h.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* A string value found in the payload: where it is (the decoder's arena,
 * or num for a price given as a JSON number). */
struct span {
    const char *s;
    size_t len;
};

/* A string field of at most max (bytes or, with chars, characters). */
static bool take_str(const struct proto_value *map, const char *k, size_t max, bool chars,
                     bool required, char num[40], struct span *out)
{
    const struct proto_value *v = proto_map_get(map, k);
    const char *s;
    size_t len;

    out->s = "";
    out->len = 0;
    if (!v || v->type == PROTO_NIL)
        return !required;
    if (v->type == PROTO_INT && strcmp(k, "price") == 0) {
        snprintf(num, 40, "%lld", (long long)v->u.i);
        s = num;
        len = strlen(num);
    } else if (v->type == PROTO_FLOAT && strcmp(k, "price") == 0) {
        snprintf(num, 40, "%.15g", v->u.f);
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
    if ((chars ? proto_utf8_chars(s, len) : len) > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    out->s = s;
    out->len = len;
    return true;
}

/* The payload's string fields: their limit (in struct context_limits) and
 * where each goes (a pointer of struct buyer_context). */
struct field {
    const char *obj, *key, *name;
    size_t limit;                   /* offsetof(struct context_limits, ...) */
    bool chars, required;
    size_t dst;                     /* offsetof(struct buyer_context, ...) */
};
#define F(obj, key, lim, chars, req, m) \
    { obj, key, obj "." key, offsetof(struct context_limits, lim), chars, req, \
      offsetof(struct buyer_context, m) }
static const struct field fields[] = {
    F("buyer", "id", id_bytes, false, true, buyer_id),
    F("buyer", "name", name_chars, true, false, buyer_name),
    F("product", "id", id_bytes, false, true, product_id),
    F("product", "title", title_chars, true, false, title),
    F("product", "price", price_chars, true, false, price),
    F("product", "url", url_bytes, false, false, url),
};
#undef F
#define NFIELDS (sizeof fields / sizeof fields[0])

/* What a valid payload holds, before it is copied out. */
struct found {
    enum context_priority priority;
    bool product;
    struct span v[NFIELDS];
    char num[40];
};

static const char *check_payload(const struct proto_value *p, int64_t now_s,
                                 const struct context_limits *lim, struct found *out)
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
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        const struct proto_value *obj = proto_map_get(p, f->obj);
        size_t max = *(const size_t *)((const char *)lim + f->limit);
        out->v[i] = (struct span){ "", 0 };
        if (!obj || obj->type == PROTO_NIL) {
            if (strcmp(f->obj, "buyer") == 0)
                return "buyer";
            continue;                  /* no product: fine */
        }
        if (obj->type != PROTO_MAP)
            return f->obj;
        if (!take_str(obj, f->key, max, f->chars, f->required, out->num, &out->v[i]))
            return f->name;
        if (strcmp(f->obj, "product") == 0)
            out->product = true;
    }
    const struct span *url = &out->v[NFIELDS - 1];
    if (url->len && !(url->len >= 8 && memcmp(url->s, "https://", 8) == 0) &&
        !(url->len >= 7 && memcmp(url->s, "http://", 7) == 0))
        return "product.url";
    return NULL;
}

/* The found fields, copied into one allocation. */
static struct buyer_context *copy_out(const struct found *f)
{
    size_t total = 0;

    for (size_t i = 0; i < NFIELDS; i++)
        total += f->v[i].len + 1;
    struct buyer_context *c = malloc(sizeof *c + total);
    if (!c)
        return NULL;
    c->priority = f->priority;
    c->product = f->product;
    char *at = c->text;
    for (size_t i = 0; i < NFIELDS; i++) {
        memcpy(at, f->v[i].s, f->v[i].len);
        at[f->v[i].len] = '\0';
        *(const char **)((char *)c + fields[i].dst) = at;
        at += f->v[i].len + 1;
    }
    return c;
}

const char *context_verify(const char *ctx, size_t len, const struct context_limits *lim,
                           const char *secret, int64_t now_s, struct buyer_context **out)
{
    static struct proto_arena arena;
    static unsigned char json[64 * 1024];
    unsigned char want[SIG_BYTES], got[EVP_MAX_MD_SIZE];
    unsigned int got_len = 0;
    struct found found = { 0 };
    const char *dot;
    size_t body;

    *out = NULL;
    if (len > lim->max_bytes || len > sizeof json)
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
    const struct proto_limits plim = { .max_depth = 3, .max_elems = CONTEXT_ELEMS };
    const struct proto_value *p;
    if (proto_decode(json, (size_t)n, PROTO_JSON, &plim, &arena, &p) != PROTO_OK)
        return "payload";
    if (p->type != PROTO_MAP)
        return "payload";
    const char *why = check_payload(p, now_s, lim, &found);
    if (why)
        return why;
    if (!(*out = copy_out(&found)))
        return "memory";
    return NULL;
}
