"""Shifts and service hours (issue 12), with the test clock: chatgwd runs
with --test-clock and test_clock_offset, which a test moves by rewriting
the config and sending SIGHUP (the daemon logs test_clock at warn). No
test waits real minutes: the clock is set a second before a boundary.

Times are in 2027 (the offset only moves the clock forward)."""
import asyncio
import calendar
import json
import re
import signal
import time

from client import buyer, collect
from conftest import DEMO_GREETING, chat_meta, chat_transcript, wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent
from test_chatgwctl import ctl

OFF_HOURS = "Closed now, {buyer}. We open {opens}."


def utc_ms(y, mo, d, h=0, mi=0, s=0.0):
    return int((calendar.timegm((y, mo, d, h, mi, 0)) + s) * 1000)


def store(**kw):
    s = {"name": "Demo Store", "greeting": DEMO_GREETING, "timezone": "Europe/Berlin",
         "shift": ["day 09:00-17:00 mon-fri"], "off_hours_text": OFF_HOURS,
         # the 30-second clock stays out of the way unless a test wants it
         "hold_max": 0, "breach_after": "7d", "reassign_after": "0", "away_reassign": "0"}
    s.update(kw)
    return {"demo": s}


def clocked(gateway, redis, at_ms, **kw):
    """A gateway whose wall clock reads at_ms now."""
    kw.setdefault("stores", store())
    g = gateway(redis.url, start=False, test_clock_offset=offset_for(at_ms), **FAST, **kw)
    return g.start(extra_args=("--test-clock",))


def offset_for(at_ms):
    off = at_ms - int(time.time() * 1000)
    assert off > 0, "the test clock only runs ahead"
    return f"{off}ms"


def set_clock(gw, at_ms):
    """Moves gw's clock to read at_ms now (SIGHUP), and waits until it has."""
    n = gw.logtext().count("test_clock")
    gw.options["test_clock_offset"] = offset_for(at_ms)
    gw.write_config()
    gw.signal(signal.SIGHUP)
    wait_for(lambda: gw.logtext().count("test_clock") > n, what="test_clock logged")


def shift_of(frame):
    return frame["shift"]


# ---- the test clock ---------------------------------------------------------

def test_the_test_clock_needs_its_command_line_flag_and_is_logged(redis, gateway):
    g = gateway(redis.url, start=False, test_clock_offset="1d")
    g.start(wait_ready=False)
    assert g.proc.wait(10) != 0
    assert "test_clock_offset: refused" in g.logtext()
    g2 = clocked(gateway, redis, utc_ms(2027, 1, 4, 12))
    assert re.search(r"level=warn.*test_clock|test_clock.*offset_ms=", g2.logtext())
    # a reload that turns it on without the flag is refused too
    g3 = gateway(redis.url)
    g3.options["test_clock_offset"] = "1d"
    g3.write_config()
    g3.signal(signal.SIGHUP)
    wait_for(lambda: "reload_failed" in g3.logtext(), what="reload refused")


# ---- shifts: start, end, keeping chats ---------------------------------------

