"""The unit of work: one transaction, its repositories, commit or roll back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.changes import Changes
from domain.errors import Timeout, WriteConflict
from domain.events import Event
from persistence.automation_repositories import AutomationRepository
from persistence.base import Seen
from persistence.db import Database
from persistence.event_log import EventLog
from persistence.kpi_queries import KpiQueries
from persistence.lifecycle_repositories import LifecycleRepository
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

    async def __aenter__(self) -> UnitOfWork:
        if self.write and self.db.is_sqlite:
            await self.db.write_lock.acquire()
            self._locked = True
        try:
            self.conn = await self.db.engine.connect()
        except BaseException:
            self._release()
            raise
        if self.db.is_sqlite:  # a read that runs long moves off the loop (sqlite_inline.py)
            driver = (await self.conn.get_raw_connection()).driver_connection
            if isinstance(driver, InlineConnection):
                driver.offload = not self.write
        self.changes = changes = Changes()
        seen = Seen(self.conn)  # versions read once per unit of work
        self.contacts = ContactRepository(self.conn, changes, seen)
        self.companies = CompanyRepository(self.conn, changes, seen)
        self.tags = TagRepository(self.conn, changes, seen)
        self.api_keys = ApiKeyRepository(self.conn)
        self.rules = RuleRepository(self.conn, seen=seen)
        self.fit_rules = FitRuleRepository(self.conn)
        self.interactions = InteractionRepository(self.conn, changes)
        self.ledger = LedgerRepository(self.conn, changes)
        self.decay_policies = DecayPolicyRepository(self.conn)
        self.tiers = TierRepository(self.conn, seen=seen)
        self.events = EventLog(self.conn)
        self.webhooks = WebhookRepository(self.conn, seen)
        self.lists = ListRepository(self.conn, seen=seen)
        self.automations = AutomationRepository(self.conn, seen=seen)
        self.lifecycle = LifecycleRepository(self.conn, changes, seen)
        self.kpis = KpiQueries(self.conn)
        return self

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
            self._release()
        if isinstance(exc, IntegrityError):  # services see the domain's error, not the driver's
            raise WriteConflict(
                "the write conflicted with stored data (e.g. a concurrent write of the same "
                "key); nothing was stored, try again"
            ) from exc
        if isinstance(exc, DBAPIError) and _timed_out(exc):
            raise Timeout(
                "the request ran out of its time budget and was stopped; nothing it was "
                "writing was stored. Ask for less (smaller pages, a narrower filter) or retry"
            ) from exc

    def _release(self) -> None:
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
        await self.conn.commit()
        if self.webhooks.queued and self._on_webhooks_queued is not None:
            self._on_webhooks_queued()
        if events and self._publish is not None:
            await self._publish(events)


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
