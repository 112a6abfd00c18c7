/*
 * log.h - one line per event, key=value, to stderr (journald adds the time).
 *
 *   log_info("chat_created", "chat=%s store=%s", chat, store);
 *   -> level=info event=chat_created chat=... store=...
 *
 * Callers never pass secrets or message text at info level. Values that
 * may hold spaces are quoted by the caller with log_quote().
 *
 * Info and debug lines are written once per loop turn (log_flush), warnings
 * and errors at once.
 *
 * API: log_set_level, log_enabled, log_error/warn/info/debug, log_flush,
 *      log_quote.
 */
#ifndef CHATGW_LOG_H
#define CHATGW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"

void log_set_level(int level);
bool log_enabled(int level);
void log_event(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_debug(ev, ...) do { if (log_enabled(LOG_DEBUG)) log_event(LOG_DEBUG, ev, __VA_ARGS__); } while (0)

/* Writes out the lines gathered so far (whole lines, one write). */
void log_flush(void);

/* Writes s into buf as a logfmt value: bare if safe, else "quoted". */
const char *log_quote(char *buf, size_t cap, const char *s);

#endif
