"""Isolation (issue 15 item 4): long work of one request does not hold up another's simple
read. An operation's read units share the SQLite pool fairly and leave connections for new
operations' first reads; its statements get a little event-loop time in all, then go to the
reader threads; duplicate detection runs in slices under the time budget."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert, text

from api.bootstrap import unit_of_work_factory
from api.context import Loaders
from api.settings import Settings
from persistence import request_share, sqlite_inline
from persistence.db import Database, sqlite_path
from persistence.tables import metadata
from tests.factories import gql, served

SIMPLE = "query($id: ID!) { contact(id: $id) { score } }"
SCANS = "{ " + " ".join(
    f'q{i}: contacts(first: 1, filter: {{emailContains: "{i}"}}) {{ totalCount nodes {{ id }} }}'
    for i in range(30)
) + " }"  # fmt: skip
DUPLICATES = "{ duplicateCandidates(first: 5, minSimilarity: 0.5) { similarity } }"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _contacts(db: Database, count: int, email: str = "lead{i}@x{i}.it") -> None:
    """`count` plain contacts, straight into the table (nothing here reads their tiers)."""
    rows = [{"email": email.format(i=i), "custom_attributes": {}, "created_at": NOW,
             "updated_at": NOW} for i in range(count)]  # fmt: skip
    async with db.engine.begin() as conn:
        await conn.execute(insert(metadata.tables["contact"]), rows)


@pytest.fixture
async def budgeted(database_url, clock, request) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose query budget is `request.param` seconds (mutations: 30)."""
    settings = Settings(database_url=database_url, migrate_on_start=False,
                        query_timeout_seconds=request.param, mutation_timeout_seconds=30.0)  # fmt: skip
    async with served(settings, clock) as (app, client):
        await _contacts(app.state.db, 300, "same.person@host{i}.it")  # 44,850 pairs to compare
        yield client


@pytest.mark.parametrize("budgeted", [0.0], indirect=True)
async def test_duplicate_detection_past_its_budget_is_a_timeout_while_a_simple_read_answers(
    budgeted, read_key
):
    """The time budget stops the comparison itself (no statement runs while it compares);
    short statements never reach the budget's check, so the simple read answers."""
    found, simple = await asyncio.gather(
        gql(budgeted, DUPLICATES, key=read_key), gql(budgeted, SIMPLE, {"id": "1"}, key=read_key)
    )
    assert found.codes == ["TIMEOUT"]
    assert found.data == {"duplicateCandidates": None}
    assert simple.errors == [] and simple.data == {"contact": {"score": 0}}


@pytest.mark.parametrize("budgeted", [10.0], indirect=True)
async def test_duplicate_detection_within_its_budget_answers(budgeted, read_key):
    found = (await gql(budgeted, DUPLICATES, key=read_key)).ok()
    similar = [c["similarity"] for c in found["duplicateCandidates"]]
    assert len(similar) == 5 and min(similar) >= 0.9


async def test_a_simple_read_answers_while_another_operations_reads_wait_for_threads(
    app, client, read_key, monkeypatch
):
    """30 aliases whose statements all wait for the (blocked) reader threads hold a few
    connections, not the whole pool: a simple read from another client still gets one."""
    if sqlite_path(app.state.db.url) is None:
        pytest.skip("SQLite only: Postgres runs statements in its own processes")
    monkeypatch.setattr(sqlite_inline, "INLINE_SECONDS", 0.0)  # long statements move at once
    await _contacts(app.state.db, 3000)
    release = threading.Event()
    blockers = [
        asyncio.create_task(sqlite_inline.in_reader_thread(release.wait))
        for _ in range(sqlite_inline.READER_THREADS)
    ]
    try:
        heavy = asyncio.create_task(gql(client, SCANS, key=read_key))
        pool = app.state.db.engine.pool
        # until the heavy operation's reads wait for a thread (a query's reads share one
        # connection: persistence.unit_of_work.SharedReads)
        for _ in range(6000):
            if pool.checkedout() >= 1:
                break
            await asyncio.sleep(0.01)
        simple = await asyncio.wait_for(gql(client, SIMPLE, {"id": "7"}, key=read_key), 60)
        assert simple.data == {"contact": {"score": 0}}
        assert not heavy.done()
        assert pool.checkedout() <= request_share.READS_AT_ONCE + 1
    finally:
        release.set()
        await asyncio.gather(*blockers)
    answered = (await heavy).ok()
    assert answered["q1"]["totalCount"] == sum(1 for i in range(3000) if "1" in f"lead{i}@x{i}.it")


PROBE = "SELECT probe()"
LONG = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
    "SELECT max(i), probe() FROM n"
)


async def _thread_of(db: Database, sql: str) -> int:
    async with unit_of_work_factory(db)() as uow:
        raw = (await uow.conn.get_raw_connection()).driver_connection
        raw.handle.create_function("probe", 0, threading.get_ident)
        return int((await uow.conn.execute(text(sql))).all()[0][-1])


async def test_once_a_read_of_an_operation_moved_off_the_loop_its_next_ones_start_there(
    database_url, monkeypatch
):
    if sqlite_path(database_url) is None:
        pytest.skip("SQLite only")
    monkeypatch.setattr(sqlite_inline, "PROGRESS_STEPS", 50)
    monkeypatch.setattr(sqlite_inline, "INLINE_SECONDS", 0.0)
    here, db = threading.get_ident(), Database(database_url)
    try:

        async def operation(statements: list[str]) -> list[bool]:
            request_share.begin()  # as api.budget.TimeBudget does per operation
            return [await _thread_of(db, sql) == here for sql in statements]

        assert await asyncio.create_task(operation([PROBE, PROBE])) == [True, True]
        assert await asyncio.create_task(operation([PROBE, LONG, PROBE])) == [True, False, False]
        assert await asyncio.create_task(operation([PROBE])) == [True]  # a new operation
    finally:
        await db.dispose()


async def test_a_field_cancelled_while_loading_leaves_the_others_waiting_for_that_key(app, uows):
    """graphql-core cancels the siblings of a field whose error nulls their parent; another
    alias waiting for the same company still gets it (it got CancelledError: HTTP 500)."""
    async with app.state.db.engine.begin() as conn:
        company = await conn.execute(
            insert(metadata.tables["company"]),
            {"name": "Acme", "custom_attributes": {}, "created_at": NOW, "updated_at": NOW},
        )
    company_id = company.inserted_primary_key[0]
    loaders = Loaders(uows)
    cancelled = asyncio.ensure_future(loaders.company.load(company_id))
    waiting = asyncio.ensure_future(loaders.company.load(company_id))
    await asyncio.sleep(0)
    cancelled.cancel()
    found = await waiting
    assert found is not None and found.name == "Acme"
    assert cancelled.cancelled()
