"""The hourly statistics' flush (daemon/stats.c, stats.lua) costs Redis a
few calls per flush, not one per agent: with a thousand agents answering,
one call per field was a thousand EVALSHA a second, a quarter of a Redis
command per relayed message in `bench/run relay` (bench/RESULTS.md,
round 4)."""
import collections
import os
import subprocess

from conftest import ROOT
from test_agents import make_agent
from test_clock import stats, store

LOAD = os.path.join(ROOT, "build", "chatgw-load")


def stats_calls(r):
    """The stats.lua calls in Redis's slow log (which logs every command
    once slowlog-log-slower-than is 0): EVALSHA with the key cg:stats:*,
    counted per key (one store and hour)."""
    n = collections.Counter()
    for e in r.slowlog_get(100000):
        words = e["command"].split(b" ")      # redis-py joins the arguments with spaces
        if len(words) > 3 and words[0].upper() == b"EVALSHA" and words[3].startswith(b"cg:stats:"):
            n[words[3]] += 1
    return n


def test_one_flush_of_many_agents_fields_is_one_call(redis, gateway, tmp_path):
    # 40 agents each answer one chat at once (chatgw-load --agent-delay 0);
    # stats_flush is long, so the counts wait for the flush at shutdown:
    # 42 fields (s, g:pre-sales, 40 a:AGENT) of one store, in one hour or,
    # when the run crosses an hour's end, two
    gw = gateway(redis.url, stores=store(hold_after="5s", breach_after="6s"), stats_flush="1m")
    r = redis.client()
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(make_agent(r, f"ag{i}", capacity=1) + "\n" for i in range(40)))
    p = subprocess.run([LOAD, "--json", "--duration", "20", "--url", gw.ws + "/v1/buyer",
                        "--sessions", "40", "--rate", "200", "--msgs", "1", "--agents", "40",
                        "--agent-tokens", str(tokens), "--agent-start", "first",
                        "--agent-delay", "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert stats(r) == {}                       # nothing flushed yet
    r.config_set("slowlog-max-len", 100000)
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    gw.stop()
    r.config_set("slowlog-log-slower-than", 10000)
    s = stats(r)
    assert s["s"]["replies"] == 40 and s["s"]["first"] == 40
    assert s["g:pre-sales"]["replies"] == 40
    assert all(s[f"a:ag{i}"]["replies"] == 1 for i in range(40))
    calls = stats_calls(r)
    assert len(calls) in (1, 2) and set(calls.values()) == {1}, calls
