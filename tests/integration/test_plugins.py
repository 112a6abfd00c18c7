"""Plugins: the shipped quickreply and guard plugins as an agent sees them
(expansion with placeholders, unknown keys, the library, suggestions,
warn-confirm and block), a reload with new options while chats stay open,
and a plugin that fails to load being left out while the gateway serves."""
import os
import signal
import subprocess

from client import Client, buyer, run
from conftest import CHATGWD, ROOT, wait_for_async
from test_agents import agent, frames_until, make_agent

PLUGINS = os.path.join(ROOT, "build", "plugins")
GUARD_RULES = os.path.join(ROOT, "conf", "guard-tmall.rules")

LIBRARY = """\
# a test library
[greeting]
/hi 你好{buyer}，我是{agent}，欢迎光临{store}{product}！
/hi.en Hello {buyer}, I'm {agent} of {store}.
[delivery]
/ship 亲，付款后48小时内发货~
  triggers 发货 | 什么时候发 | when ship
/freeship 亲，是否包邮以页面为准哦~
  triggers 包邮
[farewell]
/bye 感谢光临{store}，再见~
"""


def plugin_lines(tmp, library=LIBRARY, rules=GUARD_RULES, extra=""):
    lib = os.path.join(tmp, "library.txt")
    with open(lib, "w") as f:
        f.write(library)
    return (f"    plugin quickreply {PLUGINS}/quickreply.so\n"
            f"        library {lib}\n"
            f"    plugin guard {PLUGINS}/guard.so\n"
            f"        rules {rules}\n" + extra)


def with_plugins(gw, text):
    """Writes the gateway's config with text after the (last, demo) store block."""
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write(text)


def start(gateway, redis, tmp, **kw):
    gw = gateway(redis.url, start=False, **kw)
    with_plugins(gw, plugin_lines(tmp))
    gw.start()
    return gw


async def assigned_chat(gw, token, name="Ann"):
    """A buyer with one message, taken by the agent: (agent, buyer, welcome)."""
    a, _ = await agent(gw, token)
    b, bw = await buyer(gw, name=name)
    await b.first_message("hello", "m1")
    await a.expect("assign", chat=bw["chat"])
    await b.expect("agent")
    return a, b, bw


async def replay(gw, bw):
    """The whole transcript as a buyer resuming from 0 sees it."""
    c = await Client.connect(gw.ws)
    await c.send({"t": "hello", "resume": bw["resume"], "since": 0})
    w = await c.expect("welcome")
    msgs = []
    while len(msgs) < w["seq"]:
        f = await c.recv()
        if f["t"] == "msg":
            msgs.append(f)
    await c.close()
    return msgs


def test_quick_reply_is_expanded_with_the_chat_s_names_and_sent_like_a_msg(redis, gateway,
                                                                           tmp_path):
    gw = start(gateway, redis, str(tmp_path))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/hi", "id": "q1"})
        ack = await a.expect("ack", chat=bw["chat"], id="q1")
        # {product} is unknown to the gateway today: empty
        assert ack["text"] == "你好Ann，我是Alice，欢迎光临Demo Store！"
        m = await b.expect("msg", **{"from": "agent"})
        assert (m["seq"], m["text"], m["name"]) == (ack["seq"], ack["text"], "Alice")
        # a resent id is stored once, like a msg
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/hi", "id": "q1"})
        await a.expect("ack", id="q1", seq=ack["seq"])
        # an unknown key: not_found, nothing sent
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/nope", "id": "q2"})
        await a.expect("error", code="not_found", ref="q2")
        # a chat that is not the agent's: forbidden, and no names leak
        await a.send({"t": "quick", "chat": "ab" * 16, "key": "/hi", "id": "q3"})
        await a.expect("error", code="forbidden", ref="q3")
        await b.silent(0.3)
        texts = [m["text"] for m in await replay(gw, bw)]
        assert texts.count(ack["text"]) == 1 and texts[-1] == ack["text"]

    run(body())


