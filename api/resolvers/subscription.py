"""The Subscription root: live score changes, tier changes, hot leads and contact activity.

Every payload carries its `cursor`; subscribing again with `after: <cursor>` replays what
was missed from the event log and then continues live, with no gap and no duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from api.context import AppInfo
from api.live import live_source
from api.permissions import IsReader
from api.schema import events
from api.schema.events import (
    AlertEvent,
    ContactEvent,
    HotLeadEvent,
    ListMembershipEvent,
    ScoreChangedEvent,
    TierChangedEvent,
)
from api.schema.fields import subscription
from api.schema.inputs import ContactFilter
from domain.errors import InvalidInput, parse_id
from domain.events import EventSpec, EventType
from domain.filters import ContactFilter as DomainFilter
from domain.filters import validate_filter

AFTER = "A cursor from an earlier payload: replay what came after it, then go live."


def _filter(node: ContactFilter | None) -> DomainFilter | None:
    if node is None:
        return None
    domain = node.to_domain()
    validate_filter(domain)
    return domain


@strawberry.type
class Subscription:
    @subscription(
        permission_classes=[IsReader], description="Score changes of contacts matching `filter`."
    )
    async def score_changed(
        self,
        info: AppInfo,
        filter: ContactFilter | None = None,
        min_delta: int | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[ScoreChangedEvent, None]:
        if min_delta is not None and min_delta < 1:
            raise InvalidInput("minDelta must be at least 1", field="minDelta")
        kinds = frozenset({EventType.SCORE_CHANGED})
        spec = EventSpec(kinds, filter=_filter(filter), min_delta=min_delta)
        async for event in live_source(info.context).events(spec, after):
            yield events.score_event(event)

    @subscription(
        permission_classes=[IsReader], description="Tier changes (into `toTiers`, if given)."
    )
    async def tier_changed(
        self,
        info: AppInfo,
        filter: ContactFilter | None = None,
        to_tiers: list[str] | None = None,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[TierChangedEvent, None]:
        tiers = frozenset(t.strip() for t in to_tiers) if to_tiers is not None else None
        spec = EventSpec(
            frozenset({EventType.TIER_CHANGED}), filter=_filter(filter), to_tiers=tiers
        )
        async for event in live_source(info.context).events(spec, after):
            yield events.tier_event(event)

    @subscription(
        permission_classes=[IsReader],
        description="Contacts entering the top tier or reaching the policy's hotScore.",
    )
    async def hot_leads(
        self,
        info: AppInfo,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[HotLeadEvent, None]:
        spec = EventSpec(frozenset({EventType.HOT_LEAD}))
        async for event in live_source(info.context).events(spec, after):
            yield events.hot_event(event)

    @subscription(
        permission_classes=[IsReader], description="Everything that happens to one contact."
    )
    async def contact_activity(
        self,
        info: AppInfo,
        contact_id: strawberry.ID,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[ContactEvent, None]:
        spec = EventSpec(
            frozenset(EventType), contact_id=parse_id(contact_id, "contact", "contactId")
        )
        async for event in live_source(info.context).events(spec, after):
            yield events.activity_event(event)

    @subscription(
        permission_classes=[IsReader], description="Contacts entering and leaving one list."
    )
    async def list_membership_changed(
        self,
        info: AppInfo,
        list_id: strawberry.ID,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[ListMembershipEvent, None]:
        kinds = frozenset({EventType.LIST_ENTERED, EventType.LIST_LEFT})
        spec = EventSpec(kinds, list_id=parse_id(list_id, "list", "listId"))
        async for event in live_source(info.context).events(spec, after):
            yield events.list_event(event)

    @subscription(permission_classes=[IsReader], description="Alerts raised by automations.")
    async def alerts(
        self,
        info: AppInfo,
        after: Annotated[str | None, strawberry.argument(description=AFTER)] = None,
    ) -> AsyncGenerator[AlertEvent, None]:
        async for event in live_source(info.context).events(
            EventSpec(frozenset({EventType.ALERT})), after
        ):
            yield events.alert_event(event)
