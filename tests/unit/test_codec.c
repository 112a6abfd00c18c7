/* test_codec.c - the wire codec: JSON and msgpack decoding, limits, the
 * writer, round trips, and a differential check against msgpack-c. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "test.h"
#include "codec.h"

/* A roomy arena for most cases; B holds a second tree for round trips. */
static struct proto_arena A, B;
static const struct proto_limits LIM = { 8, 512 };

/* ------------------------------------------------------------------ */
/* helpers                                                              */

/* Parses "81 a1 61 01" (spaces optional) into out; returns the byte count. */
static size_t unhex(const char *h, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*h) {
        if (*h == ' ') {
            h++;
            continue;
        }
        unsigned v;
        if (n >= cap || sscanf(h, "%2x", &v) != 1) {
            fprintf(stderr, "bad hex fixture: %s\n", h);
            exit(2);
        }
        out[n++] = (unsigned char)v;
        h += 2;
    }
    return n;
}

static enum proto_status js_lim(const char *s, const struct proto_limits *lim,
                                struct proto_arena *a, const struct proto_value **out)
{
    return proto_decode(s, strlen(s), PROTO_JSON, lim, a, out);
}

static enum proto_status js(const char *s, const struct proto_value **out)
{
    return js_lim(s, &LIM, &A, out);
}

static enum proto_status mp_lim(const char *hex, const struct proto_limits *lim,
                                struct proto_arena *a, const struct proto_value **out)
{
    static unsigned char buf[1 << 16];
    size_t n = unhex(hex, buf, sizeof buf);
    return proto_decode(buf, n, PROTO_MSGPACK, lim, a, out);
}

static enum proto_status mp(const char *hex, const struct proto_value **out)
{
    return mp_lim(hex, &LIM, &A, out);
}

static bool is_int(const struct proto_value *v, int64_t i)
{
    return v && v->type == PROTO_INT && v->u.i == i;
}

static bool is_float(const struct proto_value *v, double f)
{
    return v && v->type == PROTO_FLOAT && memcmp(&v->u.f, &f, sizeof f) == 0;
}

static bool is_strn(const struct proto_value *v, const char *s, size_t n)
{
    return v && v->type == PROTO_STR && v->len == n && memcmp(v->u.s, s, n) == 0 &&
           v->u.s[n] == '\0';
}

static bool is_str(const struct proto_value *v, const char *s)
{
    return is_strn(v, s, strlen(s));
}

/* Strict tree equality: same types, same values, float bits equal. */
static bool veq(const struct proto_value *a, const struct proto_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case PROTO_NIL:   return true;
    case PROTO_BOOL:  return a->u.b == b->u.b;
    case PROTO_INT:   return a->u.i == b->u.i;
    case PROTO_FLOAT: return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
    case PROTO_STR:
    case PROTO_BIN:
        return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
    case PROTO_ARRAY:
    case PROTO_MAP: {
        uint32_t n = a->type == PROTO_MAP ? 2 * a->len : a->len;
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < n; i++)
            if (!veq(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    }
    }
    return false;
}

/* Nested frame of the given depth: top map + (depth-1) maps or arrays. */
static void nest_json(char *out, int depth, bool arrays)
{
    char *p = out;
    if (arrays) {
        p += sprintf(p, "{\"a\":");
        for (int i = 1; i < depth; i++)
            *p++ = '[';
        for (int i = 1; i < depth; i++)
            *p++ = ']';
        if (depth == 1)
            p += sprintf(p, "1");
        *p++ = '}';
    } else {
        for (int i = 1; i < depth; i++)
            p += sprintf(p, "{\"a\":");
        p += sprintf(p, "{}");
        for (int i = 1; i < depth; i++)
            *p++ = '}';
    }
    *p = '\0';
}

static void nest_mp(char *out, int depth, bool arrays)
{
    char *p = out;
    if (depth == 1) {
        strcpy(p, "80");
        return;
    }
    if (arrays) {
        p += sprintf(p, "81a161");
        for (int i = 2; i < depth; i++)
            p += sprintf(p, "91");
        sprintf(p, "90");
    } else {
        for (int i = 1; i < depth; i++)
            p += sprintf(p, "81a161");
        sprintf(p, "80");
    }
}

/* Allocation watch: under ASan, count every malloc made in a window. */
#ifdef __SANITIZE_ADDRESS__
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));
static volatile int watch_on;
static volatile size_t watch_count, watch_max;
static void watch_malloc(const volatile void *p, size_t n)
{
    (void)p;
    if (watch_on) {
        watch_count++;
        if (n > watch_max)
            watch_max = n;
    }
}
static void watch_free(const volatile void *p) { (void)p; }
#define HAVE_WATCH 1
#endif

/* ------------------------------------------------------------------ */
/* JSON decoding                                                        */

TEST(json_all_types)
{
    const struct proto_value *v, *x;
    const char *src =
        " \t\r\n{ \"n\" : null, \"t\":true,\"f\":false,\"i\":-42,\"z\":0,\"mz\":-0,"
        "\"fl\":1.5,\"e\":-2.5e-3,\"E\":1E2,\"ep\":2e+1,\"s\":\"hi\",\"empty\":\"\","
        "\"a\":[1,\"x\",[],{}, null],\"m\":{\"k\":{\"d\":[true]}}} \n";

    ASSERT_EQ(js(src, &v), PROTO_OK);
    ASSERT(v && v->type == PROTO_MAP);
    ASSERT_EQ(v->len, 14);
    ASSERT((x = proto_map_get(v, "n")) && x->type == PROTO_NIL);
    ASSERT((x = proto_map_get(v, "t")) && x->type == PROTO_BOOL && x->u.b == true);
    ASSERT((x = proto_map_get(v, "f")) && x->type == PROTO_BOOL && x->u.b == false);
    ASSERT(is_int(proto_map_get(v, "i"), -42));
    ASSERT(is_int(proto_map_get(v, "z"), 0));
    ASSERT(is_int(proto_map_get(v, "mz"), 0));
    ASSERT(is_float(proto_map_get(v, "fl"), 1.5));
    ASSERT(is_float(proto_map_get(v, "e"), -2.5e-3));
    ASSERT(is_float(proto_map_get(v, "E"), 100.0));
    ASSERT(is_float(proto_map_get(v, "ep"), 20.0));
    ASSERT(is_str(proto_map_get(v, "s"), "hi"));
    ASSERT(is_str(proto_map_get(v, "empty"), ""));

    x = proto_map_get(v, "a");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 5);
    ASSERT(is_int(&x->u.items[0], 1));
    ASSERT(is_str(&x->u.items[1], "x"));
    ASSERT(x->u.items[2].type == PROTO_ARRAY && x->u.items[2].len == 0);
    ASSERT(x->u.items[3].type == PROTO_MAP && x->u.items[3].len == 0);
    ASSERT(x->u.items[4].type == PROTO_NIL);

    x = proto_map_get(proto_map_get(proto_map_get(v, "m"), "k"), "d");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 1);
    ASSERT(x->u.items[0].type == PROTO_BOOL && x->u.items[0].u.b);

    /* keys keep their order in items[] */
    ASSERT(is_str(&v->u.items[0], "n"));
    ASSERT(is_str(&v->u.items[26], "m"));

    ASSERT_EQ(js("{}", &v), PROTO_OK);
    ASSERT(v->type == PROTO_MAP && v->len == 0);
}

TEST(json_escapes)
{
    const struct proto_value *v;

    ASSERT_EQ(js("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\"\\/\b\f\n\r\t"));
    ASSERT_EQ(js("{\"s\":\"a\\nb\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "a\nb"));
    ASSERT_EQ(js("{\"s\":\"caf\\u00e9\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "caf\xc3\xa9"));
    ASSERT_EQ(js("{\"s\":\"\\u00E9\\u20AC\\u0041\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\xc3\xa9\xe2\x82\xac" "A"));
    ASSERT_EQ(js("{\"s\":\"\\ud83d\\ude00!\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\xf0\x9f\x98\x80!"));
    ASSERT_EQ(js("{\"s\":\"\\uDBFF\\uDFFF\"}", &v), PROTO_OK);   /* U+10FFFF */
    ASSERT(is_str(proto_map_get(v, "s"), "\xf4\x8f\xbf\xbf"));
    ASSERT_EQ(js("{\"s\":\"\\uffff\\u07ff\\u0080\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\xef\xbf\xbf\xdf\xbf\xc2\x80"));
    /* NUL is refused in strings (keys too), escaped or raw: every
     * consumer is C, and a cut string must never differ from the checked one */
    ASSERT_EQ(js("{\"s\":\"a\\u0000b\"}", &v), PROTO_E_UTF8);
    ASSERT_EQ(js("{\"n\\u0000x\":1}", &v), PROTO_E_UTF8);
    ASSERT_EQ(proto_decode("\x81\xa1s\xa3" "a\0b", 7, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_UTF8);
    ASSERT_EQ(proto_decode("\x81\xa2n\0\x01", 5, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_UTF8);
    /* ...but bin may hold any byte */
    ASSERT_EQ(proto_decode("\x81\xa1s\xc4\x03" "a\0b", 8, PROTO_MSGPACK, &LIM, &A, &v), PROTO_OK);
    /* escapes in keys */
    ASSERT_EQ(js("{\"k\\u00e9\\n\":1}", &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "k\xc3\xa9\n"), 1));
    /* raw non-ASCII passes through */
    ASSERT_EQ(js("{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"}", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f"));

    /* bad escapes */
    ASSERT_EQ(js("{\"s\":\"\\x41\"}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\a\"}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\U00e9\"}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\u12G4\"}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\u12\"}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\u", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"abc", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"\\ud83d\\u12\"}", &v), PROTO_E_SYNTAX);
    ASSERT(v == NULL);
}

TEST(json_lone_surrogates)
{
    static const char *bad[] = {
        "{\"s\":\"\\ud83d\"}",           /* high, then end of string */
        "{\"s\":\"\\ude00\"}",           /* low alone */
        "{\"s\":\"\\ud83dx\"}",          /* high, then a plain char */
        "{\"s\":\"\\ud83d\\n\"}",        /* high, then another escape */
        "{\"s\":\"\\ud83d\\u0041\"}",    /* high, then a non-surrogate */
        "{\"s\":\"\\ud83d\\ud83d\"}",    /* high, high */
        "{\"s\":\"\\ude00\\ud83d\"}",    /* pair in the wrong order */
        "{\"\\ud800\":1}",               /* in a key */
        "{\"\\udfff\":1}",
    };
    const struct proto_value *v;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum proto_status st = js(bad[i], &v);
        if (st != PROTO_E_UTF8)
            FAIL_("%s: status %d, want PROTO_E_UTF8", bad[i], st);
        ASSERT(v == NULL);
    }
}

/* Raw invalid UTF-8 byte sequences; each is a whole "bad string". */
static const char *const bad_utf8[] = {
    "\xc0\x80",             /* overlong NUL */
    "\xc1\xbf",             /* overlong */
    "\xe0\x80\x80",         /* overlong 3-byte */
    "\xe0\x9f\xbf",
    "\xf0\x80\x80\x80",     /* overlong 4-byte */
    "\xf0\x8f\xbf\xbf",
    "\xed\xa0\x80",         /* U+D800 surrogate */
    "\xed\xbf\xbf",         /* U+DFFF */
    "\xf4\x90\x80\x80",     /* U+110000 */
    "\xf5\x80\x80\x80",
    "\xf8\x88\x80\x80\x80",
    "\xfe", "\xff",
    "\x80",                 /* stray continuation */
    "a\xbf",
    "\xc3",                 /* truncated */
    "\xe2\x82",
    "\xf0\x9f\x98",
    "\xc3" "a",             /* bad continuation */
    "\xe2\x28\xa1",
    "\xf0\x9f\x98\x28",
};
#define NBAD (sizeof bad_utf8 / sizeof bad_utf8[0])

TEST(json_invalid_utf8_raw)
{
    const struct proto_value *v;
    char buf[128];

    for (size_t i = 0; i < NBAD; i++) {
        enum proto_status st;
        snprintf(buf, sizeof buf, "{\"s\":\"%s\"}", bad_utf8[i]);
        if ((st = js(buf, &v)) != PROTO_E_UTF8)
            FAIL_("value #%zu: status %d, want PROTO_E_UTF8", i, st);
        snprintf(buf, sizeof buf, "{\"k%s\":1}", bad_utf8[i]);
        if ((st = js(buf, &v)) != PROTO_E_UTF8)
            FAIL_("key #%zu: status %d, want PROTO_E_UTF8", i, st);
        snprintf(buf, sizeof buf, "{\"a\":[\"ok\",{\"x\":\"%s\"}]}", bad_utf8[i]);
        if ((st = js(buf, &v)) != PROTO_E_UTF8)
            FAIL_("nested #%zu: status %d, want PROTO_E_UTF8", i, st);
    }
    /* a raw lead byte completed by an escape is still invalid */
    ASSERT_EQ(js("{\"s\":\"\xc3\\u00a9\"}", &v), PROTO_E_UTF8);
}

TEST(json_control_chars)
{
    const struct proto_value *v;
    char buf[32];

    for (int c = 0; c < 0x20; c++) {
        /* %c writes a NUL for c == 0 too; n counts it */
        size_t n = (size_t)snprintf(buf, sizeof buf, "{\"s\":\"a%cb\"}", c);
        enum proto_status st = proto_decode(buf, n, PROTO_JSON, &LIM, &A, &v);
        if (st != PROTO_E_SYNTAX)
            FAIL_("raw control 0x%02x: status %d, want PROTO_E_SYNTAX", c, st);
    }
    ASSERT_EQ(js("{\"k\tx\":1}", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(js("{\"s\":\"a\x7f\"}", &v), PROTO_OK);     /* DEL is allowed */
}

TEST(json_structure_errors)
{
    static const char *bad[] = {
        "{", "}", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\"}", "{\"a\":}",
        "{a:1}", "{'a':1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{1:2}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":falsey}", "{\"a\":True}",
        "{\"a\":[1 2]}", "{\"a\":[}", "{\"a\":]}", "{\"a\":[1}", "{\"a\":{]}",
        /* trailing commas and stray commas */
        "{\"a\":1,}", "{\"a\":[1,]}", "{,}", "{\"a\":1,,\"b\":2}", "{\"a\":[,1]}",
        /* trailing bytes */
        "{} x", "{}{}", "{\"a\":1}}", "{}]", "{} 1",
        /* bad whitespace */
        "{\f}", "{\v}", "\xef\xbb\xbf{}",
        /* not JSON at all */
        "x", "<a/>", " ", "\n\t ",
    };
    const struct proto_value *v;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum proto_status st = js(bad[i], &v);
        if (st != PROTO_E_SYNTAX)
            FAIL_("\"%s\": status %d, want PROTO_E_SYNTAX", bad[i], st);
        ASSERT(v == NULL);
    }
    /* a NUL byte after the frame is a trailing byte too */
    ASSERT_EQ(proto_decode("{}\0", 3, PROTO_JSON, &LIM, &A, &v), PROTO_E_SYNTAX);
    /* trailing whitespace is fine */
    ASSERT_EQ(js("{\"a\":1} \r\n\t", &v), PROTO_OK);
}

TEST(json_numbers)
{
    static const char *bad[] = {
        "01", "-01", "00", "0123", "1.", ".5", "+1", "1e", "1e+", "1E-", "-",
        "--1", "1.e5", "0x10", "1.5.2", "Infinity", "-Infinity", "NaN", "1_000",
    };
    const struct proto_value *v;
    char buf[128];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "{\"n\":%s}", bad[i]);
        enum proto_status st = js(buf, &v);
        if (st != PROTO_E_SYNTAX)
            FAIL_("%s: status %d, want PROTO_E_SYNTAX", buf, st);
    }
    ASSERT_EQ(js("{\"n\":[0,-0,7,-7,10,0.0,-0.0,0e0,1e-2,12.75,-1.25E+2]}", &v), PROTO_OK);
    const struct proto_value *a = proto_map_get(v, "n");
    ASSERT(a && a->type == PROTO_ARRAY && a->len == 11);
    ASSERT(is_int(&a->u.items[0], 0));
    ASSERT(is_int(&a->u.items[1], 0));
    ASSERT(is_int(&a->u.items[2], 7));
    ASSERT(is_int(&a->u.items[3], -7));
    ASSERT(is_int(&a->u.items[4], 10));
    ASSERT(is_float(&a->u.items[5], 0.0));
    ASSERT(is_float(&a->u.items[6], -0.0));
    ASSERT(is_float(&a->u.items[7], 0.0));
    ASSERT(is_float(&a->u.items[8], 0.01));
    ASSERT(is_float(&a->u.items[9], 12.75));
    ASSERT(is_float(&a->u.items[10], -125.0));
}

TEST(json_big_ints)
{
    const struct proto_value *v;

    ASSERT_EQ(js("{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                 "\"over\":9223372036854775808,\"under\":-9223372036854775809,"
                 "\"p64\":18446744073709551616,\"huge\":123456789012345678901234567890}", &v),
              PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "max"), INT64_MAX));
    ASSERT(is_int(proto_map_get(v, "min"), INT64_MIN));
    ASSERT(is_float(proto_map_get(v, "over"), 9223372036854775808.0));
    ASSERT(is_float(proto_map_get(v, "under"), -9223372036854775809.0));
    ASSERT(is_float(proto_map_get(v, "p64"), 18446744073709551616.0));
    ASSERT(is_float(proto_map_get(v, "huge"), 123456789012345678901234567890.0));
    /* one below the limits stays an exact int */
    ASSERT_EQ(js("{\"a\":9223372036854775806,\"b\":-9223372036854775807}", &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "a"), INT64_MAX - 1));
    ASSERT(is_int(proto_map_get(v, "b"), INT64_MIN + 1));
    /* out-of-range exponents follow strtod */
    ASSERT_EQ(js("{\"a\":1e400,\"b\":-1e400,\"c\":1e-400}", &v), PROTO_OK);
    ASSERT(is_float(proto_map_get(v, "a"), HUGE_VAL));
    ASSERT(is_float(proto_map_get(v, "b"), -HUGE_VAL));
    ASSERT(is_float(proto_map_get(v, "c"), 0.0));
}

