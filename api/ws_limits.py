"""WebSocket caps: open connections in total, waiting for connection_init, and per key;
operations per connection and per key; and the closing of a revoked key's connections.

The handlers (`api/ws.py`) report here what opens and closes; this module counts and says
no. Close codes (README: Limits): 4429 too many connections, 4408 no connection_init in
time, 4403 the key was revoked. A refused operation gets an error with
`extensions.code = LIMIT_EXCEEDED` (a cap) or `RATE_LIMITED` (the key's request quota).
Counts are per process, like the quotas.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from api.context import Context
from api.metrics import Metrics
from api.quotas import Quotas, rate_limited_error
from api.settings import Settings

log = logging.getLogger("segmento.ws")
TOO_MANY = 4429
INIT_TIMEOUT = 4408
REVOKED = 4403
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@dataclass(frozen=True)
class SocketLimits:
    connections: int
    pending: int
    connections_per_key: int
    operations_per_connection: int
    operations_per_key: int

    @classmethod
    def from_settings(cls, s: Settings) -> SocketLimits:
        return cls(s.ws_max_connections, s.ws_max_pending, s.ws_max_connections_per_key,
                   s.ws_max_operations_per_connection, s.ws_max_operations_per_key)  # fmt: skip


class Refused(Exception):
    """A connection refused by a cap: the handler closes it with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(eq=False)
class Socket:
    shut: Callable[[int, str], Coroutine[Any, Any, None]]
    context: Context
    key_id: int | None = None
    operations: int = 0
    closing: bool = False


class Sockets:
    def __init__(self, limits: SocketLimits, quotas: Quotas, metrics: Metrics) -> None:
        self.limits, self.quotas, self.metrics = limits, quotas, metrics
        self.open: set[Socket] = set()
        self.pending: dict[Socket, None] = {}  # oldest first
        self.by_key: dict[int, set[Socket]] = {}
        self.operations_by_key: Counter[int] = Counter()
        self._by_connection: dict[int, Socket] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def enter(
        self, context: Context, shut: Callable[[int, str], Coroutine[Any, Any, None]]
    ) -> Socket:
        """A connection just accepted. Over a cap, the oldest connection still waiting for
        connection_init makes room (closed with 4429): a flood of sockets that never
        authenticate cannot keep a client that does out. `Refused` when none waits."""
        limits = self.limits
        if len(self.pending) >= limits.pending or len(self.open) >= limits.connections:
            oldest = next(iter(self.pending), None)
            if oldest is None:
                raise self._refuse("ws_connections", "too many connections; retry later")
            del self.pending[oldest]
            self.metrics.refused.labels("ws_pending").inc()
            self.close(oldest, TOO_MANY, "too many connections waiting for connection_init")
        socket = Socket(shut, context)
        self.open.add(socket)
        self.pending[socket] = None
        self._by_connection[id(context.response)] = socket
        return socket

    def identify(self, context: Context) -> None:
        """Its connection_init named a valid key; `Refused` when that key has too many."""
        socket = self._by_connection.get(id(context.response))
        if socket is None or context.principal is None:
            return
        if socket.closing:  # made room for a newer one while its key was being checked
            raise Refused(TOO_MANY, "too many connections waiting for connection_init")
        key_id = context.principal.key_id
        mine = self.by_key.setdefault(key_id, set())
        if len(mine) >= self.limits.connections_per_key:
            raise self._refuse("ws_key_connections", "too many connections for this API key")
        self.pending.pop(socket, None)
        socket.key_id = key_id
        mine.add(socket)

    def leave(self, socket: Socket) -> None:
        self.open.discard(socket)
        self.pending.pop(socket, None)
        self._by_connection.pop(id(socket.context.response), None)
        if socket.key_id is not None:
            mine = self.by_key.get(socket.key_id, set())
            mine.discard(socket)
            if not mine:
                self.by_key.pop(socket.key_id, None)

    def start_operation(self, socket: Socket) -> GraphQLError | None:
        """None when the operation may run (it then counts until `end_operation`); else
        the error to send on it."""
        limits, key_id = self.limits, socket.key_id
        if socket.operations >= limits.operations_per_connection:
            return self._limit("ws_connection_operations", "on this connection",
                               limits.operations_per_connection)  # fmt: skip
        if key_id is not None and self.operations_by_key[key_id] >= limits.operations_per_key:
            return self._limit("ws_key_operations", "for this API key", limits.operations_per_key)
        wait = self.quotas.take(socket.context.principal, "-", "ws_rate_limited")
        if wait:
            return rate_limited_error(wait, socket.context.principal is None)
        socket.operations += 1
        if key_id is not None:
            self.operations_by_key[key_id] += 1
        return None

    def end_operation(self, socket: Socket) -> None:
        socket.operations -= 1
        if socket.key_id is not None:
            self.operations_by_key[socket.key_id] -= 1
            if self.operations_by_key[socket.key_id] <= 0:
                del self.operations_by_key[socket.key_id]

    def close_key(self, key_id: int) -> None:
        """Close every connection of a revoked key (4403)."""
        for socket in list(self.by_key.get(key_id, ())):
            self.metrics.refused.labels("ws_revoked").inc()
            self.close(socket, REVOKED, "the API key of this connection was revoked")

    def close(self, socket: Socket, code: int, reason: str) -> None:
        socket.closing = True
        task = asyncio.create_task(socket.shut(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def check_keys(self, authorized: Callable[[Context], Awaitable[bool]]) -> None:
        """Close the connections whose key no longer works (revoked in another process)."""
        for key_id, mine in list(self.by_key.items()):
            some = next(iter(mine), None)
            if some is not None and not await authorized(some.context):
                self.close_key(key_id)

    async def watch_keys(
        self, authorized: Callable[[Context], Awaitable[bool]], interval: float
    ) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_keys(authorized)
            except Exception:  # the database may be away for a while; try again later
                log.warning("checking the keys of open WebSockets failed", exc_info=True)

    def _refuse(self, reason: str, message: str) -> Refused:
        self.metrics.refused.labels(reason).inc()
        return Refused(TOO_MANY, message)

    def _limit(self, reason: str, where: str, limit: int) -> GraphQLError:
        self.metrics.refused.labels(reason).inc()
        message = f"too many operations {where} (at most {limit}); complete some first"
        return GraphQLError(message, extensions={"code": LIMIT_EXCEEDED, "limit": limit})
