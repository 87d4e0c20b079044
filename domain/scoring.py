"""Scoring rules and interactions: which rules an interaction triggers and for how many points.

A rule matches an interaction of its type; a rule with a page matches only that page after
normalisation (scheme and host case, default port, trailing slash, fragment; the query
string counts only when the rule names one). A daily cap bounds the points one rule gives
one contact per UTC day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.errors import InvalidInput

MAX_POINTS = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,49}$")


class RuleGroup(StrEnum):
    EMAIL = "EMAIL"
    SITE_VISIT = "SITE_VISIT"
    FORM = "FORM"
    DOWNLOAD = "DOWNLOAD"
    EVENT = "EVENT"
    PURCHASE = "PURCHASE"
    APP = "APP"
    SUBSCRIPTION = "SUBSCRIPTION"
    CUSTOM = "CUSTOM"


class RuleKind(StrEnum):
    SYSTEM = "SYSTEM"
    CUSTOM = "CUSTOM"


class RuleStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class LedgerReason(StrEnum):
    RULE = "RULE"
    FIT = "FIT"
    DECAY = "DECAY"
    MANUAL = "MANUAL"
    MERGE = "MERGE"


@dataclass(frozen=True)
class ScoringRule:
    id: int
    name: str
    group: RuleGroup
    interaction_type: str
    page: str | None
    points: int
    kind: RuleKind
    status: RuleStatus
    tag_id: int | None = None
    daily_cap: int | None = None
    description: str | None = None
    system_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Interaction:
    id: int
    contact_id: int
    type: str
    page: str | None
    properties: dict[str, Any]
    occurred_at: datetime
    idempotency_key: str
    score_delta: int
    created_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    contact_id: int
    reason: LedgerReason
    detail: str | None
    label: str
    points: int
    rule_id: int | None
    fit_rule_id: int | None
    interaction_id: int | None
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Award:
    """Points one rule gives for one interaction (after the cap)."""

    rule_id: int
    points: int
    tag_id: int | None


def normalise_page(raw: str, field: str = "page") -> str:
    """Canonical absolute http(s) URL: lower-case scheme/host, no default port, no fragment,
    no trailing slash (but the root), query parameters sorted."""
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in text:
        raise InvalidInput(f"{raw!r} is not an absolute http(s) URL", field=field)
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{raw!r} has an invalid port", field=field) from None
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, host, path, query, ""))


def page_matches(rule_page: str, page: str) -> bool:
    """Both already normalised; the visit's query string is ignored unless the rule has one."""
    if urlsplit(rule_page).query:
        return rule_page == page
    return rule_page == urlunsplit(urlsplit(page)._replace(query=""))


def clean_interaction_type(raw: str, field: str = "type") -> str:
    value = raw.strip().upper()
    if not TYPE_RE.match(value):
        raise InvalidInput(
            f"interaction type {raw!r} must be 2-50 upper-case letters, digits or _", field=field
        )
    return value


def check_points(points: int, field: str = "points") -> int:
    if not -MAX_POINTS <= points <= MAX_POINTS:
        raise InvalidInput(f"points must be between -{MAX_POINTS} and {MAX_POINTS}", field=field)
    return points


def clean_rule_page(group: RuleGroup, page: str | None) -> str | None:
    """SITE_VISIT rules need the page they reward; other groups may name one."""
    if page is None or not page.strip():
        if group is RuleGroup.SITE_VISIT:
            raise InvalidInput("a SITE_VISIT rule needs the page URL it rewards", field="page")
        return None
    return normalise_page(page)


def check_cap(cap: int | None) -> int | None:
    if cap is not None and not 1 <= cap <= 100 * MAX_POINTS:
        raise InvalidInput("dailyCap must be a positive number of points", field="dailyCap")
    return cap


def check_occurred_at(occurred_at: datetime, now: datetime) -> datetime:
    if occurred_at.tzinfo is None:
        raise InvalidInput("occurredAt needs a timezone (e.g. ...Z or +01:00)", field="occurredAt")
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            "occurredAt is more than 5 minutes in the future; check the sender's clock",
            field="occurredAt",
        )
    return occurred_at


def matching_rules(
    rules: Iterable[ScoringRule], interaction_type: str, page: str | None
) -> list[ScoringRule]:
    return [
        rule
        for rule in rules
        if rule.status is RuleStatus.ACTIVE
        and rule.interaction_type == interaction_type
        and (rule.page is None or (page is not None and page_matches(rule.page, page)))
    ]


def capped(points: int, cap: int | None, used_today: int) -> int:
    """Points left under a daily cap: the day's total stays within -cap..cap (an award of
    the other sign than the day's total so far moves it back towards zero, uncut)."""
    if cap is None:
        return points
    if points >= 0:
        return min(points, max(0, cap - used_today))
    return max(points, min(0, -cap - used_today))


def award(
    rules: Iterable[ScoringRule],
    interaction_type: str,
    page: str | None,
    used_today: Mapping[int, int],
) -> list[Award]:
    """What an interaction earns: one award per matching rule, capped per day."""
    return [
        Award(rule.id, capped(rule.points, rule.daily_cap, used_today.get(rule.id, 0)), rule.tag_id)
        for rule in matching_rules(rules, interaction_type, page)
    ]


def day_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC day holding `moment` (daily caps count per UTC day)."""
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def ledger_entry(
    contact_id: int,
    reason: LedgerReason,
    label: str,
    points: int,
    at: datetime,
    now: datetime,
    **links: Any,
) -> dict[str, Any]:
    """One ledger entry as the ledger stores it; `links` may name rule_id, fit_rule_id,
    interaction_id, detail, comment."""
    row = {
        "contact_id": contact_id,
        "reason": reason.value,
        "label": label,
        "points": points,
        "at": at,
        "created_at": now,
        "detail": None,
        "rule_id": None,
        "fit_rule_id": None,
        "interaction_id": None,
        "comment": None,
    }
    unknown = set(links) - set(row)
    assert not unknown, unknown
    return row | links
