"""The baseline of bench/ingest.py: the same writes as recordInteraction(s), by a minimal
Starlette endpoint with plain SQL and no GraphQL, on the same database set-up (SQLite or
Postgres, through the product's `persistence.db.Database`): per interaction, the idempotency
check, the interaction row, its ledger entries and the score update, in one transaction.

On SQLite, writers take turns in the process (the product's unit of work does the same);
on Postgres they run concurrently, as the product's do."""

from __future__ import annotations

import contextlib
import os
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from persistence.db import Database

db = Database(os.environ["DATABASE_URL"])
RULES = text(
    "SELECT id, name, points FROM scoring_rule WHERE status = 'ACTIVE' AND interaction_type = :t"
)
INSERT_INTERACTION = text(
    "INSERT INTO interaction (contact_id, type, page, properties, occurred_at, idempotency_key, "
    "score_delta, created_at) VALUES (:cid, :type, NULL, '{}', :at, :key, :delta, :now)"
)
INSERT_ENTRY = text(
    "INSERT INTO score_entry (contact_id, reason, label, points, rule_id, interaction_id, at, "
    "created_at) VALUES (:cid, 'RULE', :label, :points, :rule, :iid, :at, :now)"
)
UPDATE_SCORE = text(
    "UPDATE contact SET score = score + :delta, last_activity_at = :at, updated_at = :now "
    "WHERE id = :cid"
)


def _ts(value: datetime) -> str | datetime:
    """Naive UTC, as the product stores it: text on SQLite, a datetime for asyncpg."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ") if db.is_sqlite else naive


def _writer() -> AbstractAsyncContextManager[object]:
    return db.write_lock if db.is_sqlite else contextlib.nullcontext()


def _in(column: str, values: list[str]) -> tuple[str, dict[str, str]]:
    names = {f"k{n}": v for n, v in enumerate(values)}
    return f"{column} IN ({', '.join(':' + n for n in names)})", names


async def _write(conn: AsyncConnection, items: list[dict[str, Any]]) -> int:
    now = _ts(datetime.now(UTC))
    where, params = _in("idempotency_key", [i["idempotency_key"] for i in items])
    seen = {
        r[0]
        for r in await conn.execute(
            text(f"SELECT idempotency_key FROM interaction WHERE {where}"), params
        )
    }
    fresh = [i for i in items if i["idempotency_key"] not in seen]
    if not fresh:
        return 0
    rules = (await conn.execute(RULES, {"t": fresh[0]["type"]})).all()
    delta = sum(r.points for r in rules)
    rows = [
        {"cid": i["contact_id"], "type": i["type"], "key": i["idempotency_key"],
         "at": _ts(datetime.fromisoformat(i["occurred_at"])), "delta": delta, "now": now}
        for i in fresh
    ]  # fmt: skip
    await conn.execute(INSERT_INTERACTION, rows)
    where, params = _in("idempotency_key", [r["key"] for r in rows])
    ids = dict(
        (
            await conn.execute(
                text(f"SELECT idempotency_key, id FROM interaction WHERE {where}"), params
            )
        ).all()
    )
    entries = [
        {"cid": r["cid"], "label": rule.name, "points": rule.points, "rule": rule.id,
         "iid": ids[r["key"]], "at": r["at"], "now": now}
        for r in rows
        for rule in rules
    ]  # fmt: skip
    if entries:
        await conn.execute(INSERT_ENTRY, entries)
    await conn.execute(UPDATE_SCORE, rows)
    return len(rows)


async def single(request: Request) -> JSONResponse:
    item = await request.json()
    async with _writer(), db.engine.begin() as conn:
        result = await _write(conn, [item])
        score = (
            await conn.execute(
                text("SELECT score FROM contact WHERE id = :c"), {"c": item["contact_id"]}
            )
        ).scalar_one()
    return JSONResponse({"result": result, "score": score})


async def batch(request: Request) -> JSONResponse:
    items = (await request.json())["items"]
    async with _writer(), db.engine.begin() as conn:
        result = await _write(conn, items)
    return JSONResponse({"recorded": result})


app = Starlette(
    routes=[Route("/single", single, methods=["POST"]), Route("/batch", batch, methods=["POST"])]
)
