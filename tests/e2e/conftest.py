"""Fixtures of the multi-process tests: Postgres and Redis shared by real server processes."""

from __future__ import annotations

import os

import pytest
import redis

from tests.conftest import IN_CI, _truncate


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but TEST_REDIS_URL is not set: the Redis tests must run")
        pytest.skip("TEST_REDIS_URL not set; multi-process test skipped")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at TEST_REDIS_URL is unreachable: {error}")
    return url


@pytest.fixture
async def shared(postgres_migrated, redis_url) -> dict[str, str]:
    url, seeds = postgres_migrated
    await _truncate(url, seeds)
    return {"DATABASE_URL": url, "BROADCAST_URL": redis_url}
