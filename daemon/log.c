/*
 * log.c - key=value event lines on stderr, filtered by level.
 *
 * One fprintf per line into a line-buffered stderr, so lines from several
 * processes sharing a terminal or journald never interleave mid-line.
 * API: see log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int log_level = LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level) { log_level = level; }

bool log_enabled(int level) { return level <= log_level; }

void log_event(int level, const char *event, const char *fmt, ...)
{
    char line[1024];
    int n;
    va_list ap;

    if (!log_enabled(level))
        return;
    n = snprintf(line, sizeof line, "level=%s event=%s ", level_names[level], event);
    if (n < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

const char *log_quote(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    bool bare = *s != '\0' && strcspn(s, " \"=\\\t\n\r") == strlen(s);

    if (bare) {
        snprintf(buf, cap, "%s", s);
        return buf;
    }
    if (cap < 3)
        return "\"\"";
    buf[o++] = '"';
    for (; *s && o + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            buf[o++] = '\\';
            buf[o++] = *s;
        } else if ((unsigned char)*s < 0x20) {
            buf[o++] = ' ';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
