/*
 * db_url.c - parse a Redis URL, wipe its password, show it without one.
 *
 * The parser walks the whole URL and refuses what it does not fully
 * understand (a user name, an empty password, a host that is neither a
 * name nor a bracketed IPv6 address, a sign or a blank in a number, text
 * after the db), with a reason that never quotes the URL: it may hold a
 * password. Nothing here touches the network or the event loop.
 *
 * API: see db_url.h.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "db_url.h"

/* A decimal number lo..hi that is all of [s, end): no sign, no blanks. */
static int parse_num(const char *s, const char *end, long lo, long hi, int *out)
{
    long v = 0;

    if (s == end)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > (hi - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < lo)
        return -1;
    *out = (int)v;
    return 0;
}

static int url_fail(struct db_url *u, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    db_url_free(u);
    return -1;
}

/*
 * The whole URL is checked, and no error text quotes any of it: it may
 * hold a password. Refused: a user name before the password (Redis ACL
 * users are not supported), an empty password, a host that is neither a
 * name (A-Z a-z 0-9 . - _) nor a bracketed IPv6 address, anything but
 * digits in the port or db, and text after them.
 */
int db_url_parse(struct db_url *u, const char *url, char *err, size_t errlen)
{
    static const char host_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_";
    const char *p, *at, *slash, *colon, *hend;
    unsigned char a6[16];
    size_t n, hn;

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *q;
        u->is_unix = true;
        p = url + 7;
        q = strchr(p, '?');
        n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || n >= sizeof u->host || p[0] != '/')
            return url_fail(u, err, errlen, "unix URL needs an absolute socket path");
        if (n >= 108)                        /* sun_path */
            return url_fail(u, err, errlen, "socket path longer than 107 bytes");
        memcpy(u->host, p, n);
        u->host[n] = '\0';
        if (q && strncmp(q, "?db=", 4) != 0)
            return url_fail(u, err, errlen, "only ?db=N is understood after the socket path");
        if (q && parse_num(q + 4, q + strlen(q), 0, INT_MAX, &u->db) != 0)
            return url_fail(u, err, errlen, "db must be a number >= 0");
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return url_fail(u, err, errlen, "URL must start with redis:// or unix://");
    p = url + 8;
    at = strrchr(p, '@');                    /* the password may hold @ and / */
    if (at) {
        if (p[0] != ':')
            return url_fail(u, err, errlen, "credentials must be :password@ (no user name)");
        if (at == p + 1)
            return url_fail(u, err, errlen, "empty password");
        if (!(u->password = strndup(p + 1, (size_t)(at - p - 1))))
            return url_fail(u, err, errlen, "out of memory");
        p = at + 1;
    }
    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : strlen(p);
    if (p[0] == '[') {                      /* [v6]:port */
        const char *rb = memchr(p, ']', n);
        if (!rb || rb == p + 1 || (size_t)(rb - p - 1) >= sizeof u->host)
            return url_fail(u, err, errlen, "bad host: expected [IPV6]");
        memcpy(u->host, p + 1, (size_t)(rb - p - 1));
        if (inet_pton(AF_INET6, u->host, a6) != 1)
            return url_fail(u, err, errlen, "bad host: invalid IPv6 address");
        hend = rb + 1;
        if (hend != p + n && *hend != ':')
            return url_fail(u, err, errlen, "bad host: text after ]");
    } else {
        colon = memchr(p, ':', n);
        hn = colon ? (size_t)(colon - p) : n;
        if (hn == 0 || hn >= sizeof u->host)
            return url_fail(u, err, errlen, "bad host: empty or too long");
        if (strspn(p, host_chars) < hn)
            return url_fail(u, err, errlen, "bad host: a name of A-Z a-z 0-9 . - _, or [IPV6]");
        memcpy(u->host, p, hn);
        hend = p + hn;
    }
    if (hend != p + n && parse_num(hend + 1, p + n, 1, 65535, &u->port) != 0)
        return url_fail(u, err, errlen, "port must be 1..65535");
    if (slash && slash[1] && parse_num(slash + 1, slash + strlen(slash), 0, INT_MAX, &u->db) != 0)
        return url_fail(u, err, errlen, "db must be a number >= 0");
    return 0;
}

void db_url_free(struct db_url *u)
{
    if (u->password) {
        OPENSSL_cleanse(u->password, strlen(u->password));
        free(u->password);
        u->password = NULL;
    }
}

void db_redacted_url(const struct db_url *u, char *out, size_t cap)
{
    if (u->is_unix)
        snprintf(out, cap, "unix://%s%s", u->host, u->db ? "?db=..." : "");
    else
        snprintf(out, cap, "redis://%s%s:%d/%d", u->password ? ":***@" : "",
                 u->host, u->port, u->db);
}
