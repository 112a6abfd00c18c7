"""The host's actions on a chat as a plugin uses them (flag, set_priority,
move_group, read_last), driven by a small test plugin (plugins/actions.c,
built here) that a buyer commands with "!CMD ARGS" and that answers in
the chat with the result code: what each does to the chat in Redis and to
the people in it, its refusals, a per-store plugin kept to its store, and
each hook's time in /metrics."""
import os
import subprocess
import time

import msgpack
import pytest

from client import buyer, run
from conftest import ROOT, chat_key, chat_meta, wait_for
from test_agents import frames_until, make_agent
from test_plugins import assigned_chat, with_plugins
from test_escalate import escalations, flags

HERE = os.path.dirname(os.path.abspath(__file__))
OK, INVAL, NOTFOUND, CLOSED = 0, -2, -6, -7
STORES = {"other": {"name": "Other Store"},
          "demo": {"name": "Demo Store", "greeting": "Welcome to {store}!"}}


@pytest.fixture
def gw(redis, gateway, tmp_path):
    so = os.path.join(str(tmp_path), "actions.so")
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-shared",
                    "-fPIC", "-I", os.path.join(ROOT, "plugins"), "-o", so,
                    os.path.join(HERE, "plugins", "actions.c")], check=True)
    g = gateway(redis.url, start=False, stores=STORES)
    with_plugins(g, f"    plugin actions {so}\n")      # in the demo store's block
    g.start()
    return g


async def command(b, text, mid, seen=None):
    """Sends "!..." as the buyer; the plugin's answer: (separator, code,
    data). The frames that came before it are added to seen."""
    await b.send({"t": "msg", "id": mid, "text": text})
    cmd = text.split()[2] if text.startswith("!on ") else text[1:].split()[0]
    f, others = await frames_until(b, lambda f: f["t"] == "msg" and f["from"] == "system" and
                                   f["text"].startswith(cmd + " "))
    if seen is not None:
        seen.extend(others)
    head, _, data = f["text"].partition(": ")
    _, sep, code = head.split(" ")
    return sep, int(code), data


async def new_chat(gw, store="demo"):
    b, bw = await buyer(gw, store=store)
    await b.first_message("hello", "m1")
    return b, bw["chat"]


def test_flag_keeps_it_on_the_chat_counts_it_and_tells_the_floor(gw, redis):
    r = redis.client()
    floor = r.pubsub()
    floor.subscribe("cg:floor:demo")
    floor.get_message(timeout=1)

    async def body():
        b, chat = await new_chat(gw)
        assert await command(b, "!flag angry 这位顾客很生气", "c1") == ("->", OK, "")
        assert await command(b, "!flag long " + "投" * 100, "c2") == ("->", OK, "")
        # a rule is needed; the excerpt is not
        assert (await command(b, "!flag", "c3"))[:2] == ("=", INVAL)
        assert await command(b, "!flag bare", "c4") == ("->", OK, "")
        return chat

    chat = run(body())
    fl = flags(r, chat)
    assert [(f["rule"], f["excerpt"]) for f in fl] == [
        ("angry", "这位顾客很生气"), ("long", "投" * 80), ("bare", "")]   # cut to 240 bytes
    assert int(r.hget(chat_key(chat), "fln")) == 3
    assert escalations(r) == 3 and escalations(r, "g:pre-sales") == 3
    ev = msgpack.unpackb(floor.get_message(timeout=2)["data"], raw=False)
    assert (ev["k"], ev["chat"], ev["store"], ev["group"], ev["rule"], ev["n"]) == (
        "escalation", chat, "demo", "pre-sales", "angry", 1)
    assert "agent" not in ev                          # waiting: nobody holds it


def test_the_agent_holding_a_flagged_chat_is_told(gw, redis):
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await command(b, "!flag rude the buyer swears", "c1")
        f, _ = await frames_until(a, lambda f: f["t"] == "escalation")
        assert f == {"t": "escalation", "chat": bw["chat"], "rule": "rude",
                     "excerpt": "the buyer swears"}

    run(body())
    assert escalations(redis.client(), "a:alice") == 1


def test_priority_is_set_or_raised_by_name(gw, redis):
    r = redis.client()

    async def body():
        b, chat = await new_chat(gw)
        prio = lambda: r.hget(chat_key(chat), "priority")
        assert prio() is None                         # normal until someone says
        assert (await command(b, "!prio 2", "c1"))[1] == OK and prio() == b"paid"
        assert (await command(b, "!raise 1", "c2"))[1] == OK and prio() == b"paid"
        assert (await command(b, "!prio 1", "c3"))[1] == OK and prio() == b"ordered"
        assert (await command(b, "!raise 3", "c4"))[1] == OK and prio() == b"vip"
        assert (await command(b, "!prio 0", "c5"))[1] == OK and prio() == b"normal"
        assert (await command(b, "!prio 4", "c6"))[:2] == ("=", INVAL)
        assert (await command(b, "!prio -1", "c7"))[:2] == ("=", INVAL)
        assert prio() == b"normal"
        # the queue's order is not changed (yet): the chat keeps its place
        return chat

    chat = run(body())
    assert r.zrank("cg:q:demo:pre-sales", chat) == 0


