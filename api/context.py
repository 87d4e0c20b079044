"""The typed per-request context: units of work, clock, principal, dataloaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.types import ExecutionResult, Info

from domain.auth import Principal, Scope
from domain.contacts import Company, Contact
from domain.errors import Unauthenticated
from domain.events import Event, EventSpec
from domain.fit import FitRule
from domain.lists import ContactList
from domain.scoring import ScoringRule
from domain.segments import SegmentScheme
from domain.tags import ContactTag, Tag
from services import companies, contacts, fit, lists, rules, tags, tiers
from services.auth import KeyCache
from services.ports import Clock, UnitOfWorkFactory, system_clock
from services.targets import TargetGuard

K = TypeVar("K")
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose loads can be cancelled one by one. DataLoader hands every field
    asking for a key the same future; cancelling one field's task (graphql-core cancels the
    siblings of a field whose error nulls their parent) cancelled that future, and every
    other field waiting for the same key, in another alias, failed with CancelledError: an
    HTTP 500 instead of the one field's error (seen as TIMEOUTs under bench.isolation)."""

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


class Loaders:
    """Per-request batching: one query per kind of related object, whatever the page size.
    Each loader is made when first used (most requests use one or two of them)."""

    def __init__(self, uows: UnitOfWorkFactory, clock: Clock = system_clock) -> None:
        self.uows = uows
        self.clock = clock

    @cached_property
    def scheme(self) -> DataLoader[int, SegmentScheme]:
        async def load(keys: list[int]) -> list[SegmentScheme]:
            scheme = await tiers.current_scheme(self.uows)
            return [scheme for _ in keys]

        return SharedLoader(load_fn=load)

    @cached_property
    def company(self) -> DataLoader[int, Company | None]:
        return _by_id(self.uows, companies.companies_by_id)

    @cached_property
    def contact(self) -> DataLoader[int, Contact | None]:
        return _by_id(self.uows, contacts.contacts_by_id)

    @cached_property
    def tag(self) -> DataLoader[int, Tag | None]:
        return _by_id(self.uows, tags.tags_by_id)

    @cached_property
    def rule(self) -> DataLoader[int, ScoringRule | None]:
        return _by_id(self.uows, rules.rules_by_id)

    @cached_property
    def fit_rule(self) -> DataLoader[int, FitRule | None]:
        return _by_id(self.uows, fit.fit_rules_by_id)

    @cached_property
    def company_stats(self) -> DataLoader[int, tuple[int, int]]:
        async def load(ids: list[int]) -> list[tuple[int, int]]:
            found = await companies.company_stats(self.uows, ids)
            return [found.get(i, (0, 0)) for i in ids]

        return SharedLoader(load_fn=load)

    @cached_property
    def contact_tags(self) -> DataLoader[int, list[ContactTag]]:
        async def load(ids: list[int]) -> list[list[ContactTag]]:
            found = await tags.tags_of_contacts(self.uows, ids)
            return [found.get(i, []) for i in ids]

        return SharedLoader(load_fn=load)

    @cached_property
    def tag_contact_count(self) -> DataLoader[int, int]:
        async def load(ids: list[int]) -> list[int]:
            found = await tags.tag_contact_counts(self.uows, ids)
            return [found.get(i, 0) for i in ids]

        return SharedLoader(load_fn=load)

    @cached_property
    def contact_lists(self) -> DataLoader[int, list[ContactList]]:
        async def load(ids: list[int]) -> list[list[ContactList]]:
            found = await lists.lists_of_contacts(self.uows, ids)
            return [found.get(i, []) for i in ids]

        return SharedLoader(load_fn=load)

    @cached_property
    def company_node(self) -> DataLoader[int, Any]:
        """Companies as the GraphQL type: a contact's `company` hands out this loader's
        future itself, without a coroutine per contact."""

        async def load(ids: list[int]) -> list[Any]:
            from api.schema.company import Company as CompanyNode  # the type imports this module

            found = await companies.companies_by_id(self.uows, ids)
            return [CompanyNode.from_domain(c) if (c := found.get(i)) else None for i in ids]

        return SharedLoader(load_fn=load)


def _by_id(
    uows: UnitOfWorkFactory,
    fetch: Callable[[UnitOfWorkFactory, list[int]], Awaitable[Mapping[int, V]]],
) -> SharedLoader[int, V | None]:
    async def load(ids: list[int]) -> list[V | None]:
        found = await fetch(uows, ids)
        return [found.get(i) for i in ids]

    return SharedLoader(load_fn=load)


class LiveSource(Protocol):
    """What a subscription resolver reads events from (`api.live` sets one per execution)."""

    def events(self, spec: EventSpec, after: str | None) -> AsyncIterator[Event]: ...


StreamKey = tuple[str | None, str | None, dict[str, Any] | None]
"""(query, operation name, variables) of a streamed operation."""

Results = AsyncGenerator[ExecutionResult, None]
"""What a streamed operation yields (the schema enables no incremental delivery)."""


class LiveStreams(Protocol):
    """The live hub (`api.live.LiveHub`) as a WebSocket connection's operations use it."""

    authorized: Callable[[Context], Awaitable[bool]]

    def stream(
        self, key_parts: StreamKey, context: Context, run: Callable[[Context], Results]
    ) -> Results: ...


@dataclass
class Context:
    key_cache: KeyCache
    uows: UnitOfWorkFactory
    clock: Clock
    loaders: Loaders
    targets: TargetGuard  # where webhooks may connect
    request_id: str
    request: Request | WebSocket
    response: Response | WebSocket
    principal: Principal | None = None
    auth_problem: str | None = None
    token: str | None = None  # the key a WebSocket connected with, checked again on each result
    connection_params: dict[str, object] | None = None  # connection_init payload (WebSocket)
    hub: LiveStreams | None = None  # on WebSocket connections
    live: LiveSource | None = None  # in a subscription's execution
    request_error: str | None = None  # the code of a request error (HTTP status from it)
    server_error: bool = False

    def require(self, scope: Scope, action: str) -> Principal:
        if self.principal is None:
            raise Unauthenticated(self.auth_problem or "an API key is required")
        self.principal.require(scope, action)
        return self.principal

    def authenticated(self) -> Principal:
        """The caller, for fields whose permission classes already required a key."""
        return self.require(Scope.READ, "reading")


AppInfo = Info[Context, None]


def as_context(value: object) -> Context:
    """The context Strawberry passes on as `Any` (the view always makes a Context)."""
    if not isinstance(value, Context):
        raise TypeError(f"expected the request's Context, got {type(value).__name__}")
    return value
