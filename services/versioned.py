"""Values built from stored definitions (dynamic lists, automations), reused while the
definitions' version stays the same: a counter bumped in the transaction that adds, changes
or removes a definition, so every process (and every transaction, in its own snapshot)
sees the definitions it reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from services.ports import UnitOfWork

T = TypeVar("T")
LIMIT = 16  # versions kept per cache (several databases in tests; old ones are dropped)


class ByVersion(Generic[T]):
    def __init__(self) -> None:
        self._values: dict[tuple[int, int], T] = {}

    async def get(self, uow: UnitOfWork, version: int, build: Callable[[], Awaitable[T]]) -> T:
        """The value for this database and version, built on first use."""
        key = (id(uow.db), version)
        found = self._values.get(key)
        if found is None:
            if len(self._values) > LIMIT:
                self._values.clear()
            found = self._values[key] = await build()
        return found
