"""Contacts and companies: enums, normalisation and validation of their fields."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, NamedTuple

from domain.errors import Gone, InvalidInput, NotFound
from domain.json_values import check_json_value


class ContactType(StrEnum):
    CLIENT = "CLIENT"
    PROSPECT = "PROSPECT"
    PARTNER = "PARTNER"
    SUPPLIER = "SUPPLIER"
    OTHER = "OTHER"


class CompanyType(StrEnum):
    CLIENT = "CLIENT"
    PROSPECT = "PROSPECT"
    PARTNER = "PARTNER"
    SUPPLIER = "SUPPLIER"
    OTHER = "OTHER"


class Source(StrEnum):
    WEB = "WEB"
    EVENT = "EVENT"
    REFERRAL = "REFERRAL"
    IMPORT = "IMPORT"
    EMAIL = "EMAIL"
    SOCIAL = "SOCIAL"
    PAID_ADS = "PAID_ADS"
    PARTNER = "PARTNER"
    OTHER = "OTHER"


class FunnelStage(StrEnum):
    AWARENESS = "AWARENESS"
    CONSIDERATION = "CONSIDERATION"
    DECISION = "DECISION"


_EMAIL_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_WEBSITE_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)
MAX_TEXT = 200


# An erased contact's email is `erased-<id>@erased.invalid` (`.invalid` is reserved, RFC
# 2606, and refused as input): what marks it erased, in Python and in SQL alike.
ERASED_DOMAIN = "erased.invalid"
ERASED_SUFFIX = "@" + ERASED_DOMAIN


def is_erased(email: str) -> bool:
    return email.endswith(ERASED_SUFFIX)


def gone(contact_id: int, field: str = "contactId") -> Gone:
    return Gone(
        f"contact {contact_id} was erased (GDPR): it takes no more writes, and is kept only "
        "for the aggregates",
        field=field,
    )


def require_writable(contact: Contact | None, contact_id: int, field: str) -> Contact:
    """The contact a write names: NOT_FOUND if there is none, GONE if it was erased."""
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}", field=field)
    if is_erased(contact.email):
        raise gone(contact_id, field)
    return contact


def normalise_email(raw: str, field_name: str = "email") -> str:
    """Trim and lower-case; refuse anything that is not a plausible address, and the
    domain reserved for erased contacts."""
    email = raw.strip().lower()
    if is_erased(email):
        raise InvalidInput(
            f"{raw!r} is not a valid email address: the domain {ERASED_DOMAIN} is reserved "
            "for erased contacts",
            field=field_name,
        )
    local, _, _domain = email.partition("@")
    if (
        len(email) > 254
        or len(local) > 64
        or ".." in email
        or local.startswith(".")
        or local.endswith(".")
        or not _EMAIL_RE.match(email)
    ):
        raise InvalidInput(f"{raw!r} is not a valid email address", field=field_name)
    return email


def clean_text(raw: str | None, field_name: str, *, required: bool = False) -> str | None:
    if raw is None:
        if required:
            raise InvalidInput(f"{field_name} is required", field=field_name)
        return None
    value = " ".join(raw.split())
    if not value:
        if required:
            raise InvalidInput(f"{field_name} must not be blank", field=field_name)
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field_name} is longer than {MAX_TEXT} characters", field=field_name)
    return value


def clean_phone(raw: str | None) -> str | None:
    value = clean_text(raw, "phone")
    if value is not None and not _PHONE_RE.match(value):
        raise InvalidInput(f"{raw!r} is not a valid phone number", field="phone")
    return value


def clean_country(raw: str | None) -> str | None:
    value = clean_text(raw, "country")
    if value is None:
        return None
    value = value.upper()
    if not _COUNTRY_RE.match(value):
        raise InvalidInput("country must be an ISO 3166 two-letter code", field="country")
    return value


def clean_attributes(raw: Any, name: str = "customAttributes") -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{name} must be a JSON object", field=name)
    if any(not isinstance(key, str) or not key for key in raw):
        raise InvalidInput(f"{name} keys must be non-empty strings", field=name)
    check_json_value(raw, name)
    return dict(raw)


_TEXT_FIELDS = ("first_name", "last_name", "job_title", "sector", "region", "city")
_ENUM_FIELDS: dict[str, type[Enum]] = {
    "contact_type": ContactType,
    "source": Source,
    "funnel_stage": FunnelStage,
}


def clean_contact_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise the fields of a contact write; keys absent stay absent."""
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "email":
            cleaned[key] = normalise_email(value) if value is not None else _required("email")
        elif key in _TEXT_FIELDS:
            cleaned[key] = clean_text(value, _camel(key))
        elif key in _ENUM_FIELDS:
            cleaned[key] = _ENUM_FIELDS[key](value) if value is not None else None
        elif key == "phone":
            cleaned[key] = clean_phone(value)
        elif key == "country":
            cleaned[key] = clean_country(value)
        elif key == "custom_attributes":
            cleaned[key] = clean_attributes(value)
        elif key in ("consent_email", "consent_profiling"):
            cleaned[key] = _flag(value, _camel(key))
        elif key == "company_id":
            if value is not None and (not _is_int(value) or value <= 0):
                raise InvalidInput("companyId must be a positive integer id", field="companyId")
            cleaned[key] = value
        else:
            raise InvalidInput(f"unknown contact field {key!r}", field=_camel(key))
    return cleaned


