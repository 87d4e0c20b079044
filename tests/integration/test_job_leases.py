"""Leases on scheduled jobs (persistence/job_leases.py, services/scheduler.py), on SQLite and
on Postgres: one holder at a time, renewal keeps it, expiry or giving back hands it over;
holders taking at once (separate engines on Postgres, as separate processes would be) get
one winner; the scheduler runs a job in one of several competing "processes"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from api.bootstrap import job_leases
from persistence.db import Database
from services.scheduler import Lease, every, lease_seconds

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def rows(db: Database) -> list[tuple[str, str]]:
    async with db.engine.connect() as conn:
        found = await conn.execute(text("SELECT job, holder FROM job_lease ORDER BY job"))
        return [(r.job, r.holder) for r in found]


async def test_one_holder_at_a_time_and_renewing_keeps_the_lease(database_url):
    db = Database(database_url)
    leases = job_leases(db)
    try:
        assert await leases.acquire("decay", "a", at(0), 10)
        assert not await leases.acquire("decay", "b", at(1), 10)
        assert await leases.acquire("decay", "a", at(8), 10)  # renewed: until 18
        assert not await leases.acquire("decay", "b", at(12), 10)  # the first lease ended at 10
        assert await leases.acquire("prune", "b", at(12), 10)  # a lease per job
        assert await rows(db) == [("decay", "a"), ("prune", "b")]
    finally:
        await db.dispose()


async def test_an_expired_lease_passes_to_the_next_holder(database_url):
    db = Database(database_url)
    leases = job_leases(db)
    try:
        assert await leases.acquire("decay", "a", at(0), 10)
        assert await leases.acquire("decay", "b", at(10), 10)  # a died: its lease ran out
        assert not await leases.acquire("decay", "a", at(11), 10)  # and a is late: b has it
        assert await rows(db) == [("decay", "b")]
    finally:
        await db.dispose()


async def test_a_lease_given_back_passes_at_once(database_url):
    db = Database(database_url)
    leases = job_leases(db)
    try:
        assert await leases.acquire("decay", "a", at(0), 10)
        assert await leases.acquire("prune", "a", at(0), 10)
        assert await leases.acquire("inactivity", "c", at(0), 10)
        await leases.give_back("a")  # a shuts down
        assert await leases.acquire("decay", "b", at(1), 10)
        assert await rows(db) == [("decay", "b"), ("inactivity", "c")]
    finally:
        await db.dispose()


async def test_of_holders_taking_at_once_exactly_one_wins(database_url):
    """Twelve holders, all at the same moment, on a free and then on an expired lease. On
    Postgres each has its own engine (its own connections, as a process would)."""
    shared = Database(database_url)
    dbs = [shared] if shared.is_sqlite else [Database(database_url) for _ in range(12)]
    try:
        leases = [job_leases(dbs[i % len(dbs)]) for i in range(12)]
        for now in (at(0), at(30)):  # free, then expired (the lease lasts 10 s)
            won = await asyncio.gather(
                *(lease.acquire("decay", f"h{i}", now, 10) for i, lease in enumerate(leases))
            )
            assert sum(won) == 1, won
            (winner,) = [f"h{i}" for i, ok in enumerate(won) if ok]
            assert await rows(shared) == [("decay", winner)]
    finally:
        for db in {*dbs, shared}:
            await db.dispose()


def test_a_lease_outlives_the_interval_with_room_to_spare():
    assert lease_seconds(3600) == 7200
    assert lease_seconds(1) == 31


async def test_of_competing_schedulers_one_runs_the_job(database_url):
    """Three schedulers (three processes' worth) run the same 10 ms job: every run is made
    by the one holding the lease; the others skip their turns."""
    shared = Database(database_url)
    dbs = [shared] if shared.is_sqlite else [Database(database_url) for _ in range(3)]
    runs: list[str] = []
    enough = asyncio.Event()
    try:
        holders = [Lease(job_leases(dbs[i % len(dbs)]), f"p{i}") for i in range(3)]

        def job(holder: str):
            async def run() -> str:
                runs.append(holder)
                if len(runs) >= 6:
                    enough.set()
                return "ran"

            return run

        tasks = [asyncio.create_task(every(0.01, job(h.holder), "decay run", h)) for h in holders]
        async with asyncio.timeout(30):
            await enough.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(set(runs)) == 1, runs
        (holder,) = [h for h in holders if h.holder == runs[0]]
        assert holder.held == {"decay run"}
        assert all(not h.held for h in holders if h is not holder)
        await holder.give_back()
        assert await rows(shared) == []
    finally:
        for db in {*dbs, shared}:
            await db.dispose()
