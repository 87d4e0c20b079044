"""Automations: when something happens to a contact (trigger), and it matches an optional
condition, run ordered actions. Pure definitions and decisions; services run the actions.

Chains are bounded: actions change contacts, which can trigger automations again; the
cascade stops at `MAX_CHAIN_DEPTH` and the run log says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.contacts import ContactView
from domain.errors import InvalidInput
from domain.events import Event, EventType
from domain.filters import ContactFilter, matches, validate_filter

MAX_CHAIN_DEPTH = 5
MAX_ACTIONS = 10
MAX_MESSAGE = 500
LEAD_STATUSES = ("HOT", "WARM", "COLD")
ALERT_LEVELS = ("INFO", "WARNING", "CRITICAL")


class AutomationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class TriggerKind(StrEnum):
    SCORE_CROSSED_ABOVE = "SCORE_CROSSED_ABOVE"  # score went from < N to >= N
    SCORE_CROSSED_BELOW = "SCORE_CROSSED_BELOW"  # score went from >= N to < N
    TAG_ADDED = "TAG_ADDED"
    TAG_REMOVED = "TAG_REMOVED"
    TIER_CHANGED = "TIER_CHANGED"  # to `tier`, or to any tier when none is given
    BECAME_HOT = "BECAME_HOT"
    LIST_ENTERED = "LIST_ENTERED"
    LIST_LEFT = "LIST_LEFT"
    INACTIVE = "INACTIVE"  # no activity for `days` days (checked by a scheduled job)


class ActionKind(StrEnum):
    ADD_TAG = "ADD_TAG"
    REMOVE_TAG = "REMOVE_TAG"
    SET_LEAD_STATUS = "SET_LEAD_STATUS"
    RAISE_ALERT = "RAISE_ALERT"
    CALL_WEBHOOK = "CALL_WEBHOOK"


class RunOutcome(StrEnum):
    DONE = "DONE"
    FAILED = "FAILED"  # an action could not run (e.g. its tag was deleted); later ones skipped
    CHAIN_LIMIT = "CHAIN_LIMIT"  # triggered at the depth bound: no action ran
    NO_CONSENT = "NO_CONSENT"  # the contact has not consented to profiling: no action ran
    CONDITION_UNMET = "CONDITION_UNMET"  # inactivity spell seen, condition false: no action


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    threshold: int | None = None
    tag: str | None = None
    tier: str | None = None
    list_id: int | None = None
    days: int | None = None

    def describe(self) -> str:
        detail = {
            TriggerKind.SCORE_CROSSED_ABOVE: f" {self.threshold}",
            TriggerKind.SCORE_CROSSED_BELOW: f" {self.threshold}",
            TriggerKind.TAG_ADDED: f" {self.tag}",
            TriggerKind.TAG_REMOVED: f" {self.tag}",
            TriggerKind.TIER_CHANGED: f" to {self.tier}" if self.tier else "",
            TriggerKind.LIST_ENTERED: f" list {self.list_id}",
            TriggerKind.LIST_LEFT: f" list {self.list_id}",
            TriggerKind.INACTIVE: f" for {self.days} days",
        }.get(self.kind, "")
        return f"{self.kind.value}{detail}"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    tag: str | None = None
    lead_status: str | None = None
    message: str | None = None
    level: str = "INFO"
    webhook_id: int | None = None


@dataclass(frozen=True)
class Automation:
    id: int
    name: str
    status: AutomationStatus
    trigger: Trigger
    condition: ContactFilter | None
    actions: tuple[Action, ...]
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_TRIGGER_NEEDS = {
    TriggerKind.SCORE_CROSSED_ABOVE: "threshold",
    TriggerKind.SCORE_CROSSED_BELOW: "threshold",
    TriggerKind.TAG_ADDED: "tag",
    TriggerKind.TAG_REMOVED: "tag",
    TriggerKind.LIST_ENTERED: "list_id",
    TriggerKind.LIST_LEFT: "list_id",
    TriggerKind.INACTIVE: "days",
}
_WIRE = {"threshold": "threshold", "tag": "tag", "list_id": "listId", "days": "days"}


def validate_trigger(trigger: Trigger) -> None:
    needed = _TRIGGER_NEEDS.get(trigger.kind)
    if needed is not None and getattr(trigger, needed) is None:
        raise InvalidInput(
            f"a {trigger.kind.value} trigger needs trigger.{_WIRE[needed]}", field="trigger"
        )
    if trigger.days is not None and not 1 <= trigger.days <= 3650:
        raise InvalidInput("trigger.days must be between 1 and 3650", field="trigger")


def validate_actions(actions: Sequence[Action]) -> None:
    if not actions:
        raise InvalidInput("an automation needs at least one action", field="actions")
    if len(actions) > MAX_ACTIONS:
        raise InvalidInput(f"at most {MAX_ACTIONS} actions per automation", field="actions")
    for n, action in enumerate(actions, 1):
        where = f"actions[{n}]"
        if action.kind in (ActionKind.ADD_TAG, ActionKind.REMOVE_TAG) and not action.tag:
            raise InvalidInput(f"{where}: {action.kind.value} needs a tag code", field="actions")
        if action.kind is ActionKind.SET_LEAD_STATUS and action.lead_status not in LEAD_STATUSES:
            raise InvalidInput(
                f"{where}: leadStatus must be one of {', '.join(LEAD_STATUSES)}", field="actions"
            )
        if action.kind is ActionKind.RAISE_ALERT:
            if not action.message or not action.message.strip():
                raise InvalidInput(f"{where}: an alert needs a message", field="actions")
            if len(action.message) > MAX_MESSAGE:
                raise InvalidInput(
                    f"{where}: alert messages have at most {MAX_MESSAGE} characters",
                    field="actions",
                )
            if action.level not in ALERT_LEVELS:
                raise InvalidInput(
                    f"{where}: level must be one of {', '.join(ALERT_LEVELS)}", field="actions"
                )
        if action.kind is ActionKind.CALL_WEBHOOK and action.webhook_id is None:
            raise InvalidInput(f"{where}: CALL_WEBHOOK needs a webhookId", field="actions")


def validate_automation(
    trigger: Trigger, condition: ContactFilter | None, actions: Sequence[Action]
) -> None:
    validate_trigger(trigger)
    if condition is not None:
        validate_filter(condition)
    validate_actions(actions)


def fired_by(trigger: Trigger, event: Event) -> bool:
    """Whether an event is this trigger (INACTIVE triggers are not event-driven)."""
    kind, p = trigger.kind, event.payload
    if kind is TriggerKind.SCORE_CROSSED_ABOVE:
        return event.type is EventType.SCORE_CHANGED and (
            p["old_score"] < (trigger.threshold or 0) <= p["new_score"]
        )
    if kind is TriggerKind.SCORE_CROSSED_BELOW:
        return event.type is EventType.SCORE_CHANGED and (
            p["new_score"] < (trigger.threshold or 0) <= p["old_score"]
        )
    if kind is TriggerKind.TAG_ADDED:
        return event.type is EventType.TAG_ADDED and p["tag"] == trigger.tag
    if kind is TriggerKind.TAG_REMOVED:
        return event.type is EventType.TAG_REMOVED and p["tag"] == trigger.tag
    if kind is TriggerKind.TIER_CHANGED:
        return event.type is EventType.TIER_CHANGED and (
            trigger.tier is None or p["to_tier"] == trigger.tier
        )
    if kind is TriggerKind.BECAME_HOT:
        return event.type is EventType.HOT_LEAD
    if kind is TriggerKind.LIST_ENTERED:
        return event.type is EventType.LIST_ENTERED and p["list_id"] == trigger.list_id
    if kind is TriggerKind.LIST_LEFT:
        return event.type is EventType.LIST_LEFT and p["list_id"] == trigger.list_id
    return False


def condition_holds(automation: Automation, view: ContactView | None, now: datetime) -> bool:
    if automation.condition is None:
        return True
    return view is not None and matches(automation.condition, view, now)


@dataclass
class Firing:
    """One automation triggered for one contact, by an event or by inactivity."""

    automation: Automation
    contact_id: int
    view: ContactView | None  # the contact as the trigger saw it
    cause: str  # the event type, or INACTIVE
    at: datetime
    outcome: RunOutcome = RunOutcome.DONE
    results: list[dict[str, object]] = field(default_factory=list)


def firings(
    automations: Sequence[Automation], happened: Sequence[Event], now: datetime
) -> list[Firing]:
    """Which active automations these events trigger (condition checked on the contact as
    the event saw it), in event order then automation id order."""
    active = [a for a in automations if a.status is AutomationStatus.ACTIVE]
    out: list[Firing] = []
    for event in happened:
        for automation in active:
            if fired_by(automation.trigger, event) and condition_holds(automation, event.view, now):
                out.append(
                    Firing(automation, event.contact_id, event.view, event.type.value, event.at)
                )
    return out


def trigger_to_dict(trigger: Trigger) -> dict[str, Any]:
    return {k: (v.value if k == "kind" else v) for k, v in asdict(trigger).items()}


def action_to_dict(action: Action) -> dict[str, Any]:
    """An action as JSON-ready data (stored definitions, run logs)."""
    return {k: (v.value if k == "kind" else v) for k, v in asdict(action).items()}
