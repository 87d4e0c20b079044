"""The database set-up: migrations match the tables, SQLite pragmas, health when it is down."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from api.app import create_app
from api.settings import Settings
from persistence.db import Database
from persistence.tables import metadata


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


async def test_migrations_produce_exactly_the_declared_tables(database_url):
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await db.dispose()


async def test_health_is_503_when_the_database_is_unreachable():
    app = create_app(
        Settings(
            database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", migrate_on_start=False
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/healthz")
    await app.state.db.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


async def test_postgres_connections_closed_by_the_server_are_replaced_at_checkout(database_url):
    """The server ends every session the pool holds (a restart, an administrator): the next
    units of work get new connections instead of failing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("Postgres only")
    db = Database(database_url)
    try:
        async with db.engine.connect() as admin:  # held: not one of the three
            conns = [await db.engine.connect() for _ in range(3)]  # three sessions pooled
            pids = [(await c.execute(text("SELECT pg_backend_pid()"))).scalar() for c in conns]
            for conn in conns:
                await conn.close()
            terminate = "SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS integer[])) pid"
            await admin.execute(text(terminate), {"p": pids})
        await asyncio.sleep(0.2)  # the sockets' close reaches asyncpg
        for _ in range(3):
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()
