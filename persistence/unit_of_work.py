"""The unit of work: one transaction, its repositories, commit or roll back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from domain.events import Event
from persistence.db import Database
from persistence.event_log import EventLog
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
from persistence.tier_repositories import TierRepository


class UnitOfWork:
    """`async with uow:`; nothing is kept unless `commit()` is called inside the block.

    On SQLite, write units take this process's write lock for their whole transaction so
    that concurrent writers queue here instead of failing with "database is locked".
    """

    def __init__(self, db: Database, *, write: bool, publish: Publisher | None = None) -> None:
        self.db = db
        self.write = write
        self._publish = publish
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
        self.contacts = ContactRepository(self.conn)
        self.companies = CompanyRepository(self.conn)
        self.tags = TagRepository(self.conn)
        self.api_keys = ApiKeyRepository(self.conn)
        self.rules = RuleRepository(self.conn)
        self.fit_rules = FitRuleRepository(self.conn)
        self.interactions = InteractionRepository(self.conn)
        self.ledger = LedgerRepository(self.conn)
        self.decay_policies = DecayPolicyRepository(self.conn)
        self.tiers = TierRepository(self.conn)
        self.events = EventLog(self.conn)
        return self

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

    def _release(self) -> None:
        if self._locked:
            self._locked = False
            self.db.write_lock.release()

    async def commit(self) -> None:
        """Appends the queued events, commits, and only then publishes them (a rolled-back
        unit publishes nothing). On SQLite this runs under the write lock, so events are
        published in cursor order."""
        events = await self.events.flush()
        await self.conn.commit()
        if events and self._publish is not None:
            await self._publish(events)


Publisher = Callable[[list[Event]], Awaitable[None]]


class UnitOfWorkFactory:
    def __init__(self, db: Database, publish: Publisher | None = None) -> None:
        self.db = db
        self.publish = publish

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, write=write, publish=self.publish)
