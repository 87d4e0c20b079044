"""The one filter language: a `ContactFilter` tree and its Python predicate.

`persistence.filters_sql` compiles the same tree to SQL; a property test proves both agree.
Semantics: every condition set on one node must hold (AND); `all_of` must all hold, `any_of`
needs one (an empty `any_of` is no condition), `not_` negates. A missing attribute never
matches a value condition. Activity is measured from `last_activity_at`, or from
`created_at` for a contact that never acted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter

from domain.contacts import ContactView
from domain.errors import InvalidInput

MAX_DEPTH = 8
MAX_CONDITIONS = 200  # each entry of a list condition (tierIn, tagPoints…) and each nested
# filter (in and/or/not) counts as one
MAX_VALUE_LENGTH = 200  # of each string a filter compares (tag codes, cities…)
MAX_EMAIL_CONTAINS = 254  # no email is longer


@dataclass(frozen=True)
class IntRange:
    min: int
    max: int


@dataclass(frozen=True)
class DateRange:
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class TagPoints:
    code: str
    min_points: int


@dataclass(frozen=True)
class ContactFilter:
    all_of: tuple[ContactFilter, ...] = ()
    any_of: tuple[ContactFilter, ...] = ()
    not_: ContactFilter | None = None
    score_above: int | None = None
    score_below: int | None = None
    score_between: IntRange | None = None
    tier_in: tuple[str, ...] | None = None
    segment_in: tuple[str, ...] | None = None
    lead_status_in: tuple[str, ...] | None = None
    has_any_tag: tuple[str, ...] | None = None
    has_all_tags: tuple[str, ...] | None = None
    tag_points: tuple[TagPoints, ...] | None = None
    sector_in: tuple[str, ...] | None = None
    region_in: tuple[str, ...] | None = None
    city_in: tuple[str, ...] | None = None
    contact_type_in: tuple[str, ...] | None = None
    company_type_in: tuple[str, ...] | None = None
    source_in: tuple[str, ...] | None = None
    funnel_stage_in: tuple[str, ...] | None = None
    company_id_in: tuple[int, ...] | None = None
    created_between: DateRange | None = None
    last_activity_within_days: int | None = None
    last_activity_older_than_days: int | None = None
    email_contains: str | None = None


# Conditions whose answer changes with time alone.
CLOCK_CONDITIONS = frozenset({"last_activity_within_days", "last_activity_older_than_days"})


def reads_clock(node: ContactFilter) -> bool:
    """Whether the filter's meaning depends on the time it is evaluated at."""
    return bool(conditions_used(node) & CLOCK_CONDITIONS)


# The conditions a node can set (its fields but the nesting ones), in declaration order: the
# one list every implementation is checked against (docs/FILTERS.md,
# tests/unit/test_filter_conditions.py).
NESTING = ("all_of", "any_of", "not_")
CONDITIONS: tuple[str, ...] = tuple(f.name for f in fields(ContactFilter) if f.name not in NESTING)

# Attribute conditions "value in list", by filter field -> ContactView attribute.
IN_FIELDS: dict[str, str] = {
    "tier_in": "tier",
    "segment_in": "segment",
    "lead_status_in": "lead_status",
    "sector_in": "sector",
    "region_in": "region",
    "city_in": "city",
    "contact_type_in": "contact_type",
    "company_type_in": "company_type",
    "source_in": "source",
    "funnel_stage_in": "funnel_stage",
    "company_id_in": "company_id",
}


