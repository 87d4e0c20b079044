"""Live subscriptions against a real `segmento serve` process (SQLite, in-memory broadcast):
resuming from a cursor while writers run, both protocols, WebSocket authentication, slow
consumers, expired cursors, failed writes."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.servers import (
    LEGACY_WS,
    TRANSPORT_WS,
    Live,
    StalledClient,
    ack_cursor,
    first_key,
    free_port,
    post,
    sqlite_url,
    start,
    stop,
    until_subscribed,
    wait_healthy,
)

pytestmark = pytest.mark.e2e

SCORES = """
subscription ScoreChanges($after: String) {
  scoreChanged(after: $after) { cursor delta newScore contact { email } }
}
"""
RECORD = """
mutation($items: [InteractionInput!]!) { recordInteractions(interactions: $items) { errorCount } }
"""
_numbers = itertools.count()


@dataclass
class Served:
    port: int
    key: str
    process: subprocess.Popen[str]


def serve(tmp: Path, **env: str) -> Iterator[Served]:
    port = free_port()
    process = start(
        sqlite_url(tmp / "live.db"), port, {"SEGMENTO_DECAY_INTERVAL_SECONDS": "0", **env}
    )
    try:
        key = first_key(process)
        wait_healthy(port, process)
        yield Served(port, key, process)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {"SEGMENTO_SUBSCRIBER_BUFFER": "500", "SEGMENTO_KEEP_ALIVE_SECONDS": "0.5"}
    yield from serve(tmp_path_factory.mktemp("live"), **env)


def visits(count: int, tag: str) -> list[dict[str, str]]:
    """One email open each for `count` new contacts: one score event each."""
    return [
        {"email": f"{tag}{next(_numbers)}@live.it", "type": "EMAIL_OPEN",
         "occurredAt": "2026-11-23T08:00:00+00:00", "idempotencyKey": f"{tag}-{next(_numbers)}"}
        for _ in range(count)
    ]  # fmt: skip


async def record(served: Served, items: list[dict[str, str]]) -> None:
    data = await post(served.port, served.key, RECORD, {"items": items})
    assert data["recordInteractions"]["errorCount"] == 0


def score_of(message: dict[str, object]) -> dict[str, object]:
    assert message["type"] in ("next", "data"), message
    return message["payload"]["data"]["scoreChanged"]  # type: ignore[index]


async def test_a_subscriber_resumes_with_its_cursor_without_gap_or_duplicate(server):
    # given a subscriber that saw one event, then disconnected
    live = await Live.connect(server.port, server.key)
    await live.subscribe("s", SCORES, {"after": live.cursor})
    await record(server, visits(1, "first"))
    cursor = score_of(await live.next())["cursor"]
    await live.close()
    # when 100 score events happen while it is away
    missed = visits(100, "missed")
    await record(server, missed)
    # and writers keep going while it reconnects with its cursor
    during = [visits(5, f"during{i}-") for i in range(8)]

    async def writer() -> None:
        for batch in during:
            await record(server, batch)
            await asyncio.sleep(0.02)

    writing = asyncio.create_task(writer())
    again = await Live.connect(server.port, server.key)
    await again.subscribe("s", SCORES, {"after": cursor})
    await writing
    received = [score_of(await again.next()) for _ in range(100 + 40)]
    # then it gets exactly the 100 missed, in order, then every live one, once each
    emails = [r["contact"]["email"] for r in received]
    assert sorted(emails[:100]) == sorted(m["email"] for m in missed)
    assert sorted(emails[100:]) == sorted(m["email"] for batch in during for m in batch)
    cursors = [int(r["cursor"]) for r in received]
    assert cursors == sorted(set(cursors)) and cursors[0] > int(cursor)
    # and nothing is duplicated afterwards: the next event is the next one delivered
    last = visits(1, "last")
    await record(server, last)
    assert score_of(await again.next())["contact"]["email"] == last[0]["email"]
    await again.close()


async def test_filters_see_the_contact_after_the_change_tags_and_dates_included(server):
    await post(
        server.port, server.key, 'mutation { createTag(input: {name: "Fiera Milano"}) { code } }'
    )
    items = visits(2, "filtered")
    tagged = items[0]["email"]
    await post(server.port, server.key, "mutation($c: [ContactInput!]!) { upsertContacts(contacts: $c) { errorCount } }",
               {"c": [{"email": tagged}]})  # fmt: skip
    found = await post(server.port, server.key, f'{{ contactByEmail(email: "{tagged}") {{ id }} }}')
    await post(server.port, server.key, 'mutation($id: ID!) { assignTag(contactId: $id, code: "fiera-milano") { id } }',
               {"id": found["contactByEmail"]["id"]})  # fmt: skip
    query = """subscription($f: ContactFilter, $after: String) {
      scoreChanged(filter: $f, after: $after) { contact { email } } }"""
    live = await Live.connect(server.port, server.key)
    for op_id, where in [("tag", {"hasAnyTag": ["fiera-milano"]}),
                         ("recent", {"lastActivityWithinDays": 3650}),
                         ("none", {"regionIn": ["Molise"]})]:  # fmt: skip
        await live.subscribe(op_id, query, {"f": where, "after": live.cursor})
    await record(server, items)
    got = [await live.next() for _ in range(3)]
    by_id: dict[str, list[str]] = {}
    for message in got:
        by_id.setdefault(message["id"], []).append(score_of(message)["contact"]["email"])
    assert by_id["tag"] == [tagged]
    assert sorted(by_id["recent"]) == sorted(i["email"] for i in items)
    with pytest.raises(TimeoutError):  # proving an absence takes a window: 0.5 s, bounded
        await live.next(wait=0.5)  # nothing for the Molise filter
    await live.close()


async def test_contact_activity_replays_everything_that_happened_to_one_contact(server):
    items = visits(1, "activity")
    await record(server, items)
    found = await post(
        server.port, server.key, f'{{ contactByEmail(email: "{items[0]["email"]}") {{ id }} }}'
    )
    query = """subscription($id: ID!, $after: String) {
      contactActivity(contactId: $id, after: $after) { type contactId interactionType delta toTier } }"""
    live = await Live.connect(server.port, server.key)
    await live.subscribe("a", query, {"id": found["contactByEmail"]["id"], "after": "0"})
    got = [(await live.next())["payload"]["data"]["contactActivity"] for _ in range(3)]
    assert [g["type"] for g in got] == ["INTERACTION", "SCORE_CHANGED", "TIER_CHANGED"]
    assert {g["contactId"] for g in got} == {found["contactByEmail"]["id"]}
    assert (got[0]["interactionType"], got[1]["delta"]) == ("EMAIL_OPEN", 9)
    await live.close()


async def test_the_legacy_graphql_ws_protocol_delivers_too(server):
    live = await Live.connect(server.port, server.key, LEGACY_WS)
    await live.subscribe("1", SCORES, {"after": live.cursor})  # its ack carries one too
    items = visits(1, "legacy")
    await record(server, items)
    message = await live.next()
    assert message["type"] == "data"
    assert score_of(message)["contact"]["email"] == items[0]["email"]
    await live.subscribe("q", "{ tags { code } }")  # graphql-ws carries subscriptions only
    refused = await live.next()
    assert (refused["type"], refused["payload"]["extensions"]["code"]) == ("error", "BAD_REQUEST")
    await live.close()


async def test_connections_are_kept_alive_on_both_protocols(server):
    legacy = await Live.connect(server.port, server.key, LEGACY_WS)
    assert (await legacy.receive(wait=3))["type"] == "ka"  # the server's keep-alive
    await legacy.close()
    modern = await Live.connect(server.port, server.key)
    await modern.send({"type": "ping"})
    assert (await modern.receive(wait=3))["type"] == "pong"
    await modern.close()


@pytest.mark.parametrize("key", [None, "sgm_not-a-real-key"])
async def test_a_missing_or_bad_key_is_refused_on_connection_init(server, key):
    live = await Live.connect(server.port, key, TRANSPORT_WS, ack=False)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await live.receive()
    assert closed.value.rcvd.code == 4403
    legacy = await Live.connect(server.port, key, LEGACY_WS, ack=False)
    refused = await legacy.receive()
    assert refused["type"] == "connection_error"
    assert refused["payload"]["code"] == "UNAUTHENTICATED"
    await live.close()
    await legacy.close()


async def test_a_revoked_key_stops_its_open_subscriptions_and_operations(server):
    created = await post(server.port, server.key,
        'mutation { createApiKey(name: "dashboard", scope: READ) { secret apiKey { id } } }')  # fmt: skip
    secret, key_id = created["createApiKey"]["secret"], created["createApiKey"]["apiKey"]["id"]
    live = await Live.connect(server.port, secret)
    await live.subscribe("s", SCORES, {"after": live.cursor})
    await record(server, visits(1, "before-revoke"))
    assert score_of(await live.next())["cursor"]
    await post(
        server.port, server.key, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": key_id}
    )
    await record(server, visits(1, "after-revoke"))
    with pytest.raises(websockets.ConnectionClosed) as closed:  # the connection itself ends
        await live.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert closed.value.rcvd.reason == "the API key of this connection was revoked"


async def test_a_bad_filter_or_cursor_is_refused_with_a_code(server):
    live = await Live.connect(server.port, server.key)
    await live.subscribe("a", SCORES, {"after": "not-a-cursor"})
    refused = await live.next()
    assert refused["type"] == "error" or refused["payload"]["errors"]
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await live.next())["type"] == "complete"
    query = "subscription { scoreChanged(minDelta: 0) { cursor } }"
    await live.subscribe("b", query)
    refused = await live.next()
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    await live.close()


async def test_a_failed_mutation_publishes_nothing(server):
    live = await Live.connect(server.port, server.key)
    await live.subscribe("s", SCORES, {"after": live.cursor})  # a logged event would replay
    bad = [{"email": "not-an-email", "type": "EMAIL_OPEN",
            "occurredAt": "2026-11-23T08:00:00+00:00", "idempotencyKey": "x"}]  # fmt: skip
    answer = await post(server.port, server.key, RECORD, {"items": bad})
    assert answer["recordInteractions"]["errorCount"] == 1
    good = visits(1, "good")
    await record(server, good)
    assert score_of(await live.next())["contact"]["email"] == good[0]["email"]
    await live.close()


def metrics(served: Served) -> str:
    return httpx.get(f"http://127.0.0.1:{served.port}/metrics", timeout=10).text


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_a_slow_consumer_is_cut_off_and_memory_stays_bounded(tmp_path):
    for served in serve(tmp_path, SEGMENTO_SUBSCRIBER_BUFFER="50"):
        # given a consumer that subscribes, then stops reading its socket
        slow = StalledClient(served.port)
        slow.send({"type": "connection_init", "payload": {"authorization": f"Bearer {served.key}"}})
        ack_cursor(slow.receive())
        # wide results that cost little to execute, so the consumer falls behind, not the group
        many = " ".join(f"a{i}: at k{i}: contactId o{i}: oldScore" for i in range(9))
        slow.send({"id": "s", "type": "subscribe",
                   "payload": {"query": f"subscription {{ scoreChanged {{ cursor delta {many} }} }}"}})  # fmt: skip
        await until_subscribed(served.port)  # live, so the flood goes through its buffer
        before = rss_kib(served.process.pid)
        # when about 11 MB of results are due (more than the sockets in between can hold)
        for round_ in range(16):
            await record(served, visits(1000, f"flood{round_}-"))
        deadline = asyncio.get_running_loop().time() + 60
        while "segmento_live_dropped_total 1.0" not in metrics(served):
            assert asyncio.get_running_loop().time() < deadline, "the consumer was never cut off"
            await asyncio.sleep(0.5)
        grown = rss_kib(served.process.pid) - before
        # then the server cut it off with a message saying where to resume
        messages = [slow.receive()]
        while messages[-1]["type"] == "next" and not messages[-1]["payload"].get("errors"):
            messages.append(slow.receive())
        last = messages[-1]
        assert last["type"] == "next", last
        errors = last["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "SLOW_CONSUMER", last
        resume = errors[0]["extensions"]["resumeAfter"]
        delivered = [int(m["payload"]["data"]["scoreChanged"]["cursor"]) for m in messages[:-1]]
        assert int(resume) == max(delivered) and len(delivered) < 16000
        assert "resume" in errors[0]["message"]
        # and its memory stayed bounded
        assert grown < 64 * 1024, f"server RSS grew {grown} KiB for one stalled consumer"
        slow.close()
        # and resuming from there delivers the rest
        again = await Live.connect(served.port, served.key)
        await again.subscribe("r", SCORES, {"after": resume})
        assert int(score_of(await again.next())["cursor"]) > int(resume)
        await again.close()


async def until_refused(live: Live, variables: dict[str, str], seconds: float = 30) -> Any:
    """Subscribes to SCORES again and again until the server refuses it; its errors."""
    deadline = asyncio.get_running_loop().time() + seconds
    for attempt in itertools.count():
        op_id = f"try{attempt}"
        await live.subscribe(op_id, SCORES, variables)
        answer = await live.next()
        while answer.get("id") != op_id:  # the rest of an earlier attempt
            answer = await live.next()
        if answer["type"] == "error":
            return answer["payload"]
        if answer["payload"].get("errors"):
            return answer["payload"]["errors"]
        await live.send({"id": op_id, "type": "complete"})  # it replayed: not pruned yet
        assert asyncio.get_running_loop().time() < deadline, "the events were never pruned"
        await asyncio.sleep(0.1)
    raise AssertionError("unreachable")


async def test_a_cursor_older_than_the_retention_has_expired(tmp_path):
    env = {"SEGMENTO_EVENT_RETENTION_DAYS": "0", "SEGMENTO_PRUNE_INTERVAL_SECONDS": "0.2"}
    for served in serve(tmp_path, **env):
        await record(served, visits(3, "old"))
        live = await Live.connect(served.port, served.key)
        errors = await until_refused(live, {"after": "1"})  # once the scheduler pruned them
        assert errors[0]["extensions"]["code"] == "CURSOR_EXPIRED"
        assert "subscribe without after" in errors[0]["message"]
        await live.close()


async def test_the_connection_ack_gives_the_newest_cursor_to_subscribe_from(server):
    # given some history, and a client that connects without a cursor of its own
    await record(server, visits(2, "before"))
    ws = await websockets.connect(
        f"ws://127.0.0.1:{server.port}/graphql", subprotocols=[TRANSPORT_WS]
    )
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"authorization": f"Bearer {server.key}"}}))  # fmt: skip
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack"
    head = ack["payload"]["cursor"]
    # when an event is written before the subscription reaches the server
    await record(server, visits(1, "between"))
    live = Live(ws, TRANSPORT_WS)
    await live.subscribe("s", SCORES, {"after": head})
    # then it is delivered, and nothing older
    first = score_of(await live.next())
    assert first["contact"]["email"].startswith("between")
    assert int(first["cursor"]) > int(head)
    await live.close()
