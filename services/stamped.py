"""Values built from stored definitions (dynamic lists, automations), reused while the
definitions' stamp stays the same: an aggregate row (count, sum of ids, newest update) that
changes whenever a definition is added, changed or removed, in any process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from persistence.unit_of_work import UnitOfWork

T = TypeVar("T")
LIMIT = 16  # stamps kept per cache (several databases in tests; old stamps are dropped)


class ByStamp(Generic[T]):
    def __init__(self) -> None:
        self._values: dict[tuple[int, Hashable], T] = {}

    async def get(self, uow: UnitOfWork, stamp: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        """The value for this database and stamp, built on first use."""
        key = (id(uow.db), stamp)
        found = self._values.get(key)
        if found is None:
            if len(self._values) > LIMIT:
                self._values.clear()
            found = self._values[key] = await build()
        return found
