"""Priority, signed product context and returning buyers (issue 12, items
6 and 7). A store's site signs a buyer's context exactly as
proto/PROTOCOL.md shows (sign() below is that recipe); the gateway trusts
only what it can verify, gives the product to the agent alone, orders the
queue by priority with aging, and brings a returning buyer back to its
last agent."""
import asyncio
import base64
import hashlib
import hmac
import json
import time

from client import Client, buyer
from conftest import DEMO_GREETING, chat_key, chat_meta
from test_agents import FAST, agent, frames_until, make_agent

SECRET = "s3cret-of-the-demo-store"
PRODUCT = {"id": "sku-42", "title": "Blue kettle, 1.7 l", "price": "39.90 EUR",
           "url": "https://shop.example/p/sku-42"}


def sign(payload, secret=SECRET):
    """The recipe of PROTOCOL.md: base64url(JSON) "." hex(HMAC-SHA256)."""
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return body + "." + mac


def context(buyer_id, priority="normal", product=None, exp=None, secret=SECRET):
    p = {"exp": exp if exp is not None else int(time.time()) + 600,
         "buyer": {"id": buyer_id, "name": f"Signed {buyer_id}"}, "priority": priority}
    if product:
        p["product"] = product
    return sign(p, secret)


def stores(**kw):
    s = {"name": "Demo Store", "greeting": DEMO_GREETING, "context_secret": SECRET,
         "hold_max": 0, "breach_after": "7d", "reassign_after": "0", "away_reassign": "0"}
    s.update(kw)
    return {"demo": s}


async def drain(c, seconds=0.3):
    """Every frame c gets within seconds."""
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got.append(await c.recv(max(0.05, end - time.monotonic())))
        except (asyncio.TimeoutError, TimeoutError):
            break
    return got


def test_priority_goes_first_with_aging_so_nobody_waits_forever(redis, gateway):
    # vip weight 3: a vip chat goes before the chats that arrived at most
    # 3 arrivals earlier, so the 4th vip after a normal chat goes after it
    gw = gateway(redis.url, stores=stores(priority_weight_vip=3), **FAST)
    token = make_agent(redis.client(), "alice", capacity=10)

    async def body():
        order = []
        n, _ = await buyer(gw, name="Norma")
        await n.first_message("normal one")
        order_names = {}
        for i in range(4):
            v, vw = await buyer(gw, name=f"Vip{i}", context=context(f"v{i}", "vip"))
            await v.first_message(f"vip {i}")
            order_names[vw["chat"]] = f"vip{i}"
        a, _ = await agent(gw, token)
        for _ in range(5):
            asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
            order.append(order_names.get(asg["chat"], "normal"))
            assert asg.get("priority") == ("vip" if asg["chat"] in order_names else None)
        assert order == ["vip0", "vip1", "vip2", "normal", "vip3"]
    asyncio.run(body())


