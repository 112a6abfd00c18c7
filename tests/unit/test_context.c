/*
 * test_context.c - a buyer's signed context (daemon/context.c): what a
 * store's site signs as PROTOCOL.md §7.7 says is taken with every field;
 * everything else is refused with its reason, and nothing is kept.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "context.h"
#include "test.h"
#include "token.h"

#define SECRET "s3cret-of-the-demo-store"
#define NOW 1760000000              /* seconds since the epoch */
#define LATER "1760000600"          /* an exp 10 minutes on */

static const struct context_limits LIM = {
    .max_bytes = 4096, .id_bytes = 64, .name_chars = 64, .title_chars = 200,
    .price_chars = 32, .url_bytes = 2048,
};

static char ctx_buf[16 * 1024];

/* base64url of n bytes, without padding. */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = A[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = A[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return o;
}

/* body "." hex(HMAC-SHA256(secret, body)), body as given (already encoded). */
static const char *sign_body(const char *body, const char *secret)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    size_t n = strlen(body);

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, n, mac, &len);
    memcpy(ctx_buf, body, n);
    ctx_buf[n] = '.';
    hex_encode(mac, len, ctx_buf + n + 1);
    ctx_buf[n + 1 + 2 * len] = '\0';
    return ctx_buf;
}

/* The recipe of PROTOCOL.md: base64url(JSON) "." hex(HMAC-SHA256). */
static const char *sign(const char *json, const char *secret)
{
    static char body[12 * 1024];
    b64url((const unsigned char *)json, strlen(json), body);
    return sign_body(body, secret);
}

static const char *verify_lim(const char *ctx, const struct context_limits *lim,
                              struct buyer_context **out)
{
    const char *why = context_verify(ctx, strlen(ctx), lim, SECRET, NOW, out);
    if (why && *out)
        return "kept though refused";
    return why;
}

/* The reason ctx is refused with (NULL: taken; then freed here). */
static const char *why_of(const char *ctx)
{
    struct buyer_context *c = NULL;
    const char *why = verify_lim(ctx, &LIM, &c);
    free(c);
    return why;
}

/* A payload with buyer {id, name} and the given priority and product. */
static const char *payload(const char *buyer, const char *priority, const char *product)
{
    static char json[10 * 1024];
    snprintf(json, sizeof json, "{\"exp\":" LATER ",\"buyer\":%s%s%s%s%s%s}", buyer,
             priority ? ",\"priority\":" : "", priority ? priority : "",
             product ? ",\"product\":" : "", product ? product : "", "");
    return json;
}

/* s repeated n times, for fields over their limits. */
static const char *rep(const char *s, size_t n)
{
    static char out[4][8 * 1024];
    static int k;
    char *o = out[k++ % 4];
    size_t len = strlen(s), at = 0;
    for (size_t i = 0; i < n && at + len < sizeof out[0]; i++, at += len)
        memcpy(o + at, s, len);
    o[at] = '\0';
    return o;
}

TEST(a_good_signature_gives_every_field)
{
    struct buyer_context *c = NULL;
    const char *ctx = sign("{\"exp\":" LATER ",\"buyer\":{\"id\":\"u-1001\",\"name\":\"Ann\"},"
                           "\"priority\":\"vip\",\"product\":{\"id\":\"sku-42\",\"title\":"
                           "\"Blue kettle\",\"price\":\"39.90 EUR\",\"url\":"
                           "\"https://shop.example/p/sku-42\"}}", SECRET);
    ASSERT(verify_lim(ctx, &LIM, &c) == NULL);
    ASSERT(c != NULL);
    ASSERT_EQ(c->priority, CONTEXT_VIP);
    ASSERT_STREQ(context_priority_name(c->priority), "vip");
    ASSERT_STREQ(c->buyer_id, "u-1001");
    ASSERT_STREQ(c->buyer_name, "Ann");
    ASSERT(c->product);
    ASSERT_STREQ(c->product_id, "sku-42");
    ASSERT_STREQ(c->title, "Blue kettle");
    ASSERT_STREQ(c->price, "39.90 EUR");
    ASSERT_STREQ(c->url, "https://shop.example/p/sku-42");
    free(c);
}

TEST(optional_fields_may_be_left_out_and_a_price_may_be_a_number)
{
    struct buyer_context *c = NULL;
    ASSERT(verify_lim(sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET), &LIM, &c) == NULL);
    ASSERT_EQ(c->priority, CONTEXT_NORMAL);
    ASSERT_STREQ(c->buyer_name, "");
    ASSERT(!c->product);
    ASSERT_STREQ(c->product_id, "");
    ASSERT_STREQ(c->url, "");
    free(c);
    c = NULL;
    ASSERT(verify_lim(sign(payload("{\"id\":\"u-1\"}", "\"paid\"",
                                   "{\"id\":\"p\",\"price\":39.5}"), SECRET), &LIM, &c) == NULL);
    ASSERT_EQ(c->priority, CONTEXT_PAID);
    ASSERT_STREQ(c->price, "39.5");
    ASSERT_STREQ(c->title, "");
    free(c);
    c = NULL;
    ASSERT(verify_lim(sign(payload("{\"id\":\"u-1\"}", "\"ordered\"",
                                   "{\"id\":\"p\",\"price\":40,\"url\":\"http://x.example/\"}"),
                           SECRET), &LIM, &c) == NULL);
    ASSERT_EQ(c->priority, CONTEXT_ORDERED);
    ASSERT_STREQ(c->price, "40");
    free(c);
}

