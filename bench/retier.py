"""Re-tiering benchmark (run by hand: `.venv/bin/python -m bench.retier`).

200,000 contacts on SQLite (a third with behavioural points, varied sources and funnel
stages), placed once; then, against a real uvicorn process, `updateTierPolicy` re-tiers
everyone while a reader keeps querying a contacts page. Prints re-tiering throughput
(target >= 20,000 contacts/s) and the read latency p50/p99 during the re-tier.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.bootstrap import unit_of_work_factory
from bench.common import prepare_database, segmento_server
from persistence.db import Database
from services.tiers import retier_all

SOURCES = ["EVENT", "REFERRAL", "WEB", "EMAIL", "SOCIAL", None]
STAGES = ["AWARENESS", "CONSIDERATION", "DECISION", None]
READ = "{ contacts(first: 20, filter: {scoreAbove: 10}) { nodes { email tier leadStatus } } }"
UPDATE = """mutation($input: TierPolicyInput!) { updateTierPolicy(input: $input) { version } }"""
POLICY = {
    "weights": {"engagement": 40, "fit": 10, "source": 20, "funnel": 20, "intent": 10},
    "engagementCap": 80, "fitCap": 50,
    "sourceValues": {"EVENT": 85, "REFERRAL": 75, "WEB": 50, "EMAIL": 45, "SOCIAL": 40},
    "funnelValues": {"AWARENESS": 15, "CONSIDERATION": 45, "DECISION": 80},
    "intentPoints": {"DEMO_REQUEST": 40, "WHITE_PAPER_DOWNLOAD": 15}, "intentWindowDays": 30,
    "tiers": [{"name": "Tier 1", "minIndex": 0}, {"name": "Tier 2", "minIndex": 25},
              {"name": "Tier 2+", "minIndex": 60}],
    "overrides": [{"name": "event lead >= 60", "tier": "Tier 2+", "filter": {"sourceIn": ["EVENT"]},
                   "minEngagement": 60}],
}  # fmt: skip


def enrich(db: Path, contacts: int) -> None:
    """Attributes and behavioural points (ledger entries matching each score)."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "UPDATE contact SET source = ?, funnel_stage = ? WHERE id = ?",
            ((rng.choice(SOURCES), rng.choice(STAGES), i) for i in range(1, contacts + 1)),
        )
        scored = [(i, rng.randint(5, 120)) for i in range(1, contacts + 1, 3)]
        conn.executemany(
            "INSERT INTO score_entry (contact_id, reason, label, points, at, created_at) "
            "VALUES (?, 'RULE', 'bench', ?, ?, ?)",
            ((i, p, now, now) for i, p in scored),
        )
        conn.executemany("UPDATE contact SET score = ? WHERE id = ?", ((p, i) for i, p in scored))


def place_everyone(db: Path) -> float:
    async def run() -> float:
        database = Database(f"sqlite+aiosqlite:///{db}")
        try:
            started = time.perf_counter()
            count = await retier_all(unit_of_work_factory(database), datetime.now(UTC))
            return count / (time.perf_counter() - started)
        finally:
            await database.dispose()

    return asyncio.run(run())


def reader(url: str, key: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=60) as c:
        while not stop.is_set():
            started = time.perf_counter()
            c.post("/graphql", json={"query": READ}).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=200_000)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp(prefix="segmento-retier-")) / "retier.db"
    key = prepare_database(db, args.contacts)
    enrich(db, args.contacts)
    first_rate = place_everyone(db)
    print(
        f"first placement of {args.contacts:,} contacts (in process): {first_rate:,.0f} contacts/s"
    )
    server = segmento_server(db)
    try:
        idle: list[float] = []
        stop = threading.Event()
        thread = threading.Thread(target=reader, args=(server.url, key, stop, idle))
        thread.start()
        time.sleep(3)
        stop.set()
        thread.join()
        during: list[float] = []
        stop = threading.Event()
        thread = threading.Thread(target=reader, args=(server.url, key, stop, during))
        thread.start()
        started = time.perf_counter()
        response = httpx.post(
            f"{server.url}/graphql", json={"query": UPDATE, "variables": {"input": POLICY}},
            headers={"authorization": f"Bearer {key}"}, timeout=600,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()
        assert "errors" not in response.json(), response.text
    finally:
        server.stop()
    report(args.contacts, elapsed, idle, during)


def report(contacts: int, elapsed: float, idle: list[float], during: list[float]) -> None:
    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(len(values) * q))]

    rate = contacts / elapsed
    print(f"updateTierPolicy re-tiered {contacts:,} contacts in {elapsed:.1f} s: {rate:,.0f}/s")
    print(f"reads idle:        n={len(idle)} p50 {p(idle, 0.5):.1f} ms p99 {p(idle, 0.99):.1f} ms")
    spread = f"p50 {p(during, 0.5):.1f} ms p99 {p(during, 0.99):.1f} ms max {max(during):.1f} ms"
    print(f"reads during:      n={len(during)} {spread} mean {statistics.mean(during):.1f} ms")
    print(f"  [{'x' if rate >= 20_000 else ' '}] re-tiering >= 20,000 contacts/s")


if __name__ == "__main__":
    main()
