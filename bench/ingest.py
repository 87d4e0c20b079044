"""Ingestion benchmark (run by hand: `bash bench/setup.sh && .venv/bin/python -m bench.ingest`).

On a SQLite database of 100,000 contacts, against real uvicorn processes, prints:
- single recordInteraction: requests/s, p50 and p99 at 32 concurrent connections (wrk);
- batch recordInteractions: events/s with batches of 1,000;
- the same writes by a minimal Starlette endpoint with plain SQL (bench/baseline_app.py),
  and the ratio. Targets (2 cores): single >= 700 req/s with p99 < 100 ms, batch >= 20,000
  events/s, both >= 50 % of the baseline.
"""

from __future__ import annotations

import argparse
import functools
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    ROOT,
    Server,
    baseline_server,
    copy_database,
    post_json,
    prepare_database,
    segmento_server,
    wrk,
)

BATCH_QUERY = (
    "mutation B($items: [InteractionInput!]!) { recordInteractions(interactions: $items) "
    "{ recordedCount errorCount } }"
)


def batch_items(
    run: str, n: int, size: int, contacts: int, graphql: bool
) -> list[dict[str, object]]:
    at = datetime.now(UTC).isoformat()
    items = []
    for i in range(size):
        cid = (n * size + i * 7919) % contacts + 1
        key = f"{run}-batch-{n}-{i}"
        if graphql:
            items.append(
                {
                    "contactId": str(cid),
                    "type": "EMAIL_OPEN",
                    "occurredAt": at,
                    "idempotencyKey": key,
                }
            )
        else:
            items.append(
                {"contact_id": cid, "type": "EMAIL_OPEN", "occurred_at": at, "idempotency_key": key}
            )
    return items


def run_batches(server: Server, key: str, graphql: bool, batches: int, contacts: int) -> float:
    headers = {"authorization": f"Bearer {key}"}
    payloads = [batch_items(f"b{graphql}", n, 1000, contacts, graphql) for n in range(batches + 1)]
    url = f"{server.url}/graphql" if graphql else f"{server.url}/batch"

    def send(items: list[dict[str, object]]) -> None:
        body = (
            {"query": BATCH_QUERY, "variables": {"items": items}} if graphql else {"items": items}
        )
        response = post_json(url, body, headers)
        response.raise_for_status()
        if graphql:
            assert response.json()["data"]["recordInteractions"]["errorCount"] == 0, response.text

    send(payloads[0])  # warm-up
    started = time.perf_counter()
    for items in payloads[1:]:
        send(items)
    return batches * 1000 / (time.perf_counter() - started)


def measure(
    name: str, server: Server, key: str, args: argparse.Namespace, graphql: bool
) -> dict[str, float]:
    script = ROOT / "bench" / "record.lua"
    path = "/graphql" if graphql else "/single"
    mode = "graphql" if graphql else "baseline"
    try:
        wrk(
            server.url,
            script,
            [path, key, str(args.contacts), f"warm-{name}", mode],
            3,
            args.connections,
        )
        single = wrk(
            server.url,
            script,
            [path, key, str(args.contacts), name, mode],
            args.seconds,
            args.connections,
        )
        single["events_per_s"] = run_batches(server, key, graphql, args.batches, args.contacts)
        single["rss_mib"] = server.rss_mib()
    finally:
        server.stop()
    return single


def check_counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        interactions = conn.execute("SELECT count(*) FROM interaction").fetchone()[0]
        mismatched = conn.execute(
            "SELECT count(*) FROM contact c WHERE c.score != "
            "(SELECT coalesce(sum(points), 0) FROM score_entry e WHERE e.contact_id = c.id)"
        ).fetchone()[0]
    return interactions, mismatched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=1,
        help="segmento serve --workers N (needs Postgres: on SQLite the server refuses N > 1)",
    )  # fmt: skip
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="segmento-bench-"))
    template = work / "template.db"
    started = time.perf_counter()
    key = prepare_database(template, args.contacts)
    print(f"prepared {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s ({work})")
    results = {}
    for name, graphql, start in (
        ("segmento", True, functools.partial(segmento_server, workers=args.workers)),
        ("baseline", False, baseline_server),
    ):
        db = copy_database(template, work / f"{name}.db")
        results[name] = measure(name, start(db), key, args, graphql)
        results[name]["stored"], results[name]["mismatched"] = check_counts(db)
    report(results, args)


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    single = f"wrk -t2 -c{args.connections} -d{args.seconds}s"
    print(f"\nsingle: {single}; batch: {args.batches} x 1,000 events")
    columns = ("req/s", "p50 ms", "p99 ms", "fail", "events/s", "RSS MiB", "stored", "bad sums")
    print(f"{'':10} " + " ".join(f"{c:>8}" for c in columns))
    for name, r in results.items():
        values = (r["rps"], r["p50"], r["p99"], r["failures"], r["events_per_s"], r["rss_mib"])
        values += (r["stored"], r["mismatched"])
        print(f"{name:10} " + " ".join(f"{v:8.1f}" for v in values))
    s, b = results["segmento"], results["baseline"]
    single_ratio, batch_ratio = s["rps"] / b["rps"], s["events_per_s"] / b["events_per_s"]
    print(f"\nratio to baseline: single {single_ratio:.0%}, batch {batch_ratio:.0%}")
    checks = {
        "single >= 700 req/s": s["rps"] >= 700,
        "single p99 < 100 ms": s["p99"] < 100,
        "batch >= 20,000 events/s": s["events_per_s"] >= 20_000,
        "single >= 50% of baseline": s["rps"] >= 0.5 * b["rps"],
        "batch >= 50% of baseline": s["events_per_s"] >= 0.5 * b["events_per_s"],
        "no failed request, score = ledger sum": s["failures"] == 0 and s["mismatched"] == 0,
    }
    for label, ok in checks.items():
        print(f"  [{'x' if ok else ' '}] {label}")


if __name__ == "__main__":
    main()
