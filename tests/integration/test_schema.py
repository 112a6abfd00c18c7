"""The layout of the data in Redis (cg:schema, daemon/lua/schema.lua): a new
Redis gets the current version, an older layout is brought up to date
with nothing lost, and a Redis written by a newer chatgwd is refused."""
import hashlib
import os
import time

import msgpack

from client import Client, run
from conftest import chat_key, chat_meta, chat_transcript, wait_for
from test_agents import agent, make_agent

CURRENT = 3


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
    assert f"event=schema_newer found=99 supported={CURRENT}" in log
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


def test_the_first_layout_is_upgraded_and_a_resend_is_still_stored_once(redis, gateway):
    r = redis.client()
    chat, resume = old_layout_chat(r)
    gw = gateway(redis.url)
    wait_for(lambda: r.get("cg:schema") == str(CURRENT).encode(), what="the upgrade")
    h = r.hgetall(chat_key(chat))
    assert h.get(b"buyer\0m1") == b"1" and b"m1" not in h
    assert b"\0renewed" in h
    assert not r.keys(f"cg:chat:{{{chat}}}:*")               # the old keys are gone
    log = gw.logtext()
    assert "event=schema_upgraded from=1 to=2" in log
    assert "event=schema_upgraded from=2 to=3" in log

    async def body():
        c = await Client.connect(gw.ws)
        await c.send({"t": "hello", "resume": resume, "since": 2})
        w = await c.expect("welcome", chat=chat)
        assert w["seq"] == 2
        await c.send({"t": "msg", "id": "m1", "text": "hi"})       # the ack was lost: resend
        assert (await c.expect("ack", id="m1"))["seq"] == 1

    run(body())
    assert [m["text"] for m in chat_transcript(r, chat)] == ["hi", "Welcome"]


def layout2_chat(r, agent_id, texts):
    """A chat as layout 2 wrote it: four keys, held by agent_id."""
    chat, secret = os.urandom(16).hex(), os.urandom(16).hex()
    now = int(time.time() * 1000)
    meta = {"store": "demo", "buyer": "b-2", "name": "Bo", "group": "pre-sales",
            "created": now - 5000, "state": "open", "assigned": now - 4000,
            "agent": agent_id, "agent_name": agent_id.title(),
            "tok": hashlib.sha256(bytes.fromhex(secret)).hexdigest()}
    k = lambda part: f"cg:chat:{{{chat}}}:{part}"
    r.set(k("meta"), msgpack.packb(meta), px=3600_000)
    r.rpush(k("log"), *[msgpack.packb({"from": frm, "name": "x", "text": t, "ts": now})
                        for frm, t in texts])
    r.pexpire(k("log"), 3600_000)
    r.hset(k("ids"), mapping={"buyer\0b1": 1, f"agent:{agent_id}\0a1": 3, "\0renewed": now})
    r.pexpire(k("ids"), 3600_000)
    r.set(k("loc"), "node-gone", px=3600_000)
    r.sadd(f"cg:achats:{agent_id}", chat)
    r.hset(f"cg:ar:{agent_id}", mapping={"load": 1, "state": "away", "idle": now})
    return chat, chat + secret


def test_a_chat_of_layout_2_keeps_its_messages_agent_and_ids(redis, gateway):
    r = redis.client()
    token = make_agent(r, "alice")
    r.set("cg:schema", 2)
    r.sadd("cg:stores", "demo")
    texts = [("buyer", "is it red?"), ("auto", "Welcome"), ("agent", "yes it is")]
    chat, resume = layout2_chat(r, "alice", texts)
    idle, _ = layout2_chat(r, "alice", [("buyer", "anyone?"), ("auto", "Welcome")])
    gw = gateway(redis.url)
    wait_for(lambda: r.get("cg:schema") == b"3", what="the upgrade")
    assert "event=schema_upgraded from=2 to=3" in gw.logtext()
    assert not r.keys("cg:chat:*:*")
    m = chat_meta(r, chat)
    assert (m["agent"], m["state"], m["buyer"]) == ("alice", "open", "b-2")
    assert [t["text"] for t in chat_transcript(r, chat)] == [t for _, t in texts]
    assert 0 < r.pttl(chat_key(chat)) <= 3600_000

    async def body():
        # the agent still holds both chats, with their history
        a, w = await agent(gw, token)
        held = {c["chat"]: [h["text"] for h in c["history"]] for c in w["chats"]}
        assert held == {chat: [t for _, t in texts], idle: ["anyone?", "Welcome"]}
        # the buyer comes back: what it had is not sent again, ids still hold
        b = await Client.connect(gw.ws)
        await b.send({"t": "hello", "resume": resume, "since": 3})
        assert (await b.expect("welcome", chat=chat))["seq"] == 3
        await b.expect("agent", name="Alice")
        await b.send({"t": "msg", "id": "b1", "text": "is it red?"})   # a resend
        assert (await b.expect("ack", id="b1"))["seq"] == 1
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "yes it is"})
        assert (await a.expect("ack", id="a1"))["seq"] == 3
        # and the chat goes on, both ways, through the new layout
        await b.send({"t": "msg", "id": "b2", "text": "and in blue?"})
        assert (await b.expect("ack", id="b2"))["seq"] == 4
        got = await a.expect("msg", chat=chat)
        assert (got["seq"], got["text"]) == (4, "and in blue?")
        await a.send({"t": "msg", "chat": chat, "id": "a2", "text": "blue too"})
        got = await b.expect("msg", seq=5)
        assert got["text"] == "blue too"

    run(body())
    assert len(chat_transcript(r, chat)) == 5
