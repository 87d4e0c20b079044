"""Leases on scheduled jobs, in the `job_lease` table: one holder per job until it expires.

A take is one short transaction: an UPDATE that succeeds only when the caller already holds
the lease or the lease has expired, else (no row yet) an INSERT that does nothing on a
conflict. On Postgres two processes taking at once serialise on the row (the loser's UPDATE
re-reads it and no longer matches; the loser's INSERT waits and then conflicts); on SQLite
writers take turns anyway (this process's write lock, then the file's).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from persistence.db import Database
from persistence.tables import metadata

lease_t: Table = metadata.tables["job_lease"]
_l = lease_t.c


class JobLeases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _turn(self) -> Any:
        """SQLite writers of this process take turns (as units of work do): a write that
        waited on the file's lock here would wait on the event loop itself."""
        return self.db.write_lock if self.db.is_sqlite else contextlib.nullcontext()

    async def acquire(self, job: str, holder: str, now: datetime, seconds: float) -> bool:
        until = now + timedelta(seconds=seconds)
        renew = (
            update(lease_t)
            .where(_l.job == job, (_l.holder == holder) | (_l.expires_at <= now))
            .values(holder=holder, expires_at=until)
        )
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        first = (
            dialect.insert(lease_t)
            .values(job=job, holder=holder, expires_at=until)
            .on_conflict_do_nothing(index_elements=["job"])
        )
        async with self._turn(), self.db.engine.begin() as conn:
            if (await conn.execute(renew)).rowcount:
                return True
            return bool((await conn.execute(first)).rowcount)

    async def give_back(self, holder: str) -> None:
        async with self._turn(), self.db.engine.begin() as conn:
            await conn.execute(delete(lease_t).where(_l.holder == holder))
