"""What every repository shares: a connection it never commits, and row-value helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection


def enum_or_none(kind: type[Enum], value: str | None) -> Any:
    return kind(value) if value is not None else None


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in values.items()}


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _rows(self, stmt: Any) -> Sequence[Row[Any]]:
        return (await self.conn.execute(stmt)).all()

    async def _scalar(self, stmt: Any) -> Any:
        return (await self.conn.execute(stmt)).scalar()
