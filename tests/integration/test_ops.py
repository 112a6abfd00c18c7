"""Operating the daemon: signals, config checks, health, metrics, logs."""
import asyncio
import os
import signal
import subprocess
import time

import pytest
import websockets

from client import Client, buyer, run
from conftest import CHATGWD, RedisServer, free_port, http_get, short_tmpdir, wait_for


def test_sigterm_closes_sessions_1001_and_exits_0(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        clients = [await buyer(gw) for _ in range(5)]
        await clients[0][0].first_message()
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        for c, _ in clients:
            assert await c.closed() == (1001, "shutdown")
        return t0

    t0 = run(body())
    assert gw.proc.wait(5) == 0
    assert time.monotonic() - t0 < 5
    assert "event=stopped" in gw.logtext()


def test_sighup_applies_a_new_greeting_and_keeps_the_old_config_on_error(redis, gateway):
    gw = gateway(redis.url, stores={"demo": {"name": "Demo", "greeting": "Old greeting"}})

    async def greeting():
        c, _ = await buyer(gw)
        g, _, _ = await c.first_message()
        return g["text"]

    assert run(greeting()) == "Old greeting"
    gw.stores["demo"]["greeting"] = "New greeting from {store}"
    gw.write_config()
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "event=reloaded" in gw.logtext(), 5, what="reload")
    assert run(greeting()) == "New greeting from Demo"

    # a broken file is reported and changes nothing
    with open(gw.conf, "a") as f:
        f.write("max_frame_bytes lots\n")
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "event=reload_failed" in gw.logtext(), 5, what="reload_failed")
    assert "max_frame_bytes" in gw.logtext()
    assert run(greeting()) == "New greeting from Demo"
    assert gw.proc.poll() is None


