"""Repositories of the scoring engine: rules, fit rules, interactions, the ledger, decay."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.decay import DecayPolicy
from domain.fit import FitOperator, FitRule
from domain.pagination import Cursor, Cursors, Page, PageRequest
from domain.scoring import (
    Interaction,
    LedgerEntry,
    LedgerReason,
    RuleGroup,
    RuleKind,
    RuleStatus,
    ScoringRule,
)
from persistence.base import Repository, plain
from persistence.direct import Direct, one_of
from persistence.tables import metadata

T = TypeVar("T")
rule_t: Table = metadata.tables["scoring_rule"]
fit_t: Table = metadata.tables["fit_rule"]
interaction_t: Table = metadata.tables["interaction"]
entry_t: Table = metadata.tables["score_entry"]
decay_t: Table = metadata.tables["decay_policy"]


# Statements of the hot paths, built once and run directly on the driver (direct.py).
_i = interaction_t.c
INTERACTION_KEYS = ("contact_id", "type", "page", "properties", "occurred_at",
                    "idempotency_key", "score_delta", "created_at")  # fmt: skip
INTERACTIONS_BY_KEY = Direct(
    lambda d: select(interaction_t).where(one_of(_i.idempotency_key, "keys", d))
)
IDS_BY_KEY = Direct(
    lambda d: select(_i.idempotency_key, _i.id).where(one_of(_i.idempotency_key, "keys", d))
)
INSERT_INTERACTION = Direct(lambda _: insert(interaction_t).returning(_i.id), keys=INTERACTION_KEYS)
INSERT_INTERACTIONS = Direct(lambda _: insert(interaction_t), keys=INTERACTION_KEYS, many=True)
ENTRY_KEYS = ("contact_id", "reason", "label", "points", "at", "created_at", "detail",
              "rule_id", "fit_rule_id", "interaction_id", "comment")  # fmt: skip
INSERT_ENTRIES = Direct(lambda _: insert(entry_t), keys=ENTRY_KEYS, many=True)


def rule_from_row(row: Row[Any]) -> ScoringRule:
    m = row._mapping
    return ScoringRule(
        id=m["id"],
        name=m["name"],
        group=RuleGroup(m["group"]),
        interaction_type=m["interaction_type"],
        page=m["page"],
        points=m["points"],
        kind=RuleKind(m["kind"]),
        status=RuleStatus(m["status"]),
        tag_id=m["tag_id"],
        daily_cap=m["daily_cap"],
        description=m["description"],
        system_key=m["system_key"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def fit_from_row(row: Row[Any]) -> FitRule:
    m = row._mapping
    return FitRule(
        m["id"], m["name"], m["attribute"], FitOperator(m["operator"]), m["value"], m["points"],
        m["active"],
    )  # fmt: skip


def interaction_from_row(row: Row[Any]) -> Interaction:
    return _interaction(row._mapping)


def _interaction(m: Mapping[Any, Any]) -> Interaction:
    return Interaction(
        id=m["id"],
        contact_id=m["contact_id"],
        type=m["type"],
        page=m["page"],
        properties=dict(m["properties"] or {}),
        occurred_at=m["occurred_at"],
        idempotency_key=m["idempotency_key"],
        score_delta=m["score_delta"],
        created_at=m["created_at"],
    )


def entry_from_row(row: Row[Any]) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(
        id=m["id"],
        contact_id=m["contact_id"],
        reason=LedgerReason(m["reason"]),
        detail=m["detail"],
        label=m["label"],
        points=m["points"],
        rule_id=m["rule_id"],
        fit_rule_id=m["fit_rule_id"],
        interaction_id=m["interaction_id"],
        comment=m["comment"],
        at=m["at"],
    )


class RuleRepository(Repository):
    async def find(
        self, group: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[ScoringRule]:
        stmt = select(rule_t).order_by(rule_t.c.group, rule_t.c.name)
        wanted = {"group": group, "status": status, "kind": kind}
        for name, value in wanted.items():
            if value is not None:
                stmt = stmt.where(rule_t.c[name] == value)
        return [rule_from_row(r) for r in await self._rows(stmt)]

    async def get(self, rule_id: int) -> ScoringRule | None:
        row = (await self.conn.execute(select(rule_t).where(rule_t.c.id == rule_id))).first()
        return rule_from_row(row) if row else None

    async def get_many(self, ids: Iterable[int]) -> dict[int, ScoringRule]:
        rows = await self._rows(select(rule_t).where(rule_t.c.id.in_(list(ids))))
        return {row.id: rule_from_row(row) for row in rows}

    async def by_name(self, name: str) -> ScoringRule | None:
        row = (await self.conn.execute(select(rule_t).where(rule_t.c.name == name))).first()
        return rule_from_row(row) if row else None

    async def insert(self, values: Mapping[str, Any], now: datetime) -> int:
        stmt = insert(rule_t).values(**plain(values), created_at=now, updated_at=now)
        rule_id = int((await self.conn.execute(stmt.returning(rule_t.c.id))).scalar_one())
        await self.seen.bump("rules")
        return rule_id

    async def update(self, rule_id: int, values: Mapping[str, Any], now: datetime) -> None:
        await self.conn.execute(
            update(rule_t).where(rule_t.c.id == rule_id).values(**plain(values), updated_at=now)
        )
        await self.seen.bump("rules")

    async def delete(self, rule_id: int) -> None:
        await self.conn.execute(delete(rule_t).where(rule_t.c.id == rule_id))
        await self.seen.bump("rules")

    async def active(self) -> list[ScoringRule]:
        """Every active rule, in id order."""
        stmt = select(rule_t).where(rule_t.c.status == RuleStatus.ACTIVE.value)
        return [rule_from_row(r) for r in await self._rows(stmt.order_by(rule_t.c.id))]

    async def version(self) -> int:
        """Bumped in the transaction that adds, changes or removes a rule (or a tag, whose
        deletion clears it from the rules that gave it)."""
        return await self.seen.version("rules")


class FitRuleRepository(Repository):
    async def find(self) -> list[FitRule]:
        return [fit_from_row(r) for r in await self._rows(select(fit_t).order_by(fit_t.c.name))]

    async def get(self, rule_id: int) -> FitRule | None:
        row = (await self.conn.execute(select(fit_t).where(fit_t.c.id == rule_id))).first()
        return fit_from_row(row) if row else None

    async def get_many(self, ids: Iterable[int]) -> dict[int, FitRule]:
        rows = await self._rows(select(fit_t).where(fit_t.c.id.in_(list(ids))))
        return {row.id: fit_from_row(row) for row in rows}

    async def by_name(self, name: str) -> FitRule | None:
        row = (await self.conn.execute(select(fit_t).where(fit_t.c.name == name))).first()
        return fit_from_row(row) if row else None

    async def insert(self, values: Mapping[str, Any], now: datetime) -> int:
        stmt = insert(fit_t).values(**plain(values), created_at=now, updated_at=now)
        return int((await self.conn.execute(stmt.returning(fit_t.c.id))).scalar_one())

    async def update(self, rule_id: int, values: Mapping[str, Any], now: datetime) -> None:
        await self.conn.execute(
            update(fit_t).where(fit_t.c.id == rule_id).values(**plain(values), updated_at=now)
        )

    async def delete(self, rule_id: int) -> None:
        await self.conn.execute(delete(fit_t).where(fit_t.c.id == rule_id))


class InteractionRepository(Repository):
    async def by_keys(self, keys: Iterable[str]) -> dict[str, Interaction]:
        rows = await INTERACTIONS_BY_KEY.rows(self.conn, {"keys": list(keys)})
        names = interaction_t.c.keys()
        found = [_interaction(dict(zip(names, row, strict=True))) for row in rows]
        return {i.idempotency_key: i for i in found}

    async def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Ids in the order of `rows` (whose idempotency keys differ)."""
        if not rows:
            return []
        if len(rows) == 1:
            ids = [(await INSERT_INTERACTION.rows(self.conn, rows[0]))[0][0]]
        else:
            await INSERT_INTERACTIONS.run_many(self.conn, rows)
            keys = [r["idempotency_key"] for r in rows]
            by_key = dict(await IDS_BY_KEY.rows(self.conn, {"keys": keys}))
            ids = [by_key[k] for k in keys]
        self.changes.touch({r["contact_id"] for r in rows}, None)  # intent signals read them
        return ids

    async def count(self, contact_id: int) -> int:
        stmt = select(func.count()).select_from(interaction_t)
        return int(await self._scalar(stmt.where(interaction_t.c.contact_id == contact_id)))

    async def page(self, contact_id: int, page: PageRequest) -> Page[Interaction]:
        """Newest first (by when recorded), keyed by id."""
        return await id_page(self.conn, interaction_t, interaction_from_row, contact_id, page)


