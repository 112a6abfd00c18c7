/*
 * buyer_wire.h - the few buyer frames chatgw-load sends, and a minimal
 * reading of the ones it gets back, in JSON or msgpack.
 *
 * Sent: hello {t, store}, resume hello {t, resume, since}, msg {t, id,
 * text}, with ids "m1", "m2", ... Received frames are flat maps; only the
 * fields the load script looks at are picked out (as views into the frame,
 * not copies), everything else is skipped, nested values included (but
 * for the agent welcome's agent.capacity). The same reader serves the
 * agent frames (agent_wire.h writes those), so its fields cover both.
 *
 * API: wire_hello, wire_resume, wire_msg, wire_parse, struct wire_reply,
 *      wire_begin, wire_field_str, wire_field_int, wire_end, wire_stamp.
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
    struct wire_str chat, text, state, reason, name;   /* agent frames, `agent {name}` */
    int64_t seq, position;
    int64_t capacity;                  /* the agent welcome's agent.capacity */
    bool has_seq, has_capacity;
};

/* A frame being written: a flat map, in JSON or msgpack (agent_wire.c
 * writes the agent's frames with it). */
struct wire_out {
    uint8_t *p;
    size_t len, cap;
    enum wire_enc enc;
    unsigned fields;
    bool err;
};

/* Each returns the frame's length in out, or 0 when cap is too small. */
size_t wire_hello(uint8_t *out, size_t cap, enum wire_enc enc, const char *store);
size_t wire_resume(uint8_t *out, size_t cap, enum wire_enc enc, const char *token,
                   int64_t since);
size_t wire_msg(uint8_t *out, size_t cap, enum wire_enc enc, uint32_t k, const char *text);

/* A map of nfields (at most 15) into p; then its fields, then wire_end,
 * which returns the length, or 0 when cap was too small. */
void wire_begin(struct wire_out *o, uint8_t *p, size_t cap, enum wire_enc enc, unsigned nfields);
void wire_field_str(struct wire_out *o, const char *k, const char *v);
void wire_field_int(struct wire_out *o, const char *k, int64_t v);
size_t wire_end(struct wire_out *o);

/* Picks the known fields of a frame; 0, or -1 when it is not a map. */
int wire_parse(const uint8_t *p, size_t n, bool binary, struct wire_reply *r);

/* The number after `tag` in the word of text that starts with tag and a
 * digit ("b123 hello" -> 123 for 'b'), else 0: the uv_hrtime stamps the
 * load generator puts into message texts. */
uint64_t wire_stamp(struct wire_str text, char tag);

bool wire_is(struct wire_str s, const char *lit);
/* "m<k>" -> k, else 0. */
uint32_t wire_msg_number(struct wire_str id);

#endif
