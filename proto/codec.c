/*
 * codec.c - bounded JSON / msgpack decoder and a small frame writer.
 *
 * Decoding builds the value tree in a fixed arena without calling malloc.
 * Containers need their items contiguous, but a JSON container's size is
 * only known at its end, so both decoders use one scheme: finished child
 * values are pushed on a stack that grows down from the top of the arena's
 * value array; when a container ends, its children are moved (in order) to
 * the packed region that grows up from the bottom. Every value lives in
 * exactly one of the two regions, so max_elems values always fit.
 */
#include "codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */

bool proto_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1; cp = c & 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2; cp = c & 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3; cp = c & 0x07; min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

size_t proto_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Arena                                                                */

int proto_arena_init(struct proto_arena *a, uint32_t max_elems, size_t max_bytes)
{
    memset(a, 0, sizeof(*a));
    if (max_elems == 0)
        return -1;
    a->vals = calloc(max_elems, sizeof(*a->vals));
    a->bytes = malloc(max_bytes ? max_bytes : 1);
    if (!a->vals || !a->bytes) {
        proto_arena_free(a);
        return -1;
    }
    a->capvals = max_elems;
    a->capbytes = max_bytes;
    return 0;
}

void proto_arena_free(struct proto_arena *a)
{
    free(a->vals);
    free(a->bytes);
    memset(a, 0, sizeof(*a));
}

