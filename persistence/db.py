"""Engine set-up for SQLite (WAL, foreign keys, busy timeout) and Postgres, and migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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
from persistence.sqlite_file import SqliteFile
from persistence.sqlite_inline import inline_creator

log = logging.getLogger("segmento.db")
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
    # Deleted and overwritten content is zeroed, not left in free space (GDPR erasure).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Postgres: a pooled connection whose socket closed (the server restarted or ended the
    session) is replaced at checkout. SQLAlchemy's pre-ping sent BEGIN, a statement and
    ROLLBACK for this on every checkout, three round trips per unit of work; asyncpg knows
    without one."""
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the connection was closed")


async def _sqlite_full(conn: Any) -> bool:
    pages = {}
    for name in ("page_count", "max_page_count", "freelist_count"):
        pages[name] = (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
    return bool(pages["page_count"] >= pages["max_page_count"] and not pages["freelist_count"])


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
        self.file = SqliteFile(path) if path is not None else None
        if self.file is not None:  # all 15 stay open (each keeps its page cache)
            self.file.pin()
            creator = inline_creator(self.file.connect)
            kwargs.update(async_creator=creator, pool_size=15, max_overflow=0)
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
        # Why the last write failed for want of storage (disk full…); cleared by a write
        # that commits. /healthz answers 503 meanwhile.
        self.write_fault: str | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def file_problem(self) -> str | None:
        """SQLite: why its file cannot take writes now (sqlite_file.py); else None."""
        return self.file.problem() if self.file is not None else None

    async def health(self) -> str | None:
        """Why the database cannot serve reads and writes now, or None when it can: its
        file (gone, replaced, not writable, disk full), a full database (SQLite's
        max_page_count reached), the last write's failure for want of storage, or no answer
        to a query."""
        problem = self.file_problem()
        if problem is not None:
            return problem
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            if self.is_sqlite and await _sqlite_full(conn):
                return "the database is full (max_page_count reached, no free pages)"
        return self.write_fault

    async def reclaim(self, tables: Sequence[str]) -> None:
        """After an erasure's commit: the old values leave the files where they linger.
        SQLite (secure_delete zeroed the freed content) copies the WAL into the database and
        truncates it; Postgres vacuums the tables, whose dead row versions kept the old
        values (plain VACUUM: the space is freed for reuse, without VACUUM FULL's exclusive
        lock). A failure is logged: the erasure itself is committed."""
        try:
            async with self.engine.connect() as conn:
                if self.is_sqlite:
                    result = await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    busy = result.scalar()
                    if busy:
                        log.warning("after an erasure, the WAL checkpoint was blocked by readers")
                    return
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.exec_driver_sql("VACUUM " + ", ".join(f'"{t}"' for t in tables))
        except Exception as error:  # the erasure is stored; only the wipe failed
            log.warning("after an erasure, reclaiming the freed space failed: %s", error)

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