TEST(json_empty_and_not_map)
{
    static const char *not_map[] = {
        "[]", "[1,2]", "\"x\"", "1", "-1", "0.5", "true", "false", "null", " [ ] ",
        "\n\"{}\"",
    };
    const struct proto_value *v = (const struct proto_value *)&v;

    ASSERT_EQ(proto_decode("", 0, PROTO_JSON, &LIM, &A, &v), PROTO_E_SYNTAX);
    ASSERT(v == NULL);
    ASSERT_EQ(proto_decode("{}", 0, PROTO_JSON, &LIM, &A, &v), PROTO_E_SYNTAX);
    for (size_t i = 0; i < sizeof not_map / sizeof not_map[0]; i++) {
        enum proto_status st = js(not_map[i], &v);
        if (st != PROTO_E_NOT_MAP)
            FAIL_("'%s': status %d, want PROTO_E_NOT_MAP", not_map[i], st);
        ASSERT(v == NULL);
    }
}

TEST(json_depth_limit)
{
    const struct proto_value *v;
    char buf[512];
    static const uint32_t depths[] = { 1, 2, 3, 8, 20 };

    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        struct proto_limits lim = { depths[i], 512 };
        int d = (int)depths[i];
        for (int arrays = 0; arrays < 2; arrays++) {
            enum proto_status st;
            nest_json(buf, d, arrays);
            if ((st = js_lim(buf, &lim, &A, &v)) != PROTO_OK)
                FAIL_("depth %d == max (%s): status %d", d, buf, st);
            nest_json(buf, d + 1, arrays);
            if ((st = js_lim(buf, &lim, &A, &v)) != PROTO_E_DEPTH)
                FAIL_("depth %d > max %d (%s): status %d", d + 1, d, buf, st);
        }
    }
    /* default limits: exactly 8 deep is fine, 9 is not */
    nest_json(buf, 8, false);
    ASSERT_EQ(js(buf, &v), PROTO_OK);
    const struct proto_value *x = v;
    for (int k = 1; k < 8; k++)
        x = proto_map_get(x, "a");
    ASSERT(x && x->type == PROTO_MAP && x->len == 0);
    nest_json(buf, 9, false);
    ASSERT_EQ(js(buf, &v), PROTO_E_DEPTH);
    /* scalars don't count as a level */
    struct proto_limits one = { 1, 512 };
    ASSERT_EQ(js_lim("{\"a\":1,\"b\":\"x\"}", &one, &A, &v), PROTO_OK);
    ASSERT_EQ(js_lim("{\"a\":[]}", &one, &A, &v), PROTO_E_DEPTH);
    ASSERT_EQ(js_lim("{\"a\":{}}", &one, &A, &v), PROTO_E_DEPTH);
    /* a very deep input stops at the limit without recursing further */
    static char deep[20001];
    memcpy(deep, "{\"a\":", 5);
    memset(deep + 5, '[', sizeof deep - 6);
    ASSERT_EQ(js(deep, &v), PROTO_E_DEPTH);
    static unsigned char mdeep[20000];
    memset(mdeep, 0x91, sizeof mdeep);
    memcpy(mdeep, "\x81\xa1" "a", 3);
    ASSERT_EQ(proto_decode(mdeep, sizeof mdeep, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_DEPTH);
}

TEST(json_elems_limit)
{
    const struct proto_value *v;
    struct proto_limits lim7 = { 8, 7 }, lim6 = { 8, 6 }, lim5 = { 8, 5 };

    /* 1 map + 3 keys + 3 values = 7 values */
    ASSERT_EQ(js_lim("{\"a\":1,\"b\":2,\"c\":3}", &lim7, &A, &v), PROTO_OK);
    ASSERT_EQ(js_lim("{\"a\":1,\"b\":2,\"c\":3}", &lim6, &A, &v), PROTO_E_ELEMS);
    ASSERT(v == NULL);
    /* map + key + array + 3 items = 6 */
    ASSERT_EQ(js_lim("{\"a\":[1,2,3]}", &lim6, &A, &v), PROTO_OK);
    ASSERT_EQ(js_lim("{\"a\":[1,2,3]}", &lim5, &A, &v), PROTO_E_ELEMS);
    ASSERT_EQ(js_lim("{\"a\":[[[1]]]}", &lim5, &A, &v), PROTO_E_ELEMS);
    /* default 512: 255 pairs = 511 values fit, 256 pairs do not */
    char buf[8192], *p = buf;
    *p++ = '{';
    for (int i = 0; i < 256; i++)
        p += sprintf(p, "%s\"k%d\":%d", i ? "," : "", i, i);
    *p++ = '}';
    *p = '\0';
    ASSERT_EQ(js(buf, &v), PROTO_E_ELEMS);
    p = strstr(buf, ",\"k255\"");
    strcpy(p, "}");
    ASSERT_EQ(js(buf, &v), PROTO_OK);
    ASSERT_EQ(v->len, 255);
    ASSERT(is_int(proto_map_get(v, "k254"), 254));
}

/*
 * The arena's value array is the hard cap when it is smaller than the limit.
 * When the decode fills it exactly, every value must still be the right one.
 */
