"""The escalate plugin as agents, buyers and supervisors' data see it: each
kind of rule (keywords, repeated bargaining, an agent's offer above the
limit, a buyer left waiting, the breach) and each action (the flag: the
agent's `escalation` event, the chat's fields, the floor channel, the
hourly statistics; the priority; the holding text; the move to a group),
once per chat within the window."""
import os
import time

import msgpack

from client import buyer, run
from conftest import ROOT, chat_key, chat_meta, chat_transcript, wait_for, wait_for_async
from test_agents import agent, frames_until, make_agent
from test_plugins import PLUGINS, assigned_chat, with_plugins

RULES = os.path.join(ROOT, "conf", "escalate.rules")
HOLD_ZH = "亲，这个问题我需要请示一下主管，请您稍等两分钟，马上给您答复~"
HOLD_EN = ("Let me ask my supervisor about this. Please wait two minutes, "
           "I'll be right back with you.")


def start(gateway, redis, tmp, rules=None, options="", **kw):
    """A gateway whose demo store loads escalate with rules (text, or the
    shipped file when None) and the extra option lines."""
    path = RULES
    if rules is not None:
        path = os.path.join(tmp, "escalate.rules")
        with open(path, "w") as f:
            f.write(rules)
    gw = gateway(redis.url, start=False, **kw)
    with_plugins(gw, f"    plugin escalate {PLUGINS}/escalate.so\n"
                     f"        rules {path}\n" + options)
    gw.start()
    return gw


def flags(r, chat):
    raw = r.hget(chat_key(chat), "flags")
    return msgpack.unpackb(raw, raw=False) if raw else []


def stats(r, store="demo"):
    """The store's statistics, summed over its hours (a test may run across
    an hour's end): {field: {counter: n}} (histograms left out)."""
    out = {}
    for key in r.scan_iter(f"cg:stats:{store}:*"):
        for k, v in r.hgetall(key).items():
            cur = out.setdefault(k.decode(), {})
            for name, x in msgpack.unpackb(v, raw=False).items():
                if not isinstance(x, list):
                    cur[name] = cur.get(name, 0) + x
    return out


def escalations(r, field="s"):
    return stats(r).get(field, {}).get("escalations", 0)


def auto_texts(r, chat):
    return [m["text"] for m in chat_transcript(r, chat) if m["from"] == "auto"]


def test_a_complaint_is_flagged_raised_and_the_buyer_is_asked_to_hold(redis, gateway,
                                                                      tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'words complaint "投诉|complain" flag priority=vip hold\n')
    r = redis.client()
    token = make_agent(r, "alice", "Alice")
    floor = r.pubsub()
    floor.subscribe("cg:floor:demo")
    floor.get_message(timeout=1)                    # the subscription's own

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        chat = bw["chat"]
        await b.send({"t": "msg", "id": "m2", "text": "你们再不处理我就投诉了"})
        await b.expect("ack", id="m2")
        # the buyer is asked to hold, in the language it wrote
        hold = await b.expect("msg", **{"from": "auto"})
        assert hold["text"] == HOLD_ZH and hold["name"] == "Demo Store"
        # the agent sees the message, then the escalation (and the hold)
        f, others = await frames_until(a, lambda f: f["t"] == "escalation")
        assert f == {"t": "escalation", "chat": chat, "rule": "complaint",
                     "excerpt": "你们再不处理我就投诉了"}
        assert others[0]["text"] == "你们再不处理我就投诉了"
        # once per chat within the window: the same again fires nothing
        await b.send({"t": "msg", "id": "m3", "text": "I will COMPLAIN about this"})
        await b.expect("ack", id="m3")
        await frames_until(a, lambda f: f.get("text") == "I will COMPLAIN about this")
        await a.silent(0.5)
        await b.silent(0.1)
        return chat

    chat = run(body())
    fl = flags(r, chat)
    assert [(x["rule"], x["excerpt"]) for x in fl] == [("complaint", "你们再不处理我就投诉了")]
    assert r.hget(chat_key(chat), "priority") == b"vip"
    assert escalations(r, "s") == escalations(r, "g:pre-sales") == escalations(r, "a:alice") == 1
    # the supervisors' floor channel got the event with its store
    msg = floor.get_message(timeout=2)
    ev = msgpack.unpackb(msg["data"], raw=False)
    assert {k: ev[k] for k in ("k", "chat", "store", "rule", "agent")} == {
        "k": "escalation", "chat": chat, "store": "demo", "rule": "complaint", "agent": "alice"}
    assert "rule=complaint" in gw.logtext() and "投诉" not in gw.logtext()


def test_english_is_matched_in_any_case_and_answered_in_english(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'words complaint "投诉|complain" flag priority=vip hold\n')
    r = redis.client()

    async def body():
        b, bw = await buyer(gw)
        await b.first_message("I want to COMPLAIN about my order", "m1")
        hold, _ = await frames_until(b, lambda f: f["t"] == "msg" and f["text"] == HOLD_EN)
        return bw["chat"]

    chat = run(body())
    # a waiting chat is flagged too (no agent to tell)
    wait_for(lambda: flags(r, chat), what="the flag")
    assert flags(r, chat)[0]["rule"] == "complaint"
    assert r.hget(chat_key(chat), "priority") == b"vip"


