"""Tiers: criteria, the weighted index, band edges, override priority, validation."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contacts import ContactView, FunnelStage, Source
from domain.errors import InvalidInput
from domain.filters import ContactFilter
from domain.tier_defaults import DEFAULT_POLICY, TIER_1, TIER_2, TIER_2_PLUS
from domain.tiers import (
    CRITERIA,
    Override,
    TierBand,
    TierInputs,
    band_for,
    criteria,
    decide,
    hundredths,
    index_text,
    rounded_index,
    tier_index,
    validate_tier_policy,
)
from tests.strategies import contact_views

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NO_OVERRIDES = replace(DEFAULT_POLICY, overrides=())


def inputs(behaviour=0, fit=0, source=None, stage=None, signals=None):
    view = ContactView(id=1, email="a@x.it", source=source, funnel_stage=stage, created_at=NOW)
    return TierInputs(view, behaviour, fit, signals or {})


def test_the_index_keeps_two_decimals_rounding_halves_up():
    # 12.125 is exact in binary: halves go up (Python's round() would give 12.12).
    assert rounded_index(1212.5) == 12.13
    assert rounded_index(1212.4999) == 12.12
    assert rounded_index(0.0) == 0.0 and rounded_index(10_000.0) == 100.0
    assert hundredths(4549.5) == 4550


def test_the_reason_writes_the_index_as_format_g_does():
    assert [index_text(n) for n in (0, 5, 50, 4550, 4555, 10_000)] == [
        "0", "0.05", "0.5", "45.5", "45.55", "100",
    ]  # fmt: skip
    assert all(index_text(n) == f"{n / 100:g}" for n in range(10_001))


def test_engagement_and_fit_are_points_against_their_caps_clamped_to_0_100():
    values = criteria(DEFAULT_POLICY, inputs(behaviour=45, fit=10))
    assert (values["engagement"], values["fit"]) == (45.0, 20.0)
    assert criteria(DEFAULT_POLICY, inputs(behaviour=-20))["engagement"] == 0.0
    assert criteria(DEFAULT_POLICY, inputs(behaviour=500, fit=500))["fit"] == 100.0


def test_source_and_funnel_values_follow_the_seed():
    values = criteria(DEFAULT_POLICY, inputs(source=Source.EVENT, stage=FunnelStage.DECISION))
    assert values["source"] > 80 and values["funnel"] > 60
    assert criteria(DEFAULT_POLICY, inputs(source=Source.REFERRAL))["source"] > 70
    assert 0 <= criteria(DEFAULT_POLICY, inputs(stage=FunnelStage.AWARENESS))["funnel"] <= 30
    assert 30 <= criteria(DEFAULT_POLICY, inputs(stage=FunnelStage.CONSIDERATION))["funnel"] <= 60
    assert criteria(DEFAULT_POLICY, inputs())["source"] == 0.0


def test_intent_adds_signal_points_and_caps_at_100():
    assert criteria(DEFAULT_POLICY, inputs(signals={"WHITE_PAPER_DOWNLOAD": 1}))["intent"] == 15
    assert criteria(DEFAULT_POLICY, inputs(signals={"DEMO_REQUEST": 1}))["intent"] == 40
    many = {"DEMO_REQUEST": 2, "WHITE_PAPER_DOWNLOAD": 3, "UNRELATED": 9}
    assert criteria(DEFAULT_POLICY, inputs(signals=many))["intent"] == 100


def test_the_index_is_the_weighted_mean_of_the_criteria():
    values = {"engagement": 100.0, "fit": 0.0, "source": 50.0, "funnel": 45.0, "intent": 40.0}
    assert tier_index(DEFAULT_POLICY, values) == pytest.approx(35 + 10 + 9 + 6)


@pytest.mark.parametrize(
    ("index", "tier"),
    [
        (0, TIER_1),
        (29.99, TIER_1),
        (30, TIER_2),
        (69.99, TIER_2),
        (70, TIER_2_PLUS),
        (100, TIER_2_PLUS),
    ],
)
def test_band_edges_belong_to_the_upper_band(index, tier):
    assert band_for(DEFAULT_POLICY.bands, index).name == tier


def test_without_overrides_the_band_of_the_index_decides():
    decision = decide(
        NO_OVERRIDES, inputs(behaviour=60, source=Source.WEB, stage=FunnelStage.CONSIDERATION), NOW
    )
    assert decision.tier == TIER_2
    assert decision.reason.startswith("index ")


def test_an_event_lead_at_65_engagement_goes_to_tier_2_plus_without_waiting_for_70():
    event = decide(DEFAULT_POLICY, inputs(behaviour=65, source=Source.EVENT), NOW)
    web = decide(DEFAULT_POLICY, inputs(behaviour=65, source=Source.WEB), NOW)
    assert (
        event.tier == TIER_2_PLUS and event.reason == "override: event lead with engagement >= 65"
    )
    assert web.tier != TIER_2_PLUS


def test_an_engagement_peak_of_70_goes_to_tier_2_plus_and_under_30_stays_tier_1():
    assert decide(DEFAULT_POLICY, inputs(behaviour=70), NOW).tier == TIER_2_PLUS
    strong_otherwise = inputs(behaviour=25, fit=50, source=Source.EVENT, stage=FunnelStage.DECISION,
                              signals={"DEMO_REQUEST": 3})  # fmt: skip
    assert tier_index(NO_OVERRIDES, criteria(NO_OVERRIDES, strong_otherwise)) >= 30
    assert decide(DEFAULT_POLICY, strong_otherwise, NOW).tier == TIER_1


def test_overrides_are_tried_in_priority_order():
    first = Override("vip", TIER_2, ContactFilter(source_in=("EVENT",)))
    second = Override("event", TIER_2_PLUS, ContactFilter(source_in=("EVENT",)))
    policy = replace(DEFAULT_POLICY, overrides=(first, second))
    assert decide(policy, inputs(source=Source.EVENT), NOW).tier == TIER_2
    policy = replace(DEFAULT_POLICY, overrides=(second, first))
    assert decide(policy, inputs(source=Source.EVENT), NOW).tier == TIER_2_PLUS


def test_the_default_policy_is_valid():
    validate_tier_policy(DEFAULT_POLICY)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weights": {**DEFAULT_POLICY.weights, "fit": 11}}, "weights"),
        ({"weights": {"engagement": 100}}, "weights"),
        ({"weights": {**DEFAULT_POLICY.weights, "fit": -10, "intent": 35}}, "weights"),
        ({"engagement_cap": 0}, "engagementCap"),
        ({"source_values": {"EVENT": 120}}, "sourceValues"),
        ({"intent_window_days": 0}, "intentWindowDays"),
        ({"bands": ()}, "tiers"),
        ({"bands": (TierBand("A", 10), TierBand("B", 50))}, "tiers"),
        ({"bands": (TierBand("A", 0), TierBand("B", 70), TierBand("C", 30))}, "tiers"),
        ({"bands": (TierBand("A", 0), TierBand("B", 30), TierBand("C", 30))}, "tiers"),
        ({"bands": (TierBand("A", 0), TierBand("A", 30))}, "tiers"),
        ({"bands": (TierBand("A", 0), TierBand("Tier for the very best", 30))}, "tiers"),
        ({"overrides": (Override(" ", TIER_1, min_engagement=1),)}, "overrides[0]"),
        ({"overrides": (Override("x" * 101, TIER_1, min_engagement=1),)}, "overrides[0]"),
        ({"overrides": (Override("x", "Tier 9", min_engagement=1),)}, "overrides[0]"),
        ({"overrides": (Override("x", TIER_1),)}, "overrides[0]"),
        (
            {"overrides": (Override("x", TIER_1, min_engagement=50, below_engagement=40),)},
            "overrides[0]",
        ),
        (
            {"overrides": (Override("x", TIER_1, ContactFilter(last_activity_within_days=-1)),)},
            "overrides[0]",
        ),
    ],
)
def test_bad_policies_are_refused_with_the_field_named(change, field):
    with pytest.raises(InvalidInput) as error:
        validate_tier_policy(replace(DEFAULT_POLICY, **change))
    assert error.value.field == field


@st.composite
def policies(draw):
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)))
    bounds = [0, *cuts, 100]
    weights = dict(zip(CRITERIA, (b - a for a, b in itertools.pairwise(bounds)), strict=True))
    lows = sorted(set(draw(st.lists(st.floats(1, 100), max_size=4))))
    bands = (TierBand("T0", 0), *(TierBand(f"T{i + 1}", low) for i, low in enumerate(lows)))
    names = [b.name for b in bands]
    overrides = tuple(
        Override(f"o{i}", draw(st.sampled_from(names)),
                 draw(st.one_of(st.none(), st.just(ContactFilter(source_in=("EVENT",))))),
                 min_engagement=draw(st.floats(0, 100)))
        for i in range(draw(st.integers(0, 3)))
    )  # fmt: skip
    return replace(DEFAULT_POLICY, weights=weights, bands=bands, overrides=overrides)


@given(policy=policies(), view=contact_views(1), behaviour=st.integers(-200, 400),
       fit=st.integers(-50, 200), signals=st.dictionaries(st.sampled_from(["DEMO_REQUEST", "WHITE_PAPER_DOWNLOAD"]), st.integers(0, 5)))  # fmt: skip
def test_every_contact_maps_to_exactly_one_tier(policy, view, behaviour, fit, signals):
    validate_tier_policy(policy)
    decision = decide(policy, TierInputs(view, behaviour, fit, signals), NOW)
    assert 0 <= decision.index <= 100
    assert decision.index == tier_index(
        policy, criteria(policy, TierInputs(view, behaviour, fit, signals))
    )
    containing = [
        band for band, upper in zip(policy.bands, [*policy.bands[1:], None], strict=True)
        if band.min_index <= decision.index and (upper is None or decision.index < upper.min_index)
    ]  # fmt: skip
    assert len(containing) == 1
    if decision.reason.startswith("override: "):
        assert decision.tier in {o.tier for o in policy.overrides}
    else:
        assert decision.tier == containing[0].name