def test_quick_list_gives_the_library_by_category_in_its_order(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, _ = await agent(gw, token)
        await a.send({"t": "quick_list"})
        f = await a.expect("quick_list")
        assert [c["name"] for c in f["categories"]] == ["greeting", "delivery", "farewell"]
        assert [p["key"] for p in f["categories"][0]["phrases"]] == ["/hi", "/hi.en"]
        assert f["categories"][2]["phrases"] == [{"key": "/bye", "text": "感谢光临{store}，再见~"}]

    run(body())


def test_a_buyer_message_with_trigger_words_comes_with_suggestions(redis, gateway, tmp_path):
    gw = start(gateway, redis, str(tmp_path))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await b.send({"t": "msg", "id": "m2", "text": "亲，包邮吗？什么时候发货？"})
        ack = await b.expect("ack", id="m2")
        m = await a.expect("msg", chat=bw["chat"], seq=ack["seq"])
        s = await a.expect("suggest", chat=bw["chat"], seq=ack["seq"])
        assert s["keys"] == ["/ship", "/freeship"]
        # Latin triggers match in any case
        await b.send({"t": "msg", "id": "m3", "text": "WHEN SHIP please"})
        ack = await b.expect("ack", id="m3")
        await a.expect("msg", seq=ack["seq"])
        assert (await a.expect("suggest", seq=ack["seq"]))["keys"] == ["/ship"]
        # no trigger, no suggestion
        await b.send({"t": "msg", "id": "m4", "text": "ok"})
        await a.expect("msg", text="ok")
        await a.silent(0.3)
        assert m["text"].startswith("亲，包邮吗")

    run(body())


def test_guard_holds_a_warned_message_until_confirmed_and_blocks_the_forbidden(redis, gateway,
                                                                              tmp_path):
    gw = start(gateway, redis, str(tmp_path))
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        chat = bw["chat"]
        # block: an error with the rule and reason; nothing stored or sent
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "亲，特价不开发票哦"})
        e = await a.expect("error", code="blocked", ref="a1", chat=chat, rule="invoice_sale")
        assert "6" in e["reason"]
        await a.send({"t": "msg", "chat": chat, "id": "a1", "text": "亲，特价不开发票哦",
                      "confirm": True})
        await a.expect("error", code="blocked", ref="a1")
        # warn: held, then sent once confirmed
        await a.send({"t": "msg", "chat": chat, "id": "a2", "text": "亲，可以包邮的"})
        g = await a.expect("guard", chat=chat, id="a2", rule="free_shipping")
        assert g["reason"]
        await b.silent(0.3)
        await a.send({"t": "msg", "chat": chat, "id": "a2", "text": "亲，可以包邮的",
                      "confirm": True})
        ack = await a.expect("ack", id="a2")
        m = await b.expect("msg", **{"from": "agent"})
        assert (m["seq"], m["text"]) == (ack["seq"], "亲，可以包邮的")
        # confirm only counts for a held id
        await a.send({"t": "msg", "chat": chat, "id": "a3", "text": "我们可以货到付款",
                      "confirm": True})
        await a.expect("guard", id="a3", rule="cash_on_delivery")
        await a.send({"t": "msg", "chat": chat, "id": "a4", "text": "ok", "confirm": "yes"})
        await a.expect("error", code="bad_value", field="confirm")
        # a quick reply goes through the guard too: a clean one passes
        await a.send({"t": "quick", "chat": chat, "key": "/ship", "id": "q1"})
        await a.expect("ack", id="q1")
        texts = [m["text"] for m in await replay(gw, bw)]
        assert not any("发票" in t for t in texts)
        assert "我们可以货到付款" not in texts and texts.count("亲，可以包邮的") == 1

    run(body())
    m = gw.metrics()
    assert m['chatgw_plugin_blocks_total{plugin="guard",store="demo"}'] == 2
    assert m['chatgw_plugin_warnings_total{plugin="guard",store="demo"}'] == 3
    assert m['chatgw_errors_total{code="blocked"}'] == 2
    assert m["chatgw_plugins_loaded"] == 2
    log = gw.logtext()
    assert "event=agent_msg_blocked agent=alice" in log and "rule=invoice_sale" in log
    assert "特价" not in log                      # never the text
    # every hit is counted per agent, in the plugin's own Redis values
    assert int(redis.client().get("cg:pkv:guard:hits:demo:alice:invoice_sale")) == 2


