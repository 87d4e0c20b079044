"""Resuming live subscriptions from the event log, and keeping the log to its retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from domain.errors import MAX_ID, CursorExpired, InvalidInput
from domain.events import Event
from services.ports import UnitOfWorkFactory

PAGE = 500


def parse_cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 19
    value = int(raw) if digits else -1
    if not 0 <= value <= MAX_ID:  # the log's cursors are `integer` ids
        raise InvalidInput(
            f"after must be a cursor received from this API, got {raw!r}", field="after"
        )
    return value


async def head(uows: UnitOfWorkFactory) -> int:
    """The newest cursor of the log (0 when it is empty)."""
    async with uows() as uow:
        return await uow.events.head()


async def check_resume(uows: UnitOfWorkFactory, start: int | None) -> int:
    """The log's head; refuses a cursor whose following events were already pruned."""
    async with uows() as uow:
        head = await uow.events.head()
        pruned = await uow.events.pruned_through()
    if start is not None and start < pruned:
        raise CursorExpired(
            f"events after cursor {start} are no longer kept (the log starts after {pruned}); "
            "reload the current state and subscribe without after",
            field="after",
        )
    if start is not None and start > head:
        raise InvalidInput(f"cursor {start} is ahead of the newest event ({head})", field="after")
    return head


async def pages(
    uows: UnitOfWorkFactory, after: int, upto: int | None = None, size: int = PAGE
) -> AsyncIterator[list[Event]]:
    """The log after `after` (up to `upto`), oldest first, one read per page."""
    while True:
        async with uows() as uow:
            page = await uow.events.after(after, size, upto=upto)
        if page:
            yield page
        if len(page) < size:
            return
        after = page[-1].cursor


async def replay(uows: UnitOfWorkFactory, start: int, head: int) -> AsyncIterator[Event]:
    """Events after `start` up to `head`, oldest first."""
    async for page in pages(uows, start, head):
        for event in page:
            yield event


async def prune(uows: UnitOfWorkFactory, now: datetime, retention: timedelta) -> int:
    async with uows(write=True) as uow:
        removed = await uow.events.prune(now - retention)
        await uow.commit()
    return removed