TEST(arena_exactly_full_keeps_values)
{
    struct proto_arena small;
    struct proto_limits lim = { 8, 512 };
    const struct proto_value *v, *x;

    ASSERT_EQ(proto_arena_init(&small, 5, 256), 0);
    ASSERT_EQ(js_lim("{\"a\":1,\"b\":2}", &lim, &small, &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "a"), 1));
    ASSERT(is_int(proto_map_get(v, "b"), 2));
    ASSERT_EQ(mp_lim("82 a1 61 01 a1 62 02", &lim, &small, &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "a"), 1));
    ASSERT(is_int(proto_map_get(v, "b"), 2));
    ASSERT_EQ(js_lim("{\"a\":1,\"b\":2,\"c\":3}", &lim, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("83 a1 61 01 a1 62 02 a1 63 03", &lim, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(js_lim("{\"a\":[1,2,3]}", &lim, &small, &v), PROTO_E_ELEMS);
    proto_arena_free(&small);

    ASSERT_EQ(proto_arena_init(&small, 9, 256), 0);   /* {"a":[1,2,3,4],"b":0} is 9 values */
    ASSERT_EQ(js_lim("{\"a\":[1,2,3,4,5],\"b\":0}", &lim, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(js_lim("{\"a\":[1,2,3,4],\"b\":0}", &lim, &small, &v), PROTO_OK);
    x = proto_map_get(v, "a");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 4);
    for (int i = 0; i < 4; i++)
        ASSERT(is_int(&x->u.items[i], i + 1));
    ASSERT(is_int(proto_map_get(v, "b"), 0));
    proto_arena_free(&small);

    /*
     * Sweep: a mixed frame decoded into arenas of every size from "too
     * small" to roomy gives the same tree as the roomy arena, or ELEMS.
     */
    static const char *frames[] = {
        "{\"t\":\"msg\",\"a\":[1,[2,3],{\"x\":[4,5,6]}],\"m\":{\"p\":true,\"q\":null},\"z\":\"end\"}",
        "{\"a\":[[1,2],[3,4],[5,6]],\"b\":{\"c\":{\"d\":[7,8,9,10]}}}",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":[6,7,8,9,10,11,12]}",
    };
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        const struct proto_value *ref;
        ASSERT_EQ(js_lim(frames[f], &lim, &B, &ref), PROTO_OK);
        /* the same frame in msgpack */
        struct proto_writer w;
        proto_writer_init(&w, PROTO_MSGPACK, 0);
        proto_w_value(&w, ref);
        ASSERT(!w.err);
        uint32_t need = B.nvals;           /* values the roomy decode used */
        for (uint32_t cap = 1; cap < need + 4; cap++) {
            ASSERT_EQ(proto_arena_init(&small, cap, 1024), 0);
            enum proto_status sj = js_lim(frames[f], &lim, &small, &v);
            bool okj = sj == PROTO_OK ? veq(v, ref) : sj == PROTO_E_ELEMS;
            enum proto_status sm = proto_decode(proto_writer_data(&w), w.len, PROTO_MSGPACK,
                                                &lim, &small, &x);
            bool okm = sm == PROTO_OK ? veq(x, ref) : sm == PROTO_E_ELEMS;
            bool fits = cap >= need;
            proto_arena_free(&small);
            if (!okj || !okm || (sj == PROTO_OK) != fits || (sm == PROTO_OK) != fits) {
                proto_writer_free(&w);
                FAIL_("frame %zu, arena of %u values (needs %u): json %d%s, msgpack %d%s",
                      f, cap, need, sj, okj ? "" : " WRONG TREE", sm, okm ? "" : " WRONG TREE");
            }
        }
        proto_writer_free(&w);
    }
}

TEST(arena_byte_budget)
{
    struct proto_arena small;
    const struct proto_value *v;

    /* "k\0" + "abcdefghij\0" = 13 bytes */
    ASSERT_EQ(proto_arena_init(&small, 16, 13), 0);
    ASSERT_EQ(js_lim("{\"k\":\"abcdefghij\"}", &LIM, &small, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "k"), "abcdefghij"));
    ASSERT(small.nbytes <= small.capbytes);
    ASSERT_EQ(js_lim("{\"k\":\"abcdefghijk\"}", &LIM, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(js_lim("{\"kk\":\"abcdefghij\"}", &LIM, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(js_lim("{\"k\":\"abc\",\"l\":\"abcd\"}", &LIM, &small, &v), PROTO_OK);
    ASSERT_EQ(js_lim("{\"k\":\"abcd\",\"l\":\"abcd\"}", &LIM, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("81 a1 6b aa 61 62 63 64 65 66 67 68 69 6a", &LIM, &small, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "k"), "abcdefghij"));
    ASSERT_EQ(mp_lim("81 a1 6b ab 61 62 63 64 65 66 67 68 69 6a 6b", &LIM, &small, &v),
              PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("81 a1 6b c4 0a 00 01 02 03 04 05 06 07 08 09", &LIM, &small, &v), PROTO_OK);
    ASSERT_EQ(mp_lim("81 a1 6b c4 0b 00 01 02 03 04 05 06 07 08 09 0a", &LIM, &small, &v),
              PROTO_E_ELEMS);
    proto_arena_free(&small);

    /* escapes reserve their source length, then give back what they saved */
    ASSERT_EQ(proto_arena_init(&small, 16, 9), 0);     /* "k\0" + 6 + 1 */
    ASSERT_EQ(js_lim("{\"k\":\"\\u00e9\"}", &LIM, &small, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "k"), "\xc3\xa9"));
    ASSERT_EQ(small.nbytes, 2 + 3);
    proto_arena_free(&small);
    ASSERT_EQ(proto_arena_init(&small, 16, 8), 0);
    ASSERT_EQ(js_lim("{\"k\":\"\\u00e9\"}", &LIM, &small, &v), PROTO_E_ELEMS);
    proto_arena_free(&small);

    /* no string space at all: only string-free frames decode */
    ASSERT_EQ(proto_arena_init(&small, 16, 0), 0);
    ASSERT_EQ(js_lim("{}", &LIM, &small, &v), PROTO_OK);
    ASSERT_EQ(js_lim("{\"\":1}", &LIM, &small, &v), PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("80", &LIM, &small, &v), PROTO_OK);
    ASSERT_EQ(mp_lim("81 a0 01", &LIM, &small, &v), PROTO_E_ELEMS);
    proto_arena_free(&small);

    /* a declared big string in a small arena: error, never a write past it */
    static unsigned char big[6 + 59995];
    big[0] = 0x81; big[1] = 0xa1; big[2] = 'k';
    big[3] = 0xda; big[4] = 0xea; big[5] = 0x5b;        /* str16, 59995 bytes */
    memset(big + 6, 'x', sizeof big - 6);
    ASSERT_EQ(proto_arena_init(&small, 16, 64), 0);
    ASSERT_EQ(proto_decode(big, sizeof big, PROTO_MSGPACK, &LIM, &small, &v), PROTO_E_ELEMS);
    ASSERT(small.nbytes <= small.capbytes);
    ASSERT_EQ(proto_decode(big, sizeof big, PROTO_MSGPACK, &LIM, &A, &v), PROTO_OK);
    ASSERT_EQ(proto_map_get(v, "k")->len, 59995);
    proto_arena_free(&small);

    /* init rejects zero values */
    ASSERT_EQ(proto_arena_init(&small, 0, 16), -1);
}

TEST(arena_reused_across_decodes)
{
    const struct proto_value *v;
    char buf[8192], *p = buf;

    p += sprintf(p, "{\"a\":[");
    for (int i = 0; i < 200; i++)
        p += sprintf(p, "%s\"%04d-xxxxxxxxxxxxxxxxxxxx\"", i ? "," : "", i);
    sprintf(p, "]}");
    for (int round = 0; round < 300; round++) {
        enum proto_status st = js(round % 2 ? buf : "{\"t\":\"x\"}", &v);
        if (st != PROTO_OK)
            FAIL_("round %d: status %d", round, st);
    }
    ASSERT(is_str(proto_map_get(v, "a")->u.items + 199, "0199-xxxxxxxxxxxxxxxxxxxx"));
    ASSERT_EQ(js("{\"t\":\"x\"}", &v), PROTO_OK);
    ASSERT_EQ(A.nvals, 3);
    ASSERT_EQ(A.nbytes, 4);
}

/* ------------------------------------------------------------------ */
/* msgpack decoding                                                     */

TEST(mp_all_types)
{
    const struct proto_value *v, *x;

    ASSERT_EQ(mp("88 a1 6e c0 a1 74 c3 a1 66 c2 a1 69 d0 d6 a1 73 a2 68 69"
                 " a1 61 94 01 a1 78 90 80 a1 6d 81 a1 6b 81 a1 64 91 c3"
                 " a1 62 c4 03 00 ff 41", &v), PROTO_OK);
    ASSERT(v->type == PROTO_MAP && v->len == 8);
    ASSERT((x = proto_map_get(v, "n")) && x->type == PROTO_NIL);
    ASSERT((x = proto_map_get(v, "t")) && x->type == PROTO_BOOL && x->u.b);
    ASSERT((x = proto_map_get(v, "f")) && x->type == PROTO_BOOL && !x->u.b);
    ASSERT(is_int(proto_map_get(v, "i"), -42));
    ASSERT(is_str(proto_map_get(v, "s"), "hi"));
    x = proto_map_get(v, "a");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 4);
    ASSERT(is_int(&x->u.items[0], 1));
    ASSERT(is_str(&x->u.items[1], "x"));
    ASSERT(x->u.items[2].type == PROTO_ARRAY && x->u.items[2].len == 0);
    ASSERT(x->u.items[3].type == PROTO_MAP && x->u.items[3].len == 0);
    x = proto_map_get(proto_map_get(proto_map_get(v, "m"), "k"), "d");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 1 && x->u.items[0].u.b);
    x = proto_map_get(v, "b");
    ASSERT(x && x->type == PROTO_BIN && x->len == 3);
    ASSERT_MEMEQ(x->u.s, "\x00\xff\x41", 3);
    ASSERT_EQ(x->u.s[3], '\0');
    ASSERT_EQ(mp("80", &v), PROTO_OK);
    ASSERT(v->type == PROTO_MAP && v->len == 0);
}

TEST(mp_int_widths)
{
    static const struct { const char *hex; int64_t want; } cases[] = {
        { "00", 0 }, { "01", 1 }, { "7f", 127 },
        { "ff", -1 }, { "e0", -32 }, { "f0", -16 },
        { "cc 00", 0 }, { "cc 80", 128 }, { "cc ff", 255 },
        { "cd 00 00", 0 }, { "cd 01 00", 256 }, { "cd ff ff", 65535 },
        { "ce 00 01 00 00", 65536 }, { "ce ff ff ff ff", 4294967295LL },
        { "ce 80 00 00 00", 2147483648LL },
        { "cf 00 00 00 01 00 00 00 00", 4294967296LL },
        { "cf 7f ff ff ff ff ff ff ff", INT64_MAX },
        { "cf 00 00 00 00 00 00 00 00", 0 },
        { "d0 00", 0 }, { "d0 7f", 127 }, { "d0 80", -128 }, { "d0 ff", -1 },
        { "d0 fe", -2 }, { "d0 df", -33 },
        { "d1 00 00", 0 }, { "d1 7f ff", 32767 }, { "d1 80 00", -32768 },
        { "d1 ff ff", -1 }, { "d1 ff 7f", -129 }, { "d1 00 ff", 255 },
        { "d2 00 00 00 00", 0 }, { "d2 7f ff ff ff", INT32_MAX },
        { "d2 80 00 00 00", INT32_MIN }, { "d2 ff ff ff ff", -1 },
        { "d2 ff ff 7f ff", -32769 }, { "d2 00 00 ff ff", 65535 },
        { "d3 00 00 00 00 00 00 00 00", 0 }, { "d3 7f ff ff ff ff ff ff ff", INT64_MAX },
        { "d3 80 00 00 00 00 00 00 00", INT64_MIN }, { "d3 ff ff ff ff ff ff ff ff", -1 },
        { "d3 ff ff ff ff 7f ff ff ff", (int64_t)INT32_MIN - 1 },
        { "d3 00 00 00 00 ff ff ff ff", 4294967295LL },
    };
    const struct proto_value *v;
    char buf[64];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "81 a1 76 %s", cases[i].hex);
        enum proto_status st = mp(buf, &v);
        if (st != PROTO_OK)
            FAIL_("%s: status %d", cases[i].hex, st);
        const struct proto_value *x = proto_map_get(v, "v");
        if (!is_int(x, cases[i].want))
            FAIL_("%s: got type %d value %lld, want %lld", cases[i].hex, x ? x->type : -1,
                  x ? (long long)x->u.i : 0LL, (long long)cases[i].want);
    }
    /* uint64 above INT64_MAX has no int64 value */
    ASSERT_EQ(mp("81 a1 76 cf 80 00 00 00 00 00 00 00", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 cf ff ff ff ff ff ff ff ff", &v), PROTO_E_SYNTAX);
    /* truncated numbers */
    ASSERT_EQ(mp("81 a1 76 cc", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 cd 01", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 d2 01 02 03", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 d3 01 02 03 04 05 06 07", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 cb 01 02 03 04 05 06 07", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 76 ca 01 02 03", &v), PROTO_E_SYNTAX);
}

TEST(mp_floats)
{
    const struct proto_value *v;

    ASSERT_EQ(mp("86 a1 61 ca 3f c0 00 00 a1 62 cb 40 09 21 fb 54 44 2d 18"
                 " a1 63 ca 80 00 00 00 a1 64 cb 80 00 00 00 00 00 00 00"
                 " a1 65 ca 7f 80 00 00 a1 66 ca 00 00 00 01", &v), PROTO_OK);
    ASSERT(is_float(proto_map_get(v, "a"), 1.5));
    ASSERT(is_float(proto_map_get(v, "b"), 3.141592653589793));
    ASSERT(is_float(proto_map_get(v, "c"), -0.0));
    ASSERT(is_float(proto_map_get(v, "d"), -0.0));
    ASSERT(is_float(proto_map_get(v, "e"), HUGE_VAL));
    ASSERT(is_float(proto_map_get(v, "f"), (double)1.40129846e-45f));   /* float32 denormal */
    ASSERT_EQ(mp("82 a1 61 ca 7f c0 00 00 a1 62 cb 7f f8 00 00 00 00 00 00", &v), PROTO_OK);
    const struct proto_value *a = proto_map_get(v, "a"), *b = proto_map_get(v, "b");
    ASSERT(a && a->type == PROTO_FLOAT && isnan(a->u.f));
    ASSERT(b && b->type == PROTO_FLOAT && isnan(b->u.f));
    ASSERT_EQ(mp("81 a1 61 ca 3d cc cc cd", &v), PROTO_OK);
    ASSERT(is_float(proto_map_get(v, "a"), (double)0.1f));
}

TEST(mp_raw_types)
{
    const struct proto_value *v;
    static unsigned char buf[3 + 5 + 70000];

    /* fixstr of 31, str8, str16, str32; bin8, bin16, bin32 */
    ASSERT_EQ(mp("81 a1 73 bf 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 73 74"
                 " 75 76 77 78 79 7a 30 31 32 33 34", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "abcdefghijklmnopqrstuvwxyz01234"));
    ASSERT_EQ(mp("81 a1 73 d9 00", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), ""));
    ASSERT_EQ(mp("81 a1 73 d9 03 c3 a9 21", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "\xc3\xa9!"));
    ASSERT_EQ(mp("81 a1 73 da 00 02 68 69", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "hi"));
    ASSERT_EQ(mp("81 a1 73 db 00 00 00 02 68 69", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "s"), "hi"));
    ASSERT_EQ(mp("81 a1 62 c4 00", &v), PROTO_OK);
    ASSERT(proto_map_get(v, "b")->type == PROTO_BIN && proto_map_get(v, "b")->len == 0);
    ASSERT_EQ(mp("81 a1 62 c5 00 03 c0 80 ff", &v), PROTO_OK);   /* bin is not UTF-8 checked */
    ASSERT(proto_map_get(v, "b")->type == PROTO_BIN && proto_map_get(v, "b")->len == 3);
    ASSERT_MEMEQ(proto_map_get(v, "b")->u.s, "\xc0\x80\xff", 3);
    ASSERT_EQ(mp("81 a1 62 c6 00 00 00 01 00", &v), PROTO_OK);
    ASSERT(proto_map_get(v, "b")->type == PROTO_BIN && proto_map_get(v, "b")->len == 1);

    /* a big str16 and str32 body */
    buf[0] = 0x81; buf[1] = 0xa1; buf[2] = 's';
    buf[3] = 0xdb; buf[4] = 0; buf[5] = 0x01; buf[6] = 0x11; buf[7] = 0x70;   /* 70000 */
    memset(buf + 8, 'q', 70000);
    ASSERT_EQ(proto_decode(buf, sizeof buf, PROTO_MSGPACK, &LIM, &B, &v), PROTO_OK);
    ASSERT_EQ(proto_map_get(v, "s")->len, 70000);
    ASSERT_EQ(proto_map_get(v, "s")->u.s[69999], 'q');
    ASSERT_EQ(proto_decode(buf, sizeof buf - 1, PROTO_MSGPACK, &LIM, &B, &v), PROTO_E_SYNTAX);

    /* declared length longer than what is left */
    static const char *shorts[] = {
        "81 a1 73 a3 61 62", "81 a1 73 d9 05 61", "81 a1 73 da 00 05 61",
        "81 a1 73 db 00 00 00 05 61", "81 a1 62 c4 02 00", "81 a1 62 c5 00 02 00",
        "81 a1 62 c6 00 00 00 02 00", "81 a1 73 d9", "81 a1 73 da 00", "81 a1 62 c6 00 00",
        "81 a1", "81 a2 61", "81",
    };
    for (size_t i = 0; i < sizeof shorts / sizeof shorts[0]; i++) {
        enum proto_status st = mp(shorts[i], &v);
        if (st != PROTO_E_SYNTAX)
            FAIL_("%s: status %d, want PROTO_E_SYNTAX", shorts[i], st);
    }
}

TEST(mp_containers)
{
    const struct proto_value *v, *x;

    /* map16 and map32 at the top; array16 and array32 inside */
    ASSERT_EQ(mp("de 00 02 a1 61 dc 00 03 01 02 03 a1 62 dd 00 00 00 02 c3 c2", &v), PROTO_OK);
    ASSERT(v->type == PROTO_MAP && v->len == 2);
    x = proto_map_get(v, "a");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 3 && is_int(&x->u.items[2], 3));
    x = proto_map_get(v, "b");
    ASSERT(x && x->type == PROTO_ARRAY && x->len == 2 && x->u.items[0].u.b && !x->u.items[1].u.b);
    ASSERT_EQ(mp("df 00 00 00 01 a1 6d de 00 01 a1 6e df 00 00 00 00", &v), PROTO_OK);
    x = proto_map_get(proto_map_get(v, "m"), "n");
    ASSERT(x && x->type == PROTO_MAP && x->len == 0);
    ASSERT_EQ(mp("de 00 00", &v), PROTO_OK);
    ASSERT_EQ(mp("81 a1 61 dc 00 00", &v), PROTO_OK);
    ASSERT(proto_map_get(v, "a")->type == PROTO_ARRAY && proto_map_get(v, "a")->len == 0);

    /* 16 pairs in a map16 and 20 items in an array16 */
    char buf[512], *p = buf;
    p += sprintf(p, "de 00 10");
    for (int i = 0; i < 15; i++)
        p += sprintf(p, " a2 6b %02x %02x", 'a' + i, i);
    p += sprintf(p, " a1 7a dc 00 14");
    for (int i = 0; i < 20; i++)
        p += sprintf(p, " %02x", i);
    ASSERT_EQ(mp(buf, &v), PROTO_OK);
    ASSERT_EQ(v->len, 16);
    ASSERT(is_int(proto_map_get(v, "kc"), 2));
    x = proto_map_get(v, "z");
    ASSERT(x && x->len == 20 && is_int(&x->u.items[19], 19));

    /* fewer items than declared */
    ASSERT_EQ(mp("82 a1 61 01", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 61 93 01 02", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 61 dc 00 03 01 02", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("de 00 01 a1 61", &v), PROTO_E_SYNTAX);
    /* trailing bytes */
    ASSERT_EQ(mp("80 00", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("81 a1 61 01 01", &v), PROTO_E_SYNTAX);
    ASSERT_EQ(mp("80 80", &v), PROTO_E_SYNTAX);
}

TEST(mp_reserved_and_ext)
{
    static const char *ext[] = {
        "c1", "c7 01 05 00", "c8 00 01 05 00", "c9 00 00 00 01 05 00",
        "d4 05 00", "d5 05 00 00", "d6 05 00 00 00 00", "d7 05 00 00 00 00 00 00 00 00",
        "d8 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "d6 ff 00 00 00 00",     /* timestamp 32 */
    };
    const struct proto_value *v;
    char buf[128];

    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        enum proto_status st;
        snprintf(buf, sizeof buf, "81 a1 61 %s", ext[i]);
        if ((st = mp(buf, &v)) != PROTO_E_SYNTAX)
            FAIL_("value %s: status %d, want PROTO_E_SYNTAX", ext[i], st);
        snprintf(buf, sizeof buf, "81 a1 61 91 %s", ext[i]);
        if ((st = mp(buf, &v)) != PROTO_E_SYNTAX)
            FAIL_("array item %s: status %d, want PROTO_E_SYNTAX", ext[i], st);
        if ((st = mp(ext[i], &v)) != PROTO_E_SYNTAX)
            FAIL_("top %s: status %d, want PROTO_E_SYNTAX", ext[i], st);
        snprintf(buf, sizeof buf, "81 %s 01", ext[i]);
        if ((st = mp(buf, &v)) != PROTO_E_SYNTAX)
            FAIL_("key %s: status %d, want PROTO_E_SYNTAX", ext[i], st);
    }
}

TEST(mp_non_string_keys)
{
    static const char *keys[] = {
        "01", "ff", "cc 01", "d0 ff", "c0", "c2", "c3", "ca 00 00 00 00",
        "cb 00 00 00 00 00 00 00 00", "c4 01 61", "c5 00 01 61", "c6 00 00 00 01 61",
        "90", "91 01", "80", "81 a1 61 01", "dc 00 00", "de 00 00",
    };
    const struct proto_value *v;
    char buf[128];

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        enum proto_status st;
        snprintf(buf, sizeof buf, "81 %s 01", keys[i]);
        if ((st = mp(buf, &v)) != PROTO_E_SYNTAX)
            FAIL_("key %s: status %d, want PROTO_E_SYNTAX", keys[i], st);
        snprintf(buf, sizeof buf, "81 a1 6d 82 a1 61 01 %s 02", keys[i]);
        if ((st = mp(buf, &v)) != PROTO_E_SYNTAX)
            FAIL_("nested key %s: status %d, want PROTO_E_SYNTAX", keys[i], st);
    }
    /* every string form is a valid key */
    ASSERT_EQ(mp("84 a1 61 01 d9 01 62 02 da 00 01 63 03 db 00 00 00 01 64 04", &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "a"), 1));
    ASSERT(is_int(proto_map_get(v, "b"), 2));
    ASSERT(is_int(proto_map_get(v, "c"), 3));
    ASSERT(is_int(proto_map_get(v, "d"), 4));
    ASSERT_EQ(mp("81 a0 01", &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, ""), 1));
}

