"""Score decay runs (scheduler and `segmento decay`) and the versioned decay policy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from domain.decay import DecayPolicy, halving_delta, inactivity_penalty, validate_policy
from domain.errors import InvalidInput
from domain.scoring import LedgerReason, ledger_entry
from services.chunks import in_chunks
from services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("segmento.decay")


@dataclass(frozen=True)
class DecayRun:
    policy_version: int
    contacts_changed: int
    points: int


async def current_policy(uows: UnitOfWorkFactory) -> DecayPolicy:
    async with uows() as uow:
        return await uow.decay_policies.current()


async def policy_history(uows: UnitOfWorkFactory) -> list[DecayPolicy]:
    async with uows() as uow:
        return await uow.decay_policies.history()


async def update_policy(
    uows: UnitOfWorkFactory, changes: Mapping[str, Any], now: datetime
) -> DecayPolicy:
    """A new version: the current policy with `changes` (half_life_days, inactivity_days,
    inactivity_points) applied; fields left out keep their value."""
    async with uows(write=True) as uow:
        current = await uow.decay_policies.current()
        merged = {**asdict(current), **changes, "version": current.version + 1}
        if merged["inactivity_points"] is None:
            raise InvalidInput("inactivityPoints cannot be null", field="inactivityPoints")
        policy = DecayPolicy(**merged)
        validate_policy(policy.half_life_days, policy.inactivity_days, policy.inactivity_points)
        await uow.decay_policies.add(policy, now)
        await uow.commit()
    return policy


async def _decay_chunk(
    uow: UnitOfWork, ids: list[int], policy: DecayPolicy, now: datetime
) -> tuple[int, int]:
    awards, written, penalised = await uow.ledger.decay_inputs(ids)
    contacts = await uow.contacts.get_many(ids)
    rows: list[dict[str, Any]] = []
    deltas: dict[int, int] = {}
    version = f"policy v{policy.version}"
    for cid, contact in contacts.items():
        halving = halving_delta(awards.get(cid, []), written.get(cid, 0), now, policy)
        reference = contact.last_activity_at or contact.created_at
        penalty = inactivity_penalty(reference, penalised.get(cid), now, policy)
        for detail, points in (("HALF_LIFE", halving), ("INACTIVITY", penalty)):
            if points:
                label = f"decay: {detail.lower().replace('_', '-')} ({version})"
                rows.append(
                    ledger_entry(cid, LedgerReason.DECAY, label, points, now, now, detail=detail)
                )
                deltas[cid] = deltas.get(cid, 0) + points
    await uow.ledger.add(rows)
    await uow.contacts.add_scores(
        [{"cid": cid, "delta": d, "activity": None, "now": now} for cid, d in deltas.items()]
    )
    return len(deltas), sum(deltas.values())


async def run_decay(uows: UnitOfWorkFactory, now: datetime) -> DecayRun:
    """Exact whenever it runs; a second run at the same moment writes nothing."""
    policy = await current_policy(uows)
    totals = [0, 0]

    async def work(uow: UnitOfWork, ids: list[int]) -> None:
        erased = await uow.contacts.erased_among(ids)  # frozen: no decay, no re-placing
        live = [cid for cid in ids if cid not in erased]
        changed, points = await _decay_chunk(uow, live, policy, now)
        uow.contacts.touch(live, now)  # time passed for all of them: intent windows, statuses
        totals[0], totals[1] = totals[0] + changed, totals[1] + points

    await in_chunks(uows, work)
    return DecayRun(policy.version, totals[0], totals[1])
