"""Relay cursor pagination: page-size limits and opaque keyset cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

from domain.errors import MAX_ID, InvalidInput

T = TypeVar("T")

DEFAULT_PAGE = 50
MAX_PAGE = 500


class Direction(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True)
class Cursor:
    field: str
    value: Any
    id: int


@dataclass(frozen=True)
class PageRequest:
    """Forward (`first`/`after`) or backward (`last`/`before`) slice of an ordered set."""

    limit: int
    after: Cursor | None = None
    before: Cursor | None = None
    backward: bool = False


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.field, cursor.value, cursor.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


# What each ordering's cursor value is: an ISO 8601 datetime, a string, an integer, nothing.
_TEXT_VALUE_MAX = 1_000
_CURSOR_VALUES: dict[str, Callable[[Any], bool]] = {
    "CREATED_AT": lambda v: isinstance(v, str) and _is_datetime(v),
    "UPDATED_AT": lambda v: isinstance(v, str) and _is_datetime(v),
    "EMAIL": lambda v: isinstance(v, str) and len(v) <= _TEXT_VALUE_MAX,
    "LAST_NAME": lambda v: isinstance(v, str) and len(v) <= _TEXT_VALUE_MAX,
    "NAME": lambda v: isinstance(v, str) and len(v) <= _TEXT_VALUE_MAX,
    "SCORE": lambda v: type(v) is int and -(2**31) <= v < 2**31,  # an `integer` column
    "ID": lambda v: v is None,
}


def _is_datetime(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def decode_cursor(token: str, expected_field: str, name: str) -> Cursor:
    """A cursor this API issued, for this ordering; a tampered one (its id or value of the
    wrong type or range) is bad input, never a query that fails in the database."""
    try:
        field, value, ident = json.loads(base64.urlsafe_b64decode(token.encode()))
        if type(ident) is not int or not 0 < ident <= MAX_ID or not isinstance(field, str):
            raise ValueError(token)
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise InvalidInput(f"{name} is not a cursor this API issued", field=name) from None
    if field != expected_field:
        raise InvalidInput(
            f"{name} was issued for ordering by {field}; it cannot page an ordering by "
            f"{expected_field}",
            field=name,
        )
    if not _CURSOR_VALUES.get(field, lambda v: v is None)(value):
        raise InvalidInput(f"{name} is not a cursor this API issued", field=name)
    return Cursor(field, value, ident)


def page_request(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    order_field: str,
) -> PageRequest:
    if first is not None and last is not None:
        raise InvalidInput("give either first or last, not both", field="first")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise InvalidInput(f"{name} must be between 0 and {MAX_PAGE}, got {value}", field=name)
    after_cursor = decode_cursor(after, order_field, "after") if after else None
    before_cursor = decode_cursor(before, order_field, "before") if before else None
    if last is not None:
        return PageRequest(last, after_cursor, before_cursor, backward=True)
    return PageRequest(DEFAULT_PAGE if first is None else first, after_cursor, before_cursor)


class Cursors(Sequence[str]):
    """A page's cursors, each encoded when first asked for: most reads never ask (a
    contacts page of 100 spent 4 % of its time encoding cursors nobody selected)."""

    __slots__ = ("_encoded", "_make")

    def __init__(self, make: Callable[[int], Cursor], count: int) -> None:
        self._make = make
        self._encoded: list[str | None] = [None] * count

    def __len__(self) -> int:
        return len(self._encoded)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._encoded))[index]]
        found = self._encoded[index]
        if found is None:
            found = self._encoded[index] = encode_cursor(self._make(index % len(self._encoded)))
        return found


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
