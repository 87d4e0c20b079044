"""Webhooks through GraphQL (admin CRUD, errors, the delivery log), deliveries queued in the
transaction of their events, and the delivery worker against a mock receiver — on SQLite and,
with TEST_DATABASE_URL, on Postgres (leases included)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from api.adapters.http_webhooks import HttpWebhookSenders
from domain.events import Event, EventType
from domain.webhooks import DeliveryAttempt, RetryPolicy, verify
from services.webhooks import DeliveryWorker, WorkerSettings
from tests.factories import GRAPHQL_RESPONSE, gql

CREATE = """
mutation($input: WebhookInput!) {
  createWebhook(input: $input) { secret webhook { id name url eventTypes active secretHint } }
}
"""
UPDATE = "mutation($id: ID!, $input: WebhookUpdateInput!) { updateWebhook(id: $id, input: $input) { id name url eventTypes active secretHint } }"
DELETE = "mutation($id: ID!) { deleteWebhook(id: $id) }"
RETRY = "mutation($id: ID!) { retryWebhookDelivery(id: $id) { id status attemptCount } }"
LIST = "{ webhooks { id name url eventTypes active secretHint } }"
DELIVERIES = """
query($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {
  webhook(id: $id) {
    name
    deliveries(status: $status, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id eventType eventCursor contactId status attemptCount lastError body deliveredAt
              attempts { attempt at statusCode error durationMs } }
    }
  }
}
"""
CONTACT = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
RECORD = "mutation($input: InteractionInput!) { recordInteraction(input: $input) { scoreDelta } }"
_keys = iter(range(1_000_000))


def hook(name="crm", url="https://hooks.example.com/in", types=("SCORE_CHANGED",), **more):
    return {"input": {"name": name, "url": url, "eventTypes": list(types), **more}}


async def create_hook(client, key, **kwargs):
    return (await gql(client, CREATE, hook(**kwargs), key=key)).ok()["createWebhook"]


async def contact(client, key, email, profiling=True):
    variables = {"input": {"email": email, "consent": {"profiling": profiling}}}
    return (await gql(client, CONTACT, variables, key=key)).ok()["createContact"]["id"]


async def email_open(client, key, contact_id):
    variables = {"input": {"contactId": contact_id, "type": "EMAIL_OPEN",
                           "occurredAt": "2026-11-23T08:00:00+00:00",
                           "idempotencyKey": f"open-{next(_keys)}"}}  # fmt: skip
    assert (await gql(client, RECORD, variables, key=key)).ok()["recordInteraction"]["scoreDelta"]


async def log_of(client, key, webhook_id, **variables):
    result = await gql(client, DELIVERIES, {"id": webhook_id, **variables}, key=key)
    return result.ok()["webhook"]["deliveries"]


class Receiver:
    """A mock HTTP receiver: answers the listed statuses in turn, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, text="busy, try later" if status >= 300 else "ok")


def worker(uows, clock, receiver, **settings) -> DeliveryWorker:
    policy = RetryPolicy(max_attempts=settings.pop("max_attempts", 8), base_seconds=30, jitter=0)
    return DeliveryWorker(uows, clock, WorkerSettings(policy, **settings),
                          senders=HttpWebhookSenders(transport=httpx.MockTransport(receiver)))  # fmt: skip


async def test_an_admin_creates_a_webhook_and_sees_its_secret_only_once(client, admin_key):
    created = await create_hook(client, admin_key, types=["score_changed", "TIER_CHANGED"])
    secret, webhook = created["secret"], created["webhook"]
    assert len(secret) >= 32
    assert webhook["eventTypes"] == ["SCORE_CHANGED", "TIER_CHANGED"] and webhook["active"]
    assert webhook["secretHint"] == "…" + secret[-4:]
    listed = (await gql(client, LIST, key=admin_key)).ok()["webhooks"]
    assert listed == [webhook]
    assert secret not in json.dumps(listed)


async def test_a_given_secret_is_kept_and_used(client, admin_key):
    created = await create_hook(client, admin_key, secret="my-own-secret-0123456789")
    assert created["secret"] == "my-own-secret-0123456789"


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/in", "javascript:alert(1)", "example.com"]
)
async def test_a_non_http_url_is_bad_user_input_on_url_and_stores_nothing(client, admin_key, url):
    result = await gql(client, CREATE, hook(url=url), key=admin_key)
    assert result.data == {"createWebhook": None}
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "url"
    assert "http:// or https://" in result.errors[0]["message"]
    assert (await gql(client, LIST, key=admin_key)).ok() == {"webhooks": []}


