"""The WebSocket bookkeeping on its own: what the caps count, that nothing leaks when
connections and operations end, and the sweep that closes connections whose key was
revoked by another process (the e2e tests cover the wire)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from api.metrics import Metrics
from api.quotas import Quotas
from api.settings import Settings
from api.ws_limits import Refused, SocketLimits, Sockets
from domain.auth import Principal, Scope

LIMITS = SocketLimits(
    connections=4, pending=2, connections_per_key=2, operations_per_connection=2,
    operations_per_key=3,
)  # fmt: skip


def sockets() -> Sockets:
    metrics = Metrics()
    return Sockets(LIMITS, Quotas(Settings(), metrics), metrics)


class Shut:
    def __init__(self) -> None:
        self.codes: list[int] = []

    async def __call__(self, code: int, reason: str) -> None:
        self.codes.append(code)


def connect(registry: Sockets, key_id: int | None, shut: Shut | None = None) -> Any:
    context: Any = SimpleNamespace(response=object(), principal=None)
    socket = registry.enter(context, shut or Shut())
    if key_id is not None:
        context.principal = Principal(key_id, f"key {key_id}", Scope.READ)
        registry.identify(context)
    return socket


async def test_the_oldest_socket_waiting_for_connection_init_makes_room():
    registry, first, second = sockets(), Shut(), Shut()
    connect(registry, None, first)
    connect(registry, None, second)
    connect(registry, None)
    await asyncio.sleep(0)
    assert (first.codes, second.codes, len(registry.pending)) == ([4429], [], 2)


async def test_with_every_connection_authenticated_a_new_one_is_refused():
    registry = sockets()
    for key_id in (1, 1, 2, 2):
        connect(registry, key_id)
    with pytest.raises(Refused) as refused:
        connect(registry, None)
    assert refused.value.code == 4429


async def test_operations_are_counted_per_connection_and_key_and_released():
    registry = sockets()
    one, two = connect(registry, 7), connect(registry, 7)
    assert registry.start_operation(one) is None
    assert registry.start_operation(one) is None
    assert registry.start_operation(one).extensions["code"] == "LIMIT_EXCEEDED"
    assert registry.start_operation(two) is None
    assert registry.start_operation(two).extensions["limit"] == 3  # the key's cap
    for socket in (one, one, two):
        registry.end_operation(socket)
    registry.leave(one)
    registry.leave(two)
    assert (registry.operations_by_key, registry.by_key, registry.open) == ({}, {}, set())


async def test_the_sweep_closes_the_connections_of_keys_that_no_longer_work():
    registry, revoked, kept = sockets(), Shut(), Shut()
    connect(registry, 1, revoked)
    connect(registry, 2, kept)

    async def authorized(context: Any) -> bool:
        return bool(context.principal.key_id != 1)

    await registry.check_keys(authorized)
    await asyncio.sleep(0)
    assert (revoked.codes, kept.codes) == ([4403], [])
