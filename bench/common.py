"""Shared helpers of the benchmarks: a prepared database, a server process, wrk runs."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.bootstrap import unit_of_work_factory
from domain.auth import Scope
from persistence.db import Database, migrate
from services.auth import create_api_key

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ["Lazio", "Lombardia", "Campania", "Piemonte", "Veneto", "Toscana", "Sicilia", "Puglia"]


def prepare_database(path: Path, contacts: int) -> str:
    """A migrated SQLite file with `contacts` contacts and a write key; returns the key."""
    if path.exists():
        path.unlink()
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO contact (email, region, custom_attributes, consent_email, "
            "consent_profiling, score, created_at, updated_at) VALUES (?, ?, '{}', 1, 0, 0, ?, ?)",
            ((f"lead{i}@bench.it", REGIONS[i % len(REGIONS)], now, now) for i in range(contacts)),
        )

    async def key() -> str:
        db = Database(url)
        try:
            _, secret = await create_api_key(
                unit_of_work_factory(db), "bench", Scope.ADMIN, datetime.now(UTC)
            )
            return secret
        finally:
            await db.dispose()

    return asyncio.run(key())


def copy_database(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real uvicorn process serving `app` (import path of an ASGI app or factory)."""

    def __init__(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:  # e.g. `segmento serve` refused its options
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"server exited with {self.process.returncode}: {stderr}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def segmento_server(
    db: Path | str, workers: int = 1, extra: dict[str, str] | None = None
) -> Server:
    """`segmento serve` on the SQLite file `db`, or on the database URL `db`; with
    `workers` > 1 (Postgres only), that many processes, their events shared through
    $BROADCAST_URL or else the database's LISTEN/NOTIFY (`extra`: more environment
    variables, e.g. settings). Returns once it answers."""
    port = free_port()
    env = {
        "DATABASE_URL": db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}",
        "SEGMENTO_DECAY_INTERVAL_SECONDS": "0",
        "SEGMENTO_MAX_BODY_BYTES": str(8 * 1024 * 1024),
        # throughput is measured, not the request quotas: no limit (a faster machine than
        # ours would pass the default 1,000 requests a second)
        **{f"SEGMENTO_RATE_{scope}": "0" for scope in ("READ", "WRITE", "ADMIN")},
        **(extra or {}),
    }
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
        pg = env["DATABASE_URL"].replace("postgresql+asyncpg://", "postgres://")
        env["BROADCAST_URL"] = os.environ.get("BROADCAST_URL") or pg
    server = Server(command, env, port)
    deadline = time.monotonic() + 60  # the port is open before a worker serves it
    while httpx.get(f"{server.url}/healthz", timeout=60).status_code != 200:
        assert time.monotonic() < deadline, "segmento serve is not healthy"
        time.sleep(0.2)
    return server


def baseline_server(db: Path | str) -> Server:
    """bench/baseline_app.py under uvicorn, on the SQLite file `db` or the database URL `db`."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    url = db if isinstance(db, str) else f"sqlite+aiosqlite:///{db}"
    return Server(command, {"DATABASE_URL": url}, port)


def wrk(
    url: str, script: Path, args: list[str], seconds: int, connections: int
) -> dict[str, float]:
    """Run wrk; returns requests/s, p50 and p99 in ms, total requests and failures."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url,
         "--", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms("50%"),
        "p99": ms("99%"),
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "failures": float(re.search(r"failures=(\d+)", out).group(1))
        if "failures=" in out
        else 0.0,  # type: ignore[union-attr]
    }


def post_json(
    url: str, body: dict[str, object], headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers or {}, timeout=120)
