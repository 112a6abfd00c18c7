/*
 * web.h - the static pages (web_root) held in memory and looked up by path.
 * API: web_start, web_reload, web_stop, web_find, web_etag_matches.
 */
#ifndef CHATGW_WEB_H
#define CHATGW_WEB_H

#include <stdbool.h>
#include <stddef.h>

struct web_file {
    char *path;                   /* URL path: "/desk/index.html" */
    const char *type;             /* Content-Type */
    unsigned char *data;
    size_t len;
    char etag[24];                /* "\"<16 hex>\"", a hash of data */
};

/* Loads gw.cfg's web_root now (before the loop serves); a failure is
 * logged and leaves no pages. Returns 0 (pages are never fatal). */
int web_start(void);
/* Loads web_root again off the loop (a libuv worker) and swaps the new
 * pages in when they are all read; a failure keeps the old ones. */
void web_reload(void);
/* Frees the pages; a load still running is dropped when it ends. */
void web_stop(void);

/*
 * The file for a request path: exact, or DIR/index.html for "DIR/".
 * NULL when there is none; then *redirect is true when "PATH/" would be
 * served (the caller answers 308 to it).
 */
const struct web_file *web_find(const char *path, bool *redirect);

/* Does an If-None-Match header value (a list of tags, or *) match etag? */
bool web_etag_matches(const char *if_none_match, const char *etag);

#endif
