/*
 * codec.h - the wire codec: JSON text frames and msgpack binary frames
 * decoded into one bounded value tree, and replies encoded in either.
 *
 * Decoding never trusts the input: every declared length (msgpack str/bin/
 * array/map headers) is checked against the bytes that remain before
 * anything is reserved, nesting depth and total element count are bounded,
 * strings must be strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * and hold no NUL (U+0000),
 * and the whole tree lives in a caller-provided arena of fixed size, so a
 * decode allocates nothing. Trailing bytes after the top value are an error.
 *
 * The daemon is single-threaded: it keeps one arena and decodes every frame
 * into it; handlers copy what they keep before the next decode.
 *
 * API:
 *   proto_arena_init/free          the scratch memory a decode uses
 *   proto_decode                   bytes -> value tree (PROTO_OK or an error)
 *   proto_map_get                  look up a key in a map value
 *   proto_writer_*  / proto_w_*    build one map frame in JSON or msgpack
 */
#ifndef CHATGW_PROTO_CODEC_H
#define CHATGW_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_enc { PROTO_JSON = 0, PROTO_MSGPACK = 1 };

enum proto_type {
    PROTO_NIL, PROTO_BOOL, PROTO_INT, PROTO_FLOAT, PROTO_STR, PROTO_BIN,
    PROTO_ARRAY, PROTO_MAP
};

/* Decode results. */
enum proto_status {
    PROTO_OK = 0,
    PROTO_E_SYNTAX,     /* malformed JSON / msgpack, trailing bytes, short input */
    PROTO_E_UTF8,       /* a string (key or value) is not valid UTF-8 */
    PROTO_E_DEPTH,      /* nesting deeper than limits.max_depth */
    PROTO_E_ELEMS,      /* more values than limits.max_elems or the arena holds */
    PROTO_E_NOT_MAP     /* the top value is not a map */
};

struct proto_value {
    uint8_t type;          /* enum proto_type */
    uint32_t len;          /* STR/BIN: bytes; ARRAY: items; MAP: pairs */
    union {
        bool b;
        int64_t i;         /* integers; msgpack uint64 > INT64_MAX is a syntax error */
        double f;
        const char *s;     /* STR/BIN: NUL-terminated copy inside the arena */
        struct proto_value *items; /* ARRAY: len items; MAP: 2*len (key, value) */
    } u;
};

struct proto_limits {
    uint32_t max_depth;    /* top map is depth 1; default 8 */
    uint32_t max_elems;    /* total values incl. keys; default 512 */
    bool raw_strings;      /* msgpack only: skip the UTF-8 check (trusted input
                              such as events our own Lua scripts packed, whose
                              str fields may hold binary records) */
};

/* Fixed scratch memory: max_elems values + max_bytes of string data. */
struct proto_arena {
    struct proto_value *vals;
    uint32_t nvals, capvals;
    char *bytes;
    size_t nbytes, capbytes;
};

int proto_arena_init(struct proto_arena *a, uint32_t max_elems, size_t max_bytes);
void proto_arena_free(struct proto_arena *a);

/* Resets the arena, decodes buf into it. On PROTO_OK *out is the top map. */
enum proto_status proto_decode(const void *buf, size_t len, enum proto_enc enc,
                               const struct proto_limits *lim,
                               struct proto_arena *a,
                               const struct proto_value **out);

/* Returns the value for key in a MAP (keys compared as strings), or NULL. */
const struct proto_value *proto_map_get(const struct proto_value *map,
                                        const char *key);

const char *proto_status_str(enum proto_status st);

/*
 * Writer: one frame at a time into a growable buffer that keeps `headroom`
 * free bytes in front (LWS_PRE for libwebsockets). Containers are declared
 * with their item count (msgpack needs it up front; JSON closes the
 * container by itself once that many items are written). Any misuse or allocation failure sets w->err
 * and later calls do nothing; check w->err once at the end.
 *
 *   struct proto_writer w;
 *   proto_writer_init(&w, PROTO_JSON, LWS_PRE);
 *   proto_w_map(&w, 2);
 *   proto_w_key(&w, "t");  proto_w_cstr(&w, "ack");
 *   proto_w_key(&w, "seq"); proto_w_int(&w, 7);
 *   if (!w.err) send(proto_writer_data(&w), w.len);
 *   proto_writer_free(&w);
 *
 * JSON output escapes ", \ and control characters, writes non-ASCII UTF-8
 * as is, floats with the shortest of %.15g/%.17g that reads back exactly, BIN as a base64 string.
 */
#define PROTO_W_MAXDEPTH 16

struct proto_writer {
    enum proto_enc enc;
    char *buf;             /* allocation; data starts at buf + headroom */
    size_t headroom, len, cap; /* len: bytes of frame data (after headroom) */
    int err;
    /* per open container: items left to write, is-map, key-expected */
    uint32_t depth;
    struct proto_wstate { uint32_t left; uint8_t is_map, want_value, first; } st[PROTO_W_MAXDEPTH];
};

void proto_writer_init(struct proto_writer *w, enum proto_enc enc, size_t headroom);
void proto_writer_reset(struct proto_writer *w, enum proto_enc enc); /* keeps memory */
void proto_writer_free(struct proto_writer *w);
/* Detaches the buffer (caller frees it with free()); writer becomes empty. */
char *proto_writer_take(struct proto_writer *w);
static inline char *proto_writer_data(struct proto_writer *w) { return w->buf + w->headroom; }

void proto_w_map(struct proto_writer *w, uint32_t pairs);
void proto_w_array(struct proto_writer *w, uint32_t items);
void proto_w_key(struct proto_writer *w, const char *key);
void proto_w_str(struct proto_writer *w, const char *s, size_t len);
void proto_w_cstr(struct proto_writer *w, const char *s);
void proto_w_bin(struct proto_writer *w, const void *p, size_t len);
void proto_w_int(struct proto_writer *w, int64_t v);
/* Writes v in decimal at out (room for 20 bytes), no NUL; returns the length.
 * snprintf's "%lld" cost more than the rest of a small frame. */
size_t proto_fmt_int(char *out, int64_t v);
void proto_w_float(struct proto_writer *w, double v);
void proto_w_bool(struct proto_writer *w, bool v);
void proto_w_nil(struct proto_writer *w);
/* Copies an already-encoded value of the SAME encoding verbatim (e.g. a
 * stored msgpack record into a msgpack frame). Counts as one value. */
void proto_w_raw(struct proto_writer *w, const void *p, size_t len);
/* Writes a decoded value (any encoding) as one value of w's encoding. */
void proto_w_value(struct proto_writer *w, const struct proto_value *v);

/* UTF-8 validation shared by the decoder and the daemon (text lengths). */
bool proto_utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8. */
size_t proto_utf8_chars(const char *s, size_t len);

#endif
