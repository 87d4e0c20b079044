"""Malformed requests get 4xx or a clear error code, never a 500 or INTERNAL_SERVER_ERROR,
and nothing stored is lost (issue 16)."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import text

from tests.factories import GRAPHQL_RESPONSE, gql

COUNT = "{ contacts { totalCount } }"
CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
FILTERED = "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }"
CARD = '{ contact(id: "1") { id customAttributes interactions { nodes { properties } } } }'
EXPORT = '{ exportContactData(id: "1") }'
INTERACTION = (
    "mutation($input: InteractionInput!) { recordInteraction(input: $input) { scoreDelta } }"
)


def headers(key: str, accept: str | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", **({"accept": accept} if accept else {})}


def only_error(result, code, field=None):
    assert result.codes == [code], result.errors
    if field is not None:
        assert result.errors[0]["extensions"]["field"] == field
    return result.errors[0]["message"]


@pytest.fixture
async def anna(client, write_key):
    """One contact, with an interaction: what a refused request must leave as it was."""
    body = {"email": "anna@example.it", "customAttributes": {"employees": 12}}
    contact = (await gql(client, CREATE, {"input": body}, key=write_key)).ok()["createContact"]
    await gql(
        client,
        INTERACTION,
        {
            "input": {
                "contactId": contact["id"],
                "type": "EMAIL_OPEN",
                "occurredAt": "2026-11-23T08:00:00+00:00",
                "idempotencyKey": "k1",
                "properties": {"campaign": 7},
            }
        },
        key=write_key,
    )
    return (await gql(client, CARD, key=write_key)).ok()["contact"]


# operationName and the operation to run


@pytest.mark.parametrize("name", [{"a": 1}, 5, ["x"], True])
async def test_an_operation_name_that_is_not_a_string_is_400(client, read_key, name):
    response = await client.post(
        "/graphql", json={"query": COUNT, "operationName": name}, headers=headers(read_key)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("query A { contacts { totalCount } }", "B"),
        ("query A { contacts { totalCount } }", '{"a": 1}'),
        ("fragment F on Query { contacts { totalCount } }", None),
        ("query A { contacts { totalCount } } query B { __typename }", None),
        ("{ contacts { totalCount } } { __typename }", None),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_document_without_the_one_operation_to_run_is_a_request_error(
    client, read_key, query, name, method
):
    params = {"query": query, **({"operationName": name} if name is not None else {})}
    for accept, status in ((GRAPHQL_RESPONSE, 400), ("application/json", 200)):
        if method == "GET":
            response = await client.get(
                "/graphql", params=params, headers=headers(read_key, accept)
            )
        else:
            response = await client.post("/graphql", json=params, headers=headers(read_key, accept))
        assert response.status_code == status, response.text
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["OPERATION_RESOLUTION_FAILURE"]
        assert body.get("data") is None


async def test_a_named_operation_of_several_runs_when_named(client, read_key):
    query = "query A { contacts { totalCount } } query B { __typename }"
    response = await client.post(
        "/graphql", json={"query": query, "operationName": "B"}, headers=headers(read_key)
    )
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ __typename }", "variables": {"x": ' + "9" * 5000 + "}}",
        '{"query": "{ __typename }", "variables": ' + '{"a":' * 3000 + "1" + "}" * 3001,
    ],
    ids=["integer-past-python-digit-limit", "nested-past-recursion-limit"],
)
async def test_json_bodies_python_cannot_decode_are_400(client, read_key, body):
    response = await client.post(
        "/graphql",
        content=body,
        headers={**headers(read_key), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# IDs


@pytest.mark.parametrize(
    "raw",
    [
        "999999999999999999999999999999",
        "9223372036854775808",
        "0",
        "-1",
        "\u0661\u0662",
        "1_0",
        " 1",
    ],
)
async def test_ids_outside_the_id_columns_range_are_bad_user_input(client, admin_key, raw):
    result = await gql(
        client, "query($id: ID!) { scoringRule(id: $id) { id } }", {"id": raw}, key=admin_key
    )
    assert "positive integer" in only_error(result, "BAD_USER_INPUT", "id")


async def test_the_largest_id_is_not_found_rather_than_refused(client, admin_key):
    result = await gql(client, '{ scoringRule(id: "2147483647") { id } }', key=admin_key)
    only_error(result, "NOT_FOUND")


async def test_ids_in_lists_and_inputs_are_range_checked_too(client, write_key, anna):
    huge = "99999999999999999999"
    result = await gql(client, FILTERED, {"f": {"companyIdIn": [huge]}}, key=write_key)
    only_error(result, "BAD_USER_INPUT", "filter")
    result = await gql(
        client, CREATE, {"input": {"email": "b@example.it", "companyId": huge}}, key=write_key
    )
    only_error(result, "BAD_USER_INPUT", "companyId")
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 1


async def test_update_list_with_a_null_name_is_refused_and_keeps_the_list(client, write_key):
    created = await gql(
        client, 'mutation { createList(input: {name: "VIP", kind: STATIC}) { id } }', key=write_key
    )
    list_id = created.ok()["createList"]["id"]
    result = await gql(
        client,
        'mutation($id: ID!) { updateList(id: $id, input: {filter: null, description: "«\\u0093ꟗ?", name: null}) { id } }',
        {"id": list_id},
        key=write_key,
    )
    only_error(result, "BAD_USER_INPUT", "name")
    lists = await gql(
        client, "query($id: ID!) { list(id: $id) { name } }", {"id": list_id}, key=write_key
    )
    assert lists.ok()["list"]["name"] == "VIP"


# Integers past 64 bits in JSON inputs


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**23, [1, {"deep": 2**70}]])
async def test_custom_attributes_past_64_bits_are_refused_and_store_nothing(
    client, write_key, anna, value
):
    result = await gql(
        client,
        CREATE,
        {"input": {"email": "b@example.it", "customAttributes": {"x": value}}},
        key=write_key,
    )
    assert "64-bit" in only_error(result, "BAD_USER_INPUT", "customAttributes")
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 1
    assert (await gql(client, CARD, key=write_key)).ok()["contact"] == anna


async def test_custom_attributes_at_the_64_bit_bounds_are_kept(client, write_key):
    attributes = {"min": -(2**63), "max": 2**63 - 1}
    created = await gql(
        client,
        CREATE,
        {"input": {"email": "b@example.it", "customAttributes": attributes}},
        key=write_key,
    )
    assert created.ok()
    card = await gql(client, CARD, key=write_key)
    assert card.ok()["contact"]["customAttributes"] == attributes


async def test_a_literal_integer_past_64_bits_is_refused_too(client, write_key, anna):
    result = await gql(
        client,
        'mutation { updateContact(id: "1", input: {customAttributes: {x: 99999999999999999999999}}) { id } }',
        key=write_key,
    )
    only_error(result, "BAD_USER_INPUT", "customAttributes")
    assert (await gql(client, CARD, key=write_key)).ok()["contact"] == anna


async def test_interaction_properties_past_64_bits_are_refused_and_store_nothing(
    client, write_key, anna
):
    result = await gql(
        client,
        INTERACTION,
        {
            "input": {
                "contactId": "1",
                "type": "EMAIL_OPEN",
                "occurredAt": "2026-11-23T08:30:00+00:00",
                "idempotencyKey": "k2",
                "properties": {"big": 99999999999999999999999},
            }
        },
        key=write_key,
    )
    only_error(result, "BAD_USER_INPUT", "properties")
    assert (await gql(client, CARD, key=write_key)).ok()["contact"] == anna


async def test_json_nested_past_the_limit_is_refused(client, write_key, anna):
    nested: object = 1
    for _ in range(40):
        nested = {"a": nested}
    result = await gql(
        client,
        CREATE,
        {"input": {"email": "b@example.it", "customAttributes": nested}},
        key=write_key,
    )
    only_error(result, "BAD_USER_INPUT", "customAttributes")


async def test_rows_stored_with_integers_past_64_bits_are_readable_again(
    client, write_key, admin_key, anna, app
):
    # given: a contact and an interaction stored before the input was checked
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE contact SET custom_attributes = :a WHERE id = 1"),
            {"a": '{"big": 99999999999999999999999, "huge": ' + "9" * 5000 + ', "ok": 12}'},
        )
        await conn.execute(
            text("UPDATE interaction SET properties = :p WHERE contact_id = 1"),
            {"p": '{"big": -99999999999999999999999}'},
        )
    # when / then: the card, its interactions and the GDPR export read
    card = (await gql(client, CARD, key=write_key)).ok()["contact"]
    assert card["customAttributes"] == {"big": 1e23, "huge": None, "ok": 12}
    assert card["interactions"]["nodes"] == [{"properties": {"big": -1e23}}]
    exported = (await gql(client, EXPORT, key=admin_key)).ok()["exportContactData"]
    assert "1e+23" in json.dumps(exported) or "1e23" in json.dumps(exported)
    listed = await gql(client, "{ contacts { nodes { customAttributes } } }", key=write_key)
    assert listed.ok()["contacts"]["nodes"][0]["customAttributes"]["big"] == 1e23


# Filters: lengths, conditions, depth


@pytest.mark.parametrize(
    ("filter_", "words"),
    [
        ({"emailContains": "x" * 100_000}, "longer than 254"),
        ({"cityIn": ["x" * 201]}, "longer than 200"),
        ({"tagPoints": [{"code": "x" * 201, "minPoints": 1}]}, "longer than 200"),
        ({"tagPoints": [{"code": "t", "minPoints": 1}] * 20_000}, "more than 200 conditions"),
        ({"cityIn": ["Roma"] * 201}, "more than 200 conditions"),
        ({"or": [{}] * 201}, "more than 200 conditions"),
    ],
    ids=[
        "emailContains",
        "cityIn-entry",
        "tagPoints-code",
        "tagPoints-20000",
        "cityIn-201",
        "or-201",
    ],
)
async def test_oversized_filters_are_bad_user_input(client, read_key, anna, filter_, words):
    result = await gql(client, FILTERED, {"f": filter_}, key=read_key)
    assert words in only_error(result, "BAD_USER_INPUT", "filter")


async def test_a_company_name_pattern_longer_than_any_name_is_bad_user_input(client, write_key):
    await gql(client, 'mutation { createCompany(input: {name: "Acme"}) { id } }', key=write_key)
    query = "query($n: String) { companies(nameContains: $n) { totalCount nodes { id } } }"
    result = await gql(client, query, {"n": "x" * 100_000}, key=write_key)
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.errors[0]["extensions"]["field"] == "nameContains"
    assert (await gql(client, query, {"n": "Ac"}, key=write_key)).ok()["companies"][
        "totalCount"
    ] == 1


async def test_two_hundred_list_entries_are_still_a_valid_filter(client, read_key, anna):
    result = await gql(client, FILTERED, {"f": {"cityIn": ["Roma"] * 199}}, key=read_key)
    assert result.ok()["contacts"]["totalCount"] == 0


@pytest.mark.parametrize("depth", [9, 100, 500, 5000])
async def test_filters_nested_past_the_limit_are_bad_user_input(client, read_key, depth):
    nested = '{"not":' * depth + '{"emailContains":"a"}' + "}" * depth
    body = '{"query":' + json.dumps(FILTERED) + ',"variables":{"f":' + nested + "}}"
    response = await client.post(
        "/graphql",
        content=body,
        headers={**headers(read_key), "content-type": "application/json"},
    )
    assert response.status_code in (200, 400), response.text
    codes = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert codes in (["BAD_USER_INPUT"], ["BAD_REQUEST"]), response.text


async def test_a_literal_filter_nested_500_deep_is_refused(client, read_key):
    nested = '{emailContains: "a"}'
    for _ in range(500):
        nested = f"{{not: {nested}}}"
    result = await gql(client, f"{{ contacts(filter: {nested}) {{ totalCount }} }}", key=read_key)
    assert result.codes == ["GRAPHQL_PARSE_FAILED"], result.errors


# Cost


async def test_a_cost_past_64_bits_is_refused_with_a_readable_figure(client, read_key):
    deep = "contacts(last: 2000000000) { nodes { lists { %s } } }"
    query = "{ " + deep % (deep % "contacts(last: 2000000000) { nodes { id } }") + " }"
    result = await gql(client, query, key=read_key)
    assert result.codes == ["QUERY_TOO_COSTLY"], result.errors
    assert result.errors[0]["extensions"]["cost"] == 2**53 - 1
    assert "costs more than" in result.errors[0]["message"]


# Cursors


def cursor(field: object, value: object, ident: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([field, value, ident]).encode()).decode()


@pytest.mark.parametrize(
    ("order", "after"),
    [
        ("CREATED_AT", cursor("CREATED_AT", 5, 1)),
        ("CREATED_AT", cursor("CREATED_AT", "yesterday", 1)),
        ("CREATED_AT", cursor("CREATED_AT", "2026-11-23T08:00:00", 1)),
        ("SCORE", cursor("SCORE", "high", 1)),
        ("SCORE", cursor("SCORE", 2**70, 1)),
        ("SCORE", cursor("SCORE", 2**40, 1)),
        ("EMAIL", cursor("EMAIL", ["a"], 1)),
        ("EMAIL", cursor("EMAIL", "a@b.it", 2**70)),
        ("EMAIL", cursor("EMAIL", "a@b.it", 2**31)),
        ("EMAIL", cursor("EMAIL", "a@b.it", "1")),
        ("EMAIL", cursor("EMAIL", "a@b.it", True)),
        ("EMAIL", base64.urlsafe_b64encode(b"[" * 5000).decode()),
    ],
)
async def test_tampered_cursors_are_bad_user_input(client, read_key, anna, order, after):
    result = await gql(
        client,
        "query($after: String, $o: ContactOrder) { contacts(after: $after, orderBy: $o) { totalCount } }",
        {"after": after, "o": {"field": order}},
        key=read_key,
    )
    assert "not a cursor this API issued" in only_error(result, "BAD_USER_INPUT", "after")


async def test_a_cursor_the_api_issued_still_pages(client, write_key, anna):
    await gql(client, CREATE, {"input": {"email": "b@example.it"}}, key=write_key)
    query = "query($after: String, $o: ContactOrder) { contacts(first: 1, after: $after, orderBy: $o) { nodes { email } pageInfo { endCursor } } }"
    for field in ("CREATED_AT", "EMAIL", "SCORE", "LAST_NAME", "UPDATED_AT"):
        first = (await gql(client, query, {"o": {"field": field}}, key=write_key)).ok()
        after = first["contacts"]["pageInfo"]["endCursor"]
        second = await gql(client, query, {"after": after, "o": {"field": field}}, key=write_key)
        assert len(second.ok()["contacts"]["nodes"]) == 1, field
