"""The 30-second clock (issue 11): holding replies, breaches, reassignment
and response times, kept in Redis (cg:clock) so that any node fires each
step once. Durations are scaled down: hundreds of milliseconds stand for
the handbooks' seconds."""
import asyncio
import time

import msgpack

from client import Client, buyer, collect, run
from conftest import DEMO_GREETING, chat_key, chat_meta, chat_transcript, wait_for
from test_agents import FAST, agent, frames_until, make_agent

# the clock's counters, by store and group (the demo store's one queue)
HOLDS = 'chatgw_holds_total{store="demo",group="pre-sales"}'
REASSIGNED = 'chatgw_reassigned_total{store="demo",group="pre-sales"}'


def store(**kw):
    s = {"name": "Demo Store", "greeting": DEMO_GREETING,
         "hold_text": "Still here, {buyer}: you are number {position} in line.",
         "hold_after": "300ms", "hold_every": "600ms", "hold_max": 3,
         "breach_after": "20s", "reassign_after": "0", "away_reassign": "0"}
    s.update(kw)
    return {"demo": s}


def autos(frames):
    return [f for f in frames if f["t"] == "msg" and f["from"] == "auto"]


def stats(r, store_id="demo"):
    """Every field of the store's hourly statistics, summed over hours."""
    out = {}
    for k in r.scan_iter(f"cg:stats:{store_id}:*"):
        for f, v in r.hgetall(k).items():
            cur = out.setdefault(f.decode(), {})
            for name, x in msgpack.unpackb(v, raw=False).items():
                if isinstance(x, list):
                    cur[name] = [a + b for a, b in zip(cur.get(name, [0] * len(x)), x)]
                else:
                    cur[name] = cur.get(name, 0) + x
    return out


def test_a_greeted_single_question_gets_a_hold_and_never_two_without_a_new_message(redis, gateway):
    gw = gateway(redis.url, stores=store())

    async def body():
        c, w = await buyer(gw, name="Ann")
        await c.first_message("is the red one in stock?")   # greeting, ack, queue
        # the greeting is not an answer: the question gets a hold at hold_after
        hold = await c.expect("msg", timeout=3, **{"from": "auto"})
        assert hold["text"] == "Still here, Ann: you are number 1 in line."
        assert hold["seq"] == 3 and hold["name"] == "Demo Store"
        await c.expect("queue", position=1)
        # no new message from the buyer: no second hold, however long
        await c.silent(1.5)
        # a new message, past hold_every: one more, and again only one
        await c.send({"t": "msg", "id": "m2", "text": "hello??"})
        await c.expect("ack", seq=4)
        frames = await collect(c, 1.5)
        assert [f["text"] for f in autos(frames)] == [hold["text"]]
        await c.send({"t": "msg", "id": "m3", "text": "???"})
        await c.expect("ack", seq=6)
        assert len(autos(await collect(c, 1.5))) == 1
        # hold_max (3) reached: a fourth message gets none
        await c.send({"t": "msg", "id": "m4", "text": "hello?!"})
        await c.expect("ack", seq=8)
        assert autos(await collect(c, 1.5)) == []
        return w

    w = run(body(), timeout=60)
    log = chat_transcript(redis.client(), w["chat"])
    assert [m["from"] for m in log] == ["buyer", "auto", "auto", "buyer", "auto", "buyer", "auto",
                                        "buyer"]
    assert gw.metrics()[HOLDS] == 3


def test_holds_name_the_agent_once_assigned_and_an_answer_stops_them(redis, gateway):
    gw = gateway(redis.url, stores=store(hold_text="{agent} will answer you shortly, {buyer}."))
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")

    async def body():
        a, _ = await agent(gw, ta)
        c, w = await buyer(gw, name="Ann")
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await a.expect("assign", chat=w["chat"])
        hold, _ = await frames_until(c, lambda f: f["t"] == "msg" and f["from"] == "auto"
                                     and f["seq"] == 3, timeout=3)
        assert hold["text"] == "Alice will answer you shortly, Ann."
        # the agent sees the hold too, as part of the chat
        seen, _ = await frames_until(a, lambda f: f["t"] == "msg" and f["seq"] == 3)
        assert seen["from"] == "auto"
        # the agent answers: the clock stops, no hold for what was answered
        await a.send({"t": "msg", "chat": w["chat"], "id": "a1", "text": "Hello Ann!"})
        await a.expect("ack", id="a1")
        await c.expect("msg", text="Hello Ann!")
        await c.silent(1.2)
        return w

    w = run(body(), timeout=60)
    assert chat_meta(r, w["chat"])["agent"] == "alice"
    assert r.hget(chat_key(w["chat"]), "ua") == b""