def clean_company_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            cleaned[key] = clean_text(value, "name", required=True)
        elif key in ("sector", "region", "city"):
            cleaned[key] = clean_text(value, key)
        elif key == "website":
            cleaned[key] = clean_website(value)
        elif key == "company_type":
            cleaned[key] = CompanyType(value) if value is not None else None
        elif key == "country":
            cleaned[key] = clean_country(value)
        elif key == "size":
            if value is not None and (not _is_int(value) or not 0 <= value <= 10_000_000):
                raise InvalidInput("size must be a number of employees >= 0", field="size")
            cleaned[key] = value
        else:
            raise InvalidInput(f"unknown company field {key!r}", field=_camel(key))
    return cleaned


def clean_website(raw: str | None) -> str | None:
    value = clean_text(raw, "website")
    if value is not None and not _WEBSITE_RE.match(value):
        raise InvalidInput(f"{raw!r} is not an http(s) URL", field="website")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", field=name)
    return value


def _required(name: str) -> str:
    raise InvalidInput(f"{name} is required", field=name)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class ContactView:
    """What filters look at: a contact's attributes with its tags and company type."""

    id: int
    email: str
    score: int = 0
    tier: str | None = None
    segment: str | None = None
    lead_status: str | None = None
    sector: str | None = None
    region: str | None = None
    city: str | None = None
    contact_type: ContactType | None = None
    company_type: CompanyType | None = None
    company_id: int | None = None
    source: Source | None = None
    funnel_stage: FunnelStage | None = None
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    tag_points: Mapping[str, int] = field(default_factory=dict)

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.tag_points)

    def placed(self, tier: str | None, lead_status: str | None, segment: str | None) -> ContactView:
        """The same contact seen with another tier, lead status and segment."""
        view = object.__new__(ContactView)
        view.__dict__.update(self.__dict__, tier=tier, lead_status=lead_status, segment=segment)
        return view

    @staticmethod
    def of(values: Sequence[Any]) -> ContactView:
        """A view from all its field values in declaration order, without the frozen
        dataclass's per-field __setattr__ (re-tiering builds one per contact; the frozen
        __init__ cost 7 % of a re-tier). The values are taken as they are."""
        view = object.__new__(ContactView)
        view.__dict__.update(zip(VIEW_FIELDS, values, strict=True))
        return view


VIEW_FIELDS = tuple(f.name for f in fields(ContactView))


class Standing(NamedTuple):
    """Where a contact is placed: tier, index, reason, lead status and segment."""

    tier: str | None
    tier_index: float | None
    tier_reason: str | None
    lead_status: str | None
    segment: str | None


# What placing a contact reads: the contact as filters see it, where it stands, the lead
# status an automation pinned, its (behavioural, fit) points and its recent signals.
PlacementInputs = tuple[ContactView, Standing, str | None, tuple[int, int], dict[str, int]]


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    company_type: CompanyType | None
    sector: str | None
    size: int | None
    region: str | None
    city: str | None
    country: str | None
    website: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Contact:
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    job_title: str | None
    contact_type: ContactType | None
    source: Source | None
    funnel_stage: FunnelStage | None
    sector: str | None
    region: str | None
    city: str | None
    country: str | None
    company_id: int | None
    custom_attributes: dict[str, Any]
    consent_email: bool
    consent_profiling: bool
    score: int
    tier: str | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None
    tier_index: float | None = None
    tier_reason: str | None = None
    segment: str | None = None
    lead_status: str | None = None