def test_sighup_reloads_plugins_with_new_options_and_no_session_drops(redis, gateway, tmp_path):
    tmp = str(tmp_path)
    gw = start(gateway, redis, tmp)
    token = make_agent(redis.client(), "alice", "Alice")
    rules = os.path.join(tmp, "rules")
    with open(rules, "w") as f:
        f.write('block no_hello hello "do not say hello"\n')

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/bye", "id": "q1"})
        assert (await a.expect("ack", id="q1"))["text"] == "感谢光临Demo Store，再见~"
        await b.expect("msg", **{"from": "agent"})
        loaded = gw.logtext().count("event=plugin_loaded")
        with_plugins(gw, plugin_lines(tmp, LIBRARY.replace("再见~", "下次见！"), rules))
        gw.signal(signal.SIGHUP)
        await wait_for_async(lambda: gw.logtext().count("event=plugin_loaded") == loaded + 2,
                             what="plugins loaded again")
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/bye", "id": "q2"})
        assert (await a.expect("ack", id="q2"))["text"] == "感谢光临Demo Store，下次见！"
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a1", "text": "hello there"})
        await a.expect("error", code="blocked", rule="no_hello")
        # the old rules are gone: what they held now passes
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a2", "text": "可以包邮"})
        await a.expect("ack", id="a2")
        # both sessions lived through it
        await b.send({"t": "msg", "id": "m2", "text": "still here"})
        await frames_until(b, lambda f: f["t"] == "ack" and f["id"] == "m2")
        await frames_until(a, lambda f: f.get("text") == "still here")

    run(body())
    log = gw.logtext()
    assert "event=reloaded" in log and "session_closed" not in log


def test_a_plugin_that_fails_to_load_is_left_out_and_the_gateway_serves(redis, gateway,
                                                                        tmp_path):
    tmp = str(tmp_path)
    gw = gateway(redis.url, start=False)
    bad_lib = LIBRARY + "/broken {nope}\n"
    with_plugins(gw, plugin_lines(tmp, bad_lib) +
                 "    plugin ghost /nonexistent/ghost.so\n")
    gw.start()
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        # quickreply failed (its library), so no quick replies...
        await a.send({"t": "quick", "chat": bw["chat"], "key": "/hi", "id": "q1"})
        await a.expect("error", code="not_found", ref="q1")
        # ...but the guard loaded and works
        await a.send({"t": "msg", "chat": bw["chat"], "id": "a1", "text": "特价不开发票"})
        await a.expect("error", code="blocked")

    run(body())
    log = gw.logtext()
    assert "event=plugin_failed plugin=quickreply store=demo" in log and "init failed" in log
    assert "library.txt:12: unknown placeholder" in log
    assert "plugin=ghost" in log and "cannot open shared object file" in log
    assert gw.metrics()["chatgw_plugin_load_failures_total"] == 2
    # --check-config reports both, with the line of each plugin, and fails
    r = subprocess.run([CHATGWD, "--check-config", "-c", gw.conf], capture_output=True, text=True)
    assert r.returncode == 1
    assert "plugin quickreply of store demo: init failed" in r.stderr
    assert "plugin ghost of store demo: /nonexistent/ghost.so: cannot open" in r.stderr
    assert "plugin guard of store demo: ok" in r.stdout


def test_every_shipped_phrase_passes_the_shipped_guard(redis, gateway, tmp_path):
    """The default libraries and the default Tmall rules agree: no phrase the
    store ships is held or blocked (an invoice phrase must say it is free)."""
    gw = gateway(redis.url, start=False, agent_msg_burst=1000)
    with_plugins(gw, f"    plugin quickreply {PLUGINS}/quickreply.so\n"
                     f"        library {ROOT}/conf/quickreply-zh.txt\n"
                     f"        library {ROOT}/conf/quickreply-en.txt\n"
                     f"    plugin guard {PLUGINS}/guard.so\n"
                     f"        rules {GUARD_RULES}\n")
    gw.start()
    token = make_agent(redis.client(), "alice", "Alice")

    async def body():
        a, b, bw = await assigned_chat(gw, token)
        await a.send({"t": "quick_list"})
        cats = (await a.expect("quick_list"))["categories"]
        assert [c["name"] for c in cats] == ["greeting", "product", "bargaining", "payment",
                                             "delivery", "soothing", "after-sales", "reviews",
                                             "farewell"]
        keys = [p["key"] for c in cats for p in c["phrases"]]
        assert len(keys) >= 40 and "/hi" in keys and "/hi.en" in keys
        for i, k in enumerate(keys):
            await a.send({"t": "quick", "chat": bw["chat"], "key": k, "id": f"q{i}"})
            f = await a.recv()
            assert f["t"] == "ack" and "{" not in f["text"], (k, f)

    run(body())
