"""Automations: trigger, optional condition, ordered actions; and their run log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.schema.inputs import ContactFilter, filter_json
from domain.automations import (
    Action,
    ActionKind,
    Automation,
    AutomationStatus,
    RunOutcome,
    Trigger,
    TriggerKind,
)
from domain.errors import parse_id

strawberry.enum(AutomationStatus, name="AutomationStatus")
AutomationStatusEnum = AutomationStatus
strawberry.enum(TriggerKind, name="AutomationTriggerKind")
TriggerKindEnum = TriggerKind
strawberry.enum(ActionKind, name="AutomationActionKind")
ActionKindEnum = ActionKind
strawberry.enum(RunOutcome, name="AutomationRunOutcome")
RunOutcomeEnum = RunOutcome


@strawberry.type(name="AutomationTrigger")
class TriggerType:
    kind: TriggerKindEnum
    threshold: int | None
    tag: str | None
    tier: str | None
    list_id: strawberry.ID | None
    days: int | None


@strawberry.type(name="AutomationAction")
class ActionType:
    kind: ActionKindEnum
    tag: str | None
    lead_status: str | None
    message: str | None
    level: str
    webhook_id: strawberry.ID | None


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(name="Automation")
class AutomationType:
    id: strawberry.ID
    name: str
    description: str | None
    status: AutomationStatusEnum
    trigger: TriggerType
    condition: JSON | None = strawberry.field(description="ContactFilter input shape.")
    actions: list[ActionType]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, a: Automation) -> AutomationType:
        t = a.trigger
        return cls(
            id=strawberry.ID(str(a.id)), name=a.name, description=a.description,
            status=a.status,
            trigger=TriggerType(kind=t.kind, threshold=t.threshold, tag=t.tag, tier=t.tier,
                                list_id=_id(t.list_id), days=t.days),
            condition=filter_json(a.condition) if a.condition is not None else None,
            actions=[ActionType(kind=x.kind, tag=x.tag, lead_status=x.lead_status,
                                message=x.message, level=x.level, webhook_id=_id(x.webhook_id))
                     for x in a.actions],
            created_at=a.created_at, updated_at=a.updated_at,
        )  # fmt: skip


@strawberry.type
class AutomationRun:
    id: strawberry.ID
    automation_id: strawberry.ID
    contact_id: strawberry.ID
    trigger: str
    depth: int = strawberry.field(description="0 for a direct trigger, n for the nth cascade.")
    outcome: RunOutcomeEnum
    actions: JSON = strawberry.field(description="Each action with its result, in order.")
    at: datetime

    @classmethod
    def from_row(cls, r: Any) -> AutomationRun:
        return cls(
            id=strawberry.ID(str(r.id)), automation_id=strawberry.ID(str(r.automation_id)),
            contact_id=strawberry.ID(str(r.contact_id)), trigger=r.trigger, depth=r.depth,
            outcome=RunOutcome(r.outcome), actions=r.actions, at=r.at,
        )  # fmt: skip


@strawberry.input
class AutomationTriggerInput:
    kind: TriggerKindEnum
    threshold: int | None = strawberry.field(default=None, description="SCORE_CROSSED_*.")
    tag: str | None = strawberry.field(default=None, description="TAG_ADDED / TAG_REMOVED.")
    tier: str | None = strawberry.field(default=None, description="TIER_CHANGED (optional).")
    list_id: strawberry.ID | None = strawberry.field(default=None, description="LIST_*.")
    days: int | None = strawberry.field(default=None, description="INACTIVE.")

    def to_domain(self) -> Trigger:
        list_id = parse_id(self.list_id, "list", "trigger") if self.list_id is not None else None
        return Trigger(TriggerKind(self.kind.value), self.threshold, self.tag, self.tier,
                       list_id, self.days)  # fmt: skip


@strawberry.input
class AutomationActionInput:
    kind: ActionKindEnum
    tag: str | None = strawberry.field(default=None, description="ADD_TAG / REMOVE_TAG.")
    lead_status: str | None = strawberry.field(default=None, description="HOT, WARM or COLD.")
    message: str | None = strawberry.field(default=None, description="RAISE_ALERT.")
    level: str = strawberry.field(default="INFO", description="INFO, WARNING or CRITICAL.")
    webhook_id: strawberry.ID | None = strawberry.field(default=None, description="CALL_WEBHOOK.")

    def to_domain(self) -> Action:
        hook = parse_id(self.webhook_id, "webhook", "actions") if self.webhook_id else None
        return Action(ActionKind(self.kind.value), self.tag, self.lead_status, self.message,
                      self.level, hook)  # fmt: skip


@strawberry.input
class AutomationInput:
    name: str
    trigger: AutomationTriggerInput
    actions: list[AutomationActionInput]
    condition: ContactFilter | None = None
    description: str | None = None
    status: AutomationStatusEnum = AutomationStatus.ACTIVE


@strawberry.input
class AutomationUpdateInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: AutomationStatusEnum | None = strawberry.UNSET
    trigger: AutomationTriggerInput | None = strawberry.field(
        default=strawberry.UNSET, description="Give trigger, condition and actions together."
    )
    condition: ContactFilter | None = strawberry.UNSET
    actions: list[AutomationActionInput] | None = strawberry.UNSET
