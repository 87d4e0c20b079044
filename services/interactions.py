"""Recording interactions: one or many per call, idempotent by key, scored by the rules.

A batch is one transaction. Invalid items are reported by index and skipped; an item whose
key was seen before (in an earlier call or earlier in the batch) is counted once and answered
with the first result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from domain.contacts import Contact, clean_attributes, normalise_email
from domain.errors import DomainError, InvalidInput, NotFound
from domain.scoring import (
    Award,
    Interaction,
    LedgerReason,
    ScoringRule,
    award,
    check_occurred_at,
    clean_interaction_type,
    day_bounds,
    normalise_page,
)
from persistence.unit_of_work import UnitOfWork
from services.ledger import entry
from services.ports import UnitOfWorkFactory

MAX_BATCH = 1000
MAX_KEY = 200
RETRIES = 3


@dataclass(frozen=True)
class InteractionInput:
    type: str
    occurred_at: datetime
    idempotency_key: str
    contact_id: int | None = None
    email: str | None = None
    page: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppliedRule:
    rule_id: int | None
    name: str
    points: int


@dataclass(frozen=True)
class RecordResult:
    index: int
    interaction: Interaction | None = None
    contact: Contact | None = None
    score_delta: int = 0
    applied: tuple[AppliedRule, ...] = ()
    duplicate: bool = False
    error: DomainError | None = None


def clean_input(item: InteractionInput, now: datetime) -> InteractionInput:
    if (item.contact_id is None) == (item.email is None):
        raise InvalidInput("give the contact either by contactId or by email", field="contact")
    key = item.idempotency_key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(f"idempotencyKey must be 1-{MAX_KEY} characters", field="idempotencyKey")
    return replace(
        item,
        type=clean_interaction_type(item.type),
        occurred_at=check_occurred_at(item.occurred_at, now),
        idempotency_key=key,
        email=normalise_email(item.email) if item.email is not None else None,
        page=normalise_page(item.page) if item.page else None,
        properties=clean_attributes(item.properties),
    )


async def record_interactions(
    uows: UnitOfWorkFactory, items: Sequence[InteractionInput], now: datetime
) -> list[RecordResult]:
    if not items:
        raise InvalidInput("give at least one interaction", field="interactions")
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            f"at most {MAX_BATCH} interactions per call, got {len(items)}; split the batch",
            field="interactions",
        )
    cleaned: dict[int, InteractionInput] = {}
    errors: dict[int, DomainError] = {}
    for index, item in enumerate(items):
        try:
            cleaned[index] = clean_input(item, now)
        except DomainError as error:
            errors[index] = error
    for attempt in range(RETRIES):
        try:
            results = await _record(uows, cleaned, now)
            break
        except IntegrityError:
            if attempt == RETRIES - 1:  # a concurrent writer kept winning the same keys
                raise
    results.update({i: RecordResult(i, error=e) for i, e in errors.items()})
    return [results[i] for i in range(len(items))]


async def _record(
    uows: UnitOfWorkFactory, items: Mapping[int, InteractionInput], now: datetime
) -> dict[int, RecordResult]:
    async with uows(write=True) as uow:
        batch = _Batch(uow, items, now)
        await batch.resolve_seen()
        await batch.resolve_contacts()
        await batch.score()
        await uow.commit()
        return await batch.results()


class _Batch:
    """The steps of one recording transaction, each a constant number of statements."""

    def __init__(self, uow: UnitOfWork, items: Mapping[int, InteractionInput], now: datetime):
        self.uow, self.items, self.now = uow, dict(items), now
        self.seen: dict[int, Interaction] = {}
        self.first_of_key: dict[int, int] = {}
        self.contact_of: dict[int, int] = {}
        self.failed: dict[int, DomainError] = {}
        self.recorded: dict[int, tuple[int, list[tuple[Award, str]]]] = {}

    async def resolve_seen(self) -> None:
        keys = {item.idempotency_key for item in self.items.values()}
        stored = await self.uow.interactions.by_keys(keys)
        first_index: dict[str, int] = {}
        for index, item in sorted(self.items.items()):
            key = item.idempotency_key
            if key in stored:
                self.seen[index] = stored[key]
            elif key in first_index:
                self.first_of_key[index] = first_index[key]
            else:
                first_index[key] = index

    def _fresh(self) -> list[int]:
        return [i for i in sorted(self.items) if i not in self.seen and i not in self.first_of_key]

    async def resolve_contacts(self) -> None:
        fresh = self._fresh()
        ids = {cid for i in fresh if (cid := self.items[i].contact_id) is not None}
        known = set(await self.uow.contacts.scores(ids)) if ids else set()
        emails = {email for i in fresh if (email := self.items[i].email) is not None}
        by_email = {e: c.id for e, c in (await self.uow.contacts.get_many_by_email(emails)).items()}
        missing = sorted(str(e) for e in emails if e not in by_email)
        by_email.update(await self.uow.contacts.insert_emails(missing, self.now))
        for index in fresh:
            item = self.items[index]
            if item.contact_id is not None and item.contact_id not in known:
                self.failed[index] = NotFound(
                    f"no contact with id {item.contact_id}", field="contactId"
                )
            else:
                self.contact_of[index] = item.contact_id or by_email[str(item.email)]
        await self.uow.contacts.lock(self.contact_of.values())

    async def score(self) -> None:
        indexes = [i for i in self._fresh() if i in self.contact_of]
        if not indexes:
            return
        rules = await self.uow.rules.active_for_types({self.items[i].type for i in indexes})
        used = await self._used_today(indexes, rules)
        interactions: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        deltas: defaultdict[int, int] = defaultdict(int)
        tags: defaultdict[tuple[int, int], int] = defaultdict(int)
        names = {rule.id: rule.name for rule in rules}
        for index in indexes:
            item, contact_id = self.items[index], self.contact_of[index]
            day = day_bounds(item.occurred_at)[0]
            today = {r.id: used[(contact_id, r.id, day)] for r in rules}
            awards = award(rules, item.type, item.page, today)
            for a in awards:
                used[(contact_id, a.rule_id, day)] += a.points
                if a.tag_id is not None:
                    tags[(contact_id, a.tag_id)] += 1
            delta = sum(a.points for a in awards)
            deltas[contact_id] += delta
            self.recorded[index] = (contact_id, [(a, names[a.rule_id]) for a in awards])
            interactions.append(self._interaction_row(item, contact_id, delta))
        ids = await self.uow.interactions.insert_many(interactions)
        for index, interaction_id in zip(indexes, ids, strict=True):
            contact_id, awards_named = self.recorded[index]
            at = self.items[index].occurred_at
            entries += [
                entry(contact_id, LedgerReason.RULE, name, a.points, at, self.now,
                      rule_id=a.rule_id, interaction_id=interaction_id)
                for a, name in awards_named
            ]  # fmt: skip
        await self.uow.ledger.add(entries)
        for (contact_id, tag_id), count in tags.items():
            await self.uow.tags.add_points(contact_id, tag_id, count, self.now)
        latest: dict[int, datetime] = {}
        for index in indexes:
            contact_id, at = self.contact_of[index], self.items[index].occurred_at
            latest[contact_id] = max(at, latest.get(contact_id, at))
        await self.uow.contacts.add_scores(
            [
                {"cid": cid, "delta": deltas[cid], "activity": at, "now": self.now}
                for cid, at in latest.items()
            ]
        )
        self.interaction_ids = dict(zip(indexes, ids, strict=True))

    async def _used_today(
        self, indexes: list[int], rules: list[ScoringRule]
    ) -> defaultdict[tuple[int, int, datetime], int]:
        used: defaultdict[tuple[int, int, datetime], int] = defaultdict(int)
        capped = [r.id for r in rules if r.daily_cap is not None]
        if not capped:
            return used
        days = [day_bounds(self.items[i].occurred_at) for i in indexes]
        rows = await self.uow.ledger.rule_points_between(
            {self.contact_of[i] for i in indexes},
            capped,
            min(d[0] for d in days),
            max(d[1] for d in days),
        )
        for contact_id, rule_id, at, points in rows:
            used[(contact_id, rule_id, day_bounds(at)[0])] += points
        return used

    def _interaction_row(
        self, item: InteractionInput, contact_id: int, delta: int
    ) -> dict[str, Any]:
        return {
            "contact_id": contact_id,
            "type": item.type,
            "page": item.page,
            "properties": dict(item.properties),
            "occurred_at": item.occurred_at,
            "idempotency_key": item.idempotency_key,
            "score_delta": delta,
            "created_at": self.now,
        }

    async def results(self) -> dict[int, RecordResult]:
        new_ids = getattr(self, "interaction_ids", {})
        stored = await self.uow.interactions.by_keys(
            {self.items[i].idempotency_key for i in new_ids}
        )
        by_index = {i: stored[self.items[i].idempotency_key] for i in new_ids}
        everything = {**self.seen, **by_index}
        entries = await self.uow.ledger.for_interactions(x.id for x in everything.values())
        contacts = await self.uow.contacts.get_many(x.contact_id for x in everything.values())
        out: dict[int, RecordResult] = {i: RecordResult(i, error=e) for i, e in self.failed.items()}
        for index, interaction in everything.items():
            applied = tuple(
                AppliedRule(e.rule_id, e.label, e.points) for e in entries.get(interaction.id, [])
            )
            out[index] = RecordResult(
                index,
                interaction,
                contacts[interaction.contact_id],
                interaction.score_delta,
                applied,
                duplicate=index in self.seen,
            )
        for index, first in self.first_of_key.items():
            out[index] = replace(out[first], index=index, duplicate=True)
        return out
