/*
 * server.h - the listening address (WebSocket roles, /healthz, /metrics).
 * API: server_start, server_stop, server_stop_accepting, server_tune,
 *      server_set_ready.
 */
#ifndef CHATGW_SERVER_H
#define CHATGW_SERVER_H

#include <stdbool.h>

/* Creates the lws context on gw.loop listening on gw.cfg->listen. */
int server_start(void);
/* Starts closing the context; run the loop until its handles are gone. */
void server_stop(void);
/* Closes the listening socket: new connections go to other processes. */
void server_stop_accepting(void);
/* Applies gw.cfg's socket options (send buffer) to the listener; new
 * connections inherit them. Called at start and after a reload. */
void server_tune(void);
/* What /healthz answers: ready (200) or not (503). */
void server_set_ready(bool ready);

#endif
