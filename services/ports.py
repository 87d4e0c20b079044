"""What the use cases need from outside: units of work and a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from persistence.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[..., UnitOfWork]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
