/*
 * wire.c - encode the frames chatgw-load sends, buyers' and agents', and
 * pick the needed fields out of the gateway's answers (see wire.h).
 *
 * Writing: one small builder emits a flat map either as JSON or as
 * msgpack, field by field; a frame is a list of fields given to
 * write_map, so each frame is written once for both encodings and both
 * roles.
 * Reading: a bounded walk over one top-level map; values of keys we do
 * not want are skipped (nested maps and arrays too, depth-limited), and
 * any length that runs past the end makes the frame unreadable.
 */
#include <stdio.h>
#include <string.h>

#include "wire.h"

#define SKIP_DEPTH 16

/* ---- writing --------------------------------------------------------------- */

/* A frame being written, in JSON or msgpack. */
struct wire_out {
    uint8_t *p;
    size_t len, cap;
    enum wire_enc enc;
    bool err;
};

/* One field of a frame: a string, or (s NULL) a number. */
struct field {
    const char *k, *s;
    int64_t i;
};

static void put(struct wire_out *o, const void *s, size_t n)
{
    if (o->err || o->len + n > o->cap) {
        o->err = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_byte(struct wire_out *o, uint8_t b)
{
    put(o, &b, 1);
}

static void put_be(struct wire_out *o, uint8_t tag, uint64_t v, int bytes)
{
    put_byte(o, tag);
    for (int i = bytes - 1; i >= 0; i--)
        put_byte(o, (uint8_t)(v >> (8 * i)));
}

static void put_str(struct wire_out *o, const char *s)
{
    size_t n = strlen(s);

    if (o->enc == WIRE_MSGPACK) {
        if (n < 32)
            put_byte(o, (uint8_t)(0xa0 | n));
        else if (n <= 0xff)
            put_be(o, 0xd9, n, 1);
        else if (n <= 0xffff)
            put_be(o, 0xda, n, 2);
        else
            put_be(o, 0xdb, n, 4);
        put(o, s, n);
        return;
    }
    put_byte(o, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            put_byte(o, '\\');
            put_byte(o, ch);
        } else if (ch < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            put(o, esc, 6);
        } else {
            put_byte(o, ch);
        }
    }
    put_byte(o, '"');
}

static void put_int(struct wire_out *o, int64_t v)
{
    if (o->enc == WIRE_JSON) {
        char b[24];
        int n = snprintf(b, sizeof b, "%lld", (long long)v);
        put(o, b, (size_t)n);
    } else if (v >= 0 && v <= 0x7f) {
        put_byte(o, (uint8_t)v);
    } else if (v >= 0 && v <= 0xffffffff) {
        put_be(o, 0xce, (uint64_t)v, 4);
    } else {
        put_be(o, 0xd3, (uint64_t)v, 8);
    }
}

/* The map of the n fields f (at most 15: a msgpack fixmap) into p: its
 * length, or 0 when cap is too small. */
static size_t write_map(uint8_t *p, size_t cap, enum wire_enc enc, const struct field *f,
                        unsigned n)
{
    struct wire_out o = { .p = p, .cap = cap, .enc = enc };

    put_byte(&o, enc == WIRE_MSGPACK ? (uint8_t)(0x80 | n) : '{');
    for (unsigned i = 0; i < n; i++) {
        if (enc == WIRE_JSON && i > 0)
            put_byte(&o, ',');
        put_str(&o, f[i].k);
        if (enc == WIRE_JSON)
            put_byte(&o, ':');
        if (f[i].s)
            put_str(&o, f[i].s);
        else
            put_int(&o, f[i].i);
    }
    if (enc == WIRE_JSON)
        put_byte(&o, '}');
    return o.err ? 0 : o.len;
}

/* A frame of the fields given, e.g. FRAME(STR("t", "hello"), INT("since", 3)). */
#define FRAME(...)                                                             \
    write_map(p, cap, enc, (const struct field[]){ __VA_ARGS__ },              \
              sizeof((const struct field[]){ __VA_ARGS__ }) / sizeof(struct field))
#define STR(k, v) { (k), (v), 0 }
#define INT(k, v) { (k), NULL, (v) }

size_t wire_hello(uint8_t *p, size_t cap, enum wire_enc enc, const char *store)
{
    return FRAME(STR("t", "hello"), STR("store", store));
}

size_t wire_resume(uint8_t *p, size_t cap, enum wire_enc enc, const char *token, int64_t since)
{
    return FRAME(STR("t", "hello"), STR("resume", token), INT("since", since));
}

size_t wire_msg(uint8_t *p, size_t cap, enum wire_enc enc, uint32_t k, const char *text)
{
    char id[16];

    snprintf(id, sizeof id, "m%u", k);
    return FRAME(STR("t", "msg"), STR("id", id), STR("text", text));
}

size_t wire_login(uint8_t *p, size_t cap, enum wire_enc enc, const char *token)
{
    return FRAME(STR("t", "login"), STR("token", token));
}

size_t wire_state(uint8_t *p, size_t cap, enum wire_enc enc, const char *state)
{
    return FRAME(STR("t", "state"), STR("state", state));
}

size_t wire_agent_msg(uint8_t *p, size_t cap, enum wire_enc enc, const char *chat,
                      const char *id, const char *text)
{
    return FRAME(STR("t", "msg"), STR("chat", chat), STR("id", id), STR("text", text));
}

size_t wire_close(uint8_t *p, size_t cap, enum wire_enc enc, const char *chat)
{
    return FRAME(STR("t", "close"), STR("chat", chat));
}

/* ---- reading --------------------------------------------------------------- */

bool wire_is(struct wire_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

uint32_t wire_msg_number(struct wire_str id)
{
    uint32_t k = 0;

    if (id.n < 2 || id.n > 10 || id.p[0] != 'm')
        return 0;
    for (uint32_t i = 1; i < id.n; i++) {
        if (id.p[i] < '0' || id.p[i] > '9')
            return 0;
        k = k * 10 + (uint32_t)(id.p[i] - '0');
    }
    return k;
}

/* Where a wanted string field goes, by key; NULL when not wanted. */
static struct wire_str *str_slot(struct wire_reply *r, struct wire_str k)
{
    if (wire_is(k, "t"))      return &r->t;
    if (wire_is(k, "id"))     return &r->id;
    if (wire_is(k, "ref"))    return &r->ref;
    if (wire_is(k, "code"))   return &r->code;
    if (wire_is(k, "from"))   return &r->from;
    if (wire_is(k, "resume")) return &r->resume;
    if (wire_is(k, "chat"))   return &r->chat;
    if (wire_is(k, "text"))   return &r->text;
    if (wire_is(k, "state"))  return &r->state;
    if (wire_is(k, "reason")) return &r->reason;
    if (wire_is(k, "name"))   return &r->name;
    return NULL;
}

static int64_t *int_slot(struct wire_reply *r, struct wire_str k)
{
    if (wire_is(k, "seq"))
        return &r->seq;
    if (wire_is(k, "position"))
        return &r->position;
    return NULL;
}

/* JSON */

struct jin {
    const char *p, *end;
};

static void j_ws(struct jin *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int j_string(struct jin *j, struct wire_str *s)
{
    const char *start;

    if (j->p >= j->end || *j->p != '"')
        return -1;
    start = ++j->p;
    while (j->p < j->end && *j->p != '"')
        j->p += *j->p == '\\' ? 2 : 1;
    if (j->p >= j->end)
        return -1;
    s->p = start;
    s->n = (uint32_t)(j->p - start);
    j->p++;
    return 0;
}

static int j_skip(struct jin *j, int depth)
{
    struct wire_str s;

    j_ws(j);
    if (j->p >= j->end || depth > SKIP_DEPTH)
        return -1;
    if (*j->p == '"')
        return j_string(j, &s);
    if (*j->p == '{' || *j->p == '[') {
        char close = *j->p == '{' ? '}' : ']';
        j->p++;
        j_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                if (j_string(j, &s) != 0)
                    return -1;
                j_ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return -1;
            }
            if (j_skip(j, depth + 1) != 0)
                return -1;
            j_ws(j);
            if (j->p >= j->end)
                return -1;
            if (*j->p == close) {
                j->p++;
                return 0;
            }
            if (*j->p++ != ',')
                return -1;
            j_ws(j);
        }
    }
    /* number, true, false, null */
    while (j->p < j->end && *j->p != ',' && *j->p != '}' && *j->p != ']' &&
           *j->p != ' ' && *j->p != '\n' && *j->p != '\r' && *j->p != '\t')
        j->p++;
    return 0;
}

static int j_int(struct jin *j, int64_t *v)
{
    bool neg = false;
    int64_t x = 0;

    if (j->p < j->end && *j->p == '-') {
        neg = true;
        j->p++;
    }
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return -1;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        x = x * 10 + (*j->p++ - '0');
    *v = neg ? -x : x;
    return j_skip(j, 0);                    /* a fraction or exponent, if any */
}

/*
 * One map. At the top every wanted field is picked; inside the agent's
 * welcome `agent` map (nested) only its int `capacity`.
 */
static int j_map(struct jin *j, struct wire_reply *r, bool nested)
{
    struct wire_str k;

    j_ws(j);
    if (j->p >= j->end || *j->p++ != '{')
        return -1;
    j_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        struct wire_str *ss;
        int64_t *is;

        j_ws(j);
        if (j_string(j, &k) != 0)
            return -1;
        j_ws(j);
        if (j->p >= j->end || *j->p++ != ':')
            return -1;
        j_ws(j);
        if (j->p >= j->end)
            return -1;
        if (nested) {
            if (wire_is(k, "capacity") && (*j->p >= '0' && *j->p <= '9')) {
                if (j_int(j, &r->capacity) != 0)
                    return -1;
                r->has_capacity = true;
            } else if (j_skip(j, 1) != 0) {
                return -1;
            }
        } else if (*j->p == '{' && wire_is(k, "agent")) {
            if (j_map(j, r, true) != 0)
                return -1;
        } else if (*j->p == '"' && (ss = str_slot(r, k))) {
            if (j_string(j, ss) != 0)
                return -1;
        } else if ((*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) && (is = int_slot(r, k))) {
            if (j_int(j, is) != 0)
                return -1;
            r->has_seq |= is == &r->seq;
        } else if (j_skip(j, 0) != 0) {
            return -1;
        }
        j_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p++ != ',')
            return -1;
    }
}

