"""Companies and tags through GraphQL: aggregates, codes, points, and their error paths."""

from __future__ import annotations

import pytest

from tests.factories import gql

CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id name size } }"
UPDATE_COMPANY = "mutation($id: ID!, $input: CompanyUpdateInput!) { updateCompany(id: $id, input: $input) { id name } }"
DELETE_COMPANY = "mutation($id: ID!) { deleteCompany(id: $id) }"
COMPANY = "query($id: ID!) { company(id: $id) { name contactCount score } }"
COMPANIES = "{ companies { totalCount nodes { name } } }"
CREATE_CONTACT = (
    "mutation($input: ContactInput!) { createContact(input: $input) { id company { id } } }"
)
CREATE_TAG = (
    "mutation($input: TagInput!) { createTag(input: $input) { id name code label contactCount } }"
)
ASSIGN = "mutation($id: ID!, $code: String!) { assignTag(contactId: $id, code: $code) { tags { points tag { code } } } }"
REMOVE = "mutation($id: ID!, $code: String!) { removeTag(contactId: $id, code: $code) { tags { tag { code } } } }"
TAGS = "{ tags { code name contactCount } }"


async def test_company_aggregates_its_contacts(client, write_key):
    company = (
        await gql(
            client, CREATE_COMPANY, {"input": {"name": "Verdi S.p.A.", "size": 250}}, key=write_key
        )
    ).ok()
    cid = company["createCompany"]["id"]
    for email in ("a@verdi.it", "b@verdi.it"):
        await gql(
            client, CREATE_CONTACT, {"input": {"email": email, "companyId": cid}}, key=write_key
        )
    read = (await gql(client, COMPANY, {"id": cid}, key=write_key)).ok()["company"]
    assert read == {"name": "Verdi S.p.A.", "contactCount": 2, "score": 0}


async def test_deleting_a_company_keeps_its_contacts_detached(client, write_key):
    cid = (await gql(client, CREATE_COMPANY, {"input": {"name": "Neri"}}, key=write_key)).ok()[
        "createCompany"
    ]["id"]
    contact = (
        await gql(
            client,
            CREATE_CONTACT,
            {"input": {"email": "n@neri.it", "companyId": cid}},
            key=write_key,
        )
    ).ok()
    assert (await gql(client, DELETE_COMPANY, {"id": cid}, key=write_key)).ok() == {
        "deleteCompany": cid
    }
    left = await gql(
        client,
        "query($id: ID!) { contact(id: $id) { company { id } } }",
        {"id": contact["createContact"]["id"]},
        key=write_key,
    )
    assert left.ok() == {"contact": {"company": None}}


@pytest.mark.parametrize(
    ("operation", "variables", "code"),
    [
        (CREATE_COMPANY, {"input": {"name": "   "}}, "BAD_USER_INPUT"),
        (CREATE_COMPANY, {"input": {"name": "X", "size": -5}}, "BAD_USER_INPUT"),
        (CREATE_COMPANY, {"input": {"name": "X", "country": "ITA"}}, "BAD_USER_INPUT"),
        (UPDATE_COMPANY, {"id": "999", "input": {"name": "Y"}}, "NOT_FOUND"),
        (UPDATE_COMPANY, {"id": "1", "input": {"name": None}}, "BAD_USER_INPUT"),
        (DELETE_COMPANY, {"id": "999"}, "NOT_FOUND"),
        (COMPANY, {"id": "999"}, "NOT_FOUND"),
    ],
)
async def test_company_errors_are_coded_and_change_nothing(
    client, write_key, operation, variables, code
):
    await gql(client, CREATE_COMPANY, {"input": {"name": "Esistente"}}, key=write_key)
    result = await gql(client, operation, variables, key=write_key)
    assert result.codes == [code], result.errors
    assert (await gql(client, COMPANIES, key=write_key)).ok()["companies"] == {
        "totalCount": 1,
        "nodes": [{"name": "Esistente"}],
    }


async def test_tag_code_is_a_slug_of_the_name_and_survives_renaming(client, write_key):
    created = (
        await gql(
            client, CREATE_TAG, {"input": {"name": "Interessato a servizi premium"}}, key=write_key
        )
    ).ok()
    tag = created["createTag"]
    assert tag["code"] == "interessato-a-servizi-premium"
    assert tag["label"] == "Interessato a servizi premium (interessato-a-servizi-premium)"
    renamed = await gql(
        client,
        'mutation { updateTag(code: "interessato-a-servizi-premium", input: {name: "Premium"}) { name code } }',
        key=write_key,
    )
    assert renamed.ok() == {
        "updateTag": {"name": "Premium", "code": "interessato-a-servizi-premium"}
    }


