/*
 * greet.h - the store's message templates (greeting, holding reply).
 *
 * A template is plain text with placeholders {store} {buyer} {position}
 * {agent}; `{{` stands for a literal `{` and `}}` for a literal `}`.
 * greet_check runs when the config is loaded; greet_render on every use.
 */
#ifndef CHATGW_GREET_H
#define CHATGW_GREET_H

#include <stddef.h>

struct greet_vars {
    const char *store;            /* store display name */
    const char *buyer;            /* buyer's name */
    const char *position;         /* place in the waiting queue, as text */
    const char *agent;            /* agent's name */
    const char *opens;            /* when a closed store opens (off_hours_text) */
};

/*
 * Renders tpl into out (cap bytes) with v's values; a NULL value renders
 * as nothing. The output is always NUL-terminated (when cap > 0) and, when
 * cap is too small, cut on a UTF-8 character boundary. Returns the bytes
 * written, not counting the NUL.
 */
size_t greet_render(const char *tpl, const struct greet_vars *v, char *out, size_t cap);

/*
 * Returns 0 when every placeholder in tpl is known, else -1 with the
 * offending placeholder name (without braces) or "unclosed {" in bad.
 */
int greet_check(const char *tpl, char *bad, size_t badlen);

#endif
