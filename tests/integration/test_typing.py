"""Typing and read state, end to end: each side's typing and read reach the
other side on whichever node it is, only for a chat the agent holds; read
state is kept in the chat and comes back on a resume and a login; typing
is throttled per chat (typing_relay)."""
import asyncio
import time

from client import Client, buyer, collect, run
from conftest import chat_key
from test_agents import agent, frames_until, make_agent


async def chat_on_two_nodes(na, nb, token):
    """A buyer on node A whose chat an agent on node B holds."""
    a, _ = await agent(nb, token)
    b, bw = await buyer(na, name="Ann")
    await b.first_message("is the red one in stock?", "m1")      # seq 1, greeting 2
    await a.expect("assign", chat=bw["chat"])
    await b.expect("agent", name="Alice")
    return a, b, bw


def test_typing_and_read_cross_nodes_both_ways(redis, gateway):
    na = gateway(redis.url, node_id="node-a")
    nb = gateway(redis.url, node_id="node-b")
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await chat_on_two_nodes(na, nb, token)
        chat = bw["chat"]
        # the buyer types: the desk on node B hears it
        await b.send({"t": "typing"})
        f = await a.expect("typing", chat=chat)
        assert f["for_ms"] == 3 * 2000              # typing_relay 2s by default
        # the agent types: the buyer on node A hears it, with the agent's name
        await a.send({"t": "typing", "chat": chat})
        f = await b.expect("typing", name="Alice")
        assert f["for_ms"] == 6000
        # the buyer read the greeting: the desk is told
        await b.send({"t": "read", "seq": 2})
        await a.expect("read", chat=chat, seq=2)
        # the agent answers and reads the buyer's messages
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "yes it is"})
        await a.expect("ack", seq=3)
        await b.expect("msg", seq=3)
        await a.send({"t": "read", "chat": chat, "seq": 3})
        await b.expect("read", seq=3)
        await b.send({"t": "read", "seq": 3})
        await a.expect("read", chat=chat, seq=3)
        # nothing else went either way: no echo to the sender
        await a.silent(0.3)
        await b.silent(0.1)

    run(body())
    r = redis.client()
    assert r.hmget(chat_key(redis_chat(r)), "rdb", "rda") == [b"3", b"3"]


def test_a_read_in_one_desk_window_reaches_the_agent_s_other_windows(redis, gateway):
    na = gateway(redis.url, node_id="node-a")
    nb = gateway(redis.url, node_id="node-b")
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await chat_on_two_nodes(na, nb, token)   # window 1 on node B
        chat = bw["chat"]
        a2, _ = await agent(na, token, ready=False)         # window 2, on the buyer's node
        await b.send({"t": "msg", "text": "and in blue?", "id": "m2"})
        await a.expect("msg", seq=3)
        await a2.expect("msg", seq=3)
        await a.send({"t": "read", "chat": chat, "seq": 3})
        f = await a2.expect("read_self", chat=chat)
        assert f["seq"] == 3
        # the buyer is told once; the window that read hears no echo
        assert [x for x in await collect(b, 0.5) if x["t"] == "read"] == [
            {"t": "read", "seq": 3}]
        await a.silent(0.3)
        # window 2 saying the same read costs nothing more: nobody is told again
        await a2.send({"t": "read", "chat": chat, "seq": 3})
        await b.silent(0.3)
        await a.silent(0.1)

    run(body())


def redis_chat(r):
    """The one chat of a test's Redis."""
    keys = [k.decode() for k in r.scan_iter("cg:chat:*")]
    assert len(keys) == 1, keys
    return keys[0][len("cg:chat:{"):-1]