TEST(mp_invalid_utf8)
{
    const struct proto_value *v;
    char buf[256];

    for (size_t i = 0; i < NBAD; i++) {
        const unsigned char *s = (const unsigned char *)bad_utf8[i];
        size_t n = strlen(bad_utf8[i]);
        char body[64] = "";
        enum proto_status st;
        for (size_t k = 0; k < n; k++)
            sprintf(body + 3 * k, "%02x ", s[k]);
        /* value: fixstr and str8 */
        snprintf(buf, sizeof buf, "81 a1 73 %02zx %s", 0xa0 | n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("fixstr value #%zu: status %d, want PROTO_E_UTF8", i, st);
        snprintf(buf, sizeof buf, "81 a1 73 d9 %02zx %s", n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("str8 value #%zu: status %d, want PROTO_E_UTF8", i, st);
        snprintf(buf, sizeof buf, "81 a1 73 db 00 00 00 %02zx %s", n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("str32 value #%zu: status %d, want PROTO_E_UTF8", i, st);
        /* key: fixstr and str16 */
        snprintf(buf, sizeof buf, "81 %02zx %s 01", 0xa0 | n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("fixstr key #%zu: status %d, want PROTO_E_UTF8", i, st);
        snprintf(buf, sizeof buf, "81 da 00 %02zx %s 01", n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("str16 key #%zu: status %d, want PROTO_E_UTF8", i, st);
        /* deep in an array in a map */
        snprintf(buf, sizeof buf, "81 a1 61 92 01 81 a1 62 %02zx %s", 0xa0 | n, body);
        if ((st = mp(buf, &v)) != PROTO_E_UTF8)
            FAIL_("nested value #%zu: status %d, want PROTO_E_UTF8", i, st);
        /* the same bytes as BIN are fine */
        snprintf(buf, sizeof buf, "81 a1 62 c4 %02zx %s", n, body);
        if ((st = mp(buf, &v)) != PROTO_OK)
            FAIL_("bin #%zu: status %d, want PROTO_OK", i, st);
    }
    /* valid multibyte strings pass */
    ASSERT_EQ(mp("81 a2 c3 a9 ab e2 82 ac f0 9f 98 80 f4 8f bf bf", &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "\xc3\xa9"), "\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
}

TEST(mp_not_map_and_empty)
{
    static const char *not_map[] = {
        "90", "91 01", "dc 00 00", "dd 00 00 00 00", "01", "ff", "c0", "c2", "c3",
        "a1 61", "d9 01 61", "c4 01 00", "cc 01", "cb 00 00 00 00 00 00 00 00",
        "dd ff ff ff ff", "db ff ff ff ff", "c6 ff ff ff ff",
    };
    const struct proto_value *v = (const struct proto_value *)&v;

    ASSERT_EQ(proto_decode("", 0, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_SYNTAX);
    ASSERT(v == NULL);
    for (size_t i = 0; i < sizeof not_map / sizeof not_map[0]; i++) {
        enum proto_status st = mp(not_map[i], &v);
        if (st != PROTO_E_NOT_MAP)
            FAIL_("%s: status %d, want PROTO_E_NOT_MAP", not_map[i], st);
        ASSERT(v == NULL);
    }
}

TEST(mp_depth_limit)
{
    const struct proto_value *v;
    char buf[512];
    static const uint32_t depths[] = { 1, 2, 3, 8, 20 };

    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        struct proto_limits lim = { depths[i], 512 };
        int d = (int)depths[i];
        for (int arrays = 0; arrays < 2; arrays++) {
            enum proto_status st;
            nest_mp(buf, d, arrays);
            if ((st = mp_lim(buf, &lim, &A, &v)) != PROTO_OK)
                FAIL_("depth %d == max (%s): status %d", d, buf, st);
            nest_mp(buf, d + 1, arrays);
            if ((st = mp_lim(buf, &lim, &A, &v)) != PROTO_E_DEPTH)
                FAIL_("depth %d > max %d (%s): status %d", d + 1, d, buf, st);
        }
    }
    nest_mp(buf, 8, false);
    ASSERT_EQ(mp(buf, &v), PROTO_OK);
    nest_mp(buf, 9, false);
    ASSERT_EQ(mp(buf, &v), PROTO_E_DEPTH);
    nest_mp(buf, 9, true);
    ASSERT_EQ(mp(buf, &v), PROTO_E_DEPTH);
    /* empty containers and 16/32-bit headers count as levels too */
    struct proto_limits one = { 1, 512 };
    ASSERT_EQ(mp_lim("81 a1 61 01", &one, &A, &v), PROTO_OK);
    ASSERT_EQ(mp_lim("81 a1 61 90", &one, &A, &v), PROTO_E_DEPTH);
    ASSERT_EQ(mp_lim("81 a1 61 dc 00 00", &one, &A, &v), PROTO_E_DEPTH);
    ASSERT_EQ(mp_lim("81 a1 61 df 00 00 00 00", &one, &A, &v), PROTO_E_DEPTH);
    struct proto_limits zero = { 0, 512 };
    ASSERT_EQ(mp_lim("80", &zero, &A, &v), PROTO_E_DEPTH);
    ASSERT_EQ(js_lim("{}", &zero, &A, &v), PROTO_E_DEPTH);
}

TEST(mp_elems_limit)
{
    const struct proto_value *v;
    struct proto_limits lim7 = { 8, 7 }, lim6 = { 8, 6 }, lim5 = { 8, 5 };

    ASSERT_EQ(mp_lim("83 a1 61 01 a1 62 02 a1 63 03", &lim7, &A, &v), PROTO_OK);
    ASSERT_EQ(mp_lim("83 a1 61 01 a1 62 02 a1 63 03", &lim6, &A, &v), PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("81 a1 61 93 01 02 03", &lim6, &A, &v), PROTO_OK);
    ASSERT_EQ(mp_lim("81 a1 61 93 01 02 03", &lim5, &A, &v), PROTO_E_ELEMS);
    ASSERT_EQ(mp_lim("81 a1 61 91 91 91 01", &lim5, &A, &v), PROTO_E_ELEMS);
    /* a container that declares more items than the budget fails up front */
    char buf[4096], *p = buf;
    p += sprintf(p, "81 a1 61 dc 01 00");
    for (int i = 0; i < 256; i++)
        p += sprintf(p, " c0");
    ASSERT_EQ(mp(buf, &v), PROTO_OK);
    ASSERT_EQ(proto_map_get(v, "a")->len, 256);
    p = buf + sprintf(buf, "81 a1 61 dc 01 fe");
    for (int i = 0; i < 510; i++)
        p += sprintf(p, " c0");
    ASSERT_EQ(mp(buf, &v), PROTO_E_ELEMS);               /* 3 + 510 = 513 values */
    memcpy(buf, "81 a1 61 dc 01 fd", 17);
    ASSERT_EQ(mp(buf, &v), PROTO_E_SYNTAX);              /* 509 declared, 510 given */
}

TEST(mp_hostile_headers)
{
    static const char *hostile[] = {
        "df ff ff ff ff",                  /* map claiming 2^32-1 pairs */
        "df ff ff ff ff a1 61 01",
        "de ff ff",
        "df 80 00 00 00",
        "81 a1 61 dd ff ff ff ff",          /* array claiming 2^32-1 items */
        "81 a1 61 dd ff ff ff ff 01 02 03",
        "81 a1 61 dc ff ff",
        "81 a1 61 df ff ff ff ff",
        "81 a1 61 db ff ff ff ff",          /* 4 GiB string */
        "81 a1 61 db ff ff ff ff 61 62 63",
        "81 db ff ff ff ff 61",
        "81 a1 61 c6 ff ff ff ff",          /* 4 GiB bin */
        "81 a1 61 da ff ff 61",
        "81 a1 61 c5 ff ff 00",
        "81 a1 61 9f 01",
        "8f a1 61",
    };
    const struct proto_value *v;
    unsigned char buf[64];

    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        size_t n = unhex(hostile[i], buf, sizeof buf);
#ifdef HAVE_WATCH
        watch_count = watch_max = 0;
        watch_on = 1;
#endif
        enum proto_status st = proto_decode(buf, n, PROTO_MSGPACK, &LIM, &A, &v);
#ifdef HAVE_WATCH
        watch_on = 0;
        if (watch_count)
            FAIL_("%s: decode made %zu allocations (largest %zu bytes)", hostile[i],
                  (size_t)watch_count, (size_t)watch_max);
#endif
        if (st != PROTO_E_SYNTAX)
            FAIL_("%s: status %d, want PROTO_E_SYNTAX", hostile[i], st);
        ASSERT(v == NULL);
        ASSERT(A.nbytes <= A.capbytes && A.nvals <= A.capvals);
    }
    /* at the top level, array and string headers are simply not a map */
    ASSERT_EQ(mp("dd ff ff ff ff", &v), PROTO_E_NOT_MAP);
    ASSERT_EQ(mp("db ff ff ff ff", &v), PROTO_E_NOT_MAP);
}

/* Every strict prefix of a valid frame is an error (never a crash or OK). */
TEST(truncated_frames)
{
    const char *json = "{\"t\":\"msg\",\"id\":\"m1\",\"n\":[1,-2.5e3,true,false,null,{\"k\":\"\\u00e9\\ud83d\\ude00\"}]}";
    unsigned char msg[256];
    size_t mlen = unhex("83 a1 74 a3 6d 73 67 a2 69 64 cd 01 00 a1 6e 97 01 cb 40 09 21 fb 54 44 2d 18"
                        " c3 c2 c0 81 a1 6b d9 02 c3 a9 c4 01 00", msg, sizeof msg);
    const struct proto_value *v;
    size_t jlen = strlen(json);

    ASSERT_EQ(proto_decode(json, jlen, PROTO_JSON, &LIM, &A, &v), PROTO_OK);
    ASSERT_EQ(proto_decode(msg, mlen, PROTO_MSGPACK, &LIM, &A, &v), PROTO_OK);
    for (size_t n = 0; n < jlen; n++) {
        char *cut = malloc(n ? n : 1);      /* exact size: ASan sees any over-read */
        memcpy(cut, json, n);
        enum proto_status st = proto_decode(cut, n, PROTO_JSON, &LIM, &A, &v);
        free(cut);
        if (st != PROTO_E_SYNTAX)
            FAIL_("json prefix of %zu bytes: status %d", n, st);
    }
    for (size_t n = 0; n < mlen; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, msg, n);
        enum proto_status st = proto_decode(cut, n, PROTO_MSGPACK, &LIM, &A, &v);
        free(cut);
        if (st != PROTO_E_SYNTAX)
            FAIL_("msgpack prefix of %zu bytes: status %d", n, st);
    }
}

TEST(map_get)
{
    const struct proto_value *v, *x;

    ASSERT_EQ(js("{\"a\":1,\"ab\":2,\"dup\":3,\"dup\":4,\"\":5,\"nx\":6,\"\xc3\xa9\":7}", &v),
              PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "a"), 1));
    ASSERT(is_int(proto_map_get(v, "ab"), 2));
    ASSERT(is_int(proto_map_get(v, "dup"), 3));         /* first one wins */
    ASSERT(is_int(proto_map_get(v, ""), 5));
    ASSERT(is_int(proto_map_get(v, "\xc3\xa9"), 7));
    ASSERT(proto_map_get(v, "n") == NULL);               /* no prefix match */
    ASSERT(proto_map_get(v, "A") == NULL);
    ASSERT(proto_map_get(v, "abc") == NULL);
    ASSERT(proto_map_get(v, "b") == NULL);
    ASSERT(proto_map_get(NULL, "a") == NULL);
    x = proto_map_get(v, "a");
    ASSERT(proto_map_get(x, "a") == NULL);               /* not a map */
    ASSERT_EQ(js("{\"l\":[\"a\",1]}", &v), PROTO_OK);
    ASSERT(proto_map_get(proto_map_get(v, "l"), "a") == NULL);   /* array */
    ASSERT_EQ(js("{}", &v), PROTO_OK);
    ASSERT(proto_map_get(v, "a") == NULL);
}

TEST(status_strings)
{
    ASSERT_STREQ(proto_status_str(PROTO_OK), "ok");
    for (int a = PROTO_OK; a <= PROTO_E_NOT_MAP; a++) {
        ASSERT(proto_status_str((enum proto_status)a) != NULL);
        for (int b = a + 1; b <= PROTO_E_NOT_MAP; b++)
            ASSERT(strcmp(proto_status_str((enum proto_status)a),
                          proto_status_str((enum proto_status)b)) != 0);
    }
    ASSERT_STREQ(proto_status_str((enum proto_status)99), "unknown");
}

/* ------------------------------------------------------------------ */
/* writer                                                               */

/* The nested frame used by both exact-output tests. */
static void write_sample(struct proto_writer *w)
{
    proto_w_map(w, 7);
    proto_w_key(w, "t");   proto_w_cstr(w, "msg");
    proto_w_key(w, "id");  proto_w_int(w, 7);
    proto_w_key(w, "to");  proto_w_array(w, 3);
        proto_w_int(w, -1);
        proto_w_str(w, "\xc3\xa9\"", 3);
        proto_w_map(w, 1);
            proto_w_key(w, "x"); proto_w_nil(w);
    proto_w_key(w, "ok");  proto_w_bool(w, true);
    proto_w_key(w, "f");   proto_w_float(w, 1.5);
    proto_w_key(w, "e");   proto_w_map(w, 0);
    proto_w_key(w, "b");   proto_w_bin(w, "\x01\x02", 2);
}

TEST(writer_json_exact)
{
    struct proto_writer w;
    const char *want = "{\"t\":\"msg\",\"id\":7,\"to\":[-1,\"\xc3\xa9\\\"\",{\"x\":null}],"
                       "\"ok\":true,\"f\":1.5,\"e\":{},\"b\":\"AQI=\"}";

    proto_writer_init(&w, PROTO_JSON, 16);
    write_sample(&w);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT(proto_writer_data(&w) == w.buf + 16);
    ASSERT_EQ(w.len, strlen(want));
    ASSERT_MEMEQ(proto_writer_data(&w), want, w.len);
    /* and it decodes */
    const struct proto_value *v;
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_JSON, &LIM, &A, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "b"), "AQI="));
    proto_writer_free(&w);
    ASSERT(w.buf == NULL && w.len == 0);
}

