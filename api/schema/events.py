"""Payloads of live subscriptions, built from events of the log."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import strawberry

from api.context import AppInfo
from api.schema.contact import Contact, load_contact
from api.schema.fields import field
from domain.events import Event, EventType

strawberry.enum(EventType, name="ContactEventType", description="What happened to the contact.")
ContactEventType = EventType


@strawberry.interface(description="An event of the log, for one contact.")
class LiveEvent:
    cursor: str = strawberry.field(description="Resume after this event with `after`.")
    at: datetime
    contact_id: strawberry.ID

    @field(description="The contact as it is now (null if it was deleted).")
    async def contact(self, info: AppInfo) -> Contact | None:
        return await load_contact(info, int(self.contact_id))


@strawberry.type
class ScoreChangedEvent(LiveEvent):
    old_score: int
    new_score: int
    delta: int


@strawberry.type
class TierChangedEvent(LiveEvent):
    from_tier: str | None
    to_tier: str | None
    reason: str
    policy_version: int


@strawberry.type
class HotLeadEvent(LiveEvent):
    reason: str = strawberry.field(description='e.g. "entered Tier 2+", "score reached 80".')
    score: int
    tier: str | None


@strawberry.type
class ContactEvent(LiveEvent):
    type: ContactEventType
    old_score: int | None = None
    new_score: int | None = None
    delta: int | None = None
    from_tier: str | None = None
    to_tier: str | None = None
    reason: str | None = None
    interaction_type: str | None = None
    points: int | None = None
    tag: str | None = None
    list_id: strawberry.ID | None = None
    message: str | None = None


@strawberry.type
class ListMembershipEvent(LiveEvent):
    list_id: strawberry.ID
    list_name: str
    entered: bool = strawberry.field(description="true: entered the list; false: left it.")


@strawberry.type
class AlertEvent(LiveEvent):
    automation_id: strawberry.ID
    automation_name: str
    message: str
    level: str = strawberry.field(description="INFO, WARNING or CRITICAL.")


class Base(TypedDict):
    """The fields every live event has, as keyword arguments."""

    cursor: str
    at: datetime
    contact_id: strawberry.ID


def base(e: Event) -> Base:
    return {"cursor": str(e.cursor), "at": e.at, "contact_id": strawberry.ID(str(e.contact_id))}


def score_event(e: Event) -> ScoreChangedEvent:
    p = e.payload
    return ScoreChangedEvent(
        **base(e), old_score=p["old_score"], new_score=p["new_score"], delta=p["delta"]
    )


def tier_event(e: Event) -> TierChangedEvent:
    p = e.payload
    return TierChangedEvent(
        **base(e), from_tier=p["from_tier"], to_tier=p["to_tier"], reason=p["reason"],
        policy_version=p["version"],
    )  # fmt: skip


def hot_event(e: Event) -> HotLeadEvent:
    contact = e.payload["contact"]
    return HotLeadEvent(
        **base(e), reason=e.payload["reason"], score=contact["score"], tier=contact["tier"]
    )


def activity_event(e: Event) -> ContactEvent:
    p = e.payload
    return ContactEvent(
        **base(e), type=e.type, old_score=p.get("old_score"),
        new_score=p.get("new_score"), delta=p.get("delta"), from_tier=p.get("from_tier"),
        to_tier=p.get("to_tier"), reason=p.get("reason"),
        interaction_type=p.get("interaction_type"), points=p.get("points"), tag=p.get("tag"),
        list_id=_id(p.get("list_id")), message=p.get("message"),
    )  # fmt: skip


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


def list_event(e: Event) -> ListMembershipEvent:
    p = e.payload
    return ListMembershipEvent(
        **base(e), list_id=strawberry.ID(str(p["list_id"])), list_name=p["list_name"],
        entered=e.type is EventType.LIST_ENTERED,
    )  # fmt: skip


def alert_event(e: Event) -> AlertEvent:
    p = e.payload
    return AlertEvent(
        **base(e), automation_id=strawberry.ID(str(p["automation_id"])),
        automation_name=p["automation_name"], message=p["message"], level=p["level"],
    )  # fmt: skip