def test_bad_and_expired_contexts_are_ignored_and_logged_the_product_reaches_the_agent_only(
        redis, gateway):
    gw = gateway(redis.url, stores=stores(), **FAST)
    token = make_agent(redis.client(), "alice", capacity=10)
    r = redis.client()

    async def body():
        forged, fw = await buyer(gw, name="F", context=context("u-forged", "vip", PRODUCT,
                                                                 secret="not-the-secret"))
        await forged.first_message("forged")
        old, ow = await buyer(gw, name="O", context=context("u-old", "vip", PRODUCT,
                                                             exp=int(time.time()) - 5))
        await old.first_message("expired")
        junk, jw = await buyer(gw, name="J", context="no-dot-here")
        await junk.first_message("junk")
        good, gwel = await buyer(gw, name="G", context=context("u-good", "paid", PRODUCT))
        await good.first_message("which kettle?")
        def record(w):
            return r.hgetall(f"cg:chat:{{{w['chat']}}}")
        for w in (fw, ow, jw):
            m = record(w)
            assert b"store" in m
            assert b"priority" not in m and b"sbuyer" not in m and b"product" not in m
        m = record(gwel)
        assert m[b"priority"] == b"paid" and m[b"sbuyer"] == b"u-good" and b"product" in m
        log = gw.logtext()
        for reason in ("signature", "expired", "format"):
            assert f"reason={reason}" in log, reason
        assert SECRET not in log and "kettle" not in log and "u-forged" not in log
        # the agent: the product and the signed buyer with the good chat only
        a, _ = await agent(gw, token)
        seen = {}
        for _ in range(4):
            asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
            seen[asg["chat"]] = asg
        g = seen[gwel["chat"]]
        assert g["product"] == PRODUCT
        assert g["buyer"]["signed"] == {"id": "u-good", "name": "Signed u-good"}
        assert g["priority"] == "paid"
        for w in (fw, ow, jw):
            assert "product" not in seen[w["chat"]] and "signed" not in seen[w["chat"]]["buyer"]
        # and again in a new desk window's welcome
        a2, w2 = await agent(gw, token, ready=False)
        mine = {c["chat"]: c for c in w2["chats"]}
        assert mine[gwel["chat"]]["product"] == PRODUCT
        assert mine[gwel["chat"]]["buyer"]["signed"]["id"] == "u-good"
        # no buyer ever sees a product: not its own, not another's
        await a.send({"t": "msg", "chat": gwel["chat"], "id": "r1", "text": "Let me check."})
        await a.expect("ack", id="r1")
        for c in (forged, old, junk, good):
            frames = list(c.pushed) + await drain(c)
            text = json.dumps(frames)
            assert "sku-42" not in text and "kettle" not in text and "signed" not in text
    asyncio.run(body())


