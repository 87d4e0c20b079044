"""Dynamic and static lists: definitions, members, and membership kept current.

After a write has re-placed the contacts it changed, `decide` runs each dynamic list's
predicate on them as they now are and `record` stores what changed and logs it as
LIST_ENTERED / LIST_LEFT, in the same transaction. List queries compile the same filter to
SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain import events
from domain.contacts import ContactView, gone, is_erased
from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import Event
from domain.filters import (
    ContactFilter,
    Now,
    conditions_used,
    reads_clock,
    tag_codes,
    validate_filter,
)
from domain.lists import (
    ContactList,
    ListKind,
    Membership,
    check_definition,
    clean_description,
    clean_name,
)
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.versioned import ByVersion

MAX_MEMBERS_PER_CALL = 1000
DRIFT_CHUNK = 1000
# `now` for predicates that never read it (their filters read no clock condition).
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _reads_clock(lst: ContactList) -> bool:
    """Lists whose filters read the clock are re-checked by a job."""
    return lst.filter is not None and reads_clock(lst.filter)


@dataclass
class Watched:
    """The dynamic lists with their compiled predicates; those that read the clock are
    compiled against a `Now` set at each use."""

    lists: list[ContactList]
    clock: Now = field(init=False, default_factory=lambda: Now(NEVER))
    all: Membership = field(init=False)
    names: dict[int, str] = field(init=False)
    # The lists whose stored memberships matter, when these are not all dynamic lists.
    only: frozenset[int] | None = None
    _reading: dict[frozenset[str], Watched] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.names = {lst.id: lst.name for lst in self.lists}
        steady = Membership.of([lst for lst in self.lists if not _reads_clock(lst)], NEVER)
        timely = Membership.of([lst for lst in self.lists if _reads_clock(lst)], self.clock)
        self.all = Membership({**steady.tests, **timely.tests})

    def reading(self, conditions: frozenset[str]) -> Watched:
        """Only the lists whose filters read one of `conditions` (e.g. a re-tier changes
        nothing else, so no other list's membership can move); built once per set."""
        found = self._reading.get(conditions)
        if found is None:
            chosen = [
                lst for lst in self.lists
                if lst.filter is not None and conditions_used(lst.filter) & conditions
            ]  # fmt: skip
            only = frozenset(lst.id for lst in chosen)
            found = self._reading[conditions] = Watched(chosen, only)
        return found

    def membership(self, now: datetime) -> Membership:
        """Every dynamic list's test, the clock-reading ones reading `now`: the clock is
        shared by the writes of this process, so run the tests before the next await."""
        self.clock.value = now
        return self.all


_watched: ByVersion[Watched] = ByVersion()
_by_id: ByVersion[dict[int, ContactList]] = ByVersion()  # every list, for contacts' `lists`


async def watched(uow: UnitOfWork) -> Watched:
    """The dynamic lists and their predicates, parsed once per set of definitions (every
    write checks membership against every list, so it reads one aggregate row, not every
    filter)."""

    async def build() -> Watched:
        return Watched(await uow.lists.all(ListKind.DYNAMIC))

    return await _watched.get(uow, await uow.lists.version(), build)


Changes = list[tuple[ContactView, set[int], set[int]]]


async def decide(
    uow: UnitOfWork, views: Mapping[int, ContactView], now: datetime, watching: Watched
) -> Changes:
    """Which dynamic lists the contacts a write changed (as they are now) enter and leave:
    [(contact, entered list ids, left list ids)] for those that move. `watching`: what
    `watched()` returned in this unit of work. Nothing is written."""
    if not views or not watching.lists:
        return []
    stored = await uow.lists.memberships(list(views), watching.only)
    membership = watching.membership(now)  # no await until the tests below have run
    out = []
    for cid, view in views.items():
        into, out_of = membership.changes(view, stored.get(cid, set()))
        if into or out_of:
            out.append((view, into, out_of))
    return out


async def record(
    uow: UnitOfWork, changes: Changes, now: datetime, names: Mapping[int, str]
) -> None:
    """Stores membership changes (what `decide` found, or a static list's or a new filter's
    moves) and queues a LIST_ENTERED / LIST_LEFT event for each. `names`: list id -> name."""
    if not changes:
        return
    entered: list[tuple[int, int]] = []
    left: list[tuple[int, int]] = []
    out: list[Event] = []
    for view, into, out_of in changes:
        snapshot = events.view_to_dict(view)
        for lid in sorted(into):
            entered.append((lid, view.id))
            out.append(events.list_changed(view, lid, names[lid], True, now, snapshot))
        for lid in sorted(out_of):
            left.append((lid, view.id))
            out.append(events.list_changed(view, lid, names[lid], False, now, snapshot))
    await uow.lists.add_members(entered, now)
    await uow.lists.remove_members(left)
    uow.events.add(out)


def _moves(
    views: Mapping[int, ContactView], list_id: int, ids: Iterable[int], entered: bool
) -> Changes:
    """One list's moves in `record`'s shape."""
    return [(views[c], {list_id}, set()) if entered else (views[c], set(), {list_id}) for c in ids]


async def _check_tags(uow: UnitOfWork, node: ContactFilter | None) -> None:
    codes = tag_codes(node) if node is not None else set()
    if not codes:
        return
    known = await uow.tags.get_by_codes(codes)
    missing = sorted(codes - set(known))
    if missing:
        raise InvalidInput(
            f"the filter names tags that do not exist: {', '.join(missing)}", field="filter"
        )


async def _require(uow: UnitOfWork, list_id: int) -> ContactList:
    found = await uow.lists.get(list_id)
    if found is None:
        raise NotFound(f"no list with id {list_id}", field="id")
    return found


async def create_list(
    uows: UnitOfWorkFactory,
    name: str,
    kind: ListKind,
    node: ContactFilter | None,
    description: str | None,
    now: datetime,
) -> ContactList:
    """A new list. A dynamic list starts with the contacts its filter selects (stored in one
    INSERT … SELECT, no events: nobody's membership changed, the list is new)."""
    name, description = clean_name(name), clean_description(description)
    check_definition(kind, node)
    async with uows(write=True) as uow:
        if await uow.lists.get_by_name(name):
            raise Conflict(f"a list named {name!r} already exists", field="name")
        await _check_tags(uow, node)
        list_id = await uow.lists.insert(name, description, kind, node, now)
        created = await _require(uow, list_id)
        if kind is ListKind.DYNAMIC:
            await uow.lists.store_all(created, now)
        await uow.commit()
        return created


async def update_list(
    uows: UnitOfWorkFactory, list_id: int, changes: Mapping[str, Any], now: datetime
) -> ContactList:
    """Renames, re-describes, or (dynamic lists) changes the filter: contacts the new filter
    takes in or leaves out get LIST_ENTERED / LIST_LEFT events."""
    async with uows(write=True) as uow:
        current = await _require(uow, list_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = clean_name(changes["name"])
            other = await uow.lists.get_by_name(values["name"])
            if other and other.id != list_id:
                raise Conflict(f"a list named {values['name']!r} already exists", field="name")
        if "description" in changes:
            values["description"] = clean_description(changes["description"])
        if "filter" in changes:
            check_definition(current.kind, changes["filter"])
            await _check_tags(uow, changes["filter"])
            values["filter"] = changes["filter"]
        if values:
            await uow.lists.update(list_id, values, now)
        updated = await _require(uow, list_id)
        if "filter" in values:
            await _settle_drift(uow, updated, now)
        await uow.commit()
        return updated


async def delete_list(uows: UnitOfWorkFactory, list_id: int) -> None:
    async with uows(write=True) as uow:
        if not await uow.lists.delete(list_id):
            raise NotFound(f"no list with id {list_id}", field="id")
        await uow.commit()


async def _views(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, ContactView]:
    found = await uow.contacts.placement_views(ids, tags=True, dates=True)
    return {cid: view for cid, (view, _, _) in found.items()}


async def leave_static_lists(uow: UnitOfWork, contact_id: int, now: datetime) -> None:
    """The contact leaves every static list it is in, with a LIST_LEFT event each (an
    erasure: dynamic lists it leaves at commit, as its view no longer qualifies)."""
    static = await uow.lifecycle.static_memberships([contact_id])
    if not static:
        return
    names = {lst.id: lst.name for lst in await uow.lists.all(ListKind.STATIC)}
    views = await _views(uow, [contact_id])
    await record(uow, [(views[contact_id], set(), {lid for lid, _ in static})], now, names)


async def _settle_drift(uow: UnitOfWork, lst: ContactList, now: datetime) -> int:
    """Brings a dynamic list's stored members in line with its filter, with events."""
    moved = 0
    while True:
        entered, left = await uow.lists.drift(lst, now, DRIFT_CHUNK)
        if not entered and not left:
            return moved
        views = await _views(uow, [*entered, *left])
        moves = _moves(views, lst.id, entered, True) + _moves(views, lst.id, left, False)
        await record(uow, moves, now, {lst.id: lst.name})
        moved += len(entered) + len(left)


async def refresh_clock_lists(uows: UnitOfWorkFactory, now: datetime) -> int:
    """Lists whose filters read the clock ("active in the last 30 days") change membership
    with time alone; this job (run by the scheduler) catches them up, with events."""
    moved = 0
    async with uows() as uow:
        lists = [lst for lst in await uow.lists.all(ListKind.DYNAMIC) if _reads_clock(lst)]
    for lst in lists:
        async with uows(write=True) as uow:
            moved += await _settle_drift(uow, lst, now)
            await uow.commit()
    return moved


async def change_members(
    uows: UnitOfWorkFactory, list_id: int, contact_ids: Sequence[int], add: bool, now: datetime
) -> ContactList:
    """Adds contacts to (or removes them from) a static list; each real change is logged."""
    ids = sorted(set(contact_ids))
    if not ids:
        raise InvalidInput("give at least one contact id", field="contactIds")
    if len(ids) > MAX_MEMBERS_PER_CALL:
        raise InvalidInput(f"at most {MAX_MEMBERS_PER_CALL} contacts per call", field="contactIds")
    async with uows(write=True) as uow:
        lst = await _require(uow, list_id)
        if lst.kind is not ListKind.STATIC:
            raise InvalidInput(
                "members of a dynamic list follow its filter; change the filter instead",
                field="listId",
            )
        views = await _views(uow, ids)
        missing = [cid for cid in ids if cid not in views]
        if missing:
            raise NotFound(f"no contact with id {missing[0]}", field="contactIds")
        erased = [cid for cid in ids if is_erased(views[cid].email)]
        if erased and add:
            raise gone(erased[0], "contactIds")
        already = await uow.lists.stored_ids(list_id, ids)
        changed = [cid for cid in ids if (cid in already) != add]
        await record(uow, _moves(views, list_id, changed, add), now, {list_id: lst.name})
        await uow.commit()
        return lst


async def get_list(uows: UnitOfWorkFactory, list_id: int) -> ContactList:
    async with uows() as uow:
        return await _require(uow, list_id)


async def all_lists(uows: UnitOfWorkFactory, kind: ListKind | None = None) -> list[ContactList]:
    async with uows() as uow:
        return await uow.lists.all(kind)


async def lists_of_contacts(
    uows: UnitOfWorkFactory, contact_ids: Sequence[int]
) -> dict[int, list[ContactList]]:
    """The lists each contact is in: stored membership, the one truth that list pages,
    counts, KPIs, exports and LIST_ENTERED / LIST_LEFT events read too (dynamic lists'
    members are settled at every commit; those whose filters read the clock are caught up
    by `refresh_clock_lists`)."""
    async with uows() as uow:

        async def every_list() -> dict[int, ContactList]:
            return {lst.id: lst for lst in await uow.lists.all()}

        lists = await _by_id.get(uow, await uow.lists.version(), every_list)
        stored = await uow.lists.memberships(list(contact_ids))
    return {
        cid: sorted((lists[lid] for lid in stored.get(cid, set())), key=lambda lst: lst.name)
        for cid in contact_ids
    }


MAX_CLUSTERS = 1000
CLUSTER_COLUMNS = (
    "sector", "region", "city", "tier", "segment", "source", "contact_type", "lead_status",
)  # fmt: skip


async def clusters(
    uows: UnitOfWorkFactory, by: Sequence[str], where: ContactFilter | None, now: datetime
) -> list[tuple[tuple[str | None, ...], int, float]]:
    """Groups of contacts by the `by` attributes: (values, count, average score), largest
    first, at most MAX_CLUSTERS groups."""
    if not by:
        raise InvalidInput("give at least one dimension to group by", field="by")
    if len(set(by)) != len(by):
        raise InvalidInput("each dimension may appear once", field="by")
    unknown = [b for b in by if b not in CLUSTER_COLUMNS]
    if unknown:
        raise InvalidInput(f"cannot group by {', '.join(unknown)}", field="by")
    if where is not None:
        validate_filter(where)
    async with uows() as uow:
        return await uow.contacts.clusters(by, where, now, MAX_CLUSTERS)
