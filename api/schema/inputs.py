"""Input types and their conversion to the plain values the services take."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from api.schema.enums import (
    CompanyOrderField,
    CompanyTypeEnum,
    ContactOrderField,
    ContactTypeEnum,
    FunnelStageEnum,
    LeadStatus,
    OrderDirection,
    SourceEnum,
)
from domain.codec import filter_to_dict
from domain.errors import InvalidInput, parse_id
from domain.filters import MAX_DEPTH, DateRange, IntRange, TagPoints
from domain.filters import ContactFilter as DomainFilter
from domain.pagination import Direction

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

UNSET: Any = strawberry.UNSET
_RENAMED = {"all_of": "and", "any_of": "or", "not_": "not"}


def set_fields(obj: DataclassInstance, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a client actually sent (UNSET ones are left out)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if f.name not in skip and getattr(obj, f.name) is not strawberry.UNSET
    }


def filter_json(node: DomainFilter) -> JSON:
    """A stored filter in the shape of the `ContactFilter` input (camelCase, and/or/not), so
    a client can send it back as it is."""
    return JSON(_camel_keys(filter_to_dict(node)))


def _camel_keys(value: object) -> object:
    if isinstance(value, dict):
        return {_RENAMED.get(k) or _camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


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
    contact_type: ContactTypeEnum | None = UNSET
    source: SourceEnum | None = UNSET
    funnel_stage: FunnelStageEnum | None = UNSET
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
    company_type: CompanyTypeEnum | None = UNSET
    sector: str | None = UNSET
    size: int | None = strawberry.field(default=UNSET, description="Number of employees.")
    region: str | None = UNSET
    city: str | None = UNSET
    country: str | None = strawberry.field(default=UNSET, description="ISO 3166 alpha-2 code.")
    website: str | None = strawberry.field(default=UNSET, description="An http(s) URL.")

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


@strawberry.input(description="Fields left out keep their value; a null description clears it.")
class TagUpdateInput:
    name: str | None = UNSET
    description: str | None = UNSET

    def to_values(self) -> dict[str, Any]:
        return set_fields(self)


@strawberry.input(description="The contact holds tag `code` with at least `minPoints` points.")
class TagPointsInput:
    code: str
    min_points: int


@strawberry.input
class IntRangeInput:
    min: int
    max: int


@strawberry.input(description="Inclusive bounds; datetimes need a UTC offset.")
class DateTimeRangeInput:
    start: datetime | None = UNSET
    end: datetime | None = UNSET


@strawberry.input(
    description=(
        "Conditions on one node all hold (AND); `and` needs all, `or` needs one, `not` negates. "
        "A contact with no value for an attribute never matches a condition on it."
    )
)
class ContactFilter:
    and_: list[ContactFilter] | None = strawberry.field(name="and", default=UNSET)
    or_: list[ContactFilter] | None = strawberry.field(name="or", default=UNSET)
    not_: ContactFilter | None = strawberry.field(name="not", default=UNSET)
    score_above: int | None = strawberry.field(default=UNSET, description="score > N")
    score_below: int | None = strawberry.field(default=UNSET, description="score < N")
    score_between: IntRangeInput | None = strawberry.field(
        default=UNSET, description="min <= score <= max"
    )
    tier_in: list[str] | None = UNSET
    segment_in: list[str] | None = strawberry.field(default=UNSET, description="Segment codes.")
    lead_status_in: list[LeadStatus] | None = UNSET
    has_any_tag: list[str] | None = strawberry.field(default=UNSET, description="Tag codes.")
    has_all_tags: list[str] | None = strawberry.field(default=UNSET, description="Tag codes.")
    tag_points: list[TagPointsInput] | None = strawberry.field(
        default=UNSET, description="Every listed tag with at least its minPoints."
    )
    sector_in: list[str] | None = strawberry.field(default=UNSET, description="Exact values.")
    region_in: list[str] | None = strawberry.field(default=UNSET, description="Exact values.")
    city_in: list[str] | None = strawberry.field(default=UNSET, description="Exact values.")
    contact_type_in: list[ContactTypeEnum] | None = UNSET
    company_type_in: list[CompanyTypeEnum] | None = UNSET
    source_in: list[SourceEnum] | None = UNSET
    funnel_stage_in: list[FunnelStageEnum] | None = UNSET
    company_id_in: list[strawberry.ID] | None = UNSET
    created_between: DateTimeRangeInput | None = UNSET
    last_activity_within_days: int | None = strawberry.field(
        default=UNSET, description="Last activity (or creation, if none) in the last N days."
    )
    last_activity_older_than_days: int | None = strawberry.field(
        default=UNSET, description="Last activity (or creation, if none) more than N days ago."
    )
    email_contains: str | None = strawberry.field(
        default=UNSET, description="Case-insensitive substring of the email."
    )

    def to_domain(self, depth: int = 0) -> DomainFilter:
        """The domain tree; nesting past `MAX_DEPTH` is refused here, before it is walked."""
        if depth > MAX_DEPTH:
            raise InvalidInput(f"filter nests deeper than {MAX_DEPTH} levels", field="filter")
        given = {k: v for k, v in set_fields(self).items() if v is not None}
        all_of = tuple(f.to_domain(depth + 1) for f in given.pop("and_", ()))
        any_of = tuple(f.to_domain(depth + 1) for f in given.pop("or_", ()))
        not_ = given.pop("not_").to_domain(depth + 1) if "not_" in given else None
        if "score_between" in given:
            span = given["score_between"]
            given["score_between"] = IntRange(span.min, span.max)
        if "tag_points" in given:
            given["tag_points"] = tuple(
                TagPoints(t.code, t.min_points) for t in given["tag_points"]
            )
        if "created_between" in given:
            span = given["created_between"]
            given["created_between"] = DateRange(**set_fields(span))
        if "company_id_in" in given:
            given["company_id_in"] = tuple(
                parse_id(i, "company", "filter") for i in given["company_id_in"]
            )
        for key, value in given.items():
            if isinstance(value, list):
                given[key] = tuple(v.value if isinstance(v, Enum) else v for v in value)
        return DomainFilter(all_of=all_of, any_of=any_of, not_=not_, **given)


@strawberry.input
class ContactOrder:
    field: ContactOrderField = ContactOrderField.CREATED_AT
    direction: OrderDirection = Direction.DESC


@strawberry.input
class CompanyOrder:
    field: CompanyOrderField = CompanyOrderField.NAME
    direction: OrderDirection = Direction.ASC
