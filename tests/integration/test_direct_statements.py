"""Statements run directly on the driver (persistence/direct.py) behave like any other:
their writes are in the unit of work's transaction (kept on commit, gone on rollback), a
conflict with stored data is a WriteConflict and a spent time budget a Timeout."""

from __future__ import annotations

import pytest

from domain import deadline
from domain.errors import Timeout, WriteConflict


def _interaction(cid: int, key: str, now: object) -> dict[str, object]:
    return {"contact_id": cid, "type": "EMAIL_OPEN", "page": None, "properties": {"a": 1},
            "occurred_at": now, "idempotency_key": key, "score_delta": 9,
            "created_at": now}  # fmt: skip


async def _contact(uows, now) -> int:  # type: ignore[no-untyped-def]
    async with uows(write=True) as uow:
        found = await uow.contacts.insert_emails(["direct@x.it"], now)
        await uow.commit()
    return found["direct@x.it"]


async def test_direct_writes_are_kept_on_commit_and_gone_on_rollback(uows, clock):
    now = clock()
    cid = await _contact(uows, now)
    async with uows(write=True) as uow:
        await uow.interactions.insert_many([_interaction(cid, "kept", now)])
        await uow.commit()
    async with uows(write=True) as uow:
        await uow.interactions.insert_many(
            [_interaction(cid, "dropped", now), _interaction(cid, "dropped too", now)]
        )  # no commit: rolled back
    async with uows() as uow:
        found = await uow.interactions.by_keys(["kept", "dropped", "dropped too"])
    assert list(found) == ["kept"]
    kept = found["kept"]
    assert (kept.properties, kept.occurred_at, kept.score_delta) == ({"a": 1}, now, 9)


async def test_a_direct_write_conflicting_with_stored_data_is_a_write_conflict(uows, clock):
    now = clock()
    cid = await _contact(uows, now)
    async with uows(write=True) as uow:
        await uow.interactions.insert_many([_interaction(cid, "once", now)])
        await uow.commit()
    with pytest.raises(WriteConflict):
        async with uows(write=True) as uow:
            await uow.interactions.insert_many([_interaction(cid, "once", now)])
    with pytest.raises(WriteConflict):
        async with uows(write=True) as uow:
            rows = [_interaction(cid, "twice", now), _interaction(cid, "once", now)]
            await uow.interactions.insert_many(rows)
    async with uows() as uow:  # the connection is usable again, nothing half-written
        assert list(await uow.interactions.by_keys(["once", "twice"])) == ["once"]


async def test_a_direct_statement_after_the_budget_is_spent_is_a_timeout(uows, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("Postgres stops statements itself (statement_timeout)")
    now = clock()
    cid = await _contact(uows, now)
    with pytest.raises(Timeout), deadline.budget(0.0):
        async with uows(write=True) as uow:
            await uow.interactions.insert_many([_interaction(cid, "late", now)])
    async with uows() as uow:
        assert await uow.interactions.by_keys(["late"]) == {}