async def test_an_unknown_event_type_lists_the_allowed_ones(client, admin_key):
    result = await gql(client, CREATE, hook(types=["SCORE_CHANGED", "SOLD"]), key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "eventTypes[1]"
    assert "TIER_CHANGED" in result.errors[0]["message"]
    assert "AUTOMATION" in result.errors[0]["message"]


async def test_a_duplicate_name_is_a_conflict(client, admin_key):
    await create_hook(client, admin_key)
    result = await gql(client, CREATE, hook(url="https://other.example.com"), key=admin_key)
    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["field"] == "name"


async def test_unknown_ids_are_not_found(client, admin_key):
    for query, variables in [
        (DELIVERIES, {"id": "999"}),
        (UPDATE, {"id": "999", "input": {"active": False}}),
        (DELETE, {"id": "999"}),
        (RETRY, {"id": "999"}),
    ]:
        result = await gql(client, query, variables, key=admin_key)
        assert result.codes == ["NOT_FOUND"], query
        assert result.errors[0]["extensions"]["field"] == "id"


async def test_webhooks_are_admin_only(client, write_key, read_key):
    created = await gql(client, CREATE, hook(), key=write_key)
    assert created.codes == ["FORBIDDEN"]
    assert (await gql(client, LIST, key=write_key)).codes == ["FORBIDDEN"]
    refused = await gql(client, LIST, key=read_key, accept=GRAPHQL_RESPONSE)
    assert refused.codes == ["FORBIDDEN"]


async def test_an_update_changes_only_the_fields_given(client, admin_key):
    created = await create_hook(client, admin_key)
    webhook_id = created["webhook"]["id"]
    variables = {"id": webhook_id, "input": {"url": "https://h2.example.com:9/in", "active": False}}
    updated = (await gql(client, UPDATE, variables, key=admin_key)).ok()["updateWebhook"]
    assert updated == {**created["webhook"], "url": "https://h2.example.com:9/in", "active": False}
    bad = await gql(
        client, UPDATE, {"id": webhook_id, "input": {"url": "gopher://x"}}, key=admin_key
    )
    assert (bad.codes, bad.errors[0]["extensions"]["field"]) == (["BAD_USER_INPUT"], "url")
    null = await gql(
        client, UPDATE, {"id": webhook_id, "input": {"eventTypes": None}}, key=admin_key
    )
    assert (null.codes, null.errors[0]["extensions"]["field"]) == (["BAD_USER_INPUT"], "eventTypes")


async def test_an_event_queues_one_signed_body_per_interested_webhook(client, admin_key):
    scores = (await create_hook(client, admin_key, name="scores"))["webhook"]["id"]
    tiers = await create_hook(client, admin_key, name="tiers", types=["TIER_CHANGED"])
    await create_hook(client, admin_key, name="alerts", types=["ALERT"])
    cid = await contact(client, admin_key, "mario@rossi.it")
    await email_open(client, admin_key, cid)
    score_log = await log_of(client, admin_key, scores)
    tier_log = await log_of(client, admin_key, tiers["webhook"]["id"])
    assert (score_log["totalCount"], tier_log["totalCount"]) == (1, 1)
    delivery = score_log["nodes"][0]
    assert (delivery["status"], delivery["attemptCount"]) == ("PENDING", 0)
    assert delivery["attempts"] == []
    body = json.loads(delivery["body"])
    assert body["id"] == delivery["eventCursor"] and body["type"] == "SCORE_CHANGED"
    assert body["contactId"] == cid == delivery["contactId"]
    assert body["data"]["delta"] == 9 and body["data"]["contact"]["email"] == "mario@rossi.it"
    assert body["at"] == "2026-11-23T09:00:00+00:00"


async def test_contacts_without_profiling_consent_are_not_sent(client, admin_key):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "no@consent.it", False))
    assert (await log_of(client, admin_key, webhook_id))["totalCount"] == 0


async def test_an_inactive_webhook_queues_nothing(client, admin_key):
    webhook_id = (await create_hook(client, admin_key, active=False))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "a@b.it"))
    assert (await log_of(client, admin_key, webhook_id))["totalCount"] == 0