TEST(writer_msgpack_exact)
{
    struct proto_writer w;
    unsigned char want[128];
    size_t n = unhex("87 a1 74 a3 6d 73 67 a2 69 64 07 a2 74 6f 93 ff a3 c3 a9 22 81 a1 78 c0"
                     " a2 6f 6b c3 a1 66 cb 3f f8 00 00 00 00 00 00 a1 65 80 a1 62 c4 02 01 02",
                     want, sizeof want);

    proto_writer_init(&w, PROTO_MSGPACK, 12);
    write_sample(&w);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT(proto_writer_data(&w) == w.buf + 12);
    ASSERT_EQ(w.len, n);
    ASSERT_MEMEQ(proto_writer_data(&w), want, n);
    proto_writer_free(&w);
}

TEST(writer_headroom_growth)
{
    struct proto_writer w;
    char big[5000];

    memset(big, 'z', sizeof big);
    proto_writer_init(&w, PROTO_JSON, 3);
    proto_w_map(&w, 2);
    proto_w_key(&w, "a"); proto_w_str(&w, big, sizeof big);    /* forces reallocs */
    proto_w_key(&w, "b"); proto_w_int(&w, 1);
    ASSERT_EQ(w.err, 0);
    ASSERT(proto_writer_data(&w) == w.buf + 3);
    ASSERT(w.cap >= w.len);
    ASSERT_EQ(w.len, 6 + 5000 + 8);
    ASSERT_MEMEQ(proto_writer_data(&w), "{\"a\":\"zzz", 9);
    ASSERT_MEMEQ(proto_writer_data(&w) + w.len - 10, "zz\",\"b\":1}", 10);

    /* take: caller owns the buffer, data still after the headroom */
    size_t len = w.len;
    char *b = proto_writer_take(&w);
    ASSERT(b != NULL);
    ASSERT_MEMEQ(b + 3, "{\"a\":", 5);
    ASSERT_EQ(b[3 + len - 1], '}');
    free(b);
    ASSERT(w.buf == NULL && w.len == 0 && w.cap == 0);
    /* the writer is usable again after take */
    proto_w_map(&w, 0);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.len, 2);
    ASSERT_MEMEQ(proto_writer_data(&w), "{}", 2);
    ASSERT(proto_writer_data(&w) == w.buf + 3);

    /* reset keeps the allocation, switches encoding, clears err */
    char *keep = w.buf;
    proto_w_nil(&w);                     /* misuse: sets err */
    ASSERT(w.err);
    proto_writer_reset(&w, PROTO_MSGPACK);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.len, 0);
    proto_w_map(&w, 1);
    proto_w_key(&w, "t"); proto_w_cstr(&w, "ack");
    ASSERT(w.buf == keep);
    ASSERT_EQ(w.len, 7);
    ASSERT_MEMEQ(proto_writer_data(&w), "\x81\xa1t\xa3" "ack", 7);
    proto_writer_free(&w);
}

TEST(writer_json_escaping)
{
    struct proto_writer w;
    const char *s = "q\"b\\s/n\nr\rt\tb\bf\f\x01\x1f\x7f\xc3\xa9";
    const char *want = "{\"k\\\"\\\\\\n\":\"q\\\"b\\\\s/n\\nr\\rt\\tb\\u0008f\\u000c\\u0001\\u001f"
                       "\x7f\xc3\xa9\",\"z\":\"a\\u0000b\"}";
    /* the writer escapes a NUL; the decoder then refuses it (see json_escapes) */

    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_map(&w, 2);
    proto_w_key(&w, "k\"\\\n");
    proto_w_cstr(&w, s);
    proto_w_key(&w, "z");
    proto_w_str(&w, "a\0b", 3);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.len, strlen(want));
    ASSERT_MEMEQ(proto_writer_data(&w), want, w.len);
    /* the escaped text decodes back to the original bytes */
    const struct proto_value *v;
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_JSON, &LIM, &A, &v), PROTO_E_UTF8);
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 1);
    proto_w_key(&w, "k\"\\\n");
    proto_w_cstr(&w, s);
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_JSON, &LIM, &A, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "k\"\\\n"), s));
    /* every control character but NUL round-trips */
    char all[31];
    for (int c = 1; c < 32; c++)
        all[c - 1] = (char)c;
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 1);
    proto_w_key(&w, "c");
    proto_w_str(&w, all, sizeof all);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_JSON, &LIM, &A, &v), PROTO_OK);
    ASSERT(is_strn(proto_map_get(v, "c"), all, sizeof all));
    /* NULL cstr writes an empty string */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 1);
    proto_w_key(&w, "c");
    proto_w_cstr(&w, NULL);
    ASSERT_EQ(w.err, 0);
    ASSERT_MEMEQ(proto_writer_data(&w), "{\"c\":\"\"}", w.len);
    proto_writer_free(&w);
}

