"""chatgwctl stats, chat show and chat close: a day's numbers from the
hourly statistics, exactly, and one chat's record and transcript."""
import calendar
import csv
import io
import json
import time

import msgpack

from client import Client, buyer, run
from conftest import DEMO_GREETING, chat_key, chat_meta, wait_for, wait_for_async
from test_agents import FAST, agent, frames_until, make_agent
from test_chatgwctl import ctl, ok
from test_shifts import clocked, utc_ms

NOT_FOUND, USAGE = 3, 2


def as_json(url, *args):
    return json.loads(ok(url, *args, "--json").stdout)


def clock_store():
    return {"demo": {"name": "Demo Store", "greeting": DEMO_GREETING, "hold_text": "Wait.",
                     "hold_after": "300ms", "hold_max": 0, "breach_after": "400ms",
                     "reassign_after": "0", "away_reassign": "0"}}


# The day the scripted chats happen on: the gateway's test clock reads noon
# of it, so that a run at midnight cannot spread them over two days.
DAY = "2027-03-10"
NOON = utc_ms(2027, 3, 10, 12)


def test_stats_of_a_scripted_day_come_out_exactly(redis, gateway):
    gw = clocked(gateway, redis, NOON, stores=clock_store(), stats_flush="100ms")
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")

    async def chat(d, answer_after_breach, outcome, score):
        c, w = await buyer(gw)
        await c.first_message("hi")
        chat = (await frames_until(d, lambda f: f["t"] == "assign"))[0]["chat"]
        if answer_after_breach:
            await frames_until(d, lambda f: f["t"] == "breach" and f["chat"] == chat)
        await d.send({"t": "msg", "chat": chat, "id": "a1", "text": "hello"})
        await frames_until(d, lambda f: f["t"] == "ack")
        await c.send({"t": "msg", "id": "m2", "text": "and?"})
        await frames_until(d, lambda f: f["t"] == "msg" and f.get("id") == "m2")
        await d.send({"t": "msg", "chat": chat, "id": "a2", "text": "yes"})
        await frames_until(d, lambda f: f["t"] == "ack")
        await d.send({"t": "close", "chat": chat, "outcome": outcome})
        await frames_until(d, lambda f: f["t"] == "unassign")
        c2 = await Client.connect(gw.ws)
        await c2.send({"t": "hello", "resume": w["resume"]})
        await c2.expect("welcome")
        await c2.send({"t": "rate", "score": score})
        await frames_until(c2, lambda f: f["t"] == "rated")

    async def body():
        d, _ = await agent(gw, alice)
        await chat(d, False, "sold", 5)
        await chat(d, True, "no_sale", 3)

    run(body())
    want = {"chats": 2, "first_responses": 2, "fr_p50_ms": 5000, "fr_p90_ms": 5000,
            "answered_30s": 1.0, "breaches": 1, "reassigned": 0, "sold": 1, "no_sale": 1,
            "conversion": 0.5, "ratings": 2, "rating_avg": 4.0}
    wait_for(lambda: as_json(redis.url, "stats", "--day", DAY, "--agent", "alice")
             and as_json(redis.url, "stats", "--day", DAY, "--agent", "alice")[0]
             ["first_responses"] == 2, 5, what="response times flushed")
    rows = as_json(redis.url, "stats", "--day", DAY)
    assert [(x["scope"], x["name"]) for x in rows] == \
        [("store", "demo"), ("group", "pre-sales"), ("agent", "alice")]
    for row in rows:
        assert {k: row[k] for k in want} == want, row
    assert as_json(redis.url, "stats", "--day", DAY, "--agent", "alice") == [rows[2]]
    assert as_json(redis.url, "stats", "--day", DAY, "--agent", "nobody") == []
    # today (on Redis's clock) is the default day: the scripted day is not
    # today, and another day has none of it
    assert as_json(redis.url, "stats") == []
    assert as_json(redis.url, "stats", "--day", "2020-01-01") == []
    # CSV and the table for people
    p = ok(redis.url, "stats", "--day", DAY, "--csv")
    got = list(csv.DictReader(io.StringIO(p.stdout)))
    assert got[0]["conversion"] == "0.5000" and got[0]["rating_avg"] == "4.0000"
    p = ok(redis.url, "stats", "--day", DAY)
    assert "CONVERSION" in p.stdout and "50%" in p.stdout and "100%" in p.stdout


