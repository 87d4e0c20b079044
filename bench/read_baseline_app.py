"""The baselines of bench/read.py: the contacts page and the contact card as two plain
Starlette endpoints with no GraphQL, running the SQL Segmento runs (bench/read_queries.py)
and answering the same JSON body byte for byte in meaning.

- `app` ("plain"): through the product's own `persistence.db.Database` (SQLAlchemy async
  engine, `text()` statements, one connection per request);
- `bare_app` ("bare"): on the driver alone, stdlib sqlite3 called inline on the event loop
  (one connection, as persistence/sqlite_inline.py does) or an asyncpg pool of 10.

GET /page?n=N&first=F and GET /card/{id}; `Authorization: Bearer $READ_BENCH_KEY` required.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.read_queries import (
    COMPANY,
    COMPANY_NAMES,
    SQL,
    C,
    P,
    Schemes,
    card_body,
    page_body,
    positional,
)
from persistence.db import Database, normalise_url, sqlite_path

URL = normalise_url(os.environ["DATABASE_URL"])
AUTH = f"Bearer {os.environ['READ_BENCH_KEY']}"
Rows = Sequence[Sequence[Any]]
CARD_PARTS = ("ledger", "history", "tags", "lists", "members")


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _refused(request: Request) -> Response | None:
    if request.headers.get("authorization") != AUTH:
        return Response(b'{"errors":[{"message":"bad key"}]}', 401)
    return None


def endpoints(page: Callable[[int, int], Any], card: Callable[[int], Any]) -> list[Route]:
    async def page_route(request: Request) -> Response:
        refused = _refused(request)
        params = request.query_params
        return refused or _json(await page(int(params["n"]), int(params["first"])))

    async def card_route(request: Request) -> Response:
        refused = _refused(request)
        return refused or _json(await card(int(request.path_params["id"])))

    return [Route("/page", page_route), Route("/card/{id:int}", card_route)]


# --- plain: SQLAlchemy through the product's Database -------------------------------------

db: Database = None  # type: ignore[assignment]  # made by __getattr__("app")
STATEMENTS = {name: text(sql) for name, sql in SQL.items()}
COMPANIES = text(COMPANY.format(ids="IN :ids")).bindparams(bindparam("ids", expanding=True))
# A page's company names: the list bound as one parameter, as Segmento binds it
# (persistence/direct.py `one_of`): a JSON array read by json_each, or an array for = ANY.
NAMES = {
    "sqlite": text(COMPANY_NAMES.format(ids="IN (SELECT value FROM json_each(:ids))")),
    "postgresql": text(COMPANY_NAMES.format(ids="= ANY(:ids)")),
}


def _ids(dialect: str, ids: list[int]) -> Any:
    return json.dumps(ids) if dialect == "sqlite" else ids


schemes = Schemes()


async def plain_page(n: int, first: int) -> bytes:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(STATEMENTS["page"], {"n": n, "limit": first + 1})).all()
        ids = sorted({r[P["company_id"]] for r in rows[:first]} - {None})
        dialect = conn.dialect.name
        found = await conn.execute(NAMES[dialect], {"ids": _ids(dialect, ids)}) if ids else None
        companies = found.all() if found is not None else []
    return page_body(rows, first, {c[0]: c for c in companies})


async def plain_card(cid: int) -> bytes:
    async with db.engine.connect() as conn:
        contact = (await conn.execute(STATEMENTS["contact"], {"id": cid})).first()
        if contact is None:
            return card_body(None, {}, None, {})
        rows = {
            p: (await conn.execute(STATEMENTS[p], {} if p == "lists" else {"id": cid})).all()
            for p in CARD_PARTS
        }
        version = (await conn.execute(STATEMENTS["version"])).scalar_one()
        if not schemes.fresh(version):
            schemes.load(version, (await conn.execute(STATEMENTS["scheme"])).one()[1])
        company = None
        if contact[C["company_id"]] is not None:
            found = await conn.execute(COMPANIES, {"ids": [contact[C["company_id"]]]})
            company = found.first()
    return card_body(contact, rows, company, schemes.names)


@asynccontextmanager
async def plain_lifespan(_app: Starlette) -> AsyncIterator[None]:
    yield
    await db.dispose()


# --- bare: the driver alone ----------------------------------------------------------------


class BareSqlite:
    """One sqlite3 connection, called inline: each request's reads run without a pause."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.sql = {name: positional(sql, "qmark") for name, sql in SQL.items()}
        self.schemes = Schemes()

    def rows(self, name: str, *params: Any) -> Rows:
        return self.conn.execute(self.sql[name], params).fetchall()

    async def page(self, n: int, first: int) -> bytes:
        rows = self.rows("page", n, first + 1)
        ids = sorted({r[P["company_id"]] for r in rows[:first]} - {None})
        sql = COMPANY_NAMES.format(ids="IN (SELECT value FROM json_each(?))")
        companies = self.conn.execute(sql, (json.dumps(ids),)).fetchall() if ids else []
        return page_body(rows, first, {c[0]: c for c in companies})

    async def card(self, cid: int) -> bytes:
        found = self.rows("contact", cid)
        if not found:
            return card_body(None, {}, None, {})
        contact = found[0]
        rows = {p: self.rows(p, cid) for p in CARD_PARTS if p != "lists"}
        rows["lists"] = self.rows("lists")
        version = self.rows("version")[0][0]
        if not self.schemes.fresh(version):
            self.schemes.load(version, self.rows("scheme")[0][1])
        company = None
        if contact[C["company_id"]] is not None:
            sql = COMPANY.format(ids="IN (?)")
            company = self.conn.execute(sql, (contact[C["company_id"]],)).fetchone()
        return card_body(contact, rows, company, self.schemes.names)


