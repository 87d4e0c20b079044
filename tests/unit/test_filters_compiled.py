"""A compiled filter predicate decides exactly like `matches`."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis.strategies import integers

from domain.filters import Now, matches, predicate
from tests.strategies import NOW, contact_views, filters


@settings(max_examples=500)
@given(node=filters(), contact=contact_views(1))
def test_a_compiled_predicate_agrees_with_matches(node, contact):
    assert predicate(node, NOW)(contact) == matches(node, contact, NOW)


@settings(max_examples=300)
@given(node=filters(), contact=contact_views(1), days=integers(-400, 400))
def test_a_predicate_reading_a_now_cell_agrees_with_matches_at_that_moment(node, contact, days):
    cell = Now(NOW)
    compiled = predicate(node, cell)  # compiled once, asked at two moments
    assert compiled(contact) == matches(node, contact, NOW)
    cell.value = NOW + timedelta(days=days)
    assert compiled(contact) == matches(node, contact, cell.value)
