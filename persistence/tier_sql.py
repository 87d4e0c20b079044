"""A tier policy and a segment scheme compiled to one SQL query: where every contact of an id
range belongs, computed by the database the way `domain.tiers.decide` and
`domain.segments.segment_for` decide it for one contact in Python.

Re-tiering everyone after a policy or scheme change runs on this query instead of reading each
contact into Python: per chunk of ids the result fills a temporary table, from which the
database writes everyone's new standing and logs tier and segment changes; only the contacts
that move come back to Python (for live events, list membership and automations).

Agreement with Python is exact, not approximate: every criterion is the same sequence of IEEE
double operations in the same order (`_ratio`, the weighted sum, `rounded_index`), bands and
overrides are the same comparisons, filters are `persistence.filters_sql` (itself proven
against the domain predicates) and the reason is built from whole hundredths like
`domain.tiers.index_text`. `tests/integration/test_tier_agreement.py` proves it on SQLite and
Postgres with generated policies, schemes and contacts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import replacement_traverse

from domain.scoring import LedgerReason
from domain.segments import SegmentScheme
from domain.tiers import CRITERIA, TierBand, TierPolicy
from persistence.filters_sql import compile_filter, not_erased
from persistence.tables import metadata

contact_t: Table = metadata.tables["contact"]
entry_t: Table = metadata.tables["score_entry"]
change_t: Table = metadata.tables["tier_change"]
interaction_t: Table = metadata.tables["interaction"]

BEHAVIOUR = (LedgerReason.RULE.value, LedgerReason.DECAY.value)


def ledger_points() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Sums over score_entry rows: (behavioural points, fit points), what the tier reads."""
    entry = entry_t.c
    behavioural = or_(*(entry.reason == reason for reason in BEHAVIOUR))  # no expanding IN
    behaviour = func.sum(case((behavioural, entry.points), else_=0))
    fit = func.sum(case((entry.reason == LedgerReason.FIT.value, entry.points), else_=0))
    return behaviour, fit


# Where each contact stands (old_*) and where it belongs (the rest), in this order.
COLUMNS = ("id", "old_tier", "old_index", "old_reason", "old_status", "old_segment",
           "tier", "tier_index", "tier_reason", "lead_status", "segment")  # fmt: skip


class floor_int(FunctionElement[int]):
    """floor() of a non-negative double as an integer: `math.floor` in Python."""

    type = Integer()
    inherit_cache = True
    name = "floor_int"


@compiles(floor_int)
def _floor_int_truncating(element: floor_int, compiler: Any, **kw: Any) -> str:
    # SQLite's CAST truncates towards zero, which is floor() for the non-negative sums here.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(floor_int, "postgresql")
def _floor_int_postgres(element: floor_int, compiler: Any, **kw: Any) -> str:
    # Postgres' CAST rounds to nearest; floor() first.
    return f"CAST(floor({compiler.process(element.clauses, **kw)}) AS BIGINT)"


def _f(value: float) -> ColumnElement[float]:
    """A double constant (a plain `85.0` would be NUMERIC on Postgres: exact decimals, not
    the doubles Python computes with)."""
    return literal(float(value), Float())


def _clamp(value: ColumnElement[Any]) -> ColumnElement[float]:
    """max(0.0, min(100.0, value))."""
    return case((value < _f(0), _f(0)), (value > _f(100), _f(100)), else_=value)


def _ratio(points: ColumnElement[Any], cap: int) -> ColumnElement[float]:
    """domain.tiers._ratio: 100.0 * points / cap."""
    return _clamp(cast(func.coalesce(points, 0), Float) * _f(100) / _f(cap))


def _table_value(column: ColumnElement[Any], table: dict[str, int]) -> ColumnElement[float]:
    """A criterion looked up by an attribute (source, funnel stage): 0 when unknown or null."""
    if not table:
        return _f(0)
    return case(*((column == key, _f(value)) for key, value in table.items()), else_=_f(0))


