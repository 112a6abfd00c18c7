"""chatgwctl: agents and supervisors in Redis, their tokens, its errors.

Every test runs the real build/chatgwctl against a real redis-server. Most
write the stores the way chatgwd publishes them at start (cg:stores and
cg:store:<id>, see the `stores` fixture) instead of starting a gateway, to
stay fast; test_a_token_from_chatgwctl_logs_in_and_reissuing_it_kicks_the_desk
runs the real chatgwd, which publishes them itself, and logs in with the
tokens chatgwctl prints. test_config_file_names_the_stores_and_the_embedded_redis
takes the stores from a config file (-c) instead.
"""
import hashlib
import json
import os
import re
import subprocess
import time

import msgpack
import pytest

from client import Client, run
from conftest import ROOT, RedisServer, free_port, short_tmpdir

CHATGWCTL = os.path.join(ROOT, "build", "chatgwctl")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# exit statuses (man/chatgwctl.1, EXIT STATUS)
USAGE, NOT_FOUND, UNKNOWN_STORE, REDIS, EXISTS = 2, 3, 4, 5, 6


def ctl(url, *args, cwd=None):
    """Runs chatgwctl against url (None: no --redis); returns the process."""
    argv = [CHATGWCTL] + (["--redis", url] if url else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=cwd)


def ok(url, *args, **kw):
    p = ctl(url, *args, **kw)
    assert p.returncode == 0, f"chatgwctl {' '.join(args)}: {p.returncode}\n{p.stderr}"
    return p


def issued(p):
    """The token a command printed: one line of stdout, 64 hex chars."""
    lines = p.stdout.splitlines()
    assert len(lines) == 1 and HEX64.match(lines[0]), f"stdout: {p.stdout!r}"
    return lines[0]


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


