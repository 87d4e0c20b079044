"""Shared fixtures: a migrated database per test (SQLite, and Postgres when configured)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Integer, text

from api.app import create_app
from api.settings import Settings
from domain.auth import Scope
from persistence.db import Database, migrate, normalise_url, sqlite_path
from persistence.tables import metadata
from persistence.unit_of_work import UnitOfWorkFactory
from services import auth
from tests.fakes import FakeResolver

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "segmento.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> tuple[str, dict[str, list[dict[str, object]]]]:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: Postgres tests must run")
        pytest.skip("TEST_DATABASE_URL not set; Postgres variant skipped")
    url = normalise_url(POSTGRES_URL)
    try:
        _in_thread(_reset_postgres_schema, url)
    except Exception as error:  # unreachable Postgres is a failure, never a silent skip
        pytest.fail(f"Postgres at TEST_DATABASE_URL is unreachable: {error}")
    _in_thread(migrate, url)
    seeds = _in_thread(lambda: asyncio.run(_seed_rows(url)))
    return url, seeds  # type: ignore[return-value]


def _in_thread(fn: Callable[..., object], *args: object) -> object:
    """Run blocking set-up that calls asyncio.run() even when a loop is running here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _reset_postgres_schema(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def reset() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    asyncio.run(reset())


async def _seed_rows(url: str) -> dict[str, list[dict[str, object]]]:
    """What the migrations seeded (presets), to restore after each truncation."""
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return {
                t.name: [dict(r._mapping) for r in await conn.execute(t.select())]
                for t in metadata.sorted_tables
            }
    finally:
        await db.dispose()


async def _truncate(url: str, seeds: dict[str, list[dict[str, object]]]) -> None:
    db = Database(url)
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in metadata.sorted_tables:
                if seeds.get(table.name):
                    await conn.execute(table.insert(), seeds[table.name])
                    key = next(iter(table.primary_key.columns))
                    if not isinstance(key.type, Integer):  # no sequence behind the key
                        continue
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                            f"(SELECT max({key.name}) FROM {table.name}))"
                        )
                    )
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "segmento.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url, seeds = request.getfixturevalue("postgres_migrated")
    await _truncate(url, seeds)
    yield url


@pytest.fixture
def reset_database(
    request: pytest.FixtureRequest, database_url: str, sqlite_template: Path
) -> Callable[[], Awaitable[None]]:
    """Bring the test's database back to freshly migrated (for hypothesis examples)."""

    async def reset() -> None:
        path = sqlite_path(database_url)
        if path is not None:
            await asyncio.to_thread(_restore_sqlite, sqlite_template, path)
        else:
            _url, seeds = request.getfixturevalue("postgres_migrated")
            await _truncate(database_url, seeds)

    return reset


def _restore_sqlite(template: Path, path: Path) -> None:
    shutil.copy(template, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def resolver() -> FakeResolver:
    """The DNS of the app's webhooks: no test looks names up on the real network."""
    return FakeResolver()


@pytest.fixture
async def app(
    database_url: str, clock: FixedClock, resolver: FakeResolver
) -> AsyncIterator[object]:
    application = create_app(
        Settings(database_url=database_url, migrate_on_start=False),
        clock=clock,
        resolver=resolver,
    )
    yield application
    await application.state.db.dispose()


@pytest.fixture
def uows(app: object) -> UnitOfWorkFactory:
    return app.state.uows  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://segmento.test") as c:
        yield c


async def _key(uows: UnitOfWorkFactory, scope: Scope, clock: FixedClock) -> str:
    _, secret = await auth.create_api_key(uows, f"test {scope.value}", scope, clock())
    return secret


@pytest.fixture
async def admin_key(uows: UnitOfWorkFactory, clock: FixedClock) -> str:
    return await _key(uows, Scope.ADMIN, clock)


@pytest.fixture
async def write_key(uows: UnitOfWorkFactory, clock: FixedClock) -> str:
    return await _key(uows, Scope.WRITE, clock)


@pytest.fixture
async def read_key(uows: UnitOfWorkFactory, clock: FixedClock) -> str:
    return await _key(uows, Scope.READ, clock)


@pytest.fixture(autouse=True)
def _no_leaked_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield
