"""Tiers and segments: placed by the settle step (services.settle) in the transaction of
every change that can move them, re-computed for everyone when the policy or the scheme
changes, and logged with reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import events
from domain.contacts import ContactView, Standing
from domain.errors import NotFound
from domain.events import Event
from domain.filters import Now, Predicate, conditions_used
from domain.pagination import Page, PageRequest
from domain.segments import (
    SegmentScheme,
    TierChange,
    change_reason,
    segment_for,
    segment_tests,
    validate_scheme,
)
from domain.tiers import (
    Movement,
    TierInputs,
    TierPolicy,
    decide,
    lead_status,
    movement,
    override_tests,
    validate_tier_policy,
)
from services.chunks import in_chunks
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.versioned import ByVersion


async def place(
    uow: UnitOfWork,
    ids: Sequence[int],
    policy: TierPolicy,
    scheme: SegmentScheme,
    now: datetime,
    *,
    whole: bool = False,
) -> dict[int, tuple[Standing, Standing, ContactView]]:
    """Where each contact stands now and where it belongs under `policy` and `scheme`
    (nothing written), with the contact as seen in its new tier; with `whole`, the view
    has everything filters read (for event snapshots), else what the policy needs (and its
    dates, which come with the same read)."""
    tags = whole or bool(_conditions(policy, scheme) & TAG_CONDITIONS)
    since = now - timedelta(days=policy.intent_window_days)
    inputs = await uow.tiers.inputs(ids, since, tags=tags)
    clock, override_checks, segment_checks = _tests(policy, scheme)
    clock.value = now  # read by the tests below, which run before the next await
    out: dict[int, tuple[Standing, Standing, ContactView]] = {}
    for cid, (view, standing, pinned, (behaviour, fit), recent) in inputs.items():
        decision = decide(policy, TierInputs(view, behaviour, fit, recent), now, override_checks)
        status = pinned or lead_status(policy, decision.tier)
        if (decision.tier, status) != (view.tier, view.lead_status):
            view = view.placed(decision.tier, status, view.segment)
        segment = segment_for(scheme, view, recent, now, segment_checks)
        out[cid] = (
            standing,
            Standing(
                decision.tier,
                decision.index,
                decision.reason,
                status,
                segment.code if segment else None,
            ),
            view,
        )
    return out


# Below this many contacts, a write reads them whole at once (one query fewer than reading
# the ones with events again).
LAZY_VIEWS = 64
TAG_CONDITIONS = {"has_any_tag", "has_all_tags", "tag_points"}
# What a new policy or scheme changes about a contact, as list filters read it.
PLACEMENT_CONDITIONS = frozenset({"tier_in", "segment_in", "lead_status_in"})
DATE_CONDITIONS = {"created_between", "last_activity_within_days", "last_activity_older_than_days"}


_used: dict[int, tuple[TierPolicy, SegmentScheme, set[str]]] = {}
Tests = tuple[Now, list[Predicate], list[Predicate]]
_compiled: dict[int, tuple[TierPolicy, SegmentScheme, Tests]] = {}


def _tests(policy: TierPolicy, scheme: SegmentScheme) -> Tests:
    """The overrides' and segments' filters compiled once per policy and scheme objects
    (`_current` hands out the same ones until a new version), reading the clock they come
    with: set its `value` before running them."""
    found = _compiled.get(id(policy))
    if found is not None and found[0] is policy and found[1] is scheme:
        return found[2]
    clock = Now(datetime(1970, 1, 1, tzinfo=UTC))
    tests = (clock, override_tests(policy, clock), segment_tests(scheme, clock))
    if len(_compiled) > 16:
        _compiled.clear()
    _compiled[id(policy)] = (policy, scheme, tests)
    return tests


def _conditions(policy: TierPolicy, scheme: SegmentScheme) -> set[str]:
    """Every condition the policy's overrides and the scheme's segments read (remembered for
    the last few policy objects: `_current` hands out the same ones until a new version)."""
    found = _used.get(id(policy))
    if found is not None and found[0] is policy and found[1] is scheme:
        return found[2]
    used: set[str] = set()
    for node in [o.filter for o in policy.overrides if o.filter] + [
        s.filter for s in scheme.segments
    ]:
        used |= conditions_used(node)
    if len(_used) > 16:
        _used.clear()
    _used[id(policy)] = (policy, scheme, used)
    return used


async def retier(
    uow: UnitOfWork,
    ids: list[int],
    now: datetime,
    scores: Mapping[int, int],
    *,
    whole: bool = True,
) -> dict[int, tuple[Standing, Standing, ContactView]]:
    """Places the contacts again, logs what moved, and queues their live events (`scores`:
    the score deltas of this unit of work, per contact). Returns `place`'s answer: where
    each stood, where it stands now, and the contact's view (with everything filters read
    only with `whole`)."""
    policy, scheme = await _current(uow)
    placed = await place(uow, ids, policy, scheme, now, whole=whole)
    await _record(uow, policy, scheme, placed, scores, now, whole)
    return placed


async def retier_span(
    uow: UnitOfWork, low: int, high: int, now: datetime, *, whole: bool
) -> dict[int, tuple[Standing, Standing, ContactView]]:
    """Places every contact with low <= id <= high again, set-based in SQL (written and
    logged there), and queues the live events of those whose tier changed. Returns, like
    `retier`, where the contacts that moved stood and stand now with their views: all of
    them with `whole` (for list membership), else only those whose tier changed."""
    policy, scheme = await _current(uow)
    moved = await uow.tiers.settle_span(policy, scheme, now, low, high)
    wanted = (
        list(moved) if whole else [c for c, (old, new) in moved.items() if old.tier != new.tier]
    )
    views = await uow.contacts.placement_views(wanted, tags=True, dates=True)
    placed = {cid: (*moved[cid], view) for cid, (view, _, _) in views.items()}
    uow.events.add(await _events(uow, policy, placed, {}, now, True))
    return placed


async def _record(
    uow: UnitOfWork,
    policy: TierPolicy,
    scheme: SegmentScheme,
    placed: Mapping[int, tuple[Standing, Standing, ContactView]],
    scores: Mapping[int, int],
    now: datetime,
    whole: bool,
) -> None:
    """Writes where the contacts now stand, logs tier and segment changes, queues events."""
    updates: list[tuple[Any, ...]] = []
    indexes: list[tuple[Any, ...]] = []
    changes: list[dict[str, Any]] = []
    uow.events.add(await _events(uow, policy, placed, scores, now, whole))
    for cid, (current, p, _) in placed.items():
        if current == p:
            continue
        if (current.tier, current.lead_status, current.segment) == (
            p.tier, p.lead_status, p.segment,
        ):  # fmt: skip
            indexes.append((p.tier_index, p.tier_reason, cid, policy.version))  # INDEXED
            continue
        updates.append((*p, cid, policy.version, scheme.version))  # tiers.apply's PLACED
        if current.tier != p.tier:
            reason = p.tier_reason or ""
            changes.append(_log(cid, "TIER", current.tier, p.tier, policy.version, reason, now))
        if current.segment != p.segment:
            reason = change_reason(scheme)
            changes.append(
                _log(cid, "SEGMENT", current.segment, p.segment, scheme.version, reason, now)
            )
    await uow.tiers.apply(updates, changes, indexes)


async def _events(
    uow: UnitOfWork,
    policy: TierPolicy,
    placed: Mapping[int, tuple[Standing, Standing, ContactView]],
    scores: Mapping[int, int],
    now: datetime,
    whole: bool,
) -> list[Event]:
    """Score changes (the deltas this unit of work added), tier changes and hot leads,
    each with the contact as subscription filters see it after the change (read whole
    here when `place` did not)."""
    moved = {cid: scores.get(cid, 0) for cid in placed}
    views = {
        cid: view for cid, (was, new, view) in placed.items() if moved[cid] or was.tier != new.tier
    }
    if views and not whole:
        found = await uow.contacts.placement_views(list(views), tags=True, dates=True)
        views = {cid: found[cid][0] for cid in views}
    top, out = policy.bands[-1].name, []
    for cid, view in views.items():
        current, p, _ = placed[cid]
        delta, seen = moved[cid], view.placed(p.tier, p.lead_status, p.segment)
        snapshot = events.view_to_dict(seen)  # shared by this contact's events
        if delta:
            out.append(events.score_changed(seen, delta, now, snapshot))
        if current.tier != p.tier:
            reason, version = p.tier_reason or "", policy.version
            out.append(events.tier_changed(seen, current.tier, reason, version, now, snapshot))
        before, after = (current.tier, view.score - delta), (p.tier, view.score)
        hot = events.hot_reason(top, policy.hot_score, before, after)
        if hot:
            out.append(events.hot_lead(seen, hot, now, snapshot))
    return out


def _log(
    cid: int, kind: str, old: str | None, new: str | None, version: int, reason: str, now: datetime
) -> dict[str, Any]:
    return {"contact_id": cid, "kind": kind, "from_value": old, "to_value": new,
            "version": version, "reason": reason[:300], "at": now}  # fmt: skip


_current_by_version: ByVersion[tuple[TierPolicy, SegmentScheme]] = ByVersion()


async def _current(uow: UnitOfWork) -> tuple[TierPolicy, SegmentScheme]:
    """The current policy and scheme, parsed once per version (every write places)."""

    async def build() -> tuple[TierPolicy, SegmentScheme]:
        policy, scheme = await uow.tiers.policy(), await uow.tiers.scheme()
        assert policy is not None and scheme is not None, "migration 0003 seeds version 1"
        return policy, scheme

    return await _current_by_version.get(uow, await uow.tiers.version(), build)


async def retier_all(uows: UnitOfWorkFactory, now: datetime, *, fit: bool = False) -> int:
    """Every contact but the erased ones (fit points too, with `fit`), chunk by chunk; reads
    keep being served. Without `fit` only the policy or the scheme changed: placed
    set-based in SQL."""

    async def work(uow: UnitOfWork, ids: list[int]) -> None:
        if fit:  # erased contacts are frozen: no fit points, no re-placing (as in SQL)
            erased = await uow.contacts.erased_among(ids)
            uow.contacts.touch([i for i in ids if i not in erased], now, attributes=True)
        else:
            uow.contacts.rules_changed(ids[0], ids[-1], now)

    return await in_chunks(uows, work)


async def place_unplaced(uows: UnitOfWorkFactory, now: datetime) -> int:
    """Give a tier and segment to contacts that have none (e.g. after upgrading)."""

    async def work(uow: UnitOfWork, ids: list[int]) -> None:
        uow.contacts.touch(ids, now)

    return await in_chunks(uows, work, unplaced_only=True)


async def current_policy(uows: UnitOfWorkFactory) -> TierPolicy:
    async with uows() as uow:
        return (await _current(uow))[0]


async def current_scheme(uows: UnitOfWorkFactory) -> SegmentScheme:
    async with uows() as uow:
        return (await _current(uow))[1]


async def versions(uows: UnitOfWorkFactory, kind: str) -> list[tuple[int, str | None, datetime]]:
    async with uows() as uow:
        return await uow.tiers.versions(kind)


async def update_policy(
    uows: UnitOfWorkFactory, proposed: TierPolicy, comment: str | None, now: datetime
) -> TierPolicy:
    """A new version (validated), then every contact re-tiered under it."""
    validate_tier_policy(proposed)
    async with uows(write=True) as uow:
        current, _ = await _current(uow)
        policy = TierPolicy(**{**proposed.__dict__, "version": current.version + 1})
        await uow.tiers.add_policy(policy, comment, now)
        await uow.commit()
    await retier_all(uows, now)
    return policy


async def update_scheme(
    uows: UnitOfWorkFactory, proposed: SegmentScheme, comment: str | None, now: datetime
) -> SegmentScheme:
    validate_scheme(proposed)
    async with uows(write=True) as uow:
        _, current = await _current(uow)
        scheme = SegmentScheme(current.version + 1, proposed.segments)
        await uow.tiers.add_scheme(scheme, comment, now)
        await uow.commit()
    await retier_all(uows, now)
    return scheme


async def restore_policy(uows: UnitOfWorkFactory, version: int, now: datetime) -> TierPolicy:
    async with uows() as uow:
        old = await uow.tiers.policy(version)
    if old is None:
        raise NotFound(f"no tier policy version {version}", field="version")
    return await update_policy(uows, old, f"restored from version {version}", now)


async def restore_scheme(uows: UnitOfWorkFactory, version: int, now: datetime) -> SegmentScheme:
    async with uows() as uow:
        old = await uow.tiers.scheme(version)
    if old is None:
        raise NotFound(f"no segment scheme version {version}", field="version")
    return await update_scheme(uows, old, f"restored from version {version}", now)


async def history(uows: UnitOfWorkFactory, contact_id: int, page: PageRequest) -> Page[TierChange]:
    async with uows() as uow:
        return await uow.tiers.history(contact_id, page)


async def count_history(uows: UnitOfWorkFactory, contact_id: int) -> int:
    async with uows() as uow:
        return await uow.tiers.count_history(contact_id)


@dataclass(frozen=True)
class Move:
    contact_id: int
    old: str | None
    new: str | None
    reason: str


@dataclass(frozen=True)
class Simulation:
    movement: Movement
    moving: int
    sample: list[Move]


async def simulate(
    uows: UnitOfWorkFactory,
    now: datetime,
    *,
    policy: TierPolicy | None = None,
    scheme: SegmentScheme | None = None,
    first: int = 50,
) -> Simulation:
    """Tiers (with `policy`) or segments (with `scheme`) everyone would get, without writing
    (computed in SQL, chunk by chunk)."""
    if policy is not None:
        validate_tier_policy(policy)
    if scheme is not None:
        validate_scheme(scheme)
    pairs: list[tuple[str | None, str | None]] = []
    sample: list[Move] = []

    async def work(uow: UnitOfWork, ids: list[int]) -> None:
        current_policy, current_scheme = await _current(uow)
        proposed = (policy or current_policy, scheme or current_scheme)
        placed = await uow.tiers.place_span(*proposed, now, ids[0], ids[-1])
        for cid, (before, after) in placed.items():
            old = before.tier if scheme is None else before.segment
            new = after.tier if scheme is None else after.segment
            pairs.append((old, new))
            if old != new and len(sample) < first:
                sample.append(Move(cid, old, new, after.tier_reason or ""))

    await in_chunks(uows, work, write=False)
    moving = sum(1 for old, new in pairs if old != new)
    return Simulation(movement(pairs), moving, sample)
