"""CPU-bound work in slices on the event loop: others run between slices, and the time
budget stops it with TIMEOUT."""

from __future__ import annotations

import asyncio
from collections.abc import Generator

import pytest

from domain import deadline
from domain.errors import Timeout
from services.slices import in_slices


def endless() -> Generator[None, None, int]:
    while True:
        sum(range(1000))
        yield


def counting(to: int) -> Generator[None, None, int]:
    for _ in range(to):
        sum(range(1000))
        yield
    return to


async def test_work_past_the_budget_stops_with_a_timeout_and_others_ran_meanwhile():
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beside = asyncio.create_task(other())
    try:
        with deadline.budget(0.2), pytest.raises(Timeout):
            await in_slices(endless())
        assert ticks > 0  # the loop served another task while the work went on
    finally:
        beside.cancel()


async def test_work_within_the_budget_returns_its_answer():
    with deadline.budget(30):
        assert await in_slices(counting(5000)) == 5000
    assert await in_slices(counting(3)) == 3  # no budget: runs to its end
