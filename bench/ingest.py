"""Ingestion benchmark (run by hand: `bash bench/setup.sh && .venv/bin/python -m bench.ingest`).

On 100,000 contacts (bench/read_seed.py: companies, tags, a score ledger, tier history;
everyone placed in a tier and segment), with the whole write path on — an automation that
fires on score crossings, a webhook subscribed to score, tier and hot-lead events (its
deliveries are queued in the write's transaction; the delivery worker is off, so nothing is
sent while measuring), and with `--lists N` N dynamic lists of bench/membership.py's six
shapes — against real uvicorn processes, in alternating rounds, prints:
- single recordInteraction: requests/s, p50 and p99 at 32 concurrent connections (wrk);
- batch recordInteractions: events/s with batches of 1,000;
- the same writes by a minimal Starlette endpoint with plain SQL (bench/baseline_app.py: the
  interaction row, its ledger entry and the score update), and the ratios. Targets (issue 15,
  2 cores, same-run ratios): single >= 50 % and batch >= 70 % of the baseline.
SQLite, and Postgres with --database-url. Each server writes to its own copy of one seeded
database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

from api.bootstrap import unit_of_work_factory, webhook_targets
from bench.common import (
    ROOT,
    Server,
    baseline_server,
    copy_database,
    post_json,
    segmento_server,
    wrk,
)
from bench.membership import list_filters
from bench.read_seed import driver_url, seed
from domain.auth import Scope
from domain.automations import Action, ActionKind, AutomationStatus, Trigger, TriggerKind
from domain.lists import ListKind
from persistence.db import Database, normalise_url, sqlite_path
from services import automations, lists, tags, webhooks
from services.auth import create_api_key

BATCH_QUERY = (
    "mutation B($items: [InteractionInput!]!) { recordInteractions(interactions: $items) "
    "{ recordedCount errorCount } }"
)
SERVERS = ("segmento", "baseline")
# What the bench turns on in the product: deliveries are queued by every write whose events
# the webhook wants (SCORE_CHANGED: all of them), never sent during the run.
HOOK_EVENTS = ["SCORE_CHANGED", "TIER_CHANGED", "HOT_LEAD"]
SEGMENTO_ENV = {
    "SEGMENTO_WEBHOOK_POLL_SECONDS": "0",  # the delivery worker is off: deliveries wait
    "SEGMENTO_AUTOMATION_INTERVAL_SECONDS": "0",  # scheduled jobs are not the write path
    "SEGMENTO_PRUNE_INTERVAL_SECONDS": "0",
}


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


def run_batches(
    server: Server, key: str, graphql: bool, batches: int, contacts: int, run: str
) -> float:
    """Events/s of `batches` batches of 1,000 after one to warm up."""
    headers = {"authorization": f"Bearer {key}"}
    payloads = [batch_items(run, n, 1000, contacts, graphql) for n in range(batches + 1)]
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
    name: str, server: Server, key: str, args: argparse.Namespace, run: str, seconds: int
) -> dict[str, float]:
    graphql = name == "segmento"
    script = ROOT / "bench" / "record.lua"
    path = "/graphql" if graphql else "/single"
    mode = "graphql" if graphql else "baseline"
    wrk_args = [path, key, str(args.contacts), f"{run}-{name}", mode]
    single = wrk(server.url, script, wrk_args, seconds, args.connections)
    batches = args.batches if seconds == args.seconds else 1
    single["events_per_s"] = run_batches(
        server, key, graphql, batches, args.contacts, f"{run}-{name}-b"
    )
    single["rss_mib"] = server.rss_mib()
    return single


# -- the database ------------------------------------------------------------------------


async def _reset_copy(url: str, template: str) -> None:
    """Postgres: `url`'s database, dropped and created again from the template database."""
    base, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()


