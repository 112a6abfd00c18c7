/*
 * chat.h - a chat's keys and stored records, shared by buyers and agents.
 *
 * A chat lives in Redis as one hash, cg:chat:{<id>} (keys.h; the hash tag
 * keeps it on one Cluster slot): its record's fields (store, group, buyer,
 * name, state, agent, created, tok, ...), n (the number of messages) and
 * each message under its seq "1".."n" (a msgpack record), the client ids
 * ("<writer>\0<id>" -> seq, for idempotent resends), loc (the buyer's
 * node) and an (the holding agent's nodes), rdb and rda (how far each
 * side has read, signal.lua). A record is a map {from,
 * name?, text, ts, id?, private?}; on the wire it becomes {t:"msg", seq, chat?
 * ...the record's fields}.
 *
 * API: chat_id_valid, chat_record, chat_record_private, chat_record_is_private,
 *      chat_write_msg, chat_record_read, chat_record_fields,
 *      chat_meta_read, chat_init, chat_shutdown.
 */
#ifndef CHATGW_CHAT_H
#define CHATGW_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define CHAT_ID_HEX 32            /* 128-bit chat ids as hex */
#define CHAT_MSG_ID_MAX 64        /* client message ids, bytes */

/* 32 lowercase hex characters. */
bool chat_id_valid(const char *s, size_t len);
/* Encodes a record into a shared buffer, valid until the next call; NULL on error. */
const char *chat_record(const char *from, const char *name, const char *text,
                        uint64_t ts, const char *id, size_t *len);
/* The same, marked private (`private: true`): an agent's note or a
 * supervisor's whisper, which the chat's agents and supervisors see and
 * the buyer never does (not live, not on resume or replay). */
const char *chat_record_private(const char *from, const char *name, const char *text,
                                uint64_t ts, const char *id, size_t *len);
bool chat_record_is_private(const char *rec, size_t len);
/* Writes {t:"msg", chat?, seq, ...record fields} as one frame into w.
 * false when the record does not decode. */
bool chat_write_msg(struct proto_writer *w, const char *chat, int64_t seq,
                    const char *rec, size_t len);

/* A record's from and text (pointers valid until the next decode here). */
bool chat_record_read(const char *rec, size_t len, const char **from, const char **text,
                      size_t *text_len);

/* All of a record's fields (pointers valid until the next decode here). */
struct chat_rec {
    const char *from, *name, *text;   /* name NULL when the record has none */
    size_t text_len;
    uint64_t ts_ms;
};
bool chat_record_fields(const char *rec, size_t len, struct chat_rec *out);

/* What a plugin may be told of a chat, from its meta record ("" when absent). */
struct chat_meta {
    char store[65], agent[129], group[65], buyer_name[256], product[256];
};
bool chat_meta_read(const char *meta, size_t len, struct chat_meta *out);

int chat_init(void);
void chat_shutdown(void);

#endif
