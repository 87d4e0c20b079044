"""Every server process runs a webhook delivery worker (`segmento serve --workers N`): they
claim deliveries row by row, so two of them never send one delivery twice. Postgres only:
that is where several processes share a database (each worker here has its own engine)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import httpx

from api.adapters.http_webhooks import HttpWebhookSenders
from api.bootstrap import unit_of_work_factory, webhook_targets
from domain.webhooks import DELIVERY_HEADER, RetryPolicy
from persistence.db import Database
from services.webhooks import DeliveryWorker, WorkerSettings, create_webhook
from tests.conftest import _truncate
from tests.fakes import FakeResolver

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
DELIVERIES = 300


async def test_two_processes_workers_send_each_delivery_once(postgres_migrated):
    url, seeds = postgres_migrated
    await _truncate(url, seeds)
    dbs = [Database(url), Database(url)]
    sent: Counter[int] = Counter()

    async def receiver(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)  # the two workers' claims interleave
        sent[int(request.headers[DELIVERY_HEADER])] += 1
        return httpx.Response(204)

    try:
        uows = [unit_of_work_factory(db, clock=lambda: NOW) for db in dbs]
        hook, _secret = await create_webhook(
            *(uows[0], "crm", "https://hooks.example.com/in", ["SCORE_CHANGED"], None, True, NOW),
            targets=webhook_targets((), FakeResolver()),
        )
        async with uows[0](write=True) as uow:
            for i in range(DELIVERIES):
                await uow.webhooks.enqueue(hook.id, "SCORE_CHANGED", {"n": i}, None, NOW)
            await uow.commit()
        settings = WorkerSettings(RetryPolicy(jitter=0), concurrency=7)
        senders = HttpWebhookSenders(transport=httpx.MockTransport(receiver))
        workers = [DeliveryWorker(u, lambda: NOW, settings, senders=senders) for u in uows]
        counts = await asyncio.gather(*(w.run_once() for w in workers))
        assert sum(counts) == DELIVERIES and all(counts), counts  # both took a share
        assert len(sent) == DELIVERIES and set(sent.values()) == {1}
        async with uows[1]() as uow:
            assert await uow.webhooks.next_due(NOW) is None  # all delivered
    finally:
        for db in dbs:
            await db.dispose()
