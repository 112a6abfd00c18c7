"""/metrics read by a real Prometheus parser (Debian's python3-prometheus-client):
the whole exposition parses, and the numbers move as buyers and agents act."""
import signal

from prometheus_client.parser import text_string_to_metric_families

from client import buyer, run
from conftest import http_get, wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent

def scrape(gw):
    """{(name, frozenset(labels)): value} and {family: type}, from the parser."""
    status, body = http_get(gw.port, "/metrics")
    assert status == 200
    samples, types = {}, {}
    for fam in text_string_to_metric_families(body):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"sample twice: {key}"
            samples[key] = s.value
    return samples, types


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def test_metrics_parse_and_move_as_buyers_and_agents_act(redis, gateway):
    # groups must be written unquoted (a list), so give the lines ourselves
    gw = gateway(redis.url, start=False, **FAST)
    gw.stores = {}
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write("store demo\n    name Demo\n    groups pre-sales after-sales\n"
                "store other\n    name Other\n    groups sales\n")
    gw.start()
    token = make_agent(redis.client(), "alice", groups=("pre-sales",))

    async def body():
        s0, types = scrape(gw)
        # every family the parser found has a type, and the ones we name have the right one
        assert types["chatgw_msgs_stored"] == "counter"
        assert types["chatgw_sessions"] == "gauge"
        assert types["chatgw_ack_seconds"] == "histogram"

        # the queue gauges appear for every store and group, at 0
        def queues_read():
            s, t = scrape(gw)
            return s if t.get("chatgw_queued_chats") == "gauge" and all(
                val(s, "chatgw_queued_chats", store=st, group=g) == 0
                for st, g in (("demo", "pre-sales"), ("demo", "after-sales"),
                              ("other", "sales"))) else None
        s0 = await wait_for_async(queues_read, 5, what="queue gauges at 0")
        labels = {dict(k[1]).get("store") for k in s0 if k[0] == "chatgw_queued_chats"}
        assert labels == {"demo", "other"}          # store and group only, never ids
        for k in s0:
            assert not ({"chat", "buyer", "agent"} & {l for l, _ in k[1]}), k

        # two buyers write in demo/pre-sales, one in other/sales
        b1, _ = await buyer(gw)
        await b1.first_message("one", "m1")
        b2, _ = await buyer(gw)
        await b2.first_message("two", "m1")
        await b2.send({"t": "msg", "id": "m2", "text": "anyone?"})
        await b2.expect("ack", id="m2")
        b3, _ = await buyer(gw, store="other")
        await b3.first_message("three", "m1")

        s1 = await wait_for_async(
            lambda: (lambda s: s if val(s, "chatgw_queued_chats", store="demo",
                                        group="pre-sales") == 2 and
                     val(s, "chatgw_queued_chats", store="other", group="sales") == 1 and
                     val(s, "chatgw_queue_oldest_wait_seconds", store="demo",
                         group="pre-sales") > 0 else None)(scrape(gw)[0]),
            5, what="two chats queued in demo/pre-sales, one in other/sales")
        assert val(s1, "chatgw_queued_chats", store="demo", group="after-sales") == 0
        assert val(s1, "chatgw_queue_oldest_wait_seconds", store="demo", group="after-sales") == 0
        assert val(s1, "chatgw_chats_created_total") - val(s0, "chatgw_chats_created_total") == 3
        assert val(s1, "chatgw_msgs_stored_total") - val(s0, "chatgw_msgs_stored_total") == 4
        assert val(s1, "chatgw_greetings_total") - val(s0, "chatgw_greetings_total") == 3
        assert val(s1, "chatgw_sessions", role="buyer") == 3
        acks = val(s1, "chatgw_ack_seconds_count") - val(s0, "chatgw_ack_seconds_count")
        assert acks == 4
        # the oldest wait grows while nobody answers
        w1 = val(s1, "chatgw_queue_oldest_wait_seconds", store="demo", group="pre-sales")
        await wait_for_async(
            lambda: val(scrape(gw)[0], "chatgw_queue_oldest_wait_seconds", store="demo",
                        group="pre-sales") > w1 + 0.2, 5, what="the oldest wait to grow")

        # an agent of demo/pre-sales takes both: that queue empties, the other stays
        a, _ = await agent(gw, token)
        for _ in range(2):
            await a.expect("assign")
        s2 = await wait_for_async(
            lambda: (lambda s: s if val(s, "chatgw_queued_chats", store="demo",
                                        group="pre-sales") == 0 else None)(scrape(gw)[0]),
            5, what="demo/pre-sales to empty")
        assert val(s2, "chatgw_queue_oldest_wait_seconds", store="demo", group="pre-sales") == 0
        assert val(s2, "chatgw_queued_chats", store="other", group="sales") == 1
        assert val(s2, "chatgw_assignments_total") - val(s1, "chatgw_assignments_total") == 2
        assert val(s2, "chatgw_logins_total") - val(s1, "chatgw_logins_total") == 1
        assert val(s2, "chatgw_sessions", role="agent") == 1

        # a refused frame counts under its code
        await b1.send({"t": "msg", "id": "", "text": "x"})
        await frames_until(b1, lambda f: f["t"] == "error")
        s3, _ = scrape(gw)
        errs = lambda s: sum(v for (n, _), v in s.items() if n == "chatgw_errors_total")
        assert errs(s3) - errs(s2) == 1

    run(body())


