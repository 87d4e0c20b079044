"""What one GraphQL operation may take of the database this process shares between them.

An operation can run many reads at once (each alias, each `totalCount`, each DataLoader
opens its own read unit of work). Measured with bench.isolation on SQLite: 4 operations of
up to 30 aliases held all 15 pooled connections while their statements queued for worker
threads, and a one-row read from a fifth client waited for a connection for 1.4-3 s (p99).
So, per operation (begun by `api.budget.TimeBudget`, like its time budget):

- on SQLite, its read units of work hold at most READS_AT_ONCE connections at once
  (`slots`); the others wait for one of them to finish;
- on SQLite, only its first read unit may take any free connection: later ones share the
  pool less the connections kept for first reads (`Database.busy_lane`), so an operation
  that has just arrived finds a connection even while earlier ones are on their tenth
  alias. (Postgres keeps its plain pool: there the same limits spread the heavy
  operations' work over time and made the short reads slower, not faster.)
- on SQLite, its statements run on the event loop for at most REQUEST_INLINE_SECONDS in
  all; once one had to move to a reader thread, the rest start there
  (`persistence/sqlite_inline.py`).

Outside an operation (scheduled jobs, the CSV export, tests using units of work directly)
there is no share: units take connections as the pool gives them and every SQLite read
statement gets its own inline window.

A unit of work opened while the same task already holds one (a service that reads inside
another unit, or a task started from inside one) passes without waiting: waiting there
could deadlock against its own outer unit.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

READS_AT_ONCE = 4  # read units of work one operation holds at once
REQUEST_INLINE_SECONDS = 0.05  # SQLite: an operation's statements on the event loop, in all


@dataclass
class Share:
    """One operation's claim on the database (see the module's docstring)."""

    inline_left: float = REQUEST_INLINE_SECONDS
    reads_started: int = 0
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(READS_AT_ONCE))

    def charge_inline(self, seconds: float, *, moved: bool) -> None:
        """Time a statement spent on the event loop; a statement that had to move to a
        thread ends the operation's inline time (its other statements are likely long too)."""
        self.inline_left = 0.0 if moved else self.inline_left - seconds


_share: ContextVar[Share | None] = ContextVar("segmento_request_share", default=None)
_holding: ContextVar[bool] = ContextVar("segmento_holding_unit", default=False)


def begin() -> None:
    """A new share for the rest of the current task (an operation's execution)."""
    _share.set(Share())


def current() -> Share | None:
    return _share.get()


def holding() -> bool:
    """The current task is inside a unit of work already."""
    return _holding.get()


def hold() -> Token[bool]:
    return _holding.set(True)


def unhold(token: Token[bool]) -> None:
    try:
        _holding.reset(token)
    except ValueError:  # left in another context than it was entered (a generator's unit)
        _holding.set(False)
