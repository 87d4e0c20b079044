"""Keyset (cursor) pagination over an ordered select, shared by every connection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from domain.pagination import Cursor, Cursors, Direction, Page, PageRequest


@dataclass(frozen=True)
class SortKey:
    """An ordering: its SQL expression and how a row's value goes into a cursor."""

    name: str
    expression: ColumnElement[Any]
    value_of: Callable[[Any], Any]
    is_datetime: bool = False

    def to_cursor(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    def from_cursor(self, value: Any) -> Any:
        return datetime.fromisoformat(value) if self.is_datetime and value is not None else value


def _after(key: SortKey, id_col: ColumnElement[Any], cur: Cursor, asc: bool) -> Any:
    value = key.from_cursor(cur.value)
    if asc:
        return or_(key.expression > value, and_(key.expression == value, id_col > cur.id))
    return or_(key.expression < value, and_(key.expression == value, id_col < cur.id))


def paginate_statement(
    stmt: Select[Any],
    key: SortKey,
    id_col: ColumnElement[Any],
    direction: Direction,
    page: PageRequest,
) -> Select[Any]:
    asc = direction is Direction.ASC
    if page.after is not None:
        stmt = stmt.where(_after(key, id_col, page.after, asc))
    if page.before is not None:
        stmt = stmt.where(_after(key, id_col, page.before, not asc))
    scan_asc = asc != page.backward
    order = [key.expression, id_col] if scan_asc else [key.expression.desc(), id_col.desc()]
    return stmt.order_by(*order).limit(page.limit + 1)


def build_page(
    rows: Sequence[Any], key: SortKey, page: PageRequest, row_id: Callable[[Any], int]
) -> Page[Any]:
    has_more = len(rows) > page.limit
    items = list(rows[: page.limit])
    if page.backward:
        items.reverse()
    cursors = Cursors(
        lambda i: Cursor(key.name, key.to_cursor(key.value_of(items[i])), row_id(items[i])),
        len(items),
    )
    if page.backward:
        return Page(items, cursors, has_next=page.before is not None, has_previous=has_more)
    return Page(items, cursors, has_next=has_more, has_previous=page.after is not None)