def test_an_unanswered_chat_breaches_once_and_counts_against_its_agent(redis, gateway):
    gw = gateway(redis.url, stores=store(hold_max=0, breach_after="800ms", shift="allday 00:00-24:00"),
                 stats_flush="200ms")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")

    async def body():
        a, _ = await agent(gw, ta)
        c, w = await buyer(gw)
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await a.expect("assign", chat=w["chat"])
        t0 = time.monotonic()
        b = await a.expect("breach", chat=w["chat"], timeout=3)
        assert b["waited_ms"] >= 800
        assert time.monotonic() - t0 >= 0.6
        await c.send({"t": "msg", "id": "m2", "text": "hello?"})     # the same stretch
        await a.expect("msg", text="hello?")
        await a.silent(1.2)                                          # flagged once
        # answered, then a new unanswered question: a new breach
        await a.send({"t": "msg", "chat": w["chat"], "id": "a1", "text": "sorry!"})
        await a.expect("ack", id="a1")
        await c.send({"t": "msg", "id": "m3", "text": "and?"})
        await a.expect("msg", text="and?")
        await a.expect("breach", chat=w["chat"], timeout=3)
        return w

    w = run(body(), timeout=60)
    assert int(r.hget(chat_key(w["chat"]), "brn")) == 2
    wait_for(lambda: stats(r).get("a:alice", {}).get("breaches") == 2, what="breaches counted")
    s = stats(r)
    assert s["s"]["breaches"] == 2 and s["g:pre-sales"]["breaches"] == 2
    assert s["sh:allday"]["breaches"] == 2
    assert gw.metrics()['chatgw_breaches_total{store="demo",group="pre-sales"}'] == 2


def test_a_chat_its_agent_does_not_answer_goes_to_a_free_colleague(redis, gateway):
    gw = gateway(redis.url, stores=store(hold_max=0, reassign_after="1s"))
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=1)
    tb = make_agent(r, "bob", "Bob", capacity=1)

    async def body():
        a, _ = await agent(gw, ta)
        c, w = await buyer(gw, name="Ann")
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await a.expect("assign", chat=w["chat"])
        b, _ = await agent(gw, tb)                  # free from now on
        un = await a.expect("unassign", chat=w["chat"], timeout=4)
        assert un["reason"] == "reassigned"
        got = await b.expect("assign", chat=w["chat"])
        assert [h["text"] for h in got["history"]][-1] == "Sorry for the wait! Bob will help you now."
        told, _ = await frames_until(c, lambda f: f["t"] == "msg" and f["from"] == "auto"
                                     and "Bob" in f["text"])
        await c.expect("agent", name="Bob")
        assert chat_meta(r, w["chat"])["agent"] == "bob"
        assert gw.metrics()[REASSIGNED] == 1
        # Bob does not answer either: it moves on again (to Alice, free now)
        await b.expect("unassign", chat=w["chat"], reason="reassigned", timeout=4)
        return w

    run(body(), timeout=60)


def test_a_waiting_chat_moves_to_the_head_of_its_queue_at_reassign_after(redis, gateway):
    gw = gateway(redis.url, stores=store(hold_max=0, reassign_after="1s"))
    r = redis.client()

    async def body():
        c1, w1 = await buyer(gw)
        await c1.first_message("first")
        await asyncio.sleep(0.5)
        c2, w2 = await buyer(gw)
        _, _, q = await c2.first_message("second")
        assert q["position"] == 2
        # reassign_after: c1 goes to the head, where chats sent there are
        # served in the order they got there; each is told its place
        await c1.expect("queue", position=1, timeout=3)
        assert r.zscore("cg:q:demo:pre-sales", w1["chat"]) < 0
        c3, w3 = await buyer(gw)
        _, _, q = await c3.first_message("third")
        assert q["position"] == 3
        await c2.expect("queue", position=2, timeout=3)
        assert r.zscore("cg:q:demo:pre-sales", w2["chat"]) < 0
        # c3 arrives at the head after its own wait, behind them: once
        await c3.expect("queue", position=3, timeout=3)
        await c1.silent(1.2)
        return w1, w2, w3

    ws = run(body(), timeout=60)
    assert r.zrange("cg:q:demo:pre-sales", 0, -1) == [w["chat"].encode() for w in ws]


