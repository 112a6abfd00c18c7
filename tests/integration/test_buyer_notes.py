"""Notes on a buyer (issue 14): an agent keeps a note on a chat's signed
buyer (`note {chat, text, buyer: true}`); the agent of a later chat of the
same signed buyer id gets the notes in `assign` and in its `welcome`, on
any node; supervisors see them in `transcript`; a buyer never does, not
on resume either. Bounded: the newest buyer_notes_max, each at most
buyer_note_max_bytes, shown buyer_notes_keep."""
import asyncio

from client import Client, buyer, collect
from test_agents import FAST, agent, frames_until, make_agent
from test_context import context, stores
from test_shifts import clocked, set_clock, utc_ms
from test_supervisor import make_supervisor, supervisor


async def signed_chat(gw, a, buyer_id, text="hello", **kw):
    """A buyer with a signed context; its first message; the agent's assign."""
    c, w = await buyer(gw, name="Ann", context=context(buyer_id, **kw))
    await c.first_message(text)
    asg, _ = await frames_until(a, lambda f: f["t"] == "assign" and f["chat"] == w["chat"])
    return c, w, asg


async def close(a, chat):
    await a.send({"t": "close", "chat": chat})
    await frames_until(a, lambda f: f["t"] == "unassign" and f["chat"] == chat)


def test_a_note_on_a_buyer_reaches_the_agent_of_its_next_chat_on_another_node(redis, gateway):
    # sticky_days 0: the buyer's next chat goes to whoever is free (bob)
    na = gateway(redis.url, node_id="node-a", stores=stores(sticky_days=0), **FAST)
    nb = gateway(redis.url, node_id="node-b", stores=stores(sticky_days=0), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=1)
    tb = make_agent(r, "bob", "Bob", capacity=1)
    sam = make_supervisor(r, "sam")

    async def body():
        a, _ = await agent(na, ta)
        c1, w1, asg = await signed_chat(na, a, "u-7")
        assert "buyer_notes" not in asg                 # nothing kept on u-7 yet
        await a.send({"t": "note", "chat": w1["chat"], "text": "Prefers email, ships to Lyon",
                      "buyer": True, "id": "n1"})
        got = await a.expect("buyer_notes", chat=w1["chat"], id="n1")
        assert [n["text"] for n in got["notes"]] == ["Prefers email, ships to Lyon"]
        assert got["notes"][0]["agent"] == "alice" and got["notes"][0]["name"] == "Alice"
        assert got["notes"][0]["chat"] == w1["chat"] and got["notes"][0]["ts"] > 0
        await a.send({"t": "note", "chat": w1["chat"], "text": "Asked for a discount twice",
                      "buyer": True})
        got = await a.expect("buyer_notes", chat=w1["chat"])
        assert [n["text"] for n in got["notes"]] == ["Asked for a discount twice",
                                                     "Prefers email, ships to Lyon"]
        # the buyer hears nothing of it, live or on resume
        heard = await collect(c1, 0.5)
        assert [f for f in heard if f["t"] == "msg"] == [] and "Lyon" not in repr(heard)
        await close(a, w1["chat"])
        c1b = await Client.connect(na.ws)
        wb = await c1b.hello("demo", resume=w1["resume"])
        assert "Lyon" not in repr(wb) and "discount" not in repr(wb)
        assert "Lyon" not in repr(await collect(c1b, 0.5))
        # alice is full with another chat; the same buyer comes back on node b: bob
        # gets it, with the notes (newest first)
        await signed_chat(na, a, "u-other")
        b, _ = await agent(nb, tb)
        c2, w2 = await buyer(nb, name="Ann", context=context("u-7"))
        await c2.first_message("me again")
        asg2, _ = await frames_until(b, lambda f: f["t"] == "assign" and f["chat"] == w2["chat"])
        assert [n["text"] for n in asg2["buyer_notes"]] == ["Asked for a discount twice",
                                                            "Prefers email, ships to Lyon"]
        assert "Lyon" not in repr(await collect(c2, 0.5))
        # bob's desk again (a new window): its welcome lists the chat with the notes
        b2, w = await agent(nb, tb)
        held = next(x for x in w["chats"] if x["chat"] == w2["chat"])
        assert held["buyer_notes"][1]["text"] == "Prefers email, ships to Lyon"
        # another signed buyer's chat has none (alice's welcome in a new window)
        _, wa = await agent(na, ta)
        assert [x.get("buyer_notes") for x in wa["chats"]] == [None]
        # the supervisor reads them with either chat's transcript
        s, _ = await supervisor(na, sam)
        await s.send({"t": "transcript", "chat": w1["chat"]})
        tr = await s.expect("transcript", chat=w1["chat"])
        assert [n["text"] for n in tr["buyer_notes"]] == ["Asked for a discount twice",
                                                          "Prefers email, ships to Lyon"]
        assert all("Lyon" not in m["text"] for m in tr["messages"])   # not in the chat's log
        await s.send({"t": "transcript", "chat": w2["chat"]})
        tr2 = await s.expect("transcript", chat=w2["chat"])
        assert len(tr2["buyer_notes"]) == 2
        # and on the buyer's own resume of chat 2: nothing
        c2b = await Client.connect(nb.ws)
        wr = await c2b.hello("demo", resume=w2["resume"])
        assert "Lyon" not in repr(wr) and "Lyon" not in repr(await collect(c2b, 0.5))
    asyncio.run(body())
    assert r.llen("cg:bnotes:demo:u-7") == 2
    assert "Lyon" not in na.logtext() and "Lyon" not in nb.logtext()