static int parse_json(const char *p, size_t n, struct wire_reply *r)
{
    struct jin j = { p, p + n };

    return j_map(&j, r, false);
}

/* msgpack */

struct min {
    const uint8_t *p, *end;
};

static bool m_need(struct min *m, uint64_t n)
{
    return (uint64_t)(m->end - m->p) >= n;
}

static uint64_t m_be(struct min *m, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++)
        v = v << 8 | *m->p++;
    return v;
}

/* A str's length after its tag, or -1 when the next value is no str. */
static int64_t m_str_len(struct min *m)
{
    uint8_t b;

    if (!m_need(m, 1))
        return -1;
    b = *m->p;
    if ((b & 0xe0) == 0xa0) {
        m->p++;
        return b & 0x1f;
    }
    int bytes = b == 0xd9 ? 1 : b == 0xda ? 2 : b == 0xdb ? 4 : 0;
    if (!bytes || !m_need(m, 1 + (uint64_t)bytes))
        return -1;
    m->p++;
    return (int64_t)m_be(m, bytes);
}

static int m_str(struct min *m, struct wire_str *s)
{
    int64_t n = m_str_len(m);

    if (n < 0 || !m_need(m, (uint64_t)n))
        return -1;
    s->p = (const char *)m->p;
    s->n = (uint32_t)n;
    m->p += n;
    return 0;
}

