"""Inputs of the scoring engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.schema.enums import FitAttributeEnum, FitOperatorEnum, RuleGroupEnum, RuleStatusEnum
from api.schema.inputs import UNSET, set_fields
from services.interactions import InteractionInput as InteractionRecordInput


@strawberry.input(description="Fields left out keep their value; null clears nullable ones.")
class ScoringRuleUpdateInput:
    name: str | None = UNSET
    group: RuleGroupEnum | None = UNSET
    interaction_type: str | None = UNSET
    page: str | None = strawberry.field(
        default=UNSET, description="Absolute http(s) URL; required for SITE_VISIT."
    )
    points: int | None = strawberry.field(default=UNSET, description="-1000..1000")
    status: RuleStatusEnum | None = UNSET
    tag_code: str | None = strawberry.field(
        default=UNSET, description="Tag whose points the rule increments."
    )
    daily_cap: int | None = UNSET
    description: str | None = UNSET

    def to_values(self) -> dict[str, Any]:
        return set_fields(self)


@strawberry.input
class ScoringRuleInput(ScoringRuleUpdateInput):
    name: str
    group: RuleGroupEnum
    interaction_type: str
    points: int


@strawberry.input
class FitRuleUpdateInput:
    name: str | None = UNSET
    attribute: FitAttributeEnum | None = UNSET
    operator: FitOperatorEnum | None = UNSET
    value: str | None = strawberry.field(
        default=UNSET, description="For IN: comma-separated values; AT_LEAST/AT_MOST: a number."
    )
    points: int | None = UNSET
    active: bool | None = UNSET

    def to_values(self) -> dict[str, Any]:
        values = set_fields(self)
        if values.get("attribute") is not None:
            values["attribute"] = values["attribute"].to_domain().value
        return values


@strawberry.input
class FitRuleInput(FitRuleUpdateInput):
    name: str
    attribute: FitAttributeEnum
    operator: FitOperatorEnum
    value: str
    points: int


@strawberry.input(description="One behaviour of a contact. The contact is given by id or email.")
class InteractionInput:
    contact_id: strawberry.ID | None = strawberry.field(default=UNSET)
    email: str | None = strawberry.field(
        default=UNSET, description="Creates the contact when the email is new."
    )
    type: str = strawberry.field(description="e.g. EMAIL_OPEN, PAGE_VISIT, DEMO_REQUEST")
    page: str | None = UNSET
    properties: JSON | None = UNSET
    occurred_at: datetime = strawberry.field(description="With a UTC offset; not in the future.")
    idempotency_key: str = strawberry.field(
        description="The same key twice counts once and returns the first result."
    )

    def to_record(self) -> InteractionRecordInput:
        values = {k: v for k, v in set_fields(self).items() if v is not None}
        if "contact_id" in values:
            values["contact_id"] = str(values["contact_id"])
        return InteractionRecordInput(**values)


@strawberry.input(description="Fields left out keep their value; null turns that part off.")
class DecayPolicyInput:
    half_life_days: int | None = UNSET
    inactivity_days: int | None = UNSET
    inactivity_points: int | None = UNSET

    def to_values(self) -> dict[str, Any]:
        return set_fields(self)
