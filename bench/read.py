"""Read benchmark (run by hand: `bash bench/setup.sh && .venv/bin/python -m bench.read`).

On 100,000 contacts (SQLite; also Postgres with --database-url), with companies, tags,
lists, a score ledger and a tier history (bench/read_seed.py), times two reads with wrk:
- the contacts page (`scoreAbove` the median score, by score descending), first 20 and 100;
- a contact card (profile, company, tags, lists, 20 ledger entries, 10 tier changes), of a
  contact drawn at random per request;
each against three servers, in alternating rounds: `segmento serve` (GraphQL), "plain" (a
Starlette endpoint running the same SQL through the product's SQLAlchemy `Database`) and
"bare" (the same endpoint on sqlite3 / asyncpg alone), see bench/read_baseline_app.py.
Before timing it checks that the three answer the same JSON. Target: segmento >= 50 % of
plain (req/s, median of the rounds).
"""

from __future__ import annotations

import argparse
import difflib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, Server, free_port, post_json, segmento_server, wrk
from bench.read_queries import CARD, PAGE
from bench.read_seed import describe, seed

SERVERS = ("segmento", "plain", "bare")
QUERIES = (("page 20", "page", 20), ("page 100", "page", 100), ("card", "card", 20))
SCRIPT = ROOT / "bench" / "read.lua"


def start(name: str, url: str, key: str, workers: int = 1) -> Server:
    if name == "segmento":
        return segmento_server(url, 1 if url.startswith("sqlite") else workers)
    port = free_port()
    app = "bench.read_baseline_app:" + ("app" if name == "plain" else "bare_app")
    command = [
        sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    return Server(command, {"DATABASE_URL": url, "READ_BENCH_KEY": key}, port)


def fetch(server: Server, name: str, key: str, query: str, n: int, first: int, cid: int) -> str:
    """The response body, re-indented for a readable diff (key order kept)."""
    headers = {"authorization": f"Bearer {key}"}
    if name == "segmento":
        variables = {"n": n, "first": first} if query == "page" else {"id": str(cid)}
        document = PAGE if query == "page" else CARD
        response = post_json(f"{server.url}/graphql", {"query": document, "variables": variables},
                             headers)  # fmt: skip
    else:
        path = f"/page?n={n}&first={first}" if query == "page" else f"/card/{cid}"
        response = httpx.get(server.url + path, headers=headers, timeout=60)
    response.raise_for_status()
    return json.dumps(response.json(), indent=1, ensure_ascii=False)


def check_same(servers: dict[str, Server], key: str, n: int, contacts: int) -> int:
    """Every query from every server: the same body, or a diff and exit 1. Returns checks."""
    cases = [("page", n, first, 0) for first in (20, 100)]
    cases += [("card", n, 0, cid) for cid in range(1, contacts + 1, max(1, contacts // 40))]
    for query, n_, first, cid in cases:
        bodies = {s: fetch(servers[s], s, key, query, n_, first, cid) for s in SERVERS}
        for other in SERVERS[1:]:
            if bodies[other] != bodies["segmento"]:
                diff = difflib.unified_diff(
                    bodies["segmento"].splitlines(), bodies[other].splitlines(),
                    "segmento", other, lineterm="", n=2,
                )  # fmt: skip
                print(f"{query} (first={first}, id={cid}): {other} differs from segmento")
                print("\n".join(list(diff)[:80]))
                sys.exit(1)
    return len(cases)


def run_wrk(
    server: Server,
    name: str,
    key: str,
    query: str,
    n: int,
    first: int,
    args: argparse.Namespace,
    seconds: int,
) -> dict[str, float]:
    mode = "graphql" if name == "segmento" else "plain"
    wrk_args = [mode, query, key, str(args.contacts), str(n), str(first), PAGE, CARD]
    return wrk(server.url, SCRIPT, wrk_args, seconds, args.connections)


Results = dict[tuple[str, str], list[dict[str, float]]]


def bench_database(label: str, url: str, args: argparse.Namespace) -> Results:
    started = time.perf_counter()
    key = seed(url, args.contacts, args.companies)
    counts, n = describe(url)
    print(f"\n== {label}: seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f"; scoreAbove {n}")  # fmt: skip
    servers: dict[str, Server] = {}
    results: Results = {}
    try:
        for name in SERVERS:
            servers[name] = start(name, url, key, args.workers)
        print(f"same JSON from the three servers: {check_same(servers, key, n, args.contacts)} "
              "queries checked")  # fmt: skip
        for title, query, first in QUERIES:
            for name in SERVERS:  # warm-up
                run_wrk(servers[name], name, key, query, n, first, args, 2)
            for round_ in range(args.rounds):
                for name in SERVERS:
                    r = run_wrk(servers[name], name, key, query, n, first, args, args.seconds)
                    results.setdefault((title, name), []).append(r)
                    print(f"  {title:9} round {round_ + 1} {name:9} {r['rps']:8.1f} req/s  "
                          f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                          f"failures {r['failures']:.0f}", flush=True)  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
    return results


def report(label: str, results: Results, args: argparse.Namespace) -> None:
    workers = 1 if label == "SQLite" else args.workers
    print(f"\n{label}: wrk -t2 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds; "
          f"segmento in {workers} process(es); req/s per round, then medians")  # fmt: skip
    for title, _, _ in QUERIES:
        median: dict[str, float] = {}
        for name in SERVERS:
            runs = results[(title, name)]
            median[name] = statistics.median(r["rps"] for r in runs)
            rounds = " / ".join(f"{r['rps']:,.0f}" for r in runs)
            p50 = statistics.median(r["p50"] for r in runs)
            p99 = statistics.median(r["p99"] for r in runs)
            failed = sum(r["failures"] for r in runs)
            print(f"  {title:9} {name:9} {rounds:24} median {median[name]:7,.0f} req/s  "
                  f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms" + (f"  FAILED {failed:.0f}" if failed
                  else ""))  # fmt: skip
        plain, bare = median["segmento"] / median["plain"], median["segmento"] / median["bare"]
        mark = "x" if plain >= 0.5 else " "
        print(f"  {title:9} segmento/plain {plain:.0%}, segmento/bare {bare:.0%}   "
              f"[{mark}] segmento >= 50 % of plain")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        help="also run on this Postgres database (created if absent, its public schema "
        "dropped and rebuilt; never the shared `test` one), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_read",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="segmento serve --workers N on Postgres (SQLite: always one process)",
    )  # fmt: skip
    args = parser.parse_args()
    databases = []
    if not args.skip_sqlite:
        work = Path(tempfile.mkdtemp(prefix="segmento-bench-read-"))
        databases.append(("SQLite", f"sqlite+aiosqlite:///{work / 'read.db'}"))
    if args.database_url:
        databases.append(("Postgres", args.database_url))
    done = [(label, bench_database(label, url, args)) for label, url in databases]
    for label, results in done:
        report(label, results, args)


if __name__ == "__main__":
    main()
