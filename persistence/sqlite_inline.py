"""SQLite calls for SQLAlchemy's aiosqlite dialect, made on the event loop's own thread, and
a read that runs long moved to a worker thread.

aiosqlite runs every call on a helper thread; on a small VM each hop costs ~0.15 ms, and a
recordInteraction transaction makes dozens of them (measured: 5.8 ms per transaction with
hops, see bench/ingest.py). Our statements are mostly index lookups and writes that take
microseconds, so running them inline is cheaper than the hop; and always hopping made reads
slower still while a writer kept the loop busy (each hop waits for the GIL: bench.retier's
reads during a re-tier went from p50 61 ms to 162 ms). So a read transaction's statement
runs inline for at most INLINE_SECONDS; one still running then is stopped (SQLite's
progress handler; a read has nothing to roll back) and run again, with its fetch, on a
worker thread, where sqlite3 releases the GIL while it steps: a long read never holds the
event loop for longer than that. Writes stay inline (writers take turns anyway). Every
statement also checks the request's time budget (`domain.deadline`). This object offers the
part of aiosqlite's connection API that SQLAlchemy's adapter uses; the dialect stays
aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from domain.deadline import PROGRESS_STEPS, sqlite_progress

INLINE_SECONDS = 0.02  # the longest a read's statement runs on the event loop


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner
        self._statement: tuple[str, Any] | None = None
        self._rows: list[Any] | None = None  # fetched off the loop, handed out from here

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
        self._rows = None
        if sqlite_progress():  # the budget is spent before the statement starts
            raise sqlite3.OperationalError("interrupted")
        if not self._owner.offload:
            self._cursor.execute(sql, parameters)
            return self
        self._statement = (sql, parameters)
        try:
            with self._owner.inline():
                self._cursor.execute(sql, parameters)
        except sqlite3.OperationalError:
            if not self._owner.moved:
                raise
            await self._off_the_loop()
        return self

    async def _off_the_loop(self) -> None:
        """The statement again, and all its rows, on a worker thread."""
        assert self._statement is not None
        sql, parameters = self._statement

        def run() -> list[Any]:
            self._cursor.execute(sql, parameters)
            return self._cursor.fetchall() if self._cursor.description else []

        self._rows = await asyncio.to_thread(run)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._rows = None
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self._cursor.arraysize
        if self._rows is not None:
            out, self._rows = self._rows[:count], self._rows[count:]
            return out
        return self._cursor.fetchmany(count)

    async def fetchall(self) -> list[Any]:
        if self._rows is None and self._owner.offload:
            try:
                with self._owner.inline():
                    return self._cursor.fetchall()
            except sqlite3.OperationalError:
                if not self._owner.moved:
                    raise
                await self._off_the_loop()
        if self._rows is not None:
            out, self._rows = self._rows, []
            return out
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    def __init__(self, path: str) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(path, check_same_thread=False)
        self._conn.set_progress_handler(self._progress, PROGRESS_STEPS)
        self.offload = False  # a read transaction: long statements may move off the loop
        self.moved = False  # the last inline statement was stopped to move off the loop
        self._inline_until: float | None = None

    @contextmanager
    def inline(self) -> Iterator[None]:
        """A read step on the event loop, stopped (`moved`) after INLINE_SECONDS."""
        self.moved = False
        self._inline_until = time.monotonic() + INLINE_SECONDS
        try:
            yield
        finally:
            self._inline_until = None

    def _progress(self) -> int:
        if sqlite_progress():  # the request's time budget is spent
            return 1
        if self._inline_until is not None and time.monotonic() > self._inline_until:
            self.moved = True
            return 1
        return 0

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
