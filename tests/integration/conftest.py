"""Integration harness: real redis-server, real chatgwd, real WebSocket clients.

Fixtures:
  redis      a private redis-server on a unix socket (AOF on), stopped after the test
  gateway    a factory: gateway(redis_url=..., **options) starts chatgwd with a
             config written from the options and waits until it is ready
Every process a test starts is stopped when the test ends, even on failure.
"""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
import redis as redis_py

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHATGWD = os.path.join(ROOT, "build", "chatgwd")
REDIS_SERVER = "/usr/bin/redis-server"

DEMO_GREETING = "Welcome to {store}, {buyer}! An agent will be with you shortly."
DEMO_HOLD = "Still here, {buyer}: you are number {position} in line."


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A chat in Redis (daemon/chat.h): one hash holding its record's fields,
# 'n' and its messages by seq, the client ids, 'loc' and 'an'.
CHAT_NUMERIC = ("created", "assigned", "closed")
CHAT_RECORD = ("store", "buyer", "name", "group", "created", "state", "tok", "agent",
               "agent_name", "assigned", "reason", "closed")


def chat_key(chat):
    return f"cg:chat:{{{chat}}}"


def chat_meta(r, chat):
    """The chat's record as a dict (numbers as ints), or None."""
    v = r.hmget(chat_key(chat), CHAT_RECORD)
    if v[0] is None:
        return None
    return {f: (int(x) if f in CHAT_NUMERIC else x.decode())
            for f, x in zip(CHAT_RECORD, v) if x is not None}


def chat_transcript(r, chat):
    """The chat's messages, oldest first, as dicts."""
    n = int(r.hget(chat_key(chat), "n") or 0)
    recs = r.hmget(chat_key(chat), [str(i) for i in range(1, n + 1)]) if n else []
    import msgpack
    return [msgpack.unpackb(x, raw=False) for x in recs]


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def wait_for_async(pred, timeout=10.0, step=0.05, what="condition"):
    """wait_for inside a test's event loop: its clients keep running between
    polls. pred is a plain function (a Redis read, a /metrics fetch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(port, path):
    """(status, body) of a GET on the gateway; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


class RedisServer:
    def __init__(self, workdir, password=None, port=None):
        self.dir = workdir
        self.sock = os.path.join(workdir, "redis.sock")
        self.password = password
        self.port = port
        self.proc = None

    @property
    def url(self):
        if self.port:
            auth = f":{self.password}@" if self.password else ""
            return f"redis://{auth}127.0.0.1:{self.port}"
        return f"unix://{self.sock}"

    def start(self):
        args = [REDIS_SERVER, "--port", str(self.port or 0), "--bind", "127.0.0.1",
                "--unixsocket", self.sock, "--dir", self.dir,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--logfile", os.path.join(self.dir, "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._ping(), what="redis-server to answer PING")
        return self

    def _ping(self):
        try:
            return self.client().ping()
        except redis_py.RedisError:
            return False

    def client(self):
        return redis_py.Redis(unix_socket_path=self.sock, password=self.password,
                              socket_timeout=5)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


_short_dirs = []


def short_tmpdir(prefix="cg"):
    """A directory under /tmp, removed after the run: unix socket paths
    must stay under 108 bytes, which pytest's tmp_path may not."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    _short_dirs.append(d)
    return d


@pytest.fixture(scope="session", autouse=True)
def _remove_short_dirs():
    yield
    for d in _short_dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def redis():
    r = RedisServer(short_tmpdir("r")).start()
    yield r
    r.stop()


class Gateway:
    """One chatgwd process with its own config file and log."""

    def __init__(self, tmp, redis_url, port=None, stores=None, **options):
        self.tmp = tmp
        self.port = port or free_port()
        self.conf = os.path.join(tmp, f"gw-{self.port}-{id(self)}.conf")
        self.logpath = self.conf.replace(".conf", ".log")
        self.options = {"listen": f"127.0.0.1:{self.port}", "redis": redis_url,
                        "state_dir": os.path.join(tmp, "state"), "log_level": "info",
                        "redis_backoff_max": "500ms",
                        # every test's buyers come from 127.0.0.1; the
                        # per-address meter has its own tests
                        "new_chat_rate": 100000, "new_chat_burst": 1000000}
        self.options.update(options)
        self.stores = stores if stores is not None else {
            "demo": {"name": "Demo Store", "greeting": DEMO_GREETING,
                     "hold_text": DEMO_HOLD}}
        self.proc = None
        self.write_config()

    def write_config(self):
        lines = []
        for k, v in self.options.items():
            lines.append(f'{k} "{v}"' if isinstance(v, str) else f"{k} {v}")
        for sid, opts in self.stores.items():
            lines.append(f"store {sid}")
            for k, v in opts.items():
                for one in (v if isinstance(v, list) else [v]):   # a list: repeated lines
                    lines.append(f'    {k} "{one}"' if isinstance(one, str) else f"    {k} {one}")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, wait_ready=True, extra_args=(), nofile=None):
        self.log = open(self.logpath, "ab")

        def limits():
            if nofile:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen([CHATGWD, "-c", self.conf, *extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=limits)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        def ready():
            assert self.proc.poll() is None, f"chatgwd exited:\n{self.logtext()}"
            return http_get(self.port, "/healthz")[0] == 200
        wait_for(ready, timeout, what=f"chatgwd :{self.port} /healthz 200")

    def health(self):
        return http_get(self.port, "/healthz")[0]

    def metrics(self):
        status, body = http_get(self.port, "/metrics")
        assert status == 200
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("chatgwd did not stop within %ss" % timeout)
        rc = self.proc.returncode
        self.log.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    @property
    def ws(self):
        return f"ws://127.0.0.1:{self.port}"


@pytest.fixture
def gateway(tmp_path):
    started = []

    def make(redis_url, start=True, **kw):
        g = Gateway(str(tmp_path), redis_url, **kw)
        started.append(g)
        return g.start() if start else g

    yield make
    for g in started:
        if g.proc and g.proc.poll() is None:
            g.proc.kill()
            g.proc.wait()


def children_of(pid):
    """pids of the direct children of pid (from /proc)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(p))
        except (OSError, IndexError):
            pass
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