TEST(writer_json_numbers_and_bin)
{
    static const struct { double f; const char *want; } fl[] = {
        { 1.0, "1.0" }, { 0.1, "0.1" }, { -2.5, "-2.5" }, { 1e300, "1e+300" },
        { 0.0, "0.0" }, { -0.0, "-0.0" }, { 1.0 / 3, "0.33333333333333331" },
        { 123456789.0, "123456789.0" }, { 5e-324, "4.94065645841247e-324" },
        { NAN, "null" }, { INFINITY, "null" }, { -INFINITY, "null" },
    };
    static const struct { const char *in; size_t n; const char *want; } b64[] = {
        { "", 0, "\"\"" }, { "f", 1, "\"Zg==\"" }, { "fo", 2, "\"Zm8=\"" },
        { "foo", 3, "\"Zm9v\"" }, { "foob", 4, "\"Zm9vYg==\"" },
        { "fooba", 5, "\"Zm9vYmE=\"" }, { "foobar", 6, "\"Zm9vYmFy\"" },
        { "\xff\xfe\x00", 3, "\"//4A\"" },
    };
    struct proto_writer w;
    const struct proto_value *v;

    proto_writer_init(&w, PROTO_JSON, 0);
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        proto_writer_reset(&w, PROTO_JSON);
        proto_w_array(&w, 1);
        proto_w_float(&w, fl[i].f);
        ASSERT_EQ(w.err, 0);
        char want[64];
        snprintf(want, sizeof want, "[%s]", fl[i].want);
        if (w.len != strlen(want) || memcmp(proto_writer_data(&w), want, w.len) != 0)
            FAIL_("float %.17g: got %.*s, want %s", fl[i].f, (int)w.len, proto_writer_data(&w), want);
        /* finite floats read back exactly, and as floats */
        if (isfinite(fl[i].f)) {
            char frame[80];
            int n = snprintf(frame, sizeof frame, "{\"f\":%.*s}", (int)w.len - 2,
                             proto_writer_data(&w) + 1);
            ASSERT_EQ(proto_decode(frame, (size_t)n, PROTO_JSON, &LIM, &A, &v), PROTO_OK);
            ASSERT(is_float(proto_map_get(v, "f"), fl[i].f));
        }
    }
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        proto_writer_reset(&w, PROTO_JSON);
        proto_w_array(&w, 1);
        proto_w_bin(&w, b64[i].in, b64[i].n);
        ASSERT_EQ(w.err, 0);
        ASSERT_EQ(w.len, strlen(b64[i].want) + 2);
        ASSERT_MEMEQ(proto_writer_data(&w) + 1, b64[i].want, w.len - 2);
    }
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_array(&w, 4);
    proto_w_int(&w, INT64_MIN);
    proto_w_int(&w, INT64_MAX);
    proto_w_int(&w, 0);
    proto_w_bool(&w, false);
    ASSERT_EQ(w.err, 0);
    ASSERT_MEMEQ(proto_writer_data(&w), "[-9223372036854775808,9223372036854775807,0,false]", w.len);
    ASSERT_EQ(w.len, strlen("[-9223372036854775808,9223372036854775807,0,false]"));
    proto_writer_free(&w);
}

TEST(writer_msgpack_widths)
{
    static const struct { int64_t v; const char *hex; } ints[] = {
        { 0, "00" }, { 127, "7f" }, { 128, "cc 80" }, { 255, "cc ff" }, { 256, "cd 01 00" },
        { 65535, "cd ff ff" }, { 65536, "ce 00 01 00 00" }, { 4294967295LL, "ce ff ff ff ff" },
        { 4294967296LL, "cf 00 00 00 01 00 00 00 00" },
        { INT64_MAX, "cf 7f ff ff ff ff ff ff ff" },
        { -1, "ff" }, { -32, "e0" }, { -33, "d0 df" }, { -128, "d0 80" }, { -129, "d1 ff 7f" },
        { -32768, "d1 80 00" }, { -32769, "d2 ff ff 7f ff" }, { INT32_MIN, "d2 80 00 00 00" },
        { (int64_t)INT32_MIN - 1, "d3 ff ff ff ff 7f ff ff ff" },
        { INT64_MIN, "d3 80 00 00 00 00 00 00 00" },
    };
    struct proto_writer w;
    unsigned char want[16];

    proto_writer_init(&w, PROTO_MSGPACK, 0);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        size_t n = unhex(ints[i].hex, want, sizeof want);
        proto_writer_reset(&w, PROTO_MSGPACK);
        proto_w_array(&w, 1);
        proto_w_int(&w, ints[i].v);
        ASSERT_EQ(w.err, 0);
        if (w.len != n + 1 || memcmp(proto_writer_data(&w) + 1, want, n) != 0)
            FAIL_("int %lld: wrong encoding (want %s)", (long long)ints[i].v, ints[i].hex);
    }

    /* str / bin / array / map header boundaries */
    static const struct { size_t n; const char *hdr; } strs[] = {
        { 0, "a0" }, { 31, "bf" }, { 32, "d9 20" }, { 255, "d9 ff" }, { 256, "da 01 00" },
        { 65535, "da ff ff" }, { 65536, "db 00 01 00 00" },
    };
    char *body = malloc(70000);
    memset(body, 'y', 70000);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        size_t n = unhex(strs[i].hdr, want, sizeof want);
        proto_writer_reset(&w, PROTO_MSGPACK);
        proto_w_array(&w, 1);
        proto_w_str(&w, body, strs[i].n);
        ASSERT_EQ(w.err, 0);
        ASSERT_EQ(w.len, 1 + n + strs[i].n);
        ASSERT_MEMEQ(proto_writer_data(&w) + 1, want, n);
    }
    static const struct { size_t n; const char *hdr; } bins[] = {
        { 0, "c4 00" }, { 255, "c4 ff" }, { 256, "c5 01 00" }, { 65535, "c5 ff ff" },
        { 65536, "c6 00 01 00 00" },
    };
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        size_t n = unhex(bins[i].hdr, want, sizeof want);
        proto_writer_reset(&w, PROTO_MSGPACK);
        proto_w_array(&w, 1);
        proto_w_bin(&w, body, bins[i].n);
        ASSERT_EQ(w.err, 0);
        ASSERT_EQ(w.len, 1 + n + bins[i].n);
        ASSERT_MEMEQ(proto_writer_data(&w) + 1, want, n);
    }
    free(body);

    static const struct { uint32_t n; const char *arr, *map; } cont[] = {
        { 0, "90", "80" }, { 15, "9f", "8f" }, { 16, "dc 00 10", "de 00 10" },
        { 65535, "dc ff ff", "de ff ff" }, { 65536, "dd 00 01 00 00", "df 00 01 00 00" },
    };
    for (size_t i = 0; i < sizeof cont / sizeof cont[0]; i++) {
        size_t n = unhex(cont[i].arr, want, sizeof want);
        proto_writer_reset(&w, PROTO_MSGPACK);
        proto_w_array(&w, cont[i].n);
        for (uint32_t k = 0; k < cont[i].n; k++)
            proto_w_nil(&w);
        ASSERT_EQ(w.err, 0);
        ASSERT_EQ(w.depth, 0);
        ASSERT_EQ(w.len, n + cont[i].n);
        ASSERT_MEMEQ(proto_writer_data(&w), want, n);

        n = unhex(cont[i].map, want, sizeof want);
        proto_writer_reset(&w, PROTO_MSGPACK);
        proto_w_map(&w, cont[i].n);
        for (uint32_t k = 0; k < cont[i].n; k++) {
            proto_w_key(&w, "");
            proto_w_bool(&w, k & 1);
        }
        ASSERT_EQ(w.err, 0);
        ASSERT_EQ(w.depth, 0);
        ASSERT_EQ(w.len, n + 2 * (size_t)cont[i].n);
        ASSERT_MEMEQ(proto_writer_data(&w), want, n);
    }
    proto_writer_free(&w);
}

TEST(writer_auto_close)
{
    struct proto_writer w;

    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_map(&w, 3);
    proto_w_key(&w, "a");
    proto_w_array(&w, 2);
    proto_w_array(&w, 1);
    proto_w_map(&w, 1);
    proto_w_key(&w, "x");
    proto_w_int(&w, 1);          /* closes {x}, [..] -- three levels at once */
    ASSERT_EQ(w.depth, 2);
    proto_w_array(&w, 0);        /* second item of the outer array: closes it */
    ASSERT_EQ(w.depth, 1);
    proto_w_key(&w, "b");
    proto_w_map(&w, 0);
    proto_w_key(&w, "c");
    proto_w_map(&w, 1);
    proto_w_key(&w, "d");
    proto_w_array(&w, 0);        /* closes {d}, then the top map */
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    const char *want = "{\"a\":[[{\"x\":1}],[]],\"b\":{},\"c\":{\"d\":[]}}";
    ASSERT_EQ(w.len, strlen(want));
    ASSERT_MEMEQ(proto_writer_data(&w), want, w.len);

    /* the same calls in msgpack */
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_map(&w, 3);
    proto_w_key(&w, "a");
    proto_w_array(&w, 2);
    proto_w_array(&w, 1);
    proto_w_map(&w, 1);
    proto_w_key(&w, "x");
    proto_w_int(&w, 1);
    proto_w_array(&w, 0);
    proto_w_key(&w, "b");
    proto_w_map(&w, 0);
    proto_w_key(&w, "c");
    proto_w_map(&w, 1);
    proto_w_key(&w, "d");
    proto_w_array(&w, 0);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    unsigned char mwant[64];
    size_t n = unhex("83 a1 61 92 91 81 a1 78 01 90 a1 62 80 a1 63 81 a1 64 90", mwant, sizeof mwant);
    ASSERT_EQ(w.len, n);
    ASSERT_MEMEQ(proto_writer_data(&w), mwant, n);

    /* nesting up to PROTO_W_MAXDEPTH is fine, one more is an error */
    proto_writer_reset(&w, PROTO_JSON);
    for (int i = 0; i < PROTO_W_MAXDEPTH; i++)
        proto_w_array(&w, 1);
    proto_w_int(&w, 5);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT_EQ(w.len, 2 * PROTO_W_MAXDEPTH + 1);
    proto_writer_reset(&w, PROTO_JSON);
    for (int i = 0; i < PROTO_W_MAXDEPTH + 1; i++)
        proto_w_array(&w, 1);
    ASSERT(w.err);
    proto_writer_free(&w);
}

TEST(writer_misuse)
{
    struct proto_writer w;
    size_t len;

    /* key where a value is expected */
    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_map(&w, 1);
    proto_w_key(&w, "a");
    ASSERT_EQ(w.err, 0);
    proto_w_key(&w, "b");
    ASSERT(w.err);
    /* sticky: nothing more is written */
    len = w.len;
    proto_w_int(&w, 1);
    proto_w_cstr(&w, "x");
    proto_w_map(&w, 1);
    ASSERT(w.err);
    ASSERT_EQ(w.len, len);

    /* value where a key is expected */
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_map(&w, 1);
    proto_w_int(&w, 1);
    ASSERT(w.err);
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 2);
    proto_w_key(&w, "a");
    proto_w_int(&w, 1);
    proto_w_cstr(&w, "b");        /* a string is not a key */
    ASSERT(w.err);

    /* key in an array, key at the top */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_array(&w, 2);
    proto_w_key(&w, "a");
    ASSERT(w.err);
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_key(&w, "a");
    ASSERT(w.err);
    ASSERT_EQ(w.len, 0);

    /* too many values: the container closed itself, the extra is top-level */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_array(&w, 1);
    proto_w_int(&w, 1);
    ASSERT_EQ(w.err, 0);
    proto_w_int(&w, 2);
    ASSERT(w.err);
    ASSERT_MEMEQ(proto_writer_data(&w), "[1]", 3);
    ASSERT_EQ(w.len, 3);
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_map(&w, 1);
    proto_w_key(&w, "a");
    proto_w_int(&w, 1);
    proto_w_key(&w, "b");
    ASSERT(w.err);

    /* value after the top-level value finished */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 0);
    ASSERT_EQ(w.err, 0);
    proto_w_map(&w, 0);
    ASSERT(w.err);
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_map(&w, 0);
    proto_w_nil(&w);
    ASSERT(w.err);
    proto_writer_reset(&w, PROTO_MSGPACK);
    proto_w_cstr(&w, "");
    ASSERT_EQ(w.err, 0);
    proto_w_raw(&w, "\xc0", 1);
    ASSERT(w.err);

    /* proto_w_value refuses a map whose key is not a string */
    struct proto_value items[2] = {
        { .type = PROTO_INT, .u.i = 1 }, { .type = PROTO_NIL },
    };
    struct proto_value m = { .type = PROTO_MAP, .len = 1, .u.items = items };
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_value(&w, &m);
    ASSERT(w.err);
    struct proto_value bad = { .type = 42 };
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_value(&w, &bad);
    ASSERT(w.err);
    proto_writer_free(&w);
}

