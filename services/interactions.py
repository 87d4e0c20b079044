"""Recording interactions: one or many per call, idempotent by key, scored by the rules.

A batch is one transaction. Invalid items are reported by index and skipped; an item whose
key was seen before (in an earlier call or earlier in the batch) is counted once and answered
with the first result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from domain import events
from domain.contacts import clean_attributes, gone, normalise_email
from domain.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    WriteConflict,
    check_batch,
    parse_id,
)
from domain.pagination import Page, PageRequest
from domain.scoring import (
    Award,
    Interaction,
    LedgerReason,
    ScoringRule,
    award,
    check_occurred_at,
    clean_interaction_type,
    day_bounds,
    ledger_entry,
    normalise_page,
)
from services.ports import UnitOfWork, UnitOfWorkFactory
from services.versioned import ByVersion

MAX_BATCH = 1000
_active_by_version: ByVersion[list[ScoringRule]] = ByVersion()


async def active_rules(uow: UnitOfWork) -> list[ScoringRule]:
    """The active scoring rules, read once per version of the rules (every write awards)."""
    return await _active_by_version.get(uow, await uow.rules.version(), uow.rules.active)


MAX_KEY = 200
RETRIES = 3


@dataclass(frozen=True)
class InteractionInput:
    type: str
    occurred_at: datetime
    idempotency_key: str
    contact_id: int | str | None = None
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
    contact_id = item.contact_id
    if isinstance(contact_id, str):
        contact_id = parse_id(contact_id, "contact", "contactId")
    return replace(
        item,
        type=clean_interaction_type(item.type),
        occurred_at=check_occurred_at(item.occurred_at, now).astimezone(UTC),
        idempotency_key=key,
        contact_id=contact_id,
        email=normalise_email(item.email) if item.email is not None else None,
        page=normalise_page(item.page) if item.page else None,
        properties=clean_attributes(item.properties, "properties"),
    )


async def interactions_of(
    uows: UnitOfWorkFactory, contact_id: int, page: PageRequest
) -> Page[Interaction]:
    async with uows() as uow:
        return await uow.interactions.page(contact_id, page)


async def count_interactions(uows: UnitOfWorkFactory, contact_id: int) -> int:
    async with uows() as uow:
        return await uow.interactions.count(contact_id)


async def record_interactions(
    uows: UnitOfWorkFactory, items: Sequence[InteractionInput], now: datetime
) -> list[RecordResult]:
    check_batch(len(items), MAX_BATCH, "interaction", "interactions")
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
        except WriteConflict:
            if attempt == RETRIES - 1:  # a concurrent writer kept winning the same keys
                raise
    results.update({i: RecordResult(i, error=e) for i, e in errors.items()})
    return [results[i] for i in range(len(items))]


async def _record(
    uows: UnitOfWorkFactory, items: Mapping[int, InteractionInput], now: datetime
) -> dict[int, RecordResult]:
    async with uows(write=True) as uow:
        batch = _Batch(uow, items, now)
        await batch.resolve()
        if batch.fresh:
            await batch.write(await batch.awards())
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
        self.fresh: list[int] = []
        self.recorded: dict[int, tuple[int, list[tuple[Award, str]]]] = {}
        self.interaction_ids: dict[int, int] = {}

    async def resolve(self) -> None:
        """Keys seen before, unknown contact ids, repeats inside the batch, then emails."""
        stored = await self.uow.interactions.by_keys(
            {i.idempotency_key for i in self.items.values()}
        )
        self.seen = {
            i: stored[x.idempotency_key]
            for i, x in self.items.items()
            if x.idempotency_key in stored
        }
        rest = [i for i in sorted(self.items) if i not in self.seen]
        ids = {cid for i in rest if isinstance(cid := self.items[i].contact_id, int)}
        # Contacts named by id are locked as they are looked up, unless some come by email
        # (all are then locked at once below, in id order, as concurrent writers do).
        by_id = all(self.items[i].email is None for i in rest)
        known = set(await self.uow.contacts.scores(ids, lock=by_id)) if ids else set()
        erased = await self.uow.contacts.erased_among(known) if known else set()
        first_index: dict[str, int] = {}
        for index in rest:
            item = self.items[index]
            if isinstance(item.contact_id, int) and item.contact_id not in known:
                self.failed[index] = NotFound(
                    f"no contact with id {item.contact_id}", field="contactId"
                )
            elif item.contact_id in erased:
                self.failed[index] = gone(item.contact_id)
            elif item.idempotency_key in first_index:
                self.first_of_key[index] = first_index[item.idempotency_key]
            else:
                first_index[item.idempotency_key] = index
                self.fresh.append(index)
        await self._resolve_emails()
        await self.uow.contacts.lock(self.contact_of.values())

    async def _resolve_emails(self) -> None:
        emails = {e for i in self.fresh if (e := self.items[i].email) is not None}
        by_email: dict[str, int] = {}
        if emails:
            found = await self.uow.contacts.get_many_by_email(emails)
            by_email = {email: contact.id for email, contact in found.items()}
            missing = sorted(e for e in emails if e not in by_email)
            by_email.update(await self.uow.contacts.insert_emails(missing, self.now))
        for index in self.fresh:
            item = self.items[index]
            cid = item.contact_id
            self.contact_of[index] = cid if isinstance(cid, int) else by_email[str(item.email)]

    async def awards(self) -> dict[int, list[tuple[Award, str]]]:
        """What each fresh item earns, in input order, caps counted across the batch."""
        types = {self.items[i].type for i in self.fresh}
        rules = [r for r in await active_rules(self.uow) if r.interaction_type in types]
        used = await self._used_today(rules)
        names = {rule.id: rule.name for rule in rules}
        out: dict[int, list[tuple[Award, str]]] = {}
        for index in self.fresh:
            item, contact_id = self.items[index], self.contact_of[index]
            day = day_bounds(item.occurred_at)[0]
            today = {r.id: used[(contact_id, r.id, day)] for r in rules}
            earned = award(rules, item.type, item.page, today)
            for a in earned:
                used[(contact_id, a.rule_id, day)] += a.points
            out[index] = [(a, names[a.rule_id]) for a in earned]
        return out

    async def write(self, earned: Mapping[int, list[tuple[Award, str]]]) -> None:
        rows = []
        for index in self.fresh:
            item, contact_id = self.items[index], self.contact_of[index]
            delta = sum(a.points for a, _ in earned[index])
            self.recorded[index] = (contact_id, earned[index])
            rows.append(self._interaction_row(item, contact_id, delta))
        ids = await self.uow.interactions.insert_many(rows)
        self.interaction_ids = dict(zip(self.fresh, ids, strict=True))
        await self.uow.ledger.add(
            [
                ledger_entry(cid, LedgerReason.RULE, name, a.points, self.items[i].occurred_at,
                             self.now, rule_id=a.rule_id, interaction_id=self.interaction_ids[i])
                for i, (cid, named) in self.recorded.items()
                for a, name in named
            ]
        )  # fmt: skip
        await self._tag_points()
        await self._scores()

    async def _tag_points(self) -> None:
        """One tag point per trigger, dated by the latest interaction that gave it."""
        counts: defaultdict[tuple[int, int], int] = defaultdict(int)
        latest: dict[tuple[int, int], datetime] = {}
        for index, (contact_id, named) in self.recorded.items():
            at = self.items[index].occurred_at
            for a, _ in named:
                if a.tag_id is not None:
                    counts[(contact_id, a.tag_id)] += 1
                    latest[(contact_id, a.tag_id)] = max(at, latest.get((contact_id, a.tag_id), at))
        if counts:
            await self.uow.tags.give({pair: (n, latest[pair]) for pair, n in counts.items()})

    async def _scores(self) -> None:
        deltas: defaultdict[int, int] = defaultdict(int)
        latest: dict[int, datetime] = {}
        for index, (contact_id, named) in self.recorded.items():
            item = self.items[index]
            points = sum(a.points for a, _ in named)
            deltas[contact_id] += points
            latest[contact_id] = max(item.occurred_at, latest.get(contact_id, item.occurred_at))
            self.uow.events.add([events.interaction(contact_id, item.type, points, self.now)])
        await self.uow.contacts.add_scores(
            [
                {"cid": cid, "delta": deltas[cid], "activity": at, "now": self.now}
                for cid, at in latest.items()
            ]
        )

    async def _used_today(
        self, rules: list[ScoringRule]
    ) -> defaultdict[tuple[int, int, datetime], int]:
        used: defaultdict[tuple[int, int, datetime], int] = defaultdict(int)
        capped = [r.id for r in rules if r.daily_cap is not None]
        if not capped:
            return used
        days = [day_bounds(self.items[i].occurred_at) for i in self.fresh]
        rows = await self.uow.ledger.rule_points_between(
            {self.contact_of[i] for i in self.fresh},
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
        """Answers from what this batch wrote, and from the ledger for keys seen before."""
        new = {i: self._written(i, iid) for i, iid in self.interaction_ids.items()}
        old = (
            await self.uow.ledger.for_interactions(x.id for x in self.seen.values())
            if self.seen
            else {}
        )
        applied = {
            i: tuple(AppliedRule(a.rule_id, name, a.points) for a, name in self.recorded[i][1])
            for i in new
        }
        applied |= {
            i: tuple(AppliedRule(e.rule_id, e.label, e.points) for e in old.get(x.id, []))
            for i, x in self.seen.items()
        }
        everything = {**self.seen, **new}
        out: dict[int, RecordResult] = {i: RecordResult(i, error=e) for i, e in self.failed.items()}
        for index, interaction in everything.items():
            out[index] = RecordResult(
                index,
                interaction,
                interaction.score_delta,
                applied[index],
                duplicate=index in self.seen,
            )
        for index, first in self.first_of_key.items():
            out[index] = replace(out[first], index=index, duplicate=True)
        return out

    def _written(self, index: int, interaction_id: int) -> Interaction:
        item, (contact_id, awards) = self.items[index], self.recorded[index]
        return Interaction(
            id=interaction_id,
            contact_id=contact_id,
            type=item.type,
            page=item.page,
            properties=dict(item.properties),
            occurred_at=item.occurred_at,
            idempotency_key=item.idempotency_key,
            score_delta=sum(a.points for a, _ in awards),
            created_at=self.now,
        )