async def test_assigning_a_tag_again_adds_a_point_and_removal_drops_it(client, write_key):
    await gql(client, CREATE_TAG, {"input": {"name": "Lead caldo"}}, key=write_key)
    contact = (
        await gql(client, CREATE_CONTACT, {"input": {"email": "t@x.it"}}, key=write_key)
    ).ok()["createContact"]
    await gql(client, ASSIGN, {"id": contact["id"], "code": "lead-caldo"}, key=write_key)
    twice = (
        await gql(client, ASSIGN, {"id": contact["id"], "code": "lead-caldo"}, key=write_key)
    ).ok()
    assert twice["assignTag"]["tags"] == [{"points": 2, "tag": {"code": "lead-caldo"}}]
    assert (await gql(client, TAGS, key=write_key)).ok()["tags"][0]["contactCount"] == 1
    removed = (
        await gql(client, REMOVE, {"id": contact["id"], "code": "lead-caldo"}, key=write_key)
    ).ok()
    assert removed["removeTag"]["tags"] == []


@pytest.mark.parametrize(
    ("operation", "variables", "code"),
    [
        (CREATE_TAG, {"input": {"name": "Fiere 2025"}}, "CONFLICT"),
        (CREATE_TAG, {"input": {"name": "Other", "code": "fiere-2025"}}, "CONFLICT"),
        (CREATE_TAG, {"input": {"name": "Other", "code": "Not A Slug"}}, "BAD_USER_INPUT"),
        (CREATE_TAG, {"input": {"name": "!!!"}}, "BAD_USER_INPUT"),
        (CREATE_TAG, {"input": {"name": "  "}}, "BAD_USER_INPUT"),
        ('query { tag(code: "missing") { id } }', {}, "NOT_FOUND"),
        ('mutation { deleteTag(code: "missing") }', {}, "NOT_FOUND"),
        ('mutation { updateTag(code: "missing", input: {name: "x"}) { id } }', {}, "NOT_FOUND"),
        (ASSIGN, {"id": "CONTACT", "code": "missing"}, "NOT_FOUND"),
        (ASSIGN, {"id": "9999", "code": "fiere-2025"}, "NOT_FOUND"),
        (REMOVE, {"id": "CONTACT", "code": "fiere-2025"}, "NOT_FOUND"),
    ],
)
async def test_tag_errors_are_coded_and_change_nothing(
    client, write_key, operation, variables, code
):
    await gql(client, CREATE_TAG, {"input": {"name": "Fiere 2025"}}, key=write_key)
    contact = (
        await gql(client, CREATE_CONTACT, {"input": {"email": "t@x.it"}}, key=write_key)
    ).ok()["createContact"]
    if variables.get("id") == "CONTACT":
        variables = {**variables, "id": contact["id"]}
    result = await gql(client, operation, variables, key=write_key)
    assert result.codes == [code], result.errors
    assert (await gql(client, TAGS, key=write_key)).ok()["tags"] == [
        {"code": "fiere-2025", "name": "Fiere 2025", "contactCount": 0}
    ]


async def test_renaming_a_tag_to_a_taken_name_is_a_conflict(client, write_key):
    await gql(client, CREATE_TAG, {"input": {"name": "A"}}, key=write_key)
    await gql(client, CREATE_TAG, {"input": {"name": "B"}}, key=write_key)
    result = await gql(
        client, 'mutation { updateTag(code: "b", input: {name: "A"}) { id } }', key=write_key
    )
    assert result.codes == ["CONFLICT"]
    assert [t["name"] for t in (await gql(client, TAGS, key=write_key)).ok()["tags"]] == ["A", "B"]


async def test_updating_a_tag_changes_only_what_is_sent_and_null_clears_the_description(
    client, write_key
):
    await gql(
        client,
        CREATE_TAG,
        {"input": {"name": "Webinar", "description": "Iscritti ai webinar"}},
        key=write_key,
    )
    update = 'mutation($input: TagUpdateInput!) { updateTag(code: "webinar", input: $input) { name description } }'
    renamed = (await gql(client, update, {"input": {"name": "Webinar 2026"}}, key=write_key)).ok()
    assert renamed["updateTag"] == {"name": "Webinar 2026", "description": "Iscritti ai webinar"}
    cleared = (await gql(client, update, {"input": {"description": None}}, key=write_key)).ok()
    assert cleared["updateTag"] == {"name": "Webinar 2026", "description": None}
    refused = await gql(client, update, {"input": {"name": None}}, key=write_key)
    assert refused.codes == ["BAD_USER_INPUT"]
