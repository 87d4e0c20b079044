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
        self.session = self.db.sessions()
        self.contacts = ContactRepository(self.session)
        self.companies = CompanyRepository(self.session)
        self.tags = TagRepository(self.session)
        self.api_keys = ApiKeyRepository(self.session)
        self.rules = RuleRepository(self.session)
        self.fit_rules = FitRuleRepository(self.session)
        self.interactions = InteractionRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.decay_policies = DecayPolicyRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
            await self.session.close()
        finally:
            if self._locked:
                self._locked = False
                self.db.write_lock.release()

    async def commit(self) -> None:
        await self.session.commit()


class UnitOfWorkFactory:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.db, write=write)
