/*
 * greet.c - renders the store's templates (greeting, holding reply).
 *
 * How: one left-to-right scan. `{{` and `}}` emit a single brace; `{name}`
 * with a known name emits that variable (NULL = nothing); anything else -
 * an unknown name, or a `{` never closed - is copied through verbatim by
 * greet_render (greet_check, run at config load, rejects those templates).
 * A single `}` is an ordinary character. Output goes through put(), which
 * stops for good at the first piece that does not fit, after copying the
 * longest prefix of it that ends on a UTF-8 character boundary.
 *
 * API: greet_render, greet_check (see greet.h).
 */
#include <stdio.h>
#include <string.h>

#include "greet.h"

struct out {
    char *buf;
    size_t cap, len;
    int full;                     /* something did not fit: write no more */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->cap == 0)
        return;
    if (n > o->cap - 1 - o->len) {
        n = o->cap - 1 - o->len;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;                  /* s[n] would be a continuation byte */
        o->full = 1;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* The value slot for placeholder name[0..n), or NULL when unknown. */
static const char *const *lookup(const struct greet_vars *v, const char *name, size_t n, int *known)
{
    static const struct { const char *name; size_t off; } vars[] = {
        { "store", offsetof(struct greet_vars, store) },
        { "buyer", offsetof(struct greet_vars, buyer) },
        { "position", offsetof(struct greet_vars, position) },
        { "agent", offsetof(struct greet_vars, agent) },
        { "opens", offsetof(struct greet_vars, opens) },
    };

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0) {
            *known = 1;
            return v ? (const char *const *)((const char *)v + vars[i].off) : NULL;
        }
    }
    *known = 0;
    return NULL;
}

/* Length of the placeholder name after the `{` at p, or -1 if unclosed. */
static long name_len(const char *p)
{
    const char *e = p + 1 + strcspn(p + 1, "{}");

    return *e == '}' ? (long)(e - p - 1) : -1;
}

size_t greet_render(const char *tpl, const struct greet_vars *v, char *out, size_t cap)
{
    struct out o = { out, cap, 0, 0 };
    const char *p = tpl ? tpl : "";

    if (cap > 0)
        out[0] = '\0';
    while (*p && !o.full) {
        size_t plain = strcspn(p, "{}");
        long n;
        int known;

        put(&o, p, plain);
        p += plain;
        if (!*p)
            break;
        if (p[0] == p[1]) {                     /* {{ or }} */
            put(&o, p, 1);
            p += 2;
        } else if (*p == '}' || (n = name_len(p)) < 0) {
            put(&o, p, 1);                      /* lone } or unclosed { */
            p++;
        } else {
            const char *const *slot = lookup(v, p + 1, (size_t)n, &known);
            if (!known)
                put(&o, p, (size_t)n + 2);
            else if (slot && *slot)
                put(&o, *slot, strlen(*slot));
            p += n + 2;
        }
    }
    return o.len;
}

int greet_check(const char *tpl, char *bad, size_t badlen)
{
    const char *p = tpl ? tpl : "";

    while ((p = strpbrk(p, "{}")) != NULL) {
        long n;
        int known;

        if (p[0] == p[1]) {
            p += 2;
            continue;
        }
        if (*p == '}') {
            p++;
            continue;
        }
        if ((n = name_len(p)) < 0) {
            if (badlen)
                snprintf(bad, badlen, "%s", "unclosed {");
            return -1;
        }
        lookup(NULL, p + 1, (size_t)n, &known);
        if (!known) {
            if (badlen)
                snprintf(bad, badlen, "%.*s", (int)n, p + 1);
            return -1;
        }
        p += n + 2;
    }
    return 0;
}