def dump(r):
    """Every key and every value in Redis, as one bytes blob."""
    out = []
    for key in r.scan_iter():
        t = r.type(key)
        if t == b"string":
            v = [r.get(key)]
        elif t == b"hash":
            v = [x for kv in r.hgetall(key).items() for x in kv]
        elif t == b"set":
            v = list(r.smembers(key))
        elif t == b"zset":
            v = [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
        elif t == b"list":
            v = r.lrange(key, 0, -1)
        else:
            v = []
        out.append(key + b"=" + b",".join(v))
    return b"\n".join(out)


def assert_consistent(r):
    """Each token mapping belongs to an identity whose hash names it, and
    each identity in cg:agents / cg:sups has its hash and its mapping."""
    for key in r.scan_iter("cg:tok:*"):
        kind, _, ident = r.get(key).decode().partition(":")
        h = r.hgetall(f"cg:{'agent' if kind == 'agent' else 'sup'}:{ident}")
        assert h, f"{key} maps to a missing {kind} {ident}"
        assert b"cg:tok:" + h[b"tok"] == key
    for setkey, prefix, kind in (("cg:agents", "cg:agent:", "agent"), ("cg:sups", "cg:sup:", "supervisor")):
        for ident in r.smembers(setkey):
            h = r.hgetall(prefix + ident.decode())
            assert h, f"{ident} in {setkey} has no hash"
            assert r.get(b"cg:tok:" + h[b"tok"]) == f"{kind}:{ident.decode()}".encode()


class Kicks:
    """A subscriber on cg:ctl; .next() is the next event, unpacked."""

    def __init__(self, r):
        self.p = r.pubsub()
        self.p.subscribe("cg:ctl")
        assert self.p.get_message(timeout=2)["type"] == "subscribe"

    def next(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.p.get_message(timeout=max(0.01, deadline - time.monotonic()))
            if m and m["type"] == "message":
                return msgpack.unpackb(m["data"], raw=False)
        raise AssertionError("nothing published on cg:ctl")

    def none(self, wait=0.2):
        m = self.p.get_message(timeout=wait)
        assert m is None, f"unexpected event {m}"


def publish_stores(r, **stores):
    """Stores as chatgwd publishes them from its config when it starts."""
    for sid, groups in stores.items():
        r.hset(f"cg:store:{sid}", mapping={"name": sid.title(), "groups": " ".join(groups)})
        r.sadd("cg:stores", sid)


@pytest.fixture
def stores(redis):
    """Store demo {pre-sales, after-sales}; call it to publish more."""
    publish_stores(redis.client(), demo=["pre-sales", "after-sales"])
    return lambda **more: publish_stores(redis.client(), **more)


@pytest.fixture(scope="module")
def shared_redis():
    """One redis-server for the many short error cases (each starts from
    FLUSHALL and store demo): starting one per case would double the time."""
    r = RedisServer(short_tmpdir("rs")).start()
    yield r
    r.stop()


def test_add_prints_the_token_once_and_redis_keeps_only_its_hash(redis, stores):
    p = ok(redis.url, "agent", "add", "amy", "--name", "Amy Lee")
    token = issued(p)
    assert token not in p.stderr and "amy" in p.stderr
    r = redis.client()
    h = r.hgetall("cg:agent:amy")
    assert h[b"name"] == b"Amy Lee" and h[b"tok"] == sha(token).encode()
    # defaults: the only store, its first group, capacity 5
    assert (h[b"store"], h[b"groups"], h[b"capacity"]) == (b"demo", b"pre-sales", b"5")
    assert abs(int(h[b"created"]) - time.time() * 1000) < 60_000
    assert r.smembers("cg:agents") == {b"amy"}
    assert r.get(f"cg:tok:{sha(token)}") == b"agent:amy"
    assert token.encode() not in dump(r)
    # the token is never shown again
    listing = ok(redis.url, "agent", "list")
    assert token not in listing.stdout + listing.stderr
    assert sha(token) not in listing.stdout + listing.stderr
    assert_consistent(r)


def test_list_shows_settings_and_the_runtime_state_as_a_table_and_json(redis, stores):
    ok(redis.url, "agent", "add", "bob", "--name", "Bob", "--group", "after-sales",
       "--group", "pre-sales", "--capacity", "3")
    ok(redis.url, "agent", "add", "amy", "--name", "Amy Lee", "--store", "demo",
       "--group", "pre-sales,after-sales")
    redis.client().hset("cg:ar:bob", mapping={"online": 2, "state": "ready", "load": 1})

    rows = [line.split() for line in ok(redis.url, "agent", "list").stdout.splitlines()]
    assert rows == [
        ["ID", "NAME", "STORE", "GROUPS", "CAPACITY", "ONLINE", "STATE", "LOAD"],
        ["amy", "Amy", "Lee", "demo", "pre-sales,after-sales", "5", "no", "-", "0"],
        ["bob", "Bob", "demo", "after-sales,pre-sales", "3", "yes", "ready", "1"],
    ]
    # options may come first, and JSON says the same
    agents = json.loads(ok(redis.url, "--json", "agent", "list").stdout)
    assert agents == [
        {"id": "amy", "name": "Amy Lee", "store": "demo", "groups": ["pre-sales", "after-sales"],
         "capacity": 5, "online": False, "state": None, "load": 0},
        {"id": "bob", "name": "Bob", "store": "demo", "groups": ["after-sales", "pre-sales"],
         "capacity": 3, "online": True, "state": "ready", "load": 1},
    ]


def test_token_reissue_replaces_the_mapping_and_kicks_the_agent(redis, stores):
    old = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy"))
    r = redis.client()
    kicks = Kicks(r)
    p = ok(redis.url, "agent", "token", "amy")
    new = issued(p)
    assert new != old and old not in p.stdout + p.stderr
    assert r.get(f"cg:tok:{sha(old)}") is None
    assert r.get(f"cg:tok:{sha(new)}") == b"agent:amy"
    assert r.hget("cg:agent:amy", "tok") == sha(new).encode()
    assert kicks.next() == {"k": "kick", "agent": "amy"}
    assert len(list(r.scan_iter("cg:tok:*"))) == 1
    assert new.encode() not in dump(r)
    assert_consistent(r)


def test_set_changes_only_what_is_given_and_groups_replace_the_list(redis, stores):
    stores(shop2=["returns"])
    token = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy", "--store", "demo"))
    r = redis.client()
    kicks = Kicks(r)
    ok(redis.url, "agent", "set", "amy", "--capacity", "9", "--group", "after-sales")
    h = r.hgetall("cg:agent:amy")
    assert (h[b"name"], h[b"store"], h[b"groups"], h[b"capacity"]) == \
        (b"Amy", b"demo", b"after-sales", b"9")
    assert h[b"tok"] == sha(token).encode()      # same token, nobody kicked
    # a refresh (not a kick) tells the nodes to re-route the agent now
    assert kicks.next() == {"k": "refresh", "agent": "amy"}
    kicks.none()
    # another store: its groups must exist there, else nothing changes
    p = ctl(redis.url, "agent", "set", "amy", "--store", "shop2")
    assert p.returncode == UNKNOWN_STORE and "after-sales" in p.stderr and "--group" in p.stderr
    assert r.hget("cg:agent:amy", "store") == b"demo"
    ok(redis.url, "agent", "set", "amy", "--store", "shop2", "--group", "returns", "--name", "Amy B")
    h = r.hgetall("cg:agent:amy")
    assert (h[b"name"], h[b"store"], h[b"groups"]) == (b"Amy B", b"shop2", b"returns")
    assert ctl(redis.url, "agent", "set", "amy").returncode == USAGE     # nothing to change


def test_del_removes_identity_and_mapping_kicks_and_requeues_its_chats(redis, stores):
    token = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy"))
    ok(redis.url, "agent", "add", "bob", "--name", "Bob")
    r = redis.client()
    r.zadd("cg:agents:offline", {"amy": 1234567})   # went away, grace running
    kicks = Kicks(r)
    p = ok(redis.url, "agent", "del", "amy")
    assert p.stdout == ""
    assert not r.exists("cg:agent:amy") and r.get(f"cg:tok:{sha(token)}") is None
    assert r.smembers("cg:agents") == {b"bob"}
    assert r.zscore("cg:agents:offline", "amy") == 0    # grace over: requeue now
    assert kicks.next() == {"k": "kick", "agent": "amy"}
    assert "amy" not in ok(redis.url, "agent", "list").stdout
    assert ctl(redis.url, "agent", "del", "amy").returncode == NOT_FOUND
    assert_consistent(r)


def test_supervisors_add_list_token_set_and_delete(redis, stores):
    stores(shop2=["returns"])
    r = redis.client()
    p = ctl(redis.url, "supervisor", "add", "sue", "--name", "Sue")
    assert p.returncode == USAGE and "--store" in p.stderr     # two stores: say which
    sue = issued(ok(redis.url, "supervisor", "add", "sue", "--name", "Sue", "--store", "demo"))
    boss = issued(ok(redis.url, "supervisor", "add", "boss", "--name", "Boss", "--store", "*"))
    assert r.get(f"cg:tok:{sha(sue)}") == b"supervisor:sue"
    assert r.hgetall("cg:sup:boss")[b"store"] == b"*"
    assert r.smembers("cg:sups") == {b"sue", b"boss"}
    assert [l.split() for l in ok(redis.url, "supervisor", "list").stdout.splitlines()] == \
        [["ID", "NAME", "STORE"], ["boss", "Boss", "*"], ["sue", "Sue", "demo"]]
    assert json.loads(ok(redis.url, "supervisor", "list", "--json").stdout)[1] == \
        {"id": "sue", "name": "Sue", "store": "demo"}

    kicks = Kicks(r)
    new = issued(ok(redis.url, "supervisor", "token", "sue"))
    assert r.get(f"cg:tok:{sha(sue)}") is None and r.get(f"cg:tok:{sha(new)}") == b"supervisor:sue"
    assert kicks.next() == {"k": "kick", "supervisor": "sue"}
    ok(redis.url, "supervisor", "set", "sue", "--store", "shop2")
    assert r.hget("cg:sup:sue", "store") == b"shop2"
    assert ctl(redis.url, "supervisor", "set", "sue", "--store", "nope").returncode == UNKNOWN_STORE
    ok(redis.url, "supervisor", "del", "boss")
    assert kicks.next() == {"k": "kick", "supervisor": "boss"}
    assert not r.exists("cg:sup:boss") and r.get(f"cg:tok:{sha(boss)}") is None
    assert r.zscore("cg:agents:offline", "boss") is None      # agents only
    assert r.smembers("cg:sups") == {b"sue"}
    assert sue.encode() not in dump(r) and new.encode() not in dump(r)
    assert_consistent(r)


@pytest.mark.parametrize("args,status,says", [
    (["agent", "token", "ghost"], NOT_FOUND, 'no agent "ghost"'),
    (["agent", "set", "ghost", "--capacity", "2"], NOT_FOUND, 'no agent "ghost"'),
    (["agent", "del", "ghost"], NOT_FOUND, 'no agent "ghost"'),
    (["supervisor", "token", "ghost"], NOT_FOUND, 'no supervisor "ghost"'),
    (["agent", "add", "amy", "--name", "A", "--group", "billing"], UNKNOWN_STORE,
     'no group "billing"'),
    (["agent", "add", "amy", "--name", "A", "--store", "elsewhere"], UNKNOWN_STORE,
     'unknown store "elsewhere"'),
    (["agent", "add", "amy", "--name", "A", "--capacity", "abc"], USAGE, "--capacity"),
    (["agent", "add", "amy", "--name", "A", "--capacity", "0"], USAGE, "--capacity"),
    (["agent", "add", "amy", "--name", "A", "--capacity", "1001"], USAGE, "--capacity"),
    (["agent", "add", "amy", "--name", "A", "--capacity", "5x"], USAGE, "--capacity"),
    (["agent", "add", "amy!", "--name", "A"], USAGE, "bad agent id"),
    (["agent", "add", "a" * 65, "--name", "A"], USAGE, "bad agent id"),
    (["agent", "add", "amy", "--name", "A", "--group", "pre sales"], USAGE, "bad group name"),
    (["agent", "add", "amy", "--name", "A" * 65], USAGE, "--name"),
    (["agent", "add", "amy", "--name", "line\nbreak"], USAGE, "--name"),
    (["agent", "add", "amy", "--name", "A", "--store", "*"], USAGE, "bad store id"),
    (["agent", "add", "amy"], USAGE, "--name is required"),
    (["agent", "add", "--name", "A"], USAGE, "usage"),
    (["agent", "list", "--capacity", "2"], USAGE, "does not apply"),
    (["agent", "list", "extra"], USAGE, "unexpected argument"),
    (["agent", "fire", "amy"], USAGE, 'unknown command "agent fire"'),
    (["agnet"], USAGE, 'unknown command "agnet"'),
    (["agent"], USAGE, "agent what?"),
    (["agent", "list", "--frobnicate"], USAGE, "unknown option"),
    (["agent", "add", "amy", "--name"], USAGE, "needs a value"),
])
def test_errors_say_what_is_wrong_with_their_own_exit_status(shared_redis, args, status, says):
    r = shared_redis.client()
    r.flushall()
    publish_stores(r, demo=["pre-sales", "after-sales"])
    p = ctl(shared_redis.url, *args)
    assert (p.returncode, p.stdout) == (status, ""), p.stderr
    assert says in p.stderr and p.stderr.startswith("chatgwctl: ")
    assert not r.exists("cg:agent:amy") and not list(r.scan_iter("cg:tok:*"))


def test_usage_errors_do_not_wait_for_redis():
    p = ctl("unix:///nonexistent/redis.sock", "agent", "add", "amy", "--name", "A",
            "--capacity", "abc")
    assert p.returncode == USAGE


def test_duplicate_id_is_refused_and_the_first_keeps_its_token(redis, stores):
    token = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy"))
    p = ctl(redis.url, "agent", "add", "amy", "--name", "Other", "--capacity", "7")
    assert p.returncode == EXISTS and p.stdout == "" and "already exists" in p.stderr
    h = redis.client().hgetall("cg:agent:amy")
    assert (h[b"name"], h[b"capacity"], h[b"tok"]) == (b"Amy", b"5", sha(token).encode())
    issued(ok(redis.url, "supervisor", "add", "sam", "--name", "Sam"))
    assert ctl(redis.url, "supervisor", "add", "sam", "--name", "S").returncode == EXISTS


def test_no_stores_known_is_said_plainly(redis):
    p = ctl(redis.url, "agent", "add", "amy", "--name", "Amy")
    assert p.returncode == UNKNOWN_STORE and "no stores are known" in p.stderr
    assert "-c FILE" in p.stderr
    # a supervisor of all stores needs none
    issued(ok(redis.url, "supervisor", "add", "boss", "--name", "Boss", "--store", "*"))


def test_unreachable_redis_names_the_url_and_the_reason():
    d = short_tmpdir("ctl")
    url = f"unix://{d}/missing/redis.sock"
    p = ctl(url, "agent", "list")
    assert p.returncode == REDIS and p.stdout == ""
    assert url in p.stderr and "No such file or directory" in p.stderr
    p = ctl(f"redis://:hunter2@127.0.0.1:{free_port()}/0", "agent", "list")
    assert p.returncode == REDIS and "Connection refused" in p.stderr
    assert "hunter2" not in p.stderr and "redis://:***@127.0.0.1:" in p.stderr
    assert ctl("http://127.0.0.1/", "agent", "list").returncode == USAGE


def test_password_is_used_never_shown_and_a_wrong_one_is_refused():
    srv = RedisServer(short_tmpdir("rp"), password="s3cret-pw", port=free_port()).start()
    try:
        srv.client().hset("cg:store:demo", mapping={"name": "Demo", "groups": "pre-sales"})
        srv.client().sadd("cg:stores", "demo")
        for url, why in ((f"redis://127.0.0.1:{srv.port}", "wants a password"),
                         (f"redis://:not-the-pw-42@127.0.0.1:{srv.port}", "refused the password")):
            p = ctl(url, "agent", "list")
            assert p.returncode == REDIS and why in p.stderr
            assert "not-the-pw-42" not in p.stderr and "s3cret-pw" not in p.stderr
        p = ok(f"redis://:s3cret-pw@127.0.0.1:{srv.port}/0", "agent", "add", "amy", "--name", "A")
        assert "s3cret-pw" not in p.stdout + p.stderr
        assert srv.client().hget("cg:agent:amy", "store") == b"demo"
        # another db: its own identities
        ok(f"redis://:s3cret-pw@127.0.0.1:{srv.port}/3", "supervisor", "add", "boss", "--name",
           "B", "--store", "*")
        assert not srv.client().exists("cg:sup:boss")
    finally:
        srv.stop()


def test_a_failed_transaction_leaves_nothing_half_written(redis, stores):
    r = redis.client()
    r.execute_command("ACL", "SETUSER", "default", "-set")   # SET refused: EXEC aborts
    try:
        p = ctl(redis.url, "agent", "add", "amy", "--name", "Amy")
        assert p.returncode == REDIS and p.stdout == "" and "SET" in p.stderr
        assert not r.exists("cg:agent:amy") and not r.smembers("cg:agents")
    finally:
        r.execute_command("ACL", "SETUSER", "default", "+set")
    token = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy"))
    r.execute_command("ACL", "SETUSER", "default", "-zadd")
    try:
        assert ctl(redis.url, "agent", "del", "amy").returncode == REDIS
    finally:
        r.execute_command("ACL", "SETUSER", "default", "+zadd")
    assert r.get(f"cg:tok:{sha(token)}") == b"agent:amy"     # still whole
    assert_consistent(r)


def test_demo_is_idempotent_and_issues_fresh_tokens(redis, stores):
    def demo():
        p = ok(redis.url, "demo")
        desks = {}
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) == 5 and HEX64.match(f[4]):
                desks[f[1]] = (f[0], f[2], f[3], f[4])
        return desks

    first = demo()
    assert {k: v[:3] for k, v in first.items()} == {
        "alice": ("agent", "pre-sales", "ws://127.0.0.1:8080/v1/agent"),
        "bob": ("agent", "after-sales", "ws://127.0.0.1:8080/v1/agent"),
        "sam": ("supervisor", "demo", "ws://127.0.0.1:8080/v1/supervisor"),
    }
    r = redis.client()
    r.hset("cg:agent:bob", mapping={"capacity": 1, "groups": "pre-sales"})   # someone fiddled
    second = demo()
    assert {k: v[:3] for k, v in second.items()} == {k: v[:3] for k, v in first.items()}
    assert all(first[k][3] != second[k][3] for k in first)
    assert r.smembers("cg:agents") == {b"alice", b"bob"} and r.smembers("cg:sups") == {b"sam"}
    h = r.hgetall("cg:agent:bob")
    assert (h[b"groups"], h[b"capacity"], h[b"store"]) == (b"after-sales", b"5", b"demo")
    keys = {k.decode() for k in r.scan_iter("cg:tok:*")}
    assert keys == {f"cg:tok:{sha(v[3])}" for v in second.values()}
    assert_consistent(r)


def test_config_file_names_the_stores_and_the_embedded_redis(redis, tmp_path):
    """-c: stores from the file (none in Redis), Redis = <state_dir>/redis.sock,
    the demo URLs from its listen address."""
    conf = tmp_path / "gw.conf"
    conf.write_text(f'listen 0.0.0.0:9099\nredis ""\nstate_dir "{redis.dir}"\n'
                    "store shop\n    groups sales support\nstore other\n")
    p = ctl(None, "-c", str(conf), "agent", "add", "amy", "--name", "Amy", "--store", "shop",
            "--group", "support")
    assert p.returncode == 0, p.stderr
    assert redis.client().hget("cg:agent:amy", "groups") == b"support"
    p = ctl(None, "-c", str(conf), "agent", "add", "bob", "--name", "Bob", "--store", "shop",
            "--group", "pre-sales")
    assert p.returncode == UNKNOWN_STORE and "sales, support" in p.stderr
    p = ctl(None, "-c", str(conf), "demo", "--store", "shop")
    assert p.returncode == 0, p.stderr
    assert "ws://127.0.0.1:9099/v1/agent" in p.stdout
    assert redis.client().hget("cg:agent:alice", "groups") == b"sales"      # first group
    assert redis.client().hget("cg:agent:bob", "groups") == b"support"      # second
    bad = tmp_path / "bad.conf"
    bad.write_text("max_frame_bytes lots\n")
    p = ctl(None, "-c", str(bad), "agent", "list")
    assert p.returncode == USAGE and "bad.conf:1: max_frame_bytes" in p.stderr


def test_without_options_it_finds_the_redis_of_make_run(redis, stores):
    d = short_tmpdir("run")
    os.mkdir(os.path.join(d, "var"))
    os.symlink(redis.sock, os.path.join(d, "var", "redis.sock"))
    issued(ok(None, "agent", "add", "amy", "--name", "Amy", cwd=d))
    assert redis.client().exists("cg:agent:amy")


def test_help_and_version():
    p = ctl(None, "--help")
    assert p.returncode == 0 and "agent add ID --name NAME" in p.stdout
    assert "  5  Redis unreachable" in p.stdout
    p = ctl(None, "--version")
    assert (p.returncode, p.stdout) == (0, "chatgwctl 0.1.0\n")
    p = ctl(None)
    assert p.returncode == USAGE and "usage: chatgwctl" in p.stderr


def test_it_needs_no_libuv_only_hiredis_and_libcrypto():
    """chatgwctl is a blocking command-line tool: the daemon's event loop
    (libuv) is no part of it, so a host with only the Redis client libraries
    runs it."""
    dyn = subprocess.run(["readelf", "-d", "--dyn-syms", CHATGWCTL], capture_output=True,
                         text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    assert needed and not [lib for lib in needed if "libuv" in lib], needed
    assert not re.search(r"\buv_\w+", dyn), "chatgwctl calls libuv"


def test_a_token_from_chatgwctl_logs_in_and_reissuing_it_kicks_the_desk(redis, gateway):
    """The contract with chatgwd: it publishes its stores, chatgwctl checks
    against them, and the printed token is what the agent desk accepts."""
    gw = gateway(redis.url)
    assert ctl(redis.url, "agent", "add", "amy", "--name", "Amy",
               "--group", "billing").returncode == UNKNOWN_STORE
    token = issued(ok(redis.url, "agent", "add", "amy", "--name", "Amy Lee"))

    async def login(tok):
        c = await Client.connect(gw.ws, path="/v1/agent")
        await c.send({"t": "login", "token": tok})
        return c, await c.recv()

    async def body():
        c, w = await login(token)
        assert w["t"] == "welcome" and w["agent"]["id"] == "amy"
        assert w["agent"]["name"] == "Amy Lee" and w["agent"]["capacity"] == 5
        new = issued(ok(redis.url, "agent", "token", "amy"))
        assert (await c.expect("error"))["code"] == "unauthorized"
        assert (await c.closed())[0] == 1008
        c, w = await login(new)
        assert w["t"] == "welcome"
        await c.close()
        c, e = await login(token)
        assert (e["t"], e["code"]) == ("error", "unauthorized")
        assert (await c.closed())[0] == 1008

    run(body())
    assert token not in gw.logtext()
