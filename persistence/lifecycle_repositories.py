"""Data-quality and lifecycle storage: merged-id aliases, merging rows into a kept contact,
reading and scrubbing everything stored about one contact, the erasure log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, cast, delete, func, insert, literal, select, update

from domain.contacts import Contact
from domain.duplicates import Person
from persistence.base import Repository
from persistence.tables import metadata

contact_t: Table = metadata.tables["contact"]
company_t: Table = metadata.tables["company"]
tag_t: Table = metadata.tables["tag"]
contact_tag_t: Table = metadata.tables["contact_tag"]
interaction_t: Table = metadata.tables["interaction"]
entry_t: Table = metadata.tables["score_entry"]
tier_change_t: Table = metadata.tables["tier_change"]
event_t: Table = metadata.tables["event"]
list_t: Table = metadata.tables["contact_list"]
member_t: Table = metadata.tables["list_member"]
run_t: Table = metadata.tables["automation_run"]
delivery_t: Table = metadata.tables["webhook_delivery"]
alias_t: Table = metadata.tables["contact_alias"]
erasure_t: Table = metadata.tables["erasure_log"]
attempt_t: Table = metadata.tables["webhook_attempt"]
IDENTITY = ("email", "first_name", "last_name", "phone")
# What an erasure rewrites: where dead row versions keep the old values (Postgres VACUUM).
ERASURE_TABLES = (
    "contact", "interaction", "score_entry", "event", "webhook_delivery", "webhook_attempt",
    "automation_run", "tier_change", "contact_alias",
)  # fmt: skip

Scrub = Callable[[Any], Any]


class LifecycleRepository(Repository):
    # Set by an erasure: the unit of work wipes the freed bytes after its commit (db.py).
    erasing = False

    async def alias_of(self, contact_id: int) -> int | None:
        """The contact a merged id now resolves to (None if the id was never merged)."""
        stmt = select(alias_t.c.kept_id).where(alias_t.c.merged_id == contact_id)
        found = await self._scalar(stmt)
        return int(found) if found is not None else None

    async def merged_into(self, contact_id: int) -> list[int]:
        stmt = select(alias_t.c.merged_id).where(alias_t.c.kept_id == contact_id)
        return [r.merged_id for r in await self._rows(stmt.order_by(alias_t.c.merged_id))]

    async def people(self, after: int = 0, limit: int | None = None) -> list[Person]:
        """Contacts as duplicate detection reads them, by id: those after `after`, at most
        `limit` (all by default)."""
        c = contact_t.c
        stmt = select(c.id, c.email, c.first_name, c.last_name, c.phone, c.company_id)
        stmt = stmt.where(c.id > after).order_by(c.id).limit(limit)
        return [Person(*tuple(row)) for row in await self._rows(stmt)]

    # --- merging -------------------------------------------------------------------------

    async def move_rows(self, merged: Sequence[int], keep: int) -> None:
        """Interactions, ledger entries and automation runs change owner (ids and
        idempotency keys stay as they are)."""
        for table in (interaction_t, entry_t, run_t):
            stmt = update(table).where(table.c.contact_id.in_(list(merged)))
            await self.conn.execute(stmt.values(contact_id=keep))
        self.changes.touch([keep], None)

    async def tag_rows(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        stmt = (
            select(contact_tag_t, tag_t.c.code)
            .join(tag_t, tag_t.c.id == contact_tag_t.c.tag_id)
            .where(contact_tag_t.c.contact_id.in_(list(ids)))
        )
        return [dict(r._mapping) for r in await self._rows(stmt)]

    async def replace_tags(self, ids: Sequence[int], rows: Sequence[dict[str, Any]]) -> None:
        """The tags of these contacts become `rows`; tags gained or lost are recorded."""
        before = {(r["contact_id"], r["tag_id"]) for r in await self.tag_rows(ids)}
        await self.conn.execute(delete(contact_tag_t).where(contact_tag_t.c.contact_id.in_(ids)))
        if rows:
            await self.conn.execute(insert(contact_tag_t), list(rows))
        after = {(r["contact_id"], r["tag_id"]) for r in rows}
        for contact_id, tag_id in sorted(after - before):
            self.changes.tagged(contact_id, tag_id, True, None)
        for contact_id, tag_id in sorted(before - after):
            self.changes.tagged(contact_id, tag_id, False, None)
        self.changes.touch(ids, None)

    async def static_memberships(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        """(list id, contact id) of static-list members among `ids`."""
        stmt = (
            select(member_t.c.list_id, member_t.c.contact_id)
            .join(list_t, list_t.c.id == member_t.c.list_id)
            .where(list_t.c.kind == "STATIC", member_t.c.contact_id.in_(list(ids)))
        )
        return [(r.list_id, r.contact_id) for r in await self._rows(stmt)]

    async def ledger_sum(self, contact_id: int) -> int:
        stmt = select(func.coalesce(func.sum(entry_t.c.points), 0))
        return int(await self._scalar(stmt.where(entry_t.c.contact_id == contact_id)))

    async def add_aliases(self, merged: Sequence[Contact], keep: int, now: datetime) -> None:
        """Aliases of the merged contacts follow them to `keep`; each merged id gets one,
        which remembers who it was (for the erasure of `keep`)."""
        ids = [m.id for m in merged]
        stmt = update(alias_t).where(alias_t.c.kept_id.in_(ids))
        await self.conn.execute(stmt.values(kept_id=keep))
        await self.conn.execute(delete(alias_t).where(alias_t.c.merged_id.in_(ids)))
        rows = [
            {"merged_id": m.id, "kept_id": keep, "merged_at": now,
             **{name: getattr(m, name) for name in IDENTITY}}
            for m in merged
        ]  # fmt: skip
        await self.conn.execute(insert(alias_t), rows)

    async def merged_people(self, contact_id: int) -> list[Person]:
        """Who was merged into the contact, as the aliases remember them; for an alias made
        before they did, the email its events' snapshots carry."""
        a = alias_t.c
        stmt = select(a.merged_id, a.email, a.first_name, a.last_name, a.phone)
        people = [
            Person(*tuple(row)) for row in await self._rows(stmt.where(a.kept_id == contact_id))
        ]
        blind = [p.id for p in people if not p.email]
        if blind:
            email = event_t.c.payload["contact"]["email"].as_string()
            found = select(event_t.c.contact_id, email).where(event_t.c.contact_id.in_(blind))
            pairs = {(r[0], r[1]) for r in map(tuple, await self._rows(found.distinct())) if r[1]}
            people += [Person(cid, address) for cid, address in sorted(pairs)]
        return people

    async def forget_aliases(self, contact_id: int) -> None:
        """The aliases to the contact keep their ids but forget who was merged."""
        stmt = update(alias_t).where(alias_t.c.kept_id == contact_id)
        await self.conn.execute(stmt.values(dict.fromkeys(IDENTITY)))

    async def delete_contacts(self, ids: Sequence[int]) -> None:
        await self.conn.execute(delete(contact_t).where(contact_t.c.id.in_(list(ids))))
        self.seen.forget(ids)
        self.changes.forget(ids)

    # --- GDPR ----------------------------------------------------------------------------

    async def _of(self, table: Table, contact_id: int, order: Any) -> list[dict[str, Any]]:
        stmt = select(table).where(table.c.contact_id == contact_id).order_by(order)
        return [dict(r._mapping) for r in await self._rows(stmt)]

    async def everything(self, contact_id: int) -> dict[str, Any] | None:
        """Every row stored about a contact, by kind (None if there is no such contact)."""
        row = (
            await self.conn.execute(select(contact_t).where(contact_t.c.id == contact_id))
        ).first()
        if row is None:
            return None
        contact = dict(row._mapping)
        company = None
        if contact["company_id"] is not None:
            found = await self.conn.execute(
                select(company_t).where(company_t.c.id == contact["company_id"])
            )
            company_row = found.first()
            company = dict(company_row._mapping) if company_row else None
        lists = (
            select(member_t.c.list_id, list_t.c.name, list_t.c.kind, member_t.c.added_at)
            .join(list_t, list_t.c.id == member_t.c.list_id)
            .where(member_t.c.contact_id == contact_id)
            .order_by(member_t.c.list_id)
        )
        return {
            "contact": contact,
            "company": company,
            "tags": await self.tag_rows([contact_id]),
            "interactions": await self._of(interaction_t, contact_id, interaction_t.c.id),
            "score_entries": await self._of(entry_t, contact_id, entry_t.c.id),
            "tier_changes": await self._of(tier_change_t, contact_id, tier_change_t.c.id),
            "list_memberships": [dict(r._mapping) for r in await self._rows(lists)],
            "automation_runs": await self._of(run_t, contact_id, run_t.c.id),
            "events": await self._of(event_t, contact_id, event_t.c.cursor),
            "webhook_deliveries": await self._of(delivery_t, contact_id, delivery_t.c.id),
            "merged_ids": await self.merged_into(contact_id),
            "erasures": await self._of(erasure_t, contact_id, erasure_t.c.id),
        }

    async def scrub_rows(
        self, ids: Sequence[int], columns: Mapping[str, Sequence[str]], scrub: Scrub
    ) -> set[str]:
        """Rewrites the named columns of every row of the contacts `ids` in each named table
        with `scrub(value)` (JSON columns as their Python value, text as text); webhook
        attempts belong to their delivery's contact. Returns the tables it changed."""
        changed_tables: set[str] = set()
        for name, cols in columns.items():
            table = metadata.tables[name]
            key = next(iter(table.primary_key.columns))
            stmt = select(key, *(table.c[c] for c in cols)).where(_owned_by(table, ids))
            for row in await self._rows(stmt):
                values = {c: scrub(row._mapping[c]) for c in cols}
                changed = {c: v for c, v in values.items() if v != row._mapping[c]}
                if changed:
                    await self.conn.execute(update(table).where(key == row[0]).values(**changed))
                    changed_tables.add(name)
        return changed_tables

    async def forget_interactions(self, contact_id: int) -> None:
        """Free-form properties go, and idempotency keys (which may embed an address)
        become `erased-<interaction id>`."""
        stmt = (
            update(interaction_t)
            .where(interaction_t.c.contact_id == contact_id)
            .values(
                properties={},
                idempotency_key=literal("erased-") + cast(interaction_t.c.id, String),
            )
        )
        await self.conn.execute(stmt)
        await self.conn.execute(
            update(entry_t).where(entry_t.c.contact_id == contact_id).values(comment=None)
        )
        self.changes.touch([contact_id], None)

    async def log_erasure(self, contact_id: int, key_id: int | None, now: datetime) -> None:
        values = {"contact_id": contact_id, "erased_at": now, "by_key_id": key_id}
        await self.conn.execute(insert(erasure_t).values(values))
        self.erasing = True

    async def erased(self, contact_id: int) -> bool:
        stmt = select(func.count()).select_from(erasure_t)
        return bool(await self._scalar(stmt.where(erasure_t.c.contact_id == contact_id)))


def _owned_by(table: Table, ids: Sequence[int]) -> Any:
    if table is attempt_t:
        deliveries = select(delivery_t.c.id).where(delivery_t.c.contact_id.in_(list(ids)))
        return attempt_t.c.delivery_id.in_(deliveries)
    return table.c.contact_id.in_(list(ids))
