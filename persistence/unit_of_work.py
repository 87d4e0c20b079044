"""The unit of work: one transaction, its repositories, commit or roll back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import Token
from datetime import UTC, datetime
from functools import cached_property
from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.changes import Changes
from domain.errors import Timeout, Unavailable, WriteConflict
from domain.events import Event
from persistence import request_share
from persistence.automation_repositories import AutomationRepository
from persistence.base import Seen
from persistence.db import Database
from persistence.event_log import EventLog
from persistence.kpi_queries import KpiQueries
from persistence.lifecycle_repositories import ERASURE_TABLES, LifecycleRepository
from persistence.list_repositories import ListRepository
from persistence.repositories import (
    ApiKeyRepository,
    CompanyRepository,
    ContactRepository,
    TagRepository,
)
from persistence.scoring_repositories import (
    DecayPolicyRepository,
    FitRuleRepository,
    InteractionRepository,
    LedgerRepository,
    RuleRepository,
)
from persistence.sqlite_inline import InlineConnection
from persistence.tier_repositories import TierRepository
from persistence.webhook_repositories import WebhookRepository


class UnitOfWork:
    """`async with uow:`; nothing is kept unless `commit()` is called inside the block.

    Repositories record what their writes touch in `changes`; `commit()` settles it first
    (the `settle` step the composition root wires in: tiers, segments, lists, automations,
    their events), then appends the events, commits and publishes.

    On SQLite, write units take this process's write lock for their whole transaction so
    that concurrent writers queue here instead of failing with "database is locked".
    """

    def __init__(
        self,
        db: Database,
        *,
        write: bool,
        publish: Publisher | None = None,
        clock: Callable[[], datetime] | None = None,
        on_webhooks_queued: Callable[[], None] | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.db = db
        self.write = write
        self._publish = publish
        self._clock = clock or _utc_now
        self._on_webhooks_queued = on_webhooks_queued
        self._settle = settle
        self._locked = False
        self._taken: list[asyncio.Semaphore] = []  # of the request's share (released at exit)
        self._holding: Token[bool] | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self.write and self.db.is_sqlite:
            await self.db.write_lock.acquire()
            self._locked = True
        try:
            if not self.write:
                await self._take_share()
            self.conn = await self.db.engine.connect()
        except BaseException as error:
            self._release()
            if isinstance(error, DBAPIError) and (problem := self.db.file_problem()):
                raise Unavailable(f"the database cannot be used: {problem}") from error
            raise
        if self.db.is_sqlite:  # a read that runs long moves off the loop (sqlite_inline.py)
            driver = (await self.conn.get_raw_connection()).driver_connection
            if isinstance(driver, InlineConnection):
                driver.offload = not self.write
        self._bind()
        self._holding = request_share.hold()
        return self

    def _bind(self) -> None:
        """A fresh record of changes; the repositories, on `self.conn`, are made on first use
        (a read uses one or two of the sixteen)."""
        self.changes = Changes()
        self.seen = Seen(self.conn)  # versions read once per unit of work

    @cached_property
    def contacts(self) -> ContactRepository:
        return ContactRepository(self.conn, self.changes, self.seen)

    @cached_property
    def companies(self) -> CompanyRepository:
        return CompanyRepository(self.conn, self.changes, self.seen)

    @cached_property
    def tags(self) -> TagRepository:
        return TagRepository(self.conn, self.changes, self.seen)

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self.conn)

    @cached_property
    def rules(self) -> RuleRepository:
        return RuleRepository(self.conn, seen=self.seen)

    @cached_property
    def fit_rules(self) -> FitRuleRepository:
        return FitRuleRepository(self.conn, seen=self.seen)

    @cached_property
    def interactions(self) -> InteractionRepository:
        return InteractionRepository(self.conn, self.changes)

    @cached_property
    def ledger(self) -> LedgerRepository:
        return LedgerRepository(self.conn, self.changes)

    @cached_property
    def decay_policies(self) -> DecayPolicyRepository:
        return DecayPolicyRepository(self.conn)

    @cached_property
    def tiers(self) -> TierRepository:
        return TierRepository(self.conn, seen=self.seen)

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self.conn)

    @cached_property
    def webhooks(self) -> WebhookRepository:
        return WebhookRepository(self.conn, self.seen)

    @cached_property
    def lists(self) -> ListRepository:
        return ListRepository(self.conn, seen=self.seen)

    @cached_property
    def automations(self) -> AutomationRepository:
        return AutomationRepository(self.conn, seen=self.seen)

    @cached_property
    def lifecycle(self) -> LifecycleRepository:
        return LifecycleRepository(self.conn, self.changes, self.seen)

    @cached_property
    def kpis(self) -> KpiQueries:
        return KpiQueries(self.conn)

    def clock(self) -> datetime:
        return self._clock()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.conn.rollback()
            await self.conn.close()
        finally:
            if self._holding is not None:
                request_share.unhold(self._holding)
                self._holding = None
            self._release()
        if isinstance(exc, DBAPIError) and (fault := _storage_fault(exc)) is not None:
            self.db.write_fault = fault
            raise Unavailable(f"nothing was stored: {fault}") from exc
        _raise_domain_error(exc)

    async def _take_share(self) -> None:
        """A read unit of an operation waits for its turn (persistence/request_share.py)."""
        share, lane = request_share.current(), self.db.busy_lane
        if share is None or lane is None or request_share.holding():
            return
        await share.slots.acquire()
        self._taken.append(share.slots)
        if share.reads_started > 0:
            await lane.acquire()
            self._taken.append(lane)
        share.reads_started += 1

    def _release(self) -> None:
        while self._taken:
            self._taken.pop().release()
        if self._locked:
            self._locked = False
            self.db.write_lock.release()

    async def commit(self) -> None:
        """Settles what the writes touched, appends the queued events, commits, and only
        then publishes them (a rolled-back unit publishes nothing). On SQLite this runs
        under the write lock, so events are published in cursor order."""
        if self.changes or self.events.pending:
            if self._settle is None:
                raise RuntimeError(
                    "this unit of work has changes to settle but no settle step: "
                    "build its factory with api.bootstrap"
                )
            await self._settle(self)
        events = await self.events.flush()
        # Webhook deliveries are queued in the transaction of their events (durable).
        await self.webhooks.enqueue_for_events(events, self._clock())
        if (problem := self.db.file_problem()) is not None:
            raise Unavailable(f"nothing was stored: {problem}")
        await self.conn.commit()
        self.db.write_fault = None
        lifecycle = self.__dict__.get("lifecycle")  # made on first use (cached_property)
        if lifecycle is not None and lifecycle.erasing:
            await self.db.reclaim(ERASURE_TABLES)
        if self.webhooks.queued and self._on_webhooks_queued is not None:
            self._on_webhooks_queued()
        if events and self._publish is not None:
            await self._publish(events)


def _raise_domain_error(exc: BaseException | None) -> None:
    """Services see the domain's errors, not the driver's."""
    if isinstance(exc, IntegrityError):
        raise WriteConflict(
            "the write conflicted with stored data (e.g. a concurrent write of the same "
            "key); nothing was stored, try again"
        ) from exc
    if isinstance(exc, DBAPIError) and _timed_out(exc):
        raise Timeout(
            "the request ran out of its time budget and was stopped; nothing it was "
            "writing was stored. Ask for less (smaller pages, a narrower filter) or retry"
        ) from exc


class SharedReads:
    """The reads of one query request on one connection, in one transaction.

    A contact card used to open seven units of work (connection out of the pool, a
    transaction, a rollback, back to the pool) for seven small reads, and a query with 30
    aliases could hold 30 connections at once. Here each `uows()` of the request is a
    unit of work on the request's connection, entered one at a time (a lock; the same task
    may nest), so a request holds at most one connection for its reads, and they all see
    the same snapshot on SQLite. `uows(write=True)` is the factory's own. `close()` ends
    the transaction and returns the connection (the view calls it when the request ends).
    """

    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self.factory = factory
        self.conn: AsyncConnection | None = None
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[object] | None = None
        self.depth = 0

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        if write:
            return self.factory(write=True)
        return SharedUnitOfWork(self)

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                await conn.rollback()
            finally:
                await conn.close()


class SharedUnitOfWork(UnitOfWork):
    """A read unit of work on the request's connection (see `SharedReads`)."""

    def __init__(self, reads: SharedReads) -> None:
        f = reads.factory
        super().__init__(f.db, write=False, clock=f.clock, settle=f.settle)
        self.reads = reads

    async def __aenter__(self) -> UnitOfWork:
        reads, task = self.reads, asyncio.current_task()
        if reads.owner is None or reads.owner is not task:
            await reads.lock.acquire()
            reads.owner = task
        reads.depth += 1
        try:
            if reads.conn is None:
                reads.conn = await self.db.engine.connect()
                if self.db.is_sqlite:
                    driver = (await reads.conn.get_raw_connection()).driver_connection
                    if isinstance(driver, InlineConnection):
                        driver.offload = True
        except BaseException:
            self._leave()
            raise
        self.conn = reads.conn
        self._bind()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and self.reads.depth == 1:  # a failed statement ends it
                await self.conn.rollback()
        finally:
            self._leave()
        _raise_domain_error(exc)

    def _leave(self) -> None:
        reads = self.reads
        reads.depth -= 1
        if reads.depth == 0:
            reads.owner = None
            reads.lock.release()

    async def commit(self) -> None:
        raise RuntimeError("a shared read unit of work does not write: use uows(write=True)")