def test_shift_start_gives_waiting_chats_at_once_and_its_end_stops_new_ones(redis, gateway):
    # Monday 2027-01-04, Berlin (UTC+1): the day shift is 08:00-16:00 UTC
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 7, 59, 57))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, w = await agent(gw, token)
        assert w["shift"] == {"on_shift": False, "ends_at": None,
                              "next": utc_ms(2027, 1, 4, 8), "overtime": False}
        c1, _ = await buyer(gw, name="Ann")
        greet, _, q = await c1.first_message("before nine")
        assert greet["text"] == "Closed now, Ann. We open Mon 4 Jan 09:00."
        assert q["position"] == 1
        # 09:00: the shift starts on time, the desk hears it, the chat goes to alice
        f, _ = await frames_until(a, lambda f: f["t"] == "shift", timeout=6)
        assert f["shift"] == {"on_shift": True, "ends_at": utc_ms(2027, 1, 4, 16),
                              "next": utc_ms(2027, 1, 5, 8), "overtime": False}
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign", timeout=3)
        chat1 = asg["chat"]
        # 17:00: the shift ends; alice keeps chat 1 and takes no new one
        set_clock(gw, utc_ms(2027, 1, 4, 15, 59, 58.5))
        f, _ = await frames_until(a, lambda f: f["t"] == "shift", timeout=6)
        assert f["shift"]["on_shift"] is False
        assert f["shift"]["next"] == utc_ms(2027, 1, 5, 8)
        assert f["shift"]["overtime"] is False   # ready set on shift: not overtime
        c2, _ = await buyer(gw, name="Bob")
        greet2, _, q2 = await c2.first_message("after five")
        assert greet2["text"] == "Closed now, Bob. We open Tue 5 Jan 09:00."
        await a.silent(1.0)                      # no assign
        assert chat_meta(redis.client(), chat1)["agent"] == "alice"
        await a.send({"t": "msg", "chat": chat1, "id": "r1", "text": "still here for you"})
        await a.expect("ack", id="r1")
        m, _ = await frames_until(c1, lambda f: f["t"] == "msg" and f["from"] == "agent")
        assert m["text"] == "still here for you"
    asyncio.run(body())


def test_overtime_an_agent_off_shift_who_sets_itself_ready_takes_chats(redis, gateway):
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 20), stores=store(overtime="yes"))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, w = await agent(gw, token)           # ready while off shift: overtime
        assert w["shift"]["on_shift"] is False
        # the welcome names the store's zone and that it allows overtime (for the desk)
        assert w["store"] == {"id": "demo", "name": "Demo Store", "timezone": "Europe/Berlin",
                              "overtime": True}
        c, _ = await buyer(gw, name="Ann")
        await c.first_message("late question")
        await frames_until(a, lambda f: f["t"] == "assign", timeout=3)
    asyncio.run(body())


def test_a_desk_loaded_again_in_overtime_is_told_so_in_its_welcome(redis, gateway):
    # Monday 21:00 Berlin, off shift: ready now is overtime where allowed
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 20), stores=store(overtime="yes"))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, w = await agent(gw, token)            # the welcome came before ready
        assert w["shift"]["overtime"] is False
        a2, w2 = await agent(gw, token, ready=False)   # a page reload, a second tab
        assert w2["state"] == "ready" and w2["shift"]["on_shift"] is False
        assert w2["shift"]["overtime"] is True
        await a.send({"t": "state", "state": "away"})  # away ends it
        await a.expect("state", state="away")
        _, w3 = await agent(gw, token, ready=False)
        assert w3["shift"]["overtime"] is False
    asyncio.run(body())


def test_ready_off_shift_where_overtime_is_not_allowed_is_not_overtime(redis, gateway):
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 20), stores=store(overtime="no"))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        await agent(gw, token)
        _, w = await agent(gw, token, ready=False)
        assert w["state"] == "ready" and w["shift"] == {
            "on_shift": False, "ends_at": None, "next": utc_ms(2027, 1, 5, 8), "overtime": False}
    asyncio.run(body())


def test_without_overtime_ready_off_shift_takes_nothing(redis, gateway):
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 20))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, w = await agent(gw, token)
        assert w["store"]["overtime"] is False
        c, _ = await buyer(gw, name="Ann")
        await c.first_message("late question")
        await a.silent(1.0)
        assert redis.client().zcard("cg:q:demo:pre-sales") == 1
    asyncio.run(body())


# ---- the calendar: midnight, DST, closed and extended dates -------------------

def test_a_midnight_crossing_shift_on_the_dst_day_belongs_to_its_start_date(redis, gateway):
    # Saturday 2027-03-27 22:00 CET to Sunday 06:00 CEST: clocks jump at
    # 01:00 UTC, so the shift ends at 04:00 UTC, 7 hours after it began
    st = store(shift=["night 22:00-06:00"])
    gw = clocked(gateway, redis, utc_ms(2027, 3, 28, 2, 30), stores=st)
    r = redis.client()
    token = make_agent(r, "alice", "Alice")
    assert ctl(redis.url, "roster", "set", "alice", "night", "--days", "sat").returncode == 0

    async def body():
        a, w = await agent(gw, token)            # 04:30 CEST Sunday: Saturday's night shift
        assert w["shift"] == {"on_shift": True, "ends_at": utc_ms(2027, 3, 28, 4),
                              "next": utc_ms(2027, 4, 3, 20), "overtime": False}   # next Saturday 22:00 CEST
        set_clock(gw, utc_ms(2027, 3, 28, 3, 59, 58.5))
        f, _ = await frames_until(a, lambda f: f["t"] == "shift", timeout=6)
        assert f["shift"]["on_shift"] is False
    asyncio.run(body())


