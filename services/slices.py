"""CPU-bound domain work run on the event loop a slice at a time: other requests are served
between slices, and the request's time budget (`domain.deadline`) stops it with TIMEOUT.

A worker thread would not help: pure Python holds the GIL, and the event loop's thread,
which gives the GIL up at every socket and SQLite call, would wait for it each time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import TypeVar

from domain import deadline
from domain.errors import Timeout

SLICE_SECONDS = 0.01  # the longest a slice keeps the event loop

T = TypeVar("T")


async def in_slices(steps: Generator[None, None, T]) -> T:
    """Runs `steps` (a generator that yields between small units of work and returns the
    answer) to its end, giving the event loop back every SLICE_SECONDS."""
    began = time.monotonic()
    while True:
        try:
            next(steps)
        except StopIteration as done:
            answer: T = done.value
            return answer
        if deadline.expired():
            steps.close()
            raise Timeout(
                "the request ran out of its time budget and was stopped. Ask for less "
                "(a smaller page, a narrower question) or retry"
            )
        if time.monotonic() - began >= SLICE_SECONDS:
            await asyncio.sleep(0)
            began = time.monotonic()
