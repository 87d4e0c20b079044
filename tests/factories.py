"""Helpers to talk GraphQL over HTTP in tests, and to build inputs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from persistence.tables import metadata

GRAPHQL_RESPONSE = "application/graphql-response+json"


@asynccontextmanager
async def served(
    settings: Settings, clock: Any, **options: Any
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """An app made with `settings` (and `create_app`'s `options`) and an HTTP client on it
    over ASGI; its database is disposed of when the block ends."""
    app = create_app(settings, clock=clock, **options)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://segmento.test") as c:
            yield app, c
    finally:
        await app.state.db.dispose()


class GraphQLResult:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.body: dict[str, Any] = response.json()

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> Any:
        assert not self.errors, self.errors
        return self.data


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    accept: str | None = None,
) -> GraphQLResult:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    if accept:
        headers["accept"] = accept
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    return GraphQLResult(response)


def contact_input(email: str, **fields: Any) -> dict[str, Any]:
    return {"email": email, **fields}


async def traces(uows, needles) -> list[str]:
    """Every text and JSON value of every table that mentions one of the needles (all
    columns are read: SQLModel's string columns are TypeDecorators, not String)."""
    found: list[str] = []
    async with uows() as uow:
        for table in metadata.sorted_tables:
            for row in (await uow.conn.execute(select(table))).all():
                for col, value in zip(table.columns, row, strict=True):
                    if isinstance(value, dict | list):
                        value = json.dumps(value)
                    if not isinstance(value, str):
                        continue
                    hits = [n for n in needles if n.lower() in value.lower()]
                    if hits:
                        found.append(f"{table.name}.{col.name}: {hits}")
    return found
