/*
 * supervisor.h - a supervisor's session state, shared by the two files of
 * the role: session_supervisor.c (login, the floor's events, the
 * snapshot) and supervise.c (its hands on chats: watch, whisper, join,
 * assign, transfer, close, transcript), and supervise_stats.c (the stats
 * event). Nothing outside the role
 * includes it.
 *
 * API: struct sup, sup_first, sup_emit, sup_hold, sup_release,
 *      sup_store_list; supervise_* (the action frames' handlers),
 *      supervise_on_watch_msg, supervise_forget; sup_stats_watch,
 *      sup_stats_unwatch, sup_stats_stop.
 */
#ifndef CHATGW_SUPERVISOR_H
#define CHATGW_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "config.h"
#include "desk_login.h"
#include "event.h"
#include "index.h"
#include "session.h"
#include "token.h"

#define SUP_NAME_MAX 256
#define ALL_STORES "*"

/* A frame held while a read it must follow is under way (session's encoding). */
struct pending {
    struct pending *next;
    size_t len;
    char data[];
};

/* A chat the supervisor watches; joined: it may also write there (msg). */
struct watch {
    char chat[CHAT_ID_HEX + 1];
    bool joined;
};

struct sup {
    char id[INDEX_KEY_MAX + 1];
    char name[SUP_NAME_MAX];
    char store[CONFIG_ID_MAX + 1];       /* one store, or "*" */
    char ip[64];
    uint8_t logged_in;
    struct desk_login login;             /* its login (logging_in while under way) */
    struct session *s;
    struct sup *prev, *next;             /* logged in on this node */
    char (*listening)[CONFIG_ID_MAX + 1]; /* the floor channels it holds */
    size_t nlistening;
    /* reads that events must follow (a snapshot, a watch's history):
     * while any is under way, frames wait in pend */
    unsigned holds;
    bool snap_busy, snap_again;
    struct pending *pend_head, *pend_tail;
    size_t pend_bytes;
    struct watch *watch;                 /* at most supervisor_watch_max */
    size_t nwatch;
};

/* The supervisors logged in on this node (then ->next). */
struct sup *sup_first(void);
/* Sends the frame in the session's writer, or holds it (see sup_hold). */
void sup_emit(struct sup *p, struct proto_writer *w);
/* A read is under way whose frame must come before any event: frames wait. */
void sup_hold(struct sup *p);
/* That read's frame is out: the frames that waited follow, in order. */
void sup_release(struct sup *p);
/* The stores it sees, space-separated, as the scripts take them. */
size_t sup_store_list(const struct sup *p, char *out, size_t cap);

/* The action frames (supervise.c). */
void supervise_watch(struct session *s, const struct proto_value *f);
void supervise_join(struct session *s, const struct proto_value *f);
void supervise_unwatch(struct session *s, const struct proto_value *f);
void supervise_whisper(struct session *s, const struct proto_value *f);
void supervise_msg(struct session *s, const struct proto_value *f);
void supervise_assign(struct session *s, const struct proto_value *f);
void supervise_transfer(struct session *s, const struct proto_value *f);
void supervise_close(struct session *s, const struct proto_value *f);
void supervise_transcript(struct session *s, const struct proto_value *f);
/* The stats event (supervise_stats.c): a supervisor here shows the store
 * (again each login), or one no longer does; stop frees what is left. */
void sup_stats_watch(const char *store);
void sup_stats_unwatch(const char *store);
void sup_stats_stop(void);
/* A record of a chat that supervisors here watch (event WATCH_MSG). */
void supervise_on_watch_msg(const struct event *ev);
/* The session ends: its watches end with it. */
void supervise_forget(struct sup *p);

#endif
