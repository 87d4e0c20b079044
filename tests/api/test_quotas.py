"""Per-key request quotas over HTTP: past its burst a key gets 429 with Retry-After and
RATE_LIMITED while other keys keep answering; callers without a key share a small quota
per address; every refusal is counted in /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.factories import gql, served

TAGS = "{ tags { code } }"
SLOW = 0.001  # tokens per second: nothing comes back during a test


@pytest.fixture
async def limited(database_url: str, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url, migrate_on_start=False,
        rate_read=SLOW, burst_read=3, rate_write=SLOW, burst_write=6,
        rate_anonymous=SLOW, burst_anonymous=2,
    )  # fmt: skip
    async with served(settings, clock) as (_app, client):
        yield client


def refusals(metrics: str, reason: str) -> float:
    line = f'segmento_refused_total{{reason="{reason}"}} '
    found = [row for row in metrics.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


async def test_a_key_over_its_quota_gets_429_and_other_keys_keep_answering(
    limited, read_key, write_key
):
    # given a read key that used its burst
    for _ in range(3):
        assert (await gql(limited, TAGS, key=read_key)).errors == []
    # when it asks once more
    refused = await limited.post(
        "/graphql", json={"query": TAGS}, headers={"authorization": f"Bearer {read_key}"}
    )
    # then 429, a whole number of seconds to wait, and a GraphQL-shaped error
    assert refused.status_code == 429
    assert refused.headers["retry-after"].isdigit()
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["retry-after"])
    # and another key is still served
    assert (await gql(limited, TAGS, key=write_key)).errors == []
    metrics = (await limited.get("/metrics")).text
    assert refusals(metrics, "rate_limited") == 1


async def test_the_quota_follows_the_scope_of_the_key(limited, read_key, write_key):
    reads = [(await gql(limited, TAGS, key=read_key)).status for _ in range(7)]
    writes = [(await gql(limited, TAGS, key=write_key)).status for _ in range(7)]
    assert reads == [200] * 3 + [429] * 4
    assert writes == [200] * 6 + [429]


async def test_anonymous_introspection_has_its_own_small_quota(limited, read_key):
    typename = [(await gql(limited, "{ __typename }")).status for _ in range(3)]
    assert typename == [200, 200, 429]
    # a bad key is no key: it shares the anonymous quota of its address
    assert (await gql(limited, "{ __typename }", key="sgm_not-a-key")).status == 429
    assert (await gql(limited, TAGS, key=read_key)).errors == []
    metrics = (await limited.get("/metrics")).text
    assert refusals(metrics, "anonymous_rate_limited") == 2


async def test_the_csv_export_takes_from_the_same_quota(limited, read_key):
    headers = {"authorization": f"Bearer {read_key}"}
    statuses = [(await limited.get("/export/contacts.csv", headers=headers)).status_code
                for _ in range(4)]  # fmt: skip
    assert statuses == [200, 200, 200, 429]


async def test_the_default_quotas_let_a_busy_client_through(client, read_key):
    results = [await gql(client, TAGS, key=read_key) for _ in range(60)]
    assert all(r.errors == [] for r in results)
