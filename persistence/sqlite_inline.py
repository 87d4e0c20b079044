"""SQLite calls for SQLAlchemy's aiosqlite dialect: inline on the event loop's thread for
write transactions, on a worker thread for reads.

aiosqlite runs every call on a helper thread; on a small VM each hop costs ~0.15 ms, and a
recordInteraction transaction makes dozens of them (measured: 5.8 ms per transaction with
hops, see bench/ingest.py). A write's statements are short index lookups and writes that take
microseconds, so they run inline, cheaper than the hop (and writers take turns anyway). A
read may scan and sort many rows: the unit of work sets `offload` on read transactions, whose
statements and fetches run on a worker thread (sqlite3 releases the GIL while it steps), so a
long read never holds the event loop, and other requests keep being served beside it (WAL
lets readers run beside the writer). Every statement checks the request's time budget
(`domain.deadline`). This object offers the part of aiosqlite's connection API that
SQLAlchemy's adapter uses; the dialect stays aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from domain.deadline import PROGRESS_STEPS, sqlite_progress


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        if self._owner.offload:
            await asyncio.to_thread(self._cursor.execute, sql, parameters)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        if self._owner.offload:
            return await asyncio.to_thread(self._cursor.fetchone)
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if self._owner.offload:
            return await asyncio.to_thread(self._cursor.fetchmany, size or self._cursor.arraysize)
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        if self._owner.offload:
            return await asyncio.to_thread(self._cursor.fetchall)
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    def __init__(self, path: str) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(path, check_same_thread=False)
        self._conn.set_progress_handler(sqlite_progress, PROGRESS_STEPS)
        self.offload = False  # set by the unit of work for read transactions

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live.isolation_level

    @property
    def handle(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for reads that skip the DBAPI layers."""
        return self._live

    @property
    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._conn

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._live.cursor(), self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live.create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._live.commit()

    async def rollback(self) -> None:
        self._live.rollback()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def inline_creator(path: str) -> Any:
    async def create() -> InlineConnection:
        return InlineConnection(path)

    return create
