"""The demo stream on a real SQLite database: realistic interactions at a high rate move
scores and tiers and raise hot leads; a batch sent again after a failure counts once."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from api.bootstrap import unit_of_work_factory
from persistence.db import Database
from persistence.unit_of_work import UnitOfWorkFactory
from services.demo import load_demo
from services.demo_stream import (
    IN_MARKET,
    GraphQLRecorder,
    InteractionPicker,
    StreamContact,
    StreamRefused,
    local_recorder,
    run_stream,
    stream_contacts,
)
from services.interactions import InteractionInput

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def stream_url(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "stream.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'stream.db'}"


@pytest.fixture
async def uows(stream_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    db = Database(stream_url)
    try:
        factory = unit_of_work_factory(db)
        await load_demo(factory, NOW, contacts=120, companies=12, seed=7)
        yield factory
    finally:
        await db.dispose()


async def scalar(uows: UnitOfWorkFactory, sql: str) -> int:
    async with uows() as uow:
        return int((await uow.conn.execute(text(sql))).scalar_one())


async def test_a_fast_stream_moves_scores_and_tiers_and_raises_hot_leads(uows):
    contacts = await stream_contacts(uows, NOW)
    assert len(contacts) == 120
    picker = InteractionPicker(contacts, random.Random(3))

    sent = await run_stream(local_recorder(uows, clock), picker, clock, rate=5000, limit=400)

    assert sent == 400
    assert await scalar(uows, "SELECT count(*) FROM interaction") == 400
    assert await scalar(uows, "SELECT count(*) FROM contact WHERE score > 0") >= 20
    assert await scalar(uows, "SELECT count(*) FROM contact") == 120  # no contact made up
    hot = await scalar(uows, "SELECT count(*) FROM event WHERE type = 'HOT_LEAD'")
    moved = await scalar(
        uows, "SELECT count(*) FROM event WHERE type = 'TIER_CHANGED' AND payload LIKE '%Tier 1%'"
    )
    assert hot >= 3 and moved >= 3


async def test_a_batch_that_failed_for_want_of_a_server_is_sent_again_and_counted_once(uows):
    picker = InteractionPicker(await stream_contacts(uows, NOW), random.Random(5))
    record = local_recorder(uows, clock)
    calls = Counter[str]()

    async def flaky(items: Sequence[InteractionInput]) -> None:
        calls["tries"] += 1
        await record(items)  # stored, but the answer is lost on the way back
        if calls["tries"] == 1:
            raise ConnectionError("the server went away")

    sent = await run_stream(flaky, picker, clock, rate=5000, limit=50, retry_seconds=0)

    assert sent == 50 and calls["tries"] >= 2
    assert await scalar(uows, "SELECT count(*) FROM interaction") == 50


def test_in_market_contacts_come_back_and_no_email_goes_without_consent():
    contacts = [StreamContact(n, f"c{n}@demo.it", consent_email=n % 2 == 0) for n in range(200)]
    picker = InteractionPicker(contacts, random.Random(11), in_market=10)

    picked = [picker.next(NOW) for _ in range(2000)]

    by_email = Counter(item.email for item in picked)
    assert by_email.most_common(1)[0][1] > 2000 / 200 * 3  # a few contacts come back often
    refused = {c.email for c in contacts if not c.consent_email}
    emails = {"EMAIL_OPEN", "EMAIL_NOT_OPENED", "UNSUBSCRIBE"}
    assert not [i for i in picked if i.email in refused and i.type in emails]
    assert {i.type for i in picked} >= set(IN_MARKET) - emails
    assert len({i.idempotency_key for i in picked}) == 2000
    assert all(i.page for i in picked if i.type == "PAGE_VISIT")


async def test_a_stream_needs_contacts_and_a_positive_rate():
    with pytest.raises(ValueError, match="load the sample first"):
        InteractionPicker([], random.Random(1))
    picker = InteractionPicker([StreamContact(1, "a@demo.it")], random.Random(1))
    with pytest.raises(ValueError, match="rate"):
        await run_stream(local_recorder(None, clock), picker, clock, rate=0)  # type: ignore[arg-type]


class FakeServer:
    """A GraphQLClient that answers with what it is given."""

    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    async def execute(self, query, variables):
        self.sent.append((query, variables))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_the_recorder_says_plainly_when_the_server_refuses_or_is_away():
    item = InteractionPicker([StreamContact(1, "a@demo.it")], random.Random(1)).next(NOW)
    url = "http://s/graphql"
    refused = {"data": {"recordInteractions": {"errorCount": 1, "results": [
        {"error": {"message": "no contact with email a@demo.it"}}]}}}  # fmt: skip
    not_graphql = ValueError("the server's answer is not a GraphQL response")
    accepted = {"data": {"recordInteractions": {"errorCount": 0, "results": [{"error": None}]}}}

    with pytest.raises(StreamRefused, match="refused an interaction: no contact"):
        await GraphQLRecorder(url, FakeServer(refused))([item])
    with pytest.raises(StreamRefused, match="not a GraphQL response"):
        await GraphQLRecorder(url, FakeServer(not_graphql))([item])
    with pytest.raises(StreamRefused, match="start the server first"):
        await GraphQLRecorder(url, FakeServer(ConnectionError("no server answers"))).check()
    server = FakeServer(accepted)
    await GraphQLRecorder(url, server)([item])
    assert server.sent[0][1]["items"][0]["email"] == "a@demo.it"
