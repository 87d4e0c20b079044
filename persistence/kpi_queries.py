"""The SQL of KPIs: per group of contacts (a column's values, or one condition), counts
and sums over a time window."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from domain.kpis import KpiCounts, Window
from persistence.base import Repository
from persistence.filters_sql import not_erased
from persistence.list_repositories import stored_members
from persistence.tables import metadata

contact_t: Table = metadata.tables["contact"]
interaction_t: Table = metadata.tables["interaction"]
tier_change_t: Table = metadata.tables["tier_change"]


class KpiQueries(Repository):
    async def by_column(self, column: str, window: Window) -> dict[str | None, KpiCounts]:
        """Counts per value of a contact column (tier, segment), for contacts created
        before the window ends (erased contacts count nowhere)."""
        key = contact_t.c[column]
        condition = and_(contact_t.c.created_at < window.end, not_erased())
        return await self._counts([key], condition, window)

    async def within(self, list_id: int, window: Window) -> KpiCounts:
        """Counts for the members of a list."""
        condition = and_(stored_members(list_id), contact_t.c.created_at < window.end, not_erased())
        found = await self._counts([], condition, window)
        return found.get(None, KpiCounts())

    async def _counts(
        self, keys: list[Any], where: ColumnElement[bool], window: Window
    ) -> dict[str | None, KpiCounts]:
        out: dict[str | None, KpiCounts] = {}

        def at(row: Any) -> KpiCounts:
            group = row[0] if keys else None
            return out.setdefault(group, KpiCounts())

        base = select(*keys, func.count(), func.coalesce(func.sum(contact_t.c.score), 0))
        for row in map(tuple, await self._rows(_grouped(base.where(where), keys))):
            counts = at(row)
            counts.contacts, counts.score_sum = int(row[-2]), int(row[-1])
        i = interaction_t.c
        in_window = and_(i.occurred_at >= window.start, i.occurred_at < window.end)
        joined = contact_t.join(interaction_t, i.contact_id == contact_t.c.id)
        converted = (
            select(*keys, func.count(func.distinct(contact_t.c.id)))
            .select_from(joined)
            .where(where, in_window, i.type.in_(list(window.conversion_types)))
        )
        for row in map(tuple, await self._rows(_grouped(converted, keys))):
            at(row).converted = int(row[-1])
        opened = func.sum(case((i.type == window.open_type, 1), else_=0))
        sent = func.sum(case((i.type == window.sent_type, 1), else_=0))
        email = (
            select(*keys, opened, sent)
            .select_from(joined)
            .where(where, in_window, i.type.in_([window.open_type, window.sent_type]))
        )
        for row in map(tuple, await self._rows(_grouped(email, keys))):
            counts = at(row)
            counts.opens, counts.sends = int(row[-2] or 0), int(row[-1] or 0)
        t = tier_change_t.c
        moves = (
            select(*keys, func.count())
            .select_from(contact_t.join(tier_change_t, t.contact_id == contact_t.c.id))
            .where(where, t.kind == "TIER", t.at >= window.start, t.at < window.end)
        )
        for row in map(tuple, await self._rows(_grouped(moves, keys))):
            at(row).tier_transitions = int(row[-1])
        return out


def _grouped(stmt: Any, keys: list[Any]) -> Any:
    return stmt.group_by(*keys) if keys else stmt
