"""Every error path answers with a clear code, and nothing stored is lost or half-written."""

from __future__ import annotations

import logging

import pytest

from services import contacts as contact_service
from tests.factories import gql

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id email } }"
UPDATE = "mutation($id: ID!, $input: ContactUpdateInput!) { updateContact(id: $id, input: $input) { id } }"
DELETE = "mutation($id: ID!) { deleteContact(id: $id) }"
SNAPSHOT = "{ contacts(first: 500, orderBy: {field: EMAIL, direction: ASC}) { totalCount nodes { email phone city companyId: company { id } } } }"
LIST = "query($first: Int, $last: Int, $after: String, $filter: ContactFilter, $orderBy: ContactOrder) { contacts(first: $first, last: $last, after: $after, filter: $filter, orderBy: $orderBy) { totalCount } }"


async def snapshot(client, key):
    return (await gql(client, SNAPSHOT, key=key)).ok()["contacts"]


async def create(client, key, **fields):
    return (await gql(client, CREATE, {"input": fields}, key=key)).ok()["createContact"]


@pytest.fixture
async def seeded(client, write_key):
    await create(client, write_key, email="anna@example.it", city="Roma", phone="+39 06 1234567")
    await create(client, write_key, email="bruno@example.it", city="Milano")
    return await snapshot(client, write_key)


def only_error(result, code, field=None):
    assert result.codes == [code], result.errors
    if field is not None:
        assert result.errors[0]["extensions"]["field"] == field
    return result.errors[0]["message"]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"email": "not-an-email"}, "BAD_USER_INPUT", "email"),
        ({"email": "anna@example.it"}, "CONFLICT", "email"),
        ({"email": "ANNA@Example.it "}, "CONFLICT", "email"),
        ({"email": "c@example.it", "companyId": "999"}, "NOT_FOUND", "companyId"),
        ({"email": "c@example.it", "companyId": "abc"}, "BAD_USER_INPUT", "companyId"),
        ({"email": "c@example.it", "phone": "call me"}, "BAD_USER_INPUT", "phone"),
        ({"email": "c@example.it", "country": "Italia"}, "BAD_USER_INPUT", "country"),
        (
            {"email": "c@example.it", "customAttributes": [1, 2]},
            "BAD_USER_INPUT",
            "customAttributes",
        ),
        ({"email": "c@example.it", "firstName": "x" * 201}, "BAD_USER_INPUT", "firstName"),
    ],
)
async def test_bad_contact_creation_is_refused_and_stores_nothing(
    client, write_key, seeded, fields, code, field
):
    result = await gql(client, CREATE, {"input": fields}, key=write_key)
    assert result.data == {"createContact": None}
    only_error(result, code, field)
    assert await snapshot(client, write_key) == seeded


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"email": "bruno@example.it"}, "CONFLICT", "email"),
        ({"email": "broken"}, "BAD_USER_INPUT", "email"),
        ({"email": None}, "BAD_USER_INPUT", "email"),
        ({"phone": "123"}, "BAD_USER_INPUT", "phone"),
        ({"city": "Napoli", "companyId": "12345"}, "NOT_FOUND", "companyId"),
    ],
)
async def test_bad_contact_update_is_refused_and_changes_nothing(
    client, write_key, seeded, fields, code, field
):
    anna = (
        await gql(
            client, 'query { contactByEmail(email: "anna@example.it") { id } }', key=write_key
        )
    ).ok()
    result = await gql(
        client, UPDATE, {"id": anna["contactByEmail"]["id"], "input": fields}, key=write_key
    )
    only_error(result, code, field)
    assert await snapshot(client, write_key) == seeded


@pytest.mark.parametrize(
    ("operation", "variables", "code"),
    [
        (UPDATE, {"id": "4242", "input": {"city": "Roma"}}, "NOT_FOUND"),
        (DELETE, {"id": "4242"}, "NOT_FOUND"),
        (DELETE, {"id": "-1"}, "BAD_USER_INPUT"),
        ("query($id: ID!) { contact(id: $id) { id } }", {"id": "abc"}, "BAD_USER_INPUT"),
        ("query($id: ID!) { contact(id: $id) { id } }", {"id": "4242"}, "NOT_FOUND"),
        ('query { contactByEmail(email: "nobody@example.it") { id } }', {}, "NOT_FOUND"),
        ('query { contactByEmail(email: "nobody") { id } }', {}, "BAD_USER_INPUT"),
    ],
)
async def test_unknown_or_malformed_ids_are_reported(
    client, write_key, seeded, operation, variables, code
):
    only_error(await gql(client, operation, variables, key=write_key), code)
    assert await snapshot(client, write_key) == seeded


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 501},
        {"first": -1},
        {"last": 501},
        {"first": 5, "last": 5},
        {"after": "garbage"},
        {"filter": {"lastActivityWithinDays": -3}},
        {"filter": {"scoreBetween": {"min": 10, "max": 1}}},
        {"filter": {"emailContains": "   "}},
        {"filter": {"companyIdIn": ["x"]}},
        {
            "filter": {
                "not": {
                    "not": {
                        "not": {
                            "not": {"not": {"not": {"not": {"not": {"not": {"scoreAbove": 1}}}}}}
                        }
                    }
                }
            }
        },
    ],
)
async def test_bad_list_arguments_are_bad_user_input(client, read_key, variables):
    result = await gql(client, LIST, variables, key=read_key)
    only_error(result, "BAD_USER_INPUT")


async def test_a_cursor_from_another_ordering_is_refused(client, write_key, seeded):
    page = await gql(
        client,
        "{ contacts(first: 1, orderBy: {field: EMAIL}) { pageInfo { endCursor } } }",
        key=write_key,
    )
    cursor = page.ok()["contacts"]["pageInfo"]["endCursor"]
    result = await gql(
        client, LIST, {"first": 1, "after": cursor, "orderBy": {"field": "SCORE"}}, key=write_key
    )
    assert "ordering by EMAIL" in only_error(result, "BAD_USER_INPUT", "after")


async def test_server_faults_are_masked_and_logged_with_the_request_id(
    client, read_key, monkeypatch, caplog
):
    async def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(contact_service, "get_contact", explode)
    with caplog.at_level(logging.ERROR, logger="segmento.api"):
        result = await gql(client, 'query { contact(id: "1") { id } }', key=read_key)
    error = result.errors[0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "hunter2" not in error["message"]
    request_id = error["extensions"]["requestId"]
    assert request_id == result.response.headers["x-request-id"]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_client_errors_are_not_logged_as_server_errors(client, write_key, caplog):
    with caplog.at_level(logging.WARNING):
        await gql(client, CREATE, {"input": {"email": "nope"}}, key=write_key)
        await gql(client, "{ contacts { nope } }", key=write_key)
        await gql(client, "{ contacts { totalCount } }")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_naive_datetime_in_a_filter_is_bad_user_input(client, read_key):
    result = await gql(
        client, LIST, {"filter": {"createdBetween": {"start": "2026-01-01T00:00:00"}}}, key=read_key
    )
    assert "UTC offset" in only_error(result, "BAD_USER_INPUT", "filter")


async def test_one_bad_list_argument_does_not_wipe_the_rest_of_the_query(client, read_key):
    result = await gql(
        client, "{ contacts(first: 9999) { totalCount } tags { code } }", key=read_key
    )
    assert result.data == {"contacts": None, "tags": []}
    only_error(result, "BAD_USER_INPUT", "first")
