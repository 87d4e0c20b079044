"""Scoring types: rules, fit rules, interactions, ledger entries, decay."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.context import AppInfo
from api.schema.enums import (
    FitAttributeEnum,
    FitOperatorEnum,
    LedgerReasonEnum,
    RuleGroupEnum,
    RuleKindEnum,
    RuleStatusEnum,
)
from api.schema.fields import field
from api.schema.tag import Tag
from domain.decay import DecayPolicy as DecayPolicyRecord
from domain.fit import FitRule as FitRuleRecord
from domain.scoring import Interaction as InteractionRecord
from domain.scoring import LedgerEntry
from domain.scoring import ScoringRule as RuleRecord


@strawberry.type(description="Behaviour -> points. SYSTEM presets can be edited, not deleted.")
class ScoringRule:
    id: strawberry.ID
    name: str
    group: RuleGroupEnum
    interaction_type: str = strawberry.field(description="The interaction type it matches.")
    page: str | None = strawberry.field(description="Normalised URL; required for SITE_VISIT.")
    points: int
    kind: RuleKindEnum
    status: RuleStatusEnum
    daily_cap: int | None = strawberry.field(description="Max points per contact per UTC day.")
    description: str | None
    created_at: datetime
    updated_at: datetime
    tag_id: strawberry.Private[int | None]

    @classmethod
    def from_domain(cls, r: RuleRecord) -> ScoringRule:
        assert r.created_at is not None and r.updated_at is not None
        return cls(
            id=strawberry.ID(str(r.id)),
            name=r.name,
            group=r.group,
            interaction_type=r.interaction_type,
            page=r.page,
            points=r.points,
            kind=r.kind,
            status=r.status,
            daily_cap=r.daily_cap,
            description=r.description,
            created_at=r.created_at,
            updated_at=r.updated_at,
            tag_id=r.tag_id,
        )

    @field(description="Tag whose points this rule increments.")
    async def tag(self, info: AppInfo) -> Tag | None:
        if self.tag_id is None:
            return None
        tag = await info.context.loaders.tag.load(self.tag_id)
        return Tag.from_domain(tag) if tag else None


@strawberry.type(description="Attribute -> points (demographic / firmographic fit).")
class FitRule:
    id: strawberry.ID
    name: str
    attribute: FitAttributeEnum
    operator: FitOperatorEnum
    value: str
    points: int
    active: bool

    @classmethod
    def from_domain(cls, r: FitRuleRecord) -> FitRule:
        return cls(
            id=strawberry.ID(str(r.id)),
            name=r.name,
            attribute=FitAttributeEnum(r.attribute.upper()),
            operator=r.operator,
            value=r.value,
            points=r.points,
            active=r.active,
        )


@strawberry.type
class Interaction:
    id: strawberry.ID
    type: str
    page: str | None
    properties: JSON
    occurred_at: datetime
    idempotency_key: str
    score_delta: int
    created_at: datetime

    @classmethod
    def from_domain(cls, i: InteractionRecord) -> Interaction:
        return cls(
            id=strawberry.ID(str(i.id)),
            type=i.type,
            page=i.page,
            properties=JSON(i.properties),
            occurred_at=i.occurred_at,
            idempotency_key=i.idempotency_key,
            score_delta=i.score_delta,
            created_at=i.created_at,
        )


@strawberry.type(description="One line of the score ledger: a score is the sum of its entries.")
class ScoreEntry:
    id: strawberry.ID
    reason: LedgerReasonEnum
    detail: str | None = strawberry.field(description="For DECAY: HALF_LIFE or INACTIVITY.")
    label: str = strawberry.field(description="Name of the rule (as it was) or the cause.")
    points: int
    comment: str | None
    at: datetime
    interaction_id: strawberry.ID | None
    rule_id: strawberry.Private[int | None]
    fit_rule_id: strawberry.Private[int | None]

    @classmethod
    def from_domain(cls, e: LedgerEntry) -> ScoreEntry:
        return cls(
            id=strawberry.ID(str(e.id)),
            reason=e.reason,
            detail=e.detail,
            label=e.label,
            points=e.points,
            comment=e.comment,
            at=e.at,
            interaction_id=strawberry.ID(str(e.interaction_id)) if e.interaction_id else None,
            rule_id=e.rule_id,
            fit_rule_id=e.fit_rule_id,
        )

    @field(description="The scoring rule, if it still exists.")
    async def rule(self, info: AppInfo) -> ScoringRule | None:
        if self.rule_id is None:
            return None
        rule = await info.context.loaders.rule.load(self.rule_id)
        return ScoringRule.from_domain(rule) if rule else None

    @field(description="For FIT entries: the fit rule, if it still exists.")
    async def fit_rule(self, info: AppInfo) -> FitRule | None:
        if self.fit_rule_id is None:
            return None
        rule = await info.context.loaders.fit_rule.load(self.fit_rule_id)
        return FitRule.from_domain(rule) if rule else None


@strawberry.type
class DecayPolicy:
    version: int
    half_life_days: int | None = strawberry.field(
        description="Behavioural points halve every N days of their age (null: never)."
    )
    inactivity_days: int | None = strawberry.field(
        description="After N days without activity... (null: no inactivity penalty)"
    )
    inactivity_points: int = strawberry.field(description="...the contact loses these points.")

    @classmethod
    def from_domain(cls, p: DecayPolicyRecord) -> DecayPolicy:
        return cls(
            version=p.version,
            half_life_days=p.half_life_days,
            inactivity_days=p.inactivity_days,
            inactivity_points=p.inactivity_points,
        )


@strawberry.type
class DecayRun:
    policy_version: int
    contacts_changed: int
    points: int = strawberry.field(description="Net points written (negative: removed).")
