"""The supervisor's desk at /v1/supervisor: login with a supervisor token
(never an agent's, and a supervisor's never at /v1/agent), then the events
of its stores, and nothing of any other store."""
import asyncio
import hashlib
import os
import time

import msgpack

from client import Client, Closed, buyer, run
from conftest import wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent

TWO_STORES = ("store demo\n    name Demo\n    groups pre-sales after-sales\n"
              "store other\n    name Other\n    groups sales\n")


def make_supervisor(r, sid, store="demo", name=None):
    """A supervisor identity as chatgwctl writes it (see proto/PROTOCOL.md)."""
    token = os.urandom(32).hex()
    h = hashlib.sha256(token.encode()).hexdigest()
    r.hset(f"cg:sup:{sid}", mapping={"name": name or sid.title(), "store": store, "tok": h,
                                     "created": int(time.time() * 1000)})
    r.sadd("cg:sups", sid)
    r.set(f"cg:tok:{h}", f"supervisor:{sid}")
    return token


def two_store_gateway(gateway, redis, **kw):
    gw = gateway(redis.url, start=False, **{**FAST, **kw})
    gw.stores = {}
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write(TWO_STORES)
    return gw.start()


async def supervisor(gw, token):
    """A supervisor's desk: login, welcome, then the snapshot (kept as c.snapshot)."""
    c = await Client.connect(gw.ws, path="/v1/supervisor")
    await c.send({"t": "login", "token": token})
    w = await c.expect("welcome")
    c.snapshot = await c.expect("snapshot")
    return c, w


async def refused(gw, path, token):
    c = await Client.connect(gw.ws, path=path)
    await c.send({"t": "login", "token": token})
    await c.expect("error", code="unauthorized")
    assert await c.closed() == (1008, "policy")


async def events(c, quiet=0.3):
    """The event frames that arrive until none comes for `quiet` seconds
    (but the once-a-second `stats` summaries: test_floor_stats.py's)."""
    out = []
    while True:
        try:
            f = await c.recv(quiet)
        except asyncio.TimeoutError:
            return out
        assert f["t"] == "event", f
        if f["kind"] != "stats":
            out.append(f)


def test_agent_and_supervisor_tokens_open_only_their_own_desk(redis, gateway):
    gw = gateway(redis.url, login_fail_max=100)
    r = redis.client()
    atok = make_agent(r, "alice")
    stok = make_supervisor(r, "sam", store="demo", name="Sam")
    every = make_supervisor(r, "eve", store="*")

    async def body():
        await refused(gw, "/v1/supervisor", atok)      # an agent's token: not here
        await refused(gw, "/v1/agent", stok)           # a supervisor's: not there
        await refused(gw, "/v1/supervisor", "0" * 64)
        await refused(gw, "/v1/supervisor", "short")
        # a frame before login is refused
        c = await Client.connect(gw.ws, path="/v1/supervisor")
        await c.send({"t": "watch", "chat": "0" * 32})
        await c.expect("error")
        # each token opens its own desk
        _, w = await supervisor(gw, stok)
        assert w["supervisor"] == {"id": "sam", "name": "Sam", "stores": ["demo"]}
        _, w = await supervisor(gw, every)
        assert w["supervisor"]["stores"] == ["demo"]   # every store this node serves
        await agent(gw, atok)

    run(body())
    log = gw.logtext()
    assert "reason=agent_token" in log and "supervisor_login supervisor=sam" in log
    assert stok not in log and atok not in log


def test_supervisor_of_an_unserved_store_or_a_stale_token_is_refused(redis, gateway):
    gw = gateway(redis.url, login_fail_max=100)
    r = redis.client()
    tok = make_supervisor(r, "nina", store="nowhere")
    stale = make_supervisor(r, "sam")
    r.hset("cg:sup:sam", "tok", "0" * 64)            # replaced under the lookup

    async def body():
        c = await Client.connect(gw.ws, path="/v1/supervisor")
        await c.send({"t": "login", "token": tok})
        await c.expect("error", code="not_found")
        await refused(gw, "/v1/supervisor", stale)

    run(body())


