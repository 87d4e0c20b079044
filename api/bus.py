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
from datetime import datetime
from typing import Any

import orjson
from broadcaster import Broadcast
from broadcaster._backends.base import BroadcastBackend
from broadcaster._base import Event as Message
from redis import asyncio as aioredis

from domain.events import Event, EventType
from services import live
from services.ports import UnitOfWorkFactory

log = logging.getLogger("segmento.bus")
CHANNEL = "segmento.events"
PAGE = 1000
INLINE_EVENTS = 100
Listener = Callable[[list[Event]], None]


def event_to_wire(event: Event) -> dict[str, Any]:
    """JSON-ready form published to other processes."""
    return {"cursor": event.cursor, "type": event.type.value, "contact_id": event.contact_id,
            "payload": event.payload, "at": event.at.isoformat()}  # fmt: skip


def event_from_wire(data: dict[str, Any]) -> Event:
    return Event(
        EventType(data["type"]),
        data["contact_id"],
        data["payload"],
        datetime.fromisoformat(data["at"]),
        data["cursor"],
    )


class RedisBackend(BroadcastBackend):
    """broadcaster's Redis backend, without its two faults seen here: its listener could
    start before the subscription took effect and then never listen again, and a dropped
    connection left `next_published` waiting forever. This one listens from the moment it
    subscribes and raises from `next_published` when the connection is gone."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def connect(self) -> None:
        self._conn = aioredis.Redis.from_url(self._url)
        self._pubsub = self._conn.pubsub()
        await self._conn.ping()

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self._pubsub.aclose()
                await self._conn.aclose()

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
            self._subscribed.set()

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._conn.publish(channel, message)

    async def _listen(self) -> None:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "message":
                data = message["data"]
                text = data.decode() if isinstance(data, bytes) else str(data)
                await self._queue.put(Message(message["channel"].decode(), text))

    async def next_published(self) -> Message:
        await self._subscribed.wait()
        assert self._listener is not None
        getting = asyncio.ensure_future(self._queue.get())
        await asyncio.wait({getting, self._listener}, return_when=asyncio.FIRST_COMPLETED)
        if getting.done():
            return getting.result()
        getting.cancel()
        self._listener.result()  # the listener's error, if it failed
        raise ConnectionError("the Redis subscription stopped")


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def make_broadcast(url: str) -> Broadcast:
    if url.startswith(("redis://", "rediss://")):
        return Broadcast(backend=RedisBackend(url))
    return Broadcast(url)


class EventBus:
    def __init__(self, url: str, uows: UnitOfWorkFactory, *, heartbeat: float = 1.0) -> None:
        self.url = url
        self.uows = uows
        self.heartbeat = heartbeat
        self.listeners: list[Listener] = []
        self.wanted: Callable[[], bool] = lambda: True  # does anyone here listen now?
        self.last = 0  # newest cursor handed to listeners
        self.published = 0  # newest cursor this process published
        # Postgres NOTIFY payloads stop at 8,000 bytes; bigger batches go as a cursor only
        self.max_message = 7_000 if url.startswith(("postgres://", "postgresql://")) else 1 << 20
        self._publishing = asyncio.Lock()
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
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                async with asyncio.timeout(5):
                    await self._task

    async def publish(self, events: list[Event]) -> None:
        """After commit. A failed publish loses nothing: the events are in the log and every
        process catches up from it when its connection comes back."""
        if self._task is None:  # not started (e.g. the app served without its lifespan)
            return
        self.published = max(self.published, events[-1].cursor)
        # Big batches (a re-tier chunk, a 1,000-item import) go as their last cursor: the
        # processes that have subscribers read them from the log, the others skip them.
        message = orjson.dumps({"cursor": events[-1].cursor}).decode()
        if len(events) <= INLINE_EVENTS:
            whole = orjson.dumps({"events": [event_to_wire(e) for e in events]}).decode()
            message = whole if len(whole) <= self.max_message else message
        broadcast = self._broadcast
        try:
            if broadcast is None:
                raise ConnectionError("not connected")
            async with self._publishing:  # one connection may carry one command at a time
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
        async with (
            make_broadcast(self.url) as broadcast,
            broadcast.subscribe(CHANNEL) as subscriber,
        ):
            self._broadcast = broadcast
            beat = asyncio.create_task(self._beat(broadcast))
            try:
                await self._catch_up()
                self.connected.set()
                # broadcaster's own listener task: when it dies, its subscribers would wait
                # forever, so it is watched together with the heartbeat sender
                watched = {t for t in (getattr(broadcast, "_listener_task", None), beat) if t}
                while True:
                    getting = asyncio.ensure_future(subscriber.get())
                    getting.add_done_callback(_consume)  # it fails when the session ends
                    done, _ = await asyncio.wait(
                        {getting, *watched}, timeout=self.heartbeat * 3,
                        return_when=asyncio.FIRST_COMPLETED,
                    )  # fmt: skip
                    if getting not in done:
                        getting.cancel()  # then _consume retrieves the cancellation
                        for task in done:
                            task.result()
                        raise ConnectionError("no message or heartbeat from the broadcast")
                    event = getting.result()
                    await self._receive(orjson.loads(event.message))
            finally:
                beat.cancel()
                with contextlib.suppress(BaseException):
                    await beat

    async def _beat(self, broadcast: Broadcast) -> None:
        """Proves the connection works, and tells other processes the newest cursor seen
        here: a process that lost a message while reconnecting notices and catches up."""
        while True:
            beat = {"heartbeat": self._origin, "cursor": max(self.last, self.published)}
            async with self._publishing:
                await broadcast.publish(CHANNEL, orjson.dumps(beat).decode())
            await asyncio.sleep(self.heartbeat)

    async def _receive(self, message: dict[str, Any]) -> None:
        wire = message.get("events") or []
        newest = max(message.get("cursor", 0), wire[-1]["cursor"] if wire else 0)
        if newest <= self.last:
            return
        if not self.wanted():  # nobody here listens: nothing to read or hand over
            self.last = newest
            return
        if not wire or wire[0]["cursor"] > self.last + 1:
            await self._catch_up(upto=newest)
        self._dispatch([event_from_wire(e) for e in wire])

    async def _catch_up(self, upto: int | None = None) -> None:
        """Hands over everything in the log after the last cursor handed over."""
        async for page in live.pages(self.uows, self.last, upto, PAGE):
            self._dispatch(page)

    def _dispatch(self, events: list[Event]) -> None:
        fresh = [e for e in events if e.cursor > self.last]
        if not fresh:
            return
        self.last = fresh[-1].cursor
        for listener in list(self.listeners):
            listener(fresh)
