"""The event bus: events published through broadcaster after commit, received by one
subscription per process and handed to local listeners in cursor order, with the event
log as the source of truth.

broadcaster alone is not enough (its subscriber queues are unbounded, a failing backend
listener leaves subscribers hanging): here a supervisor keeps one connection, treats a
missing heartbeat or a dead listener as a drop, reconnects, and catches up from the log so
that listeners never miss an event. A message whose first cursor is not the next one
expected (another process committed in between, a sequence gap, a lost message) also
triggers a catch-up read, so delivery stays gap-free and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

import orjson
from broadcaster import Broadcast

from domain.events import Event
from persistence.event_log import event_from_wire, event_to_wire
from services.ports import UnitOfWorkFactory

log = logging.getLogger("segmento.bus")
CHANNEL = "segmento.events"
PAGE = 1000
Listener = Callable[[list[Event]], None]


class EventBus:
    def __init__(self, url: str, uows: UnitOfWorkFactory, *, heartbeat: float = 1.0) -> None:
        self.url = url
        self.uows = uows
        self.heartbeat = heartbeat
        self.listeners: list[Listener] = []
        self.last = 0  # newest cursor handed to listeners
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._broadcast: Broadcast | None = None
        self._task: asyncio.Task[None] | None = None
        self._origin = f"{os.getpid()}-{id(self)}"

    async def start(self) -> None:
        """Returns once the first connection is up (or raises if it cannot be made)."""
        async with self.uows() as uow:
            self.last = await uow.events.head()
        self._task = asyncio.create_task(self._supervise(), name="segmento-bus")
        async with asyncio.timeout(10):
            await self.connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def publish(self, events: list[Event]) -> None:
        """After commit. A failed publish loses nothing: the events are in the log and every
        process catches up from it when its connection comes back."""
        if self._task is None:  # not started (e.g. the app served without its lifespan)
            return
        message = orjson.dumps({"events": [event_to_wire(e) for e in events]}).decode()
        broadcast = self._broadcast
        try:
            if broadcast is None:
                raise ConnectionError("not connected")
            await broadcast.publish(CHANNEL, message)
        except Exception as error:
            log.warning(
                "publishing %d events failed (%s); they stay in the log", len(events), error
            )

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._connected_session()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("broadcast %s dropped (%s); reconnecting", self.url, error)
            self.connected.clear()
            self._broadcast = None
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _connected_session(self) -> None:
        async with Broadcast(self.url) as broadcast, broadcast.subscribe(CHANNEL) as subscriber:
            self._broadcast = broadcast
            beat = asyncio.create_task(self._beat(broadcast))
            try:
                await self._catch_up()
                self.connected.set()
                while True:
                    listener = getattr(broadcast, "_listener_task", None)
                    if listener is not None and listener.done():
                        raise ConnectionError("the broadcast listener stopped")
                    if beat.done():
                        beat.result()
                    try:
                        event = await asyncio.wait_for(subscriber.get(), self.heartbeat * 3)
                    except TimeoutError:
                        raise ConnectionError("no heartbeat from the broadcast backend") from None
                    await self._receive(orjson.loads(event.message))
            finally:
                beat.cancel()
                with contextlib.suppress(BaseException):
                    await beat

    async def _beat(self, broadcast: Broadcast) -> None:
        beat = orjson.dumps({"heartbeat": self._origin}).decode()
        while True:
            await broadcast.publish(CHANNEL, beat)
            await asyncio.sleep(self.heartbeat)

    async def _receive(self, message: dict[str, Any]) -> None:
        wire = message.get("events")
        if not wire:
            return
        events = [event_from_wire(e) for e in wire]
        if events[0].cursor > self.last + 1:
            await self._catch_up(upto=events[-1].cursor)
        self._dispatch(events)

    async def _catch_up(self, upto: int | None = None) -> None:
        """Hands over everything in the log after the last cursor handed over."""
        while True:
            async with self.uows() as uow:
                page = await uow.events.after(self.last, PAGE, upto=upto)
            self._dispatch(page)
            if len(page) < PAGE:
                return

    def _dispatch(self, events: list[Event]) -> None:
        fresh = [e for e in events if e.cursor > self.last]
        if not fresh:
            return
        self.last = fresh[-1].cursor
        for listener in list(self.listeners):
            listener(fresh)
