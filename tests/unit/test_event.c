/* test_event.c - the event table: numbers pinned, names agreed with the
 * Lua scripts that publish them, the dispatcher's order. */
#include "chatgw_plugin.h"
#include "event.h"
#include "test.h"

extern const char lua_append[], lua_router[], lua_signal[];

/* Numbers are append-only: a row may be added at the end, never renumbered. */
TEST(numbers_are_pinned)
{
    ASSERT_EQ(EV_MSG_TO_BUYER, 1);
    ASSERT_EQ(EV_MSG_TO_AGENT, 2);
    ASSERT_EQ(EV_ASSIGNED, 3);
    ASSERT_EQ(EV_UNASSIGNED, 4);
    ASSERT_EQ(EV_AGENT_TOOK, 5);
    ASSERT_EQ(EV_CLOSED, 6);
    ASSERT_EQ(EV_QUEUED, 7);
    ASSERT_EQ(EV_KICK, 8);
    ASSERT_EQ(EV_REFRESH, 9);
    ASSERT_EQ(EV_RESYNC, 10);
    ASSERT_EQ(EV_REJOIN, 11);
    ASSERT_EQ(EV_BREACH, 12);
    ASSERT_EQ(EV_AGENT_MSG, 13);
    ASSERT_EQ(EV_QUICK_REPLY, 14);
    ASSERT_EQ(EV_BUYER_MSG, 15);
    ASSERT_EQ(EV_TICK, 16);
    ASSERT_EQ(EV_RELOAD, 17);
    ASSERT_EQ(EV_QUICK_LIST, 18);
    ASSERT_EQ(EV_SHIFT, 19);
    ASSERT_EQ(EV_REASSIGNED, 20);
    ASSERT_EQ(EV_FLOOR_AGENT, 21);
    ASSERT_EQ(EV_WATCH_MSG, 22);
    ASSERT_EQ(EV_ESCALATION, 23);
    ASSERT_EQ(EV_GUARD, 24);
    ASSERT_EQ(EV_TRANSFERRED, 25);
    ASSERT_EQ(EV_TYPING_TO_AGENT, 26);
    ASSERT_EQ(EV_TYPING_TO_BUYER, 27);
    ASSERT_EQ(EV_READ_TO_AGENT, 28);
    ASSERT_EQ(EV_READ_TO_BUYER, 29);
    ASSERT_EQ(EV_ROSTER, 30);
    ASSERT_EQ(EV_BUYER_NOTES, 31);
    ASSERT_EQ(EV_READ_SELF, 32);
    ASSERT_EQ(EV__END, 33);
}

TEST(names_are_unique_and_round_trip)
{
    for (int i = 1; i < EV__END; i++) {
        ASSERT_EQ(event_by_name(event_name((enum event_id)i)), i);
        for (int j = 1; j < i; j++)
            ASSERT(strcmp(event_name((enum event_id)i), event_name((enum event_id)j)) != 0);
    }
    ASSERT_EQ(event_by_name("no-such"), EV_NONE);
    ASSERT_EQ(event_by_name(""), EV_NONE);
    ASSERT_STREQ(event_name(EV_NONE), "none");
    ASSERT_STREQ(event_name((enum event_id)99), "none");
}

/* Every `k = '...'` a script publishes is a row of the table. */
static int check_script(const char *src)
{
    int found = 0;
    for (const char *p = strstr(src, "k = '"); p; p = strstr(p + 1, "k = '")) {
        char name[32];
        const char *e = strchr(p + 5, '\'');
        size_t n = e ? (size_t)(e - (p + 5)) : 0;
        if (!e || n == 0 || n >= sizeof name)
            return -1;
        memcpy(name, p + 5, n);
        name[n] = '\0';
        if (event_by_name(name) == EV_NONE) {
            fprintf(stderr, "script publishes \"%s\", not in CHATGW_EVENT_MAP\n", name);
            return -1;
        }
        found++;
    }
    return found;
}

TEST(the_scripts_publish_only_events_of_the_table)
{
    ASSERT(check_script(lua_append) >= 2);           /* bmsg, amsg */
    ASSERT(check_script(lua_router) >= 5);
    ASSERT(check_script(lua_signal) == 5);          /* atyping btyping aread bread aread_self */
}

TEST(targets)
{
    ASSERT_EQ(event_target(EV_MSG_TO_BUYER), EVT_CHAT);
    ASSERT_EQ(event_target(EV_MSG_TO_AGENT), EVT_AGENT);
    ASSERT_EQ(event_target(EV_KICK), EVT_AGENT);
    ASSERT_EQ(event_target(EV_REFRESH), EVT_NODE);
    ASSERT_EQ(event_target(EV_REJOIN), EVT_ALL);
    ASSERT_EQ(event_target(EV_TYPING_TO_AGENT), EVT_AGENT);
    ASSERT_EQ(event_target(EV_TYPING_TO_BUYER), EVT_CHAT);
    ASSERT_EQ(event_target(EV_READ_TO_AGENT), EVT_AGENT);
    ASSERT_EQ(event_target(EV_READ_TO_BUYER), EVT_CHAT);
    ASSERT_EQ(event_target(EV_BUYER_NOTES), EVT_AGENT);
    ASSERT_EQ(event_target(EV_READ_SELF), EVT_AGENT);
}

static char seen[16];
static size_t nseen;

static void first(const struct event *ev, void *ud)
{
    (void)ev;
    seen[nseen++] = *(const char *)ud;
}

TEST(every_consumer_sees_every_event_in_the_order_they_registered)
{
    event_consumers_clear();
    nseen = 0;
    ASSERT_EQ(event_consumer_add(first, "a"), 0);
    ASSERT_EQ(event_consumer_add(first, "b"), 0);
    event_dispatch(&(struct event){ .id = EV_CLOSED, .chat = "c1" });
    event_dispatch(&(struct event){ .id = EV_KICK, .agent = "x" });
    ASSERT_EQ(nseen, 4);
    ASSERT_MEMEQ(seen, "abab", 4);
    event_consumers_clear();
}

TEST(the_consumer_list_is_bounded)
{
    event_consumers_clear();
    for (int i = 0; i < EVENT_CONSUMERS_MAX; i++)
        ASSERT_EQ(event_consumer_add(first, "z"), 0);
    ASSERT_EQ(event_consumer_add(first, "z"), -1);
    event_consumers_clear();
}

/* The plugin ABI names the same numbers: a hookable event is a row of the table. */
TEST(plugin_abi_numbers_are_the_table_s)
{
    int top = 0;
#define SAME(name, num) ASSERT_EQ(CHATGW_EV_##name, EV_##name); ASSERT_EQ(num, EV_##name); \
                        if (num > top) top = num;
    CHATGW_HOOK_EVENT_MAP(SAME)
#undef SAME
    /* the highest hookable event, within the table (later rows need no hook) */
    ASSERT_EQ(CHATGW_EV_MAX, top);
    ASSERT(CHATGW_EV_MAX <= EV__END - 1);
}

int main(void)
{
    RUN(numbers_are_pinned);
    RUN(names_are_unique_and_round_trip);
    RUN(the_scripts_publish_only_events_of_the_table);
    RUN(targets);
    RUN(plugin_abi_numbers_are_the_table_s);
    RUN(every_consumer_sees_every_event_in_the_order_they_registered);
    RUN(the_consumer_list_is_bounded);
    return TEST_SUMMARY();
}
