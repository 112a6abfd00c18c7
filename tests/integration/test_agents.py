"""Agents: login, assignment by capacity, both-way relay across nodes,
transfer, close, grace on disconnect, node death, and no chat given twice."""
import asyncio
import hashlib
import os
import time

import pytest
import redis as redis_py

from client import Client, Closed, buyer, run
from conftest import chat_key, chat_meta, wait_for, wait_for_async
from test_buyer import transcript

FAST = dict(node_heartbeat="200ms", node_timeout="1s", agent_grace="1s")


def make_agent(r, aid, name=None, groups=("pre-sales",), capacity=5, store="demo"):
    """An agent identity as chatgwctl writes it (see proto/PROTOCOL.md)."""
    token = os.urandom(32).hex()
    h = hashlib.sha256(token.encode()).hexdigest()
    r.hset(f"cg:agent:{aid}", mapping={"name": name or aid.title(), "store": store,
                                       "groups": " ".join(groups), "capacity": capacity,
                                       "tok": h, "created": int(time.time() * 1000)})
    r.sadd("cg:agents", aid)
    r.set(f"cg:tok:{h}", f"agent:{aid}")
    return token


async def agent(gw, token, ready=True):
    c = await Client.connect(gw.ws, path="/v1/agent")
    await c.send({"t": "login", "token": token})
    w = await c.expect("welcome")
    if ready:
        await c.send({"t": "state", "state": "ready"})
        await c.expect("state", state="ready")
    return c, w


async def frames_until(c, pred, timeout=5):
    """Reads frames until pred(frame) is true; returns (frame, others)."""
    others = []
    deadline = time.monotonic() + timeout
    while True:
        f = await c.recv(max(0.05, deadline - time.monotonic()))
        if pred(f):
            return f, others
        others.append(f)


def test_login_needs_a_valid_token_and_failures_are_limited(redis, gateway):
    gw = gateway(redis.url, login_fail_max=3)
    token = make_agent(redis.client(), "alice")

    async def body():
        for bad in ("0" * 64, "short", token[:-1] + ("0" if token[-1] != "0" else "1")):
            c = await Client.connect(gw.ws, path="/v1/agent")
            await c.send({"t": "login", "token": bad})
            await c.expect("error", code="unauthorized")
            assert await c.closed() == (1008, "policy")
        # the address is now limited, even with the right token
        c = await Client.connect(gw.ws, path="/v1/agent")
        await c.send({"t": "login", "token": token})
        await c.expect("error", code="rate_limited")
        # frames before login
        c = await Client.connect(gw.ws, path="/v1/agent")
        await c.send({"t": "state", "state": "ready"})
        await c.expect("error", code="no_session")

    run(body())
    assert "login_refused" in gw.logtext() and token not in gw.logtext()


def test_assignment_and_relay_both_ways(redis, gateway):
    gw = gateway(redis.url)
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, w = await agent(gw, token)
        assert w["agent"] == {"id": "alice", "name": "Alice", "groups": ["pre-sales"],
                              "capacity": 5}
        assert w["chats"] == []
        b, bw = await buyer(gw, name="Ann")
        await b.first_message("Do you ship to Lyon?", "m1")
        asg = await a.expect("assign")
        assert asg["chat"] == bw["chat"] and asg["buyer"]["name"] == "Ann"
        assert asg["group"] == "pre-sales" and asg["waited_ms"] >= 0
        assert [m["text"] for m in asg["history"]][0] == "Do you ship to Lyon?"
        assert [m["seq"] for m in asg["history"]] == [1, 2]
        await b.expect("agent", name="Alice")
        # agent -> buyer
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a1", "text": "Yes, 2 days."})
        ack = await a.expect("ack", id="a1", chat=bw["chat"])
        m = await b.expect("msg", **{"from": "agent"})
        assert (m["seq"], m["text"], m["name"]) == (ack["seq"], "Yes, 2 days.", "Alice")
        # buyer -> agent
        await b.send({"t": "msg", "id": "m2", "text": "Great, thanks"})
        await b.expect("ack", id="m2")
        m = await a.expect("msg", chat=bw["chat"], **{"from": "buyer"})
        assert m["text"] == "Great, thanks"
        # an agent resend is stored once
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a1", "text": "Yes, 2 days."})
        await a.expect("ack", id="a1", seq=ack["seq"])
        return bw

    bw = run(body())
    texts = [m["text"] for m in transcript(redis.client(), bw["chat"])]
    assert texts.count("Yes, 2 days.") == 1 and texts[-1] == "Great, thanks"


