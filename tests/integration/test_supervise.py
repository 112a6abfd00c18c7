"""A supervisor's hands on the floor (issue 14): watch a chat silently,
whisper to its agent, join it, assign, transfer and close over the router,
read any transcript of its stores; and agents' private notes. Private
records never reach the buyer, live or on resume."""
import asyncio

from client import Client, buyer, run
from conftest import chat_key, chat_meta, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent
from test_supervisor import TWO_STORES, make_supervisor, supervisor, two_store_gateway


async def quiet(c, seconds=0.4):
    """Every frame that arrives within seconds."""
    out = []
    while True:
        try:
            out.append(await c.recv(seconds))
        except (asyncio.TimeoutError, TimeoutError):
            return out


async def reply(c, t, **fields):
    """The next frame that is not a floor event: a reply of type t."""
    f, _ = await frames_until(c, lambda f: f["t"] != "event")
    assert f["t"] == t and all(f.get(k) == v for k, v in fields.items()), f
    return f


async def resumed(gw, w):
    """The buyer's view after a resume from the start: every msg frame."""
    c = await Client.connect(gw.ws)
    await c.send({"t": "hello", "resume": w["resume"]})
    welcome = await c.expect("welcome")
    msgs = [f for f in await quiet(c) if f["t"] == "msg"]
    return welcome, msgs


