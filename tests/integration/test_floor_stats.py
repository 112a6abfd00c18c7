"""The supervisors' `stats` event (proto/PROTOCOL.md §8.2): a store's
summary, at most once a second and only when it changed, to the store's
supervisors only, read only by nodes that have one of them logged in."""
import asyncio
import time

from client import buyer, run
from conftest import http_get, wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent
from test_metrics import FLOOR_STORES, scrape, val
from test_supervisor import make_supervisor, supervisor


def floor_gateway(gateway, redis, tmp_path, **kw):
    """demo (escalate plugin: "complain"; breach_after 1 s) and other."""
    from test_plugins import PLUGINS

    rules = tmp_path / "escalate.rules"
    rules.write_text('words complaint "complain" flag\n')
    gw = gateway(redis.url, start=False, stats_flush="100ms", **FAST, **kw)
    gw.stores = {}
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write(FLOOR_STORES.format(plugins=PLUGINS, rules=rules))
    return gw.start()


class StatsReader:
    """Reads a supervisor's frames in the background and keeps its stats events."""

    def __init__(self, c):
        self.c, self.stats, self.others = c, [], []
        self.task = asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            f = await self.c.recv(3600)
            if f.get("t") == "event" and f.get("kind") == "stats":
                self.stats.append(f)
            else:
                self.others.append(f)

    async def until(self, pred, timeout=8, what="a stats event"):
        return await wait_for_async(
            lambda: next((s for s in self.stats if pred(s)), None), timeout, what=what)

    def stop(self):
        self.task.cancel()


def test_supervisors_get_their_stores_summary_when_it_changes(redis, gateway, tmp_path):
    gw = floor_gateway(gateway, redis, tmp_path)
    r = redis.client()
    ta = make_agent(r, "alice", groups=("pre-sales",))
    sam = make_supervisor(r, "sam", store="demo")
    olga = make_supervisor(r, "olga", store="other")
    eve = make_supervisor(r, "eve", store="*")

    async def body():
        s, _ = await supervisor(gw, sam)
        o, _ = await supervisor(gw, olga)
        e, _ = await supervisor(gw, eve)
        S, O, E = StatsReader(s), StatsReader(o), StatsReader(e)
        # at login: the floor as it is, nothing counted today
        first = await S.until(lambda x: True)
        assert {k: v for k, v in first.items() if k != "at"} == {
            "t": "event", "kind": "stats", "store": "demo", "queued": 0, "oldest_wait_ms": 0,
            "chats": 0, "breaches": 0, "escalations": 0}
        assert abs(first["at"] - time.time() * 1000) < 5000

        # a buyer waits: queued, the wait grows (one event a second), and
        # breaches (breach_after 1 s)
        b, w = await buyer(gw)
        await b.first_message("hi", "m1")
        q1 = await S.until(lambda x: x["queued"] == 1)
        await S.until(lambda x: x["queued"] == 1 and x["oldest_wait_ms"] > q1["oldest_wait_ms"])
        await wait_for_async(lambda: any(f.get("kind") == "breach" for f in S.others), 5,
                             what="the queued chat's breach")
        await S.until(lambda x: x["breaches"] == 1)

        # alice answers at once, then a complaint (escalated), then a
        # question left past breach_after (a second breach); then she closes
        # the chat
        a, _ = await agent(gw, ta)
        await frames_until(a, lambda f: f["t"] == "assign")
        await a.send({"t": "msg", "chat": w["chat"], "id": "a1", "text": "hello!"})
        await frames_until(a, lambda f: f["t"] == "ack")
        await b.send({"t": "msg", "id": "m2", "text": "I will complain"})
        await frames_until(a, lambda f: f["t"] == "escalation")
        await a.send({"t": "msg", "chat": w["chat"], "id": "a2", "text": "sorry"})
        await frames_until(a, lambda f: f["t"] == "ack")
        await b.send({"t": "msg", "id": "m3", "text": "size?"})
        await frames_until(a, lambda f: f["t"] == "breach", timeout=5)
        await a.send({"t": "msg", "chat": w["chat"], "id": "a3", "text": "M"})
        await frames_until(a, lambda f: f["t"] == "ack")
        await a.send({"t": "close", "chat": w["chat"], "outcome": "sold"})
        await frames_until(a, lambda f: f["t"] == "unassign")
        done = await S.until(lambda x: x["chats"] == 1 and x.get("within_30s") is not None)
        # the first answer came after the queue's 2-3 s: the 5 s bucket
        # (10 s on a slow machine); the day's median is the hour's
        assert done["fr_p50_ms"] in (5000, 10000)
        assert {k: v for k, v in done.items() if k != "at"} == {
            "t": "event", "kind": "stats", "store": "demo", "queued": 0, "oldest_wait_ms": 0,
            "chats": 1, "fr_p50_ms": done["fr_p50_ms"], "fr_p50_ms_hour": done["fr_p50_ms"],
            "within_30s": 1.0, "breaches": 2, "escalations": 1}

        # nothing changes now: nothing more is sent
        n = len(S.stats)
        await asyncio.sleep(1.5)
        assert len(S.stats) == n

        # at most once a second, by `at`; only demo's to sam, only other's to
        # olga (whose store never changed: one event), both to eve
        ats = [x["at"] for x in S.stats]
        assert all(b_ - a_ >= 1000 for a_, b_ in zip(ats, ats[1:])), ats
        assert {x["store"] for x in S.stats} == {"demo"}
        assert [x["store"] for x in O.stats] == ["other"]
        assert O.stats[0]["queued"] == 0 and O.stats[0]["chats"] == 0
        assert {x["store"] for x in E.stats} == {"demo", "other"}
        assert [x for x in E.stats if x["store"] == "demo"][-1]["chats"] == 1
        for x in (S, O, E):
            x.stop()

    run(body(), timeout=60)


def test_a_node_without_supervisors_reads_no_summary(redis, gateway, tmp_path):
    gw = floor_gateway(gateway, redis, tmp_path)
    r = redis.client()
    sam = make_supervisor(r, "sam", store="demo")
    reads = lambda: val(scrape(gw)[0], "chatgw_floor_summaries_total")

    async def body():
        # the floor changes, nobody supervises: no read at all
        b, _ = await buyer(gw)
        await b.first_message("hi", "m1")
        await asyncio.sleep(1.5)
        assert reads() == 0
        # a supervisor logs in: a read a second; it leaves: no more
        s, _ = await supervisor(gw, sam)
        await frames_until(s, lambda f: f.get("kind") == "stats")
        await wait_for_async(lambda: reads() >= 2, 5, what="a read each second")
        await s.ws.close()
        await wait_for_async(lambda: val(scrape(gw)[0], "chatgw_sessions",
                                         role="supervisor") == 0, 5, what="the session gone")
        n = reads()
        await asyncio.sleep(1.5)
        assert reads() == n

    run(body(), timeout=30)
