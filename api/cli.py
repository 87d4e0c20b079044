"""The `segmento` command: serve, migrate, export-schema, create-api-key, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from api.bootstrap import graphql_connect, unit_of_work_factory
from api.settings import Settings
from domain.auth import parse_scope
from domain.errors import DomainError
from persistence.db import Database, migrate, normalise_url
from persistence.unit_of_work import UnitOfWorkFactory
from services import auth, tiers
from services.ports import system_clock

if TYPE_CHECKING:
    from starlette.applications import Starlette


def _database(settings: Settings) -> tuple[Database, UnitOfWorkFactory]:
    db = Database(settings.database_url)
    return db, unit_of_work_factory(db)


async def _bootstrap(settings: Settings) -> str | None:
    """After migrating: place contacts that have no tier yet, and on an empty database
    issue the admin key."""
    db, uows = _database(settings)
    try:
        await _place(uows)
        return await auth.bootstrap_admin_key(uows, system_clock())
    finally:
        await db.dispose()


def _workers_refused(settings: Settings, workers: int) -> str | None:
    """Why `--workers N` (N > 1) cannot serve these settings, if it cannot."""
    if workers == 1:
        return None
    if normalise_url(settings.database_url).startswith("sqlite"):
        return (
            f"--workers {workers} needs Postgres (DATABASE_URL=postgresql+asyncpg://…): SQLite "
            "lets one writer in at a time, and a server's writers take turns on a lock of "
            "its own process; several processes on one SQLite file would wait on each "
            "other's locks. Serve a SQLite file from one process (leave out --workers)."
        )
    if settings.broadcast_url.startswith("memory"):
        return (
            f"--workers {workers} needs a broadcast the processes share (BROADCAST_URL="
            "redis://host:6379/0 or postgres://user@host/db): with memory:// each process "
            "hears only its own events, so a subscription served by one worker would miss "
            "the changes made through the others."
        )
    return None


def _freeze() -> None:
    """Everything alive now (modules, schema, app) lives as long as the process: kept out of
    the collector's full passes, which otherwise walk it again and again under load (1.2 s
    of a 10 s re-tier of 200,000 contacts, measured with gc.callbacks)."""
    gc.collect()
    gc.freeze()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    refused = _workers_refused(settings, args.workers)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    migrate(settings.database_url)
    secret = asyncio.run(_bootstrap(settings))
    if secret:
        print(
            "First start: created an admin API key. It is shown only this once:\n\n"
            f"    {secret}\n\nSend it as 'Authorization: Bearer <key>'.",
            flush=True,
        )
    processes = f", {args.workers} worker processes" if args.workers > 1 else ""
    print(
        f"Segmento on http://{args.host}:{args.port}/graphql ({settings.database_url}{processes})",
        flush=True,
    )
    # No per-message deflate: small JSON events gain little from it, and compressing for
    # each subscriber separately cost 15 % of the server's CPU and 40 KiB per connection at
    # 1,000 subscribers (bench/fanout.py, py-spy).
    if args.workers > 1:
        # Migrated and bootstrapped once, here; each worker builds its app from the same
        # environment (worker_app) and, sharing the socket, takes its share of connections.
        os.environ.update(
            DATABASE_URL=settings.database_url,
            BROADCAST_URL=settings.broadcast_url,
            SEGMENTO_MIGRATE_ON_START="0",
        )
        uvicorn.run(
            "api.cli:worker_app", factory=True, workers=args.workers, host=args.host,
            port=args.port, log_level=args.log_level, ws_per_message_deflate=False,
        )  # fmt: skip
        return 0
    app = create_app(Settings(**{**settings.__dict__, "migrate_on_start": False}))
    _freeze()
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level,
        ws_per_message_deflate=False,
    )  # fmt: skip
    return 0


def worker_app() -> Starlette:
    """The app of one worker process of `segmento serve --workers N` (uvicorn calls this by
    name in each process): settings from the environment the parent prepared."""
    from api.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"
    )
    app = create_app(Settings.from_env())
    _freeze()
    return app


async def _place(uows: UnitOfWorkFactory) -> None:
    placed = await tiers.place_unplaced(uows, system_clock())
    if placed:
        print(f"placed {placed} contacts that had no tier yet", flush=True)


async def _place_only(settings: Settings) -> None:
    db, uows = _database(settings)
    try:
        await _place(uows)
    finally:
        await db.dispose()


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    asyncio.run(_place_only(settings))
    print(f"database at head: {settings.database_url}")
    return 0


def cmd_export_schema(_args: argparse.Namespace, _settings: Settings) -> int:
    from api.schema import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


async def _create_key(settings: Settings, name: str, scope: str) -> str:
    db, uows = _database(settings)
    try:
        _key, secret = await auth.create_api_key(uows, name, parse_scope(scope), system_clock())
        return secret
    finally:
        await db.dispose()


def cmd_create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    secret = asyncio.run(_create_key(settings, args.name, args.scope))
    print(secret)
    print(f"(API key '{args.name}' with scope {args.scope}; shown once)", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from services.demo import load_demo
    from services.demo_stream import StreamRefused, stream_demo

    migrate(settings.database_url)
    db, uows = _database(settings)

    async def run() -> None:
        try:
            summary = await load_demo(
                uows, system_clock(), args.contacts, args.companies, args.seed
            )
            print(summary, flush=True)
            if args.stream:  # through the server, so that its live subscribers see it all
                sent = await stream_demo(
                    uows, system_clock, args.url, args.rate, args.key, args.limit,
                    connect=graphql_connect(),
                )  # fmt: skip
                print(f"demo stream: {sent} interactions recorded")
        finally:
            await db.dispose()

    try:
        asyncio.run(run())
    except StreamRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("demo stream stopped", file=sys.stderr)
    return 0


def cmd_decay(_args: argparse.Namespace, settings: Settings) -> int:
    from services.decay import run_decay

    migrate(settings.database_url)
    db, uows = _database(settings)

    async def run() -> None:
        try:
            result = await run_decay(uows, system_clock())
            print(
                f"decay (policy v{result.policy_version}): {result.contacts_changed} contacts "
                f"changed, {result.points} points"
            )
        finally:
            await db.dispose()

    asyncio.run(run())
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segmento", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve GraphQL on /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers", type=_positive, default=1,
        help="server processes sharing the port (Postgres and a shared BROADCAST_URL only)",
    )  # fmt: skip
    serve.set_defaults(run=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=cmd_export_schema
    )
    key = sub.add_parser("create-api-key", help="issue an API key (printed once)")
    key.add_argument("--name", required=True)
    key.add_argument("--scope", default="read", help="read, write or admin")
    key.set_defaults(run=cmd_create_api_key)
    sub.add_parser(
        "decay", help="apply score decay now (the server also runs it hourly)"
    ).set_defaults(run=cmd_decay)
    demo = sub.add_parser("demo", help="load a realistic Italian sample")
    demo.add_argument("--contacts", type=int, default=2000)
    demo.add_argument("--companies", type=int, default=200)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--stream", action="store_true", help="then keep recording interactions")
    demo.add_argument("--rate", type=float, default=5.0, help="interactions a second (--stream)")
    demo.add_argument("--url", default="http://127.0.0.1:8000/graphql", help="server (--stream)")
    demo.add_argument(
        "--key",
        default=os.environ.get("SEGMENTO_KEY"),
        help="a write key (default: $SEGMENTO_KEY, else one issued for the stream and revoked)",
    )
    demo.add_argument("--limit", type=int, help="stop after this many interactions (--stream)")
    demo.set_defaults(run=cmd_demo)
    _add_csv_commands(sub)
    return parser


def _add_csv_commands(sub: Any) -> None:
    imp = sub.add_parser("import", help="create or update contacts from a CSV file, by email")
    imp.add_argument("file", help="CSV with a header line (UTF-8; , ; or tab); - for stdin")
    imp.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="read COLUMN as contact FIELD ('-' skips the column); repeatable",
    )
    imp.add_argument("--strict", action="store_true", help="store nothing if any row is bad")
    imp.add_argument("--dry-run", action="store_true", help="check and count; store nothing")
    imp.set_defaults(run=cmd_import)
    exp = sub.add_parser("export", help="write the contacts matching a filter as CSV")
    exp.add_argument("--filter", help="a ContactFilter as JSON, as the contacts query takes it")
    exp.add_argument("--list", type=int, help="only the members of this list (by id)")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument(
        "--raw",
        action="store_true",
        help="write cells as stored: no ' before cells a spreadsheet would run as formulas",
    )
    exp.set_defaults(run=cmd_export)


class ProgressBar:
    """A one-line text bar on stderr, redrawn per chunk."""

    def __init__(self, total: int | None, unit: str = "rows") -> None:
        self.total, self.unit, self.drawn = total, unit, False

    def __call__(self, done: int) -> None:
        if self.total:
            filled = int(30 * min(done / self.total, 1))
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,} {self.unit}"
        else:
            bar = f"{done:,} {self.unit}"
        sys.stderr.write(f"\r{bar}")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")


def _csv_lines(path: str) -> Any:
    if path == "-":
        return contextlib.nullcontext(sys.stdin)
    return open(path, encoding="utf-8-sig", newline="")


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from domain.csv_rows import records
    from services import csv_io

    pairs = [tuple(m.split("=", 1)) if "=" in m else (m, "") for m in args.map]
    try:
        with _csv_lines(args.file) as lines:  # first pass: count rows, for the bar
            total = None if args.file == "-" else max(sum(1 for _ in records(lines)) - 1, 0)
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    migrate(settings.database_url)
    db, uows = _database(settings)
    bar = ProgressBar(total)

    async def run() -> csv_io.ImportReport:
        try:
            with _csv_lines(args.file) as lines:
                return await csv_io.import_contacts(
                    uows, lines, system_clock(), mapping=pairs, strict=args.strict,
                    dry_run=args.dry_run, progress=bar,
                )  # fmt: skip
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    finally:
        bar.close()
    print("\n".join(_report_lines(args.file, report)))
    return 1 if report.rejected or report.file_refused else 0


def _report_lines(name: str, r: Any) -> list[str]:
    if r.applied:
        outcome = "stored in one transaction"
    elif r.file_refused:
        outcome = "nothing stored: the header has problems"
    elif r.dry_run:
        outcome = "dry run: nothing stored"
    else:
        outcome = f"strict: nothing stored, {r.rejected} bad rows"
    lines = [f"{name}: {r.rows} rows: {r.created} created, {r.updated} updated, "
             f"{r.unchanged} unchanged, {r.rejected} rejected; {outcome}"]  # fmt: skip
    if r.skipped_columns:
        lines.append(f"skipped columns: {', '.join(r.skipped_columns)}")
    lines += [f"line {p.line}: {p.message}" for p in r.problems]
    return lines


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from api.export import parse_filter
    from api.schema import build_schema
    from services import csv_io
    from services.chunks import CHUNK

    where = parse_filter(args.filter, build_schema())
    migrate(settings.database_url)
    db, uows = _database(settings)

    async def run(out: Any) -> int:
        try:
            now = system_clock()
            total, pieces = await csv_io.export_selection(uows, args.list, where, now, raw=args.raw)
            bar = ProgressBar(total)
            async for done, piece in aenumerate(pieces):
                out.write(piece)
                bar(min(done * CHUNK, total))
            bar.close()
            return total
        finally:
            await db.dispose()

    target = open(args.out, "w", encoding="utf-8", newline="") if args.out else None  # noqa: SIM115
    with target or contextlib.nullcontext(sys.stdout) as out:
        total = asyncio.run(run(out))
    print(f"exported {total:,} contacts to {args.out or 'stdout'}", file=sys.stderr)
    return 0


async def aenumerate(items: AsyncIterator[str]) -> AsyncIterator[tuple[int, str]]:
    """(0, header), (1, first chunk)…"""
    index = 0
    async for item in items:
        yield index, item
        index += 1


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args, Settings.from_env()))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