_SQLITE_STORAGE = {
    "SQLITE_FULL": "the database or its disk is full",
    "SQLITE_READONLY": "the database file is not writable",
    "SQLITE_IOERR": "the database file cannot be written (I/O error)",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
}


def _storage_fault(exc: DBAPIError) -> str | None:
    """What went wrong when a write failed for want of storage, or None for other failures:
    SQLite's full, read-only, I/O and cannot-open errors; Postgres's class 53 (disk full,
    out of memory…) and 58 (I/O error)."""
    name = getattr(exc.orig, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, fault in _SQLITE_STORAGE.items():
            if name.startswith(prefix):
                return fault
        return None
    cause = getattr(exc.orig, "__cause__", None)
    state = getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    if isinstance(state, str) and state[:2] in ("53", "58"):
        return f"the database server cannot store more ({state}: {exc.orig})"
    return None


def _timed_out(exc: DBAPIError) -> bool:
    """SQLite stopped by the progress handler, or Postgres's statement_timeout (57014)."""
    if "interrupted" in str(exc.orig):
        return True
    cause = getattr(exc.orig, "__cause__", None)
    return getattr(exc.orig, "sqlstate", None) == "57014" or (
        getattr(cause, "sqlstate", None) == "57014"
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


Publisher = Callable[[list[Event]], Awaitable[None]]
Settle = Callable[[UnitOfWork], Awaitable[None]]


class UnitOfWorkFactory:
    def __init__(
        self,
        db: Database,
        publish: Publisher | None = None,
        clock: Callable[[], datetime] | None = None,
        settle: Settle | None = None,
    ) -> None:
        self.db = db
        self.publish = publish
        self.clock = clock  # stamps webhook deliveries queued at commit
        self.settle = settle  # wired by api.bootstrap; units without it refuse changes
        self.on_webhooks_queued: Callable[[], None] | None = None  # wakes the delivery worker

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, write=write, publish=self.publish, clock=self.clock,
                          on_webhooks_queued=self.on_webhooks_queued,
                          settle=self.settle)  # fmt: skip
