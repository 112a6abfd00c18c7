/*
 * agent_wire.c - write the agent frames chatgw-load sends (see
 * agent_wire.h).
 */
#include "agent_wire.h"

size_t wire_login(uint8_t *p, size_t cap, enum wire_enc enc, const char *token)
{
    struct wire_out o;

    wire_begin(&o, p, cap, enc, 2);
    wire_field_str(&o, "t", "login");
    wire_field_str(&o, "token", token);
    return wire_end(&o);
}

size_t wire_state(uint8_t *p, size_t cap, enum wire_enc enc, const char *state)
{
    struct wire_out o;

    wire_begin(&o, p, cap, enc, 2);
    wire_field_str(&o, "t", "state");
    wire_field_str(&o, "state", state);
    return wire_end(&o);
}

size_t wire_agent_msg(uint8_t *p, size_t cap, enum wire_enc enc, const char *chat,
                      const char *id, const char *text)
{
    struct wire_out o;

    wire_begin(&o, p, cap, enc, 4);
    wire_field_str(&o, "t", "msg");
    wire_field_str(&o, "chat", chat);
    wire_field_str(&o, "id", id);
    wire_field_str(&o, "text", text);
    return wire_end(&o);
}

size_t wire_close(uint8_t *p, size_t cap, enum wire_enc enc, const char *chat)
{
    struct wire_out o;

    wire_begin(&o, p, cap, enc, 2);
    wire_field_str(&o, "t", "close");
    wire_field_str(&o, "chat", chat);
    return wire_end(&o);
}
