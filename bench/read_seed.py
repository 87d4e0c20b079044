"""The database of bench/read.py: contacts with companies, tags, lists, a score ledger and a
tier history, on SQLite or Postgres. Rows go in by plain executemany (SQLite) or COPY
(Postgres) after the product's migrations; the product itself then places every contact
(tier, segment, lead status and their first tier_change rows), as `segmento serve` would."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text

from api.bootstrap import unit_of_work_factory
from bench.common import REGIONS
from domain.auth import Scope
from persistence.db import Database, migrate, normalise_url, sqlite_path
from services import tiers
from services.auth import create_api_key

FIRST = ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo", "Sara", "Andrea", "Elena"]
LAST = ["Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo"]
JOBS = ["CTO", "Head of Marketing", "Buyer", "Engineer", "CEO", "Analyst", None]
SECTORS = ["Manufacturing", "Retail", "Software", "Logistics", "Food", "Energy"]
CITIES = ["Roma", "Milano", "Napoli", "Torino", "Venezia", "Firenze", "Palermo", "Bari"]
KINDS = ["CLIENT", "PROSPECT", "PARTNER", "SUPPLIER", "OTHER"]
SOURCES = ["WEB", "EVENT", "REFERRAL", "IMPORT", "EMAIL", "SOCIAL", "PAID_ADS", "PARTNER"]
STAGES = ["AWARENESS", "CONSIDERATION", "DECISION"]
TIERS = ["Tier 1", "Tier 2", "Tier 2+"]
SEGMENTS = ["C", "D", "E", "F"]
TAGS, LISTS = 40, 20


@dataclass
class Rows:
    """Rows per table, in column order (datetimes as aware UTC values)."""

    columns: dict[str, Sequence[str]]
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


COLUMNS: dict[str, Sequence[str]] = {
    "company": ("id", "name", "company_type", "sector", "size", "region", "city", "country",
                "website", "created_at", "updated_at"),
    "tag": ("id", "name", "code", "description", "created_at"),
    "contact_list": ("id", "name", "description", "kind", "filter", "created_at", "updated_at"),
    "contact": ("id", "email", "first_name", "last_name", "job_title", "contact_type", "source",
                "funnel_stage", "sector", "region", "city", "country", "company_id",
                "custom_attributes", "consent_email", "consent_profiling", "score", "created_at",
                "updated_at", "last_activity_at"),
    "contact_tag": ("contact_id", "tag_id", "points", "first_at", "last_at"),
    "list_member": ("list_id", "contact_id", "added_at"),
    "score_entry": ("contact_id", "reason", "label", "points", "rule_id", "comment", "at",
                    "created_at"),
    "tier_change": ("contact_id", "kind", "from_value", "to_value", "version", "reason", "at"),
}  # fmt: skip


def generate(contacts: int, companies: int, rules: list[tuple[int, str, int]]) -> Rows:
    """Deterministic rows; every contact's score is the sum of its ledger entries."""
    rng = random.Random(15)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=400)
    t: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
    for i in range(1, companies + 1):
        t["company"].append(
            (i, f"Company {i:05d}", KINDS[i % 5], SECTORS[i % 6], 10 + i % 500,
             REGIONS[i % 8], CITIES[i % 8], "IT", f"https://company{i}.example", start, start)
        )  # fmt: skip
    for i in range(1, TAGS + 1):
        t["tag"].append((i, f"Interest {i:02d}", f"interest-{i:02d}", None, start))
    for i in range(1, LISTS + 1):
        t["contact_list"].append((i, f"List {i:02d}", None, "STATIC", None, start, start))
    for cid in range(1, contacts + 1):
        created = start + timedelta(seconds=rng.randrange(60 * 86400))
        at, score = created, 0
        for _ in range(rng.randrange(25)):
            at += timedelta(seconds=rng.randrange(1, 10 * 86400))
            if rng.random() < 0.1:
                points = rng.choice([-10, -5, 5, 10, 20])
                t["score_entry"].append(
                    (cid, "MANUAL", "Manual adjustment", points, None, "sales call", at, at)
                )
            else:
                rule_id, label, points = rng.choice(rules)
                t["score_entry"].append((cid, "RULE", label, points, rule_id, None, at, at))
            score += points
        for tag in rng.sample(range(1, TAGS + 1), rng.randrange(6)):
            t["contact_tag"].append((cid, tag, rng.randrange(1, 12), created, at))
        for lst in rng.sample(range(1, LISTS + 1), rng.randrange(4)):
            t["list_member"].append((lst, cid, created))
        tier, segment, changed = None, None, created
        for k in range(rng.randrange(7)):
            changed += timedelta(seconds=rng.randrange(1, 5 * 86400))
            if k % 2 == 0:
                new = rng.choice([x for x in TIERS if x != tier])
                t["tier_change"].append((cid, "TIER", tier, new, 1, f"band {new}", changed))
                tier = new
            else:
                new = rng.choice([x for x in SEGMENTS if x != segment])
                t["tier_change"].append((cid, "SEGMENT", segment, new, 1, "first match", changed))
                segment = new
        company = rng.randrange(1, companies + 1) if rng.random() < 0.9 else None
        t["contact"].append(
            (cid, f"lead{cid}@bench.it", rng.choice(FIRST), rng.choice(LAST), rng.choice(JOBS),
             rng.choice(KINDS), rng.choice(SOURCES), rng.choice(STAGES), rng.choice(SECTORS),
             REGIONS[cid % 8], rng.choice(CITIES), "IT", company, "{}", True, cid % 3 == 0,
             score, created, max(at, changed), at if at > created else None)
        )  # fmt: skip
    return Rows(COLUMNS, t)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's storage format for DateTime on SQLite
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    return value