def test_check_config_reports_file_line_option_problem(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text('listen 127.0.0.1:9\nstore s1\n    greeting "Hi {buyer}"\n')
    r = subprocess.run([CHATGWD, "--check-config", "-c", str(good)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout + r.stderr

    bad = tmp_path / "bad.conf"
    bad.write_text("listen 127.0.0.1:9\nmax_frame_bytes 10\nnot_an_option 1\n"
                   'store s1\n    greeting "Hi {nope}"\n')
    r = subprocess.run([CHATGWD, "--check-config", "-c", str(bad)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith(f"{bad}:2: max_frame_bytes: ")
    assert lines[1].startswith(f"{bad}:3: not_an_option: ")
    assert lines[2].startswith(f"{bad}:5: greeting: ")
    # the demo and the default config are valid as shipped (run from the
    # top directory, as `make run` does: the demo's plugin paths are relative)
    root = os.path.dirname(os.path.dirname(CHATGWD))
    for f in ("conf/demo.conf", "conf/chatgw.conf"):
        r = subprocess.run([CHATGWD, "--check-config", "-c", os.path.join(root, f)],
                           capture_output=True, text=True, timeout=10, cwd=root)
        assert r.returncode == 0, (f, r.stderr)


def check_config(path):
    return subprocess.run([CHATGWD, "--check-config", "-c", str(path)],
                          capture_output=True, timeout=10)


def test_check_config_of_dev_zero_fails_at_once():
    """Reading /dev/zero as a config grew to 2 GB in 3 s."""
    t0 = time.monotonic()
    r = check_config("/dev/zero")
    assert time.monotonic() - t0 < 2
    assert r.returncode == 1
    assert r.stderr == b"/dev/zero:1: config: file larger than 1048576 bytes (1 MiB); stopped reading\n"


def test_check_config_runs_the_url_parser_and_never_shows_the_password(tmp_path):
    conf = tmp_path / "c.conf"
    for url in ("http://:hunter2@db:6379", "redis://:hunter2@db:99999", "redis://:hunter2@db/x",
                "redis://admin:hunter2@db"):
        conf.write_text(f'redis "{url}"\n')
        r = check_config(conf)
        assert r.returncode == 1, url
        assert r.stderr.startswith(f"{conf}:1: redis: ".encode()), r.stderr
        assert b"hunter2" not in r.stderr


def test_check_config_refuses_missing_tls_files(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text(f'tls_cert "{tmp_path}/none.pem"\ntls_key "{tmp_path}/none.key"\n')
    r = check_config(conf)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == [
        f'{conf}:1: tls_cert: cannot use "{tmp_path}/none.pem": No such file or directory',
        f'{conf}:2: tls_key: cannot use "{tmp_path}/none.key": No such file or directory']


def test_check_config_shows_binary_bytes_escaped(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_bytes(b'listen "\x1b]0;owned\x07"\n\x1b[2Jx 1\n')
    r = check_config(conf)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == [
        f'{conf}:1: listen: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, '
        f'got "\\x1B]0;owned\\x07"',
        f"{conf}:2: \\x1B[2Jx: unknown option"]


def test_version_and_usage():
    r = subprocess.run([CHATGWD, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("chatgwd ")
    r = subprocess.run([CHATGWD, "--no-such-flag"], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "usage" in (r.stdout + r.stderr).lower()


def test_http_endpoints_and_unknown_paths(redis, gateway):
    gw = gateway(redis.url)
    assert http_get(gw.port, "/healthz") == (200, "ok\n")
    assert http_get(gw.port, "/nope")[0] == 404

    async def body():
        c, _ = await buyer(gw)
        await c.first_message()
        try:
            await websockets.connect(gw.ws + "/v1/nothing-here", close_timeout=1)
            raise AssertionError("an upgrade on an unknown path must be refused")
        except websockets.InvalidStatusCode as e:
            assert e.status_code in (400, 403, 404)
        except websockets.InvalidHandshake:
            pass

    run(body())
    m = gw.metrics()
    assert m["chatgw_redis_up"] == 1
    assert m['chatgw_sessions{role="buyer"}'] == 0
    assert m["chatgw_greetings_total"] == 1
    assert m["chatgw_msgs_stored_total"] == 1


def test_logs_carry_no_secrets_and_no_message_text(gateway):
    pw = "s3cret-Redis-pw"
    r = RedisServer(short_tmpdir("rp"), password=pw, port=free_port()).start()
    try:
        gw = gateway(r.url)

        async def body():
            c, w = await buyer(gw, name="Ann")
            await c.first_message("my card number is 4111-TOPSECRET", "m1")
            await c.send({"t": "hello", "resume": w["resume"]})  # conflict
            await c.expect("error", code="conflict")
            c2 = await Client.connect(gw.ws)
            await c2.send({"t": "hello", "resume": w["resume"][:32] + "0" * 32})
            await c2.expect("error", code="unauthorized")
            return w

        w = run(body())
        assert gw.stop() == 0
        log = gw.logtext()
        assert "event=ready" in log and "127.0.0.1" in log
        for secret in (pw, "TOPSECRET", w["resume"][32:], "0" * 32):
            assert secret not in log, secret
        # a wrong password is a clear error, not a crash, and not echoed
        bad = gateway(r.url.replace(pw, "wrong-pw"), log_level="debug",
                      start=False).start(wait_ready=False)
        wait_for(lambda: "redis_connect_failed" in bad.logtext() or
                 "redis_handshake_failed" in bad.logtext(), 5,
                 what="an auth error in the log")
        assert 'error="wrong password"' in bad.logtext()
        assert bad.proc.poll() is None and bad.health() == 503
        assert "wrong-pw" not in bad.logtext()
        # retries go on (said at debug), said once per link at error level
        retried = lambda link: f"level=debug event=redis_handshake_failed link={link} "
        wait_for(lambda: all(bad.logtext().count(retried(link)) >= 2
                             for link in ("redis", "redis_sub")), 10,
                 what="two retries of each link")
        log = bad.logtext()
        assert "wrong-pw" not in log
        assert log.count("level=error event=redis_handshake_failed link=redis ") == 1
        assert log.count("level=error event=redis_handshake_failed link=redis_sub ") == 1
        assert log.count("event=redis_down link=redis ") == 1
    finally:
        r.stop()


# ---- TLS on the listener ----------------------------------------------------------

def make_cert(d, name):
    """A self-signed certificate and its key, made by the openssl CLI."""
    cert, key = os.path.join(d, f"{name}.crt"), os.path.join(d, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
    return cert, key


def test_buyer_chats_over_tls_with_the_certificate_it_was_given(redis, gateway, tmp_path):
    import ssl
    cert, key = make_cert(str(tmp_path), "gw")
    gw = gateway(redis.url, start=False, tls_cert=cert, tls_key=key)
    assert check_config(gw.conf).returncode == 0
    gw.start(wait_ready=False)
    ctx = ssl.create_default_context(cafile=cert)     # trusts this certificate only
    ctx.check_hostname = False

    async def body():
        c = await wait_for_async_connect(f"wss://127.0.0.1:{gw.port}", ctx, gw)
        # the server shows the certificate the test made
        der = c.ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        assert der == ssl.PEM_cert_to_DER_cert(open(cert).read())
        await c.hello()
        greet, ack, _ = await c.first_message("over TLS", "t1")
        assert ack["seq"] >= 1 and greet["text"]
        # plain ws on a TLS port gets no WebSocket
        try:
            await Client.connect(gw.ws, open_timeout=3)
            raise AssertionError("a plain ws connection to the TLS listener must fail")
        except (websockets.InvalidHandshake, OSError, asyncio.TimeoutError, EOFError):
            pass

    run(body())
    assert "tls=yes" in gw.logtext() or "tls=on" in gw.logtext(), gw.logtext()


async def wait_for_async_connect(url, ctx, gw, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        assert gw.proc.poll() is None, gw.logtext()
        try:
            return await Client.connect(url, ssl=ctx)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def test_check_config_refuses_a_wrong_key_or_certificate(tmp_path):
    cert, key = make_cert(str(tmp_path), "a")
    _, other_key = make_cert(str(tmp_path), "b")
    conf = tmp_path / "c.conf"
    cases = [
        # (tls_cert, tls_key, the one error line)
        (cert, other_key, f'{conf}:2: tls_key: "{other_key}" is not the private key of '
                          f'tls_cert "{cert}"'),
        (key, key, f'{conf}:1: tls_cert: "{key}" holds no PEM certificate'),
        (cert, cert, f'{conf}:2: tls_key: "{cert}" holds no PEM private key (or one encrypted '
                     f'with a passphrase, which chatgwd cannot be given)'),
        (cert, str(tmp_path / "gone.key"),
         f'{conf}:2: tls_key: cannot use "{tmp_path}/gone.key": No such file or directory'),
    ]
    for c, k, want in cases:
        conf.write_text(f'tls_cert "{c}"\ntls_key "{k}"\n')
        r = check_config(conf)
        assert r.returncode == 1, (c, k)
        assert want in r.stderr.decode().splitlines(), r.stderr.decode()
    # an encrypted key would ask for a passphrase: refused, and nothing waits on a terminal
    enc = tmp_path / "enc.key"
    subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout", "pass:pw", "-out",
                    str(enc)], check=True, capture_output=True, timeout=30)
    conf.write_text(f'tls_cert "{cert}"\ntls_key "{enc}"\n')
    r = subprocess.run([CHATGWD, "--check-config", "-c", str(conf)], capture_output=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and b"holds no PEM private key" in r.stderr
    # and the matching pair is fine
    conf.write_text(f'tls_cert "{cert}"\ntls_key "{key}"\n')
    assert check_config(conf).returncode == 0