def test_notes_need_a_signed_buyer_and_the_chat_and_keep_their_limits(redis, gateway):
    gw = gateway(redis.url, stores=stores(), buyer_notes_max=2, buyer_note_max_bytes=32, **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")

    async def body():
        a, _ = await agent(gw, ta)
        # an unsigned chat: not_signed, nothing kept
        c0, w0 = await buyer(gw, name="Anon")
        await c0.first_message("hi")
        await frames_until(a, lambda f: f["t"] == "assign" and f["chat"] == w0["chat"])
        await a.send({"t": "note", "chat": w0["chat"], "text": "who?", "buyer": True, "id": "x"})
        await a.expect("error", code="not_signed", ref="x")
        # a chat that is not alice's: forbidden, as for every chat action
        await a.send({"t": "note", "chat": "f" * 32, "text": "who?", "buyer": True, "id": "y"})
        await a.expect("error", code="forbidden", ref="y")
        c1, w1, _ = await signed_chat(gw, a, "u-9")
        chat = w1["chat"]
        # too long (bytes: 11 three-byte characters are 33), a bad flag
        await a.send({"t": "note", "chat": chat, "text": "好" * 11, "buyer": True, "id": "z"})
        await a.expect("error", code="too_large", ref="z")
        await a.send({"t": "note", "chat": chat, "text": "ok", "buyer": "yes"})
        await a.expect("error", code="bad_value", field="buyer")
        # the newest two are kept
        for i in range(3):
            await a.send({"t": "note", "chat": chat, "text": f"note {i}", "buyer": True})
            got = await a.expect("buyer_notes")
        assert [n["text"] for n in got["notes"]] == ["note 2", "note 1"]
        # buyer: false is a plain private note of the chat (acked with its seq)
        await a.send({"t": "note", "chat": chat, "text": "chat note", "buyer": False, "id": "p"})
        assert (await a.expect("ack", id="p"))["seq"] > 0
        assert [f for f in await collect(c1, 0.5) if f["t"] == "msg"] == []
    asyncio.run(body())
    assert not r.exists("cg:bnotes:demo:")
    assert r.llen("cg:bnotes:demo:u-9") == 2


def test_a_note_is_shown_for_buyer_notes_keep_then_no_more(redis, gateway):
    t0 = utc_ms(2027, 3, 1, 10)
    gw = clocked(gateway, redis, t0, stores=stores(), buyer_notes_keep="1d")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")

    def ctx(at):
        return {"exp": at // 1000 + 3600}

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1, _ = await signed_chat(gw, a, "u-5", **ctx(t0))
        await a.send({"t": "note", "chat": w1["chat"], "text": "VIP since 2020", "buyer": True})
        await a.expect("buyer_notes")
        await close(a, w1["chat"])
        assert 0 < r.pttl("cg:bnotes:demo:u-5") <= 86400 * 1000
        # 23 hours later: still shown
        set_clock(gw, t0 + 23 * 3600 * 1000)
        _, w2, asg = await signed_chat(gw, a, "u-5", **ctx(t0 + 23 * 3600 * 1000))
        assert [n["text"] for n in asg["buyer_notes"]] == ["VIP since 2020"]
        await close(a, w2["chat"])
        # a day and an hour after it was written: gone (the key itself may linger)
        set_clock(gw, t0 + 25 * 3600 * 1000)
        _, _, asg = await signed_chat(gw, a, "u-5", **ctx(t0 + 25 * 3600 * 1000))
        assert "buyer_notes" not in asg
    asyncio.run(body())


def test_a_note_written_in_one_window_shows_in_the_agent_s_other_windows_on_any_node(
        redis, gateway):
    na = gateway(redis.url, node_id="node-a", stores=stores(sticky_days=0), **FAST)
    nb = gateway(redis.url, node_id="node-b", stores=stores(sticky_days=0), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=1)
    tb = make_agent(r, "bob", "Bob", capacity=1)

    async def body():
        a1, _ = await agent(na, ta)
        _, w1, _ = await signed_chat(na, a1, "u-9")
        a2, _ = await agent(nb, ta, ready=False)           # alice's second window, node b
        a3, _ = await agent(na, ta, ready=False)           # and a third, on the writer's node
        b, _ = await agent(nb, tb, ready=False)            # a colleague: not told
        await a1.send({"t": "note", "chat": w1["chat"], "text": "VIP, be quick",
                       "buyer": True, "id": "n1"})
        got = await a1.expect("buyer_notes", chat=w1["chat"], id="n1")
        assert [n["text"] for n in got["notes"]] == ["VIP, be quick"]
        for other in (a2, a3):
            f, _ = await frames_until(other, lambda f: f["t"] == "buyer_notes")
            assert f["chat"] == w1["chat"] and "id" not in f     # the id is the writer's
            assert f["notes"] == got["notes"]
        # the writer is answered once; bob hears nothing of it
        assert [f for f in await collect(a1, 0.5) if f["t"] == "buyer_notes"] == []
        assert [f for f in await collect(b, 0.3) if f["t"] == "buyer_notes"] == []
    asyncio.run(body())
