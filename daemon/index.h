/*
 * index.h - a small string-keyed hash table of pointers.
 *
 * The router finds the local sessions an event is for by id: the buyer
 * session of a chat, the sessions of an agent. Open addressing with linear
 * probing and backward-shift deletion (no tombstones), grown at 1/2 load.
 * Keys are not copied: a key must stay valid, unchanged, while its entry is
 * in the table (it is the id inside the object the entry points to), which
 * keeps a slot at 16 bytes. Keys are at most INDEX_KEY_MAX bytes.
 *
 * API: index_init, index_free, index_get, index_put, index_del, index_count.
 */
#ifndef CHATGW_INDEX_H
#define CHATGW_INDEX_H

#include <stddef.h>

#define INDEX_KEY_MAX 64

struct index_slot {
    const char *key;                 /* owned by the caller (see above) */
    void *val;                       /* NULL: empty slot */
};

struct index {
    struct index_slot *slots;
    size_t cap, count;               /* cap: a power of two */
};

void index_init(struct index *ix);
void index_free(struct index *ix);
void *index_get(const struct index *ix, const char *key);
/* Inserts or replaces; -1 on a key too long or out of memory. On replace
 * the table keeps the new key pointer. */
int index_put(struct index *ix, const char *key, void *val);
/* Removes key if it maps to val (or val is NULL); returns the old value. */
void *index_del(struct index *ix, const char *key, const void *val);
static inline size_t index_count(const struct index *ix) { return ix->count; }

#endif
