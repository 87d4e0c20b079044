"""Every query and mutation runs under a time budget: past it the statement is stopped, the
transaction rolled back, and the caller gets TIMEOUT. SQLite reads run off the event loop."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from api.bootstrap import unit_of_work_factory
from api.settings import Settings
from domain.errors import Timeout
from persistence import sqlite_inline
from persistence.db import Database, sqlite_path
from tests.factories import gql, served

CREATE = "mutation($e: String!) { createContact(input: {email: $e}) { id } }"
PAGE = "{ contacts(first: 50) { totalCount edges { node { id email } } } }"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def budgeted(database_url, clock, monkeypatch, request) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose budgets are given by the test (`request.param`: query, mutation)."""
    if sqlite_path(database_url) is None:
        pytest.skip("Postgres stops statements with statement_timeout, in whole milliseconds")
    monkeypatch.setattr(sqlite_inline, "PROGRESS_STEPS", 50)  # check the budget often
    query, mutation = request.param
    settings = Settings(database_url=database_url, migrate_on_start=False,
                        query_timeout_seconds=query, mutation_timeout_seconds=mutation)  # fmt: skip
    async with served(settings, clock) as (_app, client):
        yield client


@pytest.mark.parametrize("budgeted", [(10.0, 0.0)], indirect=True)
async def test_a_mutation_past_its_budget_is_a_timeout_and_stores_nothing(budgeted, write_key):
    refused = await gql(budgeted, CREATE, {"e": "late@x.it"}, key=write_key)
    assert refused.codes == ["TIMEOUT"]
    assert "time budget" in refused.errors[0]["message"]
    found = await gql(budgeted, '{ contactByEmail(email: "late@x.it") { id } }', key=write_key)
    assert found.data == {"contactByEmail": None}


@pytest.mark.parametrize("budgeted", [(0.0, 30.0)], indirect=True)
async def test_a_query_past_its_budget_is_a_timeout(budgeted, write_key):
    # enough rows for the page's statements to reach the progress handler's check (a page
    # reads only the columns it shows: on 3 rows it ran fewer than PROGRESS_STEPS steps)
    for n in range(30):
        assert (await gql(budgeted, CREATE, {"e": f"p{n}@x.it"}, key=write_key)).errors == []
    refused = await gql(budgeted, PAGE, key=write_key)
    assert refused.codes == ["TIMEOUT"]
    assert refused.data == {"contacts": None}


@pytest.mark.parametrize("budgeted", [(10.0, 30.0)], indirect=True)
async def test_within_the_budgets_everything_answers(budgeted, write_key):
    assert (await gql(budgeted, CREATE, {"e": "ok@x.it"}, key=write_key)).errors == []
    assert (await gql(budgeted, PAGE, key=write_key)).data["contacts"]["totalCount"] == 1


LONG = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
    "SELECT max(i), probe() FROM n"
)


async def _thread_of(db: Database, sql: str, *, write: bool) -> int:
    async with unit_of_work_factory(db)(write=write) as uow:
        raw = (await uow.conn.get_raw_connection()).driver_connection
        raw.handle.create_function("probe", 0, threading.get_ident)
        return int((await uow.conn.execute(text(sql))).all()[0][-1])


async def test_sqlite_reads_that_run_long_move_off_the_event_loop(database_url, monkeypatch):
    if sqlite_path(database_url) is None:
        pytest.skip("SQLite only")
    monkeypatch.setattr(sqlite_inline, "PROGRESS_STEPS", 50)
    here, db = threading.get_ident(), Database(database_url)
    try:
        assert await _thread_of(db, "SELECT probe()", write=False) == here  # short: inline
        monkeypatch.setattr(sqlite_inline, "INLINE_SECONDS", 0.0)
        assert await _thread_of(db, LONG, write=False) != here  # stopped, run again off it
        assert await _thread_of(db, LONG, write=True) == here  # writes stay inline
    finally:
        await db.dispose()


async def test_postgres_stops_a_statement_past_its_timeout_and_rolls_back(database_url):
    if sqlite_path(database_url) is not None:
        pytest.skip("Postgres only (SQLite: the tests above)")
    db = Database(database_url, statement_timeout_seconds=0.05)
    uows = unit_of_work_factory(db)
    try:
        with pytest.raises(Timeout):
            async with uows(write=True) as uow:
                await uow.contacts.insert({"email": "slow@x.it"}, NOW)
                await uow.conn.execute(text("SELECT pg_sleep(1)"))
        async with uows() as uow:
            assert await uow.contacts.get_by_email("slow@x.it") is None
    finally:
        await db.dispose()