async def _drop(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _describe(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:

            async def count(sql: str) -> int:
                return int((await conn.execute(text(sql))).scalar_one())

            return {
                "contacts": await count("SELECT count(*) FROM contact"),
                "placed": await count("SELECT count(*) FROM contact WHERE tier IS NOT NULL"),
                "dynamic lists": await count(
                    "SELECT count(*) FROM contact_list WHERE kind = 'DYNAMIC'"
                ),
                "automations": await count("SELECT count(*) FROM automation"),
                "webhooks": await count("SELECT count(*) FROM webhook"),
            }
    finally:
        await db.dispose()


async def _turn_on(url: str, list_count: int) -> None:
    """The definitions that put the whole write path to work: a tag, a webhook, two
    automations and `list_count` dynamic lists (filled when created)."""
    db = Database(url)
    uows = unit_of_work_factory(db)
    now = datetime.now(UTC)
    try:
        await tags.create_tag(uows, "Engaged", "engaged", None, now)
        hook, _ = await webhooks.create_webhook(
            *(uows, "CRM sync", "http://127.0.0.1:9/segmento-bench", HOOK_EVENTS, None, True, now),
            targets=webhook_targets(["127.0.0.1/32"]),  # the discard port: never sent anyway
        )
        definitions = [
            ("Engaged at 200", Trigger(TriggerKind.SCORE_CROSSED_ABOVE, threshold=200),
             [Action(ActionKind.ADD_TAG, tag="engaged")]),
            ("Hot lead to sales", Trigger(TriggerKind.BECAME_HOT),
             [Action(ActionKind.RAISE_ALERT, message="New hot lead", level="WARNING"),
              Action(ActionKind.CALL_WEBHOOK, webhook_id=hook.id)]),
        ]  # fmt: skip
        for name, trigger, actions in definitions:
            await automations.create_automation(
                uows, name, None, AutomationStatus.ACTIVE, (trigger, None, actions), now
            )
        for n, node in enumerate(list_filters(list_count, tag="interest-01")):
            await lists.create_list(uows, f"bench list {n}", ListKind.DYNAMIC, node, None, now)
    finally:
        await db.dispose()


async def _admin_key(url: str) -> str:
    db = Database(url)
    try:
        _, secret = await create_api_key(
            unit_of_work_factory(db), "bench-ingest", Scope.ADMIN, datetime.now(UTC)
        )
        return secret
    finally:
        await db.dispose()


def prepare(url: str, args: argparse.Namespace) -> str:
    """The template database at `url`, seeded (or reused with --reuse when it has the same
    contacts and lists); returns an admin key."""
    wanted = {"contacts": args.contacts, "dynamic lists": args.lists}
    if args.reuse:
        try:
            found = asyncio.run(_describe(url))
        except Exception:  # absent or not migrated: seed it
            found = {}
        if all(found.get(k) == v for k, v in wanted.items()) and found.get("automations"):
            print(f"  reusing the seeded database: {found}")
            return asyncio.run(_admin_key(url))
    started = time.perf_counter()
    seed(url, args.contacts, args.companies)
    seeded = time.perf_counter() - started
    asyncio.run(_turn_on(url, args.lists))
    print(f"  seeded in {seeded:.1f} s, definitions in {time.perf_counter() - started - seeded:.1f}"
          f" s: {asyncio.run(_describe(url))}")  # fmt: skip
    return asyncio.run(_admin_key(url))


def copies(label: str, template_url: str, work: Path) -> dict[str, str]:
    """Each server's own copy of the template database: its URL."""
    out = {}
    path = sqlite_path(template_url)
    for name in SERVERS:
        if path is not None:
            target = copy_database(path, work / f"{name}.db")
            out[name] = f"sqlite+aiosqlite:///{target}"
        else:
            out[name] = f"{template_url}_{name}"
            template = template_url.rsplit("/", 1)[1]
            asyncio.run(_reset_copy(driver_url(out[name]), template))
    print(f"  {label}: copies ready")
    return out


async def _check(url: str, run: str, since: datetime) -> dict[str, int]:
    """Rows the run wrote (its keys; since `since`), and contacts whose score is not their
    ledger sum."""
    db = Database(url)
    try:
        async with db.engine.connect() as conn:

            async def count(sql: str, **params: Any) -> int:
                return int((await conn.execute(text(sql), params)).scalar_one())

            like = f"{run}-%"
            naive = since.astimezone(UTC).replace(tzinfo=None)
            t: Any = naive.isoformat(sep=" ") if db.is_sqlite else naive
            return {
                "stored": await count(
                    "SELECT count(*) FROM interaction WHERE idempotency_key LIKE :k", k=like
                ),
                "mismatched": await count(
                    "SELECT count(*) FROM contact c WHERE c.score != (SELECT coalesce(sum("
                    "points), 0) FROM score_entry e WHERE e.contact_id = c.id)"
                ),
                "events": await count("SELECT count(*) FROM event WHERE created_at >= :t", t=t),
                "list events": await count(
                    "SELECT count(*) FROM event WHERE created_at >= :t "
                    "AND type IN ('LIST_ENTERED', 'LIST_LEFT')",
                    t=t,
                ),
                "deliveries": await count("SELECT count(*) FROM webhook_delivery"),
                "automation runs": await count("SELECT count(*) FROM automation_run"),
                "tier changes": await count("SELECT count(*) FROM tier_change WHERE at >= :t", t=t),
            }
    finally:
        await db.dispose()


Results = dict[str, list[dict[str, float]]]


def bench_database(label: str, template_url: str, args: argparse.Namespace, work: Path) -> Results:
    print(f"\n== {label}: {args.contacts:,} contacts, {args.lists} dynamic lists")
    key = prepare(template_url, args)
    urls = copies(label, template_url, work)
    servers: dict[str, Server] = {}
    results: Results = {name: [] for name in SERVERS}
    run, since = f"r{int(time.time())}", datetime.now(UTC)
    try:
        workers = args.workers if label != "SQLite" else 1
        servers["segmento"] = segmento_server(urls["segmento"], workers, SEGMENTO_ENV)
        servers["baseline"] = baseline_server(urls["baseline"])
        for name in SERVERS:
            measure(name, servers[name], key, args, f"{run}-warm", 3)
        for round_ in range(1, args.rounds + 1):
            for name in SERVERS:
                r = measure(name, servers[name], key, args, f"{run}-{round_}", args.seconds)
                results[name].append(r)
                print(f"  round {round_} {name:9} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f} ms"
                      f"  p99 {r['p99']:6.1f} ms  failures {r['failures']:.0f}  "
                      f"{r['events_per_s']:7,.0f} events/s", flush=True)  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
    for name in SERVERS:
        found = asyncio.run(_check(urls[name], run, since))
        results[name][0].update({k: float(v) for k, v in found.items()})
    if sqlite_path(template_url) is None and not args.keep:
        for url in urls.values():
            asyncio.run(_drop(driver_url(url)))
    return results


def report(label: str, results: Results, args: argparse.Namespace) -> None:
    s_runs, b_runs = results["segmento"], results["baseline"]
    print(f"\n{label}, {args.lists} dynamic lists: single wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s; batch {args.batches} x 1,000 events; "
          f"{args.rounds} rounds")  # fmt: skip
    columns = ("req/s", "p50 ms", "p99 ms", "fail", "events/s", "RSS MiB")
    print(f"{'':16} " + " ".join(f"{c:>9}" for c in columns))
    for name, runs in results.items():
        for n, r in enumerate(runs, 1):
            values = (r["rps"], r["p50"], r["p99"], r["failures"], r["events_per_s"], r["rss_mib"])
            print(f"{name:9} round {n} " + " ".join(f"{v:9.1f}" for v in values))
    single = [s["rps"] / b["rps"] for s, b in zip(s_runs, b_runs, strict=True)]
    batch = [s["events_per_s"] / b["events_per_s"] for s, b in zip(s_runs, b_runs, strict=True)]
    print("\nratio to baseline per round: single " + " / ".join(f"{x:.0%}" for x in single)
          + f" (median {statistics.median(single):.0%}), batch "
          + " / ".join(f"{x:.0%}" for x in batch)
          + f" (median {statistics.median(batch):.0%})")  # fmt: skip
    s, b = s_runs[0], b_runs[0]
    print("segmento's copy after the run: " + ", ".join(
        f"{s[k]:,.0f} {k}" for k in ("stored", "events", "list events", "deliveries",
                                     "automation runs", "tier changes")
    ) + f"; baseline's: {b['stored']:,.0f} stored")  # fmt: skip
    failed = sum(r["failures"] for r in s_runs + b_runs)
    checks = {
        "single >= 50% of baseline in every round": min(single) >= 0.5,
        "batch >= 70% of baseline in every round": min(batch) >= 0.7,
        "no failed request, score = ledger sum": failed == 0
        and s["mismatched"] == 0
        and b["mismatched"] == 0,
        "write path on: deliveries queued, automations ran"
        + (", list events" if args.lists else ""): s["deliveries"] > 0
        and s["automation runs"] > 0
        and (s["list events"] > 0 or not args.lists),
    }
    for check, ok in checks.items():
        print(f"  [{'x' if ok else ' '}] {check}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--lists", type=int, default=0, help="dynamic lists defined (0)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=1,
        help="segmento serve --workers N (Postgres only: the SQLite run stays one process)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        help="also run on this Postgres database (created if absent, its public schema "
        "dropped and rebuilt, never `test` or `postgres`; the servers write to copies "
        "NAME_segmento and NAME_baseline), e.g. "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_ingest",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the seeded database (SQLite: in --work) when it has as many contacts and lists",
    )
    parser.add_argument("--work", type=Path, help="folder of the SQLite files (a new temp one)")
    parser.add_argument("--keep", action="store_true", help="keep the Postgres copies")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="segmento-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    databases = []
    if not args.skip_sqlite:
        template = work / f"template-{args.contacts}-{args.lists}.db"
        databases.append(("SQLite", f"sqlite+aiosqlite:///{template}"))
    if args.database_url:
        url = normalise_url(args.database_url)
        if url.rsplit("/", 1)[1] in ("test", "postgres", ""):
            raise SystemExit("refusing to use that database: give one for this bench")
        databases.append(("Postgres", url))
    print(f"work folder: {work}")
    done = [(label, bench_database(label, url, args, work)) for label, url in databases]
    for label, results in done:
        report(label, results, args)


if __name__ == "__main__":
    main()