FLOOR_STORES = """\
store other
    name Other
    groups sales
    hold_max 0
    breach_after 7d
    reassign_after 0
    away_reassign 0
store demo
    name Demo
    groups pre-sales after-sales
    hold_max 0
    hold_after 500ms
    breach_after 1s
    reassign_after 0
    away_reassign 0
    plugin escalate {plugins}/escalate.so
        rules {rules}
"""


def test_first_responses_answers_breaches_and_escalations_count_by_store_and_group(
        redis, gateway, tmp_path):
    from test_plugins import PLUGINS

    rules = tmp_path / "escalate.rules"
    rules.write_text('words complaint "complain" flag\n')
    gw = gateway(redis.url, start=False, test_clock_offset="1s", **FAST)
    gw.stores = {}

    def write_config():
        gw.write_config()
        with open(gw.conf, "a") as f:
            f.write(FLOOR_STORES.format(plugins=PLUGINS, rules=rules))

    def clock_ahead(offset):
        n = gw.logtext().count("test_clock")
        gw.options["test_clock_offset"] = offset
        write_config()
        gw.signal(signal.SIGHUP)
        wait_for(lambda: gw.logtext().count("test_clock") > n, what="test_clock logged")

    write_config()
    gw.start(extra_args=("--test-clock",))
    r = redis.client()
    ta = make_agent(r, "alice", groups=("pre-sales",))
    tb = make_agent(r, "bob", groups=("sales",), store="other")
    ids = {"alice", "bob"}
    fr = "chatgw_first_response_seconds"

    async def body():
        s0, types = scrape(gw)
        assert types[fr] == "histogram"
        for name in ("chatgw_answers", "chatgw_answers_within_30s", "chatgw_breaches",
                     "chatgw_escalations"):
            assert types[name] == "counter", name
        # every queue of the config is there at 0 before anything happens
        for st, g in (("demo", "pre-sales"), ("demo", "after-sales"), ("other", "sales")):
            assert val(s0, fr + "_count", store=st, group=g) == 0
            assert val(s0, fr + "_bucket", store=st, group=g, le="+Inf") == 0
            for name in ("chatgw_answers_total", "chatgw_answers_within_30s_total",
                         "chatgw_breaches_total", "chatgw_escalations_total"):
                assert val(s0, name, store=st, group=g) == 0, (name, st, g)

        # demo/pre-sales: a buyer waits, alice answers at once (the first
        # response), a complaint is flagged and answered, then a question
        # waits past breach_after (1 s) before she answers it
        a, _ = await agent(gw, ta)
        b1, w1 = await buyer(gw)
        await b1.first_message("hi", "m1")
        await a.expect("assign", chat=w1["chat"])
        await a.send({"t": "msg", "chat": w1["chat"], "id": "a1", "text": "hello!"})
        await a.expect("ack", id="a1")
        await b1.send({"t": "msg", "id": "m2", "text": "I will complain about this"})
        await frames_until(a, lambda f: f["t"] == "escalation")
        await a.send({"t": "msg", "chat": w1["chat"], "id": "a2", "text": "sorry"})
        await a.expect("ack", id="a2")
        await b1.send({"t": "msg", "id": "m3", "text": "and the size?"})
        await frames_until(a, lambda f: f["t"] == "breach", timeout=5)
        await a.send({"t": "msg", "chat": w1["chat"], "id": "a3", "text": "size M"})
        await a.expect("ack", id="a3")

        # other/sales: a buyer waits 45 s (the test clock jumps) before bob
        # comes and answers: a first response past the 30-second promise
        b2, w2 = await buyer(gw, store="other")
        await b2.first_message("anyone?", "m1")
        clock_ahead("46s")
        bob, _ = await agent(gw, tb)
        await frames_until(bob, lambda f: f["t"] == "assign" and f["chat"] == w2["chat"])
        await bob.send({"t": "msg", "chat": w2["chat"], "id": "b1", "text": "here"})
        await bob.expect("ack", id="b1")

        s1, _ = scrape(gw)
        d = lambda name, **l: val(s1, name, **l) - val(s0, name, **l)
        dp = dict(store="demo", group="pre-sales")
        assert d(fr + "_count", **dp) == 1                      # one first response
        assert d(fr + "_bucket", le="5", **dp) == 1
        assert d(fr + "_sum", **dp) < 5
        assert d("chatgw_answers_total", **dp) == 3
        assert d("chatgw_answers_within_30s_total", **dp) == 3
        assert d("chatgw_breaches_total", **dp) == 1
        assert d("chatgw_escalations_total", **dp) == 1
        os_ = dict(store="other", group="sales")
        assert d(fr + "_count", **os_) == 1
        assert d(fr + "_bucket", le="30", **os_) == 0
        assert d(fr + "_bucket", le="60", **os_) == 1
        assert 45 <= d(fr + "_sum", **os_) < 60
        assert d("chatgw_answers_total", **os_) == 1
        assert d("chatgw_answers_within_30s_total", **os_) == 0
        assert d("chatgw_breaches_total", **os_) == 0
        assert d("chatgw_escalations_total", **os_) == 0
        da = dict(store="demo", group="after-sales")             # nothing happened there
        for name in (fr + "_count", "chatgw_answers_total", "chatgw_breaches_total",
                     "chatgw_escalations_total"):
            assert d(name, **da) == 0, name
        # the labels name stores, groups and bounds: never a chat, buyer or agent
        chats = {w1["chat"], w2["chat"]}
        for name, labels in s1:
            for k, v in labels:
                assert k not in ("chat", "buyer", "agent", "supervisor"), (name, k)
                assert v not in chats and v not in ids, (name, k, v)

    run(body(), timeout=60)


