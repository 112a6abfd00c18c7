"""chatgw-load, the load generator `make bench` uses, against a real gateway:
what it reports must be what happened."""
import json
import os
import subprocess

from conftest import ROOT, free_port

LOAD = os.path.join(ROOT, "build", "chatgw-load")


def load(*args, timeout=60):
    p = subprocess.run([LOAD, "--json", "--duration", "20", *args],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr


def test_resumes_spread_over_the_run_replay_without_gaps(redis, gateway):
    # 40 buyers, 6 messages each, every one dropping its socket and
    # resuming twice (alternately through two nodes): each replay checked
    gw_a = gateway(redis.url)
    gw_b = gateway(redis.url)
    rc, out, err = load("--url", gw_a.ws + "/v1/buyer", "--url", gw_b.ws + "/v1/buyer",
                        "--sessions", "40", "--rate", "200", "--msgs", "6", "--msg-rate", "20",
                        "--resume-frac", "1", "--resumes", "2", "--src-ips", "2")
    assert rc == 0, err
    assert out["sessions"]["completed"] == 40
    assert out["resume"]["dropped"] == 80 and out["resume"]["resumed"] == 80
    assert out["resume"]["gaps"] == out["resume"]["dups"] == out["resume"]["lost"] == 0
    assert out["resume"]["replayed"] > 0
    assert out["messages"]["acked"] == 240 and out["messages"]["greetings"] == 40
    # Redis holds what the generator counted: 6 buyer messages + the greeting
    r = redis.client()
    chats = [k for k in r.scan_iter("cg:chat:*")]
    assert len(chats) == 40
    assert all(int(r.hget(k, "n")) == 7 for k in chats)


def test_a_gateway_that_is_not_there_is_a_failure(redis):
    rc, out, _ = load("--url", f"ws://127.0.0.1:{free_port()}/v1/buyer",
                      "--sessions", "5", "--rate", "100", "--msgs", "1", "--timeout", "2")
    assert rc == 1
    assert out["sessions"]["completed"] == 0
    assert out["failures"]["connect"] == 5


def test_only_loopback_targets_are_accepted():
    p = subprocess.run([LOAD, "--url", "ws://192.0.2.1:8080/v1/buyer", "--sessions", "1"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "loopback" in p.stderr


def test_agents_answer_after_a_random_delay_and_redis_times_the_answers(redis, gateway, tmp_path):
    # --agent-delay 300-700: each buyer asks (m1), the agent answers after
    # 0.3-0.7 s, the buyer asks again 0.1 s after the answer (m2), the agent
    # answers that and closes the chat. The gateway's clock times each
    # answer from the question: fr in the chat is the first, rn/rs all.
    from test_agents import make_agent
    from test_clock import store
    gw = gateway(redis.url, stores=store(hold_after="5s", breach_after="6s"))
    r = redis.client()
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(make_agent(r, f"ag{i}", capacity=10) + "\n" for i in range(4)))
    rc, out, err = load("--url", gw.ws + "/v1/buyer", "--sessions", "30", "--rate", "100",
                        "--msgs", "2", "--msg-rate", "10", "--agents", "4",
                        "--agent-tokens", str(tokens), "--agent-start", "first",
                        "--agent-delay", "300-700", "--agent-close-after", "1", "--seed", "7")
    assert rc == 0, err
    assert out["sessions"]["completed"] == 30 and out["agents"]["ready"] == 4
    assert out["agent_msgs"]["answers"] == 60 and out["agent_msgs"]["closes"] == 30
    assert out["with_agents"]["echoes"] == 0 and out["with_agents"]["closed_by_agent"] == 30
    lat = out["latency_us"]
    assert lat["msg1_answer"]["count"] == 30 and lat["answer"]["count"] == 60
    assert 300_000 <= lat["msg1_answer"]["p50"] <= 700_000
    assert lat["answer"]["max"] < 1_000_000
    chats = [k for k in r.scan_iter("cg:chat:*")]
    assert len(chats) == 30
    fr = []
    for k in chats:
        h = r.hmget(k, "fr", "rn", "rs", "state", "ua")
        assert int(h[1]) == 2 and h[3] == b"closed" and h[4] in (b"", None)
        fr.append(int(h[0]))
        assert 300 <= int(h[0]) <= 800 and 600 <= int(h[2]) <= 1600
    # uniform over the range, not one fixed delay
    assert max(fr) - min(fr) >= 150


def test_agent_delay_needs_agents_and_an_ordered_range(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("ab" * 32 + "\n")
    for args in (["--agent-delay", "300-700"],
                 ["--agents", "1", "--agent-tokens", str(tokens), "--agent-delay", "700-300"],
                 ["--agents", "1", "--agent-tokens", str(tokens), "--agent-delay", "3x"],
                 ["--agents", "1", "--agent-tokens", str(tokens), "--agent-delay", "300-700",
                  "--agent-greet"]):
        p = subprocess.run([LOAD, "--sessions", "1", *args], capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 2, args
