"""The typed per-request context: units of work, clock, principal, dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from domain.auth import Principal, Scope
from domain.contacts import Company, Contact
from domain.errors import Unauthenticated
from domain.fit import FitRule
from domain.lists import ContactList
from domain.scoring import ScoringRule
from domain.segments import SegmentScheme
from domain.tags import ContactTag, Tag
from services import companies, contacts, fit, lists, rules, tags, tiers
from services.auth import KeyCache
from services.ports import Clock, UnitOfWorkFactory, system_clock


class Loaders:
    """Per-request batching: one query per kind of related object, whatever the page size."""

    def __init__(self, uows: UnitOfWorkFactory, clock: Clock = system_clock) -> None:
        async def load_companies(ids: list[int]) -> list[Company | None]:
            found = await companies.companies_by_id(uows, ids)
            return [found.get(i) for i in ids]

        async def load_stats(ids: list[int]) -> list[tuple[int, int]]:
            found = await companies.company_stats(uows, ids)
            return [found.get(i, (0, 0)) for i in ids]

        async def load_contact_tags(ids: list[int]) -> list[list[ContactTag]]:
            found = await tags.tags_of_contacts(uows, ids)
            return [found.get(i, []) for i in ids]

        async def load_tag_counts(ids: list[int]) -> list[int]:
            found = await tags.tag_contact_counts(uows, ids)
            return [found.get(i, 0) for i in ids]

        async def load_tags(ids: list[int]) -> list[Tag | None]:
            found = await tags.tags_by_id(uows, ids)
            return [found.get(i) for i in ids]

        async def load_rules(ids: list[int]) -> list[ScoringRule | None]:
            found = await rules.rules_by_id(uows, ids)
            return [found.get(i) for i in ids]

        async def load_contacts(ids: list[int]) -> list[Contact | None]:
            found = await contacts.contacts_by_id(uows, ids)
            return [found.get(i) for i in ids]

        async def load_scheme(keys: list[int]) -> list[SegmentScheme]:
            scheme = await tiers.current_scheme(uows)
            return [scheme for _ in keys]

        self.scheme = DataLoader(load_fn=load_scheme)
        self.company = DataLoader(load_fn=load_companies)
        self.contact = DataLoader(load_fn=load_contacts)
        self.tag = DataLoader(load_fn=load_tags)

        async def load_fit_rules(ids: list[int]) -> list[FitRule | None]:
            found = await fit.fit_rules_by_id(uows, ids)
            return [found.get(i) for i in ids]

        self.rule = DataLoader(load_fn=load_rules)
        self.fit_rule = DataLoader(load_fn=load_fit_rules)
        self.company_stats = DataLoader(load_fn=load_stats)
        self.contact_tags = DataLoader(load_fn=load_contact_tags)
        self.tag_contact_count = DataLoader(load_fn=load_tag_counts)

        async def load_contact_lists(ids: list[int]) -> list[list[ContactList]]:
            found = await lists.lists_of_contacts(uows, ids)
            return [found.get(i, []) for i in ids]

        self.contact_lists = DataLoader(load_fn=load_contact_lists)


@dataclass
class Context:
    key_cache: KeyCache
    uows: UnitOfWorkFactory
    clock: Clock
    loaders: Loaders
    request_id: str
    principal: Principal | None = None
    auth_problem: str | None = None
    connection_params: Any = None
    hub: Any = None  # api.live.LiveHub on WebSocket connections
    request: Any = None
    response: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def require(self, scope: Scope, action: str) -> Principal:
        if self.principal is None:
            raise Unauthenticated(self.auth_problem or "an API key is required")
        self.principal.require(scope, action)
        return self.principal


AppInfo = Info[Context, None]
