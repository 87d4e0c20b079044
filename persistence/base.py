"""What every repository shares: a connection it never commits, and row-value helpers."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from operator import itemgetter
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.changes import Changes
from persistence.direct import run_on_asyncpg


def enum_or_none(kind: type[Enum], value: str | None) -> Any:
    return kind(value) if value is not None else None


_COMPILED: dict[tuple[Any, str, tuple[str, ...]], Any] = {}


async def execute_plain_many(
    conn: AsyncConnection, stmt: Any, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """executemany of `stmt` for parameters that need no type conversion (str, int, float,
    None): `rows` are tuples of the parameters `names`, put in the driver's order and handed
    over directly. SQLAlchemy's per-row parameter processing costs more than the writes
    themselves when every contact is re-tiered."""
    key = (stmt, conn.dialect.name, tuple(names))
    found = _COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(dialect=conn.dialect)
        order = itemgetter(*(list(names).index(n) for n in compiled.positiontup))
        found = _COMPILED[key] = (compiled.string, order)
    sql, order = found
    await conn.exec_driver_sql(sql, [order(row) for row in rows])


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


class Repository:
    """Writers record what they touch in `changes` (the unit of work's), which the settle
    step reads at commit."""

    def __init__(
        self,
        conn: AsyncConnection,
        changes: Changes | None = None,
        seen: Seen | None = None,
    ) -> None:
        self.conn = conn
        self.changes = changes if changes is not None else Changes()
        self.seen = seen if seen is not None else Seen(conn)

    async def _rows(self, stmt: Any) -> Sequence[Row[Any]]:
        return (await self.conn.execute(stmt)).all()

    async def _scalar(self, stmt: Any) -> Any:
        return (await self.conn.execute(stmt)).scalar()


def dense_span(ids: Sequence[int]) -> tuple[int, int] | None:
    """(lowest, highest) when many ids are packed in a narrow range (a chunk of a re-tier),
    so a query can read `BETWEEN` them and drop the few others, instead of binding one
    parameter per id (SQLAlchemy's expanding IN cost more than the query); else None."""
    if len(ids) < 256:
        return None
    low, high = min(ids), max(ids)
    return (low, high) if high - low < 2 * len(ids) else None


async def fetch_plain(
    conn: AsyncConnection, sql: str | Mapping[str, str], params: Sequence[Any] = ()
) -> list[Any]:
    """The raw rows of a read on a hot path (every write, every re-tier chunk), whose
    SQLAlchemy execution cost more than the query: `sql` (or `sql[dialect]` where the
    parameter style differs) goes to the driver as it is. On SQLite it runs straight on the
    connection's sqlite3 handle, in the same transaction (~100 us of SQLAlchemy path vs
    ~10 us of query for a one-row read); on Postgres on asyncpg (persistence/direct.py)."""
    name = conn.dialect.name
    text = sql if isinstance(sql, str) else sql[name]
    if name == "postgresql":
        return await run_on_asyncpg(conn, text, params, many=False)
    sync = conn.sync_connection
    if name == "sqlite" and sync is not None:
        handle = getattr(sync.connection.driver_connection, "handle", None)
        if handle is not None:
            return list(handle.execute(text, params).fetchall())
    return list((await conn.exec_driver_sql(text, params)).all())


ALL_VERSIONS = "SELECT kind, version FROM definition_version"
# The next version is the later of the old one + 1 and the time in microseconds: it only
# grows, and never repeats a version of a database that was later restored to an older state
# (a cache keyed by it cannot hand out definitions of another state). A kind without a row
# yet (added after the migration that seeded the table: webhooks) gets one.
BUMP = {
    "sqlite": "INSERT INTO definition_version (kind, version) VALUES (?, ?) ON CONFLICT (kind) "
    "DO UPDATE SET version = max(definition_version.version + 1, excluded.version)",
    "postgresql": "INSERT INTO definition_version (kind, version) VALUES ($1, $2) "
    "ON CONFLICT (kind) DO UPDATE SET version = "
    "greatest(definition_version.version + 1, excluded.version)",
}


async def bump_definitions(conn: AsyncConnection, kind: str) -> None:
    """Called in the transaction that adds, changes or removes a definition of `kind`."""
    await conn.exec_driver_sql(BUMP[conn.dialect.name], (kind, time.time_ns() // 1000))


class Seen:
    """What one unit of work has read and its repositories may reuse until it writes it:

    - the definition versions (`lists`, `automations`, `tiers`, `rules`, `webhooks`; 0 for
      a kind never changed): every kind read in one plain statement at the first ask — a
      write checks four of them — and read again after this transaction changes one
      (`bump`);
    - contacts' profiling consent, as placing them read it (`consent`): webhooks and
      automations need it for the same contacts; a write of a contact forgets it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._versions: dict[str, int] | None = None
        self.consent: dict[int, bool] = {}

    async def version(self, kind: str) -> int:
        if self._versions is None:
            rows = await fetch_plain(self.conn, ALL_VERSIONS)
            self._versions = {str(k): int(v) for k, v in rows}
        return self._versions.get(kind, 0)

    async def bump(self, kind: str) -> None:
        await bump_definitions(self.conn, kind)
        self._versions = None

    def forget(self, ids: Iterable[int]) -> None:
        """These contacts were written (or are new): their consent is read again."""
        consent = self.consent
        if consent:
            for cid in ids:
                consent.pop(cid, None)