def test_the_shipped_rules_flag_each_kind_of_keyword(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path))
    r = redis.client()
    said = [("差评", "bad_review"), ("我要打12315", "authorities"), ("我要退款", "refund"),
            ("你们要赔偿我", "compensation"), ("叫你们经理来", "manager"),
            ("I'll file a complaint", "complaint")]
    english = [("I'll leave a BAD REVIEW", "bad_review"), ("I want my money back", "refund"),
               ("Let me talk to your Manager", "manager"),
               ("I'm calling the consumer association", "authorities")]

    async def body():
        chats = []
        for words in (said, english):
            b, bw = await buyer(gw)
            await b.first_message("hello", "m1")
            for i, (text, _) in enumerate(words):
                await b.send({"t": "msg", "id": f"x{i}", "text": text})
                await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == f"x{i}")
            chats.append(bw["chat"])
        return chats

    chats = run(body())
    for chat, words in zip(chats, (said, english)):
        wait_for(lambda: len(flags(r, chat)) == len(words), what="every flag")
        assert [x["rule"] for x in flags(r, chat)] == [rule for _, rule in words]
    # the first chat: a vip rule (bad_review) raised it, paid ones did not lower it
    assert r.hget(chat_key(chats[0]), "priority") == b"vip"
    assert escalations(r) == len(said) + len(english)
    # plain talk fires nothing
    async def calm():
        b, bw = await buyer(gw)
        await b.first_message("Is this jacket waterproof?", "m1")
        await b.send({"t": "msg", "id": "m2", "text": "这件衣服有黑色的吗"})
        await b.expect("ack", id="m2")
        await b.silent(0.5)
        return bw["chat"]
    calm_chat = run(calm())
    assert flags(r, calm_chat) == [] and r.hget(chat_key(calm_chat), "priority") is None


def test_repeated_bargaining_fires_on_the_nth_price_request_at_most_once_per_window(redis, gateway,
                                                                          tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'bargain haggling "便宜|优惠|cheaper|discount" count=3 flag\n',
               options="        window 1500ms\n")
    r = redis.client()

    async def body():
        b, bw = await buyer(gw)
        await b.first_message("hi", "m1")
        chat = bw["chat"]

        async def say(i, text):
            await b.send({"t": "msg", "id": f"p{i}", "text": text})
            await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == f"p{i}")

        await say(1, "能便宜点吗")
        await say(2, "what colours?")               # not a price request: not counted
        await say(3, "Any DISCOUNT?")
        await b.silent(0.3)
        assert flags(r, chat) == []
        await say(4, "再优惠一点吧")                  # the third
        await wait_for_async(lambda: len(flags(r, chat)) == 1, what="the flag")
        assert flags(r, chat)[0]["excerpt"] == "再优惠一点吧"
        # within the window: two more fire nothing (the count goes on)
        for i in range(5, 7):
            await say(i, "cheaper please")
        await b.silent(0.3)
        assert len(flags(r, chat)) == 1
        # past the window, the third since it fired fires again
        time.sleep(1.6)
        await say(7, "cheaper?")
        await wait_for_async(lambda: len(flags(r, chat)) == 2, what="the second flag")
        # and counting starts over from there
        await say(8, "cheaper!!")
        await b.silent(0.3)
        assert len(flags(r, chat)) == 2

    run(body())


def test_an_agent_offering_more_than_the_limit_is_flagged(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'offer big_offer "退你|退您|优惠|refund|discount" flag\n'
               'offer huge_offer "退你|refund" limit=100 flag\n',
               agent_msg_burst=100)
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        chat = bw["chat"]

        async def says(i, text):
            await a.send({"t": "msg", "chat": chat, "id": f"a{i}", "text": text})
            await frames_until(a, lambda f: f["t"] == "ack" and f["id"] == f"a{i}")

        # within the limit (15 yuan), or no amount of money: nothing
        for i, text in enumerate(["亲，退你10元运费", "给您打8折", "refund within 7 days",
                                  "这款199元，给您优惠5元", "discount 15"]):
            await says(i, text)
        await a.silent(0.4)
        assert flags(r, chat) == []
        # above it: the agent's own desk hears of the escalation too
        await says(10, "亲，退你20元可以吗")
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation")
        assert (f["rule"], f["excerpt"]) == ("big_offer", "亲，退你20元可以吗")
        await says(11, "OK, I can refund 150 yuan")
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation")
        assert f["rule"] == "huge_offer"            # big_offer fired already
        return chat

    chat = run(body())
    assert [x["rule"] for x in flags(r, chat)] == ["big_offer", "huge_offer"]
    # the message itself went through: escalate never holds an agent's message
    assert [m["text"] for m in chat_transcript(r, chat)][-1] == "OK, I can refund 150 yuan"
    assert escalations(r, "a:alice") == 2


