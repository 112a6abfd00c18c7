/*
 * ctl_demo.c - `chatgwctl demo`: the desks of `make run`.
 *
 * Makes sure the store has agent alice (group pre-sales), agent bob
 * (after-sales), both with capacity 5, and supervisor sam: creates them
 * when missing, otherwise puts those settings back. Either way each gets a
 * fresh token (earlier ones stop working, their sessions are closed), and
 * the three are printed with the URL to connect to: ws://<listen>/v1/...,
 * listen from the -c config, else 127.0.0.1:8080. Running it twice is
 * harmless; it only issues new tokens.
 *
 * API: cmd_demo.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ctl.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"

/* ws[s]://HOST:PORT the desks connect to: the config's listen address, with
 * a wildcard host replaced by loopback. */
static void desk_base(const struct ctl *x, char *out, size_t cap)
{
    const char *listen = x->have_cfg && x->cfg.listen[0] ? x->cfg.listen : DEFAULT_LISTEN;
    const char *scheme = x->have_cfg && x->cfg.tls_cert[0] ? "wss" : "ws";
    const char *colon = strrchr(listen, ':');
    const char *port = colon ? colon + 1 : "8080";
    size_t hostlen = colon ? (size_t)(colon - listen) : strlen(listen);

    if (hostlen == 0 || (hostlen == 7 && strncmp(listen, "0.0.0.0", 7) == 0))
        snprintf(out, cap, "%s://127.0.0.1:%s", scheme, port);
    else if (hostlen == 4 && strncmp(listen, "[::]", 4) == 0)
        snprintf(out, cap, "%s://[::1]:%s", scheme, port);
    else
        snprintf(out, cap, "%s://%.*s:%s", scheme, (int)hostlen, listen, port);
}

/* pref when the store has it, else its group number `nth` (or its first). */
static char *demo_group(const struct cstore *st, const char *pref, int nth)
{
    for (int i = 0; i < st->ngroups; i++)
        if (strcmp(st->groups[i], pref) == 0)
            return st->groups[i];
    return st->groups[nth < st->ngroups ? nth : 0];
}

int cmd_demo(struct ctl *x, const struct kind *unused, const char *unused_id)
{
    struct {
        const struct kind *k;
        const char *id, *name;
        char *group;              /* agents */
        char tok[CTL_TOKEN_HEX + 1];
        bool created;
    } who[] = {
        { &AGENT, "alice", "Alice", NULL, "", false },
        { &AGENT, "bob", "Bob", NULL, "", false },
        { &SUPERVISOR, "sam", "Sam", NULL, "", false },
    };
    const int n = (int)(sizeof who / sizeof who[0]);
    const struct cstore *st;
    char base[300];
    int rc, i;

    (void)unused;
    (void)unused_id;
    if ((rc = ctl_need_stores(x)) != CTL_OK ||
        (rc = stores_pick(&x->stores, x->o.store, &st)) != CTL_OK)
        return rc;
    if (st->ngroups == 0)
        return ctl_fail(CTL_UNKNOWN_STORE, "store %s has no groups (per %s)", st->id,
                        x->stores.source);
    who[0].group = demo_group(st, "pre-sales", 0);
    who[1].group = demo_group(st, "after-sales", 1);
    for (i = 0; i < n && rc == CTL_OK; i++) {
        struct ident_new want = { .id = who[i].id, .name = who[i].name, .store = st->id,
                                  .groups = &who[i].group, .ngroups = 1,
                                  .capacity = CTL_CAPACITY_DEFAULT };
        rc = ident_create(x, who[i].k, &want, who[i].tok);
        who[i].created = rc == CTL_OK;
        if (rc == CTL_EXISTS)
            rc = ident_reissue(x, who[i].k, who[i].id, who[i].tok, &want);
        if (rc == CTL_NOT_FOUND)  /* deleted between the two */
            rc = ctl_fail(CTL_REDIS, "%s %s was deleted meanwhile; run demo again",
                          who[i].k->noun, who[i].id);
    }
    if (rc == CTL_OK) {
        desk_base(x, base, sizeof base);
        printf("chatgw demo desks of store %s (%s); tokens issued now, earlier ones no longer "
               "work:\n", st->id, st->name);
        for (i = 0; i < n; i++)
            printf("  %-10s  %-5s  %-12s  %s/v1/%-10s  %s\n", who[i].k->noun, who[i].id,
                   who[i].k->agent ? who[i].group : st->id, base, who[i].k->noun, who[i].tok);
        printf("Connect, then send {\"t\":\"login\",\"token\":\"TOKEN\"}; run this again for "
               "new tokens.\n");
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = ctl_fail(CTL_FAIL, "could not write the tokens to stdout; run demo again");
        for (i = 0; i < n; i++)
            fprintf(stderr, "chatgwctl: %s %s %s\n", who[i].k->noun, who[i].id,
                    who[i].created ? "created" : "existed: settings reset, new token");
    }
    for (i = 0; i < n; i++)
        OPENSSL_cleanse(who[i].tok, sizeof who[i].tok);
    return rc;
}