async def test_a_unit_of_work_that_rolls_back_queues_nothing(
    client, admin_key, uows, clock, monkeypatch
):
    webhook_id = (await create_hook(client, admin_key, types=["ALERT"]))["webhook"]["id"]

    async def failing_commit(self: object) -> None:
        raise ConnectionError("the database went away at commit")

    with pytest.raises(ConnectionError):
        async with uows(write=True) as uow:
            monkeypatch.setattr(type(uow.conn), "commit", failing_commit)
            uow.events.add([Event(EventType.ALERT, 1, {"message": "hot"}, clock())])
            await uow.commit()
    monkeypatch.undo()
    assert (await log_of(client, admin_key, webhook_id))["totalCount"] == 0
    async with uows(write=True) as uow:  # the same unit committed does queue it
        uow.events.add([Event(EventType.ALERT, 1, {"message": "hot"}, clock())])
        await uow.commit()
    assert (await log_of(client, admin_key, webhook_id))["totalCount"] == 1


async def test_automations_enqueue_their_own_body(client, admin_key, uows, clock):
    webhook_id = (await create_hook(client, admin_key, types=["AUTOMATION"]))["webhook"]["id"]
    cid = await contact(client, admin_key, "auto@x.it")
    async with uows(write=True) as uow:
        queued = await uow.webhooks.enqueue(int(webhook_id), "AUTOMATION",
                                            {"automation_id": 3, "note": "hi"}, int(cid), clock())  # fmt: skip
        await uow.commit()
    assert queued is not None
    body = json.loads((await log_of(client, admin_key, webhook_id))["nodes"][0]["body"])
    assert body == {"id": None, "type": "AUTOMATION", "at": clock().isoformat(),
                    "contactId": cid, "data": {"automationId": "3", "note": "hi"}}  # fmt: skip


async def test_a_failed_attempt_is_retried_after_the_backoff_and_logged(
    client, admin_key, uows, clock
):
    created = await create_hook(client, admin_key)
    webhook_id, secret = created["webhook"]["id"], created["secret"]
    await email_open(client, admin_key, await contact(client, admin_key, "retry@x.it"))
    receiver = Receiver(503)
    sender = worker(uows, clock, receiver)
    assert await sender.run_once() == 1
    first = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (first["status"], first["attemptCount"]) == ("PENDING", 1)
    assert first["lastError"] == "HTTP 503 Service Unavailable"  # not the receiver's text
    assert await sender.run_once() == 0  # not due before the backoff
    clock.now += timedelta(seconds=30)
    assert await sender.run_once() == 1
    done = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (done["status"], done["lastError"]) == ("DELIVERED", None)
    assert [(a["attempt"], a["statusCode"]) for a in done["attempts"]] == [(1, 503), (2, 200)]
    request = receiver.requests[-1]
    assert request.content == done["body"].encode()
    assert request.headers["x-segmento-delivery"] == done["id"]
    assert request.headers["x-segmento-event"] == "SCORE_CHANGED"
    assert verify(secret, request.headers["x-segmento-timestamp"], request.content,
                  request.headers["x-segmento-signature"], now=clock().timestamp())  # fmt: skip


async def test_after_the_last_attempt_a_delivery_fails_until_retried(
    client, admin_key, uows, clock
):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "down@x.it"))

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sender = worker(uows, clock, refused, max_attempts=2)
    await sender.run_once()
    clock.now += timedelta(seconds=30)
    await sender.run_once()
    failed = (await log_of(client, admin_key, webhook_id, status="FAILED"))["nodes"]
    assert [(d["status"], d["attemptCount"]) for d in failed] == [("FAILED", 2)]
    assert failed[0]["lastError"] == "could not connect"  # not the network's message
    assert failed[0]["attempts"][0]["statusCode"] is None
    retried = (await gql(client, RETRY, {"id": failed[0]["id"]}, key=admin_key)).ok()
    assert retried["retryWebhookDelivery"]["status"] == "PENDING"
    again = await gql(client, RETRY, {"id": failed[0]["id"]}, key=admin_key)
    assert (again.codes, again.errors[0]["extensions"]["field"]) == (["BAD_USER_INPUT"], "id")
    assert await worker(uows, clock, Receiver()).run_once() == 1
    done = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (done["status"], done["attemptCount"]) == ("DELIVERED", 3)


