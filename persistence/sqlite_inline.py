"""SQLite calls for SQLAlchemy's aiosqlite dialect, made on the event loop's own thread, and
reads that run long moved to reader threads.

aiosqlite runs every call on a helper thread; on a small VM each hop costs ~0.15 ms, and a
recordInteraction transaction makes dozens of them (measured: 5.8 ms per transaction with
hops, see bench/ingest.py). Our statements are mostly index lookups and writes that take
microseconds, so running them inline is cheaper than the hop; and always hopping made reads
slower still while a writer kept the loop busy (each hop waits for the GIL: bench.retier's
reads during a re-tier went from p50 61 ms to 162 ms). Writes stay inline (writers take
turns anyway). Every statement also checks the request's time budget (`domain.deadline`).

Reads: a read transaction's statement runs inline for at most INLINE_SECONDS; one still
running then is stopped (SQLite's progress handler; a read has nothing to roll back) and run
again, with its fetch, on a reader thread, where sqlite3 releases the GIL while it steps.
The inline time is charged to the GraphQL operation (`request_share.py`): an operation gets
REQUEST_INLINE_SECONDS (50 ms) on the loop in all, and once one of its statements had to
move, its later ones start on a reader thread directly. Before, the allowance was per
statement: an operation of 30 aliases spent 20 ms on the loop for each of its 60 statements
(1.2 s in 20 ms slices) and ran each of them twice.

The reader threads: READER_THREADS (2, the cores of the machine we size for) in a pool of
their own, at a lower CPU priority than the loop's thread (Linux niceness +10), and with
the interpreter's GIL switch interval lowered to GIL_SWITCH_SECONDS. Measured with
bench.isolation (4 clients sending the costliest admitted reads): on the default executor's
six threads the loop's thread was runnable but not running for 11 s of 25 (the threads
took both cores) and waited up to 5 ms for the GIL after every socket or SQLite call (the
loop stalled in `os.urandom` and one-row lookups); with these settings it waited 1.7 s of
25, and the simple read's p99 went from seconds to ~0.2-0.3 s, with more heavy requests
served, not fewer.

This object offers the part of aiosqlite's connection API that SQLAlchemy's adapter uses;
the dialect stays aiosqlite.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from domain.deadline import PROGRESS_STEPS, sqlite_progress
from persistence import request_share

T = TypeVar("T")

INLINE_SECONDS = 0.02  # the longest a read's statement runs on the event loop
READER_THREADS = 2  # threads that run the reads moved off the loop, one process's
GIL_SWITCH_SECONDS = 0.001  # how long the loop's thread waits for the GIL before asking
READER_NICENESS = 10  # Linux: reader threads yield the CPU to the event loop's thread

_readers: ThreadPoolExecutor | None = None


async def in_reader_thread(run: Callable[[], T]) -> T:
    """`run()` on one of the READER_THREADS (in this context: it sees the time budget)."""
    global _readers
    if _readers is None:
        _readers = ThreadPoolExecutor(
            READER_THREADS, thread_name_prefix="sqlite-read", initializer=_lower_priority
        )
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_SECONDS))
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_readers, context.run, run)


def _lower_priority() -> None:
    """A reader thread runs at a lower priority than the event loop's thread (Linux lets a
    thread change its own niceness; elsewhere nothing changes)."""
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            niceness = os.getpriority(os.PRIO_PROCESS, tid) + READER_NICENESS
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except OSError:
            pass


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
        if not self._owner.offload:
            self._cursor.execute(sql, parameters)
            return self
        self._statement = (sql, parameters)
        if not self._owner.may_run_inline():
            await self._off_the_loop()
            return self
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

        self._rows = await in_reader_thread(run)

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
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._conn: sqlite3.Connection | None = connect()
        self._conn.set_progress_handler(self._progress, PROGRESS_STEPS)
        self.offload = False  # a read transaction: long statements may move off the loop
        self.moved = False  # the last inline statement was stopped to move off the loop
        self._inline_until: float | None = None

    def may_run_inline(self) -> bool:
        """The operation running this read has event-loop time left (request_share.py)."""
        share = request_share.current()
        return share is None or share.inline_left > 0

    @contextmanager
    def inline(self) -> Iterator[None]:
        """A read step on the event loop, stopped (`moved`) after INLINE_SECONDS or what is
        left of its operation's allowance, whichever is shorter; charged to the operation."""
        self.moved = False
        share = request_share.current()
        window = INLINE_SECONDS if share is None else min(INLINE_SECONDS, share.inline_left)
        began = time.monotonic()
        self._inline_until = began + window
        try:
            yield
        finally:
            self._inline_until = None
            if share is not None:
                share.charge_inline(time.monotonic() - began, moved=self.moved)

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


def inline_creator(connect: Callable[[], sqlite3.Connection]) -> Any:
    async def create() -> InlineConnection:
        return InlineConnection(connect)

    return create