def test_closed_date_and_extended_date(redis, gateway):
    st = store(closed=["2027-01-05"], extend=["2027-01-09 10:00-12:00"])
    gw = clocked(gateway, redis, utc_ms(2027, 1, 5, 10), stores=st)   # Tuesday 11:00
    token = make_agent(redis.client(), "alice", "Alice")
    assert ctl(redis.url, "roster", "set", "alice", "day", "--days", "mon-fri").returncode == 0

    async def body():
        a, w = await agent(gw, token, ready=False)
        assert w["shift"] == {"on_shift": False, "ends_at": None, "next": utc_ms(2027, 1, 6, 8),
                              "overtime": False}
        c, _ = await buyer(gw, name="Ann")
        greet, _, _ = await c.first_message("closed today?")
        assert greet["text"] == "Closed now, Ann. We open Wed 6 Jan 09:00."
        await a.close()
        # Saturday 11:00, an extended date: every agent is on, whatever its roster
        set_clock(gw, utc_ms(2027, 1, 9, 10))
        a, w = await agent(gw, token, ready=False)
        assert w["shift"] == {"on_shift": True, "ends_at": utc_ms(2027, 1, 9, 11),
                              "next": utc_ms(2027, 1, 11, 8), "overtime": False}
    asyncio.run(body())


# ---- leave a message: off hours -----------------------------------------------

def test_off_hours_chats_are_told_once_kept_and_served_first_oldest_first(redis, gateway):
    st = store(hold_max=3, hold_text="Still here, {buyer}", hold_after="300ms",
               hold_every="300ms", breach_after="1s", reassign_after="600ms")
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 7, 0), stores=st)   # 08:00, closed
    r = redis.client()
    token = make_agent(r, "alice", "Alice", capacity=1)

    async def body():
        c1, _ = await buyer(gw, name="Ann")
        greet, _, _ = await c1.first_message("first one", mid="m1")
        assert greet["text"] == "Closed now, Ann. We open Mon 4 Jan 09:00."
        chat1 = (await wait_for_async(lambda: r.zrange("cg:q:demo:pre-sales", 0, 0)))[0].decode()
        c2, _ = await buyer(gw, name="Bob")
        await c2.first_message("second one", mid="m1")
        # the buyer goes on writing: acked and stored
        await c1.send({"t": "msg", "id": "m2", "text": "are you there?"})
        await c1.expect("ack", id="m2")
        # closed hours are not counted: no hold, no breach, no second notice
        await c1.silent(1.5)
        texts = [m.get("text") for m in chat_transcript(r, chat1)]
        assert texts == ["first one", greet["text"], "are you there?"]
        assert not r.hget(f"cg:chat:{{{chat1}}}", "br") in (b"1",)
        # both went to the head of the queue, oldest first
        assert all(s < 0 for _, s in r.zrange("cg:q:demo:pre-sales", 0, -1, withscores=True))
        a, _ = await agent(gw, token)
        # 09:00: the oldest is served first
        set_clock(gw, utc_ms(2027, 1, 4, 7, 59, 58.5))
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign", timeout=6)
        assert asg["chat"] == chat1
    asyncio.run(body())


