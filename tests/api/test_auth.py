"""API keys: no key, bad key, read key writing, admin-only fields; nothing written on refusal."""

from __future__ import annotations

from tests.factories import GRAPHQL_RESPONSE, gql

CREATE = "mutation($input: ContactInput!) { createContact(input: $input) { id } }"
COUNT = "{ contacts { totalCount } }"
CREATE_KEY = "mutation($name: String!, $scope: ApiKeyScope!) { createApiKey(name: $name, scope: $scope) { secret apiKey { id scope prefix } } }"


async def _count(client, key):
    return (await gql(client, COUNT, key=key)).ok()["contacts"]["totalCount"]


async def test_query_without_key_is_unauthenticated(client):
    result = await gql(client, COUNT)
    assert result.status == 200
    assert result.codes == ["UNAUTHENTICATED"]
    assert "Authorization: Bearer" in result.errors[0]["message"]


async def test_unknown_key_is_unauthenticated_with_401_for_graphql_response_clients(client):
    result = await gql(client, COUNT, key="sgm_not-a-real-key", accept=GRAPHQL_RESPONSE)
    assert result.status == 401
    assert result.codes == ["UNAUTHENTICATED"]
    assert "data" not in result.body


async def test_mutation_without_key_writes_nothing(client, read_key):
    result = await gql(client, CREATE, {"input": {"email": "a@b.it"}})
    assert result.codes == ["UNAUTHENTICATED"]
    assert await _count(client, read_key) == 0


async def test_read_key_running_a_mutation_is_forbidden_and_writes_nothing(client, read_key):
    result = await gql(
        client, CREATE, {"input": {"email": "a@b.it"}}, key=read_key, accept=GRAPHQL_RESPONSE
    )
    assert result.status == 403
    assert result.codes == ["FORBIDDEN"]
    assert "'write'" in result.errors[0]["message"]
    assert await _count(client, read_key) == 0


async def test_write_key_cannot_create_api_keys(client, write_key, admin_key):
    result = await gql(client, CREATE_KEY, {"name": "x", "scope": "ADMIN"}, key=write_key)
    assert result.data == {"createApiKey": None}
    assert result.codes == ["FORBIDDEN"]
    keys = (await gql(client, "{ apiKeys { name } }", key=admin_key)).ok()["apiKeys"]
    assert [k["name"] for k in keys] == ["test write", "test admin"]


async def test_admin_issues_a_key_that_works_once_and_stops_after_revocation(client, admin_key):
    created = (
        await gql(client, CREATE_KEY, {"name": "dashboard", "scope": "READ"}, key=admin_key)
    ).ok()
    secret = created["createApiKey"]["secret"]
    assert secret.startswith(created["createApiKey"]["apiKey"]["prefix"])
    assert await _count(client, secret) == 0
    key_id = created["createApiKey"]["apiKey"]["id"]
    revoked = await gql(
        client, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": key_id}, key=admin_key
    )
    assert revoked.ok() == {"revokeApiKey": key_id}
    assert (await gql(client, COUNT, key=secret)).codes == ["UNAUTHENTICATED"]


async def test_admin_key_cannot_revoke_itself(client, admin_key):
    keys = (await gql(client, "{ apiKeys { id } }", key=admin_key)).ok()["apiKeys"]
    result = await gql(
        client, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": keys[0]["id"]}, key=admin_key
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert await _count(client, admin_key) == 0


async def test_introspection_works_without_a_key(client):
    result = await gql(client, "{ __schema { queryType { name } } }")
    assert result.ok() == {"__schema": {"queryType": {"name": "Query"}}}


async def test_unknown_scope_is_bad_user_input(client, admin_key):
    result = await gql(client, CREATE_KEY, {"name": "x", "scope": "ROOT"}, key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"]