def _naive(row: tuple[Any, ...]) -> Iterator[Any]:
    for value in row:
        yield value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def _sqlite_insert(path: str, rows: Rows) -> None:
    with sqlite3.connect(path) as conn:
        for table, data in rows.tables.items():
            cols = rows.columns[table]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in data))


async def _postgres_insert(url: str, rows: Rows) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for table, data in rows.tables.items():
                records = [tuple(_naive(row)) for row in data]
                await conn.copy_records_to_table(
                    table, records=records, columns=list(rows.columns[table])
                )
            for table in ("company", "tag", "contact_list", "contact"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    finally:
        await conn.close()


async def _reset_postgres(url: str) -> None:
    """Create the database if absent (never the shared `test` one), else empty it."""
    base, name = url.rsplit("/", 1)
    if name in ("test", "postgres", ""):
        raise SystemExit(f"refusing to use database {name!r}: give one for this bench")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def driver_url(url: str) -> str:
    """The URL asyncpg takes (no +asyncpg)."""
    return normalise_url(url).replace("postgresql+asyncpg://", "postgresql://")


async def _rules(db: Database) -> list[tuple[int, str, int]]:
    async with db.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, name, points FROM scoring_rule WHERE status = 'ACTIVE' ORDER BY id")
        )
        return [(r[0], r[1], r[2]) for r in result]


def seed(url: str, contacts: int, companies: int) -> str:
    """Migrate and fill the database at `url`; returns a read-scope API key."""
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        asyncio.run(_reset_postgres(driver_url(url)))
    migrate(url)

    async def fill() -> str:
        db = Database(url)
        try:
            rows = generate(contacts, companies, await _rules(db))
            if path is not None:
                await asyncio.to_thread(_sqlite_insert, str(path), rows)
            else:
                await _postgres_insert(driver_url(url), rows)
            uows = unit_of_work_factory(db)
            await tiers.place_unplaced(uows, datetime.now(UTC))
            if path is None:  # as autovacuum would after a bulk load
                async with db.engine.connect() as conn:
                    await conn.execute(text("ANALYZE"))
                    await conn.commit()
            _, secret = await create_api_key(uows, "bench-read", Scope.READ, datetime.now(UTC))
            return secret
        finally:
            await db.dispose()

    return asyncio.run(fill())


def describe(url: str) -> tuple[dict[str, int], int]:
    """Rows per table, and the median score (the page's `scoreAbove`: half the contacts)."""

    async def run() -> tuple[dict[str, int], int]:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                counts = {
                    t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                    for t in ("contact", "company", "contact_tag", "list_member", "score_entry",
                              "tier_change")
                }  # fmt: skip
                median = await conn.execute(
                    text("SELECT score FROM contact ORDER BY score LIMIT 1 OFFSET :half"),
                    {"half": counts["contact"] // 2},
                )
                return counts, int(median.scalar_one())
        finally:
            await db.dispose()

    return asyncio.run(run())


if __name__ == "__main__":  # to profile by hand: python -m bench.read_seed URL [CONTACTS]
    import sys

    print(seed(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000, 2_000))
    print(describe(sys.argv[1]))