TEST(writer_raw)
{
    struct proto_writer w;
    const struct proto_value *v, *x;

    /* a stored msgpack record spliced into a msgpack frame */
    proto_writer_init(&w, PROTO_MSGPACK, 4);
    proto_w_map(&w, 3);
    proto_w_key(&w, "t");
    proto_w_cstr(&w, "hist");
    proto_w_key(&w, "rec");
    proto_w_raw(&w, "\x82\xa1" "a\x01\xa1" "b\x92\xc3\xc0", 9);
    proto_w_key(&w, "n");
    proto_w_int(&w, 2);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_MSGPACK, &LIM, &A, &v), PROTO_OK);
    x = proto_map_get(v, "rec");
    ASSERT(is_int(proto_map_get(x, "a"), 1));
    ASSERT((x = proto_map_get(x, "b")) && x->type == PROTO_ARRAY && x->len == 2);
    ASSERT(is_int(proto_map_get(v, "n"), 2));

    /* JSON: raw counts as one value, separators and closing still right */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 2);
    proto_w_key(&w, "a");
    proto_w_array(&w, 2);
    proto_w_raw(&w, "{\"x\":[1,2]}", 11);
    proto_w_raw(&w, "null", 4);
    proto_w_key(&w, "b");
    proto_w_raw(&w, "3", 1);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    const char *want = "{\"a\":[{\"x\":[1,2]},null],\"b\":3}";
    ASSERT_EQ(w.len, strlen(want));
    ASSERT_MEMEQ(proto_writer_data(&w), want, w.len);
    /* raw in key position is misuse */
    proto_writer_reset(&w, PROTO_JSON);
    proto_w_map(&w, 1);
    proto_w_raw(&w, "\"k\"", 3);
    ASSERT(w.err);
    proto_writer_free(&w);
}

/* Decodes buf, re-encodes the tree in `to`, decodes that into B: trees equal. */
static bool round_trip(const char *src, size_t n, enum proto_enc from, enum proto_enc to)
{
    const struct proto_value *a, *b;
    struct proto_writer w;
    bool ok;

    if (proto_decode(src, n, from, &LIM, &A, &a) != PROTO_OK)
        return false;
    proto_writer_init(&w, to, 8);
    proto_w_value(&w, a);
    ok = !w.err && w.depth == 0 &&
         proto_decode(proto_writer_data(&w), w.len, to, &LIM, &B, &b) == PROTO_OK && veq(a, b);
    proto_writer_free(&w);
    return ok;
}

TEST(value_round_trips)
{
    const char *json =
        "{\"t\":\"msg\",\"id\":\"m1\",\"text\":\"h\\u00e9llo \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\\u0001\","
        "\"seq\":3,\"neg\":-70000,\"big\":9223372036854775807,\"small\":-9223372036854775808,"
        "\"f\":0.1,\"g\":-1.5e-300,\"h\":1e300,\"z\":-0.0,\"i\":2.0,"
        "\"ok\":true,\"no\":false,\"nil\":null,\"e\":\"\",\"ea\":[],\"em\":{},"
        "\"a\":[1,[2,[3,[4]]],{\"k\":{\"kk\":[null,\"\"]}}],"
        "\"\\u00e9\\u0001\":\"key with a control char\"}";
    unsigned char msg[256];
    size_t mlen = unhex("8a a1 61 cc ff a1 62 d1 80 00 a1 63 ca 3f c0 00 00 a1 64 cb 40 09 21 fb 54 44 2d 18"
                        " a1 65 de 00 01 a0 dc 00 02 c0 c3 a1 66 d9 03 c3 a9 01"
                        " a1 67 cf 00 00 00 01 00 00 00 00 a1 68 d3 ff ff ff ff ff ff ff ff"
                        " a1 69 90 a1 6a 91 80", msg, sizeof msg);

    ASSERT(round_trip(json, strlen(json), PROTO_JSON, PROTO_MSGPACK));
    ASSERT(round_trip(json, strlen(json), PROTO_JSON, PROTO_JSON));
    ASSERT(round_trip((const char *)msg, mlen, PROTO_MSGPACK, PROTO_JSON));
    ASSERT(round_trip((const char *)msg, mlen, PROTO_MSGPACK, PROTO_MSGPACK));

    /* and the re-encoded msgpack of the JSON frame decodes to JSON-equal values */
    const struct proto_value *v;
    ASSERT_EQ(js(json, &v), PROTO_OK);
    ASSERT(is_str(proto_map_get(v, "text"), "h\xc3\xa9llo \xf0\x9f\x98\x80 \"q\" \\ \n\x01"));
    ASSERT(is_float(proto_map_get(v, "i"), 2.0));

    /* BIN goes to JSON as base64 text; to msgpack it stays BIN */
    const struct proto_value *a, *b;
    struct proto_writer w;
    ASSERT(round_trip("\x81\xa1" "b\xc4\x03\x00\xff\x10", 8, PROTO_MSGPACK, PROTO_MSGPACK));
    ASSERT_EQ(mp("81 a1 62 c4 03 00 ff 10", &a), PROTO_OK);
    proto_writer_init(&w, PROTO_JSON, 0);
    proto_w_value(&w, a);
    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(proto_decode(proto_writer_data(&w), w.len, PROTO_JSON, &LIM, &B, &b), PROTO_OK);
    ASSERT(is_str(proto_map_get(b, "b"), "AP8Q"));
    proto_writer_free(&w);
}

/* ------------------------------------------------------------------ */
/* differential: msgpack-c                                              */

/* Our value equals msgpack-c's object (floats compared bit for bit). */
static bool obj_eq(const msgpack_object *o, const struct proto_value *v)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return v->type == PROTO_NIL;
    case MSGPACK_OBJECT_BOOLEAN:
        return v->type == PROTO_BOOL && v->u.b == o->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return v->type == PROTO_INT && v->u.i >= 0 && (uint64_t)v->u.i == o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return v->type == PROTO_INT && v->u.i == o->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return v->type == PROTO_FLOAT && memcmp(&v->u.f, &o->via.f64, sizeof(double)) == 0;
    case MSGPACK_OBJECT_STR:
        return v->type == PROTO_STR && v->len == o->via.str.size &&
               (v->len == 0 || memcmp(v->u.s, o->via.str.ptr, v->len) == 0) &&
               v->u.s[v->len] == '\0';
    case MSGPACK_OBJECT_BIN:
        return v->type == PROTO_BIN && v->len == o->via.bin.size &&
               (v->len == 0 || memcmp(v->u.s, o->via.bin.ptr, v->len) == 0);
    case MSGPACK_OBJECT_ARRAY:
        if (v->type != PROTO_ARRAY || v->len != o->via.array.size)
            return false;
        for (uint32_t i = 0; i < v->len; i++)
            if (!obj_eq(&o->via.array.ptr[i], &v->u.items[i]))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        if (v->type != PROTO_MAP || v->len != o->via.map.size)
            return false;
        for (uint32_t i = 0; i < v->len; i++)
            if (!obj_eq(&o->via.map.ptr[i].key, &v->u.items[2 * i]) ||
                !obj_eq(&o->via.map.ptr[i].val, &v->u.items[2 * i + 1]))
                return false;
        return true;
    default:
        return false;
    }
}

/* Decodes buf with both libraries and compares the results. */
static bool both_decode_equal(const void *buf, size_t len, const struct proto_limits *lim,
                              struct proto_arena *a)
{
    msgpack_unpacked res;
    size_t off = 0;
    const struct proto_value *v;
    bool ok;

    if (proto_decode(buf, len, PROTO_MSGPACK, lim, a, &v) != PROTO_OK)
        return false;
    msgpack_unpacked_init(&res);
    ok = msgpack_unpack_next(&res, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
         off == len && obj_eq(&res.data, v);
    msgpack_unpacked_destroy(&res);
    return ok;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

TEST(diff_msgpack_c_fixed_widths)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char *body = malloc(70000);
    struct proto_limits lim = { 8, 200000 };
    struct proto_arena big;

    memset(body, 'w', 70000);
    ASSERT_EQ(proto_arena_init(&big, 200000, 1 << 20), 0);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    msgpack_pack_map(&pk, 20);
    pk_str(&pk, "fu8");  msgpack_pack_fix_uint8(&pk, 200);
    pk_str(&pk, "fu16"); msgpack_pack_fix_uint16(&pk, 60000);
    pk_str(&pk, "fu32"); msgpack_pack_fix_uint32(&pk, 4000000000u);
    pk_str(&pk, "fu64"); msgpack_pack_fix_uint64(&pk, 5);
    pk_str(&pk, "fi8");  msgpack_pack_fix_int8(&pk, -1);
    pk_str(&pk, "fi16"); msgpack_pack_fix_int16(&pk, -2);
    pk_str(&pk, "fi32"); msgpack_pack_fix_int32(&pk, -3);
    pk_str(&pk, "fi64"); msgpack_pack_fix_int64(&pk, -4);
    pk_str(&pk, "pos");  msgpack_pack_fix_int8(&pk, 100);
    pk_str(&pk, "f32");  msgpack_pack_float(&pk, 0.1f);
    pk_str(&pk, "f64");  msgpack_pack_double(&pk, -1e-310);
    pk_str(&pk, "nan");  msgpack_pack_double(&pk, NAN);
    pk_str(&pk, "s16");  msgpack_pack_str(&pk, 300); msgpack_pack_str_body(&pk, body, 300);
    pk_str(&pk, "s32");  msgpack_pack_str(&pk, 70000); msgpack_pack_str_body(&pk, body, 70000);
    pk_str(&pk, "b16");  msgpack_pack_bin(&pk, 300); msgpack_pack_bin_body(&pk, body, 300);
    pk_str(&pk, "b32");  msgpack_pack_bin(&pk, 70000); msgpack_pack_bin_body(&pk, body, 70000);
    pk_str(&pk, "a32");  msgpack_pack_array(&pk, 70000);
    for (int i = 0; i < 70000; i++)
        msgpack_pack_nil(&pk);
    pk_str(&pk, "m16");  msgpack_pack_map(&pk, 17);
    for (int i = 0; i < 17; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        pk_str(&pk, k);
        msgpack_pack_int(&pk, -i * 1000);
    }
    pk_str(&pk, "t");    msgpack_pack_true(&pk);
    pk_str(&pk, "f");    msgpack_pack_false(&pk);

    ASSERT(both_decode_equal(sb.data, sb.size, &lim, &big));
    const struct proto_value *v;
    ASSERT_EQ(proto_decode(sb.data, sb.size, PROTO_MSGPACK, &lim, &big, &v), PROTO_OK);
    ASSERT(is_int(proto_map_get(v, "fu32"), 4000000000LL));
    ASSERT(is_int(proto_map_get(v, "fi8"), -1));
    ASSERT(is_int(proto_map_get(v, "fi16"), -2));
    ASSERT(is_int(proto_map_get(v, "fi32"), -3));
    ASSERT(is_int(proto_map_get(v, "fi64"), -4));
    ASSERT(is_float(proto_map_get(v, "f32"), (double)0.1f));
    ASSERT_EQ(proto_map_get(v, "a32")->len, 70000);
    ASSERT(is_int(proto_map_get(proto_map_get(v, "m16"), "k16"), -16000));
    msgpack_sbuffer_destroy(&sb);

    /* map32 via msgpack-c */
    msgpack_sbuffer_init(&sb);
    msgpack_pack_map(&pk, 70000);
    for (int i = 0; i < 70000; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", i);
        pk_str(&pk, k);
        msgpack_pack_int64(&pk, (int64_t)i * -131);
    }
    ASSERT_EQ((unsigned char)sb.data[0], 0xdf);
    ASSERT(both_decode_equal(sb.data, sb.size, &lim, &big));
    msgpack_sbuffer_destroy(&sb);

    /* uint64 above INT64_MAX: msgpack-c can write it, we refuse it */
    msgpack_sbuffer_init(&sb);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "u");
    msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1);
    ASSERT_EQ(proto_decode(sb.data, sb.size, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_SYNTAX);
    msgpack_sbuffer_destroy(&sb);
    /* ext: msgpack-c writes it, we refuse it */
    msgpack_sbuffer_init(&sb);
    msgpack_pack_map(&pk, 1);
    pk_str(&pk, "x");
    msgpack_pack_ext_with_body(&pk, "abcd", 4, 7);
    ASSERT_EQ(proto_decode(sb.data, sb.size, PROTO_MSGPACK, &LIM, &A, &v), PROTO_E_SYNTAX);
    msgpack_sbuffer_destroy(&sb);

    proto_arena_free(&big);
    free(body);
}