TEST(a_bad_signature_or_another_stores_secret_is_refused)
{
    char ctx[4096];
    snprintf(ctx, sizeof ctx, "%s", sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET));
    size_t n = strlen(ctx);
    ctx[n - 1] = ctx[n - 1] == '0' ? '1' : '0';          /* one hex digit of the MAC */
    ASSERT_STREQ(why_of(ctx), "signature");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u-1\"}", NULL, NULL), "another-store")),
                 "signature");
    /* the body changed after signing: the MAC is over the text as sent */
    snprintf(ctx, sizeof ctx, "%s", sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET));
    ctx[3] = ctx[3] == 'A' ? 'B' : 'A';
    ASSERT_STREQ(why_of(ctx), "signature");
    /* a store without a secret trusts nothing */
    struct buyer_context *c = NULL;
    const char *good = sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET);
    ASSERT_STREQ(context_verify(good, strlen(good), &LIM, "", NOW, &c), "no_secret");
    ASSERT(c == NULL);
    ASSERT_STREQ(context_verify(good, strlen(good), &LIM, NULL, NOW, &c), "no_secret");
    ASSERT(c == NULL);
}

TEST(an_expired_context_is_refused)
{
    struct buyer_context *c = NULL;
    const char *ctx = sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET);
    /* exp is NOW + 600: taken until then, refused at it and after */
    ASSERT(context_verify(ctx, strlen(ctx), &LIM, SECRET, NOW + 599, &c) == NULL);
    free(c);
    c = NULL;
    ASSERT_STREQ(context_verify(ctx, strlen(ctx), &LIM, SECRET, NOW + 600, &c), "expired");
    ASSERT(c == NULL);
    ASSERT_STREQ(why_of(sign("{\"buyer\":{\"id\":\"u-1\"}}", SECRET)), "exp");
    ASSERT_STREQ(why_of(sign("{\"exp\":\"soon\",\"buyer\":{\"id\":\"u-1\"}}", SECRET)), "exp");
}

TEST(malformed_base64url_or_json_is_refused)
{
    /* signed as sent, so only the decoding can fail */
    ASSERT_STREQ(why_of(sign_body("eyJleHAi!!", SECRET)), "payload");
    ASSERT_STREQ(why_of(sign_body("eyJleHAi+/", SECRET)), "payload");   /* base64, not url */
    ASSERT_STREQ(why_of(sign_body("e", SECRET)), "payload");            /* a lone 6-bit tail */
    ASSERT_STREQ(why_of(sign("{\"exp\":" LATER ",\"buyer\":{\"id\":\"u-1\"}", SECRET)),
                 "payload");                                            /* unclosed */
    ASSERT_STREQ(why_of(sign("not json at all", SECRET)), "payload");
    ASSERT_STREQ(why_of(sign("[1,2,3]", SECRET)), "payload");           /* not an object */
    ASSERT_STREQ(why_of(sign("{\"exp\":" LATER ",\"buyer\":{\"id\":{\"a\":{\"b\":{}}}}}",
                             SECRET)), "payload");                      /* too deep */
}

TEST(a_non_hex_or_short_mac_or_no_dot_is_refused_before_any_hmac)
{
    char ctx[4096];
    snprintf(ctx, sizeof ctx, "%s", sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET));
    size_t n = strlen(ctx);
    ctx[n - 5] = 'g';
    ASSERT_STREQ(why_of(ctx), "format");
    snprintf(ctx, sizeof ctx, "%s", sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET));
    ctx[n - 2] = '\0';                                                  /* 62 hex digits */
    ASSERT_STREQ(why_of(ctx), "format");
    snprintf(ctx, sizeof ctx, "%s", sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET));
    strcat(ctx, "00");                                                  /* 66 */
    ASSERT_STREQ(why_of(ctx), "format");
    ASSERT_STREQ(why_of("no-dot-here"), "format");
    ASSERT_STREQ(why_of(""), "format");
    ASSERT_STREQ(why_of("." "00000000000000000000000000000000"
                        "00000000000000000000000000000000"), "format");  /* no body */
}

TEST(a_context_over_max_bytes_is_refused)
{
    struct context_limits small = LIM;
    const char *ctx = sign(payload("{\"id\":\"u-1\"}", NULL, NULL), SECRET);
    struct buyer_context *c = NULL;
    small.max_bytes = strlen(ctx) - 1;
    ASSERT_STREQ(verify_lim(ctx, &small, &c), "too_long");
    small.max_bytes = strlen(ctx);
    ASSERT(verify_lim(ctx, &small, &c) == NULL);
    free(c);
}

