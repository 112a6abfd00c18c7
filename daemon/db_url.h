/*
 * db_url.h - where Redis is: the redis_url option, parsed and shown.
 *
 * A Redis URL is redis://[:password@]host[:port][/db] or
 * unix:///path[?db=N]. It is checked whole when the config is read
 * (config.c), opened by the Redis link (db.c), and by chatgwctl, which is
 * why it lives apart from the link: parsing it needs neither libuv nor
 * hiredis. The password is kept on the heap, wiped when freed, and never
 * printed: error texts quote nothing of the URL, and the form shown in
 * logs has the password masked.
 *
 * API: db_url_parse, db_url_free, db_redacted_url.
 */
#ifndef CHATGW_DB_URL_H
#define CHATGW_DB_URL_H

#include <stdbool.h>
#include <stddef.h>

struct db_url {
    bool is_unix;
    char host[256];       /* host name or address, or the socket path */
    int port;
    int db;
    char *password;       /* heap, wiped on free; never logged */
};

/* Parses redis://[:password@]host[:port][/db] or unix:///path[?db=N].
 * Returns 0, or -1 with a reason in err. */
int db_url_parse(struct db_url *u, const char *url, char *err, size_t errlen);
void db_url_free(struct db_url *u);
/* The URL without its password, for logs. */
void db_redacted_url(const struct db_url *u, char *out, size_t cap);

#endif