class BarePostgres:
    """An asyncpg pool of 10 (the product's pool size); one connection per request."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+asyncpg://", "postgresql://")
        self.sql = {name: positional(sql, "numeric") for name, sql in SQL.items()}
        self.companies = COMPANY.format(ids="= ANY($1::int[])")
        self.names = COMPANY_NAMES.format(ids="= ANY($1::int[])")
        self.schemes = Schemes()
        self.pool: asyncpg.Pool | None = None

    async def page(self, n: int, first: int) -> bytes:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(self.sql["page"], n, first + 1)
            ids = sorted({r[P["company_id"]] for r in rows[:first]} - {None})
            companies = await conn.fetch(self.names, ids) if ids else []
        return page_body(rows, first, {c[0]: c for c in companies})

    async def card(self, cid: int) -> bytes:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            contact = await conn.fetchrow(self.sql["contact"], cid)
            if contact is None:
                return card_body(None, {}, None, {})
            rows = {p: await conn.fetch(self.sql[p], cid) for p in CARD_PARTS if p != "lists"}
            rows["lists"] = await conn.fetch(self.sql["lists"])
            version = await conn.fetchval(self.sql["version"])
            if not self.schemes.fresh(version):
                self.schemes.load(version, (await conn.fetchrow(self.sql["scheme"]))[1])
            company = None
            if contact[C["company_id"]] is not None:
                found = await conn.fetch(self.companies, [contact[C["company_id"]]])
                company = found[0] if found else None
        return card_body(contact, rows, company, self.schemes.names)


def _bare() -> Starlette:
    path = sqlite_path(URL)
    driver: BareSqlite | BarePostgres = (
        BareSqlite(str(path)) if path is not None else BarePostgres(URL)
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if isinstance(driver, BarePostgres):
            driver.pool = await asyncpg.create_pool(driver.url, min_size=1, max_size=10)
        yield
        if isinstance(driver, BarePostgres) and driver.pool is not None:
            await driver.pool.close()

    return Starlette(routes=endpoints(driver.page, driver.card), lifespan=lifespan)


def __getattr__(name: str) -> Starlette:
    """`app` or `bare_app`, made when uvicorn asks for it (each opens its own database)."""
    global db
    if name == "app":
        db = Database(URL)
        return Starlette(routes=endpoints(plain_page, plain_card), lifespan=plain_lifespan)
    if name == "bare_app":
        return _bare()
    raise AttributeError(name)