def validate_filter(node: ContactFilter, depth: int = 0) -> int:
    """Refuse nonsense (negative days, inverted ranges, runaway nesting); returns conditions."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"filter nests deeper than {MAX_DEPTH} levels", field="filter")
    count = sum(_weight(getattr(node, name)) for name in CONDITIONS)
    if count > MAX_CONDITIONS:
        raise InvalidInput(f"filter has more than {MAX_CONDITIONS} conditions", field="filter")
    _check_lengths(node)
    for name in ("last_activity_within_days", "last_activity_older_than_days"):
        days = getattr(node, name)
        if days is not None and not 0 <= days <= 36_500:
            raise InvalidInput(f"{name} must be between 0 and 36500", field="filter")
    if node.score_between and node.score_between.min > node.score_between.max:
        raise InvalidInput("scoreBetween.min must not exceed scoreBetween.max", field="filter")
    created = node.created_between
    bounds = [d for d in (created.start, created.end) if d is not None] if created else []
    if any(d.tzinfo is None for d in bounds):
        raise InvalidInput("createdBetween needs datetimes with a UTC offset", field="filter")
    if created and created.start and created.end and created.start > created.end:
        raise InvalidInput("createdBetween.start must not be after its end", field="filter")
    if node.tag_points and any(t.min_points < 1 for t in node.tag_points):
        raise InvalidInput("tagPoints.minPoints must be at least 1", field="filter")
    if node.email_contains is not None and not node.email_contains.strip():
        raise InvalidInput("emailContains must not be blank", field="filter")
    if node.email_contains is not None and len(node.email_contains) > MAX_EMAIL_CONTAINS:
        raise InvalidInput(
            f"emailContains is longer than {MAX_EMAIL_CONTAINS} characters", field="filter"
        )
    children = [*node.all_of, *node.any_of, *([node.not_] if node.not_ else [])]
    count += sum(1 + validate_filter(child, depth + 1) for child in children)
    if count > MAX_CONDITIONS:
        raise InvalidInput(f"filter has more than {MAX_CONDITIONS} conditions", field="filter")
    return count


def _weight(value: object) -> int:
    """Conditions a field counts for: one, or one per entry of a list (an empty one: 1)."""
    if value is None:
        return 0
    return max(1, len(value)) if isinstance(value, tuple) else 1


def _check_lengths(node: ContactFilter) -> None:
    for name in CONDITIONS:
        value = getattr(node, name)
        if not isinstance(value, tuple):
            continue
        texts = (v.code if isinstance(v, TagPoints) else v for v in value)
        if any(isinstance(t, str) and len(t) > MAX_VALUE_LENGTH for t in texts):
            raise InvalidInput(
                f"{name} holds a value longer than {MAX_VALUE_LENGTH} characters", field="filter"
            )


def activity_reference(contact: ContactView) -> datetime | None:
    return contact.last_activity_at or contact.created_at


def _value(raw: object) -> object:
    return raw.value if isinstance(raw, Enum) else raw


def _leaves_hold(node: ContactFilter, c: ContactView, now: datetime) -> bool:
    score_ok = (
        (node.score_above is None or c.score > node.score_above)
        and (node.score_below is None or c.score < node.score_below)
        and (node.score_between is None or _between(c.score, node.score_between))
    )
    if not score_ok:
        return False
    for name, attr in IN_FIELDS.items():
        wanted = getattr(node, name)
        if wanted is not None and _value(getattr(c, attr)) not in wanted:
            return False
    if node.has_any_tag is not None and not c.tags.intersection(node.has_any_tag):
        return False
    if node.has_all_tags is not None and not c.tags.issuperset(node.has_all_tags):
        return False
    if node.tag_points is not None and not all(
        c.tag_points.get(t.code, 0) >= t.min_points for t in node.tag_points
    ):
        return False
    if node.created_between is not None and not _in_range(c.created_at, node.created_between):
        return False
    return _activity_holds(node, c, now) and (
        node.email_contains is None or node.email_contains.strip().lower() in c.email
    )


def _activity_holds(node: ContactFilter, c: ContactView, now: datetime) -> bool:
    ref = activity_reference(c)
    if node.last_activity_within_days is not None:
        since = now - timedelta(days=node.last_activity_within_days)
        if ref is None or ref < since:
            return False
    if node.last_activity_older_than_days is not None:
        before = now - timedelta(days=node.last_activity_older_than_days)
        if ref is None or ref >= before:
            return False
    return True


def matches(node: ContactFilter, contact: ContactView, now: datetime) -> bool:
    if not _leaves_hold(node, contact, now):
        return False
    if not all(matches(child, contact, now) for child in node.all_of):
        return False
    if node.any_of and not any(matches(child, contact, now) for child in node.any_of):
        return False
    return not (node.not_ is not None and matches(node.not_, contact, now))


def _in_range(value: datetime | None, span: DateRange) -> bool:
    if value is None:
        return False
    return (span.start is None or value >= span.start) and (span.end is None or value <= span.end)


def _between(value: int, span: IntRange) -> bool:
    return span.min <= value <= span.max


def conditions_used(node: ContactFilter) -> set[str]:
    """Names of the conditions a filter tree sets (to skip loading what it never reads)."""
    used = {name for name in CONDITIONS if getattr(node, name) is not None}
    for child in (*node.all_of, *node.any_of, *([node.not_] if node.not_ else [])):
        used |= conditions_used(child)
    return used


Predicate = Callable[[ContactView], bool]


@dataclass
class Now:
    """A clock reading that compiled predicates read at each call: set `value` and the
    same predicate answers for another moment (no compiling again as time passes)."""

    value: datetime


def predicate(node: ContactFilter, now: datetime | Now) -> Predicate:
    """`matches(node, ·, now)` compiled once: only the conditions the node sets are checked,
    for evaluating one filter against many contacts. With a `Now`, the moment is read when
    the predicate runs."""
    checks: list[Predicate] = []
    for attr, wanted in ((attr, getattr(node, name)) for name, attr in IN_FIELDS.items()):
        if wanted is not None:
            checks.append(_in_check(attr, frozenset(wanted)))
    checks += _leaf_checks(node, now)
    checks += [predicate(child, now) for child in node.all_of]
    if node.any_of:
        alternatives = [predicate(child, now) for child in node.any_of]

        def some(c: ContactView) -> bool:
            return any(p(c) for p in alternatives)

        checks.append(some)
    if node.not_ is not None:
        negated = predicate(node.not_, now)
        checks.append(lambda c: not negated(c))
    return _every(checks)


def _leaf_checks(node: ContactFilter, now: datetime | Now) -> list[Predicate]:
    """One direct check per condition other than "in" ones, each deciding as `_leaves_hold`
    does (list membership runs every list's predicate on every write)."""
    checks: list[Predicate] = []
    above, below, between = node.score_above, node.score_below, node.score_between
    if above is not None:
        checks.append(lambda c: c.score > above)
    if below is not None:
        checks.append(lambda c: c.score < below)
    if between is not None:
        checks.append(lambda c: _between(c.score, between))
    if node.has_any_tag is not None:
        anyof = frozenset(node.has_any_tag)
        checks.append(lambda c: not anyof.isdisjoint(c.tag_points.keys()))
    if node.has_all_tags is not None:
        allof = frozenset(node.has_all_tags)
        checks.append(lambda c: allof <= c.tag_points.keys())
    if node.tag_points is not None:
        needs = tuple((t.code, t.min_points) for t in node.tag_points)
        checks.append(lambda c: all(c.tag_points.get(code, 0) >= n for code, n in needs))
    if node.created_between is not None:
        span = node.created_between
        checks.append(lambda c: _in_range(c.created_at, span))
    if node.last_activity_within_days is not None or node.last_activity_older_than_days is not None:
        if isinstance(now, Now):
            cell = now
            checks.append(lambda c: _activity_holds(node, c, cell.value))
        else:
            moment = now
            checks.append(lambda c: _activity_holds(node, c, moment))
    if node.email_contains is not None:
        needle = node.email_contains.strip().lower()
        checks.append(lambda c: needle in c.email)
    return checks


def _every(checks: list[Predicate]) -> Predicate:
    """All checks hold, with no generator per contact (membership runs many per write)."""
    if not checks:
        return lambda c: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda c: first(c) and second(c)

    def every(c: ContactView) -> bool:  # a plain loop: all() would build a generator
        for check in checks:  # noqa: SIM110
            if not check(c):
                return False
        return True

    return every


def _in_check(attr: str, wanted: frozenset[object]) -> Predicate:
    # The enum attributes are StrEnums, equal to (and hashed as) their string values.
    read = attrgetter(attr)
    return lambda c: read(c) in wanted


def tag_codes(node: ContactFilter) -> set[str]:
    """Every tag code a filter tree names (to refuse filters on tags that do not exist)."""
    codes = set(node.has_any_tag or ()) | set(node.has_all_tags or ())
    codes |= {t.code for t in node.tag_points or ()}
    for child in (*node.all_of, *node.any_of, *([node.not_] if node.not_ else [])):
        codes |= tag_codes(child)
    return codes
