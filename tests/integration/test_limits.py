"""Every row of the limits table: bad input gets a clear answer, loses
nothing, and no other session notices."""
import asyncio
import os
import socket
import time

import msgpack

from client import Client, Closed, buyer, client_frame, raw_ws_handshake, run
from conftest import wait_for_async
from test_buyer import transcript


async def bystander(gw):
    """A buyer who is mid-chat while someone else misbehaves."""
    c, w = await buyer(gw)
    await c.first_message("bystander", "b1")
    return c, w


async def bystander_unaffected(c, seq):
    await c.send({"t": "msg", "id": f"after-{seq}", "text": "still fine?"})
    await c.expect("ack", seq=seq)


def test_malformed_frames_get_bad_frame_and_the_session_stays(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        other, _ = await bystander(gw)
        c, _ = await buyer(gw)
        await c.send_raw('{"t":"msg","id":')                 # cut JSON
        await c.expect("error", code="bad_frame")
        # the session speaks JSON (its hello did): errors come as JSON
        await c.send_raw(b"\x82\xa1t\xa3msg")                # map of 2, one pair
        await c.expect("error", code="bad_frame")
        # the session is intact: the bad frames count, but 2 < 3
        greet, ack, _ = await c.first_message()
        assert ack["seq"] == 1
        await bystander_unaffected(other, 3)

    run(body())


def test_too_many_bad_frames_close_1008(redis, gateway):
    gw = gateway(redis.url, bad_frames_max=3, bad_frames_window="10s")

    async def body():
        other, _ = await bystander(gw)
        c, _ = await buyer(gw)
        for i in range(3):
            await c.send_raw("not json")
            await c.expect("error", code="bad_frame")
        assert await c.closed() == (1008, "bad_frames")
        await bystander_unaffected(other, 3)

    run(body())
    assert gw.metrics()['chatgw_closes_total{reason="bad_frames"}'] == 1


def test_bad_frames_outside_the_window_do_not_add_up(redis, gateway):
    gw = gateway(redis.url, bad_frames_max=2, bad_frames_window="500ms")

    async def body():
        c, _ = await buyer(gw)
        await c.send_raw("x")
        await c.expect("error", code="bad_frame")
        await asyncio.sleep(0.7)
        await c.send_raw("y")
        await c.expect("error", code="bad_frame")
        await c.first_message()                     # still open

    run(body())


def test_frame_over_max_size_closes_1009(redis, gateway):
    gw = gateway(redis.url, max_frame_bytes="1k")

    async def body():
        other, _ = await bystander(gw)
        c, _ = await buyer(gw)
        await c.send({"t": "msg", "id": "big", "text": "x" * 1100})
        assert await c.closed() == (1009, "too_large")
        await bystander_unaffected(other, 3)
        # just under the limit is fine
        c2, _ = await buyer(gw)
        frame = '{"t":"msg","id":"ok","text":"%s"}'
        await c2.send_raw(frame % ("y" * (1024 - len(frame % ""))))
        await c2.expect("msg")
        await c2.expect("ack", id="ok")

    run(body())


def test_text_over_max_length_is_too_large_and_not_stored(redis, gateway):
    gw = gateway(redis.url, stores={"demo": {"greeting": "hi", "max_text_chars": 10}})

    async def body():
        c, w = await buyer(gw)
        await c.send({"t": "msg", "id": "long", "text": "é" * 11})
        await c.expect("error", code="too_large", ref="long")
        await c.send({"t": "msg", "id": "empty", "text": ""})
        await c.expect("error", code="bad_value", ref="empty", field="text")
        # 10 characters (20 bytes of UTF-8) is within the limit
        greet, ack, _ = await c.first_message("é" * 10, "ten")
        assert ack["seq"] == 1
        return w

    w = run(body())
    assert [m["text"] for m in transcript(redis.client(), w["chat"])] == ["é" * 10, "hi"]


def test_invalid_utf8_is_bad_frame(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, w = await buyer(gw)
        # a text frame whose payload is not UTF-8
        await c.send_text_bytes(b'{"t":"msg","id":"u","text":"\xc3\x28"}')
        await c.expect("error", code="bad_frame")
        # the same inside a msgpack string (an overlong encoding of '/')
        await c.send_raw(b"\x83\xa1t\xa3msg\xa2id\xa1v\xa4text\xa2\xc0\xaf")
        await c.expect("error", code="bad_frame")
        await c.first_message()
        return w

    w = run(body())
    assert len(transcript(redis.client(), w["chat"])) == 2


def test_unknown_type_missing_and_mistyped_fields(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c, _ = await buyer(gw)
        await c.send({"t": "order_pizza"})
        await c.expect("error", code="bad_type")
        await c.send({"t": "msg", "id": "m1"})
        await c.expect("error", code="missing_field", field="text")
        await c.send({"t": "msg", "id": "m1", "text": 42})
        await c.expect("error", code="bad_value", field="text")
        await c.send({"t": "msg", "id": 7, "text": "hi"})
        await c.expect("error", code="bad_value", field="id")
        await c.send({"no_t": 1})
        await c.expect("error", code="bad_frame")
        await c.send_raw("[1,2]")                      # not a map
        await c.expect("error", code="bad_frame")

    run(body())


def test_msg_before_hello_is_no_session(redis, gateway):
    gw = gateway(redis.url)

    async def body():
        c = await Client.connect(gw.ws)
        await c.send({"t": "msg", "id": "m1", "text": "hi"})
        await c.expect("error", code="no_session", ref="m1")
        await c.hello()
        await c.first_message()

    run(body())


def test_flooding_is_rate_limited_and_the_excess_not_stored(redis, gateway):
    gw = gateway(redis.url, msg_rate=10, msg_burst=5)

    async def body():
        other, _ = await bystander(gw)
        c, w = await buyer(gw)
        await c.first_message("m0", "f0")
        t0 = time.monotonic()
        for i in range(1, 41):
            await c.send({"t": "msg", "id": f"f{i}", "text": f"flood {i}"})
        acked, limited = [], []
        for _ in range(40):
            f = await c.recv()
            (acked if f["t"] == "ack" else limited).append(f)
        elapsed = time.monotonic() - t0
        assert all(f["t"] == "error" and f["code"] == "rate_limited" for f in limited)
        assert limited, "40 messages at once must trip a burst of 5"
        # at most the bucket left after f0 plus what refilled meanwhile
        assert len(acked) <= 5 + 10 * elapsed + 1
        await bystander_unaffected(other, 3)
        # after a pause the buyer may write again
        await asyncio.sleep(0.5)
        await c.send({"t": "msg", "id": "calm", "text": "sorry"})
        await c.expect("ack", id="calm")
        return w, [f["id"] for f in acked], [f["ref"] for f in limited]

    w, acked, limited = run(body())
    stored = [m.get("id") for m in transcript(redis.client(), w["chat"]) if m["from"] == "buyer"]
    assert stored == ["f0"] + acked + ["calm"]
    assert not set(limited) & set(stored)


def test_sessions_per_ip_over_the_limit_close_1013(redis, gateway):
    gw = gateway(redis.url, max_sessions_per_ip=3)

    async def body():
        held = [await buyer(gw) for _ in range(3)]
        extra = await Client.connect(gw.ws)
        assert await extra.closed() == (1013, "per_ip")
        # the three are untouched, and a slot frees when one leaves
        await held[0][0].first_message()
        await held[1][0].close()
        await wait_for_async(lambda: gw.metrics()['chatgw_sessions{role="buyer"}'] == 2,
                             what="the gateway to let the closed session go")
        again, _ = await buyer(gw)
        await again.first_message()

    run(body())


def test_slow_reader_is_closed_and_memory_stays_bounded(redis, gateway):
    gw = gateway(redis.url, outbound_max_bytes="8k", msg_rate=10000, msg_burst=100000)

    def flood():
        """A bare client that writes and never reads: its acks pile up."""
        s, head, _ = raw_ws_handshake(gw.port, rcvbuf=4096)
        assert head.startswith("HTTP/1.1 101")
        s.sendall(client_frame(b'{"t":"hello","store":"demo"}'))
        s.settimeout(2)
        sent = 0
        try:
            for i in range(40000):
                s.sendall(client_frame(b'{"t":"msg","id":"s%d","text":"x"}' % i))
                sent += 1
        except OSError:
            pass                # the server stopped reading or closed: expected
        data, reset = b"", False
        s.settimeout(5)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            # the server closed with our unread frames in its buffer: TCP
            # answers with a reset, which may drop the close frame in flight
            reset = True
        except OSError:
            pass
        return sent, data, reset

    async def body():
        other, _ = await bystander(gw)
        sent, data, reset = await asyncio.get_running_loop().run_in_executor(None, flood)
        # memory stayed bounded: the server gave up long before the end,
        # with far fewer acks out than messages in
        acks = data.count(b'"t":"ack"')
        assert acks < sent // 2, (acks, sent)
        # the stream ends with a close frame, 1008 slow_reader (unless TCP's
        # reset overtook it; the server's count below says why it closed)
        tail = data[-(2 + 2 + len("slow_reader")):]
        assert tail == b"\x88\x0d\x03\xf0slow_reader" or reset, (sent, tail)
        await bystander_unaffected(other, 3)

    run(body())
    assert gw.metrics()['chatgw_closes_total{reason="slow_reader"}'] == 1


def test_silent_peer_is_pinged_then_closed(redis, gateway):
    gw = gateway(redis.url, ping_interval="300ms", idle_timeout="1s")

    async def body():
        # a client whose library answers pings stays, silent or not
        live, _ = await buyer(gw)
        live.ws.ping_interval = None
        s, head, rest = raw_ws_handshake(gw.port)
        assert head.startswith("HTTP/1.1 101")
        s.settimeout(5)
        data, t0 = rest, time.monotonic()
        while True:
            chunk = await asyncio.get_running_loop().run_in_executor(None, s.recv, 4096)
            if not chunk:
                break
            data += chunk
        waited = time.monotonic() - t0
        assert b"\x89\x02cg" in data, "the server pings a silent peer"
        close_at = data.index(b"\x88")
        assert int.from_bytes(data[close_at + 2:close_at + 4], "big") == 1001
        assert 0.8 < waited < 4
        # the live client answered its pings and is still served
        await live.first_message()

    run(body())


def test_hello_timeout_closes_1008(redis, gateway):
    gw = gateway(redis.url, hello_timeout="500ms")

    async def body():
        c = await Client.connect(gw.ws)
        assert await c.closed(timeout=4) == (1008, "hello_timeout")

    run(body())


def test_out_of_files_pauses_accepting_instead_of_spinning(redis, gateway):
    gw = gateway(redis.url, start=False).start(nofile=48)

    def cpu_seconds():
        with open(f"/proc/{gw.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def body():
        held, _ = await buyer(gw)
        socks = []
        for _ in range(80):              # more than the process may open
            s = socket.socket()
            s.settimeout(2)
            s.connect(("127.0.0.1", gw.port))
            socks.append(s)
        cpu0 = cpu_seconds()
        await asyncio.sleep(1.5)
        # it waited instead of retrying the accept in a loop
        assert cpu_seconds() - cpu0 < 0.5
        assert 1 <= gw.logtext().count("event=accept_paused") <= 40
        assert gw.proc.poll() is None
        await held.first_message()       # the sessions it holds are served
        for s in socks:
            s.close()
        # files free again: new buyers get in
        async def hello_again():
            c, _ = await buyer(gw)
            await c.first_message()
        await asyncio.wait_for(hello_again(), 10)

    run(body())