def test_an_agent_away_too_long_has_its_unanswered_chats_moved(redis, gateway):
    gw = gateway(redis.url, stores=store(hold_max=0, away_reassign="1s"))
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=2)
    tb = make_agent(r, "bob", "Bob", capacity=2)

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw)
        await c1.send({"t": "msg", "id": "m1", "text": "waiting"})
        await a.expect("assign", chat=w1["chat"])
        c2, w2 = await buyer(gw)
        await c2.send({"t": "msg", "id": "m1", "text": "answered"})
        await a.expect("assign", chat=w2["chat"])
        await a.send({"t": "msg", "chat": w2["chat"], "id": "a1", "text": "hi!"})
        await a.expect("ack", id="a1")
        b, _ = await agent(gw, tb)
        await a.send({"t": "state", "state": "away"})
        await a.expect("state", state="away")
        # within a heartbeat of away_reassign the waiting chat moves, the
        # answered one stays
        un = await a.expect("unassign", chat=w1["chat"], timeout=5)
        assert un["reason"] == "away"
        await b.expect("assign", chat=w1["chat"])
        await a.silent(1.0)
        return w1, w2

    w1, w2 = run(body(), timeout=60)
    assert chat_meta(r, w1["chat"])["agent"] == "bob"
    assert chat_meta(r, w2["chat"])["agent"] == "alice"


def test_the_clock_survives_a_resume_on_another_node_and_a_kill_of_its_node(redis, gateway):
    a = gateway(redis.url, node_id="node-a", stores=store(hold_after="1500ms"), **FAST)
    b = gateway(redis.url, node_id="node-b", stores=store(hold_after="1500ms"), **FAST)
    r = redis.client()

    async def body():
        c, w = await buyer(a, name="Ann")
        await c.first_message("anyone?")
        # node A set the deadline and dies before it falls due
        a.kill9()
        await asyncio.sleep(0.1)
        c2 = await Client.connect(b.ws)
        await c2.send({"t": "hello", "resume": w["resume"], "since": 2})
        await c2.expect("welcome", chat=w["chat"])
        hold = await c2.expect("msg", timeout=5, **{"from": "auto"})
        assert hold["seq"] == 3
        await c2.expect("queue", position=1)
        await c2.silent(1.5)
        return w

    w = run(body(), timeout=60)
    log = chat_transcript(r, w["chat"])
    assert [m["from"] for m in log] == ["buyer", "auto", "auto"]      # fired once
    assert b.metrics()[HOLDS] == 1                      # by node B


def test_two_live_nodes_fire_each_step_once(redis, gateway):
    opts = dict(stores=store(hold_after="400ms", hold_every="400ms"), **FAST)
    a = gateway(redis.url, node_id="node-a", **opts)
    b = gateway(redis.url, node_id="node-b", **opts)

    async def body():
        chats = []
        for i in range(10):
            c, w = await buyer(a if i % 2 else b)
            await c.first_message(f"q{i}", "m1")
            chats.append((c, w))
        await asyncio.sleep(2.0)       # both nodes' timers and heartbeats see them due
        return chats

    chats = run(body(), timeout=60)
    r = redis.client()
    for _, w in chats:
        assert [m["from"] for m in chat_transcript(r, w["chat"])] == ["buyer", "auto", "auto"]
    m = a.metrics()[HOLDS] + b.metrics()[HOLDS]
    assert m == 10


def test_response_times_of_a_scripted_chat_are_recorded_exactly(redis, gateway):
    # one shift all day: the numbers are also counted for it
    gw = gateway(redis.url, stores=store(hold_max=0, shift="allday 00:00-24:00"),
                 stats_flush="200ms")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")

    async def body():
        a, _ = await agent(gw, ta)
        c, w = await buyer(gw)
        await c.send({"t": "msg", "id": "m1", "text": "q1"})
        await a.expect("assign", chat=w["chat"])
        await asyncio.sleep(0.3)
        await c.send({"t": "msg", "id": "m2", "text": "q1 again"})   # same question
        await a.expect("msg", text="q1 again")
        await asyncio.sleep(0.2)
        await a.send({"t": "msg", "chat": w["chat"], "id": "a1", "text": "answer 1"})
        await a.expect("ack", id="a1")
        await a.send({"t": "msg", "chat": w["chat"], "id": "a2", "text": "more"})  # no question
        await a.expect("ack", id="a2")
        await c.send({"t": "msg", "id": "m3", "text": "q2"})
        await a.expect("msg", text="q2")
        await asyncio.sleep(0.4)
        await a.send({"t": "msg", "chat": w["chat"], "id": "a3", "text": "answer 2"})
        await a.expect("ack", id="a3")
        return w

    w = run(body(), timeout=60)
    log = chat_transcript(r, w["chat"])
    ts = {m["text"]: m["ts"] for m in log}
    first = ts["answer 1"] - ts["q1"]
    second = ts["answer 2"] - ts["q2"]
    h = {k.decode(): v.decode() for k, v in r.hgetall(chat_key(w["chat"])).items()
         if k in (b"fr", b"rn", b"rs", b"r30")}
    assert h == {"fr": str(first), "rn": "2", "rs": str(first + second), "r30": "2"}
    assert 500 <= first < 5000 and 400 <= second < 5000
    wait_for(lambda: stats(r).get("a:alice", {}).get("replies") == 2, what="the flush")
    for f in ("s", "g:pre-sales", "a:alice", "sh:allday"):
        s = stats(r)[f]
        assert (s["replies"], s["rt_sum"], s["rt30"]) == (2, first + second, 2), (f, s)
        assert (s["first"], s["first_sum"], s["first30"]) == (1, first, 1), (f, s)
        assert sum(s["rh"]) == 2 and s["rh"][0] == 2 and s["fh"][0] == 1


