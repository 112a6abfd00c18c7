"""The floor's remaining fields (issue 14): each agent's shift as routing
decides it, guard hits and transfers today; each chat's priority, product
and escalation; and the events that keep them live on every node: an
agent's `shift`, a plugin's `guard` verdict (never the text),
`transferred`, `escalation`. Guard hits and transfers are counted in the
hourly statistics (chatgwctl stats reads them)."""
import asyncio
import os

from client import buyer, collect, run
from test_agents import FAST, agent, frames_until, make_agent
from test_chatgwctl import ctl
from test_context import PRODUCT, SECRET, context
from test_escalate import stats
from test_floor import floor_until
from test_plugins import GUARD_RULES, PLUGINS, with_plugins
from test_shifts import clocked, set_clock, store as shift_store, utc_ms
from test_supervisor import make_supervisor, supervisor
from test_ctl_stats import as_json


def signed_shift_store(**kw):
    return shift_store(context_secret=SECRET, **kw)


def snap_agent(snap, aid):
    return next(a for a in snap["agents"] if a["id"] == aid)


def snap_chat(snap, chat):
    return next(c for c in snap["chats"] if c["chat"] == chat)


async def fresh_snapshot(s):
    await s.send({"t": "snapshot"})
    f, _ = await frames_until(s, lambda f: f["t"] == "snapshot")
    return f


def test_the_snapshot_shows_shifts_as_routing_decides_them_priority_and_product(redis, gateway):
    # Monday 2027-01-04 12:00 UTC: the day shift (09:00-17:00 Berlin) is on
    gw = clocked(gateway, redis, utc_ms(2027, 1, 4, 12), stores=signed_shift_store())
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=1)
    tb = make_agent(r, "bob", "Bob", capacity=1)
    sam = make_supervisor(r, "sam")
    assert ctl(redis.url, "roster", "set", "bob", "-", "--date", "2027-01-04").returncode == 0

    async def body():
        a, _ = await agent(gw, ta)
        b, bw = await agent(gw, tb)
        assert bw["shift"]["on_shift"] is False          # what bob's desk is told
        c1, w1 = await buyer(gw, name="Ann", context=context("u-1", "vip", PRODUCT,
                                                     exp=utc_ms(2027, 1, 4, 13) // 1000))
        await c1.first_message("the kettle?")
        await frames_until(a, lambda f: f["t"] == "assign")
        # a second chat: alice is full, bob is ready but off shift: it waits
        c2, w2 = await buyer(gw, name="Ben")
        await c2.first_message("hello?")
        assert all(f["t"] != "assign" for f in await collect(b, 0.5))
        s, _ = await supervisor(gw, sam)
        snap = s.snapshot
        al, bo = snap_agent(snap, "alice"), snap_agent(snap, "bob")
        assert al["shift"] == {"on_shift": True, "ends_at": utc_ms(2027, 1, 4, 16),
                               "next": utc_ms(2027, 1, 5, 8)}
        assert bo["shift"] == {"on_shift": False, "next": utc_ms(2027, 1, 5, 8)}
        assert bo["state"] == "ready" and bo["load"] == 0 and "overtime" not in bo
        assert al["guard_hits"] == 0 and al["transfers"] == 0
        one, two = snap_chat(snap, w1["chat"]), snap_chat(snap, w2["chat"])
        assert one["priority"] == "vip" and one["product"] == PRODUCT and one["agent"] == "alice"
        assert two["priority"] == "normal" and "product" not in two and two["state"] == "queued"
        assert two["flags"] == [] and "escalation" not in two
    asyncio.run(body())


def test_a_store_without_shifts_has_everyone_on_shift(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(gw, sam)
        assert snap_agent(s.snapshot, "alice")["shift"] == {"on_shift": True}
    run(body())


def test_a_supervisor_on_node_b_sees_an_agent_on_node_a_go_off_shift(redis, gateway):
    at = utc_ms(2027, 1, 4, 15, 59, 58)                  # two seconds before 17:00 Berlin
    na = clocked(gateway, redis, at, node_id="node-a")
    nb = clocked(gateway, redis, at, node_id="node-b")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(nb, sam)
        assert snap_agent(s.snapshot, "alice")["shift"]["on_shift"] is True
        a, w = await agent(na, ta)
        assert w["shift"]["on_shift"] is True
        ev = await floor_until(s, "shift", timeout=8, agent="alice")
        assert ev == {"t": "event", "kind": "shift", "store": "demo", "agent": "alice",
                      "on_shift": False, "ends_at": None, "next": utc_ms(2027, 1, 5, 8)}
        await frames_until(a, lambda f: f["t"] == "shift")
        # told once, though both nodes ran the boundary
        assert [f for f in await collect(s, 1.0) if f.get("kind") == "shift"] == []
        snap = await fresh_snapshot(s)
        assert snap_agent(snap, "alice")["shift"] == {"on_shift": False,
                                                      "next": utc_ms(2027, 1, 5, 8)}
        # and back on the next morning
        set_clock(na, utc_ms(2027, 1, 5, 7, 59, 58))
        set_clock(nb, utc_ms(2027, 1, 5, 7, 59, 58))
        ev = await floor_until(s, "shift", timeout=8, agent="alice")
        assert ev["on_shift"] is True and ev["ends_at"] == utc_ms(2027, 1, 5, 16)
    asyncio.run(body())


def guarded(gateway, redis, tmp, **kw):
    gw = gateway(redis.url, start=False, **{**FAST, **kw})
    with_plugins(gw, f"    plugin guard {PLUGINS}/guard.so\n"
                     f"        rules {GUARD_RULES}\n"
                     f"    plugin escalate {PLUGINS}/escalate.so\n"
                     f"        rules {os.path.join(tmp, 'escalate.rules')}\n")
    return gw.start()


def test_guard_hits_reach_the_floor_of_every_node_and_are_counted(redis, gateway, tmp_path):
    with open(tmp_path / "escalate.rules", "w") as f:
        f.write('words complaint "complain" flag\n')
    na = guarded(gateway, redis, str(tmp_path), node_id="node-a")
    nb = guarded(gateway, redis, str(tmp_path), node_id="node-b")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(nb, sam)
        a, _ = await agent(na, ta)
        c, w = await buyer(na, name="Ann")
        await c.first_message("hello")
        await frames_until(a, lambda f: f["t"] == "assign")
        chat = w["chat"]
        # warn: held; block: refused; each a floor event with the rule, never the text
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "亲，可以包邮的"})
        await a.expect("guard", id="a1")
        warn = await floor_until(s, "guard", chat=chat)
        assert warn == {"t": "event", "kind": "guard", "store": "demo", "chat": chat,
                        "agent": "alice", "group": "pre-sales", "verdict": "warn",
                        "rule": "free_shipping"}
        await a.send({"t": "msg", "chat": chat, "id": "a2", "text": "亲，特价不开发票哦"})
        await a.expect("error", code="blocked", ref="a2")
        block = await floor_until(s, "guard", chat=chat, verdict="block")
        assert block["rule"] == "invoice_sale" and "text" not in block
        # a confirmed resend passes: no hit
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "亲，可以包邮的",
                      "confirm": True})
        await a.expect("ack", id="a1")
        # a hit in a chat that is not alice's counts nothing
        await a.send({"t": "msg", "chat": "0" * 32, "id": "a3", "text": "亲，特价不开发票哦"})
        await a.expect("error", code="blocked", ref="a3")
        # the buyer complains: escalated, on the floor and in the snapshot
        await c.send({"t": "msg", "id": "m2", "text": "I will complain"})
        esc = await floor_until(s, "escalation", chat=chat)
        assert esc["rule"] == "complaint" and esc["agent"] == "alice" and esc["n"] == 1
        snap = await fresh_snapshot(s)
        assert snap_agent(snap, "alice")["guard_hits"] == 2
        row = snap_chat(snap, chat)
        assert "escalation" in row["flags"]
        assert row["escalation"]["rule"] == "complaint" and row["escalation"]["n"] == 1
        assert all(f.get("kind") != "guard" for f in await collect(s, 0.5))
    run(body())
    st = stats(r)
    assert st["s"]["guard_hits"] == st["g:pre-sales"]["guard_hits"] == \
        st["a:alice"]["guard_hits"] == 2
    rows = as_json(redis.url, "stats", "--agent", "alice")
    assert rows[0]["guard_hits"] == 2 and rows[0]["transfers"] == 0
    assert "包邮" not in na.logtext() and "发票" not in na.logtext()


