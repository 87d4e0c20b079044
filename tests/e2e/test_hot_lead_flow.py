"""Issue 6's whole flow against a real `segmento serve`: an interaction pushes a contact over
50, so it enters the "score above 50" list; a `listMembershipChanged` subscriber sees it; an
automation on that list adds the tag `lead-caldo`, raises an alert that reaches `alerts`,
and calls a webhook that a real HTTP receiver on loopback gets, correctly signed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from domain.webhooks import verify
from tests.e2e.test_webhooks import receiving, served, until
from tests.servers import Live, first_key, free_port, post, stop, wait_healthy

pytestmark = pytest.mark.e2e

SETUP = {
    "tag": ("mutation($i: TagInput!) { createTag(input: $i) { code } }",
            {"i": {"name": "Lead caldo", "code": "lead-caldo"}}),
    "list": ("mutation($i: ContactListInput!) { createList(input: $i) { id } }",
             {"i": {"name": "Score above 50", "kind": "DYNAMIC", "filter": {"scoreAbove": 50}}}),
}  # fmt: skip
HOOK = "mutation($i: WebhookInput!) { createWebhook(input: $i) { secret webhook { id } } }"
AUTOMATION = "mutation($i: AutomationInput!) { createAutomation(input: $i) { id } }"
CONTACT = "mutation($i: ContactInput!) { createContact(input: $i) { id } }"
RECORD = """mutation($i: InteractionInput!) {
  recordInteraction(input: $i) { contact { score tags { tag { code } } lists { name } } } }"""
MEMBERSHIP = """subscription($list: ID!, $after: String) {
  listMembershipChanged(listId: $list, after: $after) { cursor listName entered contact { email } } }"""
ALERTS = """subscription($after: String) {
  alerts(after: $after) { cursor automationName message level contact { email } } }"""


async def test_an_interaction_over_50_enters_the_list_tags_alerts_and_calls_the_webhook(
    tmp_path,
):
    with receiving() as receiver:
        port = free_port()
        process = served(tmp_path / "flow.db", port)
        try:
            key = first_key(process)
            wait_healthy(port, process)
            for query, variables in SETUP.values():
                await post(port, key, query, variables)
            list_id = (await post(port, key, "{ lists { id } }"))["lists"][0]["id"]
            url = f"http://127.0.0.1:{receiver.port}/hooks"
            hook = (await post(port, key, HOOK, {"i": {
                "name": "crm", "url": url, "eventTypes": ["AUTOMATION"]}}))["createWebhook"]  # fmt: skip
            await post(port, key, AUTOMATION, {"i": {
                "name": "Hot lead", "trigger": {"kind": "LIST_ENTERED", "listId": list_id},
                "actions": [{"kind": "ADD_TAG", "tag": "lead-caldo"},
                            {"kind": "RAISE_ALERT", "message": "Call them today", "level": "WARNING"},
                            {"kind": "CALL_WEBHOOK", "webhookId": hook["webhook"]["id"]}]}})  # fmt: skip
            person = {"email": "mario.rossi@example.it", "consent": {"profiling": True}}
            cid = (await post(port, key, CONTACT, {"i": person}))["createContact"]["id"]

            live = await Live.connect(port, key)
            # From cursor 0: whatever happens after subscribing is replayed, none can be missed.
            await live.subscribe("members", MEMBERSHIP, {"list": list_id, "after": "0"})
            await live.subscribe("alerts", ALERTS, {"after": "0"})

            at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
            contact = None
            for n in (1, 2):  # 40 points each: 40, then 80
                item = {"contactId": cid, "type": "DEMO_REQUEST", "occurredAt": at,
                        "idempotencyKey": f"demo-{n}"}  # fmt: skip
                contact = (await post(port, key, RECORD, {"i": item}))["recordInteraction"][
                    "contact"
                ]
            # The automation ran in the interaction's own transaction.
            assert contact == {"score": 80, "tags": [{"tag": {"code": "lead-caldo"}}],
                               "lists": [{"name": "Score above 50"}]}  # fmt: skip

            got = {}
            while len(got) < 2:
                message = await live.next()
                assert message["type"] == "next", message
                got[message["id"]] = message["payload"]["data"]
            await live.close()
            entered = got["members"]["listMembershipChanged"]
            assert (entered["listName"], entered["entered"], entered["contact"]["email"]) == (
                "Score above 50", True, "mario.rossi@example.it")  # fmt: skip
            alert = got["alerts"]["alerts"]
            assert (alert["automationName"], alert["message"], alert["level"]) == (
                "Hot lead", "Call them today", "WARNING")  # fmt: skip

            async def arrived():
                return receiver.requests

            requests = await until(arrived, "the webhook delivery")
        finally:
            out = stop(process)
    assert "Traceback" not in out, out
    headers, body = requests[0]
    assert verify(hook["secret"], headers["x-segmento-timestamp"], body,
                  headers["x-segmento-signature"], now=time.time())  # fmt: skip
    assert not verify("another secret", headers["x-segmento-timestamp"], body,
                      headers["x-segmento-signature"])  # fmt: skip
    sent = json.loads(body)
    assert sent["type"] == "AUTOMATION"
    assert sent["data"]["automation"]["name"] == "Hot lead"
    assert sent["data"]["contact"]["email"] == "mario.rossi@example.it"
