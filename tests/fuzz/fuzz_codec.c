/*
 * fuzz_codec.c - libFuzzer target for the frame decoder (make fuzz).
 *
 * The first input byte picks the encoding (odd: msgpack, even: JSON; the
 * seeds in corpus/ start with 'M' or 'J'), the rest is the frame. It is
 * decoded with the daemon's default limits into an arena of 512 values and
 * 8192+512 bytes. A decode that succeeds must give a tree that is within the
 * limits, has only strictly valid UTF-8 strings, and survives a round trip:
 * written with proto_w_value in each encoding and decoded again it gives the
 * same tree (JSON has no NaN/infinity or binary: those come back as null and
 * as base64 text), and writing that second tree gives the same bytes again.
 * Any violation abort()s.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "codec.h"

#define MAX_ELEMS 512
#define MAX_BYTES (8192 + 512)

static const struct proto_limits lim = { 8, MAX_ELEMS };
static struct proto_arena first, again;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_codec: %s\n", what);
    abort();
}

/* Reference strict UTF-8 check, written apart from the codec's own. */
static bool ref_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        unsigned char lo = 0x80, hi = 0xbf;       /* range of the 2nd byte */
        if (c <= 0x7f) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            if (c == 0xe0) lo = 0xa0;              /* no overlongs */
            if (c == 0xed) hi = 0x9f;              /* no surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            if (c == 0xf0) lo = 0x90;              /* no overlongs */
            if (c == 0xf4) hi = 0x8f;              /* <= U+10FFFF */
        } else {
            return false;
        }
        if (n - i <= k || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

static size_t ref_chars(const unsigned char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (s[i] & 0xc0) != 0x80;
    return c;
}

/* Walks a decoded tree: limits, string sanity. Returns the value count. */
static size_t check_tree(const struct proto_value *v, uint32_t depth)
{
    size_t count = 1;

    switch (v->type) {
    case PROTO_NIL: case PROTO_BOOL: case PROTO_INT: case PROTO_FLOAT:
        break;
    case PROTO_STR:
        if (!ref_utf8((const unsigned char *)v->u.s, v->len))
            fail("decoded string is not valid UTF-8");
        if (proto_utf8_chars(v->u.s, v->len) != ref_chars((const unsigned char *)v->u.s, v->len))
            fail("proto_utf8_chars disagrees");
        /* fall through */
    case PROTO_BIN:
        if (v->u.s[v->len] != '\0')
            fail("string not NUL-terminated");
        break;
    case PROTO_ARRAY:
    case PROTO_MAP: {
        uint32_t n = v->type == PROTO_MAP ? 2 * v->len : v->len;
        if (depth + 1 > lim.max_depth)
            fail("tree deeper than max_depth");
        if (n && !v->u.items)
            fail("container without items");
        for (uint32_t i = 0; i < n; i++) {
            if (v->type == PROTO_MAP && i % 2 == 0 && v->u.items[i].type != PROTO_STR)
                fail("map key is not a string");
            count += check_tree(&v->u.items[i], depth + 1);
        }
        break;
    }
    default:
        fail("bad value type");
    }
    return count;
}

static size_t b64(const unsigned char *p, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    return o;
}

/* a (original) and b (after a trip through enc) hold the same values. */
static bool same(const struct proto_value *a, const struct proto_value *b, enum proto_enc enc)
{
    if (enc == PROTO_JSON) {
        if (a->type == PROTO_FLOAT && !isfinite(a->u.f))
            return b->type == PROTO_NIL;
        if (a->type == PROTO_BIN) {
            static char tmp[4 * (MAX_BYTES / 3 + 1)];
            size_t n = b64((const unsigned char *)a->u.s, a->len, tmp);
            return b->type == PROTO_STR && b->len == n && memcmp(b->u.s, tmp, n) == 0;
        }
    }
    if (a->type != b->type || a->len != b->len)
        return false;
    switch (a->type) {
    case PROTO_NIL:   return true;
    case PROTO_BOOL:  return a->u.b == b->u.b;
    case PROTO_INT:   return a->u.i == b->u.i;
    case PROTO_FLOAT: return memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0;
    case PROTO_STR:
    case PROTO_BIN:   return memcmp(a->u.s, b->u.s, a->len) == 0;
    case PROTO_ARRAY:
    case PROTO_MAP: {
        uint32_t n = a->type == PROTO_MAP ? 2 * a->len : a->len;
        for (uint32_t i = 0; i < n; i++)
            if (!same(&a->u.items[i], &b->u.items[i], enc))
                return false;
        return true;
    }
    }
    return false;
}

static void round_trip(const struct proto_value *top, enum proto_enc enc)
{
    struct proto_writer w1, w2;
    const struct proto_value *back;
    enum proto_status st;

    proto_writer_init(&w1, enc, 16);
    proto_w_value(&w1, top);
    if (w1.err || w1.depth != 0)
        fail("writer failed on a decoded tree");
    /* a re-encoding needs at most its own length + one NUL per value */
    if (again.capbytes < w1.len + MAX_ELEMS + 1) {
        proto_arena_free(&again);
        if (proto_arena_init(&again, MAX_ELEMS, 2 * (w1.len + MAX_ELEMS + 1)))
            fail("out of memory");
    }
    st = proto_decode(proto_writer_data(&w1), w1.len, enc, &lim, &again, &back);
    if (st != PROTO_OK) {
        fprintf(stderr, "re-decode (%s): %s\n", enc == PROTO_JSON ? "json" : "msgpack",
                proto_status_str(st));
        fail("writer output does not decode");
    }
    check_tree(back, 0);
    if (!same(top, back, enc))
        fail(enc == PROTO_JSON ? "json round trip changed the tree"
                               : "msgpack round trip changed the tree");
    /* writing the tree that came back gives the same bytes */
    proto_writer_init(&w2, enc, 0);
    proto_w_value(&w2, back);
    if (w2.err || w2.len != w1.len || memcmp(proto_writer_data(&w1), proto_writer_data(&w2), w1.len))
        fail("second encoding differs from the first");
    proto_writer_free(&w1);
    proto_writer_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct proto_value *top = (const struct proto_value *)&top;
    enum proto_status st;
    enum proto_enc enc;

    if (!first.vals && proto_arena_init(&first, MAX_ELEMS, MAX_BYTES))
        fail("out of memory");
    if (!again.vals && proto_arena_init(&again, MAX_ELEMS, MAX_BYTES))
        fail("out of memory");

    /* the codec's validator agrees with the reference on any bytes */
    if (proto_utf8_valid((const char *)data, size) != ref_utf8(data, size))
        fail("proto_utf8_valid disagrees with the reference");

    if (size < 1)
        return 0;
    enc = (data[0] & 1) ? PROTO_MSGPACK : PROTO_JSON;
    st = proto_decode(data + 1, size - 1, enc, &lim, &first, &top);
    if (st != PROTO_OK) {
        if (top != NULL)
            fail("error left *out set");
        if (st > PROTO_E_NOT_MAP)
            fail("unknown status");
        return 0;
    }
    if (!top || top->type != PROTO_MAP)
        fail("top value is not a map");
    if (first.nbytes > first.capbytes || first.nvals > first.capvals)
        fail("arena overrun");
    if (check_tree(top, 0) > MAX_ELEMS)
        fail("more values than max_elems");
    /* proto_map_get finds the first pair with each key */
    for (uint32_t i = 0; i < top->len; i++) {
        const struct proto_value *k = &top->u.items[2 * i];
        if (strlen(k->u.s) != k->len)
            continue;                      /* a key with a NUL is not a C string */
        const struct proto_value *got = proto_map_get(top, k->u.s);
        uint32_t j = 0;
        while (top->u.items[2 * j].len != k->len ||
               memcmp(top->u.items[2 * j].u.s, k->u.s, k->len) != 0)
            j++;
        if (got != &top->u.items[2 * j + 1])
            fail("proto_map_get returned the wrong value");
    }

    round_trip(top, PROTO_MSGPACK);
    round_trip(top, PROTO_JSON);
    return 0;
}
