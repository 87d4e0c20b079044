"""Query cost: every operation costed before it runs, refused above its key's budget with
QUERY_TOO_COSTLY (nothing executed) while simple queries keep answering; the documented
operations' costs, as the contract lists them."""

from __future__ import annotations

import asyncio
import re

import pytest
from graphql import parse

from api.cost import operation_cost
from api.schema import build_schema
from api.settings import Settings
from tests.api.test_contract import CONTRACT, OPERATION_FILES, operation_document
from tests.factories import GRAPHQL_RESPONSE, gql, served

# The query an outside review found stalling the server (14 s at 40, 4 s at 20): validation
# refuses it as too deep; the same with `nodes` is within the depth limit, and costed.
REPORTED = (
    "{contacts(first:%d){edges{node{id lists{contacts(first:%d){edges{node{id "
    "lists{contacts(first:%d){edges{node{id}}}}}}}}}}}}"
)
NESTED = (
    "{contacts(first:%d){nodes{id lists{contacts(first:%d){nodes{id "
    "lists{contacts(first:%d){nodes{id}}}}}}}}}"
)
ALIASED_PAGES = "{" + " ".join(f"a{i}: contacts(first: 500) {{ edges {{ node {{ id }} }} }}"
                               for i in range(30)) + "}"  # fmt: skip
ALIASED_SCHEMA = "{" + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(30)) + "}"
SIMPLE = '{ contact(id: "1") { score } }'
PAGE = """query($first: Int!) { contacts(first: $first) {
  edges { node { id email score company { id name } } } } }"""


def cost(query: str, variables: dict[str, object] | None = None) -> int:
    return operation_cost(build_schema()._schema, parse(query), None, variables)


def test_page_sizes_multiply_through_nesting():
    assert cost(PAGE, {"first": 100}) == 1 + 100 + 100 + 100
    assert cost(PAGE, {}) == 1 + 3 * 50  # no first: the default page
    assert cost(NESTED % (40, 40, 40)) > 6_000_000
    assert cost(NESTED % (20, 20, 20)) > cost(NESTED % (2, 2, 2)) > 100


def test_a_remembered_cost_follows_the_page_size_variables():
    schema, document = build_schema()._schema, parse(PAGE)
    costs = [operation_cost(schema, document, None, {"first": n}) for n in (100, 10, 100, 7)]
    assert costs == [301, 31, 301, 22]
    with_id = parse(
        "query($id: ID!, $n: Int!) { contact(id: $id) { tierHistory(first: $n) { nodes { kind } } } }"
    )
    assert (
        operation_cost(schema, with_id, None, {"id": "1", "n": 5})
        == operation_cost(schema, with_id, None, {"id": "2", "n": 5})
        < operation_cost(schema, with_id, None, {"id": "2", "n": 50})
    )


def test_fragments_and_aliases_count_where_they_are_used():
    with_fragment = """query { a: contacts(first: 10) { ...Page } b: contacts(first: 10) { ...Page } }
      fragment Page on ContactConnection { edges { node { id company { id } } } }"""
    assert cost(with_fragment) == 2 * (1 + 10 + 10 + 10)
    assert cost(ALIASED_PAGES) == 30 * (1 + 500 + 500)


async def _refused_while_simple_answers(client, key, query):
    abusive, simple = await asyncio.gather(
        gql(client, query, key=key, accept=GRAPHQL_RESPONSE), gql(client, SIMPLE, key=key)
    )
    assert simple.errors == [] or simple.codes == ["NOT_FOUND"]
    return abusive


@pytest.mark.parametrize("page", [40, 20])
async def test_the_reported_nested_query_is_refused(client, read_key, page):
    refused = await _refused_while_simple_answers(client, read_key, REPORTED % (page, page, page))
    assert refused.status == 400 and "data" not in refused.body
    assert refused.codes in (["GRAPHQL_VALIDATION_FAILED"], ["QUERY_TOO_COSTLY"])