def test_a_returning_buyer_reaches_its_last_agent(redis, gateway):
    gw = gateway(redis.url, stores=stores(), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", capacity=1)
    tb = make_agent(r, "bob", capacity=1)

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw, name="Ret", context=context("u-ret"))
        await c1.first_message("first visit")
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
        assert asg["chat"] == w1["chat"]
        assert r.get("cg:buyer:demo:u-ret") == b"alice"
        assert 0 < r.pttl("cg:buyer:demo:u-ret") <= 7 * 86400 * 1000
        await a.send({"t": "close", "chat": w1["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        # bob is ready longer (first in line) but the returning buyer gets alice
        b, _ = await agent(gw, tb)
        await asyncio.sleep(0.05)
        await a.send({"t": "state", "state": "away"})
        await a.expect("state", state="away")
        await a.send({"t": "state", "state": "ready"})
        await a.expect("state", state="ready")
        c2, w2 = await buyer(gw, name="Ret", context=context("u-ret"))
        await c2.first_message("back again")
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
        assert asg["chat"] == w2["chat"]
        assert all(f["t"] != "assign" for f in await drain(b, 0.3))
    asyncio.run(body())


def test_a_returning_buyer_waits_sticky_wait_for_its_busy_agent_then_goes_to_anyone(
        redis, gateway):
    gw = gateway(redis.url, stores=stores(sticky_wait="1500ms"), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", capacity=1)
    tb = make_agent(r, "bob", capacity=1)

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw, name="Ret", context=context("u-ret"))
        await c1.first_message("first visit")
        await frames_until(a, lambda f: f["t"] == "assign")
        await a.send({"t": "close", "chat": w1["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        # alice becomes busy with someone else; bob is free
        other, _ = await buyer(gw, name="Other")
        await other.first_message("someone else")
        await frames_until(a, lambda f: f["t"] == "assign")
        b, _ = await agent(gw, tb)
        c2, w2 = await buyer(gw, name="Ret", context=context("u-ret"))
        t0 = time.monotonic()
        await c2.first_message("back again")
        # a chat arriving after it is not held up by it
        c3, w3 = await buyer(gw, name="Later")
        await c3.first_message("me too")
        asg, _ = await frames_until(b, lambda f: f["t"] == "assign", timeout=1.0)
        assert asg["chat"] == w3["chat"]
        await b.send({"t": "close", "chat": w3["chat"]})
        # the returning buyer waits for alice, then goes to bob
        asg, _ = await frames_until(b, lambda f: f["t"] == "assign", timeout=5)
        waited = time.monotonic() - t0
        assert asg["chat"] == w2["chat"]
        assert 1.3 <= waited <= 4.0, waited
        assert chat_meta(r, w2["chat"])["agent"] == "bob"
        assert r.get("cg:buyer:demo:u-ret") == b"bob"
    asyncio.run(body())


def test_a_returning_buyers_wait_for_its_busy_agent_ends_on_time_not_at_a_heartbeat(
        redis, gateway):
    # the heartbeat (the old path that noticed the wait's end) is 30 s: the
    # chat reaching bob within about sticky_wait shows the end fires on time
    gw = gateway(redis.url, stores=stores(sticky_wait="1s"), node_heartbeat="30s",
                 node_timeout="60s", agent_grace="1s")
    r = redis.client()
    ta = make_agent(r, "alice", capacity=1)
    tb = make_agent(r, "bob", capacity=1)

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw, name="Ret", context=context("u-ret"))
        await c1.first_message("first visit")
        await frames_until(a, lambda f: f["t"] == "assign")
        await a.send({"t": "close", "chat": w1["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        other, _ = await buyer(gw, name="Other")
        await other.first_message("someone else")
        await frames_until(a, lambda f: f["t"] == "assign")
        b, _ = await agent(gw, tb)
        c2, w2 = await buyer(gw, name="Ret", context=context("u-ret"))
        t0 = time.monotonic()
        await c2.first_message("back again")
        # it waits for alice: bob, free all along, gets nothing meanwhile
        assert all(f["t"] != "assign" for f in await drain(b, 0.6))
        asg, _ = await frames_until(b, lambda f: f["t"] == "assign", timeout=5)
        waited = time.monotonic() - t0
        assert asg["chat"] == w2["chat"]
        assert 0.9 <= waited <= 2.5, waited
        assert chat_meta(r, w2["chat"])["agent"] == "bob"
        # the buyer heard who has it
        await c2.expect("agent")
    asyncio.run(body())


def test_the_context_field_limits_are_options_over_one_the_context_is_ignored(redis, gateway):
    gw = gateway(redis.url, stores=stores(), context_title_chars=12, context_id_bytes=8, **FAST)
    r = redis.client()

    async def body():
        fits = dict(PRODUCT, title="Blue kettle")               # 11 characters
        over = dict(PRODUCT, title="Blue kettle, 1.7 l")        # 18
        ok, okw = await buyer(gw, name="Ok", context=context("u-1", "paid", fits))
        await ok.first_message("fits")
        long_t, lw = await buyer(gw, name="T", context=context("u-2", "paid", over))
        await long_t.first_message("title too long")
        long_id, iw = await buyer(gw, name="I", context=context("u-123456789", "paid"))
        await long_id.first_message("id too long")
        assert r.hget(chat_key(okw["chat"]), "sbuyer") == b"u-1"
        for w in (lw, iw):
            m = r.hgetall(chat_key(w["chat"]))
            assert b"store" in m and b"sbuyer" not in m and b"priority" not in m
        log = gw.logtext()
        assert "reason=product.title" in log and "reason=buyer.id" in log
    asyncio.run(body())


def test_a_new_chat_from_the_same_resume_chain_reaches_the_previous_agent(redis, gateway):
    # no signed context at all: the browser kept the closed chat's resume
    # token and gives it as previous (web/widget.js does so on "new chat")
    gw = gateway(redis.url, stores=stores(), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", capacity=1)
    tb = make_agent(r, "bob", capacity=1)

    async def bob_first(a):
        # alice's idle time starts over: bob, ready longer, is first in line
        await a.send({"t": "state", "state": "away"})
        await a.expect("state", state="away")
        await a.send({"t": "state", "state": "ready"})
        await a.expect("state", state="ready")

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw, name="Ret")
        await c1.first_message("first visit")
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
        assert asg["chat"] == w1["chat"]
        await a.send({"t": "close", "chat": w1["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        b, _ = await agent(gw, tb)
        await bob_first(a)
        c2, w2 = await buyer(gw, name="Ret", previous=w1["resume"])
        assert w2["chat"] != w1["chat"] and w2["seq"] == 0
        await c2.first_message("back again")
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
        assert asg["chat"] == w2["chat"]
        assert r.hget(chat_key(w2["chat"]), "pa") == b"alice"
        assert all(f["t"] != "assign" for f in await drain(b, 0.3))
        # and along the chain: the next chat names this one
        await a.send({"t": "close", "chat": w2["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        await bob_first(a)
        c3, w3 = await buyer(gw, name="Ret", previous=w2["resume"].upper())
        await c3.first_message("third time")
        asg, _ = await frames_until(a, lambda f: f["t"] == "assign")
        assert asg["chat"] == w3["chat"]
        assert all(f["t"] != "assign" for f in await drain(b, 0.3))
    asyncio.run(body())


def test_a_forged_or_unknown_previous_token_gives_no_stickiness_and_no_error(redis, gateway):
    gw = gateway(redis.url, stores=stores(), **FAST)
    r = redis.client()
    ta = make_agent(r, "alice", capacity=5)
    tb = make_agent(r, "bob", capacity=5)

    async def body():
        a, _ = await agent(gw, ta)
        c1, w1 = await buyer(gw, name="Ret")
        await c1.first_message("first visit")
        await frames_until(a, lambda f: f["t"] == "assign")
        await a.send({"t": "close", "chat": w1["chat"]})
        await frames_until(a, lambda f: f["t"] == "unassign")
        b, _ = await agent(gw, tb)
        await a.send({"t": "state", "state": "away"})
        await a.expect("state", state="away")
        await a.send({"t": "state", "state": "ready"})
        await a.expect("state", state="ready")
        # the real chat's id with another secret: it goes to bob, first in line
        forged = w1["chat"] + "0" * 32
        c2, w2 = await buyer(gw, name="Ret", previous=forged)
        await c2.first_message("let me in")
        asg, _ = await frames_until(b, lambda f: f["t"] == "assign")
        assert asg["chat"] == w2["chat"]
        assert all(f["t"] != "assign" for f in await drain(a, 0.3))
        # a chat that does not exist, a malformed token, none at all: the
        # same frames, no error, nothing recorded
        seen = []
        for prev in ("ab" * 32, "not-a-token", None):
            kw = {"previous": prev} if prev else {}
            c, w = await buyer(gw, name="Ret", **kw)
            greet, ack, queue = await c.first_message("hi")
            frames = [w, greet, ack] + ([queue] if queue else []) + list(c.pushed) \
                + await drain(c, 0.3)
            assert all(f["t"] != "error" for f in frames), frames
            seen.append(sorted(w))
            assert r.hget(chat_key(w["chat"]), "pa") is None
        assert seen[0] == seen[1] == seen[2]
        assert r.hget(chat_key(w2["chat"]), "pa") is None
        log = gw.logtext()
        assert "previous_ignored" in log and "reason=token" in log and "reason=format" in log
        assert forged not in log and w1["resume"] not in log
        # a previous that is no string is a bad frame like any other field
        c = await Client.connect(gw.ws)
        await c.send({"t": "hello", "store": "demo", "previous": 42})
        err = await c.expect("error")
        assert err["code"] == "bad_value" and err["field"] == "previous"
    asyncio.run(body())
