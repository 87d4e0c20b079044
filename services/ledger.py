"""The score ledger: how entries are written, manual adjustments, reading a breakdown."""

from __future__ import annotations

from datetime import datetime

from domain.contacts import clean_text, require_writable
from domain.errors import InvalidInput
from domain.pagination import Page, PageRequest
from domain.scoring import LedgerEntry, LedgerReason, check_points, ledger_entry
from services.ports import UnitOfWorkFactory


async def adjust_score(
    uows: UnitOfWorkFactory, contact_id: int, points: int, comment: str, now: datetime
) -> None:
    check_points(points)
    if points == 0:
        raise InvalidInput("an adjustment of 0 points changes nothing", field="points")
    text = clean_text(comment, "comment", required=True)
    async with uows(write=True) as uow:
        await uow.contacts.lock([contact_id])
        require_writable(await uow.contacts.get(contact_id), contact_id, "contactId")
        row = ledger_entry(
            contact_id, LedgerReason.MANUAL, "manual adjustment", points, now, now, comment=text
        )
        await uow.ledger.add([row])
        await uow.contacts.add_scores(
            [{"cid": contact_id, "delta": points, "activity": None, "now": now}]
        )
        await uow.commit()


async def breakdown(
    uows: UnitOfWorkFactory, contact_id: int, page: PageRequest
) -> Page[LedgerEntry]:
    async with uows() as uow:
        return await uow.ledger.page(contact_id, page)


async def count_entries(uows: UnitOfWorkFactory, contact_id: int) -> int:
    async with uows() as uow:
        return await uow.ledger.count(contact_id)


async def ledger_sums(uows: UnitOfWorkFactory, contact_ids: list[int]) -> dict[int, int]:
    async with uows() as uow:
        return await uow.ledger.sums(contact_ids)
