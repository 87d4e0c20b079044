"""Strawberry's two WebSocket protocol handlers, with our caps (`api/ws_limits.py`).

Both count their connection and operations in the view's `Sockets`, refuse what is over a
cap, and can be shut from outside (a revoked key). The legacy `graphql-ws` handler gets
the connection_init timeout Strawberry gives only `graphql-transport-ws`: a socket that
never sends connection_init is closed with 4408 after the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any, Protocol, cast

from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionErrorMessage,
    StartMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)

from api.context import Context
from api.ws_limits import INIT_TIMEOUT, LIMIT_EXCEEDED, TOO_MANY, Refused, Socket, Sockets


class LimitedView(Protocol):
    sockets: Sockets
    connection_init_wait_timeout: timedelta


def _sockets(view: object) -> Sockets:
    return cast("LimitedView", view).sockets


def _count_until_done(sockets: Sockets, socket: Socket, task: asyncio.Task[Any] | None) -> bool:
    """The operation counts until its task ends (cancelled before it ran included)."""
    if task is None:
        return False
    task.add_done_callback(lambda _task: sockets.end_operation(socket))
    return True


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    socket: Socket | None = None

    async def handle(self) -> None:
        sockets = _sockets(self.view)
        try:
            self.socket = sockets.enter(self.context, self.shut)
        except Refused as refused:
            await self.websocket.close(refused.code, refused.reason)
            return
        try:
            await super().handle()
        finally:
            sockets.leave(self.socket)

    async def shut(self, code: int, reason: str) -> None:
        """End every operation, then close (a revoked key)."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(RuntimeError):  # closed already
            await self.websocket.close(code, reason)

    async def handle_connection_init_timeout(self) -> None:
        await super().handle_connection_init_timeout()
        if self.connection_timed_out:
            _sockets(self.view).metrics.refused.labels("ws_init_timeout").inc()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Refused as refused:
            with contextlib.suppress(RuntimeError):  # closed already
                await self.websocket.close(refused.code, refused.reason)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        sockets, socket, operation_id = _sockets(self.view), self.socket, message["id"]
        if not self.connection_acknowledged or socket is None or operation_id in self.operations:
            await super().handle_subscribe(message)  # refused by Strawberry (closed)
            return
        error = sockets.start_operation(socket)
        if error is not None:
            await self.send_message({"id": operation_id, "type": "error",
                                     "payload": [error.formatted]})  # fmt: skip
            return
        counted = False
        try:
            await super().handle_subscribe(message)
            operation = self.operations.get(operation_id)
            task = operation.task if operation is not None else None
            counted = _count_until_done(sockets, socket, task)
        finally:
            if not counted:
                sockets.end_operation(socket)

    async def handle_task_exception(self, error: Exception) -> None:
        """A client that leaves while results are on their way is not a server fault."""
        if isinstance(error, WebSocketDisconnected):
            return
        await super().handle_task_exception(error)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    socket: Socket | None = None
    init_received = False

    async def handle(self) -> None:
        view = cast("LimitedView", self.view)
        try:
            self.socket = view.sockets.enter(self.context, self.shut)
        except Refused as refused:
            await self.websocket.close(refused.code, refused.reason)
            return
        seconds = view.connection_init_wait_timeout.total_seconds()
        timer = asyncio.create_task(self._close_unless_initialised(seconds))
        try:
            await super().handle()
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            view.sockets.leave(self.socket)

    async def _close_unless_initialised(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self.init_received:
            _sockets(self.view).metrics.refused.labels("ws_init_timeout").inc()
            await self.shut(INIT_TIMEOUT, "Connection initialisation timeout")

    async def shut(self, code: int, reason: str) -> None:
        await self.cleanup()
        with contextlib.suppress(RuntimeError):  # closed already
            await self.websocket.close(code, reason)

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if self.init_received:
            await self.websocket.close(TOO_MANY, "Too many initialisation requests")
            return
        self.init_received = True
        try:
            await super().handle_connection_init(message)
        except Refused as refused:
            payload: dict[str, object] = {"message": refused.reason, "code": LIMIT_EXCEEDED}
            with contextlib.suppress(RuntimeError):  # closed already
                await self.send_message(
                    ConnectionErrorMessage(type="connection_error", payload=payload)
                )
                await self.websocket.close(refused.code, refused.reason)

    async def handle_start(self, message: StartMessage) -> None:
        sockets, socket, operation_id = _sockets(self.view), self.socket, message["id"]
        if not self.connection_acknowledged or socket is None:
            await super().handle_start(message)  # refused by Strawberry (closed)
            return
        if operation_id in self.tasks:  # replaced, as Strawberry does, before counting
            await self.cleanup_operation(operation_id)
        error = sockets.start_operation(socket)
        if error is not None:
            await self.send_message({"type": "error", "id": operation_id,
                                     "payload": error.formatted})  # fmt: skip
            return
        counted = False
        try:
            await super().handle_start(message)
            counted = _count_until_done(sockets, socket, self.tasks.get(operation_id))
        finally:
            if not counted:
                sockets.end_operation(socket)
