"""GraphQL over HTTP: GET, media types, status codes, limits, request ids, health, metrics."""

from __future__ import annotations

import pytest

from api.settings import Settings
from domain.auth import Scope
from services import auth
from tests.factories import GRAPHQL_RESPONSE, gql, served

COUNT = "{ contacts { totalCount } }"


async def test_queries_may_use_get(client, read_key):
    response = await client.get(
        "/graphql", params={"query": COUNT}, headers={"authorization": f"Bearer {read_key}"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"contacts": {"totalCount": 0}}}


async def test_mutation_over_get_is_405_and_writes_nothing(client, write_key):
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createContact(input: {email: "a@b.it"}) { id } }'},
        headers={"authorization": f"Bearer {write_key}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 0


async def test_graphql_response_media_type_is_honoured(client, read_key):
    result = await gql(client, COUNT, key=read_key, accept=GRAPHQL_RESPONSE)
    assert result.status == 200
    assert result.response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ contacts { totalCount ", "GRAPHQL_PARSE_FAILED"),
        ("{ contacts { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_request_errors_are_400_without_data_for_graphql_response_clients(
    client, read_key, query, code
):
    result = await gql(client, query, key=read_key, accept=GRAPHQL_RESPONSE)
    assert result.status == 400
    assert result.codes == [code]
    assert "data" not in result.body


async def test_request_errors_are_200_for_application_json_clients(client, read_key):
    result = await gql(
        client, "{ contacts { noSuchField } }", key=read_key, accept="application/json"
    )
    assert result.status == 200
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert result.response.headers["content-type"].startswith("application/json")


async def test_variables_of_the_wrong_type_are_bad_user_input(client, read_key):
    result = await gql(
        client,
        "query($n: Int) { contacts(first: $n) { totalCount } }",
        {"n": "many"},
        key=read_key,
        accept=GRAPHQL_RESPONSE,
    )
    assert result.status == 400
    assert result.codes == ["BAD_USER_INPUT"]


async def test_queries_deeper_than_the_limit_are_refused(database_url, clock):
    settings = Settings(database_url=database_url, migrate_on_start=False, max_query_depth=3)
    async with served(settings, clock) as (app, client):
        _, key = await auth.create_api_key(app.state.uows, "k", Scope.READ, clock())
        shallow = "{ contacts { edges { node { email } } } }"
        assert (await gql(client, shallow, key=key)).errors == []
        deep = "{ contacts { edges { node { company { name } } } } }"
        result = await gql(client, deep, key=key, accept=GRAPHQL_RESPONSE)
    assert result.status == 400
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "exceeds maximum operation depth" in result.errors[0]["message"]


async def test_too_many_aliases_are_refused(client, read_key):
    query = "{ " + " ".join(f"a{i}: contacts {{ totalCount }}" for i in range(40)) + " }"
    assert (await gql(client, query, key=read_key)).codes == ["GRAPHQL_VALIDATION_FAILED"]


async def test_too_many_tokens_are_refused(client, read_key):
    query = "{ contacts { " + "totalCount " * 6000 + "} }"
    assert (await gql(client, query, key=read_key)).codes == ["GRAPHQL_PARSE_FAILED"]


async def test_body_over_the_limit_is_413_and_writes_nothing(client, write_key):
    huge = "x" * 1_100_000
    response = await client.post(
        "/graphql",
        json={
            "query": 'mutation($n: String) { createContact(input: {email: "a@b.it", lastName: $n}) { id } }',
            "variables": {"n": huge},
        },
        headers={"authorization": f"Bearer {write_key}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 0


async def test_malformed_json_is_400(client, read_key):
    response = await client.post(
        "/graphql",
        content=b"{not json",
        headers={"authorization": f"Bearer {read_key}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_every_response_carries_a_request_id(client, read_key):
    response = await client.post(
        "/graphql", json={"query": COUNT}, headers={"x-request-id": "abc123"}
    )
    assert response.headers["x-request-id"] == "abc123"
    other = await client.post("/graphql", json={"query": COUNT})
    assert len(other.headers["x-request-id"]) == 32


async def test_healthz_checks_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_metrics_count_requests_and_error_codes(client, read_key):
    await gql(client, COUNT, key=read_key)
    await gql(client, COUNT)
    text = (await client.get("/metrics")).text
    assert 'segmento_http_requests_total{method="POST",path="/graphql",status="200"} 2.0' in text
    assert 'segmento_graphql_errors_total{code="UNAUTHENTICATED"} 1.0' in text
    assert "segmento_http_request_duration_seconds_bucket" in text


async def test_metrics_name_the_csv_export_path(client, read_key):
    exported = await client.get(
        "/export/contacts.csv", headers={"authorization": f"Bearer {read_key}"}
    )
    assert exported.status_code == 200
    text = (await client.get("/metrics")).text
    assert (
        'segmento_http_requests_total{method="GET",path="/export/contacts.csv",status="200"} 1.0'
        in text
    )


async def test_graphiql_is_served_to_browsers(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_a_subscription_over_http_is_bad_request(client, read_key):
    response = await client.post(
        "/graphql",
        json={"query": "subscription { hotLeads { cursor } }"},
        headers={"authorization": f"Bearer {read_key}", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "WebSocket" in error["message"]
