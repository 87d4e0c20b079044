"""CSV export of 1,000,000 contacts: rows/s and the exporting process's peak RSS.

Seeds a temporary SQLite file with INSERT ... SELECT (placed contacts, a third with tags),
then exports every contact twice: with `segmento export --out FILE` (the CLI, a child
process whose peak RSS comes from wait4) and over HTTP, GET /export/contacts.csv streamed by
a real `segmento serve` process to /dev/null (its peak RSS is VmHWM from /proc). Target: peak
RSS under 300 MiB for both.

    .venv/bin/python -m bench.export [--contacts 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.bootstrap import unit_of_work_factory
from bench.common import ROOT, segmento_server
from domain.auth import Scope
from persistence.db import Database, migrate
from services.auth import create_api_key

TARGET_MIB = 300
STAMP = "2026-11-01 09:00:00.000000"
SEED = """
INSERT INTO contact (email, first_name, last_name, phone, job_title, contact_type, source,
    funnel_stage, sector, region, city, country, custom_attributes, consent_email,
    consent_profiling, score, tier, segment, lead_status, created_at, updated_at,
    last_activity_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
SELECT 'lead' || i || '@bench.it', 'Nome' || i, 'Cognome, ' || (i % 997), '+39 06 ' || i,
    CASE i % 3 WHEN 0 THEN 'CTO' WHEN 1 THEN 'Buyer' ELSE NULL END,
    CASE i % 2 WHEN 0 THEN 'CLIENT' ELSE 'PROSPECT' END,
    CASE i % 4 WHEN 0 THEN 'WEB' WHEN 1 THEN 'EVENT' WHEN 2 THEN 'REFERRAL' ELSE 'IMPORT' END,
    'AWARENESS', 'ICT', 'Lazio', CASE i % 5 WHEN 0 THEN 'Roma' ELSE 'Milano' END, 'IT',
    CASE i % 10 WHEN 0 THEN '{"plan": "pro", "seats": ' || (i % 50) || '}' ELSE '{}' END,
    i % 2, 0, i % 120, 'Tier 1', 'F', 'COLD', :stamp, :stamp,
    CASE i % 7 WHEN 0 THEN :stamp ELSE NULL END
FROM n
"""
TAGS = """
INSERT INTO contact_tag (contact_id, tag_id, points, first_at, last_at)
SELECT c.id, t.id, 1 + (c.id % 5), :stamp, :stamp FROM contact c JOIN tag t
WHERE c.id % 3 = 0 AND (t.code = 'webinar' OR (t.code = 'pricing' AND c.id % 2 = 0))
"""


def seed(path: Path, contacts: int) -> str:
    """A migrated SQLite file with `contacts` placed contacts; returns a read key."""
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(SEED, {"count": contacts, "stamp": STAMP})
        for code in ("webinar", "pricing"):
            conn.execute(
                "INSERT INTO tag (name, code, created_at) VALUES (?, ?, ?)",
                (code.title(), code, STAMP),
            )
        conn.execute(TAGS, {"stamp": STAMP})

    async def key() -> str:
        db = Database(url)
        try:
            _, secret = await create_api_key(
                unit_of_work_factory(db), "bench", Scope.READ, datetime.now(UTC)
            )
            return secret
        finally:
            await db.dispose()

    return asyncio.run(key())


def export_with_cli(db: Path, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `segmento export --out`."""
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    command = [sys.executable, "-m", "api.cli", "export", "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"segmento export failed with {status}")
    return elapsed, usage.ru_maxrss / 1024


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def export_over_http(db: Path, key: str) -> tuple[float, int, int, float, float]:
    """(seconds, bytes, lines, server RSS before, server peak RSS) of one streamed GET."""
    server = segmento_server(db)
    try:
        headers = {"authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=600) as client:
            client.get("/export/contacts.csv?filter=%7B%22cityIn%22%3A%5B%22none%22%5D%7D",
                       headers=headers).raise_for_status()  # fmt: skip
            before = server.rss_mib()
            size = lines = 0
            started = time.perf_counter()
            with (
                open(os.devnull, "wb") as sink,
                client.stream("GET", "/export/contacts.csv", headers=headers) as response,
            ):
                response.raise_for_status()
                for piece in response.iter_bytes():
                    sink.write(piece)
                    size += len(piece)
                    lines += piece.count(b"\n")
            elapsed = time.perf_counter() - started
        return elapsed, size, lines, before, peak_rss_mib(server.process.pid)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segmento-export-"))
    try:
        db, out = folder / "export.db", folder / "contacts.csv"
        started = time.perf_counter()
        key = seed(db, args.contacts)
        print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        seconds, rss = export_with_cli(db, out)
        with out.open(encoding="utf-8", newline="") as written:
            rows = sum(1 for _ in written) - 1  # no cell of the seed spans lines
        print(f"CLI:  {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s "
              f"(process start included), {out.stat().st_size / 2**20:.0f} MiB, "
              f"peak RSS {rss:.0f} MiB")  # fmt: skip
        seconds, size, lines, before, peak = export_over_http(db, key)
        print(f"HTTP: {lines - 1:,} rows in {seconds:.1f} s = {(lines - 1) / seconds:,.0f} rows/s, "
              f"{size / 2**20 / seconds:.1f} MiB/s; server RSS {before:.0f} MiB before, "
              f"peak {peak:.0f} MiB")  # fmt: skip
        ok = rows == lines - 1 == args.contacts and max(rss, peak) < TARGET_MIB
        print(f"target: every row exported, peak RSS < {TARGET_MIB} MiB: "
              f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
