"""With no Redis configured chatgwd runs its own redis-server: started,
restarted when it dies, stopped on exit, and never left behind."""
import asyncio
import os
import signal

from client import Client, buyer, run
from conftest import alive, children_of, short_tmpdir, wait_for


def redis_child(gw):
    kids = [p for p in children_of(gw.proc.pid)
            if "redis-server" in open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")]
    return kids[0] if len(kids) == 1 else None


def in_aof(state, data):
    """Whether an AOF file in state has data: written by redis-server,
    so a kill -9 of it (not of the machine) keeps it."""
    d = os.path.join(state, "appendonlydir")
    for n in os.listdir(d) if os.path.isdir(d) else ():
        with open(os.path.join(d, n), "rb") as f:
            if data in f.read():
                return True
    return False


def embedded(gateway, tmp_path):
    state = short_tmpdir("cgs")
    return gateway("", state_dir=state), state


def test_embedded_redis_lifecycle_and_durability(gateway, tmp_path):
    gw, state = embedded(gateway, tmp_path)
    pid = redis_child(gw)
    assert pid and alive(pid)
    assert os.path.exists(os.path.join(state, "redis.sock"))

    async def chat():
        c, w = await buyer(gw)
        await c.first_message("kept across restarts", "m1")
        await c.close()
        return w

    w = run(chat())
    wait_for(lambda: in_aof(state, b"kept across restarts"), 5, what="the message in the AOF")

    # redis-server dies: chatgwd restarts it and carries on
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: gw.health() == 503 or (redis_child(gw) not in (None, pid)), 5,
             what="the gateway to notice")
    wait_for(lambda: redis_child(gw) not in (None, pid) and gw.health() == 200, 15,
             what="a new redis-server and /healthz 200")
    assert "event=redis_exited" in gw.logtext()

    async def resume(g):
        c = await Client.connect(g.ws)
        await c.send({"t": "hello", "resume": w["resume"], "since": 0})
        await c.expect("welcome", seq=2)
        m = await c.expect("msg", seq=1)
        assert m["text"] == "kept across restarts"
        await c.expect("msg", seq=2)

    run(resume(gw))

    # SIGTERM: exit 0 and the child is gone too
    child = redis_child(gw)
    assert gw.stop() == 0
    assert not alive(child)
    assert not os.path.exists(os.path.join(state, "redis.sock"))

    # a new daemon on the same state directory finds the chat (AOF)
    gw2 = gateway("", state_dir=state)
    run(resume(gw2))


def test_kill9_of_chatgwd_leaves_no_redis_behind(gateway, tmp_path):
    gw, state = embedded(gateway, tmp_path)
    child = redis_child(gw)
    assert child and alive(child)
    gw.kill9()
    wait_for(lambda: not alive(child), 5, what="redis-server to exit after chatgwd died")
    # the state directory is free again: a new daemon starts on it
    gw2 = gateway("", state_dir=state)
    assert redis_child(gw2)


def test_two_daemons_cannot_share_a_state_directory(gateway, tmp_path):
    gw, state = embedded(gateway, tmp_path)
    other = gateway("", start=False, state_dir=state).start(wait_ready=False)
    assert other.proc.wait(10) == 1
    assert "state_dir_busy" in other.logtext()
    assert gw.health() == 200 and redis_child(gw)


def test_with_a_redis_url_nothing_is_started(redis, gateway):
    gw = gateway(redis.url)
    assert redis_child(gw) is None
    assert "embedded=no" in gw.logtext()


