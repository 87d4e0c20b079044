"""Webhooks and their durable deliveries: queued in the transaction of the event, leased by a
worker, every attempt logged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Row, Table, delete, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import Event
from domain.pagination import Cursor, Cursors, Page, PageRequest
from domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Outgoing,
    RetryPolicy,
    Webhook,
    envelope,
    event_envelope,
    spread_for,
)
from persistence.base import Repository, Seen
from persistence.direct import Direct
from persistence.repositories import without_profiling_consent
from persistence.tables import metadata

webhook_t: Table = metadata.tables["webhook"]
delivery_t: Table = metadata.tables["webhook_delivery"]
attempt_t: Table = metadata.tables["webhook_attempt"]
contact_t: Table = metadata.tables["contact"]

_d, _w = delivery_t.c, webhook_t.c
PENDING = DeliveryStatus.PENDING.value
ACTIVE_HOOKS = select(_w.id, _w.event_types).where(_w.active == true())
DELIVERY_KEYS = ("webhook_id", "event_type", "event_cursor", "contact_id", "body", "status",
                 "attempts", "next_attempt_at", "locked_until", "last_error", "created_at",
                 "delivered_at")  # fmt: skip
QUEUE = Direct(lambda _: insert(delivery_t), keys=DELIVERY_KEYS, many=True)  # direct.py
# Active webhooks per (engine, version of the webhook definitions).
_ACTIVE: dict[tuple[int, int], dict[int, frozenset[str]]] = {}


def encode_body(body: Mapping[str, Any]) -> str:
    """Serialised once: these exact bytes are stored, signed and sent."""
    return orjson.dumps(body, default=str).decode()


def webhook_from_row(row: Row[Any]) -> Webhook:
    m = row._mapping
    return Webhook(m["id"], m["name"], m["url"], tuple(m["event_types"]), bool(m["active"]),
                   m["created_at"], m["updated_at"], m["secret"])  # fmt: skip


def delivery_from_row(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        m["id"], m["webhook_id"], m["event_type"], m["event_cursor"], m["contact_id"], m["body"],
        DeliveryStatus(m["status"]), m["attempts"], m["next_attempt_at"], m["last_error"],
        m["created_at"], m["delivered_at"],
    )  # fmt: skip


def _delivery_row(
    webhook_id: int, event_type: str, body: str, contact_id: int | None, cursor: int | None,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    return {"webhook_id": webhook_id, "event_type": event_type, "event_cursor": cursor,
            "contact_id": contact_id, "body": body, "status": PENDING, "attempts": 0,
            "next_attempt_at": now, "locked_until": None, "last_error": None,
            "created_at": now, "delivered_at": None}  # fmt: skip


class WebhookRepository(Repository):
    def __init__(self, conn: AsyncConnection, seen: Seen | None = None) -> None:
        super().__init__(conn, seen=seen)
        self.queued = 0  # deliveries this unit of work queued

    async def insert(self, values: Mapping[str, Any], now: datetime) -> Webhook:
        row = {**values, "event_types": list(values["event_types"]),
               "created_at": now, "updated_at": now}  # fmt: skip
        stmt = insert(webhook_t).values(row).returning(_w.id)
        webhook_id = int((await self.conn.execute(stmt)).scalar_one())
        await self.seen.bump("webhooks")
        found = await self.get(webhook_id)
        assert found is not None
        return found

    async def update(self, webhook_id: int, values: Mapping[str, Any], now: datetime) -> bool:
        row = dict(values, updated_at=now)
        if "event_types" in row:
            row["event_types"] = list(row["event_types"])
        result = await self.conn.execute(update(webhook_t).where(_w.id == webhook_id).values(row))
        await self.seen.bump("webhooks")
        return bool(result.rowcount)

    async def delete(self, webhook_id: int) -> bool:
        """Its deliveries and their attempts go with it."""
        await self.conn.execute(delete(delivery_t).where(_d.webhook_id == webhook_id))
        result = await self.conn.execute(delete(webhook_t).where(_w.id == webhook_id))
        await self.seen.bump("webhooks")
        return bool(result.rowcount)

    async def get(self, webhook_id: int) -> Webhook | None:
        row = (await self.conn.execute(select(webhook_t).where(_w.id == webhook_id))).first()
        return webhook_from_row(row) if row else None

    async def get_by_name(self, name: str) -> Webhook | None:
        row = (await self.conn.execute(select(webhook_t).where(_w.name == name))).first()
        return webhook_from_row(row) if row else None

    async def list_all(self) -> list[Webhook]:
        return [webhook_from_row(r) for r in await self._rows(select(webhook_t).order_by(_w.name))]

    async def active(self) -> dict[int, frozenset[str]]:
        """The active webhooks and the event types each wants, read once per version of the
        webhooks (every write that has events asks)."""
        key = (id(self.conn.sync_engine), await self.seen.version("webhooks"))
        found = _ACTIVE.get(key)
        if found is None:
            if len(_ACTIVE) > 16:
                _ACTIVE.clear()
            rows = (await self.conn.execute(ACTIVE_HOOKS)).all()
            found = _ACTIVE[key] = {r.id: frozenset(r.event_types) for r in rows}
        return found

    async def enqueue_for_events(self, events: Sequence[Event], now: datetime) -> int:
        """A PENDING delivery per (event, active webhook wanting its type), in this
        transaction. Events about a contact without profiling consent are not delivered."""
        if not events:
            return 0
        hooks = await self.active()
        if not hooks:
            return 0
        wanted: dict[str, list[int]] = {}
        for hook_id, types in hooks.items():
            for kind in types:
                wanted.setdefault(kind, []).append(hook_id)
        matched = [(e, ids) for e in events if (ids := wanted.get(e.type))]
        refused = await without_profiling_consent(
            self.conn, {e.contact_id for e, _ in matched}, self.seen
        )
        rows = [
            _delivery_row(hook, e.type.value, body, e.contact_id, e.cursor, now)
            for e, ids in matched
            if e.contact_id not in refused
            for body in (encode_body(event_envelope(e)),)
            for hook in ids
        ]
        await QUEUE.run_many(self.conn, rows)
        self.queued += len(rows)
        return len(rows)

    async def enqueue(
        self,
        webhook_id: int,
        event_type: str,
        body: Mapping[str, Any],
        contact_id: int | None,
        now: datetime,
        *,
        event_cursor: int | None = None,
    ) -> int | None:
        """Queues one delivery (automations' CALL_WEBHOOK). `body` is the JSON-ready `data`
        of the envelope built here (`{"id", "type", "at", "contactId", "data": body}`). Returns
        the delivery id, or None when the webhook is gone or inactive, or the contact has not
        consented to profiling."""
        if webhook_id not in await self.active():
            return None
        if contact_id is not None and await without_profiling_consent(
            self.conn, [contact_id], self.seen
        ):
            return None
        text = encode_body(envelope(event_type, body, now, contact_id, event_cursor))
        row = _delivery_row(webhook_id, event_type, text, contact_id, event_cursor, now)
        stmt = insert(delivery_t).values(row).returning(_d.id)
        delivery_id = int((await self.conn.execute(stmt)).scalar_one())
        self.queued += 1
        return delivery_id

    def _claimable(self, now: datetime) -> Any:
        return (
            select(_d.id)
            .join(webhook_t, _w.id == _d.webhook_id)
            .where(_d.status == PENDING, _w.active == true())
            .where(or_(_d.locked_until.is_(None), _d.locked_until < now))
        )

    async def next_due(self, now: datetime) -> datetime | None:
        """When the earliest claimable delivery is due (None: nothing waiting)."""
        stmt = self._claimable(now).with_only_columns(func.min(_d.next_attempt_at))
        value: datetime | None = await self._scalar(stmt)
        return value

    async def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Outgoing]:
        """Leases up to `limit` due deliveries until now + `lease_seconds`, in one statement
        (rows another process is claiming are skipped), so no two workers send one delivery
        at the same time. An unfinished lease expires and the delivery is claimed again."""
        due = (
            self._claimable(now)
            .where(_d.next_attempt_at <= now)
            .order_by(_d.next_attempt_at, _d.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=delivery_t)
        )
        until = now + timedelta(seconds=lease_seconds)
        stmt = (
            update(delivery_t)
            .where(_d.id.in_(due.scalar_subquery()))
            .values(locked_until=until)
            .returning(_d.id, _d.webhook_id, _d.event_type, _d.body, _d.attempts)
        )
        claimed = (await self.conn.execute(stmt)).all()
        if not claimed:
            return []
        hook_ids = {r.webhook_id for r in claimed}
        hooks = await self._rows(select(_w.id, _w.url, _w.secret).where(_w.id.in_(hook_ids)))
        by_id = {h.id: h for h in hooks}
        return sorted(
            (Outgoing(r.id, r.webhook_id, by_id[r.webhook_id].url, by_id[r.webhook_id].secret,
                      r.event_type, r.body, r.attempts) for r in claimed),
            key=lambda o: o.id,
        )  # fmt: skip

    async def record_attempt(
        self, item: Outgoing, attempt: DeliveryAttempt, policy: RetryPolicy
    ) -> DeliveryStatus | None:
        """Logs the attempt and moves the delivery on: DELIVERED on a 2xx, else PENDING again
        after the backoff, or FAILED after the last attempt. None if the delivery changed
        meanwhile (deleted, or its lease expired and another worker recorded first)."""
        values: dict[str, Any] = {"attempts": attempt.attempt, "locked_until": None}
        if attempt.succeeded:
            values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=attempt.at,
                          last_error=None)  # fmt: skip
        else:
            retry_at = policy.retry_at(attempt.attempt, attempt.at, spread_for(item.id))
            values["last_error"] = attempt.describe()
            if retry_at is None:
                values["status"] = DeliveryStatus.FAILED.value
            else:
                values["next_attempt_at"] = retry_at
        stmt = update(delivery_t).where(
            _d.id == item.id, _d.status == PENDING, _d.attempts == item.attempts
        )
        if not (await self.conn.execute(stmt.values(values))).rowcount:
            return None
        await self.conn.execute(
            insert(attempt_t).values(
                delivery_id=item.id, attempt=attempt.attempt, at=attempt.at,
                status_code=attempt.status_code, error=attempt.error,
                duration_ms=attempt.duration_ms,
            )
        )  # fmt: skip
        return DeliveryStatus(values.get("status", PENDING))

    async def release(self, delivery_ids: Iterable[int]) -> None:
        """Gives leases back (an attempt cut short at shutdown): claimable again at once."""
        ids = list(delivery_ids)
        if ids:
            stmt = update(delivery_t).where(_d.id.in_(ids), _d.status == PENDING)
            await self.conn.execute(stmt.values(locked_until=None))

    async def retry(self, delivery_id: int, now: datetime) -> bool:
        """A FAILED delivery becomes PENDING, due now, for one more attempt."""
        stmt = (
            update(delivery_t)
            .where(_d.id == delivery_id, _d.status == DeliveryStatus.FAILED.value)
            .values(status=PENDING, next_attempt_at=now, locked_until=None)
        )
        retried = bool((await self.conn.execute(stmt)).rowcount)
        self.queued += retried
        return retried

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = (await self.conn.execute(select(delivery_t).where(_d.id == delivery_id))).first()
        return delivery_from_row(row) if row else None

    def _of(self, webhook_id: int, status: DeliveryStatus | None) -> Any:
        stmt = select(delivery_t).where(_d.webhook_id == webhook_id)
        return stmt if status is None else stmt.where(_d.status == status.value)

    async def deliveries(
        self, webhook_id: int, status: DeliveryStatus | None, page: PageRequest
    ) -> Page[Delivery]:
        """Newest first, keyed by id."""
        stmt = self._of(webhook_id, status)
        if page.after is not None:
            stmt = stmt.where(_d.id < page.after.id)
        rows = (await self.conn.execute(stmt.order_by(_d.id.desc()).limit(page.limit + 1))).all()
        items = rows[: page.limit]
        cursors = Cursors(lambda i: Cursor("ID", None, items[i].id), len(items))
        return Page([delivery_from_row(r) for r in items], cursors, len(rows) > page.limit,
                    page.after is not None)  # fmt: skip

    async def count_deliveries(self, webhook_id: int, status: DeliveryStatus | None) -> int:
        stmt = self._of(webhook_id, status).with_only_columns(func.count())
        return int(await self._scalar(stmt))

    async def attempts(self, delivery_ids: Iterable[int]) -> dict[int, list[DeliveryAttempt]]:
        stmt = (
            select(attempt_t)
            .where(attempt_t.c.delivery_id.in_(list(delivery_ids)))
            .order_by(attempt_t.c.delivery_id, attempt_t.c.attempt, attempt_t.c.id)
        )
        out: dict[int, list[DeliveryAttempt]] = {}
        for r in await self._rows(stmt):
            out.setdefault(r.delivery_id, []).append(
                DeliveryAttempt(r.attempt, r.at, r.status_code, r.error, r.duration_ms)
            )
        return out