def test_capacity_is_respected_and_a_freed_slot_is_filled_at_once(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    tokens = [make_agent(r, aid, capacity=2) for aid in ("alice", "bob")]

    async def body():
        agents = [(await agent(gw, t))[0] for t in tokens]
        buyers = []
        for i in range(5):
            b, w = await buyer(gw)
            _, _, q = await b.first_message(f"question {i}", "m1")
            buyers.append((b, w))
            await asyncio.sleep(0.1)
        got = {0: [], 1: []}
        for k, a in enumerate(agents):
            for _ in range(2):
                got[k].append((await a.expect("assign"))["chat"])
            await a.silent(0.5)                  # never a third
        held = set(got[0]) | set(got[1])
        waiting = [w["chat"] for b, w in buyers if w["chat"] not in held]
        assert len(held) == 4 and len(waiting) == 1
        assert r.zscore("cg:q:demo:pre-sales", waiting[0]) is not None
        # alice closes one: the waiting chat goes to her at once
        await agents[0].send({"t": "close", "chat": got[0][0]})
        await agents[0].expect("unassign", chat=got[0][0], reason="closed")
        asg = await agents[0].expect("assign")
        assert asg["chat"] == waiting[0]
        closed_buyer = next(b for b, w in buyers if w["chat"] == got[0][0])
        f, _ = await frames_until(closed_buyer, lambda f: f["t"] == "closed")
        assert f["reason"] == "agent_closed"
        assert int(r.hget("cg:ar:alice", "load")) == 2
        assert int(r.hget("cg:ar:bob", "load")) == 2

    run(body())


def test_an_agent_acts_only_on_its_own_chats(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    ta, tb = make_agent(r, "alice"), make_agent(r, "bob", groups=("after-sales",))

    async def body():
        a, _ = await agent(gw, ta)
        bob, _ = await agent(gw, tb)
        b, bw = await buyer(gw)
        await b.first_message("secret order details", "m1")
        await a.expect("assign")
        chat = bw["chat"]
        await bob.send({"t": "msg", "chat": chat, "id": "x1", "text": "hi"})
        e = await bob.expect("error", code="forbidden", ref="x1")
        assert "secret" not in str(e)
        await bob.send({"t": "close", "chat": chat})
        await bob.expect("error", code="forbidden")
        await bob.send({"t": "transfer", "chat": chat, "to": "bob"})
        await bob.expect("error", code="forbidden")
        await bob.send({"t": "msg", "chat": "nonsense", "id": "x2", "text": "hi"})
        await bob.expect("error", code="bad_value", field="chat")
        await bob.silent(0.3)                    # nothing of that chat reached bob
        return chat

    chat = run(body())
    assert "agent_forbidden" in gw.logtext()
    assert all(m["text"] != "hi" for m in transcript(r, chat))


def test_transfer_to_an_agent_and_to_a_group(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    ta = make_agent(r, "alice")
    tb = make_agent(r, "bob", "Bob")
    tc = make_agent(r, "carol", "Carol", groups=("after-sales",))

    async def body():
        a, _ = await agent(gw, ta)
        b, bw = await buyer(gw)
        await b.first_message("I want a refund", "m1")
        await a.expect("assign")
        bob, _ = await agent(gw, tb)
        # to an agent: bob gets it with the history, alice lets go
        await a.send({"t": "transfer", "chat": bw["chat"], "to": "bob", "reason": "refund"})
        # the reply and the event come on different Redis links: either order
        got = {f["t"]: f for f in [await a.recv(), await a.recv()]}
        assert got["transferred"]["chat"] == bw["chat"] and got["transferred"]["to"] == "bob"
        assert got["unassign"]["chat"] == bw["chat"]
        assert got["unassign"]["reason"] == "transferred"
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign")
        assert f["history"][0]["text"] == "I want a refund"
        sysmsg, _ = await frames_until(b, lambda f: f["t"] == "msg" and f["from"] == "system")
        await b.expect("agent", name="Bob")
        # to a group: carol (after-sales) gets it
        carol, _ = await agent(gw, tc, ready=False)
        await bob.send({"t": "transfer", "chat": bw["chat"], "to": "group:after-sales"})
        got = {f["t"]: f for f in [await bob.recv(), await bob.recv()]}
        assert got["transferred"]["to"] == "group:after-sales"
        assert got["unassign"]["reason"] == "transferred"
        await carol.send({"t": "state", "state": "ready"})
        f, others = await frames_until(carol, lambda f: f["t"] == "assign")
        assert [o["t"] for o in others] in ([], ["state"])
        if not others:                    # the state's reply came after the event
            await carol.expect("state", state="ready")
        assert f["chat"] == bw["chat"] and f["group"] == "after-sales"
        # refused transfers change nothing
        await carol.send({"t": "transfer", "chat": bw["chat"], "to": "group:no-such"})
        await carol.expect("error", code="not_found")
        # an agent who is away cannot be given the chat
        await a.send({"t": "state", "state": "away"})
        await a.expect("state", state="away")
        await carol.send({"t": "transfer", "chat": bw["chat"], "to": "alice"})
        await carol.expect("error", code="conflict")
        await carol.send({"t": "transfer", "chat": bw["chat"], "to": "nobody"})
        await carol.expect("error", code="not_found")
        return bw

    bw = run(body())
    m = chat_meta(redis.client(), bw["chat"])
    assert (m["agent"], m["group"]) == ("carol", "after-sales")


def test_buyer_and_agent_on_different_nodes(redis, gateway):
    na = gateway(redis.url, node_id="node-a", msg_burst=50)
    nb = gateway(redis.url, node_id="node-b")
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, _ = await agent(nb, token)
        b, bw = await buyer(na)
        await b.first_message("hello from node A", "m1")
        await a.expect("assign", chat=bw["chat"])
        await b.expect("agent", name="Alice")
        for i in range(20):
            await a.send({"t": "msg", "chat": bw["chat"], "id": f"a{i}", "text": f"agent {i}"})
            await b.send({"t": "msg", "id": f"b{i}", "text": f"buyer {i}"})
        # each side: its 20 acks, and the other side's 20 messages in order
        got_b = [await b.recv() for _ in range(40)]
        got_a = [await a.recv() for _ in range(40)]
        assert [f["text"] for f in got_b if f["t"] == "msg"] == [f"agent {i}" for i in range(20)]
        assert [f["id"] for f in got_b if f["t"] == "ack"] == [f"b{i}" for i in range(20)]
        assert [f["text"] for f in got_a if f["t"] == "msg"] == [f"buyer {i}" for i in range(20)]
        assert [f["id"] for f in got_a if f["t"] == "ack"] == [f"a{i}" for i in range(20)]
        # seqs are one sequence without gaps across both sides
        seqs = sorted([f["seq"] for f in got_b + got_a if f["t"] == "ack"])
        assert seqs == list(range(3, 43))

    run(body())


def test_agent_returning_within_grace_keeps_chats_else_they_move(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    ta, tb = make_agent(r, "alice", "Alice"), make_agent(r, "bob", "Bob")

    async def body():
        a, _ = await agent(gw, ta)
        b, bw = await buyer(gw)
        await b.first_message("help", "m1")
        await a.expect("assign")
        # a short drop: back within grace, the chat is still hers
        await a.ws.close()
        await wait_for_async(lambda: r.zscore("cg:agents:offline", "alice") is not None,
                             what="alice counted gone (her grace running)")
        a, w = await agent(gw, ta)
        assert [c["chat"] for c in w["chats"]] == [bw["chat"]]
        assert w["chats"][0]["history"][0]["text"] == "help"
        # a long one: past grace the chat goes to bob, with its history
        await a.ws.close()
        bob, _ = await agent(gw, tb)
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign", timeout=10)
        assert f["chat"] == bw["chat"] and f["history"][0]["text"] == "help"
        moved, _ = await frames_until(b, lambda f: f["t"] == "msg" and f["from"] == "system")
        assert "another" in moved["text"]
        await b.expect("queue", position=1)         # back at the head of the queue
        await b.expect("agent", name="Bob")
        a, w = await agent(gw, ta)
        assert w["chats"] == []

    run(body(), timeout=60)


def test_node_killed_its_agents_chats_move_and_its_buyers_resume(redis, gateway):
    na = gateway(redis.url, node_id="node-a", **FAST)
    nb = gateway(redis.url, node_id="node-b", **FAST)
    r = redis.client()
    ta, tb = make_agent(r, "alice", "Alice"), make_agent(r, "bob", "Bob")

    async def body():
        a, _ = await agent(nb, ta)
        b, bw = await buyer(nb)
        await b.first_message("on node B", "m1")
        await a.expect("assign")
        bob, _ = await agent(na, tb)
        nb.kill9()
        # heartbeat timeout + grace later, bob has the chat
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign", timeout=15)
        assert f["chat"] == bw["chat"]
        # the buyer resumes on node A with nothing lost
        c = await Client.connect(na.ws)
        await c.send({"t": "hello", "resume": bw["resume"], "since": 0})
        w = await c.expect("welcome")
        await c.expect("agent", name="Bob")         # who has the chat now
        seqs = [(await c.expect("msg"))["seq"] for _ in range(w["seq"])]
        assert seqs == list(range(1, w["seq"] + 1))
        await bob.send({"t": "msg", "chat": bw["chat"], "id": "x", "text": "I'm Bob"})
        await bob.expect("ack")
        f, _ = await frames_until(c, lambda f: f["t"] == "msg" and f.get("from") == "agent")
        assert f["text"] == "I'm Bob"

    run(body(), timeout=60)


def test_many_buyers_two_nodes_no_chat_twice_no_agent_over_capacity(redis, gateway):
    na = gateway(redis.url, node_id="node-a", max_sessions_per_ip=1000)
    nb = gateway(redis.url, node_id="node-b", max_sessions_per_ip=1000)
    r = redis.client()
    caps = {f"ag{i}": 10 for i in range(20)}
    tokens = {aid: make_agent(r, aid, capacity=cap) for aid, cap in caps.items()}

    async def body():
        agents = {}
        for i, (aid, tok) in enumerate(tokens.items()):
            agents[aid] = (await agent(na if i % 2 else nb, tok))[0]

        async def one(i):
            b, w = await buyer(na if i % 2 else nb)
            await b.send({"t": "msg", "id": "m1", "text": f"buyer {i}"})
            f, _ = await frames_until(b, lambda f: f["t"] == "agent", timeout=20)
            return w["chat"], f["name"]

        results = await asyncio.gather(*(one(i) for i in range(200)))
        assigned = {}
        for aid, a in agents.items():
            try:
                while True:
                    f = await a.recv(0.5)
                    if f["t"] == "assign":
                        assigned.setdefault(f["chat"], []).append(aid)
            except asyncio.TimeoutError:
                pass
        return results, assigned

    results, assigned = run(body(), timeout=120)
    chats = [c for c, _ in results]
    assert len(set(chats)) == 200
    assert all(len(v) == 1 for v in assigned.values()), "a chat was assigned twice"
    assert set(assigned) == set(chats)
    load = {}
    for c, (aid,) in assigned.items():
        load[aid] = load.get(aid, 0) + 1
    assert all(n <= caps[aid] for aid, n in load.items())
    for aid in caps:
        assert int(r.hget(f"cg:ar:{aid}", "load") or 0) == load.get(aid, 0)
        assert r.scard(f"cg:achats:{aid}") == load.get(aid, 0)
    assert r.zcard("cg:q:demo:pre-sales") == 0


def test_one_agent_in_two_windows_sees_the_same_chats(redis, gateway):
    na = gateway(redis.url, node_id="node-a")
    nb = gateway(redis.url, node_id="node-b")
    r = redis.client()
    token = make_agent(r, "alice", "Alice", capacity=1)

    async def body():
        w1, _ = await agent(na, token)
        w2, welcome = await agent(nb, token)        # a second desk window, another node
        assert welcome["state"] == "ready"
        assert int(r.hget("cg:ar:alice", "online")) == 2
        b, bw = await buyer(na)
        await b.first_message("hi", "m1")
        a1 = await w1.expect("assign")
        a2 = await w2.expect("assign")
        assert a1["chat"] == a2["chat"] == bw["chat"]
        # what one window sends, the other sees; the buyer gets it once
        await w1.send({"t": "msg", "chat": bw["chat"], "id": "x1", "text": "from window 1"})
        ack = await w1.expect("ack", id="x1")
        m = await w2.expect("msg", chat=bw["chat"], **{"from": "agent"})
        assert (m["seq"], m["text"]) == (ack["seq"], "from window 1")
        await w1.silent(0.3)                          # no echo to the sender
        await b.expect("agent", name="Alice")
        f = await b.expect("msg", **{"from": "agent"})
        assert f["text"] == "from window 1"
        # load is per agent: capacity 1 is reached by one chat, whatever the windows
        b2, bw2 = await buyer(nb)
        await b2.first_message("me too", "m1")
        await w1.silent(0.5)
        assert r.zscore("cg:q:demo:pre-sales", bw2["chat"]) is not None
        # one window closing leaves the agent online
        assert r.hlen("cg:asess:alice") == 2
        await w2.ws.close()
        await wait_for_async(lambda: r.hlen("cg:asess:alice") == 1,
                             what="window 2's session unregistered")
        assert int(r.hget("cg:ar:alice", "online")) == 1
        assert r.zscore("cg:agents:offline", "alice") is None

    run(body())


def test_deleting_an_agent_closes_its_sessions_and_returns_its_chats(redis, gateway):
    from test_chatgwctl import ok
    gw = gateway(redis.url, **FAST)
    token = ok(redis.url, "agent", "add", "alice", "--name", "Alice").stdout.strip()
    bob_token = ok(redis.url, "agent", "add", "bob", "--name", "Bob").stdout.strip()

    async def body():
        a, _ = await agent(gw, token)
        b, bw = await buyer(gw)
        await b.first_message("help please", "m1")
        await a.expect("assign", chat=bw["chat"])
        ok(redis.url, "agent", "del", "alice")
        await a.expect("error", code="unauthorized")
        assert await a.closed() == (1008, "policy")
        bob, _ = await agent(gw, bob_token)
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign", timeout=10)
        assert f["chat"] == bw["chat"] and f["history"][0]["text"] == "help please"
        c = await Client.connect(gw.ws, path="/v1/agent")
        await c.send({"t": "login", "token": token})
        await c.expect("error", code="unauthorized")

    run(body(), timeout=60)


def test_buyer_leaving_frees_the_agent(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    token = make_agent(r, "alice", "Alice", capacity=1)

    async def body():
        a, _ = await agent(gw, token)
        b1, w1 = await buyer(gw)
        await b1.first_message("first buyer", "m1")
        await a.expect("assign", chat=w1["chat"])
        b2, w2 = await buyer(gw)
        await b2.first_message("second buyer", "m1")
        await a.silent(0.3)                          # alice is full
        await b1.send({"t": "bye"})
        await a.expect("unassign", chat=w1["chat"], reason="buyer_left")
        await a.expect("assign", chat=w2["chat"])    # the freed slot is used at once
        assert int(r.hget("cg:ar:alice", "load")) == 1

    run(body())


def test_agent_set_applies_to_routing_at_once(redis, gateway):
    from test_chatgwctl import ok
    gw = gateway(redis.url)
    token = ok(redis.url, "agent", "add", "alice", "--name", "Alice", "--group", "pre-sales",
               "--capacity", "1").stdout.strip()

    async def body():
        a, _ = await agent(gw, token)
        b1, w1 = await buyer(gw)
        await b1.first_message("one", "m1")
        await a.expect("assign", chat=w1["chat"])
        b2, w2 = await buyer(gw, group="after-sales")
        await b2.first_message("two", "m1")
        await a.silent(0.3)                    # full, and not in after-sales
        ok(redis.url, "agent", "set", "alice", "--group", "pre-sales", "--group",
           "after-sales", "--capacity", "2")
        await a.expect("assign", chat=w2["chat"])
        ok(redis.url, "agent", "set", "alice", "--group", "after-sales", "--capacity", "5")
        b3, w3 = await buyer(gw)                # pre-sales: alice left that group
        await b3.first_message("three", "m1")
        await a.silent(0.5)
        assert redis.client().zscore("cg:q:demo:pre-sales", w3["chat"]) is not None

    run(body())


def test_every_one_of_twenty_desk_windows_gets_events_and_a_new_token_closes_all(redis, gateway):
    from test_chatgwctl import ok
    gw = gateway(redis.url)
    token = ok(redis.url, "agent", "add", "alice", "--name", "Alice").stdout.strip()

    async def body():
        windows = [(await agent(gw, token))[0] for _ in range(20)]
        assert int(redis.client().hget("cg:ar:alice", "online")) == 20
        b, bw = await buyer(gw)
        await b.first_message("hello desks", "m1")
        for w in windows:
            await w.expect("assign", chat=bw["chat"])
        ok(redis.url, "agent", "token", "alice")
        for w in windows:
            await w.expect("error", code="unauthorized")
            assert await w.closed() == (1008, "policy")

    run(body(), timeout=60)
    wait_for(lambda: int(redis.client().hget("cg:ar:alice", "online")) == 0,
             what="no window of alice counted online")


def test_an_agent_past_its_window_limit_is_refused_and_the_others_keep_working(redis, gateway):
    gw = gateway(redis.url, agent_sessions_max=3)
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        windows = [(await agent(gw, token))[0] for _ in range(3)]
        extra = await Client.connect(gw.ws, path="/v1/agent")
        await extra.send({"t": "login", "token": token})
        await extra.expect("error", code="too_many_sessions")
        assert await extra.closed() == (1008, "policy")
        assert int(r.hget("cg:ar:alice", "online")) == 3
        b, bw = await buyer(gw)
        await b.first_message("still there?", "m1")
        for w in windows:
            await w.expect("assign", chat=bw["chat"])
        # one window closes: a new one fits again, and is not rate limited
        await windows[0].close()
        await wait_for_async(lambda: int(r.hget("cg:ar:alice", "online")) == 2,
                             what="the closed window counted off")
        again, w = await agent(gw, token)
        assert [c["chat"] for c in w["chats"]] == [bw["chat"]]
        assert int(r.hget("cg:ar:alice", "online")) == 3

    run(body())


def test_two_tabs_of_one_chat_on_one_node_both_get_agent_messages(redis, gateway):
    gw = gateway(redis.url)
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, _ = await agent(gw, token)
        old, bw = await buyer(gw)
        await old.first_message("two tabs", "m1")
        await a.expect("assign", chat=bw["chat"])
        await old.expect("agent", name="Alice")
        new = await Client.connect(gw.ws)
        await new.send({"t": "hello", "resume": bw["resume"], "since": 2})
        await new.expect("welcome")
        await new.expect("agent", name="Alice")      # attached before its welcome went out
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a1", "text": "to both tabs"})
        await a.expect("ack", id="a1")
        for tab in (old, new):
            f, _ = await frames_until(tab, lambda f: f["t"] == "msg" and f["from"] == "agent")
            assert f["text"] == "to both tabs"
        # the newer tab closes: the older one still gets what the agent says
        await new.close()
        await wait_for_async(lambda: gw.metrics()['chatgw_sessions{role="buyer"}'] == 1,
                             what="the gateway to let the newer tab go")
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a2", "text": "still here?"})
        await a.expect("ack", id="a2")
        f, _ = await frames_until(old, lambda f: f["t"] == "msg" and f["from"] == "agent")
        assert f["text"] == "still here?"

    run(body())


def test_a_held_chat_that_expires_frees_its_agent_for_the_next_chat(redis, gateway):
    gw = gateway(redis.url, transcript_ttl="2s", node_heartbeat="200ms")
    r = redis.client()
    token = make_agent(r, "alice", "Alice", capacity=1)

    async def body():
        a, _ = await agent(gw, token)
        b1, w1 = await buyer(gw)
        await b1.first_message("then silence", "m1")
        await a.expect("assign", chat=w1["chat"])
        assert int(r.hget("cg:ar:alice", "load")) == 1
        # nobody says anything: the transcript expires while alice holds it
        await wait_for_async(lambda: int(r.hget("cg:ar:alice", "load")) == 0, 6,
                             what="alice's load to drop with no chat behind it")
        assert not r.exists(chat_key(w1["chat"]))
        assert r.scard("cg:achats:alice") == 0
        b2, w2 = await buyer(gw)
        await b2.first_message("my turn", "m1")
        f, others = await frames_until(a, lambda f: f["t"] == "assign")
        assert f["chat"] == w2["chat"]
        assert others == [{"t": "unassign", "chat": w1["chat"], "reason": "expired"}]

    run(body())


def test_buyer_saying_bye_as_the_agent_closes_is_told_the_stored_reason(redis, gateway):
    gw = gateway(redis.url, max_sessions_per_ip=1000)
    r = redis.client()
    token = make_agent(r, "alice", "Alice", capacity=1000)
    told = {}

    async def one(a, i):
        b, w = await buyer(gw)
        await b.first_message(f"race {i}", "m1")
        await b.expect("agent", name="Alice")
        # the agent closes and the buyer leaves at the same moment
        await asyncio.gather(a.send({"t": "close", "chat": w["chat"]}), b.send({"t": "bye"}))
        f, _ = await frames_until(b, lambda f: f["t"] == "closed")
        told[w["chat"]] = f["reason"]

    async def body():
        a, _ = await agent(gw, token)
        for i in range(0, 80, 8):
            await asyncio.gather(*(one(a, k) for k in range(i, i + 8)))

    run(body(), timeout=120)
    for chat, reason in told.items():
        meta = chat_meta(r, chat)
        assert meta["state"] == "closed"
        assert reason == meta["reason"], f"told {reason}, stored {meta['reason']}"
    assert len(told) == 80


def test_online_step_refuses_a_deleted_agent_or_a_replaced_token(redis):
    from conftest import ROOT
    # the script as chatgwd sends it: the key table (keys.lua) first, and
    # each --@include line replaced by its file (scripts/embed-lua.sh)
    lua = os.path.join(ROOT, "daemon", "lua")
    script = ""
    for name in ("keys.lua", "router.lua"):
        with open(os.path.join(lua, name)) as f:
            for line in f:
                if line.startswith("--@include "):
                    with open(os.path.join(lua, line.split()[1])) as inc:
                        line = inc.read()
                script += line
    r = redis.client()
    token = make_agent(r, "alice", "Alice")
    good = hashlib.sha256(token.encode()).hexdigest()
    now = str(int(time.time() * 1000))

    def online(tag, h):
        return r.eval(script, 0, "online", now, "node-x", "alice", tag, "0", h)

    assert online("node-x#1", good)[0] == b"away"
    # a login whose lookup saw the old token comes after `agent token`
    r.hset("cg:agent:alice", "tok", "f" * 64)
    with pytest.raises(redis_py.ResponseError, match="unauthorized"):
        online("node-x#2", good)
    # ... or after `agent del`, which ended the grace of its chats at once
    r.delete("cg:agent:alice")
    r.zadd("cg:agents:offline", {"alice": 0})
    with pytest.raises(redis_py.ResponseError, match="unauthorized"):
        online("node-x#3", good)
    assert r.zscore("cg:agents:offline", "alice") == 0
    assert r.hlen("cg:asess:alice") == 1 and int(r.hget("cg:ar:alice", "online")) == 1


def test_deleting_an_agent_while_it_logs_in_many_times_leaves_no_login_and_requeues_at_once(
        redis, gateway):
    from test_chatgwctl import ok
    gw = gateway(redis.url, node_heartbeat="200ms", max_sessions_per_ip=1000,
                 login_fail_max=1000, agent_sessions_max=100)
    r = redis.client()
    token = ok(redis.url, "agent", "add", "alice", "--name", "Alice").stdout.strip()

    async def login(delay):
        await asyncio.sleep(delay)
        c = await Client.connect(gw.ws, path="/v1/agent")
        await c.send({"t": "login", "token": token})
        return c

    async def body():
        a, _ = await agent(gw, token)
        b, bw = await buyer(gw)
        await b.first_message("help", "m1")
        await a.expect("assign", chat=bw["chat"])
        # logins keep coming while chatgwctl deletes the agent (in a thread:
        # the logins go on meanwhile), so some look the token up before the
        # deletion and reach the "online" step after it
        logins = [asyncio.ensure_future(login(i * 0.001)) for i in range(80)]
        await asyncio.sleep(0.02)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: ok(redis.url, "agent", "del", "alice"))
        t0 = time.monotonic()
        clients = [a] + list(await asyncio.gather(*logins))
        # every session ends closed, whether it got its welcome first or not
        for c in clients:
            try:
                while True:
                    f = await c.recv(5)
                    assert f["t"] in ("welcome", "error", "state", "assign"), f
                    if f["t"] == "error":
                        assert f["code"] == "unauthorized", f
            except asyncio.TimeoutError:
                raise AssertionError("a login kept working")
            except Closed as e:
                assert e.code == 1008, e
        # the chat goes back to the queue at once, not after agent_grace (30 s)
        await wait_for_async(lambda: r.zscore("cg:q:demo:pre-sales", bw["chat"]) is not None,
                             max(0.0, 5 - (time.monotonic() - t0)),
                             what="the chat back in its queue before agent_grace")

    run(body(), timeout=60)
    assert int(r.hget("cg:ar:alice", "online") or 0) == 0
    assert r.hlen("cg:asess:alice") == 0


def test_a_node_paused_past_its_timeout_comes_back_with_its_agent_told_and_online(
        redis, gateway):
    import signal
    fast = dict(node_heartbeat="100ms", node_timeout="500ms", agent_grace="300ms")
    na = gateway(redis.url, node_id="node-a", **fast)
    nb = gateway(redis.url, node_id="node-b", **fast)
    r = redis.client()
    ta, tb = make_agent(r, "alice", "Alice", capacity=2), make_agent(r, "bob", "Bob")

    async def body():
        a, _ = await agent(na, ta)
        chats = []
        for i in range(2):
            b, w = await buyer(nb)
            await b.first_message(f"chat {i}", "m1")
            await a.expect("assign", chat=w["chat"])
            chats.append(w["chat"])
        bob, _ = await agent(nb, tb)
        # node A stops (a GC pause, VM steal) past node_timeout and agent_grace
        na.signal(signal.SIGSTOP)
        try:
            for _ in chats:
                f, _ = await frames_until(bob, lambda f: f["t"] == "assign", timeout=10)
                assert f["chat"] in chats
        finally:
            na.signal(signal.SIGCONT)
        # alice's window is told each chat it lost, and is online again
        told = set()
        while len(told) < 2:
            f, _ = await frames_until(a, lambda f: f["t"] == "unassign", timeout=5)
            assert f["reason"] == "timeout"
            told.add(f["chat"])
        assert told == set(chats)
        await wait_for_async(lambda: int(r.hget("cg:ar:alice", "online") or 0) == 1, 5,
                             what="alice online again while connected")
        assert r.hkeys("cg:an:alice") == [b"node-a"]
        for c in chats:
            assert chat_meta(r, c)["agent"] == "bob"
        # a second window on node A; the first closing does not undo it
        a2, _ = await agent(na, ta)
        assert r.hlen("cg:asess:alice") == 2
        await a.close()
        await wait_for_async(lambda: r.hlen("cg:asess:alice") == 1,
                             what="the first window's session unregistered")
        assert int(r.hget("cg:ar:alice", "online")) == 1
        # and alice (least loaded) gets the next chat
        b3, w3 = await buyer(nb)
        await b3.first_message("next one", "m1")
        f, _ = await frames_until(a2, lambda f: f["t"] == "assign")
        assert f["chat"] == w3["chat"]

    run(body(), timeout=60)