def test_offer_limit_option_and_amounts_marked_as_money(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'offer big_offer "优惠|refund|discount" flag\n',
               options="        offer_limit 30\n")
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        chat = bw["chat"]
        for i, text in enumerate(["给您优惠20元", "a ¥25 discount", "20 yuan refund"]):
            await a.send({"t": "msg", "chat": chat, "id": f"a{i}", "text": text})
            await frames_until(a, lambda f: f["t"] == "ack" and f["id"] == f"a{i}")
        await a.silent(0.4)
        assert flags(r, chat) == []
        await a.send({"t": "msg", "chat": chat, "id": "a9", "text": "I'll give you a ¥35.5 discount"})
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation")
        assert f["rule"] == "big_offer"

    run(body())


def test_a_buyer_left_waiting_is_flagged_unless_answered_in_time(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'wait long_wait 1s flag priority=paid\n')
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        chat = bw["chat"]
        # answered at once: nothing, and the wait starts over with the next question
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "Hi, how can I help?"})
        await a.expect("ack", id="a1")
        time.sleep(1.5)
        await wait_for_async(lambda: True)
        assert flags(r, chat) == []
        await b.send({"t": "msg", "id": "m2", "text": "在吗？有人吗"})
        await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == "m2")
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation", timeout=5)
        assert f["rule"] == "long_wait" and f["excerpt"].endswith("s: 在吗？有人吗")
        return chat

    chat = run(body())
    assert r.hget(chat_key(chat), "priority") == b"paid"
    assert len(flags(r, chat)) == 1


def test_a_breach_can_be_escalated(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path), 'wait late breach flag\n',
               stores={"demo": {"name": "Demo Store", "hold_after": "300ms",
                                "breach_after": "600ms"}})
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        f, _ = await frames_until(a, lambda f: f["t"] == "breach", timeout=5)
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation", timeout=5)
        assert f["rule"] == "late" and f["chat"] == bw["chat"]
        return bw["chat"]

    chat = run(body())
    assert [x["rule"] for x in flags(r, chat)] == ["late"]


def test_a_rule_can_move_the_chat_to_another_group(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path),
               'words refund "退货|return" group=after-sales hold\n')
    r = redis.client()
    ta = make_agent(r, "alice", "Alice")
    tc = make_agent(r, "carol", "Carol", groups=("after-sales",))

    async def body():
        a, b, bw = await assigned_chat(gw, ta)
        chat = bw["chat"]
        carol, _ = await agent(gw, tc)
        await b.send({"t": "msg", "id": "m2", "text": "I want to return it"})
        # alice lets go, carol (after-sales) gets it, with the history
        await frames_until(a, lambda f: f["t"] == "unassign" and f["reason"] == "transferred")
        f, _ = await frames_until(carol, lambda f: f["t"] == "assign")
        assert f["chat"] == chat and f["group"] == "after-sales"
        # the buyer: asked to hold, then the transfer, then carol
        await frames_until(b, lambda f: f["t"] == "msg" and f["text"] == HOLD_EN)
        await frames_until(b, lambda f: f["t"] == "agent" and f["name"] == "Carol")
        return chat

    chat = run(body())
    m = chat_meta(r, chat)
    assert (m["agent"], m["group"]) == ("carol", "after-sales")
    assert flags(r, chat) == []                     # no flag action in that rule


def test_a_bad_rules_file_is_reported_with_its_line(redis, gateway, tmp_path):
    import subprocess
    from conftest import CHATGWD
    gw = gateway(redis.url, start=False)
    bad = os.path.join(str(tmp_path), "bad.rules")
    with open(bad, "w") as f:
        f.write('words ok "投诉" flag\nwords nothing "差评" priority=low\n')
    with_plugins(gw, f"    plugin escalate {PLUGINS}/escalate.so\n        rules {bad}\n")
    res = subprocess.run([CHATGWD, "--check-config", "-c", gw.conf], capture_output=True,
                         text=True)
    assert res.returncode == 1
    assert "bad.rules:2: priority= takes ordered, paid or vip" in res.stderr
    assert "plugin escalate of store demo: init failed" in res.stderr


def test_no_shipped_phrase_is_taken_for_an_offer_above_the_limit(redis, gateway, tmp_path):
    """The default library and the default rules agree: an agent who sends
    the store's own phrases is never flagged for an offer."""
    gw = gateway(redis.url, start=False, agent_msg_burst=1000)
    with_plugins(gw, f"    plugin quickreply {PLUGINS}/quickreply.so\n"
                     f"        library {ROOT}/conf/quickreply-zh.txt\n"
                     f"        library {ROOT}/conf/quickreply-en.txt\n"
                     f"    plugin escalate {PLUGINS}/escalate.so\n"
                     f"        rules {RULES}\n")
    gw.start()
    r = redis.client()
    token = make_agent(r, "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await a.send({"t": "quick_list"})
        keys = [p["key"] for c in (await a.expect("quick_list"))["categories"]
                for p in c["phrases"]]
        assert len(keys) >= 40
        for i, k in enumerate(keys):
            await a.send({"t": "quick", "chat": bw["chat"], "key": k, "id": f"q{i}"})
            f = await a.recv()
            assert f["t"] == "ack", (k, f)
        await a.silent(0.5)
        return bw["chat"]

    chat = run(body())
    assert flags(r, chat) == []