def test_store_texts_speak_the_stores_language(redis, gateway):
    gw = gateway(redis.url, stores=store(
        name="小店", greeting="您好，欢迎光临{store}！", hold_text="亲，请稍等，您前面还有{position}位～",
        transfer_text="亲，正在为您转接其他客服，请稍候～", hold_after="300ms"))
    r = redis.client()
    ta = make_agent(r, "alice", "小美")

    async def body():
        c, w = await buyer(gw)
        greet, _, _ = await c.first_message("在吗？")
        assert greet["text"] == "您好，欢迎光临小店！"
        hold = await c.expect("msg", timeout=3, **{"from": "auto"})
        assert hold["text"] == "亲，请稍等，您前面还有1位～" and hold["name"] == "小店"
        await c.expect("queue", position=1)
        a, _ = await agent(gw, ta)
        await a.expect("assign", chat=w["chat"])
        await c.expect("agent", name="小美")
        await a.send({"t": "transfer", "chat": w["chat"], "to": "group:after-sales"})
        await a.expect("transferred")
        sysmsg, _ = await frames_until(c, lambda f: f["t"] == "msg" and f["from"] == "system")
        assert sysmsg["text"] == "亲，正在为您转接其他客服，请稍候～"

    run(body(), timeout=60)


def test_closing_with_an_outcome_sends_the_matching_farewell(redis, gateway):
    gw = gateway(redis.url, stores=store(
        hold_max=0, farewell_sold="Thanks for your order, {buyer}!",
        farewell_no_sale="Come back any time, {buyer}."), stats_flush="200ms")
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", capacity=3)

    async def body():
        a, _ = await agent(gw, ta)
        out = {}
        for outcome, text in (("sold", "Thanks for your order, Ann!"),
                              ("no_sale", "Come back any time, Ann."), (None, None)):
            c, w = await buyer(gw, name="Ann")
            await c.send({"t": "msg", "id": "m1", "text": "hi"})
            await frames_until(a, lambda f: f["t"] == "assign" and f["chat"] == w["chat"])
            close = {"t": "close", "chat": w["chat"]}
            if outcome:
                close["outcome"] = outcome
            await a.send(close)
            f, _ = await frames_until(c, lambda f: f["t"] in ("msg", "closed") and
                                      f.get("from") != "buyer" and f.get("seq") != 2)
            if text:
                assert (f["t"], f["from"], f["text"]) == ("msg", "auto", text)
                await c.expect("closed", reason="agent_closed")
            else:
                assert f["t"] == "closed"
            out[outcome] = w["chat"]
        # a bad outcome is refused and closes nothing
        c, w = await buyer(gw)
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await frames_until(a, lambda f: f["t"] == "assign" and f["chat"] == w["chat"])
        await a.send({"t": "close", "chat": w["chat"], "outcome": "maybe"})
        await a.expect("error", code="bad_value")
        out["bad"] = w["chat"]
        return out

    out = run(body(), timeout=60)
    assert chat_meta(r, out["sold"])["state"] == "closed"
    assert r.hget(chat_key(out["sold"]), "outcome") == b"sold"
    assert r.hget(chat_key(out["no_sale"]), "outcome") == b"no_sale"
    assert r.hget(chat_key(out[None]), "outcome") is None
    assert chat_meta(r, out["bad"])["state"] == "open"
    wait_for(lambda: stats(r).get("a:alice", {}).get("sold") == 1, what="sales counted")
    assert stats(r)["s"]["no_sale"] == 1
