"""Saved lists, their stored members, and the SQL side of list membership."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from domain.codec import filter_from_dict, filter_to_dict
from domain.filters import ContactFilter
from domain.lists import ContactList, ListKind
from persistence.base import Repository, fetch_plain
from persistence.direct import Direct, one_of
from persistence.filters_sql import compile_filter, contact_t, erased_contact, not_erased
from persistence.tables import metadata
from persistence.types import UtcDateTime

list_t: Table = metadata.tables["contact_list"]
member_t: Table = metadata.tables["list_member"]

# Statements of the write path, built once and run directly on the driver (direct.py).
_m = member_t.c
MEMBERS_OF = Direct(
    lambda d: select(_m.contact_id, _m.list_id).where(one_of(_m.contact_id, "ids", d))
)
MEMBERS_OF_LISTS = Direct(
    lambda d: select(_m.contact_id, _m.list_id).where(
        one_of(_m.contact_id, "ids", d), one_of(_m.list_id, "lists", d)
    )
)
ADD_MEMBER = Direct(
    lambda d: (
        (postgresql if d == "postgresql" else sqlite)
        .insert(member_t)
        .on_conflict_do_nothing(index_elements=["list_id", "contact_id"])
    ),
    keys=("list_id", "contact_id", "added_at"),
    many=True,
)
REMOVE_MEMBER = Direct(
    lambda _: delete(member_t).where(
        _m.list_id == bindparam("lid"), _m.contact_id == bindparam("cid")
    ),
    many=True,
)
MEMBERS_OF_ONE = {
    "sqlite": "SELECT list_id FROM list_member WHERE contact_id = ?",
    "postgresql": "SELECT list_id FROM list_member WHERE contact_id = $1",
}


def list_from_row(row: Any) -> ContactList:
    return ContactList(
        id=row.id,
        name=row.name,
        kind=ListKind(row.kind),
        filter=filter_from_dict(row.filter) if row.filter is not None else None,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def stored_members(list_id: int) -> ColumnElement[bool]:
    return contact_t.c.id.in_(select(member_t.c.contact_id).where(member_t.c.list_id == list_id))


class ListRepository(Repository):
    async def insert(
        self,
        name: str,
        description: str | None,
        kind: ListKind,
        node: ContactFilter | None,
        now: datetime,
    ) -> int:
        values = {
            "name": name, "description": description, "kind": kind.value,
            "filter": filter_to_dict(node) if node is not None else None,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        result = await self.conn.execute(insert(list_t).values(values).returning(list_t.c.id))
        await self.seen.bump("lists")
        return int(result.scalar_one())

    async def update(self, list_id: int, values: Mapping[str, Any], now: datetime) -> None:
        changes = dict(values)
        if "filter" in changes:
            node = changes["filter"]
            changes["filter"] = filter_to_dict(node) if node is not None else None
        stmt = update(list_t).where(list_t.c.id == list_id).values(**changes, updated_at=now)
        await self.conn.execute(stmt)
        await self.seen.bump("lists")

    async def delete(self, list_id: int) -> bool:
        await self.conn.execute(delete(member_t).where(member_t.c.list_id == list_id))
        result = await self.conn.execute(delete(list_t).where(list_t.c.id == list_id))
        await self.seen.bump("lists")
        return bool(getattr(result, "rowcount", 0))

    async def get(self, list_id: int) -> ContactList | None:
        row = (await self.conn.execute(select(list_t).where(list_t.c.id == list_id))).first()
        return list_from_row(row) if row else None

    async def get_by_name(self, name: str) -> ContactList | None:
        row = (await self.conn.execute(select(list_t).where(list_t.c.name == name))).first()
        return list_from_row(row) if row else None

    async def all(self, kind: ListKind | None = None) -> list[ContactList]:
        stmt = select(list_t).order_by(list_t.c.name)
        if kind is not None:
            stmt = stmt.where(list_t.c.kind == kind.value)
        return [list_from_row(r) for r in await self._rows(stmt)]

    async def memberships(
        self, contact_ids: Sequence[int], lists: Collection[int] | None = None
    ) -> dict[int, set[int]]:
        """Stored memberships (static members and last-decided dynamic ones) per contact;
        with `lists`, of those lists only."""
        out: dict[int, set[int]] = defaultdict(set)
        if not contact_ids or (lists is not None and not lists):
            return out
        if lists is None and len(contact_ids) == 1:  # every single-contact write asks
            rows = await fetch_plain(self.conn, MEMBERS_OF_ONE, (contact_ids[0],))
            out[contact_ids[0]] = {lid for (lid,) in rows}
            return out
        params: dict[str, Any] = {"ids": list(contact_ids)}
        if lists is not None:
            params["lists"] = sorted(lists)
        stmt = MEMBERS_OF if lists is None else MEMBERS_OF_LISTS
        for cid, lid in await stmt.rows(self.conn, params):
            out[cid].add(lid)
        return out

    async def version(self) -> int:
        """Bumped in the transaction of every list definition change."""
        return await self.seen.version("lists")

    async def add_members(self, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
        """(list_id, contact_id) pairs; pairs already stored are left as they are."""
        if not pairs:
            return
        rows = [{"list_id": lid, "contact_id": cid, "added_at": now} for lid, cid in pairs]
        await ADD_MEMBER.run_many(self.conn, rows)

    async def remove_members(self, pairs: Sequence[tuple[int, int]]) -> None:
        if not pairs:
            return
        await REMOVE_MEMBER.run_many(self.conn, [{"lid": lid, "cid": cid} for lid, cid in pairs])

    async def stored_ids(self, list_id: int, contact_ids: Sequence[int]) -> set[int]:
        stmt = select(member_t.c.contact_id).where(
            member_t.c.list_id == list_id, member_t.c.contact_id.in_(list(contact_ids))
        )
        return {r.contact_id for r in await self._rows(stmt)}

    async def drift(
        self, lst: ContactList, now: datetime, limit: int
    ) -> tuple[list[int], list[int]]:
        """Up to `limit` contacts the filter selects that are not stored as members, and up to
        `limit` stored members it no longer selects (set-based, for a whole dynamic list)."""
        assert lst.filter is not None
        selects = compile_filter(lst.filter, now)
        stored = exists(
            select(1).where(member_t.c.list_id == lst.id, member_t.c.contact_id == contact_t.c.id)
        )
        entering = select(contact_t.c.id).where(selects, not_erased(), not_(stored))
        leaving = select(contact_t.c.id).where(stored, or_(not_(selects), erased_contact()))
        entered = [r.id for r in await self._rows(entering.order_by(contact_t.c.id).limit(limit))]
        left = [r.id for r in await self._rows(leaving.order_by(contact_t.c.id).limit(limit))]
        return entered, left

    async def store_all(self, lst: ContactList, now: datetime) -> None:
        """Stores every contact a dynamic list's filter selects now (set-based)."""
        assert lst.filter is not None
        chosen = select(
            literal(lst.id).label("list_id"), contact_t.c.id, literal(now, UtcDateTime)
        ).where(compile_filter(lst.filter, now), not_erased())
        stmt = insert(member_t).from_select(["list_id", "contact_id", "added_at"], chosen)
        await self.conn.execute(stmt)
