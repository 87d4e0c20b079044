"""Relay connection types: edges with cursors, PageInfo and a lazily counted totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


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
    edges = [
        Edge(cursor=c, node=convert(item)) for item, c in zip(page.items, page.cursors, strict=True)
    ]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return Connection(edges=edges, page_info=info, _count=count)
