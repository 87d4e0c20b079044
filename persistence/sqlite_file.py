"""Whether the SQLite file the server opened is still the one at its path, and writable.

A connection keeps working on a file deleted or replaced under it: reads answer, commits
succeed, and everything written goes with the unlinked inode (a restart then finds no data,
or someone else's). So the file is pinned by device and inode when first opened; from then
on a new connection refuses to open anything else at the path (sqlite3 would create an
empty database), `/healthz` reports the problem (503), and write units of work refuse to
commit (persistence/unit_of_work.py).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# Below this much free space on the file's filesystem the database counts as full: a write
# would fail half-way (SQLITE_FULL) instead of being refused up front.
MIN_FREE_BYTES = 1 << 20


class SqliteFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None  # (device, inode), once opened

    def problem(self) -> str | None:
        """Why the database cannot be trusted with writes now, or None."""
        problem = self.not_the_same()
        if problem is not None:
            return problem
        folder = self.path.parent
        if not os.access(self.path, os.R_OK | os.W_OK) or not os.access(folder, os.W_OK):
            return "the database file (or its folder) is not writable"
        space = os.statvfs(folder)
        if space.f_bavail * space.f_frsize < MIN_FREE_BYTES:
            return "the disk holding the database file is full"
        return None

    def not_the_same(self) -> str | None:
        """Why the file at the path is not the one pinned (gone, replaced), or None."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return "the database file is gone"
        except OSError as error:
            return f"the database file cannot be read: {error.strerror}"
        if self.identity is not None and (found.st_dev, found.st_ino) != self.identity:
            return "the database file was replaced by another file"
        return None

    def pin(self) -> None:
        """The file at the path, if there is one yet, is the database from now on."""
        if self.identity is None and self.path.exists():
            found = os.stat(self.path)
            self.identity = (found.st_dev, found.st_ino)

    def connect(self) -> sqlite3.Connection:
        """A connection to the pinned file (the first one pins it). Refused when the file
        is gone or replaced: sqlite3 would silently open a new, empty database."""
        if self.identity is not None and (problem := self.not_the_same()) is not None:
            raise sqlite3.OperationalError(problem)
        conn = sqlite3.connect(self.path, check_same_thread=False)
        self.pin()
        return conn