/* An integer value, or -1 when the next value is no integer. */
static int m_int(struct min *m, int64_t *v)
{
    uint8_t b;
    int bytes;

    if (!m_need(m, 1))
        return -1;
    b = *m->p;
    if (b <= 0x7f || b >= 0xe0) {                /* positive and negative fixint */
        m->p++;
        *v = (int8_t)b;
        return 0;
    }
    if (b >= 0xcc && b <= 0xcf)
        bytes = 1 << (b - 0xcc);
    else if (b >= 0xd0 && b <= 0xd3)
        bytes = 1 << (b - 0xd0);
    else
        return -1;
    if (!m_need(m, 1 + (uint64_t)bytes))
        return -1;
    m->p++;
    uint64_t u = m_be(m, bytes);
    if (b >= 0xd0) {                             /* signed: extend from its width */
        int shift = 64 - 8 * bytes;
        *v = (int64_t)(u << shift) >> shift;
    } else {
        *v = (int64_t)u;
    }
    return 0;
}

static int m_skip(struct min *m, int depth)
{
    uint64_t n = 0, items = 0;
    uint8_t b;

    if (!m_need(m, 1) || depth > SKIP_DEPTH)
        return -1;
    b = *m->p++;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;                                     /* fixstr */
    else if ((b & 0xf0) == 0x80)
        items = 2 * (uint64_t)(b & 0x0f);                 /* fixmap */
    else if ((b & 0xf0) == 0x90)
        items = b & 0x0f;                                 /* fixarray */
    else {
        switch (b) {
        case 0xcc: case 0xd0: n = 1; break;
        case 0xcd: case 0xd1: n = 2; break;
        case 0xca: case 0xce: case 0xd2: n = 4; break;
        case 0xcb: case 0xcf: case 0xd3: n = 8; break;
        case 0xd4: n = 2; break;                          /* fixext: type + data */
        case 0xd5: n = 3; break;
        case 0xd6: n = 5; break;
        case 0xd7: n = 9; break;
        case 0xd8: n = 17; break;
        case 0xc4: case 0xd9:
            if (!m_need(m, 1)) return -1;
            n = m_be(m, 1);
            break;
        case 0xc5: case 0xda:
            if (!m_need(m, 2)) return -1;
            n = m_be(m, 2);
            break;
        case 0xc6: case 0xdb:
            if (!m_need(m, 4)) return -1;
            n = m_be(m, 4);
            break;
        case 0xc7: case 0xc8: case 0xc9: {                /* ext: length, type, data */
            int bytes = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
            if (!m_need(m, (uint64_t)bytes)) return -1;
            n = m_be(m, bytes) + 1;
            break;
        }
        case 0xdc: case 0xde:
            if (!m_need(m, 2)) return -1;
            items = m_be(m, 2) * (b == 0xde ? 2 : 1);
            break;
        case 0xdd: case 0xdf:
            if (!m_need(m, 4)) return -1;
            items = m_be(m, 4) * (b == 0xdf ? 2 : 1);
            break;
        default:
            return -1;
        }
    }
    if (!m_need(m, n) || items > (uint64_t)(m->end - m->p))  /* each item takes a byte */
        return -1;
    m->p += n;
    for (uint64_t i = 0; i < items; i++)
        if (m_skip(m, depth + 1) != 0)
            return -1;
    return 0;
}

