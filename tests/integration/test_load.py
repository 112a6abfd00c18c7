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
