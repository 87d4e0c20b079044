"""List-membership benchmark (run by hand: `.venv/bin/python -m bench.membership`).

100,000 contacts on SQLite and 100 dynamic lists with varied filters (score, region, tier,
source, funnel stage, tag points, activity). Then:

1. the time a write adds to decide list membership for the contact it changed: 2,000
   single interactions recorded through the same service the API uses, with the decision
   (`services.lists.watched` + `services.lists.decide`: read the definitions' stamp and the
   contact's stored memberships, run 100 predicates) timed inside each write (target p99
   < 1 ms), then recording what changed (`services.lists.record`: member rows and events;
   a write that moves a contact into 40 overlapping lists writes 40 of each); the whole
   write's latency with and without the 100 lists;
2. the full membership count query of each list (`list.count`: the list's filter compiled
   to SQL over all contacts).

The reference to beat is Mautic, whose segments are rebuilt by a cron job over the whole
contact base (minutes to hours on large bases): here membership is current at the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api.bootstrap import unit_of_work_factory
from bench.common import REGIONS, prepare_database
from bench.retier import enrich, place_everyone
from domain.filters import ContactFilter, TagPoints
from domain.lists import ListKind
from persistence.db import Database
from persistence.unit_of_work import UnitOfWorkFactory
from services import interactions, lists, tags
from services.contacts import count_contacts
from services.interactions import InteractionInput

TYPES = ["PAGE_VIEW", "EMAIL_OPEN", "EMAIL_CLICK", "WHITE_PAPER_DOWNLOAD", "DEMO_REQUEST"]


def list_filters(count: int, tag: str = "interesse-prodotto") -> list[ContactFilter]:
    """`count` dynamic-list filters of six shapes (score, score and region, tier, source or
    funnel stage with score, tag points of `tag`, recent activity outside a region)."""
    rng = random.Random(11)
    out: list[ContactFilter] = []
    for n in range(count):
        shape = n % 6
        if shape == 0:
            node = ContactFilter(score_above=rng.randint(10, 100))
        elif shape == 1:
            node = ContactFilter(
                score_above=rng.randint(0, 60), region_in=tuple(rng.sample(REGIONS, 2))
            )
        elif shape == 2:
            node = ContactFilter(tier_in=(rng.choice(["Tier 2", "Tier 2+"]),))
        elif shape == 3:
            node = ContactFilter(
                any_of=(
                    ContactFilter(source_in=("EVENT", "REFERRAL")),
                    ContactFilter(funnel_stage_in=("DECISION",)),
                ),
                score_above=rng.randint(0, 40),
            )
        elif shape == 4:
            node = ContactFilter(tag_points=(TagPoints(tag, rng.randint(1, 3)),))
        else:
            node = ContactFilter(
                last_activity_within_days=rng.choice([7, 30, 90]),
                not_=ContactFilter(region_in=(rng.choice(REGIONS),)),
            )
        out.append(node)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def writes(uows: UnitOfWorkFactory, contacts: int, count: int, seed: int) -> list[float]:
    """`count` single-interaction writes; returns each write's latency in ms."""
    rng = random.Random(seed)
    latencies = []
    base = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(count):
        item = InteractionInput(
            type=rng.choice(TYPES), occurred_at=base, idempotency_key=f"m{seed}-{n}",
            contact_id=rng.randint(1, contacts),
        )  # fmt: skip
        started = time.perf_counter()
        await interactions.record_interactions(uows, [item], datetime.now(UTC))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def timed(
    fn: Callable[..., Awaitable[Any]], sinks: tuple[list[float], list[float]], combine: bool
) -> Callable[..., Awaitable[Any]]:
    """Wraps a step of the write; records its wall time and the CPU time this thread
    spent in it (the latter is what the step costs when the machine is not shared)."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return await fn(*args, **kwargs)
        finally:
            took = ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
            for sink, value in zip(sinks, took, strict=True):
                if combine and sink:
                    sink[-1] += value
                else:
                    sink.append(value)

    return wrapper


async def run(db_path: Path, contacts: int, list_count: int, count: int) -> None:
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    uows = unit_of_work_factory(database)
    now = datetime.now(UTC)
    try:
        await tags.create_tag(uows, "Interesse prodotto", "interesse-prodotto", None, now)
        await writes(uows, contacts, 200, 1)  # warm-up
        without = await writes(uows, contacts, count, 2)
        started = time.perf_counter()
        for n, node in enumerate(list_filters(list_count)):
            await lists.create_list(uows, f"bench list {n}", ListKind.DYNAMIC, node, None, now)
        created = time.perf_counter() - started
        spent: list[float] = []
        cpu: list[float] = []
        stored: list[float] = []
        stored_cpu: list[float] = []
        original = lists.watched, lists.decide, lists.record
        lists.watched = timed(original[0], (spent, cpu), False)  # type: ignore[assignment]
        lists.decide = timed(original[1], (spent, cpu), True)  # type: ignore[assignment]
        lists.record = timed(original[2], (stored, stored_cpu), False)  # type: ignore[assignment]
        try:
            await writes(uows, contacts, 200, 3)  # warm-up with lists
            for sink in (spent, cpu, stored, stored_cpu):
                sink.clear()
            with_lists = await writes(uows, contacts, count, 4)
        finally:
            lists.watched, lists.decide, lists.record = original
        all_lists = await lists.all_lists(uows)
        counts, sizes = [], []
        for lst in all_lists:
            started = time.perf_counter()
            sizes.append(await count_contacts(uows, None, datetime.now(UTC), lst))
            counts.append((time.perf_counter() - started) * 1000)
    finally:
        await database.dispose()

    print(f"\n{contacts:,} contacts, {list_count} dynamic lists "
          f"(created and filled in {created:.1f} s)")  # fmt: skip
    print(f"membership decision per write ({len(spent):,} writes): "
          f"p50 {pct(spent, 0.5):.3f} ms, p99 {pct(spent, 0.99):.3f} ms, "
          f"max {max(spent):.3f} ms   (target p99 < 1 ms)")  # fmt: skip
    print(f"  the same, CPU time of the step: p50 {pct(cpu, 0.5):.3f} ms, "
          f"p99 {pct(cpu, 0.99):.3f} ms, max {max(cpu):.3f} ms")  # fmt: skip
    print(f"recording the changes it found (rows + events): p50 {pct(stored, 0.5):.3f} ms, "
          f"p99 {pct(stored, 0.99):.3f} ms, max {max(stored):.3f} ms")  # fmt: skip
    together = [a + b for a, b in zip(spent, stored, strict=True)]
    print(f"deciding + recording: p50 {pct(together, 0.5):.3f} ms, "
          f"p99 {pct(together, 0.99):.3f} ms")  # fmt: skip
    print(f"whole write, no lists:  p50 {pct(without, 0.5):.2f} ms, "
          f"p99 {pct(without, 0.99):.2f} ms")  # fmt: skip
    print(f"whole write, 100 lists: p50 {pct(with_lists, 0.5):.2f} ms, "
          f"p99 {pct(with_lists, 0.99):.2f} ms")  # fmt: skip
    print(f"list.count over all contacts, per list: p50 {statistics.median(counts):.1f} ms, "
          f"p99 {pct(counts, 0.99):.1f} ms, max {max(counts):.1f} ms; "
          f"members p50 {int(statistics.median(sizes)):,}, max {max(sizes):,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=100)
    parser.add_argument("--writes", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "membership.db"
        prepare_database(db, args.contacts)
        enrich(db, args.contacts)
        rate = place_everyone(db)
        print(f"placed {args.contacts:,} contacts ({rate:,.0f}/s)")
        asyncio.run(run(db, args.contacts, args.lists, args.writes))


if __name__ == "__main__":
    main()