def test_a_waiting_chat_is_told_when_the_store_closes(redis, gateway):
    st = store(hold_max=3, hold_text="Still here, {buyer}", hold_after="300ms",
               hold_every="300ms", breach_after="20s")
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 15, 59, 57), stores=st)   # 16:59:57
    r = redis.client()

    async def body():
        c, _ = await buyer(gw, name="Ann")
        greet, _, _ = await c.first_message("anyone?")
        assert greet["text"].startswith("Welcome")       # open: the greeting
        hold = await c.expect("msg", timeout=3, **{"from": "auto"})
        assert hold["text"] == "Still here, Ann"
        # 17:00 passes; the next buyer message finds the store closed
        await asyncio.sleep(3.2)
        await c.send({"t": "msg", "id": "m2", "text": "hello??"})
        await frames_until(c, lambda f: f["t"] == "ack")
        f, _ = await frames_until(c, lambda f: f["t"] == "msg" and f["from"] == "auto")
        assert f["text"] == "Closed now, Ann. We open Tue 5 Jan 09:00."
        await c.silent(1.0)
    asyncio.run(body())


# ---- the roster -----------------------------------------------------------------

def test_roster_import_checks_the_whole_file_and_writes_nothing_on_a_bad_row(redis, gateway,
                                                                               tmp_path):
    st = store(shift=["day 09:00-17:00 mon-fri", "late 17:00-23:30"])
    clocked(gateway, redis, utc_ms(2027, 1, 4, 12), stores=st)
    r = redis.client()
    for aid in ("ann", "bob"):
        make_agent(r, aid)
    bad = tmp_path / "roster.csv"
    bad.write_text("agent,shifts,days,date\n"
                   "ann,day,mon-fri,\n"
                   "bob,night,,\n"                       # no such shift
                   "ann,late,,2027-02-30\n")             # no such date
    p = ctl(redis.url, "roster", "import", str(bad))
    assert p.returncode == 2
    assert f"{bad}:3: store \"demo\" has no shift \"night\"" in p.stderr
    assert f"{bad}:4: \"2027-02-30\" is not a date" in p.stderr
    assert r.keys("cg:roster:*") == []
    good = tmp_path / "good.csv"
    good.write_text("agent,shifts,days,date\n"
                    "ann,day,mon-fri,\n"
                    "ann,late,sat-sun,\n"
                    "ann,-,,2027-01-06\n"
                    "bob,day;late,,\n")
    p = ctl(redis.url, "roster", "import", str(good))
    assert p.returncode == 0, p.stderr
    assert r.hget("cg:roster:ann", "mon") == b"day"
    assert r.hget("cg:roster:bob", "sun") == b"day,late"
    show = json.loads(ctl(redis.url, "roster", "show", "--date", "2027-01-06", "--json").stdout)
    assert show == {"ann": "", "bob": "day,late"}
    show = json.loads(ctl(redis.url, "roster", "show", "--date", "2027-01-09", "--json").stdout)
    assert show["ann"] == "late"
    out = ctl(redis.url, "roster", "export").stdout
    assert out.splitlines()[0] == "agent,shifts,days,date"
    assert "ann,-,,2027-01-06" in out and "bob,day;late,mon," in out
    # export | import gives the same roster
    again = tmp_path / "again.csv"
    again.write_text(out)
    before = {k: r.hgetall(k) for k in r.keys("cg:roster:*")}
    assert ctl(redis.url, "roster", "import", str(again)).returncode == 0
    assert {k: r.hgetall(k) for k in r.keys("cg:roster:*")} == before
    assert ctl(redis.url, "roster", "set", "ann", "nope").returncode == 2
    assert ctl(redis.url, "roster", "set", "zed", "day").returncode == 3
    assert ctl(redis.url, "roster", "del", "ann", "--date", "2027-01-06").returncode == 0
    assert r.hget("cg:roster:ann", "2027-01-06") is None
    assert ctl(redis.url, "roster", "del", "ann").returncode == 0
    assert not r.exists("cg:roster:ann")


def test_an_agent_rostered_off_today_is_not_on_shift(redis, gateway):
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 12))
    r = redis.client()
    token = make_agent(r, "alice", "Alice")
    assert ctl(redis.url, "roster", "set", "alice", "-", "--date", "2027-01-04").returncode == 0

    async def body():
        a, w = await agent(gw, token)
        assert w["shift"]["on_shift"] is False and w["shift"]["next"] == utc_ms(2027, 1, 5, 8)
        c, _ = await buyer(gw, name="Ann")
        await c.first_message("hi")
        await a.silent(1.0)
    asyncio.run(body())