def test_move_group_puts_the_chat_at_the_head_of_the_other_queue(gw, redis):
    r = redis.client()

    async def body():
        b, chat = await new_chat(gw)
        r.zadd("cg:q:demo:after-sales", {"f" * 32: 1})              # someone queued earlier
        seen = []
        assert (await command(b, "!move after-sales", "c1", seen))[1] == OK
        # the buyer: the store's transfer text, then its place in the new queue
        assert [f["t"] for f in seen][-2:] == ["msg", "queue"]
        assert seen[-2]["from"] == "system" and seen[-1]["position"] == 1
        assert r.zrank("cg:q:demo:after-sales", chat) == 0
        assert r.zscore("cg:q:demo:pre-sales", chat) is None
        # already there: nothing changes; an unknown group, a bad name
        assert (await command(b, "!move after-sales", "c2"))[1] == OK
        assert (await command(b, "!move no-such", "c3"))[:2] == ("->", NOTFOUND)
        assert (await command(b, "!move bad/name", "c4"))[:2] == ("=", INVAL)
        return chat

    chat = run(body())
    assert chat_meta(r, chat)["group"] == "after-sales"


def test_read_last_gives_the_last_messages_oldest_first(gw, redis):
    async def body():
        b, chat = await new_chat(gw)
        for i in range(3):
            await b.send({"t": "msg", "id": f"x{i}", "text": f"line {i}"})
            await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == f"x{i}")
        sep, rc, data = await command(b, "!last 3", "c1")
        assert (sep, rc) == ("->", OK)
        # the command itself is the newest message
        assert [m.split(":", 3)[1:] for m in data.split("|")] == [
            ["buyer", "", "line 1"], ["buyer", "", "line 2"], ["buyer", "", "!last 3"]]
        seqs = [int(m.split(":")[0]) for m in data.split("|")]
        assert seqs == list(range(seqs[0], seqs[0] + 3))
        # more than there are: all of them, from the first (the greeting is from auto)
        sep, rc, data = await command(b, "!last 100", "c2")
        first = data.split("|")
        assert first[0].startswith("1:buyer::hello") and first[1].startswith("2:auto:Demo Store:")
        assert (await command(b, "!last 0", "c3"))[:2] == ("=", INVAL)
        assert (await command(b, "!last 101", "c4"))[:2] == ("=", INVAL)

    run(body())


def test_a_store_s_plugin_cannot_touch_another_store_s_chat(gw, redis):
    r = redis.client()

    async def body():
        ob, other = await new_chat(gw, store="other")
        b, chat = await new_chat(gw)
        for cmd in ("flag x y", "prio 2", "move after-sales", "last 2"):
            assert (await command(b, f"!on {other} {cmd}", cmd))[:2] == ("->", NOTFOUND), cmd
            assert (await command(b, f"!on {'0' * 32} {cmd}", "n" + cmd))[:2] == ("->", NOTFOUND)
        assert (await command(b, "!on not-a-chat flag x", "c9"))[:2] == ("=", INVAL)
        return other

    other = run(body())
    assert flags(r, other) == [] and r.hget(chat_key(other), "priority") is None
    assert chat_meta(r, other)["group"] == "pre-sales"


def test_a_closed_chat_may_be_flagged_but_not_moved_or_raised(gw, redis):
    r = redis.client()

    async def body():
        gone, closed = await new_chat(gw)
        await gone.send({"t": "bye"})
        await frames_until(gone, lambda f: f["t"] == "closed")
        b, chat = await new_chat(gw)
        assert (await command(b, f"!on {closed} prio 2", "c1"))[1] == CLOSED
        assert (await command(b, f"!on {closed} move after-sales", "c2"))[1] == CLOSED
        assert (await command(b, f"!on {closed} flag late the buyer left angry", "c3"))[1] == OK
        return closed

    closed = run(body())
    assert [f["rule"] for f in flags(r, closed)] == ["late"]


def test_each_hook_s_time_is_in_metrics(gw, redis):
    async def body():
        b, chat = await new_chat(gw)
        for i in range(5):
            await b.send({"t": "msg", "id": f"x{i}", "text": f"plain {i}"})
            await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == f"x{i}")

    run(body())
    lbl = '{plugin="actions",store="demo",hook="BUYER_MSG"}'
    m = wait_for(lambda: (lambda m: m if m.get("chatgw_plugin_hook_calls_total" + lbl) == 6
                          else None)(gw.metrics()), what="six calls counted")
    p99, mx = m["chatgw_plugin_hook_p99_seconds" + lbl], m["chatgw_plugin_hook_max_seconds" + lbl]
    assert 0 < p99 <= mx < 0.5
    assert 0 < m["chatgw_plugin_hook_seconds_total" + lbl] <= 6 * mx
