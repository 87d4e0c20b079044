"""The event log: events appended in the transaction of the change that caused them, read
back from a cursor for replays, pruned after the retention period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Integer,
    String,
    Table,
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    update,
)

from domain.events import Event, EventType
from persistence.base import Repository, fetch_plain
from persistence.direct import Direct, execute_many
from persistence.tables import metadata

event_t: Table = metadata.tables["event"]
watermark_t: Table = metadata.tables["event_watermark"]

# Postgres hands out sequence values at insert time, not at commit: two transactions could
# commit their events in the other order, and a subscriber resuming after the later cursor
# would never see the earlier one. Transactions that append events take this lock (held
# until they commit) so that cursors become visible in order. SQLite writers already take
# turns (UnitOfWork's write lock).
_APPEND_LOCK = 0x5E6E7001
NEXT_SQLITE = (
    "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0), "
    "coalesce((SELECT max(cursor) FROM event), 0))"
)
INSERT_SQLITE = (
    "INSERT INTO event (cursor, type, contact_id, payload, created_at) VALUES (?, ?, ?, ?, ?)"
)
# Postgres: every event of the transaction in one statement, whatever their number; rows are
# inserted in input order (ORDER BY the ordinality), so the cursors the sequence gives them,
# sorted, are theirs in that order (as SQLAlchemy's insertmanyvalues relies on). The append
# lock is taken by the same statement: its filter runs on each row before the row's cursor
# is drawn (a volatile function, evaluated per row below the projection of the default).
INSERT_PG = Direct(
    lambda _: (
        text(
            "INSERT INTO event (type, contact_id, payload, created_at) "
            "SELECT t, c, p::json, a FROM unnest(:types, :contacts, :payloads, :ats) "
            "WITH ORDINALITY AS u(t, c, p, a, n) WHERE pg_advisory_xact_lock(:key) IS NOT NULL "
            "ORDER BY n RETURNING cursor"
        )
        .bindparams(
            bindparam("key", type_=BigInteger),
            bindparam("types", type_=ARRAY(String)),
            bindparam("contacts", type_=ARRAY(Integer)),
            bindparam("payloads", type_=ARRAY(String)),
            bindparam("ats", type_=ARRAY(DateTime)),
        )
        .columns(column("cursor", Integer))
    )
)


def event_from_row(row: Any) -> Event:
    return Event(EventType(row.type), row.contact_id, row.payload, row.created_at, row.cursor)


class EventLog(Repository):
    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self.pending: list[Event] = []

    def add(self, events: Iterable[Event]) -> None:
        """Queued now, written by `flush` just before the transaction commits."""
        self.pending.extend(events)

    async def flush(self) -> list[Event]:
        """Writes the queued events; returns them with their cursors."""
        events, self.pending = self.pending, []
        if not events:
            return []
        if self.conn.dialect.name == "sqlite":
            await self._append_sqlite(events)
            return events
        stamps: dict[datetime, datetime] = {}  # naive UTC, as the column stores it

        def naive(at: datetime) -> datetime:
            found = stamps.get(at)
            if found is None:
                found = stamps[at] = at.astimezone(UTC).replace(tzinfo=None)
            return found

        values = {
            "key": _APPEND_LOCK,
            "types": [e.type.value for e in events],
            "contacts": [e.contact_id for e in events],
            "payloads": [orjson.dumps(e.payload).decode() for e in events],
            "ats": [naive(e.at) for e in events],
        }
        cursors = sorted(int(r[0]) for r in await INSERT_PG.rows(self.conn, values))
        for event, cursor in zip(events, cursors, strict=True):
            event.cursor = cursor
        return events

    async def _append_sqlite(self, events: list[Event]) -> None:
        """SQLite writers take turns (this transaction already holds the write lock), so
        the next cursors are known: one executemany of ready-made rows, without RETURNING
        and SQLAlchemy's per-row processing (re-tiering logs tens of thousands)."""
        start = int((await fetch_plain(self.conn, NEXT_SQLITE))[0][0])
        at = event_t.c.created_at.type._cached_bind_processor(self.conn.dialect)
        stamps: dict[datetime, Any] = {}
        rows = []
        for offset, e in enumerate(events, start=1):
            e.cursor = start + offset
            stamp = stamps.get(e.at) or stamps.setdefault(e.at, at(e.at) if at else e.at)
            body = orjson.dumps(e.payload).decode()  # what the JSON column reads back
            rows.append((e.cursor, e.type.value, e.contact_id, body, stamp))
        await execute_many(self.conn, INSERT_SQLITE, rows)

    async def after(
        self, cursor: int, limit: int, *, upto: int | None = None, contact_id: int | None = None
    ) -> list[Event]:
        """Events after `cursor` (up to `upto`), oldest first."""
        stmt = select(event_t).where(event_t.c.cursor > cursor)
        if upto is not None:
            stmt = stmt.where(event_t.c.cursor <= upto)
        if contact_id is not None:
            stmt = stmt.where(event_t.c.contact_id == contact_id)
        rows = await self._rows(stmt.order_by(event_t.c.cursor).limit(limit))
        return [event_from_row(r) for r in rows]

    async def head(self) -> int:
        """The newest cursor (or the pruning watermark of an emptied log)."""
        newest = await self._scalar(select(func.max(event_t.c.cursor)))
        return max(int(newest or 0), await self.pruned_through())

    async def pruned_through(self) -> int:
        stmt = select(watermark_t.c.pruned_through).where(watermark_t.c.id == 1)
        return int(await self._scalar(stmt) or 0)

    async def prune(self, before: datetime) -> int:
        """Removes events older than `before`; returns how many."""
        cutoff = select(func.max(event_t.c.cursor)).where(event_t.c.created_at < before)
        through = await self._scalar(cutoff)
        if through is None:
            return 0
        result = await self.conn.execute(delete(event_t).where(event_t.c.cursor <= through))
        await self.conn.execute(
            update(watermark_t)
            .where(watermark_t.c.id == 1, watermark_t.c.pruned_through < through)
            .values(pruned_through=through)
        )
        return int(result.rowcount or 0)
