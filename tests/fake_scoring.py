"""Fake repositories of rules, fit rules, interactions and the ledger
(persistence/scoring_repositories.py), for tests/fakes.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from domain.changes import Changes
from domain.errors import WriteConflict
from domain.fit import FitRule
from domain.scoring import Interaction, LedgerEntry, LedgerReason, RuleStatus, ScoringRule
from tests.fake_store import _VERSIONS, FakeStore, Partial


class FakeRules(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def find(
        self, group: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[ScoringRule]:
        wanted = {"group": group, "status": status, "kind": kind}
        found = [r for r in self.store.rules.values()
                 if all(v is None or getattr(r, k) == v for k, v in wanted.items())]  # fmt: skip
        return sorted(found, key=lambda r: (r.group.value, r.name))

    async def get(self, rule_id: int) -> ScoringRule | None:
        return self.store.rules.get(rule_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, ScoringRule]:
        return {i: self.store.rules[i] for i in ids if i in self.store.rules}

    async def active(self) -> list[ScoringRule]:
        return [self.store.rules[i] for i in sorted(self.store.rules)
                if self.store.rules[i].status is RuleStatus.ACTIVE]  # fmt: skip

    async def version(self) -> int:
        """A new version at every call: services never serve rules from their cache."""
        return next(_VERSIONS)


class FakeFitRules(Partial):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def find(self) -> list[FitRule]:
        return sorted(self.store.fit_rules.values(), key=lambda r: r.name)

    async def get(self, rule_id: int) -> FitRule | None:
        return self.store.fit_rules.get(rule_id)

    async def get_many(self, ids: Iterable[int]) -> dict[int, FitRule]:
        return {i: self.store.fit_rules[i] for i in ids if i in self.store.fit_rules}


class FakeInteractions(Partial):
    def __init__(self, store: FakeStore, changes: Changes) -> None:
        self.store, self.changes = store, changes

    async def by_keys(self, keys: Iterable[str]) -> dict[str, Interaction]:
        wanted = set(keys)
        return {i.idempotency_key: i for i in self.store.interactions.values()
                if i.idempotency_key in wanted}  # fmt: skip

    async def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        if await self.by_keys(r["idempotency_key"] for r in rows):
            raise WriteConflict("an idempotency key is stored already")  # the unique index
        ids = []
        for row in rows:
            ids.append(self.store.next_id("Interaction"))
            self.store.interactions[ids[-1]] = Interaction(id=ids[-1], **row)
        self.changes.touch({r["contact_id"] for r in rows}, None)  # intent signals read them
        return ids

    async def count(self, contact_id: int) -> int:
        return sum(i.contact_id == contact_id for i in self.store.interactions.values())


class FakeLedger(Partial):
    def __init__(self, store: FakeStore, changes: Changes) -> None:
        self.store, self.changes = store, changes

    async def add(self, entries: Sequence[Mapping[str, Any]]) -> None:
        for row in entries:
            entry_id = self.store.next_id("LedgerEntry")
            fields = {**row, "reason": LedgerReason(row["reason"])}
            del fields["created_at"]
            self.store.ledger.append(LedgerEntry(id=entry_id, **fields))
        if entries:
            self.changes.touch({e["contact_id"] for e in entries}, None)

    async def sums(self, contact_ids: Iterable[int]) -> dict[int, int]:
        wanted, out = set(contact_ids), defaultdict[int, int](int)
        for e in self.store.ledger:
            if e.contact_id in wanted:
                out[e.contact_id] += e.points
        return dict(out)

    async def count(self, contact_id: int) -> int:
        return sum(e.contact_id == contact_id for e in self.store.ledger)

    async def for_interactions(self, ids: Iterable[int]) -> dict[int, list[LedgerEntry]]:
        wanted, out = set(ids), defaultdict[int, list[LedgerEntry]](list)
        for e in self.store.ledger:
            if e.interaction_id is not None and e.interaction_id in wanted:
                out[e.interaction_id].append(e)
        return dict(out)

    async def rule_points_between(
        self, contact_ids: Iterable[int], rule_ids: Iterable[int], start: datetime, end: datetime
    ) -> list[tuple[int, int, datetime, int]]:
        cids, rids = set(contact_ids), set(rule_ids)
        return [(e.contact_id, e.rule_id, e.at, e.points) for e in self.store.ledger
                if e.reason is LedgerReason.RULE and e.contact_id in cids
                and e.rule_id in rids and start <= e.at < end]  # fmt: skip

    async def fit_sums(self, contact_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        wanted, out = set(contact_ids), defaultdict[int, dict[int, int]](dict)
        for e in self.store.ledger:
            if (
                e.reason is LedgerReason.FIT
                and e.contact_id in wanted
                and e.fit_rule_id is not None
            ):
                sums = out[e.contact_id]
                sums[e.fit_rule_id] = sums.get(e.fit_rule_id, 0) + e.points
        return dict(out)

    async def decay_inputs(
        self, contact_ids: Sequence[int]
    ) -> tuple[dict[int, list[tuple[int, datetime]]], dict[int, int], dict[int, datetime]]:
        wanted = set(contact_ids)
        awards: defaultdict[int, list[tuple[int, datetime]]] = defaultdict(list)
        written: defaultdict[int, int] = defaultdict(int)
        penalised: dict[int, datetime] = {}
        for e in self.store.ledger:
            cid = e.contact_id
            if cid not in wanted:
                continue
            if e.reason is LedgerReason.RULE:
                awards[cid].append((e.points, e.at))
            elif e.reason is LedgerReason.DECAY and e.detail == "HALF_LIFE":
                written[cid] += e.points
            elif e.reason is LedgerReason.DECAY and (cid not in penalised or e.at > penalised[cid]):
                penalised[cid] = e.at
        return awards, written, penalised