def test_percentiles_and_sums_over_the_hours_of_one_utc_day(redis, gateway):
    """Hourly fields as stats.lua writes them: the day's hours sum; the next
    day's do not count; p50/p90 are the bounds of the buckets that hold them."""
    gw = gateway(redis.url)
    r = redis.client()
    day0 = calendar.timegm((2026, 1, 15, 0, 0, 0)) // 3600
    fields = {"s": {"first": 6, "fh": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], "replies": 8, "rt30": 6,
                    "breaches": 1, "sold": 3, "no_sale": 1, "chats": 4,
                    "ratings": 2, "rating_sum": 9, "guard_hits": 3, "transfers": 1,
                    "escalations": 2},
              "a:zed": {"first": 6, "fh": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]}}
    late = {"s": {"first": 4, "fh": [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3], "replies": 2, "rt30": 0,
                  "reassigned": 2, "guard_hits": 1, "escalations": 1}}
    for hour, f in ((day0, fields), (day0 + 23, late), (day0 + 24, late)):
        r.hset(f"cg:stats:demo:{hour}", mapping={k: msgpack.packb(v) for k, v in f.items()})
    rows = as_json(redis.url, "stats", "--day", "2026-01-15", "--store", "demo")
    store = rows[0]
    assert (store["scope"], store["first_responses"], store["chats"]) == ("store", 10, 4)
    # 10 first responses: 1 each in the first six buckets, 1 at <=120 s, 3 above 300 s
    assert store["fr_p50_ms"] == 30000 and store["fr_p90_ms"] == 300001
    assert store["answered_30s"] == 0.6 and store["reassigned"] == 2
    assert store["conversion"] == 0.75 and store["rating_avg"] == 4.5
    assert store["guard_hits"] == 4 and store["transfers"] == 1 and store["escalations"] == 3
    zed = [x for x in rows if x["scope"] == "agent"][0]
    assert (zed["name"], zed["fr_p50_ms"], zed["fr_p90_ms"]) == ("zed", 15000, 45000)
    assert zed["answered_30s"] is None and zed["conversion"] is None and zed["rating_avg"] is None
    assert ctl(redis.url, "stats", "--day", "2026-02-30").returncode == USAGE
    assert ctl(redis.url, "stats", "--day", "yesterday").returncode == USAGE
    assert ctl(redis.url, "stats", "--store", "nope").returncode == 4


def test_chat_show_and_chat_close(redis, gateway):
    gw = gateway(redis.url, **FAST)
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")

    async def body():
        d, _ = await agent(gw, alice)
        c, w = await buyer(gw, name="Ann")
        await c.first_message("is it, red, in stock?")
        chat = (await d.expect("assign"))["chat"]
        await d.send({"t": "note", "chat": chat, "text": "VIP buyer"})
        await d.expect("ack")
        await d.send({"t": "msg", "chat": chat, "id": "a1", "text": "Yes!"})
        await d.expect("ack")
        shown = as_json(redis.url, "chat", "show", chat)
        assert shown["chat"] == chat and shown["record"]["state"] == "open"
        assert shown["record"]["agent"] == "alice" and shown["record"]["name"] == "Ann"
        assert [(m["seq"], m["from"], m.get("private", False)) for m in shown["messages"]] == \
            [(1, "buyer", False), (2, "auto", False), (3, "agent", True), (4, "agent", False)]
        p = ok(redis.url, "chat", "show", chat, "--csv")
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        assert rows[0]["text"] == "is it, red, in stock?" and rows[2]["private"] == "yes"
        people = ok(redis.url, "chat", "show", chat).stdout
        assert "VIP buyer" in people and "private" in people and "state      open" in people
        # close: the buyer and the agent are told
        assert "closed" in ok(redis.url, "chat", "close", chat).stdout
        await frames_until(c, lambda f: f["t"] == "closed" and f["reason"] == "supervisor_closed")
        await frames_until(d, lambda f: f["t"] == "unassign" and f["reason"] == "closed")
        assert chat_meta(r, chat)["state"] == "closed"
        assert ok(redis.url, "chat", "close", chat).returncode == 0      # already: said so
        assert as_json(redis.url, "chat", "show", chat)["record"]["reason"] == "supervisor_closed"

    run(body())
    assert ctl(redis.url, "chat", "show", "0" * 32).returncode == NOT_FOUND
    assert ctl(redis.url, "chat", "close", "0" * 32).returncode == NOT_FOUND
    assert ctl(redis.url, "chat", "show", "xyz").returncode == USAGE
    assert ctl(redis.url, "chat").returncode == USAGE


