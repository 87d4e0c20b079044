"""`segmento demo --stream`: realistic interactions at a steady rate, so that scores, tiers
and hot-lead alerts visibly move on a dashboard.

Most contacts are quiet (an email opened or ignored, a blog visit); a few at a time are "in
market" and come back again and again (pricing page, white paper, webinar, demo request,
cart, checkout) until they buy, lose interest or unsubscribe. What each interaction earns is
decided by the scoring rules, as for any integrator: the stream only picks behaviours.

The interactions are recorded by a `Recorder`: `local_recorder` calls the use case
(`record_interactions`) on a database directly; `GraphQLRecorder` sends them to a running
server's `recordInteractions` mutation, so that the server publishes the events to its live
subscribers (with the default in-memory broadcast a server only learns of the events written
through its own process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.auth import Scope
from domain.contacts import FunnelStage
from domain.pagination import Direction, PageRequest, decode_cursor
from services import auth
from services.contacts import list_contacts
from services.interactions import MAX_BATCH, InteractionInput, record_interactions
from services.ports import Clock, GraphQLClient, GraphQLConnect, UnitOfWorkFactory

log = logging.getLogger("segmento.demo")
Recorder = Callable[[Sequence[InteractionInput]], Awaitable[None]]
SITE = "https://www.example.com"
PAGES = ("/prezzi", "/prodotti/crm", "/blog/crm-b2b", "/casi-di-successo", "/contatti")
EMAIL_TYPES = frozenset({"EMAIL_OPEN", "EMAIL_NOT_OPENED", "UNSUBSCRIBE"})
LEAVING = frozenset({"PURCHASE", "UNSUBSCRIBE"})
# What a contact in an active buying journey does, and how often (relative weights).
IN_MARKET = {
    "EMAIL_OPEN": 22, "PAGE_VISIT": 22, "PRODUCT_PAGE_LONG_VISIT": 5, "WHITE_PAPER_DOWNLOAD": 12,
    "WEBINAR_SIGNUP": 6, "CONTACT_FORM": 5, "DEMO_REQUEST": 5, "ADD_TO_CART": 5,
    "CHECKOUT_START": 3, "PURCHASE": 2, "CART_ABANDONED": 4, "EMAIL_NOT_OPENED": 5,
    "UNSUBSCRIBE": 1,
}  # fmt: skip
# What everyone else does now and then.
QUIET = {
    "EMAIL_OPEN": 35, "EMAIL_NOT_OPENED": 30, "PAGE_VISIT": 25, "WHITE_PAPER_DOWNLOAD": 5,
    "CART_ABANDONED": 3, "UNSUBSCRIBE": 2,
}  # fmt: skip
STAGE_WEIGHT: dict[FunnelStage | None, int] = {
    FunnelStage.DECISION: 3,
    FunnelStage.CONSIDERATION: 2,
}


@dataclass(frozen=True)
class StreamContact:
    id: int
    email: str
    funnel_stage: FunnelStage | None = None
    consent_email: bool = True


class InteractionPicker:
    """Chooses who does what next: three picks in four go to the contacts in market, who
    stay about ten interactions (a purchase or an unsubscribe ends it at once)."""

    def __init__(
        self, contacts: Sequence[StreamContact], rng: random.Random, in_market: int = 20
    ) -> None:
        if not contacts:
            raise ValueError("the demo stream needs contacts: load the sample first")
        self.contacts, self.rng = list(contacts), rng
        self.weights = [STAGE_WEIGHT.get(c.funnel_stage, 1) for c in self.contacts]
        self.market = [self._newcomer() for _ in range(min(in_market, len(self.contacts)))]
        self.run = uuid.uuid4().hex[:10]
        self.count = 0

    def _newcomer(self) -> StreamContact:
        return self.rng.choices(self.contacts, weights=self.weights)[0]

    def next(self, now: datetime) -> InteractionInput:
        in_market = self.rng.random() < 0.75
        slot = self.rng.randrange(len(self.market))
        contact = self.market[slot] if in_market else self.rng.choice(self.contacts)
        table = IN_MARKET if in_market else QUIET
        kind = self.rng.choices(list(table), weights=list(table.values()))[0]
        if kind in EMAIL_TYPES and not contact.consent_email:
            kind = "PAGE_VISIT"  # no newsletter without consent
        if in_market and (kind in LEAVING or self.rng.random() < 1 / 10):
            self.market[slot] = self._newcomer()  # bought, left, or lost interest
        self.count += 1
        page = SITE + self.rng.choice(PAGES) if kind == "PAGE_VISIT" else None
        return InteractionInput(
            type=kind,
            occurred_at=now,
            idempotency_key=f"demo-stream-{self.run}-{self.count}",
            email=contact.email,
            page=page,
            properties={"demo": True},
        )


async def stream_contacts(uows: UnitOfWorkFactory, now: datetime) -> list[StreamContact]:
    """Every contact, read a page at a time."""
    found: list[StreamContact] = []
    request = PageRequest(500)
    while True:
        page = await list_contacts(uows, None, "CREATED_AT", Direction.ASC, request, now)
        found += [StreamContact(c.id, c.email, c.funnel_stage, c.consent_email) for c in page.items]
        if not page.has_next:
            return found
        request = PageRequest(500, after=decode_cursor(page.cursors[-1], "CREATED_AT", "after"))


async def run_stream(
    record: Recorder,
    picker: InteractionPicker,
    clock: Clock,
    rate: float,
    limit: int | None = None,
    *,
    retry_seconds: float = 1.0,
) -> int:
    """Records `rate` interactions a second (batched when the rate is high) until `limit`
    of them (forever when None); returns how many were recorded. A batch that fails for
    want of a server is sent again, unchanged, so its idempotency keys count it once."""
    if rate <= 0:
        raise ValueError("the rate must be above 0")
    started, sent = time.monotonic(), 0
    while limit is None or sent < limit:
        due = int((time.monotonic() - started) * rate) + 1 - sent
        due = min(due, MAX_BATCH, limit - sent if limit is not None else MAX_BATCH)
        if due > 0:
            now = clock()
            batch = [picker.next(now) for _ in range(due)]
            while True:
                try:
                    await record(batch)
                    break
                except ConnectionError as error:
                    log.warning("demo stream: %s; trying again", error)
                    await asyncio.sleep(retry_seconds)
                    started = time.monotonic() - sent / rate  # no burst to catch up
            sent += due
        await asyncio.sleep(max(0.0, sent / rate - (time.monotonic() - started)))
    return sent


def local_recorder(uows: UnitOfWorkFactory, clock: Clock) -> Recorder:
    async def record(items: Sequence[InteractionInput]) -> None:
        await record_interactions(uows, items, clock())

    return record


RECORD = """mutation DemoStream($items: [InteractionInput!]!) {
  recordInteractions(interactions: $items) { errorCount results { error { message } } }
}"""
CHECK = "query DemoStreamCheck { tierPolicy { version } }"


class StreamRefused(Exception):
    """The server answered, but refused the interactions (bad key, bad input)."""


class GraphQLRecorder:
    """Sends each batch to a server's `recordInteractions` (a write key is needed)."""

    def __init__(self, url: str, client: GraphQLClient) -> None:
        self.url, self.client = url, client

    async def __call__(self, items: Sequence[InteractionInput]) -> None:
        variables = {"items": [self._variables(i) for i in items]}
        answer = await self._execute(RECORD, variables)
        errors = answer.get("errors") or []
        if errors:
            code = (errors[0].get("extensions") or {}).get("code", "ERROR")
            problem = errors[0].get("message")
            raise StreamRefused(f"{self.url} refused the interactions: {code}, {problem}")
        result = answer["data"]["recordInteractions"]
        if result["errorCount"]:
            first = next(r["error"] for r in result["results"] if r["error"])
            raise StreamRefused(f"{self.url} refused an interaction: {first['message']}")

    async def check(self) -> None:
        """Fails early, and plainly, when no server answers or the key is refused."""
        try:
            answer = await self._execute(CHECK, {})
        except ConnectionError as error:
            raise StreamRefused(f"{error}: start the server first (make run)") from error
        errors = answer.get("errors") or []
        if errors:
            problem = errors[0].get("message")
            raise StreamRefused(f"{self.url} refused the key ({problem}); pass one with --key")

    @staticmethod
    def _variables(item: InteractionInput) -> dict[str, Any]:
        return {
            "email": item.email, "type": item.type, "page": item.page,
            "properties": dict(item.properties), "occurredAt": item.occurred_at.isoformat(),
            "idempotencyKey": item.idempotency_key,
        }  # fmt: skip

    async def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.client.execute(query, variables)
        except ValueError as error:  # an answer, but not GraphQL
            raise StreamRefused(str(error)) from error