def test_transfers_are_sent_to_the_floor_and_counted(redis, gateway):
    na = gateway(redis.url, node_id="node-a", **FAST)
    nb = gateway(redis.url, node_id="node-b", **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")
    tb = make_agent(r, "bob", "Bob", groups=("pre-sales", "after-sales"))
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(nb, sam)
        a, _ = await agent(na, ta)
        c, w = await buyer(na, name="Ann")
        await c.first_message("hello")
        await frames_until(a, lambda f: f["t"] == "assign")
        chat = w["chat"]
        b, _ = await agent(nb, tb)
        # alice hands it to bob
        await a.send({"t": "transfer", "chat": chat, "to": "bob"})
        await a.expect("transferred")
        ev = await floor_until(s, "transferred", chat=chat)
        assert ev == {"t": "event", "kind": "transferred", "store": "demo", "chat": chat,
                      "agent": "alice", "to": "bob", "group": "pre-sales", "by": "agent"}
        await frames_until(b, lambda f: f["t"] == "assign" and f["chat"] == chat)
        # the supervisor moves it on to a group's queue
        await s.send({"t": "transfer", "chat": chat, "to": "group:after-sales"})
        ev = await floor_until(s, "transferred", chat=chat, by="supervisor")
        assert ev["agent"] == "bob" and ev["to"] == "group:after-sales"
        snap = await fresh_snapshot(s)
        assert snap_agent(snap, "alice")["transfers"] == 1
        assert snap_agent(snap, "bob")["transfers"] == 1
    run(body())
    st = stats(r)
    assert st["s"]["transfers"] == 2 and st["g:pre-sales"]["transfers"] == 2
    assert st["a:alice"]["transfers"] == 1 and st["a:bob"]["transfers"] == 1
    rows = {x["name"]: x for x in as_json(redis.url, "stats")}
    assert rows["demo"]["transfers"] == 2 and rows["alice"]["transfers"] == 1