@pytest.mark.parametrize("page", [40, 20])
async def test_nested_lists_of_contacts_are_refused_before_anything_runs(client, read_key, page):
    refused = await _refused_while_simple_answers(client, read_key, NESTED % (page, page, page))
    assert refused.status == 400
    assert refused.codes == ["QUERY_TOO_COSTLY"]
    assert "data" not in refused.body
    extensions = refused.errors[0]["extensions"]
    assert extensions["limit"] == 10_000
    assert extensions["cost"] == cost(NESTED % (page, page, page))


async def test_thirty_aliased_pages_of_500_are_refused(client, read_key):
    refused = await _refused_while_simple_answers(client, read_key, ALIASED_PAGES)
    assert refused.codes == ["QUERY_TOO_COSTLY"]
    assert refused.errors[0]["extensions"]["cost"] == 30_030


async def test_anonymous_aliased_introspection_is_refused_and_one_is_served_from_the_cache(client):
    refused = await gql(client, ALIASED_SCHEMA, accept=GRAPHQL_RESPONSE)
    assert refused.status == 400 and refused.codes == ["QUERY_TOO_COSTLY"]
    once = await gql(client, "{ __schema { types { name } } }")
    again = await gql(client, "{ __schema { types { name } } }")
    assert once.errors == [] and again.data == once.data
    assert len(once.data["__schema"]["types"]) > 50


async def test_an_admin_key_has_a_larger_budget_than_a_read_key(client, read_key, admin_key):
    query = "{ a: contacts(first: 500) { edges { node { id } } } " + " ".join(
        f"b{i}: contacts(first: 500) {{ edges {{ node {{ id }} }} }}" for i in range(10)
    ) + " }"  # fmt: skip
    assert 10_000 < cost(query) <= 25_000
    assert (await gql(client, query, key=read_key)).codes == ["QUERY_TOO_COSTLY"]
    assert (await gql(client, query, key=admin_key)).errors == []


async def test_the_budgets_are_server_settings(database_url, clock, read_key):
    settings = Settings(database_url=database_url, migrate_on_start=False, cost_limit_read=200)
    async with served(settings, clock) as (_app, client):
        small = await gql(client, PAGE, {"first": 10}, key=read_key)
        large = await gql(client, PAGE, {"first": 100}, key=read_key)
    assert small.errors == []
    assert large.codes == ["QUERY_TOO_COSTLY"]
    assert large.errors[0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 301, "limit": 200}


def operation_costs() -> dict[str, int]:
    schema = build_schema()._schema
    return {
        path.stem: operation_cost(schema, operation_document(path), None, {})
        for path in OPERATION_FILES
    }


def cost_table(costs: dict[str, int]) -> str:
    rows = [
        f"| [`{name}`](operations/{name}.graphql) | {value:,} |" for name, value in costs.items()
    ]
    return "\n".join(["| operation | cost |", "|---|---|", *rows])


def test_every_documented_operation_is_within_the_read_budget_and_listed_in_the_contract():
    costs = operation_costs()
    assert costs and max(costs.values()) <= Settings().cost_limit_read
    readme = (CONTRACT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- operation-costs:start -->\n(.*?)\n<!-- operation-costs:end -->", readme, re.S
    )
    assert found, "frontend-contract/README.md needs the operation-costs markers"
    assert found.group(1) == cost_table(costs), (
        "the cost table in frontend-contract/README.md is out of date; it should read:\n"
        + cost_table(costs)
    )


async def test_many_concurrent_anonymous_introspections_are_served_while_a_query_answers(
    client, read_key
):
    """16 concurrent anonymous `__schema` queries (4 MB answers each, once) share the cached
    answer, and a simple query is answered among them."""
    query = "{ __schema { types { name fields { name type { name } } } } }"
    answers = await asyncio.gather(
        *(gql(client, query) for _ in range(16)), gql(client, SIMPLE, key=read_key)
    )
    *introspections, simple = answers
    assert all(a.errors == [] for a in introspections)
    assert all(a.data == introspections[0].data for a in introspections)
    assert simple.errors == [] or simple.codes == ["NOT_FOUND"]
