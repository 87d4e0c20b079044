"""Tiers: a weighted 0-100 index from five criteria, ordered bands, priority overrides.

The index is the weighted mean of five criteria, each on 0-100: engagement (behavioural
points against a cap), fit (fit points against a cap), source, funnel stage, and intent
(points of recent intent signals, capped at 100). Bands are ordered by their lower bound
and cover 0-100 without gaps, so every index falls in exactly one band. Overrides are tried
in priority order before the bands; the first that matches decides ("regardless of the
other rules"), so every contact maps to exactly one tier.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.contacts import ContactView, FunnelStage, Source
from domain.errors import InvalidInput
from domain.filters import ContactFilter, Now, Predicate, predicate, validate_filter

CRITERIA = ("engagement", "fit", "source", "funnel", "intent")
# Stored with every contact (tier) and in its tier reason ("override: <name>", 300 at most).
TIER_NAME_MAX = 20
OVERRIDE_NAME_MAX = 100


@dataclass(frozen=True)
class TierBand:
    name: str
    min_index: float


@dataclass(frozen=True)
class Override:
    """When `filter` matches and min_engagement <= engagement < below_engagement (bounds
    optional), the tier is `tier`."""

    name: str
    tier: str
    filter: ContactFilter | None = None
    min_engagement: float | None = None
    below_engagement: float | None = None


@dataclass(frozen=True)
class TierPolicy:
    version: int
    weights: Mapping[str, int]
    engagement_cap: int
    fit_cap: int
    source_values: Mapping[str, int]
    funnel_values: Mapping[str, int]
    intent_points: Mapping[str, int]
    intent_window_days: int
    bands: tuple[TierBand, ...]
    overrides: tuple[Override, ...] = ()
    # A contact becomes a hot lead on entering the top tier, or when its behavioural score
    # reaches this many points (None: the top tier only).
    hot_score: int | None = None


@dataclass(frozen=True)
class TierInputs:
    """What the tier engine reads about one contact."""

    view: ContactView
    behaviour_points: int
    fit_points: int
    signals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TierDecision:
    tier: str
    index: float
    criteria: Mapping[str, float]
    reason: str


def _ratio(points: int, cap: int) -> float:
    return max(0.0, min(100.0, 100.0 * points / cap))


def criteria(policy: TierPolicy, inputs: TierInputs) -> dict[str, float]:
    view = inputs.view
    # Source and FunnelStage are StrEnums: a member finds its value's key.
    source, stage = view.source, view.funnel_stage
    signals = inputs.signals
    intent = sum(policy.intent_points.get(t, 0) * n for t, n in signals.items()) if signals else 0
    return {
        "engagement": _ratio(inputs.behaviour_points, policy.engagement_cap),
        "fit": _ratio(inputs.fit_points, policy.fit_cap),
        "source": float(policy.source_values.get(source, 0)) if source else 0.0,
        "funnel": float(policy.funnel_values.get(stage, 0)) if stage else 0.0,
        "intent": max(0.0, min(100.0, float(intent))),
    }


def tier_index(policy: TierPolicy, values: Mapping[str, float]) -> float:
    weighted = 0.0
    for c in CRITERIA:
        weighted += policy.weights[c] * values[c]
    return rounded_index(weighted)


def rounded_index(weighted: float) -> float:
    """The index (two decimals, halves up) of a weighted sum (0-10,000: weights summing to 100
    times criteria on 0-100). Spelled in steps SQL repeats exactly in IEEE doubles
    (`persistence.tier_sql`), so the set-based re-tier stores the same index as Python."""
    return hundredths(weighted) / 100


def hundredths(weighted: float) -> int:
    return math.floor(weighted + 0.5)


def index_text(hundredths: int) -> str:
    """The index as the reason shows it: `f"{index:g}"`, written from whole hundredths."""
    whole, frac = divmod(hundredths, 100)
    if frac == 0:
        return str(whole)
    return f"{whole}.{frac // 10}" if frac % 10 == 0 else f"{whole}.{frac:02d}"


def band_for(bands: tuple[TierBand, ...], index: float) -> TierBand:
    """The highest band whose lower bound the index reaches (bands start at 0)."""
    chosen = bands[0]
    for band in bands:
        if index >= band.min_index:
            chosen = band
    return chosen


def _override_matches(
    rule: Override, view: ContactView, engagement: float, test: Predicate
) -> bool:
    if rule.min_engagement is not None and engagement < rule.min_engagement:
        return False
    if rule.below_engagement is not None and engagement >= rule.below_engagement:
        return False
    return rule.filter is None or test(view)


def override_tests(policy: TierPolicy, now: datetime | Now) -> list[Predicate]:
    """The overrides' filters compiled once, for deciding many contacts."""
    return [predicate(o.filter or ContactFilter(), now) for o in policy.overrides]


def decide(
    policy: TierPolicy,
    inputs: TierInputs,
    now: datetime,
    tests: list[Predicate] | None = None,
) -> TierDecision:
    values = criteria(policy, inputs)
    w = policy.weights
    # tier_index() spelled out: the same sum in the same order, without a loop per contact
    # (this runs for every contact when a policy changes).
    steps = hundredths(
        w["engagement"] * values["engagement"]
        + w["fit"] * values["fit"]
        + w["source"] * values["source"]
        + w["funnel"] * values["funnel"]
        + w["intent"] * values["intent"]
    )
    index = steps / 100
    tests = tests if tests is not None else override_tests(policy, now)
    for rule, test in zip(policy.overrides, tests, strict=True):
        if _override_matches(rule, inputs.view, values["engagement"], test):
            return TierDecision(rule.tier, index, values, f"override: {rule.name}")
    band = band_for(policy.bands, index)
    strongest = max(CRITERIA, key=lambda c: w[c] * values[c])
    return TierDecision(
        band.name,
        index,
        values,
        f"index {index_text(steps)} >= {band.min_index:g} (mostly {strongest})",
    )


