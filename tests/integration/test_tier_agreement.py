"""Placing contacts in SQL (`persistence.tier_sql`, what re-tiering everyone runs on) and in
Python (`services.tiers.place`: `domain.tiers.decide` and `domain.segments.segment_for`, what
every single write runs on) give every contact the same tier, index, reason, lead status and
segment, to the last bit of the index.

Generated policies (weights, caps, source and funnel tables, intent points, bands on round and
odd bounds, overrides with filters and engagement bounds), schemes (filters reading the new
tier and lead status, signal minimums) and contacts (ledger points of every reason, recent and
old interactions, pinned lead statuses, tags, companies). Runs on SQLite and, with
TEST_DATABASE_URL, on Postgres.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from api.bootstrap import unit_of_work_factory
from domain.contacts import FunnelStage, Source
from domain.segments import Segment, SegmentScheme, validate_scheme
from domain.tiers import Override, TierBand, TierPolicy, validate_tier_policy
from persistence.db import Database
from persistence.filters_sql import company_t, contact_t, contact_tag_t, tag_t
from persistence.tables import metadata
from services.tiers import place
from tests.integration.test_filter_agreement import _rows
from tests.strategies import COMPANIES, LEAD_STATUSES, NOW, TAGS, contact_sets, filters

EXAMPLES = int(os.environ.get("TIER_AGREEMENT_EXAMPLES", "300"))
entry_t = metadata.tables["score_entry"]
interaction_t = metadata.tables["interaction"]

TIER_NAMES = ["Tier 1", "Tier 2", "Tier 2+", "Tier 3"]
SIGNALS = ["DEMO_REQUEST", "WHITE_PAPER_DOWNLOAD", "PAGE_VISIT"]
# Round bounds the index lands on exactly, and odd ones it can land just below or above.
BOUNDS = [5, 10, 12.5, 20, 25, 30, 33.33, 40, 45.5, 50, 60, 66.67, 75, 80, 99.99, 100]


@st.composite
def weights(draw: st.DrawFn) -> dict[str, int]:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    names = ["engagement", "fit", "source", "funnel", "intent"]
    return dict(zip(names, parts, strict=True))


@st.composite
def policies(draw: st.DrawFn) -> TierPolicy:
    lows = sorted(set(draw(st.lists(st.sampled_from(BOUNDS), max_size=3))))
    bands = tuple(TierBand(name, low) for name, low in zip(TIER_NAMES, [0, *lows], strict=False))
    names = [band.name for band in bands]
    overrides = []
    for i in range(draw(st.integers(0, 3))):
        low = draw(st.one_of(st.none(), st.sampled_from([0, 25, 50, 60, 80.5, 100])))
        high = draw(st.one_of(st.none(), st.sampled_from([10, 50, 75.25, 100])))
        if low is not None and high is not None and low >= high:
            high = None
        where = draw(st.one_of(st.none(), filters()))
        if where is None and low is None and high is None:
            low = 50
        overrides.append(Override(f"rule {i}", draw(st.sampled_from(names)), where, low, high))
    values = st.integers(0, 100)
    return TierPolicy(
        version=1,
        weights=draw(weights()),
        engagement_cap=draw(st.sampled_from([1, 3, 7, 50, 80, 100, 150])),
        fit_cap=draw(st.sampled_from([1, 9, 40, 100])),
        source_values=draw(st.dictionaries(st.sampled_from([s.value for s in Source]), values)),
        funnel_values=draw(
            st.dictionaries(st.sampled_from([f.value for f in FunnelStage]), values)
        ),
        intent_points=draw(st.dictionaries(st.sampled_from(SIGNALS), st.integers(0, 60))),
        intent_window_days=draw(st.sampled_from([1, 7, 30])),
        bands=bands,
        overrides=tuple(overrides),
        hot_score=None,
    )


@st.composite
def schemes(draw: st.DrawFn) -> SegmentScheme:
    segments = []
    for i in range(draw(st.integers(1, 4))):
        needs = draw(st.dictionaries(st.sampled_from(SIGNALS), st.integers(1, 3), max_size=2))
        segments.append(Segment(f"S{i}", f"Segment {i}", draw(filters()), needs))
    return SegmentScheme(1, tuple(segments))


@st.composite
def histories(draw: st.DrawFn, ids: list[int]) -> tuple[list[dict], list[dict], dict[int, str]]:
    """Ledger entries, interactions and pinned lead statuses of the contacts `ids`."""
    entries, interactions, pinned = [], [], {}
    for cid in ids:
        for reason in draw(st.lists(st.sampled_from(["RULE", "DECAY", "FIT", "MANUAL"]))):
            points = draw(st.integers(-40, 120))
            entries.append({"contact_id": cid, "reason": reason, "label": "t", "points": points,
                            "at": NOW, "created_at": NOW})  # fmt: skip
        for kind in draw(st.lists(st.sampled_from(SIGNALS), max_size=5)):
            days = draw(st.sampled_from([0, 1, 6, 7, 8, 29, 31]))
            interactions.append({
                "contact_id": cid, "type": kind, "properties": {},
                "occurred_at": NOW - timedelta(days=days, minutes=draw(st.sampled_from([-1, 1]))),
                "idempotency_key": f"k{len(interactions)}", "created_at": NOW, "score_delta": 0,
            })  # fmt: skip
        status = draw(st.sampled_from([None, None, *[s for s in LEAD_STATUSES if s]]))
        if status is not None:
            pinned[cid] = status
    return entries, interactions, pinned


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(policy=policies(), scheme=schemes(), contacts=contact_sets(max_size=10), data=st.data())
async def test_sql_and_python_place_every_contact_alike(
    database_url, policy, scheme, contacts, data
):
    try:
        validate_tier_policy(policy)
        validate_scheme(scheme)
    except Exception:
        assume(False)
    ids = [c.id for c in contacts]
    entries, interactions, pinned = data.draw(histories(ids))
    db = Database(database_url)
    try:
        async with unit_of_work_factory(db)(write=True) as uow:  # rolled back: never committed
            await _store(uow.conn, contacts, entries, interactions, pinned)
            in_sql = await uow.tiers.place_span(policy, scheme, NOW, 1, max(ids, default=0))
            in_python = await place(uow, ids, policy, scheme, NOW)
            assert in_sql == {cid: (old, new) for cid, (old, new, _) in in_python.items()}
    finally:
        await db.dispose()


async def _store(conn, contacts, entries, interactions, pinned) -> None:
    companies = [{"id": i, "name": f"Co {i}", "company_type": t.value if t else None,
                  "created_at": NOW, "updated_at": NOW} for i, t in COMPANIES.items()]  # fmt: skip
    await conn.execute(insert(company_t), companies)
    tags = [{"id": i + 1, "name": c, "code": c, "created_at": NOW} for i, c in enumerate(TAGS)]
    await conn.execute(insert(tag_t), tags)
    if not contacts:
        return
    rows = _rows(contacts)
    for row in rows:
        row["lead_status_pinned"] = pinned.get(row["id"])
        row["tier_index"] = 42.0 if row["tier"] else None
        row["tier_reason"] = "index 42 >= 25 (mostly fit)" if row["tier"] else None
    await conn.execute(insert(contact_t), rows)
    links = [{"contact_id": c.id, "tag_id": TAGS.index(code) + 1, "points": points,
              "first_at": NOW, "last_at": NOW}
             for c in contacts for code, points in c.tag_points.items()]  # fmt: skip
    if links:
        await conn.execute(insert(contact_tag_t), links)
    if entries:
        await conn.execute(insert(entry_t), entries)
    if interactions:
        await conn.execute(insert(interaction_t), interactions)
