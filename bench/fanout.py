"""Subscription fan-out benchmark (run by hand: `.venv/bin/python -m bench.fanout`).

One `segmento serve` process (real uvicorn, SQLite); N WebSocket subscribers spread over
client processes, all on the same document (the dashboard case the server multiplexes).
After a warm-up event has reached every subscriber, recordInteraction mutations arrive
over HTTP at a steady rate; every client records `receive time - at` of each payload (same
machine, same clock). For 100, 1,000 and 5,000 subscribers prints event-to-delivery
p50/p99/max, delivered/expected payloads and the server's peak RSS. Targets (2 cores):
1,000 subscribers p99 < 250 ms; 5,000 subscribers held under 1 GiB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import queue
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
import websockets

from bench.common import copy_database, prepare_database, segmento_server

DOCUMENT = "subscription { scoreChanged { cursor at delta newScore contactId } }"
RECORD = "mutation R($i: InteractionInput!) { recordInteraction(input: $i) { scoreDelta } }"
WARM = 20  # contacts 1..WARM carry the warm-up events, which are not measured


def client(n: int, port: int, key: str, count: int, deflate: bool, shared: Any) -> None:
    uvloop.run(subscribers(n, port, key, count, deflate, shared))


async def subscribers(n: int, port: int, key: str, count: int, deflate: bool, shared: Any) -> None:
    """`count` connections, one subscription each; reports through `out` and `progress`."""
    out, expected, stop, progress = shared
    latencies: list[float] = []
    received = [0] * count
    failures: list[str] = []
    state = {"opened": 0, "warm": 0}
    gate = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        warm = False
        try:
            async with gate:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"],
                    compression="deflate" if deflate else None, open_timeout=120,
                    ping_interval=None,
                )  # fmt: skip
                init = {"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}
                await ws.send(json.dumps(init))
                while (message := json.loads(await ws.recv()))["type"] != "connection_ack":
                    assert message["type"] in ("ping", "pong", "ka"), message
                subscribe = {"id": "1", "type": "subscribe", "payload": {"query": DOCUMENT}}
                await ws.send(json.dumps(subscribe))
        except Exception as error:
            failures.append(f"connect: {error!r}")
            return
        finally:
            state["opened"] += 1
            if state["opened"] == count:
                out.put(("connected", n, count - len(failures)))
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send('{"type": "pong"}')
                    continue
                if message["type"] != "next" or "errors" in message["payload"]:
                    failures.append(f"message: {str(raw)[:300]}")
                    break
                event = message["payload"]["data"]["scoreChanged"]
                if int(event["contactId"]) > WARM:
                    at = datetime.fromisoformat(event["at"]).timestamp()
                    latencies.append((now - at) * 1000)
                    received[i] += 1
                elif not warm:
                    warm, state["warm"] = True, state["warm"] + 1
                    if state["warm"] == count - len(failures):
                        out.put(("warm", n, 0))
        except websockets.ConnectionClosed as closed:
            if not stop.is_set():
                failures.append(f"closed: {closed!r}")
        finally:
            await ws.close()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    while not stop.is_set():
        progress[n] = sum(received)
        if expected.value >= 0 and all(r >= expected.value for r in received):
            out.put(("done", n, 0))
            await asyncio.to_thread(stop.wait)
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put(("result", n, {"latencies": latencies, "received": received, "failures": failures}))


def wait_for(out: Any, kind: str, procs: int, timeout: float, stash: list[Any]) -> bool:
    deadline = time.monotonic() + timeout
    while sum(1 for m in stash if m[0] == kind) < procs:
        try:
            stash.append(out.get(timeout=max(0.1, deadline - time.monotonic())))
        except queue.Empty:
            return False
    return True


def record(http: httpx.Client, contact: int, key: str) -> int:
    at = datetime.now(UTC).isoformat()
    variables = {"i": {"contactId": str(contact), "type": "EMAIL_OPEN", "occurredAt": at,
                       "idempotencyKey": key}}  # fmt: skip
    body = http.post("/graphql", json={"query": RECORD, "variables": variables}).json()
    assert "errors" not in body, body
    return int(body["data"]["recordInteraction"]["scoreDelta"])


def run(size: int, db: Path, key: str, args: argparse.Namespace) -> dict[str, Any]:
    server = segmento_server(db)
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.extend(server.process.stderr or []))
    drain.start()  # an unread stderr pipe would block the server once full
    ctx = mp.get_context("spawn")
    out, expected, stop = ctx.Queue(), ctx.Value("q", -1), ctx.Event()
    rss = {"idle": server.rss_mib(), "peak": 0.0}

    def sample() -> None:
        while not stop.wait(0.2):
            rss["peak"] = max(rss["peak"], server.rss_mib())

    sampler = threading.Thread(target=sample)
    sampler.start()
    shares = [size // args.clients + (i < size % args.clients) for i in range(args.clients)]
    progress = ctx.Array("q", len(shares))
    shared = (out, expected, stop, progress)
    procs = [
        ctx.Process(target=client, args=(i, server.port, key, c, args.deflate, shared))
        for i, c in enumerate(shares)
    ]
    for p in procs:
        p.start()
    stash: list[Any] = []
    result: dict[str, Any] = {"size": size}
    http = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=60)
    try:
        started = time.monotonic()
        if not wait_for(out, "connected", len(procs), 300, stash):
            raise RuntimeError(f"{size} subscribers did not connect within 300 s")
        result["connect_s"] = time.monotonic() - started
        result["connected"] = sum(m[2] for m in stash if m[0] == "connected")
        time.sleep(1)
        for warm in range(30):  # until every subscriber has received one
            record(http, warm % WARM + 1, f"warm-{size}-{warm}")
            if wait_for(out, "warm", len(procs), 2, stash):
                break
        time.sleep(1)
        rss["subscribed"] = server.rss_mib()
        events, sent, writes = args.rate * args.seconds, 0, []
        started = time.monotonic()
        for i in range(events):
            time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
            began = time.perf_counter()
            contact = WARM + 1 + i % (args.contacts - WARM)
            sent += record(http, contact, f"ev-{size}-{i}") != 0
            writes.append((time.perf_counter() - began) * 1000)
        expected.value = sent
        result.update(events=sent, writes=writes)
        last, still = -1, time.monotonic()  # wait for the backlog while it keeps moving
        while not wait_for(out, "done", len(procs), 1, stash):
            if sum(progress) != last:
                last, still = sum(progress), time.monotonic()
            elif time.monotonic() - still > args.settle:
                break
    finally:
        stop.set()
        wait_for(out, "result", len(procs), 60, stash)
        for p in procs:
            p.join(timeout=30)
        http.close()
        sampler.join()
        server.stop()
        drain.join()
    parts = [m[2] for m in stash if m[0] == "result"]
    for name in ("latencies", "received", "failures"):
        result[name] = [x for part in parts for x in part[name]]
    result["latencies"].sort()
    lines = [e.decode(errors="replace").rstrip() for e in errors]
    result["stderr"] = [line for line in lines if "INFO alembic" not in line]
    result["rss"], result["log"] = rss, db.with_suffix(".stderr.log")
    result["log"].write_text("\n".join(result["stderr"]))
    return result


def p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def report(r: dict[str, Any]) -> None:
    lat, size, events = r["latencies"], r["size"], r.get("events", 0)
    full = sum(1 for x in r["received"] if x >= events)
    print(f"\n{size:,} subscribers: {r['connected']:,} connected in {r['connect_s']:.1f} s")
    spread = f"p50 {p(lat, 0.5):.1f} ms  p99 {p(lat, 0.99):.1f} ms  max {p(lat, 1):.1f} ms"
    print(f"  event-to-delivery: {spread}")
    print(
        f"  delivered/expected: {len(lat):,}/{size * events:,} payloads "
        f"({events} events; {full:,} subscribers got all of them)"
    )
    rss, w = r["rss"], sorted(r.get("writes", []))
    memory = f"idle {rss['idle']:.0f}, subscribed {rss.get('subscribed', 0):.0f}"
    print(f"  server RSS MiB: {memory}, peak {rss['peak']:.0f}")
    print(f"  recordInteraction while fanning out: p50 {p(w, 0.5):.1f} ms p99 {p(w, 0.99):.1f} ms")
    for line in r["failures"][:5] + r["stderr"][:8]:
        print(f"  ! {line[:300]}")
    if r["failures"] or r["stderr"]:
        print(f"  ! {len(r['failures'])} client failures; server stderr: {len(r['stderr'])} lines")
        print(f"    in {r['log']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--rate", type=int, default=10, help="events per second")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--settle", type=float, default=10, help="give up after s without progress")
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < max(sizes) + 1000:
        raise SystemExit(f"open files limit {hard} (hard) is too low for {max(sizes)} WebSockets")
    buffer = args.rate * args.seconds + 100
    os.environ.setdefault("SEGMENTO_SUBSCRIBER_BUFFER", str(max(1000, buffer)))
    # all subscribers share one key and connect at once: lift the WebSocket caps past them
    for cap in ("CONNECTIONS", "PENDING", "CONNECTIONS_PER_KEY", "OPERATIONS_PER_KEY"):
        os.environ.setdefault(f"SEGMENTO_WS_MAX_{cap}", str(max(sizes) + 1000))
    work = Path(tempfile.mkdtemp(prefix="segmento-fanout-"))
    key = prepare_database(work / "template.db", args.contacts)
    deflate = "on" if args.deflate else "off"
    print(
        f"{args.rate} events/s for {args.seconds} s; {args.clients} client processes; "
        f"deflate {deflate}; open files {soft} -> {hard} ({work})"
    )
    results = {}
    for size in sizes:
        db = copy_database(work / "template.db", work / f"fanout-{size}.db")
        results[size] = run(size, db, key, args)
        report(results[size])
    print()
    if 1000 in results:
        ok = p(results[1000]["latencies"], 0.99) < 250 and not results[1000]["failures"]
        print(f"  [{'x' if ok else ' '}] 1,000 subscribers: p99 < 250 ms")
    if 5000 in results:
        r = results[5000]
        ok = r["rss"]["peak"] < 1024 and r["connected"] == 5000 and not r["failures"]
        print(f"  [{'x' if ok else ' '}] 5,000 subscribers held under 1 GiB RSS")
    for size, r in results.items():
        ok = len(r["latencies"]) == size * r.get("events", -1) and not r["failures"]
        print(f"  [{'x' if ok else ' '}] {size:,} subscribers: every subscriber got every event")


if __name__ == "__main__":
    main()
