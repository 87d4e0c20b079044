"""Prepared queries (api/prepared.py): a query text answered before runs the short way, and
every refusal or error on it reads exactly as on the full way, which then answers it."""

from __future__ import annotations

from typing import Any

import httpx

from api.settings import Settings
from tests.factories import gql, served

PAGE = """query($first: Int!) { contacts(first: $first, orderBy: {field: EMAIL, direction: ASC})
  { edges { cursor node { id email company { name } } } totalCount } }"""
CONTACT = "query($id: ID!) { contact(id: $id) { id email } }"


def _runs(app: Any) -> dict[str, int]:
    return dict(app.state.prepared.runs)


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.headers["content-type"], a.json()) == (
        b.status_code,
        b.headers["content-type"],
        b.json(),
    )


async def _contacts(client: httpx.AsyncClient, key: str, n: int) -> None:
    for i in range(n):
        made = await gql(
            client,
            "mutation($e: String!) { createContact(input: {email: $e}) { id } }",
            {"e": f"p{i}@x.it"},
            key=key,
        )
        made.ok()


async def test_a_query_answered_before_runs_the_short_way_with_the_same_answer(
    app, client, write_key
):
    await _contacts(client, write_key, 3)
    for accept in (None, "application/graphql-response+json"):
        full = await gql(client, PAGE, {"first": 2}, key=write_key, accept=accept)
        before = _runs(app)
        short = await gql(client, PAGE, {"first": 2}, key=write_key, accept=accept)
        assert _runs(app)["prepared"] == before["prepared"] + 1
        _same(full.response, short.response)
        assert len(short.ok()["contacts"]["edges"]) == 2


async def test_refusals_on_a_prepared_text_read_as_on_the_full_way(app, client, read_key):
    await gql(client, PAGE, {"first": 1}, key=read_key)  # now prepared
    before = _runs(app)
    anonymous = await gql(client, PAGE, {"first": 1})
    wrong_key = await gql(client, PAGE, {"first": 1}, key="sk_nope")
    wrong_type = await gql(client, PAGE, {"first": "many"}, key=read_key)
    assert anonymous.codes == ["UNAUTHENTICATED"] and wrong_key.codes == ["UNAUTHENTICATED"]
    assert wrong_type.codes == ["BAD_USER_INPUT"]
    assert _runs(app)["prepared"] == before["prepared"]


async def test_an_error_on_the_short_way_is_answered_by_the_full_way(app, client, write_key):
    missing_first = await gql(client, CONTACT, {"id": "999"}, key=write_key)
    assert missing_first.codes == ["NOT_FOUND"]
    await _contacts(client, write_key, 1)
    (await gql(client, CONTACT, {"id": "1"}, key=write_key)).ok()  # now prepared
    before = _runs(app)
    missing_again = await gql(client, CONTACT, {"id": "999"}, key=write_key)
    assert _runs(app)["gave_up"] == before["gave_up"] + 1
    _same(missing_first.response, missing_again.response)


async def test_the_cost_budget_holds_on_the_short_way(database_url, clock):
    settings = Settings(database_url=database_url, migrate_on_start=False, cost_limit_read=200)
    async with served(settings, clock) as (app, client):
        key = await _read_key(app, clock)
        (await gql(client, PAGE, {"first": 10}, key=key)).ok()
        too_big = await gql(client, PAGE, {"first": 150}, key=key)
        assert too_big.codes == ["QUERY_TOO_COSTLY"] and too_big.data is None
        assert too_big.errors[0]["extensions"]["limit"] == 200
        assert app.state.prepared.runs["prepared"] == 0


async def _read_key(app: Any, clock: Any) -> str:
    from domain.auth import Scope
    from services import auth

    _, secret = await auth.create_api_key(app.state.uows, "t", Scope.READ, clock())
    return secret


async def test_mutations_and_odd_bodies_take_the_full_way(app, client, write_key):
    await _contacts(client, write_key, 2)
    await gql(client, PAGE, {"first": 1}, key=write_key)
    before = _runs(app)
    headers = {"authorization": f"Bearer {write_key}"}
    extra = await client.post(
        "/graphql",
        json={"query": PAGE, "variables": {"first": 1}, "extensions": {"x": 1}},
        headers=headers,
    )
    as_get = await client.get(
        "/graphql", params={"query": PAGE, "variables": '{"first": 1}'}, headers=headers
    )
    assert extra.status_code == 200 and as_get.status_code == 200
    assert extra.json() == as_get.json()
    assert _runs(app) == before
