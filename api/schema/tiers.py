"""Tier policy, segment scheme and tier history types, and their inputs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.schema.inputs import ContactFilter, filter_json
from domain.errors import InvalidInput
from domain.filters import ContactFilter as DomainFilter
from domain.json_values import check_json_value
from domain.segments import Segment as SegmentRecord
from domain.segments import SegmentScheme as SchemeRecord
from domain.segments import TierChange as TierChangeRecord
from domain.tiers import CRITERIA, Override, TierBand, TierPolicy


@strawberry.enum
class PolicyKind(StrEnum):
    TIER = "TIER"
    SEGMENT = "SEGMENT"


@strawberry.type
class SegmentInfo:
    code: str
    name: str
    suggested_tier: str | None
    description: str | None
    filter: JSON = strawberry.field(description="In the shape of the ContactFilter input.")
    min_signals: JSON = strawberry.field(description="Interaction type -> minimum recent count.")

    @classmethod
    def from_domain(cls, s: SegmentRecord) -> SegmentInfo:
        return cls(
            code=s.code,
            name=s.name,
            suggested_tier=s.suggested_tier,
            description=s.description,
            filter=filter_json(s.filter),
            min_signals=JSON(dict(s.min_signals)),
        )


@strawberry.type
class SegmentScheme:
    version: int
    segments: list[SegmentInfo]

    @classmethod
    def from_domain(cls, s: SchemeRecord) -> SegmentScheme:
        return cls(version=s.version, segments=[SegmentInfo.from_domain(x) for x in s.segments])


@strawberry.type
class TierBandType:
    name: str
    min_index: float = strawberry.field(
        description="The band holds indexes from here up to the next band's minIndex."
    )


@strawberry.type
class TierOverrideType:
    name: str
    tier: str
    filter: JSON | None
    min_engagement: float | None
    below_engagement: float | None


@strawberry.type
class TierPolicyType:
    version: int
    weights: JSON = strawberry.field(
        description="engagement, fit, source, funnel, intent; sum 100."
    )
    engagement_cap: int
    fit_cap: int
    source_values: JSON
    funnel_values: JSON
    intent_points: JSON
    intent_window_days: int
    tiers: list[TierBandType]
    overrides: list[TierOverrideType] = strawberry.field(description="Tried in this order.")
    hot_score: int | None = strawberry.field(
        description="Score at which a contact becomes a hot lead (besides entering the top tier)."
    )

    @classmethod
    def from_domain(cls, p: TierPolicy) -> TierPolicyType:
        return cls(
            version=p.version,
            weights=JSON(dict(p.weights)),
            engagement_cap=p.engagement_cap,
            fit_cap=p.fit_cap,
            source_values=JSON(dict(p.source_values)),
            funnel_values=JSON(dict(p.funnel_values)),
            intent_points=JSON(dict(p.intent_points)),
            intent_window_days=p.intent_window_days,
            tiers=[TierBandType(name=b.name, min_index=b.min_index) for b in p.bands],
            hot_score=p.hot_score,
            overrides=[
                TierOverrideType(
                    name=o.name,
                    tier=o.tier,
                    filter=filter_json(o.filter) if o.filter else None,
                    min_engagement=o.min_engagement,
                    below_engagement=o.below_engagement,
                )
                for o in p.overrides
            ],
        )


@strawberry.type
class TierChange:
    kind: PolicyKind
    from_value: str | None
    to_value: str | None
    version: int
    reason: str
    at: datetime

    @classmethod
    def from_domain(cls, c: TierChangeRecord) -> TierChange:
        return cls(
            kind=PolicyKind(c.kind),
            from_value=c.from_value,
            to_value=c.to_value,
            version=c.version,
            reason=c.reason,
            at=c.at,
        )


@strawberry.type
class PolicyVersion:
    kind: PolicyKind
    version: int
    comment: str | None
    created_at: datetime


@strawberry.input
class CriteriaWeightsInput:
    engagement: int
    fit: int
    source: int
    funnel: int
    intent: int


@strawberry.input
class TierBandInput:
    name: str
    min_index: float


@strawberry.input
class TierOverrideInput:
    name: str
    tier: str
    filter: ContactFilter | None = None
    min_engagement: float | None = None
    below_engagement: float | None = None


@strawberry.input(description="A whole tier policy; it becomes the next version.")
class TierPolicyInput:
    weights: CriteriaWeightsInput
    engagement_cap: int
    fit_cap: int
    source_values: JSON = strawberry.field(description='e.g. {"EVENT": 85, "WEB": 50}')
    funnel_values: JSON = strawberry.field(description='e.g. {"DECISION": 80}')
    intent_points: JSON = strawberry.field(description='e.g. {"DEMO_REQUEST": 40}')
    intent_window_days: int
    tiers: list[TierBandInput]
    overrides: list[TierOverrideInput] = strawberry.field(default_factory=list)
    hot_score: int | None = strawberry.field(
        default=None, description="Hot-lead score threshold; null: entering the top tier only."
    )

    def to_domain(self) -> TierPolicy:
        return TierPolicy(
            version=0,
            weights={c: getattr(self.weights, c) for c in CRITERIA},
            engagement_cap=self.engagement_cap,
            fit_cap=self.fit_cap,
            source_values=_int_map(self.source_values, "sourceValues"),
            funnel_values=_int_map(self.funnel_values, "funnelValues"),
            intent_points=_int_map(self.intent_points, "intentPoints"),
            intent_window_days=self.intent_window_days,
            bands=tuple(TierBand(t.name.strip(), t.min_index) for t in self.tiers),
            overrides=tuple(
                Override(o.name, o.tier, o.filter.to_domain() if o.filter else None,
                         o.min_engagement, o.below_engagement)
                for o in self.overrides
            ),
            hot_score=self.hot_score,
        )  # fmt: skip


@strawberry.input
class SegmentInput:
    code: str
    name: str
    filter: ContactFilter | None = None
    min_signals: JSON | None = strawberry.field(
        default=None, description='e.g. {"DEMO_REQUEST": 1}'
    )
    suggested_tier: str | None = None
    description: str | None = None


@strawberry.input(description="A whole, ordered segment scheme; it becomes the next version.")
class SegmentSchemeInput:
    segments: list[SegmentInput]

    def to_domain(self) -> SchemeRecord:
        return SchemeRecord(
            0,
            tuple(
                SegmentRecord(s.code, s.name, s.filter.to_domain() if s.filter else DomainFilter(),
                              _int_map(s.min_signals or {}, "minSignals"), s.suggested_tier,
                              s.description)
                for s in self.segments
            ),
        )  # fmt: skip


def _int_map(value: Any, name: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise InvalidInput(f"{name} must be an object of whole numbers", field=name)
    check_json_value(value, name)
    return dict(value)


@strawberry.type
class Count:
    value: str | None = strawberry.field(description="Tier name or segment code (null: none).")
    contacts: int


@strawberry.type
class Move:
    from_value: str | None
    to_value: str | None
    contacts: int


@strawberry.type
class ContactMove:
    contact_id: strawberry.ID
    from_value: str | None
    to_value: str | None
    reason: str


@strawberry.type(description="What a proposed policy or scheme would do; nothing is written.")
class Simulation:
    now: list[Count]
    proposed: list[Count]
    matrix: list[Move] = strawberry.field(description="From-to pairs, including those that stay.")
    moving_count: int
    moving: list[ContactMove] = strawberry.field(description="The first contacts that would move.")


@strawberry.enum
class DictionaryFormat(StrEnum):
    JSON = "JSON"
    MARKDOWN = "MARKDOWN"
