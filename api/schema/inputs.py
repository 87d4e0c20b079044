"""Input types and their conversion to the plain values the services take."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.schema.enums import (
    CompanyOrderField,
    ContactOrderField,
    ContactTypeEnum,
    FunnelStageEnum,
    OrderDirection,
    SourceEnum,
)
from domain.errors import parse_id
from domain.filters import ContactFilter as DomainFilter
from domain.filters import DateRange, IntRange
from domain.pagination import Direction

UNSET: Any = strawberry.UNSET


def set_fields(obj: object, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a client actually sent (UNSET ones are left out)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)  # type: ignore[arg-type]
        if f.name not in skip and getattr(obj, f.name) is not strawberry.UNSET
    }


@strawberry.input
class ConsentInput:
    email_marketing: bool | None = UNSET
    profiling: bool | None = UNSET


@strawberry.input(description="Fields of a contact; fields left out keep their value.")
class ContactUpdateInput:
    email: str | None = UNSET
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    phone: str | None = UNSET
    job_title: str | None = UNSET
    contact_type: ContactTypeEnum | None = UNSET  # type: ignore[valid-type]
    source: SourceEnum | None = UNSET  # type: ignore[valid-type]
    funnel_stage: FunnelStageEnum | None = UNSET  # type: ignore[valid-type]
    sector: str | None = UNSET
    region: str | None = UNSET
    city: str | None = UNSET
    country: str | None = strawberry.field(default=UNSET, description="ISO 3166 alpha-2 code.")
    company_id: strawberry.ID | None = UNSET
    custom_attributes: JSON | None = UNSET
    consent: ConsentInput | None = UNSET

    def to_values(self) -> dict[str, Any]:
        values = set_fields(self, skip=("consent",))
        if values.get("company_id") is not None:
            values["company_id"] = parse_id(values["company_id"], "company", "companyId")
        consent = self.consent
        if consent is not UNSET and consent is not None:
            for key, attr in (
                ("consent_email", "email_marketing"),
                ("consent_profiling", "profiling"),
            ):
                value = getattr(consent, attr)
                if value is not UNSET:
                    values[key] = bool(value)
        return values


@strawberry.input(description="A new contact, or an upsert keyed by the normalised email.")
class ContactInput(ContactUpdateInput):
    email: str


@strawberry.input
class CompanyUpdateInput:
    name: str | None = UNSET
    company_type: ContactTypeEnum | None = UNSET  # type: ignore[valid-type]
    sector: str | None = UNSET
    size: int | None = strawberry.field(default=UNSET, description="Number of employees.")
    region: str | None = UNSET
    city: str | None = UNSET
    country: str | None = UNSET
    website: str | None = UNSET

    def to_values(self) -> dict[str, Any]:
        return set_fields(self)


@strawberry.input
class CompanyInput(CompanyUpdateInput):
    name: str


@strawberry.input
class TagInput:
    name: str
    code: str | None = strawberry.field(
        default=None, description="Optional; derived from the name when left out."
    )
    description: str | None = None


@strawberry.input
class TagUpdateInput:
    name: str | None = None
    description: str | None = None


@strawberry.input
class IntRangeInput:
    min: int
    max: int


@strawberry.input
class DateTimeRangeInput:
    start: datetime | None = None
    end: datetime | None = None


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    if values is None:
        return None
    return tuple(v.value if hasattr(v, "value") else v for v in values)


@strawberry.input(
    description="Conditions on one node all hold (AND); `and`/`or`/`not` compose nodes."
)
class ContactFilter:
    and_: list[ContactFilter] | None = strawberry.field(name="and", default=None)
    or_: list[ContactFilter] | None = strawberry.field(name="or", default=None)
    not_: ContactFilter | None = strawberry.field(name="not", default=None)
    score_above: int | None = strawberry.field(default=None, description="score > N")
    score_below: int | None = strawberry.field(default=None, description="score < N")
    score_between: IntRangeInput | None = strawberry.field(
        default=None, description="min <= score <= max"
    )
    tier_in: list[str] | None = None
    has_any_tag: list[str] | None = strawberry.field(default=None, description="Tag codes.")
    has_all_tags: list[str] | None = strawberry.field(default=None, description="Tag codes.")
    sector_in: list[str] | None = None
    region_in: list[str] | None = None
    city_in: list[str] | None = None
    contact_type_in: list[ContactTypeEnum] | None = None  # type: ignore[valid-type]
    company_type_in: list[ContactTypeEnum] | None = None  # type: ignore[valid-type]
    source_in: list[SourceEnum] | None = None  # type: ignore[valid-type]
    funnel_stage_in: list[FunnelStageEnum] | None = None  # type: ignore[valid-type]
    company_id_in: list[strawberry.ID] | None = None
    created_between: DateTimeRangeInput | None = None
    last_activity_within_days: int | None = None
    last_activity_older_than_days: int | None = None
    email_contains: str | None = None

    def to_domain(self) -> DomainFilter:
        return DomainFilter(
            all_of=tuple(f.to_domain() for f in self.and_ or ()),
            any_of=tuple(f.to_domain() for f in self.or_ or ()),
            not_=self.not_.to_domain() if self.not_ else None,
            score_above=self.score_above,
            score_below=self.score_below,
            score_between=IntRange(self.score_between.min, self.score_between.max)
            if self.score_between
            else None,
            tier_in=_tuple(self.tier_in),
            has_any_tag=_tuple(self.has_any_tag),
            has_all_tags=_tuple(self.has_all_tags),
            sector_in=_tuple(self.sector_in),
            region_in=_tuple(self.region_in),
            city_in=_tuple(self.city_in),
            contact_type_in=_tuple(self.contact_type_in),
            company_type_in=_tuple(self.company_type_in),
            source_in=_tuple(self.source_in),
            funnel_stage_in=_tuple(self.funnel_stage_in),
            company_id_in=tuple(parse_id(i, "company", "filter") for i in self.company_id_in)
            if self.company_id_in is not None
            else None,
            created_between=DateRange(self.created_between.start, self.created_between.end)
            if self.created_between
            else None,
            last_activity_within_days=self.last_activity_within_days,
            last_activity_older_than_days=self.last_activity_older_than_days,
            email_contains=self.email_contains,
        )


@strawberry.input
class ContactOrder:
    field: ContactOrderField = ContactOrderField.CREATED_AT
    direction: OrderDirection = Direction.DESC  # type: ignore[valid-type]


@strawberry.input
class CompanyOrder:
    field: CompanyOrderField = CompanyOrderField.NAME
    direction: OrderDirection = Direction.ASC  # type: ignore[valid-type]