def test_an_agent_signals_only_chats_it_holds_and_the_buyer_sees_nothing(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    ta, tb = make_agent(r, "alice", "Alice"), make_agent(r, "bob", "Bob")

    async def body():
        a, b, bw = await chat_on_two_nodes(gw, gw, ta)
        chat = bw["chat"]
        bob, _ = await agent(gw, tb)
        # another agent's chat: forbidden, as msg gets
        await bob.send({"t": "typing", "chat": chat})
        await bob.expect("error", code="forbidden")
        await bob.send({"t": "read", "chat": chat, "seq": 1})
        await bob.expect("error", code="forbidden")
        await bob.send({"t": "msg", "chat": chat, "id": "x", "text": "hi"})
        await bob.expect("error", code="forbidden", ref="x")
        # a chat that does not exist answers alike
        await bob.send({"t": "typing", "chat": "0" * 32})
        await bob.expect("error", code="forbidden")
        # not a chat id, a negative seq, a seq of the wrong type
        await bob.send({"t": "typing", "chat": "c1"})
        await bob.expect("error", code="bad_value", field="chat")
        await bob.send({"t": "read", "chat": chat, "seq": -1})
        await bob.expect("error", code="bad_value", field="seq")
        await bob.send({"t": "read", "chat": chat, "seq": "3"})
        await bob.expect("error", code="bad_value", field="seq")
        await b.silent(0.3)
        # the buyer's own signals still reach the agent who holds the chat, not bob
        await b.send({"t": "typing"})
        await a.expect("typing", chat=chat)
        await bob.silent(0.2)

    run(body())
    assert r.hget(chat_key(redis_chat(r)), "rda") is None


def test_a_read_beyond_the_last_message_or_backwards_is_ignored(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await chat_on_two_nodes(gw, gw, token)
        chat = bw["chat"]
        # beyond the last message (2): no error, nothing relayed, nothing kept
        await b.send({"t": "read", "seq": 99})
        await a.send({"t": "read", "chat": chat, "seq": 50})
        await a.silent(0.3)
        await b.silent(0.1)
        assert r.hmget(chat_key(chat), "rdb", "rda") == [None, None]
        await b.send({"t": "read", "seq": 2})
        await a.expect("read", chat=chat, seq=2)
        # backwards, or the same again: ignored (from this session, and from
        # a second tab of the chat, which Redis checks)
        await b.send({"t": "read", "seq": 1})
        await b.send({"t": "read", "seq": 2})
        tab = await Client.connect(gw.ws)
        await tab.send({"t": "hello", "resume": bw["resume"], "since": 2})
        await tab.expect("welcome")
        await tab.expect("agent")
        await tab.send({"t": "read", "seq": 1})
        await a.silent(0.3)
        await tab.silent(0.1)
        assert r.hget(chat_key(chat), "rdb") == b"2"

    run(body())


def test_read_state_comes_back_on_resume_and_on_login(redis, gateway):
    na = gateway(redis.url, node_id="node-a")
    nb = gateway(redis.url, node_id="node-b")
    r = redis.client()
    ta, tb = make_agent(r, "alice", "Alice"), make_agent(r, "bob", "Bob")

    async def body():
        # the buyer reads the greeting before any agent is there
        b, bw = await buyer(na, name="Ann")
        chat = bw["chat"]
        await b.first_message("hello?", "m1")
        await b.send({"t": "read", "seq": 2})
        # the agent who gets the chat learns it with the assign
        a, _ = await agent(nb, ta)
        f = await a.expect("assign", chat=chat)
        assert f["read"] == 2
        await b.expect("agent", name="Alice")
        await a.send({"t": "read", "chat": chat, "seq": 1})
        await b.expect("read", seq=1)
        await b.ws.close()
        # the buyer resumes on the other node: how far the agent has read
        c = await Client.connect(nb.ws)
        await c.send({"t": "hello", "resume": bw["resume"], "since": 0})
        w = await c.expect("welcome", chat=chat)
        await c.expect("agent", name="Alice")
        await c.expect("read", seq=1)
        assert [(await c.expect("msg"))["seq"] for _ in range(w["seq"])] == [1, 2]
        # a second desk window of the agent: the welcome says how far the buyer read
        a2, w2 = await agent(na, ta, ready=False)
        assert [(x["chat"], x["read"]) for x in w2["chats"]] == [(chat, 2)]
        # a transfer: the new agent's assign carries it too
        bob, _ = await agent(na, tb)
        await a.send({"t": "transfer", "chat": chat, "to": "bob"})
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign")
        assert f["chat"] == chat and f["read"] == 2
        # a new chat's agent starts at 0 (alice is away: bob gets it)
        await a.send({"t": "state", "state": "away"})
        await frames_until(a, lambda f: f["t"] == "state")
        b2, bw2 = await buyer(na)
        await b2.first_message("me too", "m1")
        f, _ = await frames_until(bob, lambda f: f["t"] == "assign")
        assert f["chat"] == bw2["chat"] and f["read"] == 0

    run(body())


def test_typing_is_relayed_at_most_once_per_typing_relay(redis, gateway):
    gw = gateway(redis.url, typing_relay="600ms")
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await chat_on_two_nodes(gw, gw, token)
        chat = bw["chat"]
        t0 = time.monotonic()
        for _ in range(5):                    # a keystroke each, within the signal burst
            await b.send({"t": "typing"})
            await a.send({"t": "typing", "chat": chat})
        f = await a.expect("typing", chat=chat)
        assert f["for_ms"] == 1800
        await b.expect("typing", name="Alice")
        await a.silent(0.3)
        await b.silent(0.05)
        # once typing_relay has passed, the next keystroke goes out again
        await asyncio.sleep(max(0.0, 0.65 - (time.monotonic() - t0)))
        await b.send({"t": "typing"})
        await a.send({"t": "typing", "chat": chat})
        await a.expect("typing", chat=chat)
        await b.expect("typing", name="Alice")
        # the throttle is per chat: the agent's typing in a second chat is not held back
        b2, bw2 = await buyer(gw)
        await b2.first_message("another one", "m1")
        await a.expect("assign", chat=bw2["chat"])
        await b2.expect("agent")
        await a.send({"t": "typing", "chat": bw2["chat"]})
        await b2.expect("typing", name="Alice")

    run(body())


def test_a_closed_chat_relays_no_signal(redis, gateway):
    gw = gateway(redis.url)
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await chat_on_two_nodes(gw, gw, token)
        chat = bw["chat"]
        await b.send({"t": "bye"})
        await b.expect("closed")
        await a.expect("unassign", chat=chat)
        # the agent holds it no more: as for msg
        await a.send({"t": "typing", "chat": chat})
        await a.expect("error", code="forbidden")
        await a.send({"t": "read", "chat": chat, "seq": 2})
        await a.expect("error", code="forbidden")
        # the buyer, back to rate it: its signals go nowhere, and are no error
        c = await Client.connect(gw.ws)
        await c.send({"t": "hello", "resume": bw["resume"], "since": 2})
        await c.expect("welcome")
        await c.expect("closed")
        await c.send({"t": "typing"})
        await c.send({"t": "read", "seq": 2})
        await c.silent(0.3)
        await a.silent(0.1)

    run(body())
    assert r.hmget(chat_key(redis_chat(r)), "rdb", "rda") == [None, None]