def _index_text(steps: ColumnElement[int]) -> ColumnElement[str]:
    """domain.tiers.index_text: hundredths written as `f"{index:g}"` writes the index."""
    whole, frac = cast(steps // 100, String), steps % 100
    return case(
        (frac == 0, whole),
        (frac % 10 == 0, whole + "." + cast(frac // 10, String)),
        (frac < 10, whole + ".0" + cast(frac, String)),
        else_=whole + "." + cast(frac, String),
    )


def _substituting(
    expr: ColumnElement[bool], columns: dict[str, ColumnElement[Any]]
) -> ColumnElement[bool]:
    """`expr` with the contact's columns `columns` read as the given expressions (a segment
    filter sees the contact in its new tier and lead status)."""
    swap = {id(contact_t.c[name]): value for name, value in columns.items()}

    def replace(element: Any, **kw: Any) -> Any:
        return swap.get(id(element))

    no_options: dict[str, Any] = {}
    return replacement_traverse(expr, no_options, replace)


def placement_query(policy: TierPolicy, scheme: SegmentScheme, now: datetime) -> Select[Any]:
    """Every contact with `:lo <= id <= :hi`: its COLUMNS, under `policy` and `scheme`."""
    lo, hi = bindparam("lo", type_=Integer()), bindparam("hi", type_=Integer())
    since = now - timedelta(days=policy.intent_window_days)
    behaviour, fit = ledger_points()
    ledger = (
        select(entry_t.c.contact_id.label("cid"), behaviour.label("behaviour"), fit.label("fit"))
        .where(entry_t.c.contact_id.between(lo, hi))
        .group_by(entry_t.c.contact_id)
        .subquery("ledger")
    )
    needed = sorted({kind for s in scheme.segments for kind in s.min_signals})
    kind = interaction_t.c.type
    points = [(kind == t, p) for t, p in sorted(policy.intent_points.items()) if p]
    recent = (
        select(
            interaction_t.c.contact_id.label("cid"),
            func.sum(case(*points, else_=0) if points else literal(0)).label("intent"),
            *(func.sum(case((kind == t, 1), else_=0)).label(f"n{i}") for i, t in enumerate(needed)),
        )
        .where(interaction_t.c.contact_id.between(lo, hi), interaction_t.c.occurred_at >= since)
        .group_by(interaction_t.c.contact_id)
        .subquery("recent")
    )
    # The five criteria, each on 0-100, and the recent signals segments ask for.
    criteria = (
        select(
            contact_t.c.id.label("cid"),
            _ratio(ledger.c.behaviour, policy.engagement_cap).label("engagement"),
            _ratio(ledger.c.fit, policy.fit_cap).label("fit"),
            _table_value(contact_t.c.source, dict(policy.source_values)).label("source"),
            _table_value(contact_t.c.funnel_stage, dict(policy.funnel_values)).label("funnel"),
            _clamp(cast(func.coalesce(recent.c.intent, 0), Float)).label("intent"),
            *(func.coalesce(recent.c[f"n{i}"], 0).label(f"n{i}") for i in range(len(needed))),
        )
        .select_from(
            contact_t.outerjoin(ledger, ledger.c.cid == contact_t.c.id).outerjoin(
                recent, recent.c.cid == contact_t.c.id
            )
        )
        .where(contact_t.c.id.between(lo, hi))
        .offset(0)  # not flattened into the outer query, which reads each column many times
        .subquery("criteria")
    )
    weighted = {c: _f(policy.weights[c]) * criteria.c[c] for c in CRITERIA}
    total: ColumnElement[float] = weighted[CRITERIA[0]]
    for c in CRITERIA[1:]:
        total = total + weighted[c]
    strongest = case(
        *(
            (and_(*(weighted[c] >= weighted[other] for other in CRITERIA[i + 1 :])), literal(c))
            for i, c in enumerate(CRITERIA[:-1])
        ),
        else_=literal(CRITERIA[-1]),
    )
    scored = (
        select(
            criteria,
            floor_int(total + _f(0.5)).label("steps"),
            strongest.label("strongest"),
        )
        .offset(0)
        .subquery("scored")
    )
    steps, engagement = scored.c.steps, scored.c.engagement
    index = cast(steps, Float) / _f(100)

    def by_band(value: Callable[[TierBand], str]) -> ColumnElement[str]:
        """The value of the highest band whose lower bound the index reaches."""
        higher = [(index >= _f(b.min_index), literal(value(b))) for b in policy.bands[1:]]
        lowest = literal(value(policy.bands[0]))
        return case(*reversed(higher), else_=lowest) if higher else lowest

    band = by_band(lambda b: b.name)
    lower_bound = by_band(lambda b: f"{b.min_index:g}")
    band_reason = (
        "index " + _index_text(steps) + " >= " + lower_bound + " (mostly " + scored.c.strongest
        + ")"
    )  # fmt: skip
    overrides: list[tuple[ColumnElement[bool], str, str]] = []
    for rule in policy.overrides:
        test: list[ColumnElement[bool]] = []
        if rule.min_engagement is not None:
            test.append(engagement >= _f(rule.min_engagement))
        if rule.below_engagement is not None:
            test.append(engagement < _f(rule.below_engagement))
        if rule.filter is not None:
            test.append(compile_filter(rule.filter, now))
        overrides.append((and_(true(), *test), rule.tier, f"override: {rule.name}"))
    tier = _first(overrides, 1, band)
    reason = _first(overrides, 2, band_reason)
    status = func.coalesce(contact_t.c.lead_status_pinned, _status(policy, tier))
    segment = _segment(scheme, now, scored, needed, {"tier": tier, "lead_status": status})
    return (
        select(
            contact_t.c.id,
            contact_t.c.tier.label("old_tier"),
            contact_t.c.tier_index.label("old_index"),
            contact_t.c.tier_reason.label("old_reason"),
            contact_t.c.lead_status.label("old_status"),
            contact_t.c.segment.label("old_segment"),
            tier.label("tier"),
            index.label("tier_index"),
            reason.label("tier_reason"),
            status.label("lead_status"),
            segment.label("segment"),
        )
        .select_from(contact_t.join(scored, scored.c.cid == contact_t.c.id))
        .where(contact_t.c.id.between(lo, hi), not_erased())  # erased: frozen where they stood
    )


def _first(
    rules: list[tuple[ColumnElement[bool], str, str]], pick: int, otherwise: ColumnElement[str]
) -> ColumnElement[str]:
    """The first matching override's tier (pick 1) or reason (pick 2), else `otherwise`."""
    if not rules:
        return otherwise
    return case(*((rule[0], literal(rule[pick])) for rule in rules), else_=otherwise)


def _status(policy: TierPolicy, tier: ColumnElement[str]) -> ColumnElement[str]:
    """domain.tiers.lead_status: HOT for the top tier, COLD for the first, WARM between."""
    names = [band.name for band in policy.bands]
    if len(names) == 1:
        return literal("COLD")
    return case((tier == names[-1], "HOT"), (tier == names[0], "COLD"), else_="WARM")


def _segment(
    scheme: SegmentScheme,
    now: datetime,
    scored: Any,
    needed: list[str],
    placed: dict[str, ColumnElement[Any]],
) -> ColumnElement[str | None]:
    """domain.segments.segment_for: the first segment whose signals and filter hold, with the
    contact seen in its new tier and lead status."""
    count: Callable[[str], ColumnElement[int]] = lambda kind: scored.c[f"n{needed.index(kind)}"]  # noqa: E731
    whens = []
    for segment in scheme.segments:
        enough = [count(kind) >= n for kind, n in segment.min_signals.items()]
        test = _substituting(compile_filter(segment.filter, now), placed)
        whens.append((and_(true(), *enough, test), literal(segment.code)))
    return case(*whens, else_=null())


# Where one chunk of contacts belongs, computed once: the contacts that move are read back,
# everyone's new standing is written and the change log filled from here.
placement_t = Table(
    "tier_placement",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("old_tier", String),
    Column("old_index", Float),
    Column("old_reason", String),
    Column("old_status", String),
    Column("old_segment", String),
    Column("tier", String),
    Column("tier_index", Float),
    Column("tier_reason", String),
    Column("lead_status", String),
    Column("segment", String),
    prefixes=["TEMPORARY"],
)
CREATE_PLACEMENT = CreateTable(placement_t, if_not_exists=True)
_p = placement_t.c
MOVES = or_(
    _p.old_tier.is_distinct_from(_p.tier),
    _p.old_status.is_distinct_from(_p.lead_status),
    _p.old_segment.is_distinct_from(_p.segment),
)
MOVED = select(placement_t).where(MOVES)
# The chunk's range again: without it SQLite, which knows nothing of the temporary table's
# size, may scan every contact to join them.
SPAN = contact_t.c.id.between(bindparam("lo", type_=Integer()), bindparam("hi", type_=Integer()))
SET_INDEXES = (
    update(contact_t)
    .where(
        contact_t.c.id == _p.id,
        SPAN,
        ~MOVES,
        or_(
            _p.old_index.is_distinct_from(_p.tier_index),
            _p.old_reason.is_distinct_from(_p.tier_reason),
        ),
    )
    .values(tier_index=_p.tier_index, tier_reason=_p.tier_reason, tier_version=bindparam("version"))
)
SET_PLACED = (
    update(contact_t)
    .where(contact_t.c.id == _p.id, SPAN, MOVES)
    .values(
        tier=_p.tier,
        tier_index=_p.tier_index,
        tier_reason=_p.tier_reason,
        lead_status=_p.lead_status,
        segment=_p.segment,
        tier_version=bindparam("version"),
        segment_version=bindparam("segment_version"),
    )
)


def _log(kind: str, old: Any, new: Any, version: str, reason: Any) -> Any:
    """The change log rows of the contacts whose `kind` (TIER, SEGMENT) moved."""
    rows = select(
        _p.id,
        literal(kind),
        old,
        new,
        bindparam(version, type_=Integer()),
        func.substr(reason, 1, 300),
        bindparam("at", type_=change_t.c.at.type),
    ).where(old.is_distinct_from(new))
    names = ["contact_id", "kind", "from_value", "to_value", "version", "reason", "at"]
    return insert(change_t).from_select(names, rows)


LOG_TIERS = _log("TIER", _p.old_tier, _p.tier, "version", _p.tier_reason)
LOG_SEGMENTS = _log(
    "SEGMENT", _p.old_segment, _p.segment, "segment_version",
    bindparam("segment_reason", type_=String()),
)  # fmt: skip
CLEAR_PLACEMENT = delete(placement_t)