# ---- two nodes ------------------------------------------------------------------

def test_two_nodes_agree_on_who_is_on_shift(redis, gateway):
    at = utc_ms(2027, 1, 4, 7, 59, 57)
    na = clocked(gateway, redis, at, node_id="node-a")
    r = redis.client()
    hours_a = wait_for(lambda: r.hget("cg:store:demo", "hours"))
    nb = clocked(gateway, redis, at, node_id="node-b")
    wait_for(lambda: "node-b" in [n.decode() for n in r.zrange("cg:nodes", 0, -1)])
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, _ = await agent(na, token)
        c, _ = await buyer(nb, name="Ann")
        await c.first_message("hi from node b")
        f, _ = await frames_until(a, lambda f: f["t"] == "shift", timeout=6)
        assert f["shift"]["on_shift"] is True
        await frames_until(a, lambda f: f["t"] == "assign", timeout=3)
        # both nodes ran the boundary: the desk heard of it once
        assert [x for x in await collect(a, 1.0) if x["t"] == "shift"] == []
        await c.expect("agent", timeout=3)
    asyncio.run(body())
    # the spans node b published are node a's
    assert r.hget("cg:store:demo", "hours") == hours_a


# ---- service hours per group ------------------------------------------------------

def group_store(**kw):
    # Berlin in January is UTC+1: early 08:00-12:00 UTC, late 12:00-16:00 UTC
    return store(shift=["early 09:00-13:00 mon-fri", "late 13:00-17:00 mon-fri"], **kw)


def group_hours_logged(gw, n, group):
    """Waits until gw has logged group hours a time more than n, the last
    naming group as having hours of its own (or none: group None)."""
    def seen():
        lines = [ln for ln in gw.logtext().splitlines() if "event=group_hours " in ln]
        if len(lines) <= n:
            return False
        own = re.search(r"own=(\S+)", lines[-1]).group(1).split(",")
        return (group in own) if group else own == ["-"]
    wait_for(seen, what=f"group hours with {group}")


def group_hours_count(gw):
    return gw.logtext().count("event=group_hours ")


def test_a_group_with_nobody_on_shift_is_closed_while_another_is_served(redis, gateway):
    st = group_store(hold_max=3, hold_text="Still here, {buyer}", hold_after="300ms",
                     hold_every="300ms")
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 9), stores=st)     # Monday 10:00
    r = redis.client()
    n = group_hours_count(gw)
    alice = make_agent(r, "alice", "Alice", groups=("pre-sales",))
    bob = make_agent(r, "bob", "Bob", groups=("after-sales",), capacity=1)
    assert ctl(redis.url, "roster", "set", "alice", "early").returncode == 0
    assert ctl(redis.url, "roster", "set", "bob", "late").returncode == 0
    group_hours_logged(gw, n, "after-sales")
    assert r.hexists("cg:store:demo", "hours:after-sales")

    async def body():
        a, _ = await agent(gw, alice)
        b, w = await agent(gw, bob)
        assert w["shift"]["on_shift"] is False
        # pre-sales has alice on shift: the greeting, and she gets the chat
        p, _ = await buyer(gw, name="Pia", group="pre-sales")
        greet, _, _ = await p.first_message("price?")
        assert greet["text"] == "Welcome to Demo Store, Pia! An agent will be with you shortly."
        await frames_until(a, lambda f: f["t"] == "assign", timeout=3)
        # after-sales has nobody on shift: the off-hours text with its opening
        c1, w1 = await buyer(gw, name="Ann", group="after-sales")
        greet, _, _ = await c1.first_message("my parcel", mid="m1")
        assert greet["text"] == "Closed now, Ann. We open Mon 4 Jan 13:00."
        c2, w2 = await buyer(gw, name="Cid", group="after-sales")
        greet2, _, _ = await c2.first_message("a return", mid="m1")
        assert greet2["text"] == "Closed now, Cid. We open Mon 4 Jan 13:00."
        # the buyer goes on writing: acked and stored; the group's clock
        # does not run while it is closed (no holding reply, told once)
        await c1.send({"t": "msg", "id": "m2", "text": "still waiting"})
        await c1.expect("ack", id="m2")
        await c1.silent(1.5)
        texts = [m.get("text") for m in chat_transcript(r, w1["chat"])]
        assert texts == ["my parcel", greet["text"], "still waiting"]
        # both went to the head of after-sales' queue, the older first
        q = r.zrange("cg:q:demo:after-sales", 0, -1, withscores=True)
        assert [c.decode() for c, _ in q] == [w1["chat"], w2["chat"]]
        assert all(s < 0 for _, s in q)
        await b.silent(0.1)
        # 13:00: after-sales opens; bob (capacity 1) gets the older chat
        set_clock(gw, utc_ms(2027, 1, 4, 11, 59, 58.5))
        f, _ = await frames_until(b, lambda f: f["t"] == "shift", timeout=6)
        assert f["shift"]["on_shift"] is True
        asg, _ = await frames_until(b, lambda f: f["t"] == "assign", timeout=3)
        assert asg["chat"] == w1["chat"]
        assert [c.decode() for c in r.zrange("cg:q:demo:after-sales", 0, -1)] == [w2["chat"]]
        await c1.expect("agent", timeout=3)
    asyncio.run(body())


