"""WebSocket caps and quotas against a real `segmento serve` process, with small limits:
each attack of issue 16 reproduced, refused with its close code or error, while the server
keeps answering the other clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.test_subscriptions import SCORES, Served, serve
from tests.servers import LEGACY_WS, TRANSPORT_WS, Live, post

pytestmark = pytest.mark.e2e

LIMITS = {
    "SEGMENTO_WS_INIT_TIMEOUT_SECONDS": "1",
    "SEGMENTO_WS_MAX_CONNECTIONS": "6",
    "SEGMENTO_WS_MAX_PENDING": "3",
    "SEGMENTO_WS_MAX_CONNECTIONS_PER_KEY": "2",
    "SEGMENTO_WS_MAX_OPERATIONS_PER_CONNECTION": "2",
    "SEGMENTO_WS_MAX_OPERATIONS_PER_KEY": "3",
    "SEGMENTO_RATE_READ": "0.001",  # read keys: 5 requests or operations, nothing comes back
    "SEGMENTO_BURST_READ": "5",
}
TAGS = "query { tags { code } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve(tmp_path_factory.mktemp("limits"), **LIMITS)


def metric(served: Served, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{served.port}/metrics", timeout=10).text
    found = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(found[0].split()[-1]) if found else 0.0


async def until_connections(served: Served, count: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while metric(served, "segmento_ws_connections") != count:
        assert time.monotonic() < deadline, f"not {count} open WebSockets in {seconds} s"
        await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
async def no_sockets_left(server: Served) -> None:
    """Each test starts with no connection open (the caps are small)."""
    await until_connections(server, 0)


async def new_key(served: Served) -> tuple[str, str]:
    created = await post(served.port, served.key,
        'mutation { createApiKey(name: "limited", scope: READ) { secret apiKey { id } } }')  # fmt: skip
    return created["createApiKey"]["secret"], created["createApiKey"]["apiKey"]["id"]


async def raw(served: Served, protocol: str) -> Any:
    """A socket that never sends connection_init."""
    return await websockets.connect(f"ws://127.0.0.1:{served.port}/graphql",
                                    subprotocols=[protocol])  # fmt: skip


async def close_code(ws: Any, seconds: float = 10) -> int:
    """Reads (and drops) messages until the server closes the socket; its close code."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return int(closed.rcvd.code)


async def answers(live: Live, op_id: str) -> None:
    """A query over the connection is answered (and completed)."""
    await live.subscribe(op_id, TAGS)
    message = await live.next()
    assert message["type"] == "next" and message["payload"].get("errors") is None, message
    assert (await live.next())["type"] == "complete"


def refusal_code(message: dict[str, Any]) -> str:
    assert message["type"] == "error", message
    payload = message["payload"]
    return str((payload[0] if isinstance(payload, list) else payload)["extensions"]["code"])


async def test_sockets_that_never_send_connection_init_are_closed_and_keyed_clients_connect(
    server,
):
    # given a flood of sockets that never send connection_init, most on legacy graphql-ws
    flood = [await raw(server, LEGACY_WS if i % 4 else TRANSPORT_WS) for i in range(40)]
    started = time.monotonic()
    # when a client with a key connects during the flood
    key, _ = await new_key(server)
    live = await Live.connect(server.port, key)
    legacy = await Live.connect(server.port, server.key, LEGACY_WS)
    # then it is served, and every flood socket is closed: the oldest to make room (4429),
    # the others after the connection_init timeout (4408)
    await answers(live, "q1")
    codes = await asyncio.gather(*(close_code(ws) for ws in flood))
    assert set(codes) == {4429, 4408}, codes
    assert codes.count(4408) <= 3
    assert time.monotonic() - started < 5
    assert (await legacy.receive(wait=3))["type"] == "ka"  # the keyed legacy socket stays open
    await answers(live, "q2")
    assert metric(server, 'segmento_refused_total{reason="ws_init_timeout"}') >= 1
    assert metric(server, 'segmento_refused_total{reason="ws_pending"}') >= 37
    await live.close()
    await legacy.close()


async def test_connections_over_the_total_cap_are_closed_with_4429(server):
    keys = [(await new_key(server))[0] for _ in range(3)]
    lives = [await Live.connect(server.port, key) for key in keys for _ in range(2)]
    refused = await raw(server, TRANSPORT_WS)
    assert await close_code(refused) == 4429
    await answers(lives[0], "q")
    await lives[-1].close()
    await until_connections(server, 5)
    again = await Live.connect(server.port, keys[-1])
    await answers(again, "q")
    for live in [*lives[:-1], again]:
        await live.close()


