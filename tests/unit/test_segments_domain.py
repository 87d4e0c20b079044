"""Segments: exclusive, first match wins; the seed's six primary segments."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contacts import ContactView, FunnelStage, Source
from domain.errors import InvalidInput
from domain.filters import ContactFilter
from domain.segments import Segment, segment_for, validate_scheme
from domain.tier_defaults import DEFAULT_SCHEME
from tests.strategies import contact_views

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def view(source=None, stage=None):
    return ContactView(id=1, email="a@x.it", source=source, funnel_stage=stage, created_at=NOW)


@pytest.mark.parametrize(
    ("contact", "signals", "code"),
    [
        (view(Source.EVENT, FunnelStage.CONSIDERATION), {"WHITE_PAPER_DOWNLOAD": 3}, "A"),
        (view(Source.EVENT, FunnelStage.CONSIDERATION), {"WHITE_PAPER_DOWNLOAD": 2}, "E"),
        (view(Source.REFERRAL, FunnelStage.DECISION), {"DEMO_REQUEST": 1}, "B"),
        (view(Source.REFERRAL, FunnelStage.DECISION), {}, "D"),
        (view(Source.WEB), {"PRODUCT_PAGE_LONG_VISIT": 2, "WHITE_PAPER_DOWNLOAD": 1}, "C"),
        (view(Source.WEB, FunnelStage.AWARENESS), {}, "F"),
        (view(), {}, "F"),
    ],
)
def test_the_default_scheme_places_the_seed_examples(contact, signals, code):
    segment = segment_for(DEFAULT_SCHEME, contact, signals, NOW)
    assert segment is not None and segment.code == code


def test_the_first_matching_segment_wins():
    wide = Segment("WIDE", "Everyone")
    narrow = Segment("EVENT", "Events", ContactFilter(source_in=("EVENT",)))
    scheme = replace(DEFAULT_SCHEME, segments=(wide, narrow))
    assert segment_for(scheme, view(Source.EVENT), {}, NOW).code == "WIDE"
    scheme = replace(DEFAULT_SCHEME, segments=(narrow, wide))
    assert segment_for(scheme, view(Source.EVENT), {}, NOW).code == "EVENT"


def test_a_contact_matching_no_segment_has_none():
    scheme = replace(DEFAULT_SCHEME, segments=DEFAULT_SCHEME.segments[:2])
    assert segment_for(scheme, view(Source.WEB), {}, NOW) is None


@given(contact=contact_views(1), signals=st.dictionaries(st.sampled_from(["DEMO_REQUEST", "WHITE_PAPER_DOWNLOAD", "PRODUCT_PAGE_LONG_VISIT"]), st.integers(0, 4)))  # fmt: skip
def test_the_chosen_segment_is_the_first_of_all_that_match(contact, signals):
    chosen = segment_for(DEFAULT_SCHEME, contact, signals, NOW)
    matching = [
        s for s in DEFAULT_SCHEME.segments
        if segment_for(replace(DEFAULT_SCHEME, segments=(s,)), contact, signals, NOW) is not None
    ]  # fmt: skip
    assert chosen == (matching[0] if matching else None)


def test_the_default_scheme_is_valid_and_has_six_segments():
    validate_scheme(DEFAULT_SCHEME)
    assert [s.code for s in DEFAULT_SCHEME.segments] == ["A", "B", "C", "D", "E", "F"]


@pytest.mark.parametrize(
    "segments",
    [
        (Segment("a", "lower-case code"),),
        (Segment("A", "one"), Segment("A", "twice")),
        (Segment("A", "  "),),
        (Segment("A", "zero", min_signals={"DEMO_REQUEST": 0}),),
        (
            Segment(
                "A", "bad filter", ContactFilter(score_between=None, last_activity_within_days=-2)
            ),
        ),
    ],
)
def test_bad_schemes_are_refused(segments):
    with pytest.raises(InvalidInput) as error:
        validate_scheme(replace(DEFAULT_SCHEME, segments=segments))
    assert error.value.field.startswith("segments[")
