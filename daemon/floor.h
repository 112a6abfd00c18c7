/*
 * floor.h - the floor's numbers that come from Redis on a timer: how many
 * chats wait in each queue this node serves, and for how long the oldest
 * has waited. /metrics shows them (struct metrics, queues).
 *
 * API: floor_start, floor_stop.
 */
#ifndef CHATGW_FLOOR_H
#define CHATGW_FLOOR_H

/* Reads the queues every node_heartbeat from now on. */
int floor_start(void);
/* Stops the timer (closed asynchronously: run the loop) and frees the gauges. */
void floor_stop(void);

#endif
