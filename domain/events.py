"""Live events: what changed for a contact, as appended to the event log and pushed to
subscribers, and which subscriptions want which events.

Every event carries a snapshot of the contact as filters see it at that moment, so a
subscription filter is decided from the event alone, in every server process, without a
query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from operator import attrgetter
from typing import Any

from domain.contacts import CompanyType, ContactType, ContactView, FunnelStage, Source
from domain.filters import ContactFilter, matches


class EventType(StrEnum):
    SCORE_CHANGED = "SCORE_CHANGED"
    TIER_CHANGED = "TIER_CHANGED"
    HOT_LEAD = "HOT_LEAD"
    INTERACTION = "INTERACTION"
    TAG_ADDED = "TAG_ADDED"
    TAG_REMOVED = "TAG_REMOVED"
    LIST_ENTERED = "LIST_ENTERED"
    LIST_LEFT = "LIST_LEFT"
    ALERT = "ALERT"


@dataclass
class Event:
    type: EventType
    contact_id: int
    payload: Mapping[str, Any]
    at: datetime
    cursor: int = 0  # given by the event log

    @cached_property
    def view(self) -> ContactView | None:
        """The contact as it was when the event happened (None for interaction events)."""
        data = self.payload.get("contact")
        return view_from_dict(self.contact_id, data) if data is not None else None


_VIEW_ENUMS: dict[str, Any] = {
    "contact_type": ContactType,
    "company_type": CompanyType,
    "source": Source,
    "funnel_stage": FunnelStage,
}
_VIEW_DATES = ("created_at", "last_activity_at")
_VIEW_FIELDS = (
    "email", "score", "tier", "segment", "lead_status", "sector", "region", "city",
    "contact_type", "company_type", "company_id", "source", "funnel_stage",
)  # fmt: skip


_read_fields = attrgetter(*_VIEW_FIELDS)


def view_to_dict(view: ContactView) -> dict[str, Any]:
    out: dict[str, Any] = dict(zip(_VIEW_FIELDS, _read_fields(view), strict=True))
    created, active = view.created_at, view.last_activity_at
    out["created_at"] = created.isoformat() if created else None
    out["last_activity_at"] = active.isoformat() if active else None
    out["tag_points"] = dict(view.tag_points)
    return out


def view_from_dict(contact_id: int, data: Mapping[str, Any]) -> ContactView:
    values: dict[str, Any] = {name: data.get(name) for name in _VIEW_FIELDS}
    for name, kind in _VIEW_ENUMS.items():
        values[name] = kind(values[name]) if values[name] is not None else None
    for name in _VIEW_DATES:
        raw = data.get(name)
        values[name] = datetime.fromisoformat(raw) if raw else None
    return ContactView(id=contact_id, tag_points=dict(data.get("tag_points") or {}), **values)


# `snapshot`, where taken: `view_to_dict(view)` when the caller already has it (the events of
# one contact in one write share it; it is never changed).
Snapshot = Mapping[str, Any] | None


def score_changed(view: ContactView, delta: int, at: datetime, snapshot: Snapshot = None) -> Event:
    payload = {"old_score": view.score - delta, "new_score": view.score, "delta": delta,
               "contact": snapshot or view_to_dict(view)}  # fmt: skip
    return Event(EventType.SCORE_CHANGED, view.id, payload, at)


def tier_changed(
    view: ContactView,
    old: str | None,
    reason: str,
    version: int,
    at: datetime,
    snapshot: Snapshot = None,
) -> Event:
    payload = {"from_tier": old, "to_tier": view.tier, "reason": reason, "version": version,
               "contact": snapshot or view_to_dict(view)}  # fmt: skip
    return Event(EventType.TIER_CHANGED, view.id, payload, at)


def hot_lead(view: ContactView, reason: str, at: datetime, snapshot: Snapshot = None) -> Event:
    payload = {"reason": reason, "contact": snapshot or view_to_dict(view)}
    return Event(EventType.HOT_LEAD, view.id, payload, at)


def list_changed(
    view: ContactView,
    list_id: int,
    name: str,
    entered: bool,
    at: datetime,
    snapshot: Snapshot = None,
) -> Event:
    kind = EventType.LIST_ENTERED if entered else EventType.LIST_LEFT
    payload = {"list_id": list_id, "list_name": name, "contact": snapshot or view_to_dict(view)}
    return Event(kind, view.id, payload, at)


def tag_changed(view: ContactView, code: str, added: bool, at: datetime) -> Event:
    kind = EventType.TAG_ADDED if added else EventType.TAG_REMOVED
    return Event(kind, view.id, {"tag": code, "contact": view_to_dict(view)}, at)


def alert(
    view: ContactView, automation: tuple[int, str], message: str, level: str, at: datetime
) -> Event:
    payload = {
        "automation_id": automation[0], "automation_name": automation[1], "message": message,
        "level": level, "contact": view_to_dict(view),
    }  # fmt: skip
    return Event(EventType.ALERT, view.id, payload, at)


def interaction(contact_id: int, kind: str, points: int, at: datetime) -> Event:
    payload = {"interaction_type": kind, "points": points}
    return Event(EventType.INTERACTION, contact_id, payload, at)


def hot_reason(
    top_tier: str,
    hot_score: int | None,
    before: tuple[str | None, int],
    after: tuple[str | None, int],
) -> str | None:
    """Why a contact just became a hot lead, if it did: it entered the top tier, or its score
    reached the hot threshold from below. (tier, score) before and after the change."""
    (old_tier, old_score), (new_tier, new_score) = before, after
    if new_tier == top_tier and old_tier != top_tier:
        return f"entered {top_tier}"
    if hot_score is not None and old_score < hot_score <= new_score:
        return f"score reached {hot_score}"
    return None


@dataclass(frozen=True)
class EventSpec:
    """Which events one subscription wants."""

    types: frozenset[EventType]
    contact_id: int | None = None
    filter: ContactFilter | None = None
    min_delta: int | None = None
    to_tiers: frozenset[str] | None = None
    list_id: int | None = None

    def matcher(self) -> Callable[[Event], bool]:
        """A test for events; filters see the contact as it was at the event's time."""
        node = self.filter

        def wants(event: Event) -> bool:
            if event.type not in self.types:
                return False
            if self.contact_id is not None and event.contact_id != self.contact_id:
                return False
            if self.min_delta is not None and abs(event.payload["delta"]) < self.min_delta:
                return False
            if self.to_tiers is not None and event.payload["to_tier"] not in self.to_tiers:
                return False
            if self.list_id is not None and event.payload.get("list_id") != self.list_id:
                return False
            if node is not None:
                view = event.view
                return view is not None and matches(node, view, event.at)
            return True

        return wants
