/* test_login_gate.c - failed logins per address, counted as they start. */
#include "login_gate.h"
#include "test.h"

static int admitted, refused;

static void on_admit(struct login_ticket *t) { (void)t; admitted++; }
static void on_refuse(struct login_ticket *t) { (void)t; refused++; }

static void reset(struct login_ticket *v, int n)
{
    memset(v, 0, sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++) {
        v[i].on_admit = on_admit;
        v[i].on_refuse = on_refuse;
    }
    admitted = refused = 0;
}

/* 150 bad logins at once: 5 lookups, then every other one refused. */
TEST(parallel_bad_logins_make_no_more_attempts_than_the_limit)
{
    struct login_ticket t[150];
    int now_admitted = 0, waiting = 0;

    reset(t, 150);
    for (int i = 0; i < 150; i++) {
        enum gate_verdict v = login_gate_enter(&t[i], "10.0.0.1", 5, 60000, 0);
        now_admitted += v == GATE_ADMIT;
        waiting += v == GATE_WAIT;
    }
    ASSERT_EQ(now_admitted, 5);
    ASSERT_EQ(waiting, 145);
    for (int i = 0; i < 5; i++)
        login_gate_leave(&t[i], true, 1);          /* each lookup failed */
    ASSERT_EQ(admitted, 0);
    ASSERT_EQ(refused, 145);
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.1", 5, 60000, 2), GATE_REFUSE);
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.9", 5, 60000, 2), GATE_ADMIT); /* others unaffected */
    login_gate_leave(&t[0], false, 3);
    login_gate_free_all();
}

/* A floor of desks behind one address all log in, a few at a time. */
TEST(parallel_good_logins_all_go_through_in_turn)
{
    struct login_ticket t[40];

    reset(t, 40);
    for (int i = 0; i < 40; i++)
        ASSERT(login_gate_enter(&t[i], "10.0.0.2", 5, 60000, 0) != GATE_REFUSE);
    for (int i = 0; i < 40; i++)
        login_gate_leave(&t[i], false, 1);          /* each succeeded: the next goes */
    ASSERT_EQ(admitted, 35);
    ASSERT_EQ(refused, 0);
    login_gate_free_all();
}

TEST(failures_expire_with_the_window)
{
    struct login_ticket t[1];

    reset(t, 1);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.3", 3, 1000, 0), GATE_ADMIT);
        login_gate_leave(&t[0], true, 10);
    }
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.3", 3, 1000, 500), GATE_REFUSE);
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.3", 3, 1000, 1000), GATE_ADMIT);
    login_gate_leave(&t[0], false, 1001);
    login_gate_free_all();
}

/* A waiting session that goes away leaves the queue; the rest keep their turn. */
TEST(a_waiting_ticket_can_leave)
{
    struct login_ticket t[3];

    reset(t, 3);
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.4", 1, 60000, 0), GATE_ADMIT);
    ASSERT_EQ(login_gate_enter(&t[1], "10.0.0.4", 1, 60000, 0), GATE_WAIT);
    ASSERT_EQ(login_gate_enter(&t[2], "10.0.0.4", 1, 60000, 0), GATE_WAIT);
    login_gate_leave(&t[1], false, 1);              /* gone while waiting: no count */
    login_gate_leave(&t[0], false, 1);              /* succeeded: t[2] goes */
    ASSERT_EQ(admitted, 1);
    ASSERT(t[2].admitted);
    login_gate_leave(&t[2], true, 2);
    ASSERT_EQ(login_gate_enter(&t[0], "10.0.0.4", 1, 60000, 3), GATE_REFUSE);
    login_gate_leave(&t[0], false, 3);              /* not at the gate: no-op */
    login_gate_free_all();
}

int main(void)
{
    RUN(parallel_bad_logins_make_no_more_attempts_than_the_limit);
    RUN(parallel_good_logins_all_go_through_in_turn);
    RUN(failures_expire_with_the_window);
    RUN(a_waiting_ticket_can_leave);
    return TEST_SUMMARY();
}
