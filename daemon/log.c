/*
 * log.c - key=value event lines on stderr, filtered by level.
 *
 * Lines gather in one buffer that goes out with a single write(2) per
 * loop turn (the gateway calls log_flush before the loop polls), when it
 * fills, at exit, and at once for warnings and errors, so the line that
 * explains a failure is out before anything else happens. A write holds
 * whole lines only: lines from several processes sharing a terminal or
 * journald never interleave mid-line. One write per info line was a
 * syscall per new chat.
 *
 * API: see log.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int log_level = LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level) { log_level = level; }

bool log_enabled(int level) { return level <= log_level; }

#define LINE_MAX_BYTES 1024
#define BUF_BYTES (32 * 1024)

static struct {
    char buf[BUF_BYTES];
    size_t used;
    bool at_exit;                  /* log_flush registered with atexit */
} L;

void log_flush(void)
{
    size_t off = 0;

    while (off < L.used) {
        ssize_t n = write(STDERR_FILENO, L.buf + off, L.used - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;                 /* nowhere to log to: drop the lines */
        off += (size_t)n;
    }
    L.used = 0;
}

void log_event(int level, const char *event, const char *fmt, ...)
{
    char *line;
    size_t cap;
    int n, m;
    va_list ap;

    if (!log_enabled(level))
        return;
    if (!L.at_exit) {
        L.at_exit = true;
        atexit(log_flush);
    }
    if (BUF_BYTES - L.used < LINE_MAX_BYTES + 1)
        log_flush();
    line = L.buf + L.used;
    cap = LINE_MAX_BYTES;          /* a longer line is cut */
    n = snprintf(line, cap, "level=%s event=%s ", level_names[level], event);
    if (n < 0 || (size_t)n >= cap)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n = (size_t)(n + m) >= cap ? (int)cap - 1 : n + m;
    line[n++] = '\n';
    L.used += (size_t)n;
    if (level <= LOG_WARN)
        log_flush();
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
