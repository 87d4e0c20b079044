"""`segmento serve --workers N`: N uvicorn worker processes on one port sharing Postgres and
the broadcast. Requests are answered, a subscriber sees the changes whichever worker made
them, scheduled jobs run in one worker (not once per process), the bootstrap key is
printed once. Refused on SQLite and with the in-process `memory://` broadcast."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from persistence.db import Database
from tests.e2e.test_multiprocess import RECORD, SCORES, email_of, one_open
from tests.servers import KEY_RE, Live, free_port, post, sqlite_url, start, wait_healthy

pytestmark = pytest.mark.e2e

DECAY_RUN = re.compile(r"\[(\d+)\] segmento\.scheduler decay run: ")


class Output:
    """The server's output lines, read as they come by a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, found: Callable[[list[str]], object], seconds: float = 60) -> object:
        deadline = time.monotonic() + seconds
        with self.changed:
            while not (result := found(self.lines)):
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "".join(self.lines)
                self.changed.wait(min(left, 0.5))
        return result

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return "".join(self.lines)


def workers_of(pid: int) -> set[int]:
    """The worker processes uvicorn spawned (not any helper process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = set()
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.add(child)
    return found


async def lease_holders(url: str) -> list[tuple[str, str]]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT job, holder FROM job_lease ORDER BY job"))
            return [(r.job, r.holder) for r in rows]
    finally:
        await db.dispose()


async def test_two_workers_answer_share_events_and_run_each_job_once(shared):
    url, port = shared["DATABASE_URL"], free_port()
    env = {"BROADCAST_URL": shared["BROADCAST_URL"], "SEGMENTO_DECAY_INTERVAL_SECONDS": "0.3"}
    output = Output(start(url, port, env, ["--workers", "2"]))
    try:
        found = output.wait_for(lambda lines: KEY_RE.search("".join(lines)))
        key = found.group(1)
        wait_healthy(port, output.process)
        workers = output.wait_for(lambda _: len(w := workers_of(output.process.pid)) == 2 and w)
        # every request on a connection of its own: the two workers take their shares
        live = await Live.connect(port, key)
        await live.subscribe("s", SCORES, {"after": live.cursor})
        emails = [f"w{i}@workers.it" for i in range(8)]
        for email in emails:
            await post(port, key, RECORD, one_open(email))
        assert [email_of(await live.next(wait=30)) for _ in emails] == emails
        await live.close()
        # decay every 0.3 s in both workers' schedulers: every run is made by one of them
        output.wait_for(lambda lines: sum(bool(DECAY_RUN.search(x)) for x in lines) >= 4)
        runs = [int(m.group(1)) for x in output.lines if (m := DECAY_RUN.search(x))]
        assert len(set(runs)) == 1 and set(runs) < workers, (runs, workers)
        assert workers_of(output.process.pid) == workers  # the other one is alive: it skips
        ((job, holder),) = await lease_holders(url)
        assert job == "decay run" and f":{runs[0]}:" in holder
    finally:
        out = output.stop()
    assert len(KEY_RE.findall(out)) == 1, out  # bootstrapped once, by the parent
    assert await lease_holders(url) == []  # given back at shutdown


def serve_refused(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "BROADCAST_URL": "memory://", **env}
    command = [sys.executable, "-m", "api.cli", "serve", "--workers", "2"]
    return subprocess.run(command, env=full, capture_output=True, text=True, timeout=60)


def test_workers_are_refused_on_sqlite(tmp_path):
    db = tmp_path / "one-writer.db"
    done = serve_refused({"DATABASE_URL": sqlite_url(db), "BROADCAST_URL": "redis://x:6379/0"})
    assert done.returncode == 2, done
    assert "--workers 2 needs Postgres" in done.stderr
    assert "SQLite lets one writer in at a time" in done.stderr
    assert not db.exists()  # refused before anything was done


def test_workers_are_refused_with_the_in_process_broadcast():
    nowhere = "postgresql+asyncpg://postgres@127.0.0.1:1/none"  # never reached
    done = serve_refused({"DATABASE_URL": nowhere})
    assert done.returncode == 2, done
    assert "needs a broadcast the processes share" in done.stderr
    assert "memory://" in done.stderr and "would miss" in done.stderr
