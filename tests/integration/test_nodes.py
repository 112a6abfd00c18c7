"""Several chatgwd processes on one Redis behave as one gateway."""
import asyncio

from client import Client, buyer, run
from conftest import free_port, http_get, wait_for
from test_buyer import transcript


async def resume(gw, w, since):
    c = await Client.connect(gw.ws)
    await c.send({"t": "hello", "resume": w["resume"], "since": since})
    return c, await c.expect("welcome", chat=w["chat"])


def test_buyer_moves_between_nodes_on_different_ports(redis, gateway):
    a = gateway(redis.url, node_id="node-a")
    b = gateway(redis.url, node_id="node-b")

    async def body():
        c, w = await buyer(a, name="Ann")
        await c.first_message("on A", "m1")
        await c.send({"t": "msg", "id": "m2", "text": "still on A"})
        await c.expect("ack", seq=3)
        await c.ws.close()

        c2, w2 = await resume(b, w, since=0)
        assert w2["seq"] == 3
        got = [await c2.expect("msg") for _ in range(3)]
        assert [m["text"] for m in got] == ["on A", got[1]["text"], "still on A"]
        assert got[1]["from"] == "auto"
        await c2.silent(0.3)
        await c2.send({"t": "msg", "id": "m3", "text": "now on B"})
        await c2.expect("ack", seq=4)
        # a resend of a message A acknowledged is recognised on B
        await c2.send({"t": "msg", "id": "m2", "text": "still on A"})
        await c2.expect("ack", id="m2", seq=3)
        await c2.ws.close()

        # and back to A, from where the buyer had got to
        c3, w3 = await resume(a, w, since=3)
        assert w3["seq"] == 4
        m = await c3.expect("msg", seq=4)
        assert m["text"] == "now on B"
        await c3.silent(0.3)
        return w

    w = run(body())
    texts = [m["text"] for m in transcript(redis.client(), w["chat"])]
    assert texts[0] == "on A" and texts[2:] == ["still on A", "now on B"]


def test_two_processes_share_one_port_with_reuseport(redis, gateway):
    port = free_port()
    a = gateway(redis.url, port=port, reuseport="yes")
    b = gateway(redis.url, port=port, reuseport="yes")
    assert a.proc.poll() is None and b.proc.poll() is None

    async def body():
        # many connections: the kernel spreads them over both processes
        clients = []
        for i in range(40):
            c, w = await buyer(a)
            await c.first_message(f"hello {i}", "m1")
            clients.append((c, w))
        # (over a shared port /metrics answers from either: count log lines)
        created = [g.logtext().count("event=chat_created") for g in (a, b)]
        assert sum(created) == 40 and min(created) > 0, created

        # one process dies hard; its buyers come back through the same port
        b.kill9()
        for c, w in clients:
            await c.ws.close()
        for c, w in clients:
            c2, w2 = await resume(a, w, since=0)
            assert w2["seq"] == 2
            await c2.expect("msg", seq=1)
            await c2.expect("msg", seq=2)
            await c2.send({"t": "msg", "id": "m2", "text": "after the crash"})
            await c2.expect("ack", id="m2", seq=3)
            await c2.close()

    run(body(), timeout=90)


def test_a_second_process_without_reuseport_cannot_take_the_port(redis, gateway):
    a = gateway(redis.url)
    b = gateway(redis.url, port=a.port, start=False).start(wait_ready=False)
    assert b.proc.wait(10) == 1
    assert "listen_failed" in b.logtext()
    assert http_get(a.port, "/healthz")[0] == 200
