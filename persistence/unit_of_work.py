"""The unit of work: one transaction, its repositories, commit or roll back."""

from __future__ import annotations

from types import TracebackType

from persistence.db import Database
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

    def __init__(self, db: Database, *, write: bool) -> None:
        self.db = db
        self.write = write
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
        await self.conn.commit()


class UnitOfWorkFactory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, write=write)
