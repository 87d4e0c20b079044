"""The in-server scheduler: jobs run every interval; a failure is logged, not fatal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("segmento.scheduler")


async def every(interval_seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            log.info("%s: %s", name, await job())
        except Exception:  # keep the scheduler alive; the next run retries
            log.exception("%s failed", name)
