"""A WebSocket client as a store page or a test would use it.

Tests are plain functions that call run(coro): each coroutine gets a hard
time limit, so a hung gateway fails the test instead of hanging the suite.
"""
import asyncio
import json
import socket
import time

import msgpack
import websockets

RECV_TIMEOUT = 5.0


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason}")
        self.code = code
        self.reason = reason


class Client:
    def __init__(self, ws, binary):
        self.ws = ws
        self.binary = binary
        self.pushed = []                  # frames put back for the next recv

    @classmethod
    async def connect(cls, base, path="/v1/buyer", binary=False, **kw):
        ws = await websockets.connect(base + path, max_size=None, ping_interval=None,
                                      close_timeout=2, **kw)
        return cls(ws, binary)

    async def send(self, frame):
        if self.binary:
            await self.ws.send(msgpack.packb(frame, use_bin_type=True))
        else:
            await self.ws.send(json.dumps(frame))

    async def send_raw(self, data):
        """bytes go out as a binary frame, str as a text frame."""
        await self.ws.send(data)

    async def send_text_bytes(self, data):
        """A text frame with arbitrary (possibly invalid UTF-8) payload."""
        await self.ws.write_frame(True, websockets.frames.Opcode.TEXT, data)

    async def recv(self, timeout=RECV_TIMEOUT):
        if self.pushed:
            return self.pushed.pop(0)
        try:
            data = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            raise Closed(self.ws.close_code, self.ws.close_reason)
        if isinstance(data, bytes):
            assert self.binary, "binary reply on a JSON session"
            return msgpack.unpackb(data, raw=False)
        assert not self.binary, "text reply on a msgpack session"
        return json.loads(data)

    async def expect(self, t, timeout=RECV_TIMEOUT, **fields):
        """The next frame, which must be of type t (and have the given fields)."""
        f = await self.recv(timeout)
        assert f.get("t") == t, f"expected {t}, got {f}"
        for k, v in fields.items():
            assert f.get(k) == v, f"{t}.{k}: expected {v!r}, got {f}"
        return f

    async def silent(self, seconds):
        """Asserts nothing arrives for that long."""
        assert not self.pushed, f"unexpected frame {self.pushed[0]!r}"
        try:
            f = await asyncio.wait_for(self.ws.recv(), seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {f!r}")

    async def closed(self, timeout=RECV_TIMEOUT):
        """Reads until the server closes; returns (code, reason)."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            return self.ws.close_code, self.ws.close_reason

    async def close(self):
        await self.ws.close()

    async def hello(self, store="demo", **kw):
        await self.send({"t": "hello", "store": store, **kw})
        return await self.expect("welcome")

    async def first_message(self, text="Is this in stock?", mid="m1"):
        """msg -> greeting, ack, then queue (in that order); returns them.
        When an agent took the chat before its position was asked, `agent`
        comes instead of `queue`: it is put back for the caller, and queue
        is None."""
        await self.send({"t": "msg", "id": mid, "text": text})
        greet = await self.expect("msg", **{"from": "auto"})
        ack = await self.expect("ack", id=mid)
        queue = await self.recv()
        if queue["t"] == "agent":
            self.pushed.append(queue)
            return greet, ack, None
        assert queue["t"] == "queue", f"expected queue, got {queue}"
        return greet, ack, queue


async def collect(c, seconds):
    """Every frame c receives within seconds."""
    out, end = [], time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        try:
            out.append(await c.recv(left))
        except (asyncio.TimeoutError, TimeoutError):
            return out


async def buyer(gw, binary=False, store="demo", **hello):
    c = await Client.connect(gw.ws, binary=binary)
    w = await c.hello(store, **hello)
    return c, w


def raw_ws_handshake(port, path="/v1/buyer", rcvbuf=None):
    """A bare socket that completes the WebSocket handshake, then does
    nothing at all: it never answers a ping (a silent peer). rcvbuf, set
    before connecting, keeps the peer's TCP window small (a slow reader)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.decode(), rest


def client_frame(payload, opcode=0x1):
    """One masked client-to-server WebSocket frame (RFC 6455 5.2)."""
    import os as _os
    mask = _os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
