"""The compiled executor (api/compiled.py) answers every query exactly as graphql-core's own
executor does: the same data in the same key order, the same errors, on the demo sample,
for every documented query of the contract and for shapes the contract does not use
(fragments, aliases, interfaces, __typename, variables in nested arguments, errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    OperationType,
    print_ast,
    type_from_ast,
)

import api.compiled as compiled
import api.schema.contact as contact_schema
import services.contacts as contacts_service
from api.schema import build_schema
from services.demo import load_demo
from tests.api.test_contract import OPERATION_FILES, operation_document
from tests.factories import gql

SCHEMA = build_schema()._schema


def _queries() -> list[Path]:
    found = []
    for path in OPERATION_FILES:
        operation = operation_document(path).definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        if operation.operation is OperationType.QUERY:
            found.append(path)
    return found


def _value(type_: Any) -> Any:
    """A plausible value of an input type (ids of the demo sample's first rows)."""
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            n: _value(f.type) for n, f in type_.fields.items() if isinstance(f.type, GraphQLNonNull)
        }
    return {"ID": "2", "Int": 5, "Float": 1.5, "Boolean": True}.get(type_.name, "a")


def _variables(document: Any) -> dict[str, Any]:
    operation = document.definitions[0]
    return {
        d.variable.name.value: _value(type_from_ast(SCHEMA, d.type))
        for d in operation.variable_definitions or ()
        if d.default_value is None and isinstance(type_from_ast(SCHEMA, d.type), GraphQLNonNull)
    }


async def _both(client: Any, key: str, query: str, variables: dict[str, Any], monkeypatch: Any):
    before = dict(compiled.runs)
    fast = (await gql(client, query, variables, key=key)).body
    used = compiled.runs["compiled"] > before["compiled"]
    with monkeypatch.context() as m:
        m.setattr(compiled, "plan_for", lambda _executor: None)
        standard = (await gql(client, query, variables, key=key)).body
    return fast, standard, used


RECORD = """mutation($input: [InteractionInput!]!) { recordInteractions(interactions: $input) {
  recordedCount errorCount results { error { message } } } }"""
CREATE_LIST = "mutation($input: ContactListInput!) { createList(input: $input) { id } }"


@pytest.fixture
async def demo(uows, clock, client, admin_key) -> None:
    """The demo sample with scores, tags, tier changes and a dynamic list."""
    await load_demo(uows, clock(), contacts=60, companies=8)
    kinds = ("DEMO_REQUEST", "EMAIL_OPEN", "PAGE_VISIT", "WHITEPAPER_DOWNLOAD", "EMAIL_CLICK")
    batch = [
        {"contactId": str(c), "type": kinds[(c + i) % len(kinds)], "page": "https://example.it/prezzi",
         "occurredAt": clock().isoformat(), "idempotencyKey": f"k{c}-{i}"}
        for c in range(1, 41) for i in range(c % 4 + 1)
    ]  # fmt: skip
    recorded = (await gql(client, RECORD, {"input": batch}, key=admin_key)).ok()
    assert recorded["recordInteractions"]["errorCount"] == 0, recorded
    lst = {"name": "Engaged", "kind": "DYNAMIC", "filter": {"scoreAbove": 5}}
    (await gql(client, CREATE_LIST, {"input": lst}, key=admin_key)).ok()


@pytest.mark.parametrize("path", _queries(), ids=lambda p: p.stem)
async def test_every_documented_query_answers_as_graphql_core(
    path, client, admin_key, demo, monkeypatch
):
    document = operation_document(path)
    query = print_ast(document)
    fast, standard, _ = await _both(client, admin_key, query, _variables(document), monkeypatch)
    assert fast == standard
    assert list(_keys(fast)) == list(_keys(standard))


def _keys(value: Any) -> Any:
    """Every key path in document order (equality of dicts ignores order; JSON does not)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


SHAPES = {
    "projected page": (
        "query($n: Int!) { contacts(first: $n, filter: {scoreAbove: 0}, orderBy: {field: SCORE, direction: DESC}) "
        "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id email fullName "
        "consent { emailMarketing profiling } customAttributes leadStatus segment { code name } "
        "contactType company { id name } __typename } } } }",
        {"n": 7},
    ),
    "fragments and aliases": (
        "query { a: contacts(first: 3) { ...Page } b: contacts(first: 2, orderBy: {field: EMAIL}) "
        "{ nodes { ... on Contact { id e: email } ...Names } } } "
        "fragment Page on ContactConnection { edges { node { id ...Names tags { points tag { code } } } } } "
        "fragment Names on Contact { firstName lastName }",
        {},
    ),
    "nested lists and histories": (
        "query($id: ID!, $k: Int!) { contact(id: $id) { id topTags(limit: $k) { points } lists { id name "
        "contacts(first: 2) { nodes { id company { name } } } } scoreBreakdown(first: 3) { edges { cursor "
        "node { points reason } } } tierHistory(first: 2) { nodes { kind toValue } } } }",
        {"id": "3", "k": 2},
    ),
    "companies in detail": (
        "{ contacts(first: 20) { nodes { id company { id name sector size createdAt "
        "contactCount } } } }",
        {},
    ),
    "not found and null": (
        'query { contact(id: "999999") { id } missing: contactByEmail(email: "nobody@example.com") { id } }',
        {},
    ),
    "bad argument": ("query { contacts(first: 501) { nodes { id } } }", {}),
    "bad cursor": ('query { contacts(after: "nonsense") { nodes { id } } }', {}),
}


@pytest.mark.parametrize("name", SHAPES)
async def test_other_shapes_answer_as_graphql_core(name, client, admin_key, demo, monkeypatch):
    query, variables = SHAPES[name]
    fast, standard, used = await _both(client, admin_key, query, variables, monkeypatch)
    assert fast == standard
    assert list(_keys(fast)) == list(_keys(standard))
    if "errors" not in standard:
        assert used, "the compiled plan should have answered this query"


FIELD_SELECTIONS = {
    "consent": "consent { emailMarketing profiling }",
    "company": "company { id name }",
    "segment": "segment { code name }",
    "tags": "tags { points tag { code } }",
    "topTags": "topTags(limit: 2) { points }",
    "lists": "lists { id }",
    "tierHistory": "tierHistory(first: 2) { nodes { kind } }",
    "interactions": "interactions(first: 2) { nodes { type } }",
    "scoreBreakdown": "scoreBreakdown(first: 2) { nodes { points } }",
}


@pytest.mark.parametrize("field", sorted(contact_schema.FIELD_COLUMNS))
async def test_a_page_reading_only_some_columns_answers_as_one_reading_whole_contacts(
    field, client, admin_key, demo, monkeypatch
):
    selection = FIELD_SELECTIONS.get(field, field)
    query = (
        "{ contacts(first: 30, orderBy: {field: SCORE, direction: DESC}) "
        f"{{ edges {{ node {{ id {selection} }} }} }} }}"
    )
    calls = []
    real = contacts_service.list_contact_columns

    async def spy(*args, **kwargs):
        calls.append(args[1])
        return await real(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(contacts_service, "list_contact_columns", spy)
        projected = (await gql(client, query, key=admin_key)).ok()
    with monkeypatch.context() as m:
        m.setattr(contact_schema, "contact_columns", lambda _info: None)
        whole = (await gql(client, query, key=admin_key)).ok()
    assert calls and set(calls[0]) == set(contact_schema.FIELD_COLUMNS[field])
    assert projected == whole
