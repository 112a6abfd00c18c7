"""The supervisors' floor across nodes (issue 14, second slice): the scripts
publish each store's floor events on cg:floor:<store> while some node
listens, so a supervisor on one node sees what happens on any other."""
import asyncio
import time

from client import Client, buyer, run
from conftest import DEMO_GREETING, wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent
from test_shifts import offset_for, utc_ms
from test_supervisor import make_supervisor, supervisor


def clock_store(**kw):
    s = {"name": "Demo Store", "greeting": DEMO_GREETING, "hold_text": "Still here.",
         "hold_after": "300ms", "hold_max": 0, "breach_after": "400ms", "reassign_after": "0",
         "away_reassign": "0"}
    s.update(kw)
    return {"demo": s}


async def floor_until(c, kind, timeout=5, **fields):
    """Reads event frames until one of `kind` with these fields; returns it."""
    f, _ = await frames_until(c, lambda f: f["t"] == "event" and f["kind"] == kind and
                              all(f.get(k) == v for k, v in fields.items()), timeout)
    return f


def test_a_supervisor_on_one_node_sees_the_floor_of_another(redis, gateway):
    a = gateway(redis.url, node_id="node-a", stores=clock_store(), **FAST)
    b = gateway(redis.url, node_id="node-b", stores=clock_store(), **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(b, sam)                 # on node b only
        await wait_for_async(lambda: r.hexists("cg:floornodes:demo", "node-b"), 5,
                             what="node b marks itself a floor listener")
        # a buyer on node a: queued (no agent yet)
        c, w = await buyer(a)
        await c.first_message()
        chat = w["chat"]
        q = await floor_until(s, "queued", chat=chat)
        assert q == {"t": "event", "kind": "queued", "store": "demo", "chat": chat,
                     "group": "pre-sales", "position": 1}
        # alice logs in on node a: online, ready, then she gets the chat
        d, _ = await agent(a, alice)
        on = await floor_until(s, "agent", agent="alice", change="online")
        assert on["name"] == "Alice" and on["online"] == 1 and on["capacity"] == 5
        st = await floor_until(s, "agent", agent="alice", change="state")
        assert st["state"] == "ready"
        got = await floor_until(s, "assigned", chat=chat)
        assert got["agent"] == "alice" and got["waited_ms"] >= 0
        await d.expect("assign")
        # nobody answers: the breach shows on node b
        br = await floor_until(s, "breach", chat=chat)
        assert br["agent"] == "alice" and br["group"] == "pre-sales" and br["waited_ms"] >= 400
        # alice closes it: unassigned, then closed
        await d.send({"t": "close", "chat": chat})
        un = await floor_until(s, "unassigned", chat=chat)
        assert un["agent"] == "alice" and un["reason"] == "closed"
        cl = await floor_until(s, "closed", chat=chat)
        assert cl["reason"] == "agent_closed"
        # alice leaves: offline
        await d.close()
        off = await floor_until(s, "agent", agent="alice", change="offline")
        assert off["online"] == 0

    run(body())


def test_no_listener_no_floor_publish_and_events_are_never_doubled(redis, gateway):
    """Without a supervisor anywhere, no node is marked and the scripts do
    not publish; with one on the node that also holds the sessions, each
    event comes once (the node-channel copy names its store)."""
    a = gateway(redis.url, node_id="node-a", **FAST)
    r = redis.client()
    alice = make_agent(r, "alice")
    sam = make_supervisor(r, "sam")

    async def body():
        p = r.pubsub()
        p.psubscribe("cg:floor:*")
        d, _ = await agent(a, alice)
        c, w = await buyer(a)
        await c.first_message()
        await d.expect("assign")
        await d.send({"t": "close", "chat": w["chat"]})
        await d.expect("unassign")
        time.sleep(0.3)
        heard = [m for m in iter(lambda: p.get_message(timeout=0.1), None)
                 if m["type"] == "pmessage"]
        assert heard == [] and not r.exists("cg:floornodes:demo")
        # now a supervisor on the same node: one event of each
        s, _ = await supervisor(a, sam)
        await wait_for_async(lambda: r.exists("cg:floornodes:demo"), 5)
        c2, w2 = await buyer(a)
        await c2.first_message()
        await d.expect("assign")
        await d.send({"t": "close", "chat": w2["chat"]})
        got, end = [], time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                f = await s.recv(0.3)
            except asyncio.TimeoutError:
                break
            got.append(f["kind"])
        assert got == ["queued", "assigned", "unassigned", "closed"], got
        await s.close()
        await wait_for_async(lambda: not r.exists("cg:floornodes:demo"), 5,
                             what="the mark goes with the last supervisor")

    run(body())


def test_a_dead_nodes_floor_mark_is_swept(redis, gateway):
    a = gateway(redis.url, node_id="node-a", **FAST)
    b = gateway(redis.url, node_id="node-b", **FAST)
    r = redis.client()
    sam = make_supervisor(r, "sam")

    async def body():
        await supervisor(b, sam)
        await wait_for_async(lambda: r.hexists("cg:floornodes:demo", "node-b"), 5)
        b.kill9()
        await wait_for_async(lambda: not r.exists("cg:floornodes:demo"), 10,
                             what="node a's sweep forgets dead node b's mark")

    run(body())


class Words:
    """A config value written unquoted (several words)."""
    def __init__(self, s):
        self.s = s

    def __str__(self):
        return self.s


TWO_GROUPS = {"demo": {"name": "Demo Store", "greeting": DEMO_GREETING, "hold_text": "Wait.",
                       "groups": Words("pre-sales after-sales"), "hold_after": "300ms", "hold_max": 0,
                       "breach_after": "500ms", "reassign_after": "0", "away_reassign": "0"},
              "other": {"name": "Other", "greeting": "Hi", "hold_text": "Wait.",
                        "groups": "sales"}}


def test_the_snapshot_shows_queues_agents_and_chats_the_same_on_every_node(redis, gateway):
    # today's numbers per agent: the test clock reads noon, so that a run at
    # midnight cannot leave them on yesterday (one offset: the nodes agree)
    off = offset_for(utc_ms(2027, 3, 10, 12))
    a, b = (gateway(redis.url, start=False, node_id=n, stores=TWO_GROUPS, stats_flush="100ms",
                    test_clock_offset=off, **FAST).start(extra_args=("--test-clock",))
            for n in ("node-a", "node-b"))
    r = redis.client()
    alice = make_agent(r, "alice", "Alice", capacity=2)
    make_agent(r, "bob", "Bob", groups=("after-sales",), capacity=3)
    make_agent(r, "olaf", "Olaf", groups=("sales",), store="other")
    sam = make_supervisor(r, "sam")
    olga = make_supervisor(r, "olga", store="other")

    async def body():
        d, _ = await agent(a, alice)
        # chat 1: alice answers it at once (a first response of under 5 s)
        c1, w1 = await buyer(a, name="Ann")
        await c1.first_message()
        (await d.expect("assign"))
        await d.send({"t": "msg", "chat": w1["chat"], "id": "r1", "text": "Hello!"})
        await d.expect("ack")
        # chat 2: alice has it and does not answer: it breaches
        c2, w2 = await buyer(a, name="Ben")
        await c2.first_message()
        await frames_until(d, lambda f: f["t"] == "assign" and f["chat"] == w2["chat"])
        await frames_until(d, lambda f: f["t"] == "breach" and f["chat"] == w2["chat"])
        # chat 3: waits in after-sales (bob is not logged in)
        c3, w3 = await buyer(a, group="after-sales")
        await c3.first_message()
        await wait_for_async(lambda: r.zcard("cg:q:demo:after-sales") == 1, 5)
        await wait_for_async(lambda: any(k for k in r.scan_iter("cg:stats:demo:*")
                                         if r.hexists(k, "a:alice")), 5, what="stats flushed")
        await asyncio.sleep(0.3)   # chat 3 has waited a while

        s, _ = await supervisor(b, sam)
        snap = s.snapshot
        assert snap["truncated"] is False and snap["ts"] > 0
        queues = {q["group"]: q for q in snap["queues"]}
        assert set(queues) == {"pre-sales", "after-sales"}
        assert all(q["store"] == "demo" for q in snap["queues"])
        assert queues["pre-sales"]["queued"] == 0 and queues["pre-sales"]["oldest_wait_ms"] == 0
        assert queues["pre-sales"]["longest_unanswered_ms"] >= 500      # chat 2
        assert queues["after-sales"]["queued"] == 1
        assert queues["after-sales"]["oldest_wait_ms"] >= 300
        agents = {x["id"]: x for x in snap["agents"]}
        assert set(agents) == {"alice", "bob"}                        # not other's olaf
        al = agents["alice"]
        assert (al["name"], al["store"], al["online"], al["state"], al["load"],
                al["capacity"]) == ("Alice", "demo", 1, "ready", 2, 2)
        assert sorted(al["chats"]) == sorted([w1["chat"], w2["chat"]])
        assert al["fr_p50_ms"] == 5000 and al["breaches"] == 1
        bo = agents["bob"]
        assert (bo["online"], bo["state"], bo["load"], bo["chats"], bo["breaches"]) == \
            (0, "away", 0, [], 0)
        assert "fr_p50_ms" not in bo
        chats = {x["chat"]: x for x in snap["chats"]}
        assert set(chats) == {w1["chat"], w2["chat"], w3["chat"]}
        one, two, three = chats[w1["chat"]], chats[w2["chat"]], chats[w3["chat"]]
        assert (one["state"], one["agent"], one["group"], one["ua"], one["flags"]) == \
            ("assigned", "alice", "pre-sales", 0, [])
        assert (two["state"], two["agent"], two["flags"]) == ("assigned", "alice", ["breach"])
        assert two["ua"] >= 500
        assert (three["state"], three["group"], three["flags"]) == ("queued", "after-sales", [])
        assert "agent" not in three and three["waited_ms"] >= 300 and three["ua"] >= 300

        # the same floor from node a (times aside), and again on request
        s2, _ = await supervisor(a, sam)
        strip = lambda sn: sorted((x["chat"], x["state"], x.get("agent"), tuple(x["flags"]))
                                  for x in sn["chats"])
        assert strip(s2.snapshot) == strip(snap)
        assert [x["id"] for x in s2.snapshot["agents"]] == [x["id"] for x in snap["agents"]]
        await d.send({"t": "close", "chat": w1["chat"]})
        await floor_until(s, "closed", chat=w1["chat"])
        await s.send({"t": "snapshot"})
        again, _ = await frames_until(s, lambda f: f["t"] == "snapshot")   # stats may come first
        assert {x["chat"] for x in again["chats"]} == {w2["chat"], w3["chat"]}
        # a reconnecting supervisor gets a fresh one
        await s.close()
        s3, _ = await supervisor(b, sam)
        assert {x["chat"] for x in s3.snapshot["chats"]} == {w2["chat"], w3["chat"]}
        # another store's supervisor sees nothing of demo
        so, _ = await supervisor(b, olga)
        assert so.snapshot["chats"] == [] and [x["id"] for x in so.snapshot["agents"]] == ["olaf"]
        assert [q["group"] for q in so.snapshot["queues"]] == ["sales"]

    run(body())


def test_a_snapshot_lists_at_most_snapshot_chats(redis, gateway):
    a = gateway(redis.url, snapshot_chats=2, **FAST)
    r = redis.client()
    sam = make_supervisor(r, "sam")

    async def body():
        for _ in range(3):
            c, _ = await buyer(a)
            await c.first_message()
        await wait_for_async(lambda: r.zcard("cg:q:demo:pre-sales") == 3, 5)
        s, _ = await supervisor(a, sam)
        assert len(s.snapshot["chats"]) == 2 and s.snapshot["truncated"] is True
        assert s.snapshot["queues"][0]["queued"] == 3

    run(body())


def test_a_relayed_message_still_costs_three_redis_commands(redis, gateway):
    """The floor adds nothing to the message path: HMGET, HSET, PUBLISH
    (bench/run relay measures it under load; this pins it for one message,
    and shows a watcher's node costs one PUBLISH more)."""
    gw = gateway(redis.url, node_heartbeat="1m", node_timeout="5m")
    r = redis.client()
    alice = make_agent(r, "alice")
    sam = make_supervisor(r, "sam")

    def commands():
        stats = r.info("commandstats")
        return {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()
                if not k.startswith(("cmdstat_eval", "cmdstat_info", "cmdstat_config"))}

    async def relay(d, c, chat, mid):
        r.config_resetstat()
        await d.send({"t": "msg", "chat": chat, "id": mid, "text": "hello"})
        await d.expect("ack")
        await frames_until(c, lambda f: f["t"] == "msg")
        return commands()

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw)
        await c.first_message()
        chat = (await d.expect("assign"))["chat"]
        await c.send({"t": "msg", "id": "m2", "text": "?"})
        await frames_until(c, lambda f: f["t"] == "ack")
        await d.expect("msg")
        assert await relay(d, c, chat, "a1") == {"hmget": 1, "hset": 1, "publish": 1}
        s, _ = await supervisor(gw, sam)
        await s.send({"t": "watch", "chat": chat})
        await frames_until(s, lambda f: f["t"] == "watching")
        assert await relay(d, c, chat, "a2") == {"hmget": 1, "hset": 1, "publish": 2}

    run(body())
