/*
 * event.c - the event table's names and the dispatcher (see event.h).
 *
 * A fixed array of consumers, called in the order they registered; the
 * table is small and an event reaches them all, so a plain loop is the
 * whole mechanism. A consumer that adds another while an event is being
 * dispatched takes effect from the next event.
 *
 * API: event_name, event_by_name, event_target, event_consumer_add,
 *      event_consumers_clear, event_dispatch.
 */
#include <string.h>

#include "event.h"

static const struct {
    const char *name;
    enum event_target target;
} table[EV__END] = {
#define EV_ROW(num, name, wire, tgt, fields) [num] = { wire, tgt },
    CHATGW_EVENT_MAP(EV_ROW)
#undef EV_ROW
};

static struct {
    event_consumer_fn *fn;
    void *ud;
} consumers[EVENT_CONSUMERS_MAX];
static size_t nconsumers;

const char *event_name(enum event_id id)
{
    return id > EV_NONE && id < EV__END && table[id].name ? table[id].name : "none";
}

enum event_id event_by_name(const char *name)
{
    for (int i = 1; i < EV__END; i++)
        if (table[i].name && strcmp(table[i].name, name) == 0)
            return (enum event_id)i;
    return EV_NONE;
}

enum event_target event_target(enum event_id id)
{
    return id > EV_NONE && id < EV__END ? table[id].target : EVT_NODE;
}

int event_consumer_add(event_consumer_fn *fn, void *ud)
{
    if (nconsumers == EVENT_CONSUMERS_MAX)
        return -1;
    consumers[nconsumers].fn = fn;
    consumers[nconsumers].ud = ud;
    nconsumers++;
    return 0;
}

void event_consumers_clear(void)
{
    nconsumers = 0;
}

void event_dispatch(const struct event *ev)
{
    size_t n = nconsumers;

    for (size_t i = 0; i < n; i++)
        consumers[i].fn(ev, consumers[i].ud);
}