def test_supervisors_see_the_events_of_their_stores_only(redis, gateway):
    gw = two_store_gateway(gateway, redis)
    r = redis.client()
    alice = make_agent(r, "alice", groups=("pre-sales",))
    bob = make_agent(r, "bob", groups=("sales",), store="other")
    sam = make_supervisor(r, "sam", store="demo")
    olga = make_supervisor(r, "olga", store="other")
    eve = make_supervisor(r, "eve", store="*")

    async def body():
        s_demo, _ = await supervisor(gw, sam)
        s_other, _ = await supervisor(gw, olga)
        s_all, w = await supervisor(gw, eve)
        assert sorted(w["supervisor"]["stores"]) == ["demo", "other"]
        a, _ = await agent(gw, alice)
        b, _ = await agent(gw, bob)

        # a chat in demo is assigned to alice
        c1, w1 = await buyer(gw)
        await c1.first_message()
        chat1 = (await a.expect("assign"))["chat"]
        assert chat1 == w1["chat"]
        f = (await frames_until(s_demo, lambda f: f["kind"] == "assigned"))[0]
        assert f == {"t": "event", "kind": "assigned", "store": "demo", "chat": chat1,
                     "agent": "alice", "group": "pre-sales", "waited_ms": f["waited_ms"]}
        assert f["waited_ms"] >= 0

        # alice hands it to the after-sales queue: unassigned, then queued
        await a.send({"t": "transfer", "chat": chat1, "to": "group:after-sales"})
        await a.expect("transferred")
        got = await events(s_demo)
        kinds = {e["kind"]: e for e in got}
        assert kinds["unassigned"]["chat"] == chat1 and kinds["unassigned"]["agent"] == "alice"
        assert kinds["unassigned"]["reason"] == "transferred"
        assert kinds["queued"] == {"t": "event", "kind": "queued", "store": "demo",
                                   "chat": chat1, "group": "after-sales", "position": 1}

        # a chat in other goes to bob, who closes it
        c2, w2 = await buyer(gw, store="other")
        await c2.first_message()
        chat2 = (await b.expect("assign"))["chat"]
        await b.send({"t": "close", "chat": chat2})
        got = [e for e in await events(s_other) if e["kind"] != "agent"]   # bob's login
        assert [e["kind"] for e in got if e["kind"] != "unassigned"] == \
            ["queued", "assigned", "closed"]
        assert all(e["store"] == "other" and e["chat"] == chat2 for e in got)
        assert [e for e in got if e["kind"] == "closed"][0]["reason"] == "agent_closed"

        # the demo supervisor saw nothing of other's, and the other's nothing of demo's
        assert not [e for e in await events(s_demo) if e["store"] != "demo"]
        # the supervisor of every store saw both, in order, each once
        seen = await events(s_all)
        assert {e["store"] for e in seen} == {"demo", "other"}
        assert len([e for e in seen if e["kind"] == "assigned"]) == 2
        # queued: each new chat, and chat1 sent to after-sales
        assert len([e for e in seen if e["kind"] == "queued"]) == 3

    run(body())


def test_floor_channel_is_listened_to_only_while_a_supervisor_is_there(redis, gateway):
    """A node with no supervisor subscribes to no floor channel; one with a
    supervisor of demo hears cg:floor:demo, and an event that names its store
    reaches the supervisor from there only, never twice."""
    gw = two_store_gateway(gateway, redis)
    r = redis.client()
    sam = make_supervisor(r, "sam", store="demo")
    olga = make_supervisor(r, "olga", store="other")
    numsub = lambda ch: dict(r.pubsub_numsub(ch))[ch.encode()]

    async def body():
        assert numsub("cg:floor:demo") == 0 and numsub("cg:floor:other") == 0
        s_demo, _ = await supervisor(gw, sam)
        s_demo2, _ = await supervisor(gw, sam)         # a second window: one subscription
        s_other, _ = await supervisor(gw, olga)
        await wait_for_async(lambda: numsub("cg:floor:demo") == 1 and
                             numsub("cg:floor:other") == 1, 5, what="floor subscriptions")
        ev = {"k": "assign", "store": "demo", "chat": "c" * 32, "agent": "zed",
              "group": "pre-sales", "waited": 1234}
        r.publish("cg:floor:demo", msgpack.packb(ev))
        # the same event on this node's own channel (as the scripts will send both):
        # not shown twice
        node = r.zrange("cg:nodes", 0, -1)[0].decode()
        r.publish(f"cg:node:{node}", msgpack.packb(ev))
        for s in (s_demo, s_demo2):
            got = await events(s)
            assert got == [{"t": "event", "kind": "assigned", "store": "demo", "chat": "c" * 32,
                            "agent": "zed", "group": "pre-sales", "waited_ms": 1234}]
        assert await events(s_other) == []
        # another store's channel, with a wrong store in it: only that store's supervisors
        r.publish("cg:floor:other", msgpack.packb({"k": "closed", "store": "other",
                                                   "chat": "d" * 32, "reason": "timeout"}))
        assert [e["kind"] for e in await events(s_other)] == ["closed"]
        assert await events(s_demo) == []
        await s_demo.close()
        await wait_for_async(lambda: numsub("cg:floor:demo") == 1, 5)
        await s_demo2.close()
        await s_other.close()
        await wait_for_async(lambda: numsub("cg:floor:demo") == 0 and
                             numsub("cg:floor:other") == 0, 5, what="floor unsubscribed")

    run(body())


def test_a_new_token_kicks_the_supervisor(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    sam = make_supervisor(r, "sam")

    async def body():
        s, _ = await supervisor(gw, sam)
        r.publish("cg:ctl", msgpack.packb({"k": "kick", "supervisor": "sam"}))
        err, _ = await frames_until(s, lambda f: f["t"] == "error")     # after a stats event, maybe
        assert err["code"] == "unauthorized"
        assert await s.closed() == (1008, "policy")

    run(body())
