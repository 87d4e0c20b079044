"""The time budget of the current request: statements check it as they run, and a statement
still running past it is stopped (SQLite's progress handler; Postgres's statement_timeout)
and surfaces as `domain.errors.Timeout`, its transaction rolled back. Work done in chunks of
short transactions (re-tiering everyone, decay) lifts it (`budget(None)`): it yields between
chunks and each chunk is whole."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("segmento_deadline", default=None)


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Statements run inside (in this task, the tasks it starts and the threads it hands
    work to) stop once `seconds` have passed; None: no budget."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def set_budget(seconds: float | None) -> None:
    """`budget` for the rest of the current task (a request's context)."""
    _deadline.set(None if seconds is None else time.monotonic() + seconds)


def expired() -> bool:
    deadline = _deadline.get()
    return deadline is not None and time.monotonic() > deadline


# How often (in SQLite virtual-machine instructions) a running statement checks the budget.
PROGRESS_STEPS = 20_000


def sqlite_progress() -> int:
    """SQLite's progress handler: non-zero stops the statement ("interrupted")."""
    return 1 if expired() else 0
