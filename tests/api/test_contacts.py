"""Contacts through GraphQL over HTTP: create, read, update, upsert, delete, list."""

from __future__ import annotations

from tests.factories import gql

CONTACT_FIELDS = """
  id email firstName lastName phone jobTitle contactType source funnelStage
  sector region city country customAttributes consent { emailMarketing profiling }
  score tier createdAt updatedAt lastActivityAt fullName company { id name }
"""
CREATE = (
    f"mutation($input: ContactInput!) {{ createContact(input: $input) {{ {CONTACT_FIELDS} }} }}"
)
UPDATE = f"mutation($id: ID!, $input: ContactUpdateInput!) {{ updateContact(id: $id, input: $input) {{ {CONTACT_FIELDS} }} }}"
GET = f"query($id: ID!) {{ contact(id: $id) {{ {CONTACT_FIELDS} }} }}"
BY_EMAIL = "query($email: String!) { contactByEmail(email: $email) { id email } }"
DELETE = "mutation($id: ID!) { deleteContact(id: $id) }"
CREATE_COMPANY = "mutation($input: CompanyInput!) { createCompany(input: $input) { id name } }"


async def test_created_contact_has_normalised_email_and_can_be_read_back(client, write_key):
    # given
    company = (
        await gql(client, CREATE_COMPANY, {"input": {"name": "Rossi S.r.l."}}, key=write_key)
    ).ok()["createCompany"]
    # when
    created = (
        await gql(
            client,
            CREATE,
            {
                "input": {
                    "email": "  Mario.Rossi@Example.IT ",
                    "firstName": "Mario",
                    "lastName": "Rossi",
                    "phone": "+39 333 123 4567",
                    "contactType": "PROSPECT",
                    "source": "EVENT",
                    "funnelStage": "CONSIDERATION",
                    "region": "Lazio",
                    "city": "Roma",
                    "country": "it",
                    "companyId": company["id"],
                    "customAttributes": {"lingua": "it"},
                    "consent": {"emailMarketing": True},
                }
            },
            key=write_key,
        )
    ).ok()["createContact"]
    # then
    assert created["email"] == "mario.rossi@example.it"
    assert created["country"] == "IT"
    assert created["company"] == company
    assert created["consent"] == {"emailMarketing": True, "profiling": False}
    assert created["score"] == 0 and created["tier"] == "Tier 1"
    assert created["fullName"] == "Mario Rossi"
    read = (await gql(client, GET, {"id": created["id"]}, key=write_key)).ok()["contact"]
    assert read == created
    by_email = (
        await gql(client, BY_EMAIL, {"email": "MARIO.ROSSI@example.it"}, key=write_key)
    ).ok()
    assert by_email["contactByEmail"]["id"] == created["id"]


async def test_update_changes_only_the_fields_sent_and_null_clears(client, write_key):
    created = (
        await gql(
            client,
            CREATE,
            {"input": {"email": "a@b.it", "firstName": "Anna", "city": "Milano", "sector": "IT"}},
            key=write_key,
        )
    ).ok()["createContact"]
    updated = (
        await gql(
            client,
            UPDATE,
            {"id": created["id"], "input": {"city": "Bergamo", "sector": None}},
            key=write_key,
        )
    ).ok()["updateContact"]
    assert updated["city"] == "Bergamo"
    assert updated["sector"] is None
    assert updated["firstName"] == "Anna"


async def test_deleted_contact_is_gone(client, write_key):
    created = (await gql(client, CREATE, {"input": {"email": "x@y.it"}}, key=write_key)).ok()[
        "createContact"
    ]
    assert (await gql(client, DELETE, {"id": created["id"]}, key=write_key)).ok() == {
        "deleteContact": created["id"]
    }
    gone = await gql(client, GET, {"id": created["id"]}, key=write_key)
    assert gone.data == {"contact": None}
    assert gone.codes == ["NOT_FOUND"]