/* Deterministic random frames built with both encoders in lockstep. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t rnd_utf8(char *out, size_t max)
{
    static const char *pieces[] = { "a", "Z", " ", "\"", "\\", "\n", "\x01", "\xc3\xa9",
                                    "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f", "/" };
    size_t n = 0, want = rnd() % 5 == 0 ? rnd() % max : rnd() % 12;
    while (n < want) {
        const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
        size_t k = strlen(p);
        if (n + k > max)
            break;
        memcpy(out + n, p, k);
        n += k;
    }
    return n;
}

static int64_t rnd_int(void)
{
    static const int64_t edge[] = { 0, 1, -1, 127, 128, -32, -33, 255, 256, -128, -129,
                                    65535, 65536, -32768, -32769, 4294967295LL, 4294967296LL,
                                    INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN };
    if (rnd() % 2)
        return edge[rnd() % (sizeof edge / sizeof edge[0])];
    return (int64_t)(rnd() >> (rnd() % 64));
}

static void gen(msgpack_packer *pk, struct proto_writer *w, int depth, bool want_map)
{
    char s[300];
    unsigned kind = want_map ? 9 : (unsigned)(rnd() % (depth < 5 ? 10 : 8));

    switch (kind) {
    case 0: msgpack_pack_nil(pk); proto_w_nil(w); break;
    case 1: {
        bool b = rnd() & 1;
        if (b) msgpack_pack_true(pk); else msgpack_pack_false(pk);
        proto_w_bool(w, b);
        break;
    }
    case 2: case 3: {
        int64_t i = rnd_int();
        msgpack_pack_int64(pk, i);
        proto_w_int(w, i);
        break;
    }
    case 4: {
        uint64_t bits = rnd();
        double f;
        memcpy(&f, &bits, 8);
        if (rnd() % 2)
            f = (double)(int64_t)(rnd() % 2000000) / 64 - 10000;
        msgpack_pack_double(pk, f);
        proto_w_float(w, f);
        break;
    }
    case 5: case 6: {
        size_t n = rnd_utf8(s, sizeof s);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, s, n);
        proto_w_str(w, s, n);
        break;
    }
    case 7: {
        size_t n = rnd() % 3 == 0 ? rnd() % sizeof s : rnd() % 8;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)rnd();
        msgpack_pack_bin(pk, n);
        msgpack_pack_bin_body(pk, s, n);
        proto_w_bin(w, s, n);
        break;
    }
    case 8: {
        uint32_t n = (uint32_t)(rnd() % 20);
        msgpack_pack_array(pk, n);
        proto_w_array(w, n);
        for (uint32_t i = 0; i < n; i++)
            gen(pk, w, depth + 1, false);
        break;
    }
    default: {
        uint32_t n = (uint32_t)(rnd() % 18);
        msgpack_pack_map(pk, n);
        proto_w_map(w, n);
        for (uint32_t i = 0; i < n; i++) {
            size_t k = rnd_utf8(s, 40);
            msgpack_pack_str(pk, k);
            msgpack_pack_str_body(pk, s, k);
            s[k] = '\0';
            proto_w_key(w, s);
            gen(pk, w, depth + 1, false);
        }
        break;
    }
    }
}

TEST(diff_msgpack_c_random)
{
    struct proto_limits lim = { 16, 1 << 20 };
    struct proto_arena big;
    int frames = 0, bytes_equal = 0;

    ASSERT_EQ(proto_arena_init(&big, 1 << 20, 1 << 24), 0);
    for (int round = 0; round < 300; round++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        struct proto_writer w;
        msgpack_unpacked res;
        size_t off = 0;
        const struct proto_value *v;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_writer_init(&w, PROTO_MSGPACK, 0);
        gen(&pk, &w, 1, true);
        if (w.err) {
            proto_writer_free(&w);
            msgpack_sbuffer_destroy(&sb);
            FAIL_("round %d: writer error", round);
        }
        /* same calls, same bytes: our writer encodes exactly like msgpack-c */
        bytes_equal += w.len == sb.size && memcmp(proto_writer_data(&w), sb.data, w.len) == 0;

        /* msgpack-c's bytes -> our decoder == msgpack-c's decoder */
        bool ok1 = both_decode_equal(sb.data, sb.size, &lim, &big);
        /* our bytes -> msgpack-c's decoder == our tree */
        bool ok2 = proto_decode(proto_writer_data(&w), w.len, PROTO_MSGPACK, &lim, &big, &v) == PROTO_OK;
        msgpack_unpacked_init(&res);
        ok2 = ok2 && msgpack_unpack_next(&res, proto_writer_data(&w), w.len, &off) ==
                         MSGPACK_UNPACK_SUCCESS && off == w.len && obj_eq(&res.data, v);
        msgpack_unpacked_destroy(&res);
        proto_writer_free(&w);
        msgpack_sbuffer_destroy(&sb);
        if (!ok1 || !ok2)
            FAIL_("round %d: msgpack-c bytes decode %s, our bytes unpack %s", round,
                  ok1 ? "ok" : "DIFFERS", ok2 ? "ok" : "DIFFERS");
        frames++;
    }
    proto_arena_free(&big);
    ASSERT_EQ(frames, 300);
    ASSERT_EQ(bytes_equal, 300);
}

TEST(diff_writer_bytes_match_msgpack_c)
{
    /* every scalar kind and header width: our bytes == msgpack-c's bytes */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct proto_writer w;
    char *body = malloc(70000);
    static const int64_t ints[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                                    4294967296LL, INT64_MAX, -1, -32, -33, -128, -129, -32768,
                                    -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN };
    static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536 };
    static const uint32_t counts[] = { 0, 1, 15, 16, 65535, 65536 };

    memset(body, 'v', 70000);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_writer_init(&w, PROTO_MSGPACK, 0);
    uint32_t n = (uint32_t)(sizeof ints / sizeof ints[0] + 2 * (sizeof lens / sizeof lens[0]) +
                            2 * (sizeof counts / sizeof counts[0]) + 5);
    msgpack_pack_array(&pk, n);
    proto_w_array(&w, n);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        msgpack_pack_int64(&pk, ints[i]);
        proto_w_int(&w, ints[i]);
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        msgpack_pack_str(&pk, lens[i]);
        msgpack_pack_str_body(&pk, body, lens[i]);
        proto_w_str(&w, body, lens[i]);
        msgpack_pack_bin(&pk, lens[i]);
        msgpack_pack_bin_body(&pk, body, lens[i]);
        proto_w_bin(&w, body, lens[i]);
    }
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        msgpack_pack_array(&pk, counts[i]);
        proto_w_array(&w, counts[i]);
        for (uint32_t k = 0; k < counts[i]; k++) {
            msgpack_pack_true(&pk);
            proto_w_bool(&w, true);
        }
        msgpack_pack_map(&pk, counts[i]);
        proto_w_map(&w, counts[i]);
        for (uint32_t k = 0; k < counts[i]; k++) {
            msgpack_pack_str(&pk, 0);
            proto_w_key(&w, "");
            msgpack_pack_nil(&pk);
            proto_w_nil(&w);
        }
    }
    msgpack_pack_double(&pk, 0.1);        proto_w_float(&w, 0.1);
    msgpack_pack_double(&pk, -0.0);       proto_w_float(&w, -0.0);
    msgpack_pack_double(&pk, INFINITY);   proto_w_float(&w, INFINITY);
    msgpack_pack_nil(&pk);                proto_w_nil(&w);
    msgpack_pack_false(&pk);              proto_w_bool(&w, false);

    ASSERT_EQ(w.err, 0);
    ASSERT_EQ(w.depth, 0);
    ASSERT_EQ(w.len, sb.size);
    ASSERT_MEMEQ(proto_writer_data(&w), sb.data, sb.size);
    proto_writer_free(&w);
    msgpack_sbuffer_destroy(&sb);
    free(body);
}

/* ------------------------------------------------------------------ */
/* UTF-8 helpers                                                        */

TEST(fmt_int_matches_printf)
{
    static const int64_t cases[] = { 0, 1, 9, 10, 99, 100, -1, -10, 86400000, 4294967296LL,
                                     INT64_MAX, INT64_MIN, INT64_MIN + 1 };
    char got[24], want[24];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = proto_fmt_int(got, cases[i]);
        got[n] = '\0';
        snprintf(want, sizeof want, "%lld", (long long)cases[i]);
        ASSERT_STREQ(got, want);
    }
}

TEST(utf8_valid_and_chars)
{
    static const struct { const char *s; size_t chars; } good[] = {
        { "", 0 }, { "abc", 3 }, { "h\xc3\xa9llo", 5 }, { "\xe2\x82\xac", 1 },
        { "\xf0\x9f\x98\x80x", 2 }, { "\xc2\x80", 1 }, { "\xdf\xbf", 1 },
        { "\xe0\xa0\x80", 1 }, { "\xed\x9f\xbf", 1 }, { "\xee\x80\x80", 1 },
        { "\xef\xbf\xbf", 1 }, { "\xf0\x90\x80\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },
        { "\x7f", 1 },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = strlen(good[i].s);
        if (!proto_utf8_valid(good[i].s, n))
            FAIL_("good #%zu rejected", i);
        ASSERT_EQ(proto_utf8_chars(good[i].s, n), good[i].chars);
    }
    for (size_t i = 0; i < NBAD; i++)
        if (proto_utf8_valid(bad_utf8[i], strlen(bad_utf8[i])))
            FAIL_("bad #%zu accepted", i);
    /* embedded NUL is valid; length is what counts, not the terminator */
    ASSERT(proto_utf8_valid("a\0b", 3));
    ASSERT_EQ(proto_utf8_chars("a\0b", 3), 3);
    /* a valid string cut inside a character is invalid */
    ASSERT(!proto_utf8_valid("\xf0\x9f\x98\x80", 3));
    ASSERT(!proto_utf8_valid("x\xe2\x82\xac", 3));
    ASSERT(proto_utf8_valid("\xf0\x9f\x98\x80", 4));
    ASSERT(proto_utf8_valid(NULL, 0));

    /* exhaustive over 1..3-byte sequences against a reference definition */
    for (uint32_t b0 = 0; b0 < 256; b0++) {
        unsigned char s[1] = { (unsigned char)b0 };
        if (proto_utf8_valid((char *)s, 1) != (b0 < 0x80))
            FAIL_("1-byte %02x", b0);
    }
    for (uint32_t b0 = 0xc0; b0 < 0x100; b0++)
        for (uint32_t b1 = 0; b1 < 256; b1++) {
            unsigned char s[2] = { (unsigned char)b0, (unsigned char)b1 };
            bool want = b0 >= 0xc2 && b0 <= 0xdf && (b1 & 0xc0) == 0x80;
            if (proto_utf8_valid((char *)s, 2) != want)
                FAIL_("2-byte %02x %02x", b0, b1);
        }
    for (uint32_t b0 = 0xe0; b0 < 0xf0; b0++)
        for (uint32_t b1 = 0x80; b1 < 0xc0; b1++)
            for (uint32_t b2 = 0; b2 < 256; b2++) {
                unsigned char s[3] = { (unsigned char)b0, (unsigned char)b1, (unsigned char)b2 };
                uint32_t cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
                bool want = (b2 & 0xc0) == 0x80 && cp >= 0x800 && !(cp >= 0xd800 && cp <= 0xdfff);
                if (proto_utf8_valid((char *)s, 3) != want)
                    FAIL_("3-byte %02x %02x %02x", b0, b1, b2);
            }
    for (uint32_t b0 = 0xf0; b0 < 0x100; b0++)
        for (uint32_t b1 = 0x80; b1 < 0xc0; b1++) {
            unsigned char s[4] = { (unsigned char)b0, (unsigned char)b1, 0x80, 0xbf };
            uint32_t cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | 0x3f;
            bool want = b0 <= 0xf4 && cp >= 0x10000 && cp <= 0x10ffff;
            if (proto_utf8_valid((char *)s, 4) != want)
                FAIL_("4-byte %02x %02x 80 bf", b0, b1);
        }
}

int main(void)
{
    if (proto_arena_init(&A, 4096, 1 << 20) || proto_arena_init(&B, 4096, 1 << 20)) {
        fprintf(stderr, "arena init failed\n");
        return 2;
    }
#ifdef HAVE_WATCH
    __sanitizer_install_malloc_and_free_hooks(watch_malloc, watch_free);
#endif
    RUN(json_all_types);
    RUN(json_escapes);
    RUN(json_lone_surrogates);
    RUN(json_invalid_utf8_raw);
    RUN(json_control_chars);
    RUN(json_structure_errors);
    RUN(json_numbers);
    RUN(json_big_ints);
    RUN(json_empty_and_not_map);
    RUN(json_depth_limit);
    RUN(json_elems_limit);
    RUN(arena_exactly_full_keeps_values);
    RUN(arena_byte_budget);
    RUN(arena_reused_across_decodes);
    RUN(mp_all_types);
    RUN(mp_int_widths);
    RUN(mp_floats);
    RUN(mp_raw_types);
    RUN(mp_containers);
    RUN(mp_reserved_and_ext);
    RUN(mp_non_string_keys);
    RUN(mp_invalid_utf8);
    RUN(mp_not_map_and_empty);
    RUN(mp_depth_limit);
    RUN(mp_elems_limit);
    RUN(mp_hostile_headers);
    RUN(truncated_frames);
    RUN(map_get);
    RUN(status_strings);
    RUN(writer_json_exact);
    RUN(writer_msgpack_exact);
    RUN(writer_headroom_growth);
    RUN(writer_json_escaping);
    RUN(writer_json_numbers_and_bin);
    RUN(writer_msgpack_widths);
    RUN(writer_auto_close);
    RUN(writer_misuse);
    RUN(writer_raw);
    RUN(value_round_trips);
    RUN(diff_msgpack_c_fixed_widths);
    RUN(diff_msgpack_c_random);
    RUN(diff_writer_bytes_match_msgpack_c);
    RUN(fmt_int_matches_printf);
    RUN(utf8_valid_and_chars);
    proto_arena_free(&A);
    proto_arena_free(&B);
    return TEST_SUMMARY();
}
