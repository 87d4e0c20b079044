"""Bulk upsert by normalised email: per-item errors, valid items stored, idempotent re-send."""

from __future__ import annotations

from tests.factories import gql

UPSERT = """
mutation($contacts: [ContactInput!]!) {
  upsertContacts(contacts: $contacts) {
    createdCount updatedCount errorCount
    results { index created contact { email city } error { code message field } }
  }
}
"""
COUNT = "{ contacts { totalCount } }"


async def count(client, key):
    return (await gql(client, COUNT, key=key)).ok()["contacts"]["totalCount"]


async def test_upsert_creates_then_updates_by_normalised_email(client, write_key):
    batch = [{"email": "A@x.it", "city": "Roma"}, {"email": "b@x.it"}]
    first = (await gql(client, UPSERT, {"contacts": batch}, key=write_key)).ok()["upsertContacts"]
    assert (first["createdCount"], first["updatedCount"], first["errorCount"]) == (2, 0, 0)
    again = [{"email": "a@X.it ", "city": "Milano"}]
    second = (await gql(client, UPSERT, {"contacts": again}, key=write_key)).ok()["upsertContacts"]
    assert second["results"] == [
        {
            "index": 0,
            "created": False,
            "contact": {"email": "a@x.it", "city": "Milano"},
            "error": None,
        }
    ]
    assert await count(client, write_key) == 2


async def test_invalid_items_are_reported_by_index_while_valid_ones_are_stored(client, write_key):
    batch = [
        {"email": "ok1@x.it"},
        {"email": "broken"},
        {"email": "ok2@x.it", "companyId": "777"},
        {"email": "OK1@x.it"},
        {"email": "ok3@x.it"},
    ]
    payload = (await gql(client, UPSERT, {"contacts": batch}, key=write_key)).ok()["upsertContacts"]
    assert (payload["createdCount"], payload["errorCount"]) == (2, 3)
    errors = {r["index"]: r["error"] for r in payload["results"] if r["error"]}
    assert errors[1]["code"] == "BAD_USER_INPUT" and errors[1]["field"] == "email"
    assert errors[2]["code"] == "NOT_FOUND" and errors[2]["field"] == "companyId"
    assert errors[3]["code"] == "CONFLICT" and "index 0" in errors[3]["message"]
    assert [r["index"] for r in payload["results"]] == [0, 1, 2, 3, 4]
    assert await count(client, write_key) == 2


async def test_resending_the_same_batch_creates_nothing_new(client, write_key):
    batch = [{"email": f"p{i}@x.it", "city": "Bari"} for i in range(20)]
    await gql(client, UPSERT, {"contacts": batch}, key=write_key)
    again = (await gql(client, UPSERT, {"contacts": batch}, key=write_key)).ok()["upsertContacts"]
    assert (again["createdCount"], again["updatedCount"]) == (0, 20)
    assert await count(client, write_key) == 20


async def test_batches_over_1000_are_refused_whole(client, write_key):
    batch = [{"email": f"p{i}@x.it"} for i in range(1001)]
    result = await gql(client, UPSERT, {"contacts": batch}, key=write_key)
    assert result.data == {"upsertContacts": None}
    assert result.codes == ["BAD_USER_INPUT"]
    assert "1000" in result.errors[0]["message"]
    assert await count(client, write_key) == 0


async def test_a_batch_of_exactly_1000_is_accepted(client, write_key):
    batch = [{"email": f"p{i}@x.it"} for i in range(1000)]
    payload = (await gql(client, UPSERT, {"contacts": batch}, key=write_key)).ok()["upsertContacts"]
    assert payload["createdCount"] == 1000
    assert await count(client, write_key) == 1000


async def test_an_empty_batch_is_bad_user_input(client, write_key):
    assert (await gql(client, UPSERT, {"contacts": []}, key=write_key)).codes == ["BAD_USER_INPUT"]
