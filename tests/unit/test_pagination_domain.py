"""Page sizes and cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.pagination import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Cursor,
    decode_cursor,
    encode_cursor,
    page_request,
)


@given(
    st.one_of(
        st.tuples(st.just("SCORE"), st.integers(-(2**31), 2**31 - 1)),
        st.tuples(st.sampled_from(["EMAIL", "LAST_NAME", "NAME"]), st.text(max_size=200)),
        st.tuples(
            st.just("CREATED_AT"), st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
        ),
        st.tuples(st.just("ID"), st.none()),
    ),
    st.integers(min_value=1, max_value=2**31 - 1),
)
def test_cursors_round_trip(field_value, ident):
    field, value = field_value
    cursor = Cursor(field, value, ident)
    assert decode_cursor(encode_cursor(cursor), field, "after") == cursor


def test_default_page_is_forward():
    request = page_request(None, None, None, None, "EMAIL")
    assert (request.limit, request.backward) == (DEFAULT_PAGE, False)


@pytest.mark.parametrize(
    ("first", "last"), [(MAX_PAGE + 1, None), (None, MAX_PAGE + 1), (-1, None), (1, 1)]
)
def test_page_sizes_out_of_range_are_refused(first, last):
    with pytest.raises(InvalidInput):
        page_request(first, None, last, None, "EMAIL")


@pytest.mark.parametrize(
    "token", ["", "!!!", "bm90IGpzb24=", encode_cursor(Cursor("EMAIL", "a", 1))[:-3]]
)
def test_garbage_cursors_are_refused(token):
    with pytest.raises(InvalidInput):
        decode_cursor(token or "x", "EMAIL", "after")
