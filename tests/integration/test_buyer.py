"""The buyer's path: hello, the instant greeting, durable messages, resume, bye."""
import asyncio
import re
import time

import msgpack

from client import Client, Closed, buyer, run
from conftest import chat_key, chat_meta, chat_transcript, wait_for


transcript = chat_transcript
meta = chat_meta


def test_hello_greeting_ack_queue_and_what_redis_holds(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw, name="Ann", buyer="u-42")
        assert re.fullmatch(r"[0-9a-f]{32}", w["chat"])
        assert re.fullmatch(r"[0-9a-f]{64}", w["resume"]) and w["resume"].startswith(w["chat"])
        assert w["seq"] == 0
        greet, ack, queue = await c.first_message("Is the red one in stock?")
        assert greet["text"] == "Welcome to Demo Store, Ann! An agent will be with you shortly."
        assert greet["name"] == "Demo Store" and greet["seq"] == 2
        assert ack["seq"] == 1
        assert queue["position"] == 1
        await c.close()
        return w

    w = run(body())
    r = redis.client()
    log = transcript(r, w["chat"])
    assert [(m["from"], m["text"]) for m in log] == [
        ("buyer", "Is the red one in stock?"),
        ("auto", "Welcome to Demo Store, Ann! An agent will be with you shortly.")]
    m = meta(r, w["chat"])
    assert (m["store"], m["buyer"], m["group"], m["state"]) == ("demo", "u-42", "pre-sales", "open")
    assert isinstance(m["created"], int) and abs(m["created"] / 1000 - time.time()) < 60
    # only a hash of the resume secret is stored
    secret = w["resume"][32:]
    assert secret not in repr(m) and secret.encode() not in b"".join(
        r.dump(k) or b"" for k in r.keys("*"))
    # the chat waits in its group's queue, numbered by the arrival counter
    score = r.zscore("cg:q:demo:pre-sales", w["chat"])
    assert score == int(r.get("cg:qseq")) and score >= 1
    # and the whole chat is kept for transcript_ttl from its first message
    assert r.pttl(chat_key(w["chat"])) > 80 * 86400 * 1000


def test_greeting_is_rendered_per_store_and_missing_values_are_empty(redis, gateway):
    gw = gateway(redis.url, stores={
        "a": {"name": "Shop A", "greeting": "Hi {buyer}, this is {store}.{position}"},
        "b": {"greeting": "Store {store} says hi"}})

    async def body():
        c, _ = await buyer(gw, store="a")
        g, _, _ = await c.first_message()
        assert g["text"] == "Hi , this is Shop A."
        c2, _ = await buyer(gw, store="b", name="Bo")
        g2, _, _ = await c2.first_message()
        assert g2["text"] == "Store b says hi" and g2["name"] == "b"

    run(body())


def test_msgpack_session_gets_msgpack_replies(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw, binary=True, name="Mia")
        greet, ack, queue = await c.first_message("msgpack here")
        assert greet["from"] == "auto" and ack["seq"] == 1 and queue["position"] == 1
        return w

    w = run(body())
    assert transcript(redis.client(), w["chat"])[0]["text"] == "msgpack here"


def test_seq_has_no_gaps_and_a_repeated_id_is_stored_once(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw)
        await c.first_message("one", "m1")
        seqs = []
        for i in range(2, 6):
            await c.send({"t": "msg", "id": f"m{i}", "text": f"msg {i}"})
            seqs.append((await c.expect("ack", id=f"m{i}"))["seq"])
        assert seqs == [3, 4, 5, 6]
        await c.send({"t": "msg", "id": "m3", "text": "msg 3"})      # a resend
        assert (await c.expect("ack", id="m3"))["seq"] == 4
        return w

    w = run(body())
    log = transcript(redis.client(), w["chat"])
    assert [m["text"] for m in log][2:] == ["msg 2", "msg 3", "msg 4", "msg 5"]
    assert len(log) == 6


def test_resume_replays_everything_after_since_then_continues(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw, name="Ann")
        await c.first_message("first", "a1")
        for i in range(2, 5):
            await c.send({"t": "msg", "id": f"a{i}", "text": f"text {i}"})
            await c.expect("ack")
        await c.ws.close()                       # network drop

        c2 = await Client.connect(gw.ws)
        await c2.send({"t": "hello", "resume": w["resume"], "since": 1})
        w2 = await c2.expect("welcome", chat=w["chat"], seq=5)
        got = [await c2.expect("msg") for _ in range(4)]
        assert [m["seq"] for m in got] == [2, 3, 4, 5]
        assert [m["text"] for m in got][1:] == ["text 2", "text 3", "text 4"]
        assert got[0]["from"] == "auto" and got[1]["from"] == "buyer"
        await c2.silent(0.3)                     # nothing twice
        # the chat goes on where it was; the greeting is not sent again
        await c2.send({"t": "msg", "id": "a5", "text": "back again"})
        assert (await c2.expect("ack", id="a5"))["seq"] == 6
        # a client that lost its ack resends the last id: same seq
        await c2.send({"t": "msg", "id": "a4", "text": "text 4"})
        assert (await c2.expect("ack", id="a4"))["seq"] == 5
        assert w2["resume"] == w["resume"]

    run(body())