async def test_connections_over_the_per_key_cap_are_refused_and_other_keys_connect(server):
    key, _ = await new_key(server)
    first, second = [await Live.connect(server.port, key) for _ in range(2)]
    third = await Live.connect(server.port, key, ack=False)
    assert await close_code(third.ws) == 4429
    legacy = await Live.connect(server.port, key, LEGACY_WS, ack=False)
    refused = await legacy.receive()
    assert refused["type"] == "connection_error"
    assert refused["payload"]["code"] == "LIMIT_EXCEEDED"
    assert await close_code(legacy.ws) == 4429
    other = await Live.connect(server.port, server.key)
    await answers(other, "q")
    assert metric(server, 'segmento_refused_total{reason="ws_key_connections"}') == 2
    for live in (first, second, other):
        await live.close()


async def test_operations_over_the_connection_and_key_caps_get_an_error(server):
    key, _ = await new_key(server)
    one = await Live.connect(server.port, key)
    await one.subscribe("a", SCORES)
    await one.subscribe("b", SCORES)
    await one.subscribe("c", SCORES)  # a third on one connection
    refused = await one.next()
    assert (refused["id"], refusal_code(refused)) == ("c", "LIMIT_EXCEEDED")
    two = await Live.connect(server.port, key)
    await two.subscribe("d", SCORES)
    await two.subscribe("e", SCORES)  # a fourth for the key
    refused = await two.next()
    assert (refused["id"], refusal_code(refused)) == ("e", "LIMIT_EXCEEDED")
    # completing one makes room again
    await one.send({"id": "a", "type": "complete"})
    await asyncio.sleep(0.2)
    await two.subscribe("f", SCORES)
    await two.send({"type": "ping"})
    assert (await two.receive())["type"] == "pong"  # no error came first
    other = await Live.connect(server.port, server.key)
    await answers(other, "q")
    for live in (one, two, other):
        await live.close()


async def test_legacy_operations_over_the_connection_cap_get_an_error(server):
    key, _ = await new_key(server)
    legacy = await Live.connect(server.port, key, LEGACY_WS)
    for op_id in ("a", "b", "c"):
        await legacy.subscribe(op_id, SCORES)
    refused = await legacy.next()
    assert (refused["id"], refusal_code(refused)) == ("c", "LIMIT_EXCEEDED")
    await legacy.close()


async def test_a_second_connection_init_on_legacy_graphql_ws_closes_the_socket(server):
    legacy = await Live.connect(server.port, server.key, LEGACY_WS)
    await legacy.send({"type": "connection_init", "payload": {}})
    assert await close_code(legacy.ws) == 4429


async def test_operations_over_the_key_quota_are_refused_with_rate_limited(server):
    key, _ = await new_key(server)
    live = await Live.connect(server.port, key)
    for i in range(5):  # the read key's burst
        await answers(live, f"q{i}")
    await live.subscribe("over", TAGS)
    refused = await live.next()
    assert (refused["id"], refusal_code(refused)) == ("over", "RATE_LIMITED")
    assert refused["payload"][0]["extensions"]["retryAfter"] >= 1
    # the same bucket as HTTP
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/graphql",
            json={"query": TAGS}, headers={"authorization": f"Bearer {key}"})  # fmt: skip
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    other = await Live.connect(server.port, server.key)
    await answers(other, "q")
    assert metric(server, 'segmento_refused_total{reason="ws_rate_limited"}') == 1
    await live.close()
    await other.close()


async def test_a_revoked_key_has_its_sockets_closed_with_4403(server):
    key, key_id = await new_key(server)
    modern = await Live.connect(server.port, key)
    legacy = await Live.connect(server.port, key, LEGACY_WS)
    await modern.subscribe("s", SCORES)
    await legacy.subscribe("s", SCORES)
    other = await Live.connect(server.port, server.key)
    await post(server.port, server.key, "mutation($id: ID!) { revokeApiKey(id: $id) }",
               {"id": key_id})  # fmt: skip
    assert await close_code(modern.ws) == 4403
    assert await close_code(legacy.ws) == 4403
    await answers(other, "q")
    await other.close()


async def test_a_thousand_keyless_legacy_sockets_no_longer_lock_clients_out(tmp_path):
    # given a server with the default caps, and a short connection_init timeout
    server = serve(tmp_path, SEGMENTO_WS_INIT_TIMEOUT_SECONDS="2")
    served = next(server)
    try:
        # when a thousand legacy sockets open and never send connection_init
        flood: list[Any] = []
        for _ in range(20):
            flood += await asyncio.gather(*(raw(served, LEGACY_WS) for _ in range(50)))
        # then a client with a key still connects and is served meanwhile, over HTTP too
        live = await Live.connect(served.port, served.key)
        await answers(live, "q")
        assert await post(served.port, served.key, TAGS)
        # and every flood socket is closed: making room (4429) or timed out (4408)
        codes = await asyncio.gather(*(close_code(ws, seconds=20) for ws in flood))
        assert set(codes) == {4429, 4408} and codes.count(4408) <= 200
        assert metric(served, "segmento_ws_pending") == 0
        assert metric(served, "segmento_ws_connections") == 1
        await answers(live, "q2")
        await live.close()
    finally:
        server.close()
