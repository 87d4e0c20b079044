"""What every repository shares: a connection it never commits, and row-value helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection


def enum_or_none(kind: type[Enum], value: str | None) -> Any:
    return kind(value) if value is not None else None


_COMPILED: dict[tuple[Any, str], Any] = {}


async def execute_plain_many(
    conn: AsyncConnection, stmt: Any, rows: Sequence[Mapping[str, Any]]
) -> None:
    """executemany of `stmt` for parameters that need no type conversion (str, int, float,
    None), handed to the driver as positional tuples. SQLAlchemy's per-row parameter
    processing costs more than the writes themselves when every contact is re-tiered."""
    key = (stmt, conn.dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = stmt.compile(dialect=conn.dialect)
    names = compiled.positiontup
    await conn.exec_driver_sql(compiled.string, [tuple(row[n] for n in names) for row in rows])


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _rows(self, stmt: Any) -> Sequence[Row[Any]]:
        return (await self.conn.execute(stmt)).all()

    async def _scalar(self, stmt: Any) -> Any:
        return (await self.conn.execute(stmt)).scalar()
