"""A compiled filter predicate decides exactly like `matches`."""

from __future__ import annotations

from hypothesis import given, settings

from domain.filters import matches, predicate
from tests.strategies import NOW, contact_views, filters


@settings(max_examples=500)
@given(node=filters(), contact=contact_views(1))
def test_a_compiled_predicate_agrees_with_matches(node, contact):
    assert predicate(node, NOW)(contact) == matches(node, contact, NOW)