CLOCK_STORES = """store other
    name Other
    groups sales
    hold_max 0
    breach_after 7d
    reassign_after 0
    away_reassign 0
store demo
    name Demo
    groups pre-sales after-sales
    hold_text "Still here"
    hold_after 300ms
    hold_every 300ms
    hold_max 1
    breach_after 7d
    reassign_after 1s
    away_reassign 0
"""


def test_holds_and_reassignments_count_by_store_and_group(redis, gateway):
    gw = gateway(redis.url, start=False, **FAST)
    gw.stores = {}
    gw.write_config()
    with open(gw.conf, "a") as f:
        f.write(CLOCK_STORES)
    gw.start()
    r = redis.client()
    ta = make_agent(r, "alice", "Alice", groups=("pre-sales",), capacity=1)
    tb = make_agent(r, "bob", "Bob", groups=("pre-sales",), capacity=1)

    async def body():
        s0, types = scrape(gw)
        for name in ("chatgw_holds", "chatgw_reassigned"):
            assert types[name] == "counter", name
        for st, g in (("demo", "pre-sales"), ("demo", "after-sales"), ("other", "sales")):
            for name in ("chatgw_holds_total", "chatgw_reassigned_total"):
                assert val(s0, name, store=st, group=g) == 0, (name, st, g)
        # alice takes the chat and does not answer: one holding reply, then
        # after reassign_after it goes to bob, who answers
        a, _ = await agent(gw, ta)
        c, w = await buyer(gw, name="Ann")
        await c.first_message("hi", "m1")
        await a.expect("assign", chat=w["chat"])
        await frames_until(c, lambda f: f["t"] == "msg" and f["text"] == "Still here")
        b, _ = await agent(gw, tb)
        un, _ = await frames_until(a, lambda f: f["t"] == "unassign", timeout=4)
        assert un["chat"] == w["chat"] and un["reason"] == "reassigned"
        await frames_until(b, lambda f: f["t"] == "assign" and f["chat"] == w["chat"])
        await b.send({"t": "msg", "chat": w["chat"], "id": "b1", "text": "here"})
        await b.expect("ack", id="b1")

        s1, _ = scrape(gw)
        d = lambda name, **l: val(s1, name, **l) - val(s0, name, **l)
        assert d("chatgw_holds_total", store="demo", group="pre-sales") == 1
        assert d("chatgw_reassigned_total", store="demo", group="pre-sales") == 1
        for st, g in (("demo", "after-sales"), ("other", "sales")):
            for name in ("chatgw_holds_total", "chatgw_reassigned_total"):
                assert d(name, store=st, group=g) == 0, (name, st, g)
        # one sample per store and group, and no unlabelled one
        for name in ("chatgw_holds_total", "chatgw_reassigned_total"):
            assert sorted(dict(l).get("store", "") + "/" + dict(l).get("group", "")
                          for n, l in s1 if n == name) == [
                "demo/after-sales", "demo/pre-sales", "other/sales"], name
        for name, labels in s1:
            for k, v in labels:
                assert k not in ("chat", "buyer", "agent"), (name, k)
                assert v not in (w["chat"], "alice", "bob"), (name, k, v)

    run(body(), timeout=60)
