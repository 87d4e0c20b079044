"""An in-memory unit of work for fast service tests (cosmicpython's FakeUnitOfWork).

`FakeUnitOfWorkFactory` is called like the real factory (`uows(write=True)`); its units
share one `FakeStore` of plain dicts and lists of domain objects. The fake repositories
implement the members of `services.repository_ports` that the tested services call, with
the same signatures, and record into `uow.changes` exactly what the real ones record. A
member that is not faked raises AttributeError naming it (add it to tests/fake_*.py when a
test needs it).

`commit()` runs the `settle` step given to the factory (none by default: the tests of a use
case look at what it wrote and recorded), publishes the pending events to `published` and
marks the unit `committed`; leaving the block without committing restores the store as it
was (snapshot and restore).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from domain.automations import Action, Automation, AutomationStatus, Trigger
from domain.changes import Changes
from domain.contacts import Company
from domain.decay import DecayPolicy
from domain.events import Event
from domain.filters import ContactFilter
from domain.fit import FitOperator, FitRule
from domain.scoring import RuleGroup, RuleKind, RuleStatus, ScoringRule
from domain.tags import Tag
from domain.tier_defaults import DEFAULT_POLICY, DEFAULT_SCHEME
from services import ports
from tests.fake_repositories import (
    FakeAutomations,
    FakeCompanies,
    FakeContacts,
    FakeDecayPolicies,
    FakeEventLog,
    FakeTags,
    FakeTiers,
)
from tests.fake_scoring import FakeFitRules, FakeInteractions, FakeLedger, FakeRules
from tests.fake_store import T0, FakeStore, Partial, contact, view_of

__all__ = [
    "T0",
    "FakeResolver",
    "FakeStore",
    "FakeUnitOfWork",
    "FakeUnitOfWorkFactory",
    "automation",
    "company",
    "contact",
    "fit_rule",
    "rule",
    "tag",
    "view_of",
]

Settle = Callable[["FakeUnitOfWork"], Awaitable[None]]


class FakeResolver:
    """DNS in a dict: a name's answers are given in turn, the last one again and again (a
    name can change its address between two lookups: DNS rebinding); other names do not
    resolve. `asked` lists every name looked up."""

    def __init__(self, records: Mapping[str, Sequence[Sequence[str]]] | None = None) -> None:
        self.records = {name: list(answers) for name, answers in (records or {}).items()}
        self.asked: list[str] = []

    def answer(self, name: str, *answers: Sequence[str]) -> None:
        self.records[name] = list(answers)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        answers = self.records.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(answers.pop(0) if len(answers) > 1 else answers[0])


class FakeUnitOfWork(Partial):
    """One transaction on the factory's store; see the module docstring."""

    def __init__(self, factory: FakeUnitOfWorkFactory, *, write: bool) -> None:
        self.factory, self.write, self.store = factory, write, factory.store
        self.changes = changes = Changes()
        self.contacts = FakeContacts(self.store, changes)
        self.companies = FakeCompanies(self.store)
        self.tags = FakeTags(self.store, changes)
        self.rules = FakeRules(self.store)
        self.fit_rules = FakeFitRules(self.store)
        self.interactions = FakeInteractions(self.store, changes)
        self.ledger = FakeLedger(self.store, changes)
        self.decay_policies = FakeDecayPolicies(self.store)
        self.tiers = FakeTiers(self.store)
        self.events = FakeEventLog()
        self.automations = FakeAutomations(self.store)
        self.committed = False
        self.published: list[Event] = []
        self._saved: FakeStore | None = None

    @property
    def db(self) -> object:
        return self.factory.db

    def clock(self) -> datetime:
        return self.factory.clock()

    async def __aenter__(self) -> Self:
        self._saved = self.store.snapshot()
        self.factory.units.append(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Whatever was written since the last commit is rolled back."""
        if self._saved is not None:
            self.store.restore(self._saved)
            self._saved = None

    async def commit(self) -> None:
        if self.factory.settle is not None and (self.changes or self.events.pending):
            await self.factory.settle(self)
        events, self.events.pending = self.events.pending, []
        for event in events:
            event.cursor = self.store.next_id("event")
        self.store.events.extend(events)
        self.published.extend(events)
        self.factory.published.extend(events)
        self.committed = True
        self._saved = self.store.snapshot()


class FakeUnitOfWorkFactory:
    """`uows(write=True)`; `store` is the data every unit sees (seeded, like the migrations,
    with decay policy 1 and the default tier policy and segment scheme), `units` every unit
    entered (with its `changes`), `published` the events of every commit, in order."""

    def __init__(
        self,
        *,
        settle: Settle | None = None,
        clock: Callable[[], datetime] = lambda: T0,
    ) -> None:
        self.store = FakeStore()
        self.store.put(DecayPolicy(1, 90, None, 0), DEFAULT_POLICY, DEFAULT_SCHEME)
        self.settle, self.clock = settle, clock
        self.db = object()
        self.units: list[FakeUnitOfWork] = []
        self.published: list[Event] = []

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, write=write)

    def seed(self, *objects: object) -> Self:
        self.store.put(*objects)
        return self

    @property
    def committed(self) -> list[FakeUnitOfWork]:
        return [u for u in self.units if u.committed]


def _fits(uows: FakeUnitOfWorkFactory) -> tuple[ports.UnitOfWorkFactory, ports.UnitOfWork]:
    """mypy proves the fakes fit the ports (members not faked stand in through Partial)."""
    return uows, uows()


# -- small domain objects --------------------------------------------------------------------


def company(company_id: int, name: str = "Acme", **fields: Any) -> Company:
    values: dict[str, Any] = dict.fromkeys(
        ("company_type", "sector", "size", "region", "city", "country", "website")
    )
    return Company(company_id, name, **{**values, "created_at": T0, "updated_at": T0, **fields})


def tag(tag_id: int, code: str, name: str | None = None) -> Tag:
    return Tag(tag_id, name or code.replace("-", " ").title(), code, None, T0)


def rule(
    rule_id: int,
    interaction_type: str,
    points: int,
    *,
    name: str | None = None,
    group: RuleGroup = RuleGroup.CUSTOM,
    page: str | None = None,
    daily_cap: int | None = None,
    tag_id: int | None = None,
    status: RuleStatus = RuleStatus.ACTIVE,
) -> ScoringRule:
    return ScoringRule(
        rule_id, name or interaction_type.replace("_", " ").capitalize(), group,
        interaction_type, page, points, RuleKind.CUSTOM, status, tag_id, daily_cap,
    )  # fmt: skip


def fit_rule(
    rule_id: int,
    attribute: str,
    operator: FitOperator,
    value: str,
    points: int,
    *,
    active: bool = True,
    name: str | None = None,
) -> FitRule:
    label = name or f"{attribute} {operator.value.lower()} {value}"
    return FitRule(rule_id, label, attribute, operator, value, points, active)


def automation(
    automation_id: int,
    trigger: Trigger,
    *actions: Action,
    condition: ContactFilter | None = None,
    status: AutomationStatus = AutomationStatus.ACTIVE,
) -> Automation:
    return Automation(automation_id, f"automation {automation_id}", status, trigger, condition,
                      actions, None, T0, T0)  # fmt: skip