/* One map; nested as for j_map. */
static int m_map(struct min *m, struct wire_reply *r, bool nested)
{
    uint64_t pairs;
    uint8_t b;

    if (!m_need(m, 1))
        return -1;
    b = *m->p++;
    if ((b & 0xf0) == 0x80)
        pairs = b & 0x0f;
    else if (b == 0xde && m_need(m, 2))
        pairs = m_be(m, 2);
    else if (b == 0xdf && m_need(m, 4))
        pairs = m_be(m, 4);
    else
        return -1;
    for (uint64_t i = 0; i < pairs; i++) {
        struct wire_str k, *ss;
        int64_t *is;
        const uint8_t *v;

        if (m_str(m, &k) != 0)
            return -1;
        v = m->p;
        if (nested) {
            if (wire_is(k, "capacity") && m_int(m, &r->capacity) == 0) {
                r->has_capacity = true;
                continue;
            }
        } else if (wire_is(k, "agent") && m_need(m, 1) && ((*m->p & 0xf0) == 0x80 ||
                                                           *m->p == 0xde || *m->p == 0xdf)) {
            if (m_map(m, r, true) != 0)
                return -1;
            continue;
        } else if ((ss = str_slot(r, k)) && m_str(m, ss) == 0) {
            continue;
        } else {
            m->p = v;
            if ((is = int_slot(r, k)) && m_int(m, is) == 0) {
                r->has_seq |= is == &r->seq;
                continue;
            }
        }
        m->p = v;
        if (m_skip(m, nested ? 1 : 0) != 0)
            return -1;
    }
    return 0;
}

static int parse_msgpack(const uint8_t *p, size_t n, struct wire_reply *r)
{
    struct min m = { p, p + n };

    return m_map(&m, r, false);
}

int wire_parse(const uint8_t *p, size_t n, bool binary, struct wire_reply *r)
{
    memset(r, 0, sizeof *r);
    return binary ? parse_msgpack(p, n, r) : parse_json((const char *)p, n, r);
}

uint64_t wire_stamp(struct wire_str text, char tag)
{
    uint64_t v = 0;
    uint32_t i = 0;

    for (;;) {
        /* at the start of a word */
        if (i + 1 < text.n && text.p[i] == tag && text.p[i + 1] >= '0' && text.p[i + 1] <= '9') {
            for (i++; i < text.n && text.p[i] >= '0' && text.p[i] <= '9'; i++)
                v = v * 10 + (uint64_t)(text.p[i] - '0');
            return v;
        }
        while (i < text.n && text.p[i] != ' ')
            i++;
        if (i >= text.n)
            return 0;
        i++;
    }
}
