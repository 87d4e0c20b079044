"""Relay connection types: edges with cursors, PageInfo and a lazily counted totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from api.schema.fields import field
from domain.pagination import Page

N = TypeVar("N")
T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    _cursors: strawberry.Private[Sequence[str]]

    @field(description="The first edge's cursor (null on an empty page).")
    def start_cursor(self) -> str | None:
        return self._cursors[0] if self._cursors else None

    @field(description="The last edge's cursor (null on an empty page).")
    def end_cursor(self) -> str | None:
        return self._cursors[-1] if self._cursors else None


@strawberry.type
class Edge(Generic[N]):
    node: N
    _cursors: strawberry.Private[Sequence[str]]
    _index: strawberry.Private[int]

    @field(description="Where this edge is: pass it as `after` or `before` to page on.")
    def cursor(self) -> str:
        return self._cursors[self._index]


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @field(description="Number of items matching the filter, across all pages.")
    async def total_count(self) -> int:
        return await self._count()

    @field(description="The nodes of this page, without cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


def connection_from(
    page: Page[T], convert: Callable[[T], N], count: Callable[[], Awaitable[int]]
) -> Connection[N]:
    cursors = page.cursors
    if len(cursors) != len(page.items):
        raise ValueError("a page needs one cursor per item")
    edges = [
        Edge(node=convert(item), _cursors=cursors, _index=i) for i, item in enumerate(page.items)
    ]
    info = PageInfo(
        has_next_page=page.has_next, has_previous_page=page.has_previous, _cursors=cursors
    )
    return Connection(edges=edges, page_info=info, _count=count)
