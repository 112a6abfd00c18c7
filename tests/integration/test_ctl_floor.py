"""chatgwctl's floor commands against a running gateway: nodes, agents and
queue, as tables for people and as --json / --csv for scripts."""
import csv
import io
import json

from client import buyer, run
from conftest import wait_for_async
from test_agents import agent, make_agent
from test_chatgwctl import ctl, ok
from test_supervisor import two_store_gateway


def as_json(url, *args):
    return json.loads(ok(url, *args, "--json").stdout)


def test_nodes_agents_and_queue_as_json_csv_and_tables(redis, gateway):
    gw = two_store_gateway(gateway, redis)
    r = redis.client()
    alice = make_agent(r, "alice", name="Alice", groups=("pre-sales",), capacity=1)
    make_agent(r, "bob", name="Bob", groups=("sales",), store="other")
    url = redis.url

    async def body():
        # nodes: this one, alive, with no agent yet
        nodes = as_json(url, "nodes")
        assert len(nodes) == 1 and nodes[0]["live"] is True
        assert 0 <= nodes[0]["heartbeat_age_ms"] < 2000 and nodes[0]["agents"] == 0
        assert gw.logtext().count(nodes[0]["node"]) >= 1

        # alice online and ready, holding one chat at capacity 1; a second one waits
        a, _ = await agent(gw, alice)
        c1, _ = await buyer(gw)
        await c1.first_message("first", "m1")
        await a.expect("assign")
        c2, _ = await buyer(gw)
        await c2.first_message("second", "m1")

        agents = {x["id"]: x for x in as_json(url, "agents")}
        assert agents["alice"] == {"id": "alice", "name": "Alice", "store": "demo",
                                   "groups": "pre-sales", "sessions": 1, "state": "ready",
                                   "load": 1, "capacity": 1}
        assert agents["bob"]["sessions"] == 0 and agents["bob"]["state"] == "away"
        assert [x["id"] for x in as_json(url, "agents", "--store", "other")] == ["bob"]
        assert as_json(url, "nodes")[0]["agents"] == 1

        q = await wait_for_async(lambda: (lambda q: q if q[("demo", "pre-sales")]["queued"] == 1
                                          else None)(
            {(x["store"], x["group"]): x for x in as_json(url, "queue")}), 5)
        assert set(q) == {("demo", "pre-sales"), ("demo", "after-sales"), ("other", "sales")}
        assert q[("demo", "pre-sales")]["oldest_wait_ms"] >= 0
        assert q[("demo", "pre-sales")]["agents_ready"] == 0          # alice is full
        assert q[("demo", "after-sales")] == {"store": "demo", "group": "after-sales",
                                              "queued": 0, "oldest_wait_ms": 0,
                                              "agents_ready": 0}
        assert [(x["store"], x["group"]) for x in as_json(url, "queue", "--store", "other")] \
            == [("other", "sales")]

        # CSV: a header of the JSON keys, then the same rows
        rows = list(csv.reader(io.StringIO(ok(url, "agents", "--csv").stdout)))
        assert rows[0] == ["id", "name", "store", "groups", "sessions", "state", "load",
                           "capacity"]
        assert ["alice", "Alice", "demo", "pre-sales", "1", "ready", "1", "1"] in rows[1:]
        # for people: aligned columns under a header
        lines = ok(url, "queue").stdout.splitlines()
        assert lines[0].split() == ["STORE", "GROUP", "QUEUED", "OLDEST", "READY"]
        assert len(lines) == 4
        col = lines[0].index("QUEUED")
        assert all(l[col - 2:col] == "  " and l[col] != " " for l in lines[1:])

    run(body())


def test_floor_commands_exit_codes(redis, gateway):
    gw = two_store_gateway(gateway, redis)
    p = ctl(redis.url, "queue", "--store", "nope")
    assert p.returncode == 4 and "nope" in p.stderr
    p = ctl(redis.url, "agents", "--store", "nope", "--json")
    assert p.returncode == 4
    p = ctl(redis.url, "nodes", "--json", "--csv")
    assert p.returncode == 2
    p = ctl(redis.url, "nodes", "--store", "demo")
    assert p.returncode == 2 and "--store does not apply" in p.stderr
    p = ctl("redis://127.0.0.1:1", "nodes", "--json")
    assert p.returncode == 5
    gw.stop()
    # no node alive: an empty list for scripts, a word for people, exit 0 both ways
    redis.client().delete("cg:nodes")
    assert as_json(redis.url, "nodes") == []
    p = ctl(redis.url, "nodes")
    assert p.returncode == 0 and p.stdout == "" and "no live nodes" in p.stderr
