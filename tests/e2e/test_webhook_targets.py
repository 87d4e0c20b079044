"""SSRF end to end (issue 16): a real `segmento serve` process, with the system's resolver,
refuses webhooks to inside addresses, and its delivery worker checks again before connecting
— a receiver on loopback that the operator no longer allows gets nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_webhooks import CREATE_HOOK, ENV, receiving, set_up, until
from tests.servers import first_key, free_port, post, sqlite_url, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

UNGUARDED = {k: v for k, v in ENV.items() if k != "SEGMENTO_WEBHOOK_ALLOW"}
LOG = "query($id: ID!) { webhook(id: $id) { deliveries { nodes { status lastError } } } }"
LIST = "{ webhooks { id } }"


async def answer(port: int, key: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {key}"},
        )
    return response.json()


async def test_a_served_process_refuses_inside_targets_and_connects_nowhere(tmp_path: Path):
    with receiving() as receiver:
        port = free_port()
        process = start(sqlite_url(tmp_path / "ssrf.db"), port, UNGUARDED)
        try:
            key = first_key(process)
            wait_healthy(port, process)
            for host in ("127.0.0.1", "localhost", "[::1]", "2130706433", "0x7f000001",
                         "[::ffff:127.0.0.1]", "169.254.169.254", "metadata.google.internal",
                         "10.0.0.1", "172.16.0.1", "192.168.1.1"):  # fmt: skip
                hook = {"name": host, "url": f"http://{host}:{receiver.port}/in",
                        "eventTypes": ["SCORE_CHANGED"]}  # fmt: skip
                body = await answer(port, key, CREATE_HOOK, {"input": hook})
                assert body["data"] == {"createWebhook": None}, host
                (error,) = body["errors"]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", host
                assert "SEGMENTO_WEBHOOK_ALLOW" in error["message"]
            assert (await post(port, key, LIST)) == {"webhooks": []}
        finally:
            out = stop(process)
    assert "Traceback" not in out, out
    assert receiver.requests == []


async def test_a_target_the_operator_no_longer_allows_is_not_delivered_to(tmp_path: Path):
    db = tmp_path / "revoked.db"
    with receiving() as receiver:
        port = free_port()
        # allowed while registering; the worker is off, so nothing is sent yet
        process = start(sqlite_url(db), port, {**ENV, "SEGMENTO_WEBHOOK_POLL_SECONDS": "0"})
        try:
            key = first_key(process)
            wait_healthy(port, process)
            webhook_id, _secret = await set_up(port, key, receiver.port)
        finally:
            stop(process)
        process = start(sqlite_url(db), port, UNGUARDED)  # the allowance is gone
        try:
            wait_healthy(port, process)

            async def failed_once() -> dict[str, Any] | None:
                data = await post(port, key, LOG, {"id": webhook_id})
                (node,) = data["webhook"]["deliveries"]["nodes"]
                return node if node["lastError"] else None

            found = await until(failed_once, "a refused attempt")
        finally:
            out = stop(process)
    assert "Traceback" not in out, out
    assert found == {"status": "PENDING", "lastError": "target resolves to a forbidden address"}
    assert receiver.requests == []
