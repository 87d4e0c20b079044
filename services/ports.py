"""What the use cases need from outside: units of work, a clock, a webhook sender, a name
resolver, a GraphQL client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from domain.changes import Changes
from domain.events import Event
from services.repository_ports import (
    ApiKeyRepository,
    AutomationRepository,
    CompanyRepository,
    ContactRepository,
    DecayPolicyRepository,
    EventLog,
    FitRuleRepository,
    InteractionRepository,
    KpiQueries,
    LedgerRepository,
    LifecycleRepository,
    ListRepository,
    RuleRepository,
    TagRepository,
    TierRepository,
    WebhookRepository,
)

Clock = Callable[[], datetime]
Publisher = Callable[[list[Event]], Awaitable[None]]  # events, after their commit


def system_clock() -> datetime:
    return datetime.now(UTC)


class UnitOfWork(Protocol):
    """One transaction: `async with uows(write=True) as uow:`; nothing is kept unless
    `commit()` is called inside the block. Repositories never commit."""

    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def companies(self) -> CompanyRepository: ...
    @property
    def tags(self) -> TagRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def rules(self) -> RuleRepository: ...
    @property
    def fit_rules(self) -> FitRuleRepository: ...
    @property
    def interactions(self) -> InteractionRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def decay_policies(self) -> DecayPolicyRepository: ...
    @property
    def tiers(self) -> TierRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def lists(self) -> ListRepository: ...
    @property
    def automations(self) -> AutomationRepository: ...
    @property
    def lifecycle(self) -> LifecycleRepository: ...
    @property
    def kpis(self) -> KpiQueries: ...

    @property
    def changes(self) -> Changes:
        """What the writes touched, recorded by the repositories; read by the settle step
        that `commit()` runs (services.settle)."""
        ...

    @property
    def db(self) -> object:
        """The database this unit works on (what caches of parsed definitions key by)."""
        ...

    def clock(self) -> datetime: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None:
        """Settles what the writes touched, appends the queued events, commits, and only
        then publishes them."""
        ...


class UnitOfWorkFactory(Protocol):
    """`uows()` reads, `uows(write=True)` writes."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


class JobLeases(Protocol):
    """Which process runs a scheduled job when several serve one database
    (services/scheduler.py): a lease per job, held by one holder (a process-unique id)
    until it expires."""

    async def acquire(self, job: str, holder: str, now: datetime, seconds: float) -> bool:
        """True when `holder` now holds the lease on `job` until now + `seconds`: it was
        free, expired, or already `holder`'s (renewed). False while another holder's lease
        runs. Atomic: of several holders taking at once, one wins."""
        ...

    async def give_back(self, holder: str) -> None:
        """Ends every lease `holder` has (shutdown): other processes take the jobs over at
        their next turn instead of waiting for the leases to expire."""
        ...


@dataclass(frozen=True)
class SendResult:
    """What one webhook POST came to: the HTTP status (None when no answer came) and, unless
    it is a 2xx, what went wrong, in one line."""

    status_code: int | None
    error: str | None = None


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """Failures are results, not exceptions (a TimeoutError may pass through)."""
        ...


class WebhookSenders(Protocol):
    def open(self, timeout_seconds: float) -> AbstractAsyncContextManager[WebhookSender]:
        """A sender for one run of the delivery worker, its requests bounded by the timeout;
        closed when the run ends."""
        ...


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to (for TCP), as text; raises OSError when it does
        not resolve."""
        ...


class GraphQLClient(Protocol):
    """A GraphQL server across the network, reached with one API key."""

    async def execute(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The server's answer (`data`, `errors`). Raises ConnectionError when no server
        answers (or it fails with a 5xx), ValueError when the answer is not a JSON object."""
        ...


GraphQLConnect = Callable[[str, str], GraphQLClient]  # (url, API key) -> a client
