/*
 * wire.h - the frames chatgw-load sends, buyers' and agents', and a
 * minimal reading of the ones it gets back, in JSON or msgpack.
 *
 * Sent by a buyer: hello {t, store}, resume hello {t, resume, since},
 * msg {t, id, text}, with ids "m1", "m2", ... Sent by an agent
 * (PROTOCOL.md §7): login {t, token}, state {t, state}, msg {t, chat, id,
 * text}, close {t, chat}. Every frame is a flat map, written by one small
 * builder field by field, so each frame is one list of fields for both
 * encodings.
 *
 * Received frames are flat maps too; only the fields the load script
 * looks at are picked out (as views into the frame, not copies),
 * everything else is skipped, nested values included (but for the agent
 * welcome's agent.capacity). One reader serves both roles, so its fields
 * cover both.
 *
 * API: wire_hello, wire_resume, wire_msg, wire_login, wire_state,
 *      wire_agent_msg, wire_close, wire_parse, struct wire_reply, wire_is,
 *      wire_msg_number, wire_stamp.
 */
#ifndef CHATGW_LOAD_WIRE_H
#define CHATGW_LOAD_WIRE_H

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

/* Each writes one frame into out and returns its length, or 0 when cap is
 * too small. A buyer's: */
size_t wire_hello(uint8_t *out, size_t cap, enum wire_enc enc, const char *store);
size_t wire_resume(uint8_t *out, size_t cap, enum wire_enc enc, const char *token,
                   int64_t since);
size_t wire_msg(uint8_t *out, size_t cap, enum wire_enc enc, uint32_t k, const char *text);
/* An agent's: */
size_t wire_login(uint8_t *out, size_t cap, enum wire_enc enc, const char *token);
size_t wire_state(uint8_t *out, size_t cap, enum wire_enc enc, const char *state);
size_t wire_agent_msg(uint8_t *out, size_t cap, enum wire_enc enc, const char *chat,
                      const char *id, const char *text);
size_t wire_close(uint8_t *out, size_t cap, enum wire_enc enc, const char *chat);

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
