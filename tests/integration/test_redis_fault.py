"""Redis stops, then comes back: the greeting stays instant, messages get
`unavailable` meanwhile, nothing acknowledged is lost, the daemon lives."""
import asyncio
import os
import re
import signal
import time

from client import Client, buyer, run
from conftest import wait_for
from test_buyer import transcript


def test_redis_outage_and_recovery(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        # before: a chat with acknowledged messages
        old, w_old = await buyer(gw, name="Ann")
        await old.first_message("before the outage", "o1")
        await old.send({"t": "msg", "id": "o2", "text": "second"})
        await old.expect("ack", seq=3)

        redis.stop()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_for(lambda: gw.health() == 503, 5, what="/healthz 503"))

        # a new buyer still gets a chat and the greeting at once
        c, w = await buyer(gw, name="Bo")
        t0 = time.monotonic()
        await c.send({"t": "msg", "id": "n1", "text": "during the outage"})
        greet = await c.expect("msg", **{"from": "auto"})
        assert time.monotonic() - t0 < 0.5
        assert greet["text"].startswith("Welcome to Demo Store, Bo!")
        await c.expect("error", code="unavailable", ref="n1")
        # the old session is told the same, and is not closed
        await old.send({"t": "msg", "id": "o3", "text": "anyone?"})
        await old.expect("error", code="unavailable", ref="o3")
        assert gw.proc.poll() is None

        redis.start()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_for(lambda: gw.health() == 200, 10, what="/healthz 200"))

        # the clients resend what was refused; both chats carry on
        await c.send({"t": "msg", "id": "n1", "text": "during the outage"})
        ack = await c.expect("ack", id="n1")
        await old.send({"t": "msg", "id": "o3", "text": "anyone?"})
        await old.expect("ack", id="o3", seq=4)
        return w_old, w, ack

    w_old, w, ack = run(body())
    r = redis.client()
    old_log = [m["text"] for m in transcript(r, w_old["chat"])]
    assert old_log[0] == "before the outage" and old_log[2:] == ["second", "anyone?"]
    new_log = transcript(r, w["chat"])
    buyer_msgs = [m["text"] for m in new_log if m["from"] == "buyer"]
    assert buyer_msgs == ["during the outage"]
    # the greeting the buyer saw is in the transcript too
    assert any(m["from"] == "auto" for m in new_log)
    assert gw.metrics()["chatgw_redis_up"] == 1
    assert "event=redis_down link=redis " in gw.logtext()


def test_gateway_starts_while_redis_is_down_and_waits(redis, gateway):
    redis.stop()
    gw = gateway(redis.url, start=False).start(wait_ready=False)

    async def body():
        await asyncio.sleep(0.5)
        assert gw.proc.poll() is None
        assert gw.health() == 503
        # sessions are served meanwhile: the greeting does not need Redis
        c, _ = await buyer(gw)
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await c.expect("msg", **{"from": "auto"})
        await c.expect("error", code="unavailable")
        redis.start()
        await asyncio.get_running_loop().run_in_executor(None, gw.wait_ready)
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await c.expect("ack", id="m1")

    run(body())


def test_stalled_redis_answers_unavailable_within_redis_timeout_then_recovers(redis, gateway):
    """Redis frozen (SIGSTOP): the buyer is told `unavailable` after
    redis_timeout instead of waiting for Redis, /healthz says 503, the
    subscriber link notices too; after SIGCONT the resent id is acked once
    and stored once, and the other session carried on."""
    gw = gateway(redis.url, redis_timeout="500ms")
    loop_wait = lambda pred, t, what: asyncio.get_running_loop().run_in_executor(
        None, lambda: wait_for(pred, t, what=what))

    async def body():
        a, w_a = await buyer(gw, name="Ann")
        await a.first_message("before the stall", "a1")
        other, w_o = await buyer(gw, name="Oz")
        await other.first_message("hello", "b1")

        os.kill(redis.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            await a.send({"t": "msg", "id": "a2", "text": "during the stall"})
            # the old gateway waited for Redis as long as it was stopped
            await a.expect("error", code="unavailable", ref="a2", timeout=3)
            waited = time.monotonic() - t0
            assert waited < 0.5 + 1.0, f"unavailable after {waited:.2f}s"
            assert gw.health() == 503
            # the subscriber link is probed on the same period
            await loop_wait(lambda: re.search(r"redis_down link=redis_sub .*reason=timeout",
                                              gw.logtext()), 3, "redis_sub timeout")
            # reconnecting to the frozen Redis does not make it ready again
            await asyncio.sleep(1.0)
            assert gw.health() == 503
            assert gw.proc.poll() is None
        finally:
            os.kill(redis.proc.pid, signal.SIGCONT)

        await loop_wait(lambda: gw.health() == 200, 10, "/healthz 200")
        # the same id again: one ack, with the message stored once
        await a.send({"t": "msg", "id": "a2", "text": "during the stall"})
        await a.expect("ack", id="a2", seq=3)
        await a.silent(0.5)
        # the other session was neither closed nor confused
        await other.send({"t": "msg", "id": "b2", "text": "still here"})
        await other.expect("ack", id="b2", seq=3)
        return w_a, w_o

    w_a, w_o = run(body())
    r = redis.client()
    assert [m["text"] for m in transcript(r, w_a["chat"]) if m["from"] == "buyer"] == \
        ["before the stall", "during the stall"]
    assert [m["text"] for m in transcript(r, w_o["chat"]) if m["from"] == "buyer"] == \
        ["hello", "still here"]
    assert re.search(r"redis_timeout link=redis waited_ms=\d+ inflight=[1-9]", gw.logtext())