def validate_tier_policy(policy: TierPolicy) -> None:
    """Field-level refusals: weights, caps, bands, overrides."""
    if set(policy.weights) != set(CRITERIA):
        raise InvalidInput(f"weights must name exactly {', '.join(CRITERIA)}", field="weights")
    if any(w < 0 for w in policy.weights.values()):
        raise InvalidInput("weights must not be negative", field="weights")
    if sum(policy.weights.values()) != 100:
        total = sum(policy.weights.values())
        raise InvalidInput(f"weights must sum to 100, they sum to {total}", field="weights")
    if policy.hot_score is not None and policy.hot_score < 1:
        raise InvalidInput("hotScore must be at least 1 point (or null)", field="hotScore")
    for name, cap in (("engagementCap", policy.engagement_cap), ("fitCap", policy.fit_cap)):
        if cap <= 0:
            raise InvalidInput(f"{name} must be a positive number of points", field=name)
    known = {
        "sourceValues": {s.value for s in Source},
        "funnelValues": {f.value for f in FunnelStage},
    }
    for name, table in (
        ("sourceValues", policy.source_values),
        ("funnelValues", policy.funnel_values),
    ):
        if any(not 0 <= v <= 100 for v in table.values()):
            raise InvalidInput(f"{name} must be between 0 and 100", field=name)
        unknown = set(table) - known[name]
        if unknown:
            raise InvalidInput(f"{name}: unknown keys {', '.join(sorted(unknown))}", field=name)
    if any(points < 0 for points in policy.intent_points.values()):
        raise InvalidInput("intentPoints must not be negative", field="intentPoints")
    if not 1 <= policy.intent_window_days <= 3650:
        raise InvalidInput("intentWindowDays must be 1-3650", field="intentWindowDays")
    _validate_bands(policy.bands)
    names = {band.name for band in policy.bands}
    for position, rule in enumerate(policy.overrides):
        _validate_override(rule, names, position)


def _validate_bands(bands: tuple[TierBand, ...]) -> None:
    if not bands:
        raise InvalidInput("give at least one tier", field="tiers")
    if bands[0].min_index != 0:
        raise InvalidInput("the first tier must start at index 0", field="tiers")
    lows = [band.min_index for band in bands]
    if any(b <= a for a, b in itertools.pairwise(lows)):
        raise InvalidInput("tiers must be in increasing order of minIndex, without overlaps",
                           field="tiers")  # fmt: skip
    if lows[-1] > 100:
        raise InvalidInput("minIndex must be at most 100", field="tiers")
    names = [band.name.strip() for band in bands]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise InvalidInput("tier names must be unique and not blank", field="tiers")
    if any(len(band.name) > TIER_NAME_MAX for band in bands):
        raise InvalidInput(f"tier names must be at most {TIER_NAME_MAX} characters",
                           field="tiers")  # fmt: skip


def _validate_override(rule: Override, tiers: set[str], position: int) -> None:
    where = f"overrides[{position}]"
    if not rule.name.strip() or len(rule.name) > OVERRIDE_NAME_MAX:
        raise InvalidInput(f"{where}: name must be 1-{OVERRIDE_NAME_MAX} characters", field=where)
    if rule.tier not in tiers:
        raise InvalidInput(f"{where}: unknown tier {rule.tier!r}", field=where)
    if rule.filter is None and rule.min_engagement is None and rule.below_engagement is None:
        raise InvalidInput(f"{where}: give a filter or an engagement bound", field=where)
    low, high = rule.min_engagement, rule.below_engagement
    if low is not None and high is not None and low >= high:
        raise InvalidInput(f"{where}: minEngagement must be below belowEngagement", field=where)
    if rule.filter is not None:
        try:
            validate_filter(rule.filter)
        except InvalidInput as error:
            raise InvalidInput(f"{where}: {error.message}", field=where) from None


def lead_status(policy: TierPolicy, tier: str) -> str:
    """HOT for the top tier, COLD for the first, WARM in between."""
    names = [band.name for band in policy.bands]
    if tier == names[-1] and len(names) > 1:
        return "HOT"
    if tier == names[0]:
        return "COLD"
    return "WARM"


@dataclass(frozen=True)
class Movement:
    """How a proposed policy would redistribute contacts: counts now, counts proposed, and
    the tier-to-tier matrix (from, to) -> contacts."""

    now: dict[str | None, int]
    proposed: dict[str | None, int]
    matrix: dict[tuple[str | None, str | None], int]


def movement(pairs: Iterable[tuple[str | None, str | None]]) -> Movement:
    result = Movement({}, {}, {})
    for old, new in pairs:
        result.now[old] = result.now.get(old, 0) + 1
        result.proposed[new] = result.proposed.get(new, 0) + 1
        result.matrix[(old, new)] = result.matrix.get((old, new), 0) + 1
    return result
