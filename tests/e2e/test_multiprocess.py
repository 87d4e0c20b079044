"""Two real server processes sharing Postgres and Redis: a change on one reaches a
subscriber of the other; a restarted process and a dropped broadcast connection lose
nothing (subscribers resume from the event log)."""

from __future__ import annotations

import subprocess

import pytest
import redis

from tests.servers import (
    Live,
    first_key,
    free_port,
    post,
    start,
    stop,
    until_subscribed,
    wait_healthy,
)

pytestmark = pytest.mark.e2e

SCORES = """
subscription ScoreChanges($after: String) {
  scoreChanged(after: $after) { cursor contact { email } }
}
"""
RECORD = """
mutation($i: InteractionInput!) { recordInteraction(input: $i) { scoreDelta } }
"""


def one_open(email: str) -> dict[str, object]:
    return {"i": {"email": email, "type": "EMAIL_OPEN", "idempotencyKey": email,
                  "occurredAt": "2026-11-23T08:00:00+00:00"}}  # fmt: skip


class Pair:
    """Servers A and B on one database and one broadcast; A prints the bootstrap key."""

    def __init__(self, database_url: str, broadcast_url: str) -> None:
        self.url = database_url
        self.env = {"SEGMENTO_DECAY_INTERVAL_SECONDS": "0", "BROADCAST_URL": broadcast_url}
        self.port_a, self.port_b = free_port(), free_port()
        self.a: subprocess.Popen[str] | None = None
        self.b: subprocess.Popen[str] | None = None

    def __enter__(self) -> Pair:
        try:
            self.a = start(self.url, self.port_a, self.env)
            self.key = first_key(self.a)
            wait_healthy(self.port_a, self.a)
            self.start_b()
        except BaseException:
            self.__exit__()
            raise
        return self

    def start_b(self) -> None:
        self.b = start(self.url, self.port_b, self.env)
        wait_healthy(self.port_b, self.b)

    def __exit__(self, *_exc: object) -> None:
        for process in (self.a, self.b):
            if process is not None and process.poll() is None:
                stop(process)


def email_of(message: dict[str, object]) -> str:
    assert message["type"] == "next", message
    return message["payload"]["data"]["scoreChanged"]["contact"]["email"]  # type: ignore[index]


async def test_two_processes_share_events_and_a_restart_loses_nothing(shared, redis_url):
    with Pair(shared["DATABASE_URL"], shared["BROADCAST_URL"]) as pair:
        key, port_a, port_b = pair.key, pair.port_a, pair.port_b
        # a subscriber on B sees a change made through A (how fast: bench/, not here)
        live = await Live.connect(port_b, key)
        await live.subscribe("s", SCORES, {"after": live.cursor})
        await until_subscribed(port_b)  # so the change comes over the broadcast, not the log
        await post(port_a, key, RECORD, one_open("first@multi.it"))
        message = await live.next(wait=30)
        assert email_of(message) == "first@multi.it"
        cursor = message["payload"]["data"]["scoreChanged"]["cursor"]
        # B restarts while A keeps changing things
        await live.close()
        stop(pair.b)
        missed = [f"missed{i}@multi.it" for i in range(5)]
        for email in missed:
            await post(port_a, key, RECORD, one_open(email))
        pair.start_b()
        again = await Live.connect(port_b, key)
        await again.subscribe("s", SCORES, {"after": cursor})
        assert [email_of(await again.next()) for _ in missed] == missed
        await post(port_a, key, RECORD, one_open("live@multi.it"))
        assert email_of(await again.next()) == "live@multi.it"
        # the broadcast connection of B drops: B reconnects and catches up from the log
        redis.Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
        await post(port_a, key, RECORD, one_open("after-drop@multi.it"))
        assert email_of(await again.next(wait=30)) == "after-drop@multi.it"
        # and nothing twice: the next event delivered is the next one written
        await post(port_a, key, RECORD, one_open("last@multi.it"))
        assert email_of(await again.next(wait=30)) == "last@multi.it"
        await again.close()


async def test_postgres_notify_can_carry_the_events_between_processes(shared):
    """BROADCAST_URL=postgres://…: small batches travel whole, big ones as a cursor."""
    broadcast = shared["DATABASE_URL"].replace("postgresql+asyncpg://", "postgres://")
    with Pair(shared["DATABASE_URL"], broadcast) as pair:
        key, port_a, port_b = pair.key, pair.port_a, pair.port_b
        live = await Live.connect(port_b, key)
        await live.subscribe("s", SCORES, {"after": live.cursor})
        await until_subscribed(port_b)  # so the events come over NOTIFY, not the log
        await post(port_a, key, RECORD, one_open("one@pg.it"))
        assert email_of(await live.next(wait=30)) == "one@pg.it"
        many = [{"email": f"bulk{i}@pg.it", "type": "EMAIL_OPEN", "idempotencyKey": f"bulk{i}",
                 "occurredAt": "2026-11-23T08:00:00+00:00"} for i in range(200)]  # fmt: skip
        bulk = "mutation($i: [InteractionInput!]!) { recordInteractions(interactions: $i) { errorCount } }"
        await post(port_a, key, bulk, {"i": many})
        got = {email_of(await live.next(wait=30)) for _ in many}
        assert got == {m["email"] for m in many}
        await live.close()
