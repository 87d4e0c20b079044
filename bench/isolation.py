"""Isolation benchmark (run by hand: `.venv/bin/python -m bench.isolation`), issue 15 item 4.

On 100,000 contacts (bench/read_seed.py; SQLite, and Postgres with --database-url), a real
`segmento serve` process. While 4 clients (one separate process, so that reading their large
answers does not delay the fifth) loop sending the costliest reads a read key's budget admits
(bench/isolation_queries.py: each at most the cost limit, as large as it allows), a fifth
client sends `{ contact(id: …) { score } }` every 20 ms (open loop: on schedule, whether or
not the previous one answered) and records its latency. Target: its p99 < 50 ms. It prints
each heavy query's cost and solo latency, the simple read's p50/p99/max idle and under load,
the heavy queries' throughput, p50/p99 and errors. --profile FILE records the server with
py-spy (collapsed stacks) during the load.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import Server, segmento_server
from bench.isolation_queries import BUILDERS, DEFAULT, SIMPLE, costliest
from bench.read_seed import describe, seed
from persistence.db import normalise_url, sqlite_path

TARGET_MS = 50.0
IN_FLIGHT = 50  # simple reads outstanding at most (a stalled server does not pile up more)


def _errors(body: bytes, status: int) -> list[str]:
    """The error codes of a response ([] when it answered whole)."""
    try:
        errors = orjson.loads(body).get("errors") or []
    except orjson.JSONDecodeError:
        return [f"HTTP {status}"]
    codes = [str((e.get("extensions") or {}).get("code", "ERROR")) for e in errors]
    return codes or ([] if status == 200 else [f"HTTP {status}"])


async def _post(client: httpx.AsyncClient, document: str, variables: dict[str, Any]) -> list[str]:
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    return _errors(response.content, response.status_code)


def _client(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=60,
        limits=httpx.Limits(max_connections=IN_FLIGHT + 8),
    )  # fmt: skip


async def _heavy(url: str, key: str, queries: dict[str, str], clients: int, seconds: float,
                 ) -> dict[str, Any]:  # fmt: skip
    """`clients` loops over the queries (each starting at another one) for `seconds`."""
    names = list(queries)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def loop(client: httpx.AsyncClient, start: int) -> None:
        i = start
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            began = time.perf_counter()
            try:
                codes = await _post(client, queries[name], {})
            except httpx.HTTPError as exc:
                codes = [type(exc).__name__]
            latencies[name].append((time.perf_counter() - began) * 1000)
            errors.update(f"{name}: {code}" for code in codes)
            i += 1

    async with _client(url, key) as client:
        await asyncio.gather(*(loop(client, n) for n in range(clients)))
    return {"latencies": latencies, "errors": dict(errors)}


def _heavy_process(url: str, key: str, queries: dict[str, str], clients: int, seconds: float,
                   out: Any) -> None:  # fmt: skip
    out.put("started")
    out.put(asyncio.run(_heavy(url, key, queries, clients, seconds)))


async def _simple(url: str, key: str, contacts: int, seconds: float, interval: float,
                  ) -> tuple[list[float], Counter[str]]:  # fmt: skip
    """The simple read every `interval` s for `seconds`: latencies (ms) and errors."""
    rng = random.Random(4)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(client: httpx.AsyncClient) -> None:
        async with slots:
            began = time.perf_counter()
            try:
                codes = await _post(client, SIMPLE, {"id": str(rng.randrange(1, contacts + 1))})
            except httpx.HTTPError as exc:
                codes = [type(exc).__name__]
            latencies.append((time.perf_counter() - began) * 1000)
            errors.update(codes)

    async with _client(url, key) as client:
        for _ in range(20):  # open the connections and warm the server up
            await one(client)
        latencies.clear()
        tasks, start, n = [], time.perf_counter(), 0
        while (n := n + 1) * interval <= seconds:
            await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
            tasks.append(asyncio.create_task(one(client)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _line(values: list[float]) -> str:
    return (f"n {len(values):5}  p50 {_pct(values, 0.5):7.1f} ms  p99 {_pct(values, 0.99):7.1f} "
            f"ms  max {max(values, default=float('nan')):7.1f} ms")  # fmt: skip


def _solo(server: Server, key: str, queries: dict[str, tuple[str, int]]) -> None:
    async def run() -> None:
        async with _client(server.url, key) as client:
            for name, (document, cost) in queries.items():
                times, codes = [], []
                for _ in range(3):
                    began = time.perf_counter()
                    codes += await _post(client, document, {})
                    times.append((time.perf_counter() - began) * 1000)
                print(f"  {name:10} cost {cost:6,}  solo {statistics.median(times):8.1f} ms "
                      f"(median of 3)  {', '.join(sorted(set(codes))) or 'no errors'}")  # fmt: skip

    asyncio.run(run())


def _seeded(url: str, args: argparse.Namespace) -> str:
    """A read key for a seeded database; with --reuse, one seeded by an earlier run with
    --reuse is used again (its key kept in a file)."""
    if not args.reuse:
        return seed(url, args.contacts, args.companies)
    path = sqlite_path(normalise_url(url))
    name = url.rsplit("/", 1)[-1]
    key_file = (
        path.with_name(path.name + ".key")
        if path is not None
        else Path(tempfile.gettempdir()) / f"segmento-bench-iso-{name}.key"
    )
    if key_file.exists() and (path is None or path.exists()):
        return key_file.read_text()
    key_file.unlink(missing_ok=True)
    key = seed(url, args.contacts, args.companies)
    key_file.write_text(key)
    return key


def bench_database(label: str, url: str, args: argparse.Namespace) -> bool:
    started = time.perf_counter()
    key = _seeded(url, args)
    counts, _ = describe(url)
    print(f"\n== {label}: seeded in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{v:,} {k}" for k, v in counts.items()))  # fmt: skip
    queries = costliest(args.queries.split(","))
    server = segmento_server(url)
    try:
        print("heavy queries (cost on the server's schema; read-key limit 10,000):")
        _solo(server, key, queries)
        interval = args.interval_ms / 1000
        idle, idle_errors = asyncio.run(
            _simple(server.url, key, args.contacts, args.idle_seconds, interval)
        )
        out: Any = mp.get_context("spawn").Queue()
        documents = {name: doc for name, (doc, _) in queries.items()}
        heavy = mp.get_context("spawn").Process(
            target=_heavy_process,
            args=(server.url, key, documents, args.clients, args.seconds + args.ramp, out),
        )
        heavy.start()
        assert out.get(timeout=60) == "started"
        time.sleep(args.ramp)  # every heavy client has a request in flight
        profiler = None
        if args.profile:
            spy = str(Path(sys.executable).with_name("py-spy"))
            profiler = subprocess.Popen(
                [spy, "record", "--pid", str(server.process.pid), "--duration",
                 str(int(args.seconds)), "--format", "raw", "--output", args.profile,
                 "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        loaded, loaded_errors = asyncio.run(
            _simple(server.url, key, args.contacts, args.seconds, interval)
        )
        result = out.get(timeout=args.seconds + 300)
        heavy.join(timeout=30)
        if profiler is not None:
            profiler.wait(timeout=120)
            print(f"py-spy profile of the server during the load: {args.profile}")
    finally:
        server.stop()
    print(f"simple read `{SIMPLE}` every {args.interval_ms:g} ms:")
    print(f"  idle ({args.idle_seconds:g} s)        {_line(idle)}  errors {dict(idle_errors)}")
    print(f"  under load ({args.seconds:g} s)  {_line(loaded)}  errors {dict(loaded_errors)}")
    total = sum(len(v) for v in result["latencies"].values())
    span = args.seconds + args.ramp
    print(f"heavy: {args.clients} clients, {total} requests in ~{span:g} s "
          f"({total / span:.2f} req/s)")  # fmt: skip
    for name, values in result["latencies"].items():
        print(f"  {name:10} {_line(values)}")
    print(f"  errors: {result['errors'] or 'none'}")
    ok = _pct(loaded, 0.99) < TARGET_MS
    print(f"[{'x' if ok else ' '}] {label}: simple p99 < {TARGET_MS:g} ms under load "
          f"({_pct(loaded, 0.99):.1f} ms)")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--ramp", type=float, default=2, help="load before measuring (s)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--interval-ms", type=float, default=20)
    parser.add_argument("--queries", default=",".join(DEFAULT),
                        help=f"heavy query shapes, of {','.join(BUILDERS)}")  # fmt: skip
    parser.add_argument("--profile", help="py-spy raw profile of the server under load here")
    parser.add_argument(
        "--database-url",
        help="also run on this Postgres database (created if absent, its public schema "
        "dropped and rebuilt; never `test`), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_iso",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sqlite-file", help="the SQLite database here (default: a new "
                        "temporary folder)")  # fmt: skip
    parser.add_argument("--reuse", action="store_true", help="seed once, reuse on later "
                        "runs with --reuse (the heavy reads write nothing; the size is not "
                        "checked)")  # fmt: skip
    args = parser.parse_args()
    databases = []
    if not args.skip_sqlite:
        work = Path(tempfile.mkdtemp(prefix="segmento-bench-iso-"))
        file = Path(args.sqlite_file).resolve() if args.sqlite_file else work / "iso.db"
        databases.append(("SQLite", f"sqlite+aiosqlite:///{file}"))
    if args.database_url:
        databases.append(("Postgres", args.database_url))
    for label, url in databases:
        bench_database(label, url, args)


if __name__ == "__main__":
    main()
