"""The event log on SQLite and Postgres: written with the change, published only after
commit, cursors that only grow, pruning and expired cursors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from api.bootstrap import unit_of_work_factory
from domain.errors import CursorExpired, InvalidInput
from domain.events import Event, EventType
from persistence.db import Database
from services import live
from services.interactions import InteractionInput, record_interactions

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Spy:
    def __init__(self) -> None:
        self.published: list[list[Event]] = []

    async def __call__(self, events: list[Event]) -> None:
        self.published.append(events)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def opens(*emails: str) -> list[InteractionInput]:
    return [InteractionInput("EMAIL_OPEN", NOW, f"k-{e}", email=e) for e in emails]


async def logged(db: Database) -> list[Event]:
    async with unit_of_work_factory(db)() as uow:
        return await uow.events.after(0, 10_000)


async def test_a_recorded_interaction_logs_its_events_and_publishes_them_after_commit(db):
    spy = Spy()
    await record_interactions(unit_of_work_factory(db, publish=spy), opens("a@x.it"), NOW)
    events = await logged(db)
    assert [e.type for e in events] == [EventType.INTERACTION, EventType.SCORE_CHANGED,
                                        EventType.TIER_CHANGED]  # fmt: skip
    assert spy.published == [events]
    assert [e.cursor for e in events] == sorted({e.cursor for e in events})


async def test_a_unit_of_work_that_rolls_back_logs_and_publishes_nothing(db):
    spy = Spy()
    uows = unit_of_work_factory(db, publish=spy)
    with pytest.raises(RuntimeError):
        async with uows(write=True) as uow:
            uow.events.add([Event(EventType.INTERACTION, 1, {"points": 1}, NOW)])
            await uow.events.flush()  # written inside the transaction...
            raise RuntimeError("a later step fails")  # ...which then rolls back
    assert await logged(db) == [] and spy.published == []


async def test_a_commit_that_fails_publishes_nothing(db, monkeypatch):
    spy = Spy()
    uows = unit_of_work_factory(db, publish=spy)

    async def failing_commit(self: object) -> None:
        raise ConnectionError("the database went away at commit")

    with pytest.raises(ConnectionError):
        async with uows(write=True) as uow:
            monkeypatch.setattr(type(uow.conn), "commit", failing_commit)
            uow.events.add([Event(EventType.INTERACTION, 1, {"points": 1}, NOW)])
            await uow.commit()
    monkeypatch.undo()
    assert await logged(db) == [] and spy.published == []


async def test_pruning_keeps_cursors_growing_and_expires_older_resumes(db):
    uows = unit_of_work_factory(db)
    await record_interactions(uows, opens("a@x.it", "b@x.it"), NOW)
    first = await logged(db)
    removed = await live.prune(uows, NOW + timedelta(days=8), timedelta(days=7))
    assert removed == len(first) and await logged(db) == []
    with pytest.raises(CursorExpired):
        await live.check_resume(uows, first[0].cursor)
    assert await live.check_resume(uows, first[-1].cursor) == first[-1].cursor
    await record_interactions(uows, opens("c@x.it"), NOW + timedelta(days=8))
    assert min(e.cursor for e in await logged(db)) > first[-1].cursor


async def test_a_cursor_ahead_of_the_log_or_not_a_number_is_bad_input(db):
    uows = unit_of_work_factory(db)
    with pytest.raises(InvalidInput):
        await live.check_resume(uows, 10)
    for raw in ("abc", "-1", "1.5"):
        with pytest.raises(InvalidInput):
            live.parse_cursor(raw)


async def test_events_become_visible_in_cursor_order_across_concurrent_transactions(db):
    """Postgres draws cursors at insert time: a transaction appending events waits for one
    that appended before it to commit, so no reader sees a later cursor before an earlier
    one (SQLite writers take turns anyway)."""
    uows = unit_of_work_factory(db)
    first = uows(write=True)
    await first.__aenter__()
    try:
        first.events.add([Event(EventType.ALERT, 1, {"n": 1}, NOW)])
        [early] = await first.events.flush()  # appended, not committed

        async def append_second() -> int:
            async with uows(write=True) as uow:
                uow.events.add([Event(EventType.ALERT, 1, {"n": 2}, NOW)])
                await uow.commit()
            return max(e.cursor for e in await logged(db))

        second = asyncio.create_task(append_second())
        await asyncio.sleep(0.3)
        if not db.is_sqlite:
            assert not second.done()  # waiting for the first to commit
            assert [e.cursor for e in await logged(db)] == []
        await first.conn.commit()
    finally:
        await first.__aexit__(None, None, None)
    late = await asyncio.wait_for(second, 10)
    assert early.cursor < late
    assert [e.cursor for e in await logged(db)] == [early.cursor, late]