class LedgerRepository(Repository):
    async def add(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Tiers read the ledger's sums: the contacts are re-placed at commit."""
        if entries:
            await INSERT_ENTRIES.run_many(self.conn, entries)
            self.changes.touch({e["contact_id"] for e in entries}, None)

    async def sums(self, contact_ids: Iterable[int]) -> dict[int, int]:
        stmt = (
            select(entry_t.c.contact_id, func.sum(entry_t.c.points))
            .where(entry_t.c.contact_id.in_(list(contact_ids)))
            .group_by(entry_t.c.contact_id)
        )
        return {r[0]: int(r[1]) for r in map(tuple, await self._rows(stmt))}

    async def for_interactions(self, ids: Iterable[int]) -> dict[int, list[LedgerEntry]]:
        stmt = select(entry_t).where(entry_t.c.interaction_id.in_(list(ids))).order_by(entry_t.c.id)
        out: dict[int, list[LedgerEntry]] = defaultdict(list)
        for row in await self._rows(stmt):
            out[row.interaction_id].append(entry_from_row(row))
        return out

    async def rule_points_between(
        self, contact_ids: Iterable[int], rule_ids: Iterable[int], start: datetime, end: datetime
    ) -> list[tuple[int, int, datetime, int]]:
        """(contact, rule, at, points) of RULE entries in [start, end), for daily caps."""
        stmt = select(
            entry_t.c.contact_id, entry_t.c.rule_id, entry_t.c.at, entry_t.c.points
        ).where(
            entry_t.c.reason == LedgerReason.RULE.value,
            entry_t.c.contact_id.in_(list(contact_ids)),
            entry_t.c.rule_id.in_(list(rule_ids)),
            entry_t.c.at >= start,
            entry_t.c.at < end,
        )
        return [tuple(r) for r in await self._rows(stmt)]

    async def fit_sums(self, contact_ids: Iterable[int]) -> dict[int, dict[int, int]]:
        stmt = (
            select(entry_t.c.contact_id, entry_t.c.fit_rule_id, func.sum(entry_t.c.points))
            .where(
                entry_t.c.reason == LedgerReason.FIT.value,
                entry_t.c.contact_id.in_(list(contact_ids)),
                entry_t.c.fit_rule_id.is_not(None),
            )
            .group_by(entry_t.c.contact_id, entry_t.c.fit_rule_id)
        )
        out: dict[int, dict[int, int]] = defaultdict(dict)
        for contact_id, rule_id, total in map(tuple, await self._rows(stmt)):
            out[contact_id][rule_id] = int(total)
        return out

    async def decay_inputs(
        self, contact_ids: Sequence[int]
    ) -> tuple[dict[int, list[tuple[int, datetime]]], dict[int, int], dict[int, datetime]]:
        """Per contact: RULE awards (points, at), half-life DECAY written, last inactivity."""
        stmt = select(
            entry_t.c.contact_id, entry_t.c.reason, entry_t.c.detail, entry_t.c.points, entry_t.c.at
        ).where(
            entry_t.c.contact_id.in_(list(contact_ids)),
            entry_t.c.reason.in_([LedgerReason.RULE.value, LedgerReason.DECAY.value]),
        )
        awards: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        written: dict[int, int] = defaultdict(int)
        penalised: dict[int, datetime] = {}
        for contact_id, reason, detail, points, at in map(tuple, await self._rows(stmt)):
            if reason == LedgerReason.RULE.value:
                awards[contact_id].append((points, at))
            elif detail == "HALF_LIFE":
                written[contact_id] += points
            elif contact_id not in penalised or at > penalised[contact_id]:
                penalised[contact_id] = at
        return awards, written, penalised

    async def count(self, contact_id: int) -> int:
        stmt = select(func.count()).select_from(entry_t).where(entry_t.c.contact_id == contact_id)
        return int(await self._scalar(stmt))

    async def page(self, contact_id: int, page: PageRequest) -> Page[LedgerEntry]:
        """Newest first (by when written), keyed by entry id."""
        return await id_page(self.conn, entry_t, entry_from_row, contact_id, page)


@functools.cache
def _id_pages(table: Table) -> tuple[Direct, Direct]:
    """The statements of `id_page` for `table`, built once (first page, after a cursor) and
    run on the driver: building, keying and executing a statement through SQLAlchemy cost
    more than running it on a card."""
    base = select(table).where(table.c.contact_id == bindparam("contact_id"))
    newest = (table.c.id.desc(),)
    first = base.order_by(*newest).limit(bindparam("limit"))
    after = base.where(table.c.id < bindparam("after")).order_by(*newest).limit(bindparam("limit"))
    return Direct(lambda _d: first), Direct(lambda _d: after)


async def id_page(
    conn: AsyncConnection,
    table: Table,
    convert: Callable[[Any], T],
    contact_id: int,
    page: PageRequest,
) -> Page[T]:
    """A contact's rows of `table`, newest id first, after the cursor's id."""
    first, after = _id_pages(table)
    if page.after is None:
        params = {"contact_id": contact_id, "limit": page.limit + 1}
        rows = await first.records(conn, params)
    else:
        params = {"contact_id": contact_id, "after": page.after.id, "limit": page.limit + 1}
        rows = await after.records(conn, params)
    items = rows[: page.limit]
    cursors = Cursors(lambda i: Cursor("ID", None, items[i].id), len(items))
    return Page(
        [convert(r) for r in items], cursors, len(rows) > page.limit, page.after is not None
    )


class DecayPolicyRepository(Repository):
    async def current(self) -> DecayPolicy:
        row = (
            await self.conn.execute(select(decay_t).order_by(decay_t.c.version.desc()).limit(1))
        ).first()
        assert row is not None, "migration 0002 seeds decay policy version 1"
        return _policy(row)

    async def history(self) -> list[DecayPolicy]:
        rows = await self._rows(select(decay_t).order_by(decay_t.c.version.desc()))
        return [_policy(r) for r in rows]

    async def add(self, policy: DecayPolicy, now: datetime) -> None:
        await self.conn.execute(
            insert(decay_t).values(
                version=policy.version,
                half_life_days=policy.half_life_days,
                inactivity_days=policy.inactivity_days,
                inactivity_points=policy.inactivity_points,
                created_at=now,
            )
        )


def _policy(row: Row[Any]) -> DecayPolicy:
    m = row._mapping
    return DecayPolicy(
        m["version"], m["half_life_days"], m["inactivity_days"], m["inactivity_points"]
    )
