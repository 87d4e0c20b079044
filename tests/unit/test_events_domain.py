"""Live events: snapshots, hot-lead decisions and which subscriptions want which events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.contacts import ContactView
from domain.events import (
    EventSpec,
    EventType,
    hot_reason,
    interaction,
    score_changed,
    tier_changed,
    view_from_dict,
    view_to_dict,
)
from domain.filters import ContactFilter, matches
from tests.strategies import contact_views, filters

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
VIEW = ContactView(id=7, email="a@x.it", score=50, tier="Tier 2", region="Lazio",
                   created_at=NOW, tag_points={"fiera": 3})  # fmt: skip


@given(view=contact_views(5))
def test_a_snapshot_reads_back_as_the_same_contact(view):
    assert view_from_dict(view.id, view_to_dict(view)) == replace(
        view, tag_points=dict(view.tag_points)
    )


@given(view=contact_views(3), node=filters())
def test_a_subscription_filter_decides_like_the_contact_filter(view, node):
    event = score_changed(view, 5, NOW)
    wants = EventSpec(frozenset({EventType.SCORE_CHANGED}), filter=node).matcher()
    assert wants(event) == matches(node, view, NOW)


def test_score_events_carry_old_and_new_scores():
    event = score_changed(VIEW, 15, NOW)
    assert (event.payload["old_score"], event.payload["new_score"], event.payload["delta"]) == (
        35,
        50,
        15,
    )


def test_min_delta_counts_drops_as_well_as_rises():
    spec = EventSpec(frozenset({EventType.SCORE_CHANGED}), min_delta=10)
    wants = spec.matcher()
    assert wants(score_changed(VIEW, -12, NOW))
    assert not wants(score_changed(VIEW, 9, NOW))


def test_to_tiers_and_contact_and_type_narrow_the_stream():
    into_2 = tier_changed(VIEW, "Tier 1", "index 40 >= 30", 1, NOW)
    assert EventSpec(frozenset({EventType.TIER_CHANGED}), to_tiers=frozenset({"Tier 2"})).matcher()(
        into_2
    )
    assert not EventSpec(
        frozenset({EventType.TIER_CHANGED}), to_tiers=frozenset({"Tier 2+"})
    ).matcher()(into_2)
    assert not EventSpec(frozenset({EventType.SCORE_CHANGED})).matcher()(into_2)
    everything_of_7 = EventSpec(frozenset(EventType), contact_id=7).matcher()
    assert everything_of_7(into_2) and everything_of_7(interaction(7, "EMAIL_OPEN", 9, NOW))
    assert not everything_of_7(interaction(8, "EMAIL_OPEN", 9, NOW))


def test_interaction_events_never_match_a_contact_filter():
    spec = EventSpec(frozenset(EventType), filter=ContactFilter(region_in=("Lazio",)))
    assert not spec.matcher()(interaction(7, "EMAIL_OPEN", 9, NOW))


def test_a_hot_lead_enters_the_top_tier_or_reaches_the_hot_score_from_below():
    assert hot_reason("Tier 2+", None, ("Tier 2", 50), ("Tier 2+", 70)) == "entered Tier 2+"
    assert hot_reason("Tier 2+", None, ("Tier 2+", 70), ("Tier 2+", 90)) is None
    assert hot_reason("Tier 2+", 80, ("Tier 2", 79), ("Tier 2", 80)) == "score reached 80"
    assert hot_reason("Tier 2+", 80, ("Tier 2", 80), ("Tier 2", 95)) is None
    assert hot_reason("Tier 2+", 80, ("Tier 2", 90), ("Tier 2", 60)) is None


@given(old=st.integers(-100, 300), new=st.integers(-100, 300), hot=st.integers(1, 200))
def test_the_hot_score_fires_exactly_when_crossed_upwards(old, new, hot):
    fired = hot_reason("Top", hot, ("Low", old), ("Low", new)) is not None
    assert fired == (old < hot <= new)