def test_two_nodes_agree_on_a_group_s_hours_after_a_roster_change(redis, gateway):
    at = utc_ms(2027, 1, 4, 9)                                          # Monday 10:00
    na = clocked(gateway, redis, at, node_id="node-a", stores=group_store())
    nb = clocked(gateway, redis, at, node_id="node-b", stores=group_store())
    r = redis.client()
    make_agent(r, "alice", "Alice", groups=("pre-sales",))
    make_agent(r, "bob", "Bob", groups=("after-sales",))
    # no roster: every group has the store's hours, as before
    wait_for(lambda: r.hget("cg:store:demo", "hours"))
    assert [k for k in r.hkeys("cg:store:demo") if k.startswith(b"hours:")] == []
    counts = (group_hours_count(na), group_hours_count(nb))
    assert ctl(redis.url, "roster", "set", "bob", "late").returncode == 0
    group_hours_logged(na, counts[0], "after-sales")
    group_hours_logged(nb, counts[1], "after-sales")

    async def first_text(gw, name):
        c, _ = await buyer(gw, name=name, group="after-sales")
        greet, _, _ = await c.first_message("hello")
        await c.close()
        return greet["text"]

    async def body():
        assert await first_text(na, "Ann") == "Closed now, Ann. We open Mon 4 Jan 13:00."
        assert await first_text(nb, "Bea") == "Closed now, Bea. We open Mon 4 Jan 13:00."
        # the roster goes: after-sales has the store's hours again, on both nodes
        counts = (group_hours_count(na), group_hours_count(nb))
        assert ctl(redis.url, "roster", "del", "bob").returncode == 0
        group_hours_logged(na, counts[0], None)
        group_hours_logged(nb, counts[1], None)
        assert not r.hexists("cg:store:demo", "hours:after-sales")
        assert not (await first_text(nb, "Cat")).startswith("Closed")
        assert not (await first_text(na, "Dan")).startswith("Closed")
        # bob rostered late again; then alice (no roster: every shift) joins
        # after-sales with chatgwctl agent set: after-sales is open again
        counts = (group_hours_count(na), group_hours_count(nb))
        assert ctl(redis.url, "roster", "set", "bob", "late").returncode == 0
        group_hours_logged(na, counts[0], "after-sales")
        group_hours_logged(nb, counts[1], "after-sales")
        assert (await first_text(nb, "Eve")).startswith("Closed")
        counts = (group_hours_count(na), group_hours_count(nb))
        p = ctl(redis.url, "agent", "set", "alice", "--group", "pre-sales,after-sales")
        assert p.returncode == 0, p.stderr
        group_hours_logged(na, counts[0], None)
        group_hours_logged(nb, counts[1], None)
        assert not (await first_text(nb, "Fay")).startswith("Closed")
    asyncio.run(body())
