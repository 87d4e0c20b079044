"""Fake repositories of contacts, companies, tags, tiers, decay policies, events and
automations (persistence/repositories.py and its neighbours), for tests/fakes.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from domain.automations import Action, Automation, AutomationStatus, Trigger
from domain.changes import FIT_COLUMNS, Changes
from domain.contacts import Company, Contact, ContactView, Standing, is_erased
from domain.decay import DecayPolicy
from domain.events import Event
from domain.filters import ContactFilter
from domain.segments import SegmentScheme
from domain.tags import ContactTag, Tag
from domain.tiers import TierPolicy
from tests.fake_store import FakeStore, Partial, contact, view_of


class FakeContacts(Partial):
    def __init__(self, store: FakeStore, changes: Changes) -> None:
        self.store, self.changes = store, changes

    async def get(self, contact_id: int) -> Contact | None:
        return self.store.contacts.get(contact_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, Contact]:
        found = self.store.contacts
        return {i: found[i] for i in ids if i in found}

    async def get_by_email(self, email: str) -> Contact | None:
        return (await self.get_many_by_email([email])).get(email)

    async def get_many_by_email(self, emails: Iterable[str]) -> dict[str, Contact]:
        wanted = set(emails)
        return {c.email: c for c in self.store.contacts.values() if c.email in wanted}

    async def scores(self, ids: Iterable[int], *, lock: bool = False) -> dict[int, int]:
        return {cid: c.score for cid, c in (await self.get_many(ids)).items()}

    async def erased_among(self, ids: Iterable[int]) -> set[int]:
        return {cid for cid, c in (await self.get_many(ids)).items() if is_erased(c.email)}

    async def ids_after(self, last_id: int, limit: int) -> list[int]:
        return sorted(i for i in self.store.contacts if i > last_id)[:limit]

    async def lock(self, ids: Iterable[int]) -> None:
        pass

    async def insert(self, values: Mapping[str, Any], now: datetime) -> int:
        contact_id = self.store.next_id("Contact")
        self.store.contacts[contact_id] = contact(
            contact_id, now=now, **{"consent_profiling": False, **values}
        )
        self.changes.touch([contact_id], now, attributes=True)
        return contact_id

    async def insert_emails(self, emails: Sequence[str], now: datetime) -> dict[str, int]:
        if not emails:
            return {}
        ids = {email: await self._new(email, now) for email in emails}
        self.changes.touch(ids.values(), now)  # nothing fit rules read is known yet
        return ids

    async def _new(self, email: str, now: datetime) -> int:
        contact_id = self.store.next_id("Contact")
        self.store.contacts[contact_id] = contact(contact_id, email, now=now,
                                                  consent_profiling=False)  # fmt: skip
        return contact_id

    async def update(self, contact_id: int, values: Mapping[str, Any], now: datetime) -> None:
        fields = dict(values)
        if "lead_status_pinned" in fields:
            self.store.pinned[contact_id] = fields.pop("lead_status_pinned")
        found = self.store.contacts.get(contact_id)
        if found is not None:
            self.store.contacts[contact_id] = replace(found, **fields, updated_at=now)
        self.changes.touch([contact_id], now, attributes=not FIT_COLUMNS.isdisjoint(values))

    async def add_scores(self, changes: Sequence[Mapping[str, Any]]) -> None:
        for change in changes:
            cid, activity = change["cid"], change["activity"]
            found = self.store.contacts.get(cid)
            if found is not None:
                last = found.last_activity_at
                if activity is not None and (last is None or last < activity):
                    last = activity
                score = found.score + change["delta"]
                self.store.contacts[cid] = replace(found, score=score, last_activity_at=last)
            self.changes.scored(cid, change["delta"], change["now"])

    def touch(self, ids: Iterable[int], now: datetime, *, attributes: bool = False) -> None:
        self.changes.touch(ids, now, attributes=attributes)

    def rules_changed(self, low: int, high: int, now: datetime) -> None:
        self.changes.rules_changed(low, high, now)

    async def without_profiling_consent(self, ids: Iterable[int]) -> set[int]:
        return {cid for cid, c in (await self.get_many(ids)).items() if not c.consent_profiling}

    async def placement_views(
        self, ids: Sequence[int], *, tags: bool, dates: bool
    ) -> dict[int, tuple[ContactView, Standing, str | None]]:
        out = {}
        for cid, c in (await self.get_many(ids)).items():
            points = {t.tag.code: t.points for (holder, _), t in self.store.held.items()
                      if holder == cid} if tags else {}  # fmt: skip
            company = self.store.companies.get(c.company_id) if c.company_id else None
            view = view_of(c, company, points)
            if not dates:
                view = replace(view, created_at=None, last_activity_at=None)
            standing = Standing(c.tier, c.tier_index, c.tier_reason, c.lead_status, c.segment)
            out[cid] = (view, standing, self.store.pinned.get(cid))
        return out


class FakeCompanies(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, company_id: int) -> Company | None:
        return self.store.companies.get(company_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, Company]:
        return {i: self.store.companies[i] for i in ids if i in self.store.companies}


class FakeTags(Partial):
    def __init__(self, store: FakeStore, changes: Changes) -> None:
        self.store, self.changes = store, changes

    async def list_all(self) -> list[Tag]:
        return sorted(self.store.tags.values(), key=lambda t: t.name)

    async def get_many(self, ids: Iterable[int]) -> dict[int, Tag]:
        return {i: self.store.tags[i] for i in ids if i in self.store.tags}

    async def get_by_codes(self, codes: Iterable[str]) -> dict[str, Tag]:
        wanted = set(codes)
        return {t.code: t for t in self.store.tags.values() if t.code in wanted}

    async def get_by_code(self, code: str) -> Tag | None:
        return (await self.get_by_codes([code])).get(code)

    async def held(self, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        return set(pairs) & set(self.store.held)

    async def holds(self, contact_id: int, tag_id: int) -> bool:
        return (contact_id, tag_id) in self.store.held

    async def add_points(self, contact_id: int, tag_id: int, points: int, now: datetime) -> bool:
        return bool(await self.give({(contact_id, tag_id): (points, now)}))

    async def give(
        self, points: Mapping[tuple[int, int], tuple[int, datetime]]
    ) -> set[tuple[int, int]]:
        held = await self.held(points)
        for (contact_id, tag_id), (count, at) in points.items():
            old = self.store.held.get((contact_id, tag_id))
            if old is None:
                tag = self.store.tags[tag_id]
                self.store.held[(contact_id, tag_id)] = ContactTag(contact_id, tag, count, at, at)
                self.changes.tagged(contact_id, tag_id, True, at)
            else:
                self.store.held[(contact_id, tag_id)] = replace(
                    old, points=old.points + count, last_at=at
                )
                self.changes.touch([contact_id], at)
        return set(points) - held

    async def remove(self, contact_id: int, tag_id: int) -> bool:
        removed = self.store.held.pop((contact_id, tag_id), None) is not None
        if removed:
            self.changes.tagged(contact_id, tag_id, False, None)
        return removed


class FakeDecayPolicies(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def current(self) -> DecayPolicy:
        return max(self.store.decay_policies, key=lambda p: p.version)

    async def history(self) -> list[DecayPolicy]:
        return sorted(self.store.decay_policies, key=lambda p: -p.version)

    async def add(self, policy: DecayPolicy, now: datetime) -> None:
        self.store.decay_policies.append(policy)


class FakeTiers(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def policy(self, version: int | None = None) -> TierPolicy | None:
        return _version(self.store.tier_policies, version)

    async def scheme(self, version: int | None = None) -> SegmentScheme | None:
        return _version(self.store.schemes, version)

    async def version(self) -> int:
        return self.store.tier_version


V = TypeVar("V", TierPolicy, SegmentScheme)


def _version(kept: list[V], version: int | None) -> V | None:
    found = [v for v in kept if version is None or v.version == version]
    return max(found, key=lambda v: v.version) if found else None


class FakeEventLog(Partial):
    def __init__(self) -> None:
        self.pending: list[Event] = []

    def add(self, events: Iterable[Event]) -> None:
        self.pending.extend(events)


class FakeAutomations(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def all(self) -> list[Automation]:
        return [self.store.automations[i] for i in sorted(self.store.automations)]

    async def get(self, automation_id: int) -> Automation | None:
        return self.store.automations.get(automation_id)

    async def get_by_name(self, name: str) -> Automation | None:
        return next((a for a in self.store.automations.values() if a.name == name), None)

    async def version(self) -> int:
        return self.store.automation_version

    async def insert(
        self,
        name: str,
        description: str | None,
        status: AutomationStatus,
        definition: tuple[Trigger, ContactFilter | None, Sequence[Action]],
        now: datetime,
    ) -> int:
        trigger, condition, actions = definition
        new_id = self.store.next_id("Automation")
        self.store.put(Automation(new_id, name, status, trigger, condition, tuple(actions),
                                  description, now, now))  # fmt: skip
        return new_id

    async def log_runs(self, runs: Sequence[Mapping[str, Any]]) -> None:
        self.store.runs.extend(dict(run, id=self.store.next_id("run")) for run in runs)

    async def runs(
        self, automation_id: int | None, contact_id: int | None, limit: int
    ) -> list[Any]:
        found = [r for r in reversed(self.store.runs)
                 if automation_id in (None, r["automation_id"])
                 and contact_id in (None, r["contact_id"])]  # fmt: skip
        return found[:limit]

    async def inactive(self, automation_id: int, since: datetime, limit: int) -> list[int]:
        out = []
        for cid in sorted(self.store.contacts):
            c = self.store.contacts[cid]
            activity = c.last_activity_at or c.created_at
            ran = any(r["automation_id"] == automation_id and r["contact_id"] == cid
                      and r["at"] >= activity for r in self.store.runs)  # fmt: skip
            if activity < since and not ran:
                out.append(cid)
        return out[:limit]
