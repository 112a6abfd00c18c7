/* actions.c - a test plugin (test_plugin_actions.py builds it) that lets a
 * buyer drive the host's chat actions: a buyer message "!CMD ARGS" runs
 * one on its own chat, "!on CHAT CMD ARGS" on another, and the result comes
 * back into the buyer's chat as a system message "CMD -> RESULT[: data]"
 * (a synchronous refusal: "CMD = RESULT").
 *   !flag RULE EXCERPT...   host->flag
 *   !prio LEVEL | !raise LEVEL   host->set_priority (LEVEL 0..3, or any int)
 *   !move GROUP             host->move_group
 *   !last N                 host->read_last: "seq:from:name:text|..." */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatgw_plugin.h"

struct st {
    const struct chatgw_host *h;
    chatgw_plugin *self;
};

struct call {
    struct st *st;
    char chat[33], cmd[16];
};

int chatgw_plugin_version(int count, const int *supported)
{
    for (int i = 0; i < count; i++)
        if (supported[i] == 1)
            return 1;
    return -1;
}

static void report(struct call *c, const char *sep, int rc, const char *data)
{
    char msg[8192];
    int n = snprintf(msg, sizeof msg, "%s %s %d%s%s", c->cmd, sep, rc, data ? ": " : "",
                     data ? data : "");
    c->st->h->send(c->st->self, c->chat, CHATGW_FROM_SYSTEM, msg, (size_t)n, NULL, NULL);
}

static void on_done(void *ud, int rc)
{
    report(ud, "->", rc, NULL);
    free(ud);
}

static void on_msgs(void *ud, int rc, const struct chatgw_msg *m, int n)
{
    char out[6000] = "";
    size_t o = 0;

    for (int i = 0; i < n && o < sizeof out - 1; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%lld:%s:%s:%s", i ? "|" : "",
                              (long long)m[i].seq, m[i].from, m[i].name ? m[i].name : "",
                              m[i].text);
    report(ud, "->", rc, out);
    free(ud);
}

static int on_buyer_msg(void *ud, struct chatgw_event *ev)
{
    struct st *st = ud;
    char text[1024], *w[3], *save = NULL;
    const char *target = ev->chat;
    struct call *c;
    int rc;

    if (!ev->text || ev->text[0] != '!' || ev->text_len >= sizeof text)
        return CHATGW_DEFER;
    memcpy(text, ev->text + 1, ev->text_len - 1);
    text[ev->text_len - 1] = '\0';
    w[0] = strtok_r(text, " ", &save);
    if (w[0] && strcmp(w[0], "on") == 0) {
        target = strtok_r(NULL, " ", &save);
        w[0] = strtok_r(NULL, " ", &save);
    }
    w[1] = strtok_r(NULL, " ", &save);
    w[2] = save;                        /* the rest */
    if (!w[0] || !target || !(c = calloc(1, sizeof *c)))
        return CHATGW_DEFER;
    c->st = st;
    snprintf(c->chat, sizeof c->chat, "%s", ev->chat);
    snprintf(c->cmd, sizeof c->cmd, "%s", w[0]);
    if (strcmp(w[0], "flag") == 0)
        rc = st->h->flag(st->self, target, w[1], w[2], on_done, c);
    else if (strcmp(w[0], "prio") == 0 || strcmp(w[0], "raise") == 0)
        rc = st->h->set_priority(st->self, target, (w[1] ? atoi(w[1]) : 0) |
                                 (w[0][0] == 'r' ? CHATGW_PRIO_RAISE : 0), on_done, c);
    else if (strcmp(w[0], "move") == 0)
        rc = st->h->move_group(st->self, target, w[1], on_done, c);
    else if (strcmp(w[0], "last") == 0)
        rc = st->h->read_last(st->self, target, w[1] ? atoi(w[1]) : 0, on_msgs, c);
    else
        rc = CHATGW_ERR_INVAL;
    if (rc != CHATGW_OK) {
        report(c, "=", rc, NULL);
        free(c);
    }
    return CHATGW_OK;
}

int chatgw_plugin_init(const struct chatgw_host *host, chatgw_plugin *self, void **userdata,
                       const struct chatgw_opt *opts, int nopts)
{
    struct st *st = calloc(1, sizeof *st);

    (void)opts; (void)nopts;
    if (!st)
        return CHATGW_ERR_NOMEM;
    *userdata = st;
    st->h = host;
    st->self = self;
    return host->hook(self, CHATGW_EV_BUYER_MSG, on_buyer_msg, st);
}

int chatgw_plugin_cleanup(void *userdata, const struct chatgw_opt *opts, int nopts)
{
    (void)opts; (void)nopts;
    free(userdata);
    return CHATGW_OK;
}
