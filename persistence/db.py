"""Engine set-up for SQLite (WAL, foreign keys, busy timeout) and Postgres, and migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    create_async_engine,
)

from domain.json_values import read_json
from persistence.sqlite_inline import inline_creator

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """Accept the plain URLs people paste and pick the async drivers we ship."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :].split("?")[0])
    return None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Postgres: a pooled connection whose socket closed (the server restarted or ended the
    session) is replaced at checkout. SQLAlchemy's pre-ping sent BEGIN, a statement and
    ROLLBACK for this on every checkout, three round trips per unit of work; asyncpg knows
    without one."""
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the connection was closed")


class Database:
    """One engine and session factory; on SQLite, writers take turns in this process."""

    def __init__(
        self, url: str, *, echo: bool = False, statement_timeout_seconds: float | None = None
    ) -> None:
        """`statement_timeout_seconds`: on Postgres, the longest any statement may run (the
        server stops it; SQLite checks each request's budget as statements run instead)."""
        self.url = normalise_url(url)
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # JSON columns are decoded tolerantly: rows stored before integers were checked
        # (domain/json_values.py) stay readable.
        kwargs: dict[str, Any] = {"echo": echo, "json_deserializer": read_json}
        if path is not None:  # all 15 stay open (each keeps its page cache)
            kwargs.update(async_creator=inline_creator(str(path)), pool_size=15, max_overflow=0)
        if self.url.startswith("postgresql"):
            kwargs.update(pool_size=10, max_overflow=20)
            if statement_timeout_seconds is not None:
                timeout = str(int(statement_timeout_seconds * 1000))
                kwargs["connect_args"] = {"server_settings": {"statement_timeout": timeout}}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _on_sqlite_connect)
        else:
            event.listen(self.engine.sync_engine, "checkout", _alive)
        self.write_lock = asyncio.Lock()
        # SQLite: read units of work past an operation's first share 10 of the 15
        # connections, the rest is kept for operations' first reads (request_share.py).
        # Postgres answers from its own processes and frees connections quickly: there,
        # holding units back only spread the heavy work and slowed the short reads.
        self.busy_lane = asyncio.Semaphore(10) if path is not None else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (blocking; call from a thread inside a loop)."""
    path = sqlite_path(normalise_url(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
