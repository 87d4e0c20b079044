"""Duplicate candidates, and merging contacts into one (a single transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.contacts import Contact, require_writable
from domain.duplicates import Person, candidates_in_steps
from domain.errors import InvalidInput, NotFound
from domain.scoring import LedgerReason, ledger_entry
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.slices import in_slices

MAX_MERGE = 50
MAX_CANDIDATES = 500
PEOPLE_PAGE = 2000
# Filled on the kept contact from the first merged contact that has a value, when empty.
FILLED = (
    "first_name", "last_name", "phone", "job_title", "contact_type", "source", "funnel_stage",
    "sector", "region", "city", "country", "company_id",
)  # fmt: skip


@dataclass(frozen=True)
class Duplicates:
    contacts: list[Contact]
    similarity: float
    reasons: tuple[str, ...]


async def duplicate_candidates(
    uows: UnitOfWorkFactory, first: int, min_similarity: float
) -> list[Duplicates]:
    """Pairs of contacts that are probably one person, most alike first."""
    if not 1 <= first <= MAX_CANDIDATES:
        raise InvalidInput(f"first must be between 1 and {MAX_CANDIDATES}", field="first")
    if not 0.0 <= min_similarity <= 1.0:
        raise InvalidInput("minSimilarity must be between 0 and 1", field="minSimilarity")
    people: list[Person] = []
    async with uows() as uow:  # a page at a time, other requests served between pages
        while page := await uow.lifecycle.people(people[-1].id if people else 0, PEOPLE_PAGE):
            people += page
            await asyncio.sleep(0)
    # Seconds of Python on 100,000 contacts: in slices, so the server answers meanwhile.
    found = await in_slices(candidates_in_steps(people, min_similarity, first))
    async with uows() as uow:
        contacts = await uow.contacts.get_many({i for c in found for i in c.ids})
    return [
        Duplicates([contacts[i] for i in c.ids], c.similarity, c.reasons)
        for c in found
        if all(i in contacts for i in c.ids)  # not merged or erased since
    ]


def _check(keep_id: int, merge_ids: Sequence[int]) -> list[int]:
    merged = list(dict.fromkeys(merge_ids))
    if not merged:
        raise InvalidInput("name at least one contact to merge", field="mergeIds")
    if len(merged) > MAX_MERGE:
        raise InvalidInput(f"at most {MAX_MERGE} contacts merge at once", field="mergeIds")
    if keep_id in merged:
        raise InvalidInput("the kept contact cannot also be merged", field="mergeIds")
    return merged


async def merge_contacts(
    uows: UnitOfWorkFactory, keep_id: int, merge_ids: Sequence[int], now: datetime
) -> Contact:
    """Moves the merged contacts' interactions, ledger entries and automation runs to the
    kept contact, sums their tag points into its tags, adds their static-list memberships,
    fills its empty fields, deletes them and leaves aliases; its score becomes its ledger
    sum, and it is re-placed (fit, tier, segment, dynamic lists)."""
    merged = _check(keep_id, merge_ids)
    async with uows(write=True) as uow:
        await uow.contacts.lock([keep_id, *merged])
        found = await uow.contacts.get_many([keep_id, *merged])
        if keep_id not in found:
            raise NotFound(f"no contact with id {keep_id}", field="keepId")
        missing = [m for m in merged if m not in found]
        if missing:
            raise NotFound(f"no contact with id {missing[0]}", field="mergeIds")
        keep, others = found[keep_id], [found[m] for m in merged]
        for contact, field in [(keep, "keepId"), *((o, "mergeIds") for o in others)]:
            require_writable(contact, contact.id, field)
        await uow.lifecycle.move_rows(merged, keep_id)
        await _merge_tags(uow, keep_id, merged)
        static = await uow.lifecycle.static_memberships(merged)
        await uow.lists.add_members(sorted({(lid, keep_id) for lid, _ in static}), now)
        await _fill(uow, keep, others, now)
        label = "merged " + ", ".join(f"#{m}" for m in merged)
        await uow.ledger.add([ledger_entry(keep_id, LedgerReason.MERGE, label[:200], 0, now, now)])
        await uow.lifecycle.add_aliases(others, keep_id, now)
        await uow.lifecycle.delete_contacts(merged)
        total = await uow.lifecycle.ledger_sum(keep_id)
        active = [c.last_activity_at for c in others if c.last_activity_at is not None]
        change = {"cid": keep_id, "delta": total - keep.score, "now": now,
                  "activity": max(active) if active else None}  # fmt: skip
        await uow.contacts.add_scores([change])
        # The merged contacts' FIT entries moved here too: fit points are reconciled at commit.
        uow.contacts.touch([keep_id], now, attributes=True)
        await uow.commit()
        result = await uow.contacts.get(keep_id)
    assert result is not None
    return result


async def _merge_tags(uow: UnitOfWork, keep_id: int, merged: list[int]) -> None:
    """One row per tag on the kept contact: points summed, first and last times widened."""
    rows = await uow.lifecycle.tag_rows([keep_id, *merged])
    combined: dict[int, dict[str, Any]] = {}
    for row in rows:
        now = combined.get(row["tag_id"])
        if now is None:
            combined[row["tag_id"]] = {
                "contact_id": keep_id, "tag_id": row["tag_id"], "points": row["points"],
                "first_at": row["first_at"], "last_at": row["last_at"],
            }  # fmt: skip
            continue
        now["points"] += row["points"]
        now["first_at"] = min(now["first_at"], row["first_at"])
        now["last_at"] = max(now["last_at"], row["last_at"])
    await uow.lifecycle.replace_tags([keep_id, *merged], list(combined.values()))


async def _fill(uow: UnitOfWork, keep: Contact, others: list[Contact], now: datetime) -> None:
    values: dict[str, Any] = {}
    for name in FILLED:
        if getattr(keep, name) is None:
            value = next((getattr(o, name) for o in others if getattr(o, name) is not None), None)
            if value is not None:
                values[name] = value
    attributes: dict[str, Any] = {}
    for other in reversed(others):
        attributes.update(other.custom_attributes)
    attributes.update(keep.custom_attributes)
    if attributes != keep.custom_attributes:
        values["custom_attributes"] = attributes
    if values:
        await uow.contacts.update(keep.id, values, now)
