"""Filters, tier policies and segment schemes survive a trip through JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from domain.codec import (
    filter_from_dict,
    filter_to_dict,
    policy_from_dict,
    policy_to_dict,
    scheme_from_dict,
    scheme_to_dict,
)
from domain.errors import InvalidInput
from domain.tier_defaults import DEFAULT_POLICY, DEFAULT_SCHEME
from tests.strategies import filters


@given(filters())
def test_any_filter_round_trips_through_json(node):
    assert filter_from_dict(json.loads(json.dumps(filter_to_dict(node)))) == node


def test_the_default_policy_and_scheme_round_trip_through_json():
    policy = json.loads(json.dumps(policy_to_dict(DEFAULT_POLICY)))
    assert policy_from_dict(1, policy) == DEFAULT_POLICY
    scheme = json.loads(json.dumps(scheme_to_dict(DEFAULT_SCHEME)))
    assert scheme_from_dict(1, scheme) == DEFAULT_SCHEME


def test_unknown_filter_fields_are_refused():
    with pytest.raises(InvalidInput):
        filter_from_dict({"shoe_size": 3})
