"""Primary segments: an ordered, exclusive scheme; the first matching segment wins.

A segment matches when its contact filter matches and the contact shows at least the listed
recent signals (interaction type -> count). A contact matching none has no segment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.contacts import ContactView
from domain.errors import InvalidInput
from domain.filters import ContactFilter, Now, Predicate, predicate, validate_filter

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,29}$")


@dataclass(frozen=True)
class Segment:
    code: str
    name: str
    filter: ContactFilter = field(default_factory=ContactFilter)
    min_signals: Mapping[str, int] = field(default_factory=dict)
    suggested_tier: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class SegmentScheme:
    version: int
    segments: tuple[Segment, ...]


def change_reason(scheme: SegmentScheme) -> str:
    """Why a contact's segment changed, as its tier history says."""
    return f"first matching segment of scheme v{scheme.version}"


@dataclass(frozen=True)
class TierChange:
    """One line of a contact's tier history: its tier or segment (`kind` TIER or SEGMENT)
    went from one value to another under a policy or scheme version, and why."""

    id: int
    contact_id: int
    kind: str
    from_value: str | None
    to_value: str | None
    version: int
    reason: str
    at: datetime


def segment_tests(scheme: SegmentScheme, now: datetime | Now) -> list[Predicate]:
    """The segments' filters compiled once, for placing many contacts."""
    return [predicate(segment.filter, now) for segment in scheme.segments]


def segment_for(
    scheme: SegmentScheme,
    view: ContactView,
    signals: Mapping[str, int],
    now: datetime,
    tests: list[Predicate] | None = None,
) -> Segment | None:
    tests = tests if tests is not None else segment_tests(scheme, now)
    for segment, test in zip(scheme.segments, tests, strict=True):
        needs = segment.min_signals
        if needs and not _enough(needs, signals):
            continue
        if test(view):
            return segment
    return None


def _enough(needs: Mapping[str, int], signals: Mapping[str, int]) -> bool:
    if not signals:
        return False  # every need is at least 1 (validate_scheme)
    for kind, count in needs.items():  # noqa: SIM110 (no generator per contact)
        if signals.get(kind, 0) < count:
            return False
    return True


def validate_scheme(scheme: SegmentScheme) -> None:
    if not scheme.segments:
        raise InvalidInput("give at least one segment", field="segments")
    codes: set[str] = set()
    for position, segment in enumerate(scheme.segments):
        where = f"segments[{position}]"
        if not CODE_RE.match(segment.code):
            raise InvalidInput(f"{where}: code must be A-Z, 0-9, _ (max 30)", field=where)
        if segment.code in codes:
            raise InvalidInput(f"{where}: code {segment.code} is used twice", field=where)
        codes.add(segment.code)
        if not segment.name.strip():
            raise InvalidInput(f"{where}: name must not be blank", field=where)
        if any(n < 1 for n in segment.min_signals.values()):
            raise InvalidInput(f"{where}: signal counts must be at least 1", field=where)
        try:
            validate_filter(segment.filter)
        except InvalidInput as error:
            raise InvalidInput(f"{where}: {error.message}", field=where) from None
