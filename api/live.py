"""Live subscriptions, multiplexed: one GraphQL execution per distinct subscription shape.

Subscribers sending the same document and variables (apart from `$after`) share a group.
The group runs the subscription once ("leader") and, for each event it wants, executes
the selection set once and hands the same result to every member. Each member first
replays what it missed from the event log (its own execution), then follows the group's
results, skipping cursors its replay already covered: joining the group comes before the
replay reads the log, so nothing falls between the two.

Memory is bounded: a group's inbox and every member's queue are bounded; a member that
falls `buffer` results behind is dropped from its group and told to resume from the last
cursor it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from api.context import Context, LiveSource, Loaders, Results, StreamKey
from domain.errors import InvalidInput
from domain.events import Event, EventSpec
from services import live as live_service
from services.ports import UnitOfWorkFactory

log = logging.getLogger("segmento.live")
SLOW = "SLOW_CONSUMER"


class Dropped(Exception):
    """The member fell too far behind and was removed from its group."""


@dataclass(eq=False)
class Member:
    buffer: int
    last: int = 0  # newest cursor already covered (replay or delivery)
    dropped: bool = False
    waiting: bool = False
    queue: deque[tuple[int, ExecutionResult]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, cursor: int, result: ExecutionResult) -> bool:
        if len(self.queue) >= self.buffer:
            self.dropped = True
            self.wake.set()
            return False
        self.queue.append((cursor, result))
        if self.waiting:
            self.wake.set()
        return True

    async def next(self) -> tuple[int, ExecutionResult]:
        while not self.queue:
            if self.dropped:
                raise Dropped
            self.wake.clear()
            self.waiting = True
            try:
                await self.wake.wait()
            finally:
                self.waiting = False
        return self.queue.popleft()


class GroupFeed(LiveSource):
    """The leader's source: the events the group's task feeds it, one per execution."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.feed: asyncio.Queue[Event] = asyncio.Queue(maxsize=1)

    async def events(self, spec: EventSpec, after: str | None) -> AsyncIterator[Event]:
        self.group.start_listening(spec)
        while True:
            yield await self.feed.get()


class ReplayFeed(LiveSource):
    """A member's source before it joins the live stream: the log after its cursor, up to
    the head the log had when the replay began."""

    def __init__(self, hub: LiveHub, member: Member, group: Group) -> None:
        self.hub, self.member, self.group = hub, member, group

    async def events(self, spec: EventSpec, after: str | None) -> AsyncIterator[Event]:
        if spec != self.group.spec:
            raise InvalidInput("pass the resume cursor as the variable $after", field="after")
        start = live_service.parse_cursor(after)
        head = await live_service.check_resume(self.hub.uows, start)
        self.member.last = head  # live results after the head; the replay covers the rest
        if start is None:
            return
        wants = spec.matcher()
        async for event in live_service.replay(self.hub.uows, start, head):
            if wants(event):
                yield event


