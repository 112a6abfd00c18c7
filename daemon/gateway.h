/*
 * gateway.h - the daemon's lifecycle (start, reload, stop): the top of the
 * module graph, the one place that names every other module and the roles.
 *
 * API: gateway_run.
 */
#ifndef CHATGW_GATEWAY_H
#define CHATGW_GATEWAY_H

#include "gw.h"

/* Runs the daemon until it is told to stop. Returns the exit status. */
int gateway_run(const struct cli_opts *cli);

#endif
