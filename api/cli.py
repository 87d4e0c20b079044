"""The `segmento` command: serve, migrate, export-schema, create-api-key, demo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence

from api.settings import Settings
from domain.auth import parse_scope
from domain.errors import DomainError
from persistence.db import Database, migrate
from persistence.unit_of_work import UnitOfWorkFactory
from services import auth, tiers
from services.ports import system_clock


def _database(settings: Settings) -> tuple[Database, UnitOfWorkFactory]:
    db = Database(settings.database_url)
    return db, UnitOfWorkFactory(db)


async def _bootstrap(settings: Settings) -> str | None:
    """After migrating: place contacts that have no tier yet, and on an empty database
    issue the admin key."""
    db, uows = _database(settings)
    try:
        await _place(uows)
        return await auth.bootstrap_admin_key(uows, system_clock())
    finally:
        await db.dispose()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    migrate(settings.database_url)
    secret = asyncio.run(_bootstrap(settings))
    if secret:
        print(
            "First start: created an admin API key. It is shown only this once:\n\n"
            f"    {secret}\n\nSend it as 'Authorization: Bearer <key>'.",
            flush=True,
        )
    print(
        f"Segmento on http://{args.host}:{args.port}/graphql ({settings.database_url})", flush=True
    )
    app = create_app(Settings(**{**settings.__dict__, "migrate_on_start": False}))
    # Everything alive now (modules, schema, app) lives as long as the process: kept out of
    # the collector's full passes, which otherwise walk it again and again under load
    # (1.2 s of a 10 s re-tier of 200,000 contacts, measured with gc.callbacks).
    gc.collect()
    gc.freeze()
    # No per-message deflate: small JSON events gain little from it, and compressing for
    # each subscriber separately cost 15 % of the server's CPU and 40 KiB per connection at
    # 1,000 subscribers (bench/fanout.py, py-spy).
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level,
        ws_per_message_deflate=False,
    )  # fmt: skip
    return 0


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

    migrate(settings.database_url)
    db, uows = _database(settings)

    async def run() -> None:
        try:
            summary = await load_demo(
                uows, system_clock(), args.contacts, args.companies, args.seed
            )
            print(summary)
        finally:
            await db.dispose()

    asyncio.run(run())
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segmento", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, then serve GraphQL on /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
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
    demo.set_defaults(run=cmd_demo)
    return parser


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