def fake_redis_server(tmp_path, name, on_term):
    """A redis-server behind a shell that runs on_term on SIGTERM (with the
    real server's pid in $!), as a redis-server slow to stop would."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n"
                    "/usr/bin/redis-server \"$@\" &\n"
                    f"trap '{on_term}' TERM\n"
                    "wait; wait; wait\n")
    path.chmod(0o755)
    return str(path)


def assert_own_redis_serves(gw, state):
    import redis as redis_py
    sock = os.path.join(state, "redis.sock")
    assert gw.health() == 200
    assert os.path.exists(sock), "redis.sock is gone"
    assert redis_py.Redis(unix_socket_path=sock, socket_timeout=2).ping()


def test_restart_right_after_kill9_keeps_its_redis(gateway, tmp_path):
    """systemd's Restart= starts a new chatgwd while the old one's
    redis-server is still shutting down: the new daemon's Redis must not
    lose its socket to the old one's exit (which unlinks redis.sock)."""
    # a second to stop, as with a big AOF to flush: the race is then lost
    # every time, not now and then
    slow = fake_redis_server(tmp_path, "slow-redis-server", "sleep 1; kill -TERM $!")
    state = short_tmpdir("cgs")
    gw = gateway("", state_dir=state, redis_server=slow)
    for _ in range(5):
        port = gw.port
        wrapper = redis_child(gw)
        assert wrapper
        old = [wrapper] + children_of(wrapper)       # the shell and its redis-server
        gw.kill9()
        gw = gateway("", port=port, state_dir=state, redis_server=slow)  # at once
        wait_for(lambda: not any(alive(p) for p in old), 10,
                 what="the old redis-server to exit")
        assert_own_redis_serves(gw, state)
        assert "redis_previous_running" in gw.logtext()

    async def chat():
        c, _ = await buyer(gw)
        await c.first_message("still stored", "m1")
        await c.close()

    run(chat())
    assert gw.health() == 200


def test_restart_kills_an_old_redis_that_will_not_exit(gateway, tmp_path):
    stuck = fake_redis_server(tmp_path, "stuck-redis-server", "")
    state = short_tmpdir("cgs")
    gw = gateway("", state_dir=state, redis_server=stuck)
    old = redis_child(gw)
    gw.kill9()
    gw = gateway("", state_dir=state, redis_server=stuck, start=False).start(wait_ready=False)
    try:
        gw.wait_ready(15)                 # 5 s of waiting, then the kill
        assert not alive(old)
        assert "redis_previous_killed" in gw.logtext()
        assert_own_redis_serves(gw, state)
    finally:                              # this one would not stop either
        for pid in children_of(gw.proc.pid) + [old]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def modes_under(top):
    """{relative path: permission bits} of top and everything in it."""
    out = {".": os.stat(top).st_mode & 0o7777}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = os.lstat(p).st_mode & 0o7777
    return out


def test_embedded_redis_files_are_private(gateway, tmp_path):
    state = os.path.join(short_tmpdir("cgs"), "new")     # chatgwd creates it
    old_umask = os.umask(0o022)           # what a login shell would hand down
    try:
        gw = gateway("", state_dir=state)
    finally:
        os.umask(old_umask)

    async def chat():
        c, _ = await buyer(gw)
        await c.first_message("my card is 4111 1111 1111 1111", "m1")
        await c.close()

    run(chat())
    wait_for(lambda: in_aof(state, b"my card is"), 5, what="the message in the AOF")
    modes = modes_under(state)
    assert "redis.log" in modes and "appendonlydir" in modes, modes
    assert any(p.startswith("appendonlydir/") and p.endswith(".aof") for p in modes), modes
    for path, mode in modes.items():
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}: open to group or others"
    assert "state_dir_mode_fixed" not in gw.logtext()


def test_state_dir_open_to_others_is_closed_and_said_so(gateway, tmp_path):
    state = short_tmpdir("cgs")
    os.chmod(state, 0o755)
    gw = gateway("", state_dir=state)
    assert os.stat(state).st_mode & 0o777 == 0o700
    line = [l for l in gw.logtext().splitlines() if "state_dir_mode_fixed" in l]
    assert line and "old_mode=0755" in line[0] and "new_mode=0700" in line[0], gw.logtext()


def test_state_dir_of_another_user_is_refused(gateway, tmp_path):
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root to give the directory away")
    state = short_tmpdir("cgs")
    os.chown(state, 65534, 65534)
    gw = gateway("", state_dir=state, start=False).start(wait_ready=False)
    assert gw.proc.wait(10) == 1
    assert "state_dir_unsafe" in gw.logtext()
    assert not os.path.exists(os.path.join(state, "redis.sock"))