def test_watch_shows_history_then_live_messages_and_the_buyer_sees_nothing(redis, gateway):
    a = gateway(redis.url, node_id="node-a", **FAST)
    b = gateway(redis.url, node_id="node-b", **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam", name="Sam")

    async def body():
        d, _ = await agent(a, alice)
        c, w = await buyer(a, name="Ann")
        await c.first_message("red one in stock?")
        chat = (await d.expect("assign"))["chat"]
        s, _ = await supervisor(b, sam)
        await s.send({"t": "watch", "chat": chat})
        got, _ = await frames_until(s, lambda f: f["t"] == "watching")
        assert (got["chat"], got["store"], got["group"], got["state"], got["agent"]) == \
            (chat, "demo", "pre-sales", "open", "alice")
        assert got["buyer"] == {"name": "Ann"}
        assert [(m["seq"], m["from"]) for m in got["history"]] == [(1, "buyer"), (2, "auto")]
        assert r.hget(chat_key(chat), "wn") is not None
        # live, both ways
        await c.send({"t": "msg", "id": "m2", "text": "hello?"})
        m, _ = await frames_until(s, lambda f: f["t"] == "msg")
        assert (m["chat"], m["seq"], m["from"], m["text"]) == (chat, 3, "buyer", "hello?")
        await d.send({"t": "msg", "chat": chat, "id": "a1", "text": "Yes, in stock."})
        m, _ = await frames_until(s, lambda f: f["t"] == "msg")
        assert (m["seq"], m["from"], m["name"], m["text"]) == (4, "agent", "Alice", "Yes, in stock.")
        # the buyer was told nothing of the watch
        seen = await quiet(c)
        assert [f["t"] for f in seen if f["t"] != "agent"] == ["ack", "msg"]   # agent: Alice took it
        assert "Sam" not in str(seen) and "sam" not in str(seen)
        # unwatch: nothing more, and the node leaves the chat's watchers
        await s.send({"t": "unwatch", "chat": chat})
        await frames_until(s, lambda f: f["t"] == "unwatched")
        await wait_for_async(lambda: r.hget(chat_key(chat), "wn") is None, 5)
        await c.send({"t": "msg", "id": "m3", "text": "thanks"})
        await c.expect("ack")
        assert [f for f in await quiet(s) if f["t"] == "msg"] == []
        # a chat it may not see, or none: not_found alike
        await s.send({"t": "watch", "chat": "0" * 32})
        await reply(s, "error", code="not_found")
        await s.send({"t": "unwatch", "chat": chat})
        await reply(s, "error", code="not_found")

    run(body())


def test_a_whisper_reaches_the_agent_and_never_the_buyer(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam", name="Sam")

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw)
        await c.first_message()
        chat = (await d.expect("assign"))["chat"]
        s, _ = await supervisor(gw, sam)
        await s.send({"t": "whisper", "chat": chat, "text": "offer free shipping", "id": "w1"})
        ack = await reply(s, "ack")
        assert (ack["chat"], ack["id"], ack["seq"]) == (chat, "w1", 3)
        m = await d.expect("msg")
        assert (m["from"], m["name"], m["text"], m["private"], m["seq"]) == \
            ("supervisor", "Sam", "offer free shipping", True, 3)
        # the clock runs on: a whisper is no answer
        assert r.hget(chat_key(chat), "ua") not in (None, b"")
        await d.send({"t": "msg", "chat": chat, "id": "a1", "text": "Shipping is free!"})
        await d.expect("ack")
        got = [f for f in await quiet(c) if f["t"] == "msg"]
        assert [(f["seq"], f["text"]) for f in got] == [(4, "Shipping is free!")]
        # nor on resume: seq 3 is skipped
        welcome, msgs = await resumed(gw, w)
        assert welcome["seq"] == 4
        assert [m["seq"] for m in msgs] == [1, 2, 4]
        assert "offer free shipping" not in str(msgs)
        # a whisper to a chat of no store of its: not_found
        await s.send({"t": "whisper", "chat": "0" * 32, "text": "x"})
        await reply(s, "error", code="not_found")

    run(body())


def test_an_agents_note_is_private_live_on_resume_and_in_other_windows(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")

    async def body():
        d, _ = await agent(gw, alice)
        d2, _ = await agent(gw, alice, ready=False)          # a second window
        c, w = await buyer(gw)
        await c.first_message()
        chat = (await d.expect("assign"))["chat"]
        await d2.expect("assign")
        s, _ = await supervisor(gw, sam)
        await s.send({"t": "watch", "chat": chat})
        await frames_until(s, lambda f: f["t"] == "watching")
        await d.send({"t": "note", "chat": chat, "text": "regular buyer, VIP", "id": "n1"})
        ack = await d.expect("ack")
        assert ack["seq"] == 3
        m = await d2.expect("msg")
        assert (m["from"], m["text"], m["private"]) == ("agent", "regular buyer, VIP", True)
        m, _ = await frames_until(s, lambda f: f["t"] == "msg")
        assert m["private"] is True and m["seq"] == 3
        assert [f for f in await quiet(c) if f["t"] == "msg"] == []
        assert r.hget(chat_key(chat), "ua") not in (None, b"")      # no answer
        welcome, msgs = await resumed(gw, w)
        assert welcome["seq"] == 3 and [m["seq"] for m in msgs] == [1, 2]
        # a note on a chat not the agent's: forbidden
        await d.send({"t": "note", "chat": "0" * 32, "text": "x"})
        await d.expect("error", code="forbidden")
        # the transcript keeps it, marked private
        await s.send({"t": "transcript", "chat": chat})
        t = await reply(s, "transcript")
        assert [(x["seq"], x.get("private", False)) for x in t["messages"]] == \
            [(1, False), (2, False), (3, True)]

    run(body())


def test_join_writes_as_a_visible_supervisor_and_stops_the_clock(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam", name="Sam")

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw)
        await c.first_message()
        chat = (await d.expect("assign"))["chat"]
        s, _ = await supervisor(gw, sam)
        # writing before joining: conflict
        await s.send({"t": "msg", "chat": chat, "id": "s1", "text": "Hi"})
        await reply(s, "error", code="conflict", ref="s1")
        await s.send({"t": "join", "chat": chat})
        j, _ = await frames_until(s, lambda f: f["t"] == "joined")
        assert j["chat"] == chat and len(j["history"]) == 2
        assert r.hget(chat_key(chat), "ua") not in (None, b"")
        await s.send({"t": "msg", "chat": chat, "id": "s1", "text": "I am the supervisor, Sam."})
        ack, _ = await frames_until(s, lambda f: f["t"] == "ack")
        assert ack["seq"] == 3
        m, _ = await frames_until(c, lambda f: f["t"] == "msg")
        assert (m["seq"], m["from"], m["name"], m["text"]) == \
            (3, "supervisor", "Sam", "I am the supervisor, Sam.")
        assert "private" not in m
        m = await d.expect("msg")
        assert m["from"] == "supervisor"
        assert r.hget(chat_key(chat), "ua") == b""                   # answered
        assert r.hget(chat_key(chat), "fr") is not None              # a response, timed

    run(body())


def test_assign_transfer_and_close_override_the_router(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice", capacity=1)
    bob = make_agent(r, "bob", "Bob", capacity=1)
    sam = make_supervisor(r, "sam")

    async def body():
        da, _ = await agent(gw, alice, ready=False)    # away: the router gives her nothing
        db, _ = await agent(gw, bob, ready=False)
        c, w = await buyer(gw)
        await c.first_message()
        chat = w["chat"]
        s, _ = await supervisor(gw, sam)
        # away: assign needs force
        await s.send({"t": "assign", "chat": chat, "agent": "alice"})
        await reply(s, "error", code="conflict")
        await s.send({"t": "assign", "chat": chat, "agent": "alice", "force": True})
        got, _ = await frames_until(s, lambda f: f["t"] == "assigned")
        assert got == {"t": "assigned", "chat": chat, "agent": "alice"}
        assert (await da.expect("assign"))["chat"] == chat
        await c.expect("agent", name="Alice")
        # a second chat over alice's capacity of 1, by force
        c2, w2 = await buyer(gw)
        await c2.first_message()
        await s.send({"t": "assign", "chat": w2["chat"], "agent": "alice", "force": True})
        await frames_until(s, lambda f: f["t"] == "assigned")
        assert r.hget("cg:ar:alice", "load") == b"2"
        # transfer to bob: he must be eligible (ready, room)
        await s.send({"t": "transfer", "chat": chat, "to": "bob"})
        await reply(s, "error", code="conflict")
        await db.send({"t": "state", "state": "ready"})
        await db.expect("state")
        await s.send({"t": "transfer", "chat": chat, "to": "bob"})
        got, _ = await frames_until(s, lambda f: f["t"] == "transferred")
        assert got == {"t": "transferred", "chat": chat, "to": "bob"}
        un, _ = await frames_until(da, lambda f: f["t"] == "unassign" and f["chat"] == chat)
        assert un["reason"] == "transferred"
        assert (await frames_until(db, lambda f: f["t"] == "assign"))[0]["chat"] == chat
        # to a group: the head of its queue
        await s.send({"t": "transfer", "chat": w2["chat"], "to": "group:nope"})
        await reply(s, "error", code="not_found")
        # close: the buyer is told, the agent let go
        await s.send({"t": "close", "chat": chat})
        await frames_until(s, lambda f: f["t"] == "closed")
        await frames_until(c, lambda f: f["t"] == "closed" and f["reason"] == "supervisor_closed")
        un, _ = await frames_until(db, lambda f: f["t"] == "unassign")
        assert un["reason"] == "closed"
        assert chat_meta(r, chat)["state"] == "closed"
        await s.send({"t": "close", "chat": chat})
        await reply(s, "error", code="conflict")
        # unknown agent, unknown chat
        await s.send({"t": "assign", "chat": w2["chat"], "agent": "nobody", "force": True})
        await reply(s, "error", code="not_found")
        await s.send({"t": "close", "chat": "0" * 32})
        await reply(s, "error", code="not_found")

    run(body())


def test_transcript_of_a_closed_chat_and_store_limits(redis, gateway):
    gw = two_store_gateway(gateway, redis, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam", store="demo")
    olga = make_supervisor(r, "olga", store="other")

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw, name="Ann")
        await c.first_message("hi")
        chat = (await d.expect("assign"))["chat"]
        for i in range(3):
            await d.send({"t": "msg", "chat": chat, "id": f"a{i}", "text": f"answer {i}"})
            await d.expect("ack")
        await d.send({"t": "close", "chat": chat, "outcome": "sold"})
        await frames_until(c, lambda f: f["t"] == "closed")
        s, _ = await supervisor(gw, sam)
        await s.send({"t": "transcript", "chat": chat})
        t = await reply(s, "transcript")
        rec = t["record"]
        assert (rec["store"], rec["state"], rec["reason"], rec["outcome"], rec["name"]) == \
            ("demo", "closed", "agent_closed", "sold", "Ann")
        assert t["first"] == 1 and t["n"] == 6 and "next" not in t
        assert [m["from"] for m in t["messages"]] == ["buyer", "auto", "agent", "agent", "agent",
                                                      "auto"]
        await s.send({"t": "transcript", "chat": chat, "from": 5})
        t = await reply(s, "transcript")
        assert t["first"] == 5 and [m["seq"] for m in t["messages"]] == [5, 6]
        # another store's supervisor: as if it did not exist
        o, _ = await supervisor(gw, olga)
        for frame in ({"t": "transcript", "chat": chat}, {"t": "watch", "chat": chat},
                      {"t": "close", "chat": chat}, {"t": "whisper", "chat": chat, "text": "x"}):
            await o.send(frame)
            await reply(o, "error", code="not_found")
        await o.send({"t": "transcript", "chat": chat, "from": 0})
        await reply(o, "error", code="bad_value", field="from")

    run(body())


def test_the_buyer_rates_a_closed_chat_once_and_it_counts_for_its_agent(redis, gateway):
    gw = gateway(redis.url, stats_flush="100ms", **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")
    sam = make_supervisor(r, "sam")
    from test_clock import stats

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw)
        await c.first_message()
        chat = (await d.expect("assign"))["chat"]
        # not before it closes
        await c.send({"t": "rate", "score": 5})
        f, _ = await frames_until(c, lambda f: f["t"] == "error")
        assert f["code"] == "conflict"
        await d.send({"t": "close", "chat": chat})
        await frames_until(c, lambda f: f["t"] == "closed")
        # the closed chat is resumed to rate it
        c2 = await Client.connect(gw.ws)
        await c2.send({"t": "hello", "resume": w["resume"]})
        await c2.expect("welcome")
        await frames_until(c2, lambda f: f["t"] == "closed")
        for bad, field in (({"score": 0}, "score"), ({"score": 6}, "score"),
                           ({"score": 4, "comment": 7}, "comment")):
            await c2.send({"t": "rate", **bad})
            await c2.expect("error", code="bad_value", field=field)
        await c2.send({"t": "rate", "score": "5"})
        await c2.expect("error", code="bad_value", field="score")
        await c2.send({"t": "rate", "score": 4, "comment": "quick and kind"})
        await c2.expect("rated", score=4)
        await c2.send({"t": "rate", "score": 1})
        await c2.expect("error", code="conflict")            # once
        h = r.hgetall(chat_key(chat))
        assert (h[b"rating"], h[b"rating_comment"]) == (b"4", "quick and kind".encode())
        st = stats(r)
        assert (st["a:alice"]["ratings"], st["a:alice"]["rating_sum"]) == (1, 4)
        assert (st["s"]["ratings"], st["g:pre-sales"]["rating_sum"]) == (1, 4)
        s, _ = await supervisor(gw, sam)
        await s.send({"t": "transcript", "chat": chat})
        t = await reply(s, "transcript")
        assert (t["record"]["rating"], t["record"]["rating_comment"]) == (4, "quick and kind")

    run(body())
