"""The in-server scheduler: jobs run every interval; a failure is logged, not fatal.

When several server processes share one database (`segmento serve --workers N`, or servers
on several machines), each job runs in one of them at a time: a process runs a job only
while it holds the job's lease (`Lease`, stored through the `JobLeases` port). The holder
renews it at every run, so it keeps the job; the others skip their turns. A lease lasts
`lease_seconds(interval)`, more than one interval, so a holder that dies (or stalls) hands
the job over when its lease expires: within about two intervals (at least 30 s more).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.ports import Clock, JobLeases, system_clock

log = logging.getLogger("segmento.scheduler")


def lease_seconds(interval_seconds: float) -> float:
    """How long a run's lease lasts: twice the interval, and at least the interval + 30 s,
    so the holder's next turn renews it even when the run or the loop is late."""
    return max(2 * interval_seconds, interval_seconds + 30)


def new_holder() -> str:
    """An id no other process (on any machine) uses: host, process id, random part."""
    return f"{platform.node()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Lease:
    """This process's claim on scheduled jobs. Lease time is real time (`clock`), whatever
    clock the jobs themselves are given."""

    leases: JobLeases
    holder: str = field(default_factory=new_holder)
    clock: Clock = system_clock
    held: set[str] = field(default_factory=set)  # jobs whose lease this process took

    async def acquire(self, job: str, interval_seconds: float) -> bool:
        seconds = lease_seconds(interval_seconds)
        taken = await self.leases.acquire(job, self.holder, self.clock(), seconds)
        if taken:
            self.held.add(job)
        return taken

    async def keep(self, job: str, interval_seconds: float) -> None:
        """Renews the lease while a run lasts (a run longer than a lease would otherwise
        let another process start the same job). Cancelled when the run ends."""
        while True:
            await asyncio.sleep(lease_seconds(interval_seconds) / 3)
            try:
                if not await self.acquire(job, interval_seconds):
                    log.warning("%s: lost its lease while running", job)
            except Exception:  # the database is briefly away: try again
                log.exception("%s: could not renew its lease", job)

    async def give_back(self) -> None:
        if self.held:  # else there is nothing to give back: no write
            await self.leases.give_back(self.holder)
            self.held.clear()


async def every(
    interval_seconds: float,
    job: Callable[[], Awaitable[object]],
    name: str,
    lease: Lease | None = None,
) -> None:
    """Runs `job` every `interval_seconds`; with a `lease`, only while this process holds
    the lease on `name` (the job's key across processes)."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            if lease is None:
                log.info("%s: %s", name, await job())
            elif await lease.acquire(name, interval_seconds):
                keeping = asyncio.create_task(lease.keep(name, interval_seconds))
                try:
                    log.info("%s: %s", name, await job())
                finally:
                    keeping.cancel()
                    await asyncio.gather(keeping, return_exceptions=True)
                await lease.acquire(name, interval_seconds)  # a full lease from the run's end
        except Exception:  # keep the scheduler alive; the next run retries
            log.exception("%s failed", name)
