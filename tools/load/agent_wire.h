/*
 * agent_wire.h - the agent frames chatgw-load sends (PROTOCOL.md §7), in
 * JSON or msgpack, written with buyer_wire's builder. The gateway's
 * answers are read with wire_parse (buyer_wire.h), whose reply carries
 * the agent fields too (chat, text, state, reason, agent.capacity).
 *
 * Sent: login {t, token}, state {t, state}, msg {t, chat, id, text},
 * close {t, chat}.
 *
 * API: wire_login, wire_state, wire_agent_msg, wire_close.
 */
#ifndef CHATGW_LOAD_AGENT_WIRE_H
#define CHATGW_LOAD_AGENT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buyer_wire.h"

/* Each returns the frame's length in out, or 0 when cap is too small. */
size_t wire_login(uint8_t *out, size_t cap, enum wire_enc enc, const char *token);
size_t wire_state(uint8_t *out, size_t cap, enum wire_enc enc, const char *state);
size_t wire_agent_msg(uint8_t *out, size_t cap, enum wire_enc enc, const char *chat,
                      const char *id, const char *text);
size_t wire_close(uint8_t *out, size_t cap, enum wire_enc enc, const char *chat);

#endif