TEST(each_field_over_its_limit_is_refused_by_name)
{
    char buyer[8192], product[8192];
    /* at the limit: taken (the name and title count characters, not bytes) */
    snprintf(buyer, sizeof buyer, "{\"id\":\"%s\",\"name\":\"%s\"}", rep("i", 64), rep("é", 64));
    snprintf(product, sizeof product, "{\"id\":\"%s\",\"title\":\"%s\",\"price\":\"%s\","
             "\"url\":\"https://%s\"}", rep("p", 64), rep("ü", 200), rep("9", 32),
             rep("u", 2048 - 8));
    ASSERT(why_of(sign(payload(buyer, NULL, product), SECRET)) == NULL);
    /* one more: refused, the field named */
    snprintf(buyer, sizeof buyer, "{\"id\":\"%s\"}", rep("i", 65));
    ASSERT_STREQ(why_of(sign(payload(buyer, NULL, NULL), SECRET)), "buyer.id");
    snprintf(buyer, sizeof buyer, "{\"id\":\"u\",\"name\":\"%s\"}", rep("é", 65));
    ASSERT_STREQ(why_of(sign(payload(buyer, NULL, NULL), SECRET)), "buyer.name");
    snprintf(product, sizeof product, "{\"id\":\"%s\"}", rep("p", 65));
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, product), SECRET)), "product.id");
    snprintf(product, sizeof product, "{\"id\":\"p\",\"title\":\"%s\"}", rep("t", 201));
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, product), SECRET)), "product.title");
    snprintf(product, sizeof product, "{\"id\":\"p\",\"price\":\"%s\"}", rep("9", 33));
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, product), SECRET)), "product.price");
    snprintf(product, sizeof product, "{\"id\":\"p\",\"url\":\"https://%s\"}", rep("u", 2041));
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, product), SECRET)), "product.url");
}

TEST(the_limits_come_from_the_caller)
{
    struct context_limits lim = LIM;
    struct buyer_context *c = NULL;
    const char *ctx = sign(payload("{\"id\":\"u-1001\",\"name\":\"Annabel\"}", NULL,
                                   "{\"id\":\"sku-42\",\"title\":\"Kettle\",\"price\":\"9\","
                                   "\"url\":\"https://s.example/k\"}"), SECRET);
    ASSERT(verify_lim(ctx, &lim, &c) == NULL);
    free(c);
    c = NULL;
    lim.id_bytes = 5;
    ASSERT_STREQ(verify_lim(ctx, &lim, &c), "buyer.id");
    lim = LIM;
    lim.name_chars = 6;
    ASSERT_STREQ(verify_lim(ctx, &lim, &c), "buyer.name");
    lim = LIM;
    lim.title_chars = 5;
    ASSERT_STREQ(verify_lim(ctx, &lim, &c), "product.title");
    lim = LIM;
    lim.price_chars = 0;
    ASSERT_STREQ(verify_lim(ctx, &lim, &c), "product.price");
    lim = LIM;
    lim.url_bytes = 18;
    ASSERT_STREQ(verify_lim(ctx, &lim, &c), "product.url");
    ASSERT(c == NULL);
}

TEST(bad_values_are_refused_by_name)
{
    /* strings without control characters, the right types, a known priority */
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\",\"name\":\"A\\u0007nn\"}", NULL, NULL),
                             SECRET)), "buyer.name");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"\"}", NULL, NULL), SECRET)), "buyer.id");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":42}", NULL, NULL), SECRET)), "buyer.id");
    ASSERT_STREQ(why_of(sign(payload("{\"name\":\"Ann\"}", NULL, NULL), SECRET)), "buyer.id");
    ASSERT_STREQ(why_of(sign(payload("\"u-1\"", NULL, NULL), SECRET)), "buyer");
    ASSERT_STREQ(why_of(sign("{\"exp\":" LATER "}", SECRET)), "buyer");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", "\"gold\"", NULL), SECRET)), "priority");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", "3", NULL), SECRET)), "priority");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, "\"sku\""), SECRET)), "product");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, "{\"title\":\"x\"}"), SECRET)),
                 "product.id");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL, "{\"id\":\"p\",\"price\":true}"),
                             SECRET)), "product.price");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL,
                                     "{\"id\":\"p\",\"url\":\"javascript:alert(1)\"}"), SECRET)),
                 "product.url");
    ASSERT_STREQ(why_of(sign(payload("{\"id\":\"u\"}", NULL,
                                     "{\"id\":\"p\",\"url\":\"https:/\"}"), SECRET)),
                 "product.url");
}

int main(void)
{
    RUN(a_good_signature_gives_every_field);
    RUN(optional_fields_may_be_left_out_and_a_price_may_be_a_number);
    RUN(a_bad_signature_or_another_stores_secret_is_refused);
    RUN(an_expired_context_is_refused);
    RUN(malformed_base64url_or_json_is_refused);
    RUN(a_non_hex_or_short_mac_or_no_dot_is_refused_before_any_hmac);
    RUN(a_context_over_max_bytes_is_refused);
    RUN(each_field_over_its_limit_is_refused_by_name);
    RUN(the_limits_come_from_the_caller);
    RUN(bad_values_are_refused_by_name);
    return TEST_SUMMARY();
}
