/*
 * buyer_wire.h - the few buyer frames chatgw-load sends, and a minimal
 * reading of the ones it gets back, in JSON or msgpack.
 *
 * Sent: hello {t, store}, resume hello {t, resume, since}, msg {t, id,
 * text}, with ids "m1", "m2", ... Received frames are flat maps; only the
 * fields the load script looks at are picked out (as views into the frame,
 * not copies), everything else is skipped, nested values included.
 *
 * API: wire_hello, wire_resume, wire_msg, wire_parse, struct wire_reply.
 */
#ifndef CHATGW_LOAD_BUYER_WIRE_H
#define CHATGW_LOAD_BUYER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wire_enc { WIRE_JSON, WIRE_MSGPACK };

/* A string inside a received frame (JSON: raw, escapes not undone). */
struct wire_str {
    const char *p;
    uint32_t n;
};

struct wire_reply {
    struct wire_str t, id, ref, code, from, resume;
    int64_t seq, position;
    bool has_seq;
};

/* Each returns the frame's length in out, or 0 when cap is too small. */
size_t wire_hello(uint8_t *out, size_t cap, enum wire_enc enc, const char *store);
size_t wire_resume(uint8_t *out, size_t cap, enum wire_enc enc, const char *token,
                   int64_t since);
size_t wire_msg(uint8_t *out, size_t cap, enum wire_enc enc, uint32_t k, const char *text);

/* Picks the known fields of a frame; 0, or -1 when it is not a map. */
int wire_parse(const uint8_t *p, size_t n, bool binary, struct wire_reply *r);

bool wire_is(struct wire_str s, const char *lit);
/* "m<k>" -> k, else 0. */
uint32_t wire_msg_number(struct wire_str id);

#endif