def test_stats_of_each_shift_of_a_scripted_day(redis, gateway):
    """--shift NAME: the figures counted while that shift was in progress
    (field sh:NAME), with the test clock set in one shift, then the other."""
    from test_shifts import clocked, set_clock, store, utc_ms

    gw = clocked(gateway, redis, utc_ms(2027, 3, 1, 9, 0),
                 stores=store(timezone="UTC", shift=["early 00:00-12:00", "late 12:00-24:00"]),
                 stats_flush="100ms")
    r = redis.client()
    alice = make_agent(r, "alice", "Alice")

    async def chat(d, outcome, score=None):
        c, w = await buyer(gw)
        await c.first_message("hi")
        chat = (await frames_until(d, lambda f: f["t"] == "assign"))[0]["chat"]
        await d.send({"t": "msg", "chat": chat, "id": "a1", "text": "hello"})
        await frames_until(d, lambda f: f["t"] == "ack")
        await c.send({"t": "msg", "id": "m2", "text": "and?"})
        await frames_until(d, lambda f: f["t"] == "msg" and f.get("id") == "m2")
        await d.send({"t": "msg", "chat": chat, "id": "a2", "text": "yes"})
        await frames_until(d, lambda f: f["t"] == "ack")
        await d.send({"t": "close", "chat": chat, "outcome": outcome})
        await frames_until(d, lambda f: f["t"] == "unassign")
        if score:
            c2 = await Client.connect(gw.ws)
            await c2.send({"t": "hello", "resume": w["resume"]})
            await c2.expect("welcome")
            await c2.send({"t": "rate", "score": score})
            await frames_until(c2, lambda f: f["t"] == "rated")

    async def early():
        d, _ = await agent(gw, alice)
        await chat(d, "sold", 5)

    async def late():
        d, _ = await agent(gw, alice)
        await chat(d, "no_sale", 3)
        await chat(d, "sold")

    day = ("--day", "2027-03-01")
    run(early())
    wait_for(lambda: as_json(redis.url, "stats", *day, "--shift", "early")
             and as_json(redis.url, "stats", *day, "--shift", "early")[0]["first_responses"] == 1,
             5, what="the early shift's response times flushed")
    set_clock(gw, utc_ms(2027, 3, 1, 13, 0))
    run(late())
    wait_for(lambda: as_json(redis.url, "stats", *day, "--shift", "late")
             and as_json(redis.url, "stats", *day, "--shift", "late")[0]["first_responses"] == 2,
             5, what="the late shift's response times flushed")

    fig = ("chats", "first_responses", "fr_p50_ms", "answered_30s", "breaches", "sold",
           "no_sale", "conversion", "ratings", "rating_avg")
    rows = as_json(redis.url, "stats", *day, "--shift", "early")
    assert [(x["store"], x["scope"], x["name"]) for x in rows] == [("demo", "shift", "early")]
    assert {k: rows[0][k] for k in fig} == {
        "chats": 1, "first_responses": 1, "fr_p50_ms": 5000, "answered_30s": 1.0,
        "breaches": 0, "sold": 1, "no_sale": 0, "conversion": 1.0, "ratings": 1,
        "rating_avg": 5.0}
    rows = as_json(redis.url, "stats", *day, "--shift", "late", "--store", "demo")
    assert [(x["scope"], x["name"]) for x in rows] == [("shift", "late")]
    assert {k: rows[0][k] for k in fig} == {
        "chats": 2, "first_responses": 2, "fr_p50_ms": 5000, "answered_30s": 1.0,
        "breaches": 0, "sold": 1, "no_sale": 1, "conversion": 0.5, "ratings": 1,
        "rating_avg": 3.0}
    # the day without --shift: the store is both shifts, and no shift rows
    rows = as_json(redis.url, "stats", *day)
    assert [x["scope"] for x in rows] == ["store", "group", "agent"]
    assert (rows[0]["chats"], rows[0]["sold"], rows[0]["ratings"]) == (3, 2, 2)
    # CSV and the table
    got = list(csv.DictReader(io.StringIO(ok(redis.url, "stats", *day, "--shift", "late",
                                              "--csv").stdout)))
    assert [(x["scope"], x["name"], x["chats"], x["conversion"]) for x in got] == \
        [("shift", "late", "2", "0.5000")]
    people = ok(redis.url, "stats", *day, "--shift", "late").stdout.splitlines()
    assert people[0].split()[:3] == ["STORE", "SCOPE", "NAME"]
    assert people[1].split()[:4] == ["demo", "shift", "late", "2"] and "50%" in people[1]
    # a shift with nothing counted (or none of that name): no row, status 0
    assert as_json(redis.url, "stats", *day, "--shift", "night") == []
    p = ok(redis.url, "stats", *day, "--shift", "night", "--csv")
    assert p.stdout.splitlines() == [p.stdout.splitlines()[0]] and "scope" in p.stdout
    p = ok(redis.url, "stats", *day, "--shift", "night")
    assert p.stdout == "" and "no statistics of that shift" in p.stderr
    assert as_json(redis.url, "stats", "--day", "2027-03-02", "--shift", "early") == []
    # bad use
    assert ctl(redis.url, "stats", "--shift", "early", "--agent", "alice").returncode == USAGE
    assert ctl(redis.url, "stats", "--shift", "no good").returncode == USAGE
    assert ctl(redis.url, "stats", "--shift").returncode == USAGE