def test_resume_with_a_wrong_token_learns_nothing(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw)
        await c.first_message()
        forged = w["resume"][:32] + ("0" if w["resume"][32] != "0" else "1") + w["resume"][33:]
        unknown = "ab" * 16 + w["resume"][32:]
        answers = []
        for token in (forged, unknown, "zz", w["resume"][:40]):
            c2 = await Client.connect(gw.ws)
            await c2.send({"t": "hello", "resume": token, "since": 0})
            e = await c2.expect("error", code="unauthorized")
            answers.append(e)
            assert await c2.closed() == (1008, "policy")
        # the same answer whether the chat exists or not
        assert all(a == answers[0] for a in answers)
        assert set(answers[0]) == {"t", "code", "text"}
        # the real buyer still works
        await c.send({"t": "msg", "id": "m2", "text": "still here"})
        await c.expect("ack", seq=3)

    run(body())


def test_bye_closes_the_chat_and_starts_retention(redis, gateway):
    gw = gateway(redis.url, transcript_ttl="1h")

    async def body():
        c, w = await buyer(gw)
        await c.first_message()
        await c.send({"t": "bye"})
        await c.expect("closed", reason="buyer_left")
        assert await c.closed() == (1000, "normal")
        # a resume after the end replays the chat and says it is closed
        c2 = await Client.connect(gw.ws)
        await c2.send({"t": "hello", "resume": w["resume"], "since": 0})
        await c2.expect("welcome", seq=2)
        await c2.expect("msg", seq=1)
        await c2.expect("msg", seq=2)
        await c2.expect("closed", reason="buyer_left")
        await c2.send({"t": "msg", "id": "late", "text": "hello?"})
        await c2.expect("error", code="conflict", ref="late")
        return w

    w = run(body())
    r = redis.client()
    m = meta(r, w["chat"])
    assert m["state"] == "closed" and m["reason"] == "buyer_left"
    assert abs(m["closed"] / 1000 - time.time()) < 60
    ttl = r.pttl(chat_key(w["chat"]))
    assert 0 < ttl <= 3600 * 1000, ttl
    assert r.zscore("cg:q:demo:pre-sales", w["chat"]) is None
    assert len(transcript(r, w["chat"])) == 2


def test_activity_restarts_the_retention_clock(redis, gateway):
    # transcript_ttl 4s: a chat with a message every 1.5 s outlives it, its
    # one key always about to expire 4 s after the latest renewal
    gw = gateway(redis.url, transcript_ttl="4s")
    r = redis.client()

    async def body():
        c, w = await buyer(gw)
        await c.first_message()
        keys = [chat_key(w["chat"])]
        for k in keys:
            assert 0 < r.pttl(k) <= 4000, k
        for i in range(4):                  # 6 s of activity, longer than the ttl
            await asyncio.sleep(1.5)
            await c.send({"t": "msg", "id": f"later{i}", "text": "still there?"})
            while (f := await c.recv())["t"] != "ack":
                assert f["t"] == "msg" and f["from"] == "auto", f   # holding replies
            assert f["id"] == f"later{i}", f
            for k in keys:
                assert 3000 < r.pttl(k) <= 4000, (k, r.pttl(k))
        return keys

    keys = run(body())
    assert all(r.exists(k) for k in keys)
    # no activity: gone after the ttl
    wait_for(lambda: not any(r.exists(k) for k in keys), 6, what="the chat's keys to expire")


def test_typing_read_and_their_bad_values(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, _ = await buyer(gw)
        await c.send({"t": "typing"})
        await c.send({"t": "read", "seq": 0})
        # neither has a reply: the next frame is the answer to this msg
        greet, _, _ = await c.first_message()
        assert greet["seq"] == 2
        await c.send({"t": "read", "seq": 2})
        await c.send({"t": "read", "seq": -1})
        await c.expect("error", code="bad_value", field="seq")
        await c.send({"t": "read", "seq": "2"})
        await c.expect("error", code="bad_value", field="seq")

    run(body())


def test_unknown_store_is_refused(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c = await Client.connect(gw.ws)
        await c.send({"t": "hello", "store": "nope"})
        await c.expect("error", code="not_found")
        assert await c.closed() == (1008, "policy")

    run(body())


def test_second_hello_is_a_conflict(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw)
        await c.send({"t": "hello", "store": "demo"})
        await c.expect("error", code="conflict")
        greet, ack, _ = await c.first_message()
        assert ack["seq"] == 1

    run(body())


def test_hold_reply_when_nobody_answers(redis, gateway):
    # the greeting is not a human answer: the first question gets a hold
    # too (the common case: one question, then waiting); see test_clock.py
    gw = gateway(redis.url, stores={"demo": {
        "name": "Demo Store", "greeting": "Hello!", "hold_after": "300ms", "breach_after": "10s",
        "hold_text": "Still here, {buyer}: you are number {position} in line."}})

    async def body():
        c, w = await buyer(gw, name="Ann")
        await c.first_message("anyone?")
        hold = await c.expect("msg", timeout=3, **{"from": "auto"})
        assert hold["text"] == "Still here, Ann: you are number 1 in line."
        assert hold["seq"] == 3
        await c.expect("queue", position=1)
        await c.silent(1.5)                    # once per unanswered message
        return w

    w = run(body())
    log = transcript(redis.client(), w["chat"])
    assert [m["text"] for m in log][2] == "Still here, Ann: you are number 1 in line."


def test_queue_position_counts_the_chats_ahead(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        positions = []
        for i in range(3):
            c, _ = await buyer(gw)
            _, _, q = await c.first_message()
            positions.append(q["position"])
        # another group has its own queue
        c, _ = await buyer(gw, group="after-sales")
        _, _, q = await c.first_message()
        assert positions == [1, 2, 3] and q["position"] == 1
        c2 = await Client.connect(gw.ws)
        await c2.send({"t": "hello", "store": "demo", "group": "no-such-group"})
        await c2.expect("error", code="bad_value")

    run(body())
