"""Migration 0009 (issue 16): errors stored before the fix kept the receiver's text or the
network's message; after it they keep only `HTTP <code>` or a generic reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from api.bootstrap import unit_of_work_factory
from persistence.db import Database, migrate

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
LEAKED = [
    (503, "HTTP 503 Service Unavailable: root:x:0:0:root:/root:/bin/bash"),
    (None, "ConnectError: [Errno 111] Connection refused"),
    (None, "no answer within 10 s"),
    (200, None),
]


async def test_stored_webhook_errors_keep_only_a_status_or_a_generic_reason(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'scrub.db'}"
    await asyncio.to_thread(migrate, url, "0008")
    db = Database(url)
    try:
        async with unit_of_work_factory(db)(write=True) as uow:
            values = {"name": "old", "url": "http://10.0.0.1/", "event_types": ("AUTOMATION",),
                      "secret": "s" * 32, "active": True}  # fmt: skip
            hook = await uow.webhooks.insert(values, NOW)
            delivery = await uow.webhooks.enqueue(hook.id, "AUTOMATION", {}, None, NOW)
            await uow.commit()
        assert delivery is not None
        async with db.engine.begin() as conn:
            for n, (code, error) in enumerate(LEAKED, start=1):
                await conn.execute(
                    text("INSERT INTO webhook_attempt (delivery_id, attempt, at, status_code, "
                         "error, duration_ms) VALUES (:d, :n, :at, :code, :error, 5)"),
                    {"d": delivery, "n": n, "at": NOW.replace(tzinfo=None), "code": code, "error": error},
                )  # fmt: skip
            await conn.execute(
                text("UPDATE webhook_delivery SET last_error = :e"), {"e": LEAKED[0][1]}
            )
        await asyncio.to_thread(migrate, url)
        async with db.engine.connect() as conn:
            errors = await conn.execute(text("SELECT error FROM webhook_attempt ORDER BY attempt"))
            last = (await conn.execute(text("SELECT last_error FROM webhook_delivery"))).scalar()
            assert [e for (e,) in errors] == [
                "HTTP 503", "the connection failed", "no answer within 10 s", None,
            ]  # fmt: skip
            assert last == "HTTP 503"
    finally:
        await db.dispose()