const char *proto_status_str(enum proto_status st)
{
    switch (st) {
    case PROTO_OK:        return "ok";
    case PROTO_E_SYNTAX:  return "malformed frame";
    case PROTO_E_UTF8:    return "invalid UTF-8 in a string";
    case PROTO_E_DEPTH:   return "nesting too deep";
    case PROTO_E_ELEMS:   return "too many elements";
    case PROTO_E_NOT_MAP: return "frame is not a map";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* Decoder state shared by both formats                                 */

struct dec {
    const unsigned char *p, *end;
    struct proto_arena *a;
    uint32_t sp;            /* stack top: vals[sp .. capvals) are pending children */
    uint32_t count;         /* values seen so far */
    uint32_t max_elems, max_depth;
    bool raw_strings;
};

/* Counts one more value against the limits. */
static enum proto_status dec_count(struct dec *d)
{
    if (d->count >= d->max_elems)
        return PROTO_E_ELEMS;
    d->count++;
    return PROTO_OK;
}

/* Pushes a finished value on the pending stack. */
static enum proto_status dec_push(struct dec *d, const struct proto_value *v)
{
    if (d->sp <= d->a->nvals)
        return PROTO_E_ELEMS;
    d->a->vals[--d->sp] = *v;
    return PROTO_OK;
}

/*
 * Moves the top n pending values (pushed in order) to the packed region and
 * returns where they start. The two ranges overlap whenever the free gap
 * between the regions is smaller than n (a big container, or a nearly full
 * arena), so the children are first put in push order where they lie, then
 * slid down with memmove.
 */
static struct proto_value *dec_pack(struct dec *d, uint32_t n)
{
    struct proto_arena *a = d->a;
    uint32_t base = a->nvals;
    struct proto_value *top = &a->vals[d->sp], tmp;

    if (n == 0)
        return NULL;
    for (uint32_t i = 0, j = n - 1; i < j; i++, j--) {
        tmp = top[i];
        top[i] = top[j];
        top[j] = tmp;
    }
    memmove(&a->vals[base], top, n * sizeof(*top));
    a->nvals += n;
    d->sp += n;
    return &a->vals[base];
}

static char *dec_bytes(struct dec *d, size_t n)
{
    struct proto_arena *a = d->a;
    if (n + 1 > a->capbytes - a->nbytes)
        return NULL;
    char *s = a->bytes + a->nbytes;
    a->nbytes += n + 1;
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------ */
/* msgpack                                                              */

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static enum proto_status mp_value(struct dec *d, uint32_t depth, bool is_key);

static enum proto_status mp_need(struct dec *d, uint64_t n)
{
    return (uint64_t)(d->end - d->p) >= n ? PROTO_OK : PROTO_E_SYNTAX;
}

static enum proto_status mp_container(struct dec *d, uint32_t depth,
                                      uint64_t n, bool is_map)
{
    struct proto_value v = { .type = is_map ? PROTO_MAP : PROTO_ARRAY };
    uint64_t items = is_map ? 2 * n : n;

    if (depth + 1 > d->max_depth)
        return PROTO_E_DEPTH;
    /* Every item takes at least one byte: reject impossible counts now. */
    if (items > (uint64_t)(d->end - d->p))
        return PROTO_E_SYNTAX;
    if (items > d->max_elems - d->count)
        return PROTO_E_ELEMS;
    for (uint64_t k = 0; k < items; k++) {
        enum proto_status st = mp_value(d, depth + 1, is_map && k % 2 == 0);
        if (st)
            return st;
    }
    v.len = (uint32_t)n;
    v.u.items = dec_pack(d, (uint32_t)items);
    return dec_push(d, &v);
}

static enum proto_status mp_raw(struct dec *d, uint64_t n, uint8_t type)
{
    struct proto_value v = { .type = type };
    enum proto_status st = mp_need(d, n);
    if (st)
        return st;
    char *s = dec_bytes(d, (size_t)n);
    if (!s)
        return PROTO_E_ELEMS;
    memcpy(s, d->p, (size_t)n);
    /* NUL is valid UTF-8 but no field of ours may hold it: every consumer
     * is C, and a cut string must never differ from the checked one */
    if (type == PROTO_STR && !d->raw_strings &&
        (!proto_utf8_valid(s, (size_t)n) || memchr(s, 0, (size_t)n)))
        return PROTO_E_UTF8;
    d->p += n;
    v.len = (uint32_t)n;
    v.u.s = s;
    return dec_push(d, &v);
}

/* Reads an n-byte big-endian length or number after the type byte. */
static enum proto_status mp_take(struct dec *d, int n, uint64_t *out)
{
    if (mp_need(d, (uint64_t)n))
        return PROTO_E_SYNTAX;
    *out = be(d->p, n);
    d->p += n;
    return PROTO_OK;
}

static enum proto_status mp_value(struct dec *d, uint32_t depth, bool is_key)
{
    struct proto_value v = { .type = PROTO_NIL };
    enum proto_status st;
    uint64_t u;

    if ((st = dec_count(d)))
        return st;
    if (d->p >= d->end)
        return PROTO_E_SYNTAX;
    unsigned char c = *d->p++;

    if (is_key) {
        /* Keys are strings: our protocol has no other kind. */
        if ((c & 0xe0) == 0xa0)
            return mp_raw(d, c & 0x1f, PROTO_STR);
        if (c < 0xd9 || c > 0xdb)
            return PROTO_E_SYNTAX;
    }
    if (c <= 0x7f) {
        v.type = PROTO_INT; v.u.i = c;
    } else if (c >= 0xe0) {
        v.type = PROTO_INT; v.u.i = (int8_t)c;
    } else if ((c & 0xf0) == 0x80) {
        return mp_container(d, depth, c & 0x0f, true);
    } else if ((c & 0xf0) == 0x90) {
        return mp_container(d, depth, c & 0x0f, false);
    } else if ((c & 0xe0) == 0xa0) {
        return mp_raw(d, c & 0x1f, PROTO_STR);
    } else {
        switch (c) {
        case 0xc0: break;
        case 0xc2: v.type = PROTO_BOOL; v.u.b = false; break;
        case 0xc3: v.type = PROTO_BOOL; v.u.b = true; break;
        case 0xc4: case 0xc5: case 0xc6:
            if ((st = mp_take(d, 1 << (c - 0xc4), &u)))
                return st;
            return mp_raw(d, u, PROTO_BIN);
        case 0xca: {
            float f;
            uint32_t bits;
            if ((st = mp_take(d, 4, &u)))
                return st;
            bits = (uint32_t)u;
            memcpy(&f, &bits, 4);
            v.type = PROTO_FLOAT; v.u.f = f;
            break;
        }
        case 0xcb:
            if ((st = mp_take(d, 8, &u)))
                return st;
            v.type = PROTO_FLOAT;
            memcpy(&v.u.f, &u, 8);
            break;
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            if ((st = mp_take(d, 1 << (c - 0xcc), &u)))
                return st;
            if (u > INT64_MAX)
                return PROTO_E_SYNTAX;
            v.type = PROTO_INT; v.u.i = (int64_t)u;
            break;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            int n = 1 << (c - 0xd0);
            if ((st = mp_take(d, n, &u)))
                return st;
            v.type = PROTO_INT;
            if (n == 8) {
                memcpy(&v.u.i, &u, 8);
            } else {
                /* sign-extend the n-byte two's complement value */
                uint64_t sign = (uint64_t)1 << (8 * n - 1);
                v.u.i = (int64_t)((u ^ sign) - sign);
            }
            break;
        }
        case 0xd9: case 0xda: case 0xdb:
            if ((st = mp_take(d, 1 << (c - 0xd9), &u)))
                return st;
            return mp_raw(d, u, PROTO_STR);
        case 0xdc: case 0xdd:
            if ((st = mp_take(d, c == 0xdc ? 2 : 4, &u)))
                return st;
            return mp_container(d, depth, u, false);
        case 0xde: case 0xdf:
            if ((st = mp_take(d, c == 0xde ? 2 : 4, &u)))
                return st;
            return mp_container(d, depth, u, true);
        default:
            /* 0xc1 (never used) and the ext types: not part of the protocol */
            return PROTO_E_SYNTAX;
        }
    }
    return dec_push(d, &v);
}

/* ------------------------------------------------------------------ */
/* JSON (RFC 8259, strict)                                              */

static enum proto_status js_value(struct dec *d, uint32_t depth);

static void js_ws(struct dec *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int js_hex4(struct dec *d, uint32_t *out)
{
    if (d->end - d->p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(d->p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | (uint32_t)h;
    }
    d->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string after its opening quote into the byte arena. */
static enum proto_status js_string(struct dec *d, struct proto_value *v)
{
    const unsigned char *start = d->p, *q = d->p;
    /* The decoded string is never longer than its source text. */
    while (q < d->end && *q != '"') {
        if (*q == '\\' && q + 1 < d->end)
            q++;                 /* an escaped character is never the end */
        q++;
    }
    if (q >= d->end)
        return PROTO_E_SYNTAX;
    char *out = dec_bytes(d, (size_t)(q - d->p));
    if (!out)
        return PROTO_E_ELEMS;
    size_t n = 0;
    while (*d->p != '"') {
        unsigned char c = *d->p++;
        if (c < 0x20)
            return PROTO_E_SYNTAX;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        c = *d->p++;
        switch (c) {
        case '"': case '\\': case '/': out[n++] = (char)c; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (js_hex4(d, &cp))
                return PROTO_E_SYNTAX;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return PROTO_E_UTF8;          /* lone low surrogate */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (d->end - d->p < 2 || d->p[0] != '\\' || d->p[1] != 'u')
                    return PROTO_E_UTF8;      /* lone high surrogate */
                d->p += 2;
                if (js_hex4(d, &lo))
                    return PROTO_E_SYNTAX;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return PROTO_E_UTF8;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            return PROTO_E_SYNTAX;
        }
    }
    d->p++;                                   /* closing quote */
    out[n] = '\0';
    /* give back what unescaping saved */
    d->a->nbytes -= (size_t)(q - start) - n;
    if (!proto_utf8_valid(out, n) || memchr(out, 0, n))
        return PROTO_E_UTF8;             /* see mp_raw on NUL */
    v->type = PROTO_STR;
    v->len = (uint32_t)n;
    v->u.s = out;
    return PROTO_OK;
}

static enum proto_status js_number(struct dec *d, struct proto_value *v)
{
    const unsigned char *s = d->p;
    bool is_float = false;

    if (d->p < d->end && *d->p == '-')
        d->p++;
    if (d->p >= d->end)
        return PROTO_E_SYNTAX;
    if (*d->p == '0') {
        d->p++;
    } else if (*d->p >= '1' && *d->p <= '9') {
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    } else {
        return PROTO_E_SYNTAX;
    }
    if (d->p < d->end && *d->p == '.') {
        is_float = true;
        d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return PROTO_E_SYNTAX;
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        is_float = true;
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
            d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return PROTO_E_SYNTAX;
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }

    size_t n = (size_t)(d->p - s);
    char tmp[64];
    if (n >= sizeof(tmp)) {
        /* Absurdly long numbers are not part of any valid frame. */
        return PROTO_E_SYNTAX;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!is_float) {
        /* Exact int64 when it fits; otherwise a float like any JSON parser. */
        bool neg = tmp[0] == '-';
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        bool fits = true;
        for (size_t i = neg; i < n; i++) {
            unsigned dig = (unsigned)(tmp[i] - '0');
            if (acc > (lim - dig) / 10) {
                fits = false;
                break;
            }
            acc = acc * 10 + dig;
        }
        if (fits) {
            v->type = PROTO_INT;
            v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
            return PROTO_OK;
        }
    }
    v->type = PROTO_FLOAT;
    v->u.f = strtod(tmp, NULL);
    return PROTO_OK;
}

static enum proto_status js_lit(struct dec *d, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        return PROTO_E_SYNTAX;
    d->p += n;
    return PROTO_OK;
}

static enum proto_status js_container(struct dec *d, uint32_t depth, bool is_map)
{
    struct proto_value v = { .type = is_map ? PROTO_MAP : PROTO_ARRAY };
    uint32_t items = 0;
    enum proto_status st;
    unsigned char close = is_map ? '}' : ']';

    if (depth + 1 > d->max_depth)
        return PROTO_E_DEPTH;
    js_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return dec_push(d, &v);
    }
    for (;;) {
        js_ws(d);
        if (is_map) {
            struct proto_value k;
            if (d->p >= d->end || *d->p != '"')
                return PROTO_E_SYNTAX;
            if ((st = dec_count(d)))
                return st;
            d->p++;
            if ((st = js_string(d, &k)) || (st = dec_push(d, &k)))
                return st;
            items++;
            js_ws(d);
            if (d->p >= d->end || *d->p != ':')
                return PROTO_E_SYNTAX;
            d->p++;
        }
        if ((st = js_value(d, depth + 1)))
            return st;
        items++;
        js_ws(d);
        if (d->p >= d->end)
            return PROTO_E_SYNTAX;
        if (*d->p == ',') {
            d->p++;
            continue;
        }
        if (*d->p != close)
            return PROTO_E_SYNTAX;
        d->p++;
        break;
    }
    v.len = is_map ? items / 2 : items;
    v.u.items = dec_pack(d, items);
    return dec_push(d, &v);
}

static enum proto_status js_value(struct dec *d, uint32_t depth)
{
    struct proto_value v = { .type = PROTO_NIL };
    enum proto_status st;

    if ((st = dec_count(d)))
        return st;
    js_ws(d);
    if (d->p >= d->end)
        return PROTO_E_SYNTAX;
    switch (*d->p) {
    case '{': d->p++; return js_container(d, depth, true);
    case '[': d->p++; return js_container(d, depth, false);
    case '"':
        d->p++;
        if ((st = js_string(d, &v)))
            return st;
        break;
    case 't':
        if ((st = js_lit(d, "true")))
            return st;
        v.type = PROTO_BOOL; v.u.b = true;
        break;
    case 'f':
        if ((st = js_lit(d, "false")))
            return st;
        v.type = PROTO_BOOL; v.u.b = false;
        break;
    case 'n':
        if ((st = js_lit(d, "null")))
            return st;
        break;
    default:
        if ((st = js_number(d, &v)))
            return st;
        break;
    }
    return dec_push(d, &v);
}

/* ------------------------------------------------------------------ */

enum proto_status proto_decode(const void *buf, size_t len, enum proto_enc enc,
                               const struct proto_limits *lim,
                               struct proto_arena *a,
                               const struct proto_value **out)
{
    struct dec d = {
        .p = buf, .end = (const unsigned char *)buf + len, .a = a,
        .sp = a->capvals,
        .max_elems = lim->max_elems < a->capvals ? lim->max_elems : a->capvals,
        .max_depth = lim->max_depth,
        .raw_strings = lim->raw_strings && enc == PROTO_MSGPACK,
    };
    enum proto_status st;

    *out = NULL;
    a->nvals = 0;
    a->nbytes = 0;
    if (len == 0)
        return PROTO_E_SYNTAX;
    /* The top value must be a map: cheap check before any work. */
    if (enc == PROTO_JSON) {
        js_ws(&d);
        if (d.p >= d.end || *d.p != '{')
            return d.p < d.end && (*d.p == '[' || *d.p == '"' || *d.p == '-' ||
                                   (*d.p >= '0' && *d.p <= '9') || *d.p == 't' ||
                                   *d.p == 'f' || *d.p == 'n')
                       ? PROTO_E_NOT_MAP : PROTO_E_SYNTAX;
        st = js_value(&d, 0);
        if (st == PROTO_OK) {
            js_ws(&d);
            if (d.p != d.end)
                st = PROTO_E_SYNTAX;
        }
    } else {
        unsigned char c = d.p[0];
        if (!((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf))
            return c == 0xc1 || (c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8)
                       ? PROTO_E_SYNTAX : PROTO_E_NOT_MAP;
        st = mp_value(&d, 0, false);
        if (st == PROTO_OK && d.p != d.end)
            st = PROTO_E_SYNTAX;
    }
    if (st)
        return st;
    /* the root is the one value left on the stack */
    *out = dec_pack(&d, 1);
    return PROTO_OK;
}

const struct proto_value *proto_map_get(const struct proto_value *map,
                                        const char *key)
{
    if (!map || map->type != PROTO_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->len; i++) {
        const struct proto_value *k = &map->u.items[2 * i];
        if (k->type == PROTO_STR && k->len == klen && memcmp(k->u.s, key, klen) == 0)
            return &map->u.items[2 * i + 1];
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Writer                                                               */

void proto_writer_init(struct proto_writer *w, enum proto_enc enc, size_t headroom)
{
    memset(w, 0, sizeof(*w));
    w->enc = enc;
    w->headroom = headroom;
}

void proto_writer_reset(struct proto_writer *w, enum proto_enc enc)
{
    w->enc = enc;
    w->len = 0;
    w->err = 0;
    w->depth = 0;
}

void proto_writer_free(struct proto_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

char *proto_writer_take(struct proto_writer *w)
{
    char *b = w->buf;
    w->buf = NULL;
    w->len = w->cap = 0;
    w->depth = 0;
    return b;
}

static bool w_reserve(struct proto_writer *w, size_t n)
{
    if (w->err)
        return false;
    if (w->buf && n <= w->cap - w->len)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 4) {
            w->err = 1;
            return false;
        }
        cap *= 2;
    }
    char *b = realloc(w->buf, w->headroom + cap);
    if (!b) {
        w->err = 1;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

static void w_put(struct proto_writer *w, const void *p, size_t n)
{
    if (!w_reserve(w, n))
        return;
    memcpy(w->buf + w->headroom + w->len, p, n);
    w->len += n;
}

static void w_byte(struct proto_writer *w, unsigned char c)
{
    w_put(w, &c, 1);
}

static void w_be(struct proto_writer *w, unsigned char tag, uint64_t v, int n)
{
    unsigned char b[9];
    b[0] = tag;
    for (int i = 0; i < n; i++)
        b[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    w_put(w, b, (size_t)n + 1);
}

/* Checks a value (or key) may come next and writes JSON separators. */
static bool w_before(struct proto_writer *w, bool is_key)
{
    if (w->err)
        return false;
    if (w->depth == 0) {
        if (w->len > 0 || is_key)
            w->err = 1;
        return !w->err;
    }
    struct proto_wstate *top = &w->st[w->depth - 1];
    if (top->left == 0 || (top->is_map && is_key == (bool)top->want_value) ||
        (!top->is_map && is_key)) {
        w->err = 1;
        return false;
    }
    if (w->enc == PROTO_JSON && !top->first && !(top->is_map && top->want_value))
        w_byte(w, ',');
    return !w->err;
}

/* One value (or key) is complete: close the containers it fills. */
static void w_done(struct proto_writer *w)
{
    while (w->depth > 0) {
        struct proto_wstate *top = &w->st[w->depth - 1];
        top->left--;
        top->first = 0;
        if (top->is_map)
            top->want_value ^= 1;
        if (top->left > 0)
            return;
        if (w->enc == PROTO_JSON)
            w_byte(w, top->is_map ? '}' : ']');
        w->depth--;
    }
}

static void w_open(struct proto_writer *w, uint32_t n, bool is_map)
{
    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_JSON) {
        w_byte(w, is_map ? '{' : '[');
    } else if (n < 16) {
        w_byte(w, (unsigned char)((is_map ? 0x80 : 0x90) | n));
    } else if (n <= 0xffff) {
        w_be(w, is_map ? 0xde : 0xdc, n, 2);
    } else {
        w_be(w, is_map ? 0xdf : 0xdd, n, 4);
    }
    if (n == 0) {
        if (w->enc == PROTO_JSON)
            w_byte(w, is_map ? '}' : ']');
        w_done(w);
        return;
    }
    if (w->depth >= PROTO_W_MAXDEPTH || (is_map && n > UINT32_MAX / 2)) {
        w->err = 1;
        return;
    }
    struct proto_wstate *top = &w->st[w->depth++];
    top->left = is_map ? 2 * n : n;
    top->is_map = is_map;
    top->want_value = 0;
    top->first = 1;
}

void proto_w_map(struct proto_writer *w, uint32_t pairs) { w_open(w, pairs, true); }
void proto_w_array(struct proto_writer *w, uint32_t items) { w_open(w, items, false); }

static void w_json_str(struct proto_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!w_reserve(w, len + 2))
        return;
    w_byte(w, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        w_put(w, s + run, i - run);
        run = i + 1;
        char esc[6] = { '\\', 0 };
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            n = 6;
        }
        w_put(w, esc, n);
    }
    w_put(w, s + run, len - run);
    w_byte(w, '"');
}

static void w_str_any(struct proto_writer *w, const char *s, size_t len, bool is_key)
{
    if (!w_before(w, is_key))
        return;
    if (w->enc == PROTO_JSON) {
        w_json_str(w, s, len);
        if (is_key)
            w_byte(w, ':');
    } else {
        if (len < 32)
            w_byte(w, (unsigned char)(0xa0 | len));
        else if (len <= 0xff)
            w_be(w, 0xd9, len, 1);
        else if (len <= 0xffff)
            w_be(w, 0xda, len, 2);
        else if (len <= UINT32_MAX)
            w_be(w, 0xdb, len, 4);
        else
            w->err = 1;
        w_put(w, s, len);
    }
    w_done(w);
}

void proto_w_key(struct proto_writer *w, const char *key)
{
    w_str_any(w, key, strlen(key), true);
}

void proto_w_str(struct proto_writer *w, const char *s, size_t len)
{
    w_str_any(w, s, len, false);
}

void proto_w_cstr(struct proto_writer *w, const char *s)
{
    w_str_any(w, s ? s : "", s ? strlen(s) : 0, false);
}

void proto_w_bin(struct proto_writer *w, const void *p, size_t len)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;

    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_MSGPACK) {
        if (len <= 0xff)
            w_be(w, 0xc4, len, 1);
        else if (len <= 0xffff)
            w_be(w, 0xc5, len, 2);
        else
            w_be(w, 0xc6, len, 4);
        w_put(w, p, len);
    } else if (w_reserve(w, 4 * ((len + 2) / 3) + 2)) {
        w_byte(w, '"');
        for (size_t i = 0; i < len; i += 3) {
            uint32_t v = (uint32_t)s[i] << 16;
            if (i + 1 < len) v |= (uint32_t)s[i + 1] << 8;
            if (i + 2 < len) v |= s[i + 2];
            char q[4] = {
                b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                i + 1 < len ? b64[(v >> 6) & 63] : '=',
                i + 2 < len ? b64[v & 63] : '=',
            };
            w_put(w, q, 4);
        }
        w_byte(w, '"');
    }
    w_done(w);
}

size_t proto_fmt_int(char *out, int64_t v)
{
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    return len;
}

void proto_w_int(struct proto_writer *w, int64_t v)
{
    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_JSON) {
        char b[24];
        w_put(w, b, proto_fmt_int(b, v));
    } else if (v >= 0) {
        if (v <= 0x7f)
            w_byte(w, (unsigned char)v);
        else if (v <= 0xff)
            w_be(w, 0xcc, (uint64_t)v, 1);
        else if (v <= 0xffff)
            w_be(w, 0xcd, (uint64_t)v, 2);
        else if (v <= 0xffffffffLL)
            w_be(w, 0xce, (uint64_t)v, 4);
        else
            w_be(w, 0xcf, (uint64_t)v, 8);
    } else {
        if (v >= -32)
            w_byte(w, (unsigned char)(int8_t)v);
        else if (v >= INT8_MIN)
            w_be(w, 0xd0, (uint64_t)v & 0xff, 1);
        else if (v >= INT16_MIN)
            w_be(w, 0xd1, (uint64_t)v & 0xffff, 2);
        else if (v >= INT32_MIN)
            w_be(w, 0xd2, (uint64_t)v & 0xffffffff, 4);
        else
            w_be(w, 0xd3, (uint64_t)v, 8);
    }
    w_done(w);
}

void proto_w_float(struct proto_writer *w, double v)
{
    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_JSON) {
        char b[32];
        if (!isfinite(v)) {
            w_put(w, "null", 4);        /* JSON has no NaN or infinity */
        } else {
            /* shortest of %.15g / %.17g that reads back exactly */
            int n = snprintf(b, sizeof(b), "%.15g", v);
            if (strtod(b, NULL) != v)
                n = snprintf(b, sizeof(b), "%.17g", v);
            /* keep it a float on the way back: 1.0 not 1 */
            if (!strpbrk(b, ".eE") && n < (int)sizeof(b) - 2) {
                b[n++] = '.';
                b[n++] = '0';
            }
            w_put(w, b, (size_t)n);
        }
    } else {
        uint64_t bits;
        memcpy(&bits, &v, 8);
        w_be(w, 0xcb, bits, 8);
    }
    w_done(w);
}

void proto_w_bool(struct proto_writer *w, bool v)
{
    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_JSON)
        w_put(w, v ? "true" : "false", v ? 4 : 5);
    else
        w_byte(w, v ? 0xc3 : 0xc2);
    w_done(w);
}

void proto_w_nil(struct proto_writer *w)
{
    if (!w_before(w, false))
        return;
    if (w->enc == PROTO_JSON)
        w_put(w, "null", 4);
    else
        w_byte(w, 0xc0);
    w_done(w);
}

void proto_w_raw(struct proto_writer *w, const void *p, size_t len)
{
    if (!w_before(w, false))
        return;
    w_put(w, p, len);
    w_done(w);
}

void proto_w_value(struct proto_writer *w, const struct proto_value *v)
{
    switch (v->type) {
    case PROTO_NIL:   proto_w_nil(w); break;
    case PROTO_BOOL:  proto_w_bool(w, v->u.b); break;
    case PROTO_INT:   proto_w_int(w, v->u.i); break;
    case PROTO_FLOAT: proto_w_float(w, v->u.f); break;
    case PROTO_STR:   proto_w_str(w, v->u.s, v->len); break;
    case PROTO_BIN:   proto_w_bin(w, v->u.s, v->len); break;
    case PROTO_ARRAY:
        proto_w_array(w, v->len);
        for (uint32_t i = 0; i < v->len && !w->err; i++)
            proto_w_value(w, &v->u.items[i]);
        break;
    case PROTO_MAP:
        proto_w_map(w, v->len);
        for (uint32_t i = 0; i < v->len && !w->err; i++) {
            const struct proto_value *k = &v->u.items[2 * i];
            if (k->type != PROTO_STR) {
                w->err = 1;
                return;
            }
            w_str_any(w, k->u.s, k->len, true);
            proto_w_value(w, &v->u.items[2 * i + 1]);
        }
        break;
    default:
        w->err = 1;
    }
}