async def test_the_delivery_log_pages_newest_first(client, admin_key):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    cid = await contact(client, admin_key, "pages@x.it")
    for _ in range(3):
        await email_open(client, admin_key, cid)
    first = await log_of(client, admin_key, webhook_id, first=2)
    rest = await log_of(
        client, admin_key, webhook_id, first=2, after=first["pageInfo"]["endCursor"]
    )
    ids = [int(d["id"]) for d in first["nodes"] + rest["nodes"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


async def test_deleting_a_webhook_deletes_its_deliveries(client, admin_key, uows, clock):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "gone@x.it"))
    deleted = await gql(client, DELETE, {"id": webhook_id}, key=admin_key)
    assert deleted.ok() == {"deleteWebhook": webhook_id}
    assert await worker(uows, clock, Receiver()).run_once() == 0


async def test_two_workers_never_lease_the_same_delivery(client, admin_key, uows, clock):
    await create_hook(client, admin_key)
    cid = await contact(client, admin_key, "lease@x.it")
    for _ in range(6):
        await email_open(client, admin_key, cid)

    async def claim() -> set[int]:
        async with uows(write=True) as uow:
            batch = await uow.webhooks.claim_due(clock(), 10, 60)
            await uow.commit()
        return {item.id for item in batch}

    first, second = await asyncio.gather(claim(), claim())
    assert len(first | second) == 6 and not first & second
    assert await claim() == set()  # leased
    clock.now += timedelta(seconds=61)
    assert len(await claim()) == 6  # the leases expired: sent again (at least once)


async def test_a_superseded_attempt_changes_nothing(client, admin_key, uows, clock):
    """A worker whose lease expired and was taken over cannot record over the newer one."""
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "late@x.it"))
    async with uows(write=True) as uow:
        (slow,) = await uow.webhooks.claim_due(clock(), 10, 60)
        await uow.commit()
    clock.now += timedelta(seconds=61)
    assert await worker(uows, clock, Receiver()).run_once() == 1
    async with uows(write=True) as uow:
        late = DeliveryAttempt(1, clock(), 500, "late", 1)
        assert await uow.webhooks.record_attempt(slow, late, RetryPolicy()) is None
        await uow.commit()
    done = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (done["status"], len(done["attempts"])) == ("DELIVERED", 1)


async def test_the_running_worker_sends_at_once_when_a_commit_pokes_it(
    client, admin_key, uows, clock, monkeypatch
):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    arrived = asyncio.Event()

    def receiver(request: httpx.Request) -> httpx.Response:
        arrived.set()
        return httpx.Response(204)

    sender = worker(uows, clock, receiver, poll_seconds=60)
    monkeypatch.setattr(uows, "on_webhooks_queued", sender.poke)
    idle, sleep = asyncio.Event(), sender._sleep

    async def sleeping(seconds: float) -> None:
        idle.set()
        await sleep(seconds)

    monkeypatch.setattr(sender, "_sleep", sleeping)
    running = asyncio.create_task(sender.run())
    async with asyncio.timeout(5):
        await idle.wait()  # the worker found nothing and sleeps for a minute
    await email_open(client, admin_key, await contact(client, admin_key, "poke@x.it"))
    async with asyncio.timeout(5):
        await arrived.wait()
    running.cancel()  # an attempt in flight may finish (grace period)
    await asyncio.gather(running, return_exceptions=True)
    done = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (done["status"], done["attempts"][0]["statusCode"]) == ("DELIVERED", 204)


async def test_stopping_the_worker_mid_attempt_gives_the_delivery_back(
    client, admin_key, uows, clock
):
    webhook_id = (await create_hook(client, admin_key))["webhook"]["id"]
    await email_open(client, admin_key, await contact(client, admin_key, "slow@x.it"))
    arrived = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await asyncio.sleep(30)
        return httpx.Response(200)

    sender = worker(uows, clock, slow, grace_seconds=0.05)
    running = asyncio.create_task(sender.run())
    async with asyncio.timeout(5):
        await arrived.wait()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    pending = (await log_of(client, admin_key, webhook_id))["nodes"][0]
    assert (pending["status"], pending["attemptCount"]) == ("PENDING", 0)
    assert await worker(uows, clock, Receiver()).run_once() == 1  # no lease to wait for
