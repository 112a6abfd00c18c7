"""The layout of the data in Redis (cg:schema, daemon/lua/schema.lua): a new
Redis gets the current version, an older layout is brought up to date
with nothing lost, and a Redis written by a newer chatgwd is refused."""
import hashlib
import os
import time

import msgpack

from client import Client, run
from conftest import wait_for

CURRENT = 2


def test_a_new_redis_gets_the_current_layout(redis, gateway):
    gateway(redis.url)
    assert int(redis.client().get("cg:schema")) == CURRENT


def test_a_redis_of_a_newer_chatgwd_is_refused_with_a_clear_message(redis, gateway):
    r = redis.client()
    r.set("cg:schema", 99)
    gw = gateway(redis.url, start=False).start(wait_ready=False)
    wait_for(lambda: gw.proc.poll() is not None, 10, what="chatgwd to stop")
    assert gw.proc.returncode == 1
    log = gw.logtext()
    assert "event=schema_newer found=99 supported=2" in log
    assert int(r.get("cg:schema")) == 99            # untouched


def old_layout_chat(r):
    """A chat as the layout before cg:schema wrote it: ids not scoped by writer."""
    chat, secret = os.urandom(16).hex(), os.urandom(16).hex()
    now = int(time.time() * 1000)
    meta = {"store": "demo", "buyer": "b-1", "name": "Ann", "group": "pre-sales",
            "created": now, "state": "open",
            "tok": hashlib.sha256(bytes.fromhex(secret)).hexdigest()}
    r.set(f"cg:chat:{{{chat}}}:meta", msgpack.packb(meta))
    r.rpush(f"cg:chat:{{{chat}}}:log",
            msgpack.packb({"from": "buyer", "name": "Ann", "text": "hi", "ts": now, "id": "m1"}),
            msgpack.packb({"from": "auto", "name": "Demo Store", "text": "Welcome", "ts": now}))
    r.hset(f"cg:chat:{{{chat}}}:ids", mapping={"m1": 1, "\0renewed": now})
    r.sadd("cg:stores", "demo")                      # a gateway served this Redis
    return chat, chat + secret


def test_the_previous_layout_is_upgraded_and_a_resend_is_still_stored_once(redis, gateway):
    r = redis.client()
    chat, resume = old_layout_chat(r)
    gw = gateway(redis.url)
    wait_for(lambda: r.get("cg:schema") == b"2", what="the upgrade")
    ids = r.hgetall(f"cg:chat:{{{chat}}}:ids")
    assert ids.get(b"buyer\0m1") == b"1" and b"m1" not in ids
    assert b"\0renewed" in ids
    assert "event=schema_upgraded from=1 to=2" in gw.logtext()

    async def body():
        c = await Client.connect(gw.ws)
        await c.send({"t": "hello", "resume": resume, "since": 2})
        w = await c.expect("welcome", chat=chat)
        assert w["seq"] == 2
        await c.send({"t": "msg", "id": "m1", "text": "hi"})       # the ack was lost: resend
        assert (await c.expect("ack", id="m1"))["seq"] == 1

    run(body())
    assert r.llen(f"cg:chat:{{{chat}}}:log") == 2
