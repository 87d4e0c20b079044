"""Webhooks: registration (admin), the delivery log, and the worker that sends deliveries.

Deliveries are queued by the unit of work in the transaction of their events; the worker
leases due ones, POSTs them, and records every attempt. Delivery is at least once: an attempt
cut short (crash, shutdown, lost lease) is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from domain.errors import Conflict, InvalidInput, NotFound
from domain.pagination import Page, PageRequest
from domain.webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Outgoing,
    RetryPolicy,
    Webhook,
    clean_event_types,
    clean_name,
    clean_secret,
    clean_url,
    clip_error,
    headers,
    new_secret,
)
from services.ports import Clock, UnitOfWork, UnitOfWorkFactory, WebhookSender, WebhookSenders
from services.targets import TargetGuard

log = logging.getLogger("segmento.webhooks")
_CLEANERS = {"name": clean_name, "url": clean_url, "event_types": clean_event_types,
             "secret": clean_secret}  # fmt: skip


async def list_webhooks(uows: UnitOfWorkFactory) -> list[Webhook]:
    async with uows() as uow:
        return await uow.webhooks.list_all()


async def _require(uow: UnitOfWork, webhook_id: int) -> Webhook:
    found = await uow.webhooks.get(webhook_id)
    if found is None:
        raise NotFound(f"no webhook with id {webhook_id}", field="id")
    return found


async def get_webhook(uows: UnitOfWorkFactory, webhook_id: int) -> Webhook:
    async with uows() as uow:
        return await _require(uow, webhook_id)


async def _check_name(uow: UnitOfWork, name: str, webhook_id: int | None = None) -> None:
    clash = await uow.webhooks.get_by_name(name)
    if clash is not None and clash.id != webhook_id:
        raise Conflict(f"a webhook named {name!r} already exists", field="name")


async def create_webhook(
    uows: UnitOfWorkFactory,
    name: str,
    url: str,
    event_types: list[str],
    secret: str | None,
    active: bool,
    now: datetime,
    *,
    targets: TargetGuard,
) -> tuple[Webhook, str]:
    """Returns the webhook and its secret: the only time the secret is shown. A URL that
    reaches inside the network is refused (`targets`)."""
    values: dict[str, Any] = {"name": clean_name(name), "url": clean_url(url),
              "event_types": clean_event_types(event_types),
              "secret": new_secret() if secret is None else clean_secret(secret),
              "active": active}  # fmt: skip
    await targets.check_url(values["url"])
    async with uows(write=True) as uow:
        await _check_name(uow, values["name"])
        webhook = await uow.webhooks.insert(values, now)
        await uow.commit()
    return webhook, webhook.secret


def _changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            name = "eventTypes" if key == "event_types" else key
            raise InvalidInput(f"{name} cannot be null; leave it out to keep it", field=name)
        out[key] = _CLEANERS[key](value) if key in _CLEANERS else bool(value)
    return out


async def update_webhook(
    uows: UnitOfWorkFactory,
    webhook_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    *,
    targets: TargetGuard,
) -> Webhook:
    """Fields left out keep their value. Deliveries already queued are sent to the new URL
    with the new secret; deactivating pauses them (they wait, nothing new is queued)."""
    values = _changes(changes)
    if "url" in values:
        await targets.check_url(values["url"])
    async with uows(write=True) as uow:
        await _require(uow, webhook_id)
        if "name" in values:
            await _check_name(uow, values["name"], webhook_id)
        if values:
            await uow.webhooks.update(webhook_id, values, now)
            await uow.commit()
        return await _require(uow, webhook_id)


async def delete_webhook(uows: UnitOfWorkFactory, webhook_id: int) -> None:
    async with uows(write=True) as uow:
        if not await uow.webhooks.delete(webhook_id):
            raise NotFound(f"no webhook with id {webhook_id}", field="id")
        await uow.commit()


async def _with_attempts(uow: UnitOfWork, items: list[Delivery]) -> list[Delivery]:
    found = await uow.webhooks.attempts([d.id for d in items])
    return [replace(d, attempt_log=tuple(found.get(d.id, ()))) for d in items]


async def deliveries(
    uows: UnitOfWorkFactory, webhook_id: int, status: DeliveryStatus | None, page: PageRequest
) -> Page[Delivery]:
    """Newest first, each with its attempts."""
    async with uows() as uow:
        found = await uow.webhooks.deliveries(webhook_id, status, page)
        items = await _with_attempts(uow, found.items)
    return Page(items, found.cursors, found.has_next, found.has_previous)


async def count_deliveries(
    uows: UnitOfWorkFactory, webhook_id: int, status: DeliveryStatus | None
) -> int:
    async with uows() as uow:
        return await uow.webhooks.count_deliveries(webhook_id, status)


async def retry_delivery(uows: UnitOfWorkFactory, delivery_id: int, now: datetime) -> Delivery:
    """A FAILED delivery gets one more attempt, as soon as the worker sees it."""
    async with uows(write=True) as uow:
        found = await uow.webhooks.get_delivery(delivery_id)
        if found is None:
            raise NotFound(f"no webhook delivery with id {delivery_id}", field="id")
        if found.status is not DeliveryStatus.FAILED:
            raise InvalidInput(
                f"delivery {delivery_id} is {found.status.value}; only FAILED deliveries can "
                "be retried",
                field="id",
            )
        await uow.webhooks.retry(delivery_id, now)
        await uow.commit()
        updated = await uow.webhooks.get_delivery(delivery_id)
        assert updated is not None
        return (await _with_attempts(uow, [updated]))[0]


@dataclass(frozen=True)
class WorkerSettings:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 10.0
    poll_seconds: float = 1.0
    concurrency: int = 10
    lease_margin_seconds: float = 60.0  # a lease outlives the longest attempt by this much
    grace_seconds: float = 5.0  # at shutdown, how long in-flight attempts may finish


class DeliveryWorker:
    """Sends due deliveries, at most `concurrency` at a time. Wakes every `poll_seconds`,
    when the earliest retry is due, and at once when `poke()`d (a commit queued some)."""

    def __init__(
        self,
        uows: UnitOfWorkFactory,
        clock: Clock,
        settings: WorkerSettings | None = None,
        *,
        senders: WebhookSenders,
    ) -> None:
        self.uows, self.clock = uows, clock
        self.settings = settings or WorkerSettings()
        self.senders = senders
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}

    def poke(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        async with self.senders.open(self.settings.timeout_seconds) as sender:
            try:
                while True:
                    try:
                        wait = await self._fill(sender)
                    except Exception:  # e.g. the database is briefly away: look again later
                        log.exception("webhook worker could not look for due deliveries")
                        wait = self.settings.poll_seconds
                    await self._sleep(wait)
            finally:
                await self._drain()

    async def run_once(self) -> int:
        """Sends what is due now and waits for the attempts (tests, CLI). Returns how many."""
        async with self.senders.open(self.settings.timeout_seconds) as sender:
            sent = 0
            while (started := await self._claim_and_start(sender)) > 0:
                sent += started
                await asyncio.gather(*self._inflight.values())
            return sent

    async def _fill(self, sender: WebhookSender) -> float:
        """Starts attempts for due deliveries while slots are free; returns how long to
        sleep before looking again (a completed attempt or a poke wakes it earlier)."""
        poll = self.settings.poll_seconds
        if len(self._inflight) >= self.settings.concurrency:
            return poll
        now = self.clock()
        async with self.uows() as uow:
            due = await uow.webhooks.next_due(now)
        if due is None:
            return poll
        if due > now:
            return min(poll, (due - now).total_seconds())
        return 0.0 if await self._claim_and_start(sender) else poll

    async def _claim_and_start(self, sender: WebhookSender) -> int:
        free = self.settings.concurrency - len(self._inflight)
        if free <= 0:
            return 0
        lease = self.settings.timeout_seconds + self.settings.lease_margin_seconds
        async with self.uows(write=True) as uow:
            batch = await uow.webhooks.claim_due(self.clock(), free, lease)
            await uow.commit()
        for item in batch:
            task = asyncio.create_task(self._attempt(sender, item))
            self._inflight[item.id] = task
            task.add_done_callback(functools.partial(self._done, item.id))
        return len(batch)

    def _done(self, delivery_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(delivery_id, None)
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _attempt(self, sender: WebhookSender, item: Outgoing) -> None:
        at, started = self.clock(), time.monotonic()
        status_code, error = await self._post(sender, item, int(at.timestamp()))
        duration = int((time.monotonic() - started) * 1000)
        attempt = DeliveryAttempt(item.attempts + 1, at, status_code, error, duration)
        try:
            async with self.uows(write=True) as uow:
                status = await uow.webhooks.record_attempt(item, attempt, self.settings.policy)
                await uow.commit()
        except Exception:  # the lease expires and the delivery is tried again
            log.exception("could not record webhook delivery %s", item.id)
            return
        if status is not DeliveryStatus.DELIVERED:
            level = logging.WARNING if status is DeliveryStatus.FAILED else logging.INFO
            log.log(level, "webhook delivery %s attempt %s: %s -> %s", item.id, attempt.attempt,
                    attempt.describe(), status.value if status else "superseded")  # fmt: skip

    async def _post(
        self, sender: WebhookSender, item: Outgoing, timestamp: int
    ) -> tuple[int | None, str | None]:
        """(status code, error): a 2xx is success; anything else is a status code or a
        generic reason (the sender's; nothing of the answer's text is kept)."""
        body = item.body.encode()
        sent = headers(item.secret, item.id, item.event_type, body, timestamp)
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                result = await sender.post(item.url, body, sent)
        except TimeoutError:
            return None, f"no answer within {self.settings.timeout_seconds:g} s"
        except Exception:  # a sender should answer with a result; still a failure
            log.exception("webhook sender failed on delivery %s", item.id)
            return None, "the sender failed"
        return result.status_code, None if result.error is None else clip_error(result.error)

    async def _drain(self) -> None:
        """Shutdown: attempts in flight get a moment to finish; the rest are cut short and
        their leases given back, so another worker (or the next start) sends them again."""
        tasks = list(self._inflight.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.grace_seconds)
        cut = [key for key, task in self._inflight.items() if task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with self.uows(write=True) as uow:
                await uow.webhooks.release(cut)
                await uow.commit()
