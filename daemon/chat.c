/*
 * chat.c - message records (see chat.h).
 */
#include <stdio.h>
#include <string.h>

#include "chat.h"

static struct proto_writer rec_w;        /* msgpack records for Redis */
static struct proto_arena rec_arena;     /* decoding stored records */

bool chat_id_valid(const char *s, size_t len)
{
    if (len != CHAT_ID_HEX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static const char *record(const char *from, const char *name, const char *text, uint64_t ts,
                          const char *id, bool private_rec, size_t *len)
{
    proto_writer_reset(&rec_w, PROTO_MSGPACK);
    proto_w_map(&rec_w, 3 + (name != NULL) + (id != NULL) + private_rec);
    proto_w_key(&rec_w, "from"); proto_w_cstr(&rec_w, from);
    if (name) {
        proto_w_key(&rec_w, "name");
        proto_w_cstr(&rec_w, name);
    }
    proto_w_key(&rec_w, "text"); proto_w_cstr(&rec_w, text);
    proto_w_key(&rec_w, "ts");   proto_w_int(&rec_w, (int64_t)ts);
    if (id) {
        proto_w_key(&rec_w, "id");
        proto_w_cstr(&rec_w, id);
    }
    if (private_rec) {
        proto_w_key(&rec_w, "private");
        proto_w_bool(&rec_w, true);
    }
    *len = rec_w.len;
    return rec_w.err ? NULL : proto_writer_data(&rec_w);
}

const char *chat_record(const char *from, const char *name, const char *text,
                        uint64_t ts, const char *id, size_t *len)
{
    return record(from, name, text, ts, id, false, len);
}

const char *chat_record_private(const char *from, const char *name, const char *text,
                                uint64_t ts, const char *id, size_t *len)
{
    return record(from, name, text, ts, id, true, len);
}

bool chat_record_is_private(const char *rec, size_t len)
{
    static const struct proto_limits lim = { 2, 32, false };
    const struct proto_value *m, *p;

    /* a record that does not decode is not sent either: treat it as private */
    if (proto_decode(rec, len, PROTO_MSGPACK, &lim, &rec_arena, &m) != PROTO_OK)
        return true;
    p = proto_map_get(m, "private");
    return p && p->type == PROTO_BOOL && p->u.b;
}

bool chat_write_msg(struct proto_writer *w, const char *chat, int64_t seq,
                    const char *rec, size_t len)
{
    static const struct proto_limits lim = { 2, 32, false };
    const struct proto_value *m;

    if (proto_decode(rec, len, PROTO_MSGPACK, &lim, &rec_arena, &m) != PROTO_OK)
        return false;
    proto_w_map(w, m->len + 2 + (chat != NULL));
    proto_w_key(w, "t");   proto_w_cstr(w, "msg");
    if (chat) {
        proto_w_key(w, "chat");
        proto_w_cstr(w, chat);
    }
    proto_w_key(w, "seq"); proto_w_int(w, seq);
    for (uint32_t i = 0; i < m->len; i++) {
        proto_w_key(w, m->u.items[2 * i].u.s);
        proto_w_value(w, &m->u.items[2 * i + 1]);
    }
    return true;
}

bool chat_record_read(const char *rec, size_t len, const char **from, const char **text,
                      size_t *text_len)
{
    static const struct proto_limits lim = { 2, 32, false };
    const struct proto_value *m, *f, *t;

    if (proto_decode(rec, len, PROTO_MSGPACK, &lim, &rec_arena, &m) != PROTO_OK ||
        !(f = proto_map_get(m, "from")) || f->type != PROTO_STR ||
        !(t = proto_map_get(m, "text")) || t->type != PROTO_STR)
        return false;
    *from = f->u.s;
    *text = t->u.s;
    *text_len = t->len;
    return true;
}

bool chat_record_fields(const char *rec, size_t len, struct chat_rec *out)
{
    static const struct proto_limits lim = { 2, 32, false };
    const struct proto_value *m, *from, *text, *name, *ts;

    if (proto_decode(rec, len, PROTO_MSGPACK, &lim, &rec_arena, &m) != PROTO_OK ||
        m->type != PROTO_MAP || !(from = proto_map_get(m, "from")) || from->type != PROTO_STR ||
        !(text = proto_map_get(m, "text")) || text->type != PROTO_STR)
        return false;
    name = proto_map_get(m, "name");
    ts = proto_map_get(m, "ts");
    out->from = from->u.s;
    out->text = text->u.s;
    out->text_len = text->len;
    out->name = name && name->type == PROTO_STR ? name->u.s : NULL;
    out->ts_ms = ts && ts->type == PROTO_INT && ts->u.i > 0 ? (uint64_t)ts->u.i : 0;
    return true;
}

static void meta_field(const struct proto_value *m, const char *k, char *out, size_t cap)
{
    const struct proto_value *v = proto_map_get(m, k);

    snprintf(out, cap, "%s", v && v->type == PROTO_STR ? v->u.s : "");
}

bool chat_meta_read(const char *meta, size_t len, struct chat_meta *out)
{
    static const struct proto_limits lim = { 2, 64, false };
    const struct proto_value *m;

    if (proto_decode(meta, len, PROTO_MSGPACK, &lim, &rec_arena, &m) != PROTO_OK ||
        m->type != PROTO_MAP)
        return false;
    meta_field(m, "store", out->store, sizeof out->store);
    meta_field(m, "agent", out->agent, sizeof out->agent);
    meta_field(m, "group", out->group, sizeof out->group);
    meta_field(m, "name", out->buyer_name, sizeof out->buyer_name);
    meta_field(m, "product", out->product, sizeof out->product);
    return true;
}

int chat_init(void)
{
    proto_writer_init(&rec_w, PROTO_MSGPACK, 0);
    return proto_arena_init(&rec_arena, 64, 1 << 20);
}

void chat_shutdown(void)
{
    proto_writer_free(&rec_w);
    proto_arena_free(&rec_arena);
}
