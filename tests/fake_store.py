"""The fake database of tests/fakes.py: domain objects in plain dicts and lists, and what
every fake repository shares."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from domain.automations import Automation
from domain.contacts import Company, Contact, ContactView
from domain.decay import DecayPolicy
from domain.events import Event
from domain.fit import FitRule
from domain.scoring import Interaction, LedgerEntry, ScoringRule
from domain.segments import SegmentScheme
from domain.tags import ContactTag, Tag
from domain.tiers import TierPolicy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Services cache parsed definitions by (id(uow.db), version); ids are reused once a fake is
# collected, so versions are unique across all fakes of the test run.
_VERSIONS = itertools.count(1)


class Partial:
    """Members a test double leaves out raise AttributeError naming them (and stand in for
    the port's member for mypy: what is faked is checked against the port)."""

    def __getattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__}.{name} is not faked (see tests/fakes.py)")


@dataclass
class FakeStore:
    """The whole fake database: domain objects by id, ledger and runs in insertion order."""

    contacts: dict[int, Contact] = field(default_factory=dict)
    pinned: dict[int, str | None] = field(default_factory=dict)
    companies: dict[int, Company] = field(default_factory=dict)
    tags: dict[int, Tag] = field(default_factory=dict)
    held: dict[tuple[int, int], ContactTag] = field(default_factory=dict)
    rules: dict[int, ScoringRule] = field(default_factory=dict)
    fit_rules: dict[int, FitRule] = field(default_factory=dict)
    interactions: dict[int, Interaction] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    decay_policies: list[DecayPolicy] = field(default_factory=list)
    tier_policies: list[TierPolicy] = field(default_factory=list)
    schemes: list[SegmentScheme] = field(default_factory=list)
    automations: dict[int, Automation] = field(default_factory=dict)
    automation_version: int = field(default_factory=lambda: next(_VERSIONS))
    tier_version: int = field(default_factory=lambda: next(_VERSIONS))
    runs: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    last_ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def next_id(self, kind: str) -> int:
        self.last_ids[kind] += 1
        return self.last_ids[kind]

    def put(self, *objects: object) -> None:
        """Stores domain objects as they are (seeding a test); ids go on after theirs."""
        for obj in objects:
            kind, table = self._table(obj)
            if isinstance(table, list):
                table.append(obj)
                continue
            key = (obj.contact_id, obj.tag.id) if isinstance(obj, ContactTag) else vars(obj)["id"]
            table[key] = obj
            if isinstance(key, int):
                self.last_ids[kind] = max(self.last_ids[kind], key)
            if isinstance(obj, Automation):
                self.automation_version = next(_VERSIONS)
        if any(isinstance(obj, TierPolicy | SegmentScheme) for obj in objects):
            self.tier_version = next(_VERSIONS)

    def _table(self, obj: object) -> tuple[str, Any]:
        for kind, table in (
            (Contact, self.contacts), (Company, self.companies), (Tag, self.tags),
            (ContactTag, self.held), (ScoringRule, self.rules), (FitRule, self.fit_rules),
            (Interaction, self.interactions), (LedgerEntry, self.ledger),
            (DecayPolicy, self.decay_policies), (TierPolicy, self.tier_policies),
            (SegmentScheme, self.schemes), (Automation, self.automations),
        ):  # fmt: skip
            if isinstance(obj, kind):
                return kind.__name__, table
        raise TypeError(f"the fake store keeps no {type(obj).__name__}")

    def snapshot(self) -> FakeStore:
        return copy.deepcopy(self)

    def restore(self, saved: FakeStore) -> None:
        self.__dict__.update(saved.__dict__)


def contact(contact_id: int, email: str | None = None, *, now: datetime = T0,
            **fields: Any) -> Contact:  # fmt: skip
    """A contact with every field blank but those given; consenting to profiling unless
    told otherwise (stored contacts of the real app start without consent)."""
    blank: dict[str, Any] = dict.fromkeys(
        ("first_name", "last_name", "phone", "job_title", "contact_type", "source",
         "funnel_stage", "sector", "region", "city", "country", "company_id", "tier",
         "last_activity_at")
    )  # fmt: skip
    values = {**blank, "custom_attributes": {}, "consent_email": False,
              "consent_profiling": True, "score": 0, "created_at": now, "updated_at": now,
              **fields}  # fmt: skip
    return Contact(id=contact_id, email=email or f"c{contact_id}@example.it", **values)


def view_of(
    c: Contact, company: Company | None = None, tag_points: Mapping[str, int] | None = None
) -> ContactView:
    """The contact as filters and events see it."""
    return ContactView(
        c.id, c.email, c.score, c.tier, c.segment, c.lead_status, c.sector, c.region, c.city,
        c.contact_type, company.company_type if company else None, c.company_id, c.source,
        c.funnel_stage, c.created_at, c.last_activity_at, dict(tag_points or {}),
    )  # fmt: skip
