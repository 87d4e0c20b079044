"""Work over every contact in chunks: one short write transaction per chunk, other requests
served between chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from domain import deadline
from services.ports import UnitOfWork, UnitOfWorkFactory

CHUNK = 1000


async def in_chunks(
    uows: UnitOfWorkFactory,
    work: Callable[[UnitOfWork, list[int]], Awaitable[None]],
    *,
    unplaced_only: bool = False,
    write: bool = True,
) -> int:
    """Runs `work` on chunks of contact ids (all, or those without a tier); with `write`,
    each chunk is locked and committed. Returns how many contacts were seen."""
    with deadline.budget(None):  # each chunk is whole; other requests run between them
        return await _chunks(uows, work, unplaced_only, write)


async def _chunks(
    uows: UnitOfWorkFactory,
    work: Callable[[UnitOfWork, list[int]], Awaitable[None]],
    unplaced_only: bool,
    write: bool,
) -> int:
    last, done = 0, 0
    while True:
        async with uows(write=write) as uow:
            if unplaced_only:
                ids = await uow.contacts.ids_unplaced(CHUNK)
            else:
                ids = await uow.contacts.ids_after(last, CHUNK)
            if not ids:
                return done
            if write:
                await uow.contacts.lock(ids)
            await work(uow, ids)
            if write:
                await uow.commit()
        last, done = ids[-1], done + len(ids)
        await asyncio.sleep(0)  # let waiting requests run between chunks