class Group:
    """One shared execution and its members. Its inbox is bounded: when the group falls
    behind, it stops queueing and reads the missed events from the log instead, so a flood
    of events costs no memory and loses nothing."""

    def __init__(
        self, hub: LiveHub, key: tuple[Any, ...], leader: Callable[[Context], Results]
    ) -> None:
        self.hub, self.key, self._leader = hub, key, leader
        self.members: set[Member] = set()
        self.spec: EventSpec | None = None
        self.wants: Callable[[Event], bool] = lambda _e: False
        self.ready = asyncio.Event()
        self.error: ExecutionResult | None = None
        self.inbox: deque[Event] = deque()
        self.arrived = asyncio.Event()
        self.lagging = False
        self.done = 0  # newest cursor executed or scanned
        self.backlog: deque[Event] = deque()
        self.task: asyncio.Task[None] | None = None

    def start_listening(self, spec: EventSpec) -> None:
        self.spec, self.wants = spec, spec.matcher()
        self.done = self.hub.last()
        self.hub.groups_listening.add(self)
        self.ready.set()

    def take(self, event: Event) -> None:
        """Called by the bus (in cursor order) for every event."""
        if self.lagging or not self.wants(event):
            return
        if len(self.inbox) >= self.hub.inbox:
            self.lagging = True  # the rest comes from the log
        else:
            self.inbox.append(event)
        self.arrived.set()

    async def next_event(self) -> Event:
        """The next wanted event after `done`: queued ones, else from the log when lagging."""
        while True:
            if self.backlog:
                event = self.backlog.popleft()
            elif self.inbox:
                event = self.inbox.popleft()
            elif self.lagging:
                self.lagging = False  # events from now on queue again
                async with self.hub.uows() as uow:
                    page = await uow.events.after(self.done, live_service.PAGE)
                if len(page) == live_service.PAGE:  # more to read: keep to the log
                    self.lagging = True
                    self.inbox.clear()
                self.backlog.extend(e for e in page if self.wants(e))
                if page and not self.backlog:
                    self.done = page[-1].cursor
                continue
            else:
                self.arrived.clear()
                await self.arrived.wait()
                continue
            if event.cursor > self.done:
                self.done = event.cursor
                return event

    def close_all(self) -> None:
        for member in list(self.members):
            member.dropped = True
            member.wake.set()
        self.members.clear()
        self.hub.forget(self)

    async def run(self, context: Context) -> None:
        feed = GroupFeed(self)
        context = replace(context, live=feed)
        stream = self._leader(context)
        pending = asyncio.ensure_future(anext(stream))
        try:
            waiter = asyncio.ensure_future(self.ready.wait())
            await asyncio.wait({pending, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if pending.done():  # the subscription failed before listening (bad input)
                self.error = pending.result()
                self.ready.set()
                return
            while True:
                event = await self.next_event()
                context.loaders = Loaders(context.uows)
                await feed.feed.put(event)
                result = await pending
                pending = asyncio.ensure_future(anext(stream))
                for member in list(self.members):
                    if not member.offer(event.cursor, result):
                        self.members.discard(member)
                        self.hub.on_drop()
        except StopAsyncIteration:
            self.close_all()
        finally:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await stream.aclose()
            self.hub.forget(self)


class LiveHub:
    def __init__(
        self,
        uows: UnitOfWorkFactory,
        *,
        buffer: int = 1000,
        inbox: int = 1000,
        last: Callable[[], int],
    ) -> None:
        self.uows = uows
        self.last = last  # the newest cursor the bus has handed over
        self.buffer = buffer
        self.inbox = inbox
        self.groups: dict[tuple[Any, ...], Group] = {}
        self.on_drop: Callable[[], None] = lambda: None
        self.authorized: Callable[[Context], Awaitable[bool]] = _always
        self.groups_listening: set[Group] = set()

    def on_events(self, events: list[Event]) -> None:
        for group in list(self.groups_listening):
            for event in events:
                group.take(event)

    def forget(self, group: Group) -> None:
        self.groups_listening.discard(group)
        if self.groups.get(group.key) is group:
            del self.groups[group.key]

    def subscribers(self) -> int:
        return sum(len(g.members) for g in self.groups.values())

    async def stream(
        self,
        key_parts: StreamKey,
        context: Context,
        run: Callable[[Context], Results],
    ) -> Results:
        """One subscriber's results: its replay, then its group's live results, for as
        long as its key is not revoked."""
        if not await self.authorized(context):
            yield REVOKED
            return
        query, operation, variables = key_parts
        shared = {k: v for k, v in (variables or {}).items() if k != "after"}
        key = (query, operation, orjson.dumps(shared, option=orjson.OPT_SORT_KEYS))
        group = self.groups.get(key)
        if group is None or group.error is not None:
            group = self.groups[key] = Group(self, key, run)
            group.task = asyncio.create_task(group.run(_fresh(context, None)))
        await group.ready.wait()
        if group.error is not None:
            yield group.error
            return
        member = Member(self.buffer)
        group.members.add(member)
        try:
            async for result in run(_fresh(context, ReplayFeed(self, member, group))):
                yield result
                if result.errors and result.data is None:
                    return
            while True:
                try:
                    cursor, result = await member.next()
                except Dropped:
                    yield _slow(member.last, self.buffer)
                    return
                if cursor > member.last:
                    if not await self.authorized(context):
                        yield REVOKED
                        return
                    member.last = cursor
                    yield result
        finally:
            group.members.discard(member)
            if not group.members and group.task is not None:
                self.forget(group)
                group.task.cancel()


async def _always(_context: Context) -> bool:
    return True


REVOKED = ExecutionResult(
    data=None,
    errors=[
        GraphQLError(
            "the API key of this connection was revoked; reconnect with a valid key",
            extensions={"code": "UNAUTHENTICATED"},
        )
    ],
)


def _fresh(context: Context, source: LiveSource | None) -> Context:
    return replace(context, loaders=Loaders(context.uows), live=source)


def _slow(cursor: int, buffer: int) -> ExecutionResult:
    message = (
        f"this subscription fell more than {buffer} events behind and was closed; "
        f'subscribe again with after: "{cursor}" to resume without losing events'
    )
    extensions = {"code": SLOW, "resumeAfter": str(cursor)}
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])


def live_source(context: Context) -> LiveSource:
    source = context.live
    if source is None:
        raise InvalidInput("subscriptions are served over WebSocket at /graphql")
    return source
