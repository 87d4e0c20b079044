"""The settle step, run by the unit of work at commit (never by a service): what the writes
of the transaction touched — recorded by the repositories in `uow.changes` — is kept current
once, step after step until quiet: fit points of contacts whose attributes changed; tier,
lead status and segment; TAG_ADDED / TAG_REMOVED events; dynamic list membership; then the
automations all that fired, whose actions touch more contacts (cascades bounded by
`automations.MAX_CHAIN_DEPTH`)."""

from __future__ import annotations

from datetime import datetime

from domain import events
from domain.changes import Changes
from domain.contacts import ContactView, Standing
from services import automations, lists, tiers
from services.chunks import CHUNK
from services.fit import refresh_fit
from services.ports import UnitOfWork

Placed = dict[int, tuple[Standing, Standing, ContactView]]


async def settle(uow: UnitOfWork) -> None:
    depth, reacted = 0, 0
    while True:
        changes = uow.changes.take()
        now = changes.now or uow.clock()
        if changes:
            await _settle_changes(uow, changes, now)
        # Automations see each event once: those of the write itself, then of each step.
        happened, reacted = uow.events.pending[reacted:], len(uow.events.pending)
        await automations.react(uow, happened, now, depth)
        if not uow.changes:
            return
        depth += 1


async def _settle_changes(uow: UnitOfWork, changes: Changes, now: datetime) -> None:
    if changes.span is not None:
        await _then_lists(uow, changes, *await _rules_changed(uow, changes.span, now), now)
        return
    if changes.attributes:
        for part in _parts(sorted(changes.attributes)):
            await refresh_fit(uow, part, now)
        changes.absorb(uow.changes.take())  # the fit points it wrote
    watching = await lists.watched(uow)
    for ids in _parts(sorted(changes.placed)):
        # Lists and tag events read every contact whole; else only the contacts with events
        # are read whole, after placing (a re-tier moves a fraction of everyone), unless most
        # have one anyway (a batch of interactions: each score changed).
        scored = sum(1 for cid in ids if changes.scores.get(cid))
        whole = (
            bool(watching.lists or changes.tags)
            or len(ids) < tiers.LAZY_VIEWS
            or 2 * scored > len(ids)
        )
        placed = await tiers.retier(uow, ids, now, changes.scores, whole=whole)
        await _then_lists(uow, changes, placed, watching, now)


def _parts(ids: list[int]) -> list[list[int]]:
    """Large writes (imports, bulk work) are placed a chunk of contacts at a time."""
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


async def _then_lists(
    uow: UnitOfWork, changes: Changes, placed: Placed, watching: lists.Watched, now: datetime
) -> None:
    """The tag events of the placed contacts, then their list membership."""
    if changes.tags or watching.lists:
        seen = {cid: view.placed(p.tier, p.lead_status, p.segment)
                for cid, (_, p, view) in placed.items()}  # fmt: skip
        uow.events.add(await _tag_events(uow, changes, seen, now))
        moves = await lists.decide(uow, seen, now, watching)
        await lists.record(uow, moves, now, watching.names)


async def _rules_changed(
    uow: UnitOfWork, span: tuple[int, int], now: datetime
) -> tuple[Placed, lists.Watched]:
    """The tier policy or segment scheme changed for these contacts and nothing else did:
    placed, written and logged set-based in SQL; only the contacts that move are read, for
    their events and their membership of the lists that read tier, segment or lead status
    (no other membership can change, and list filters do not read the index)."""
    watching = (await lists.watched(uow)).reading(tiers.PLACEMENT_CONDITIONS)
    placed = await tiers.retier_span(uow, span[0], span[1], now, whole=bool(watching.lists))
    return placed, watching


async def _tag_events(
    uow: UnitOfWork, changes: Changes, seen: dict[int, ContactView], now: datetime
) -> list[events.Event]:
    if not changes.tags:
        return []
    mine = [(cid, tag_id, added) for cid, tag_id, added in changes.tags if cid in seen]
    if not mine:
        return []
    tags = await uow.tags.get_many({tag_id for _, tag_id, _ in mine})
    codes = {tag_id: tag.code for tag_id, tag in tags.items()}
    return [
        events.tag_changed(seen[cid], codes[tag_id], added, now)
        for cid, tag_id, added in mine
        if tag_id in codes
    ]
