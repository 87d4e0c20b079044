"""Free-form JSON: what is refused at input, and how stored values read back."""

from __future__ import annotations

import math

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput, parse_id
from domain.json_values import INT64_MAX, INT64_MIN, check_json_value, read_json

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)


@given(JSON)
def test_what_is_accepted_encodes_and_reads_back_unchanged(value):
    try:
        check_json_value({"v": value}, "properties")
    except InvalidInput as refused:
        assert refused.field == "properties"
        return
    assert read_json(orjson.dumps({"v": value})) == {"v": value}


@given(st.text(max_size=30).map(repr) | st.integers().map(str))
def test_what_is_stored_always_reads_back_as_encodable(text):
    try:
        value = read_json(text)
    except ValueError:
        return
    orjson.dumps(value)


@pytest.mark.parametrize(
    "value", [INT64_MAX + 1, INT64_MIN - 1, [0, {"a": 10**30}], math.nan, math.inf]
)
def test_integers_past_64_bits_and_non_finite_floats_are_refused(value):
    with pytest.raises(InvalidInput) as refused:
        check_json_value({"x": value}, "customAttributes")
    assert refused.value.field == "customAttributes"


def test_large_stored_integers_read_back_as_floats():
    assert read_json('{"a": 99999999999999999999999, "b": 18446744073709551615}') == {
        "a": 1e23,
        "b": 2**64 - 1,
    }
    assert read_json("[" + "9" * 5000 + "]") == [math.inf]


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "-1",
        "2147483648",
        "9223372036854775808",
        "1" * 30,
        "\u0661",
        "1_0",
        " 1",
        "1.0",
        "",
        "0x1",
    ],
)
def test_ids_outside_one_to_2_pow_31_or_not_ascii_digits_are_refused(raw):
    with pytest.raises(InvalidInput) as refused:
        parse_id(raw, "contact", "contactId")
    assert refused.value.field == "contactId"


def test_ids_up_to_2_pow_31_minus_1_parse():
    assert parse_id("2147483647", "contact") == 2**31 - 1
    assert parse_id("1", "contact") == 1