@contextlib.asynccontextmanager
async def temporary_key(uows: UnitOfWorkFactory, clock: Clock) -> AsyncIterator[str]:
    """A write key for the stream, revoked when the stream stops."""
    key, secret = await auth.create_api_key(uows, "segmento demo --stream", Scope.WRITE, clock())
    try:
        yield secret
    finally:
        async with uows(write=True) as uow:
            await uow.api_keys.revoke(key.id, clock())
            await uow.commit()


async def stream_demo(
    uows: UnitOfWorkFactory,
    clock: Clock,
    url: str,
    rate: float,
    key: str | None = None,
    limit: int | None = None,
    seed: int | None = None,
    *,
    connect: GraphQLConnect,
) -> int:
    """Streams interactions of the database's contacts through the server at `url` (reached
    with `connect`), with `key` or else a write key issued for the stream and revoked when
    it stops."""
    picker = InteractionPicker(await stream_contacts(uows, clock()), random.Random(seed))
    async with contextlib.AsyncExitStack() as stack:
        if key is None:
            key = await stack.enter_async_context(temporary_key(uows, clock))
        recorder = GraphQLRecorder(url, connect(url, key))
        await recorder.check()
        log.info("demo stream: %s interactions a second through %s; Ctrl-C stops it", rate, url)
        sent = await run_stream(recorder, picker, clock, rate, limit)
    return sent
