"""importContacts: CSV text or a multipart upload, reported by line, atomic, idempotent."""

from __future__ import annotations

import gc
import json
from datetime import timedelta

import pytest

from persistence.repositories import ContactRepository
from services import csv_io
from tests.factories import gql

IMPORT = """
mutation ImportContacts($file: Upload, $text: String, $mapping: [ColumnMappingInput!],
                        $strict: Boolean! = false, $dryRun: Boolean! = false) {
  importContacts(file: $file, text: $text, mapping: $mapping, strict: $strict, dryRun: $dryRun) {
    applied fileRefused rowCount createdCount updatedCount unchangedCount rejectedCount
    skippedColumns problemsLeftOut
    problems { line column code message }
  }
}
"""
EMAILS = "{ contacts(first: 100, orderBy: {field: EMAIL, direction: ASC}) { edges { node { email city updatedAt } } } }"

GOOD_AND_BAD = (
    "email,first_name,city,contact_type\n"  # line 1
    "anna@x.it,Anna,Roma,PROSPECT\n"  # 2
    "not-an-email,Bo,Milano,\n"  # 3 invalid email
    "carla@x.it,Carla,Bari,VIP\n"  # 4 bad enum
    "dario@x.it,Dario,Torino,,extra\n"  # 5 value in an unknown column
    "ANNA@x.it,Anna bis,Napoli,\n"  # 6 duplicate of line 2
    "elena@x.it,Elena,,client\n"  # 7
)


async def run(client, key, **variables):
    return (await gql(client, IMPORT, variables, key=key)).ok()["importContacts"]


async def stored(client, key):
    edges = (await gql(client, EMAILS, key=key)).ok()["contacts"]["edges"]
    return {e["node"]["email"]: e["node"] for e in edges}


async def test_bad_rows_are_reported_by_line_and_the_good_rows_are_stored(client, write_key):
    report = await run(client, write_key, text=GOOD_AND_BAD)

    assert report["applied"] is True
    assert (report["rowCount"], report["createdCount"], report["rejectedCount"]) == (6, 2, 4)
    problems = {p["line"]: p for p in report["problems"]}
    assert sorted(problems) == [3, 4, 5, 6]
    assert problems[3]["column"] == "email" and "not a valid email" in problems[3]["message"]
    assert problems[4]["column"] == "contact_type" and "VIP" in problems[4]["message"]
    assert "unknown column" in problems[5]["message"]
    assert problems[6]["code"] == "CONFLICT" and "line 2" in problems[6]["message"]
    assert set(await stored(client, write_key)) == {"anna@x.it", "elena@x.it"}


async def test_strict_mode_stores_nothing_when_a_row_is_bad(client, write_key):
    report = await run(client, write_key, text=GOOD_AND_BAD, strict=True)

    assert report["applied"] is False and report["rejectedCount"] == 4
    assert report["createdCount"] == 2  # what it would have done
    assert [p["line"] for p in report["problems"]] == [3, 4, 5, 6]
    assert await stored(client, write_key) == {}


async def test_strict_mode_stores_a_clean_file(client, write_key):
    report = await run(client, write_key, text="email\na@x.it\nb@x.it\n", strict=True)

    assert report["applied"] is True and report["createdCount"] == 2


async def test_an_unknown_header_column_refuses_the_whole_file_naming_the_column(client, write_key):
    text = "email,city,Shoe size\na@x.it,Roma,42\n"

    report = await run(client, write_key, text=text)

    assert report["applied"] is False and report["fileRefused"] is True
    assert report["problems"][0]["line"] == 1 and report["problems"][0]["column"] == "Shoe size"
    assert "unknown column 'Shoe size'" in report["problems"][0]["message"]
    assert await stored(client, write_key) == {}


async def test_a_mapping_names_columns_and_skips_others(client, write_key):
    text = "Posta,Città,Shoe size\na@x.it,Roma,42\n"
    mapping = [
        {"column": "posta", "field": "email"},
        {"column": "Città", "field": "city"},
        {"column": "Shoe size", "field": "-"},
    ]

    report = await run(client, write_key, text=text, mapping=mapping)

    assert report["applied"] is True and report["skippedColumns"] == ["Shoe size"]
    assert (await stored(client, write_key))["a@x.it"]["city"] == "Roma"


async def test_reimporting_the_same_file_changes_nothing(client, write_key, clock):
    first = await run(client, write_key, text=GOOD_AND_BAD)
    before = await stored(client, write_key)
    clock.now += timedelta(days=1)

    again = await run(client, write_key, text=GOOD_AND_BAD)

    assert (first["createdCount"], first["updatedCount"], first["unchangedCount"]) == (2, 0, 0)
    assert (again["createdCount"], again["updatedCount"], again["unchangedCount"]) == (0, 0, 2)
    assert again["rejectedCount"] == 4
    assert await stored(client, write_key) == before  # updatedAt included


async def test_only_changed_rows_are_updated(client, write_key, clock):
    await run(client, write_key, text="email,city\na@x.it,Roma\nb@x.it,Bari\n")
    before = await stored(client, write_key)
    clock.now += timedelta(days=1)

    report = await run(client, write_key, text="email,city\na@x.it,Roma\nb@x.it,Lecce\n")

    after = await stored(client, write_key)
    assert (report["updatedCount"], report["unchangedCount"]) == (1, 1)
    assert after["a@x.it"] == before["a@x.it"]
    assert after["b@x.it"]["city"] == "Lecce"
    assert after["b@x.it"]["updatedAt"] != before["b@x.it"]["updatedAt"]


async def test_a_dry_run_counts_and_stores_nothing(client, write_key):
    report = await run(client, write_key, text=GOOD_AND_BAD, dryRun=True)

    assert report["applied"] is False and report["createdCount"] == 2
    assert await stored(client, write_key) == {}


async def test_companies_are_found_by_name(client, write_key):
    create = 'mutation { createCompany(input: {name: "Acme Srl"}) { id } }'
    company_id = (await gql(client, create, key=write_key)).ok()["createCompany"]["id"]
    text = "email,company\na@x.it,acme srl\nb@x.it,Nobody Spa\n"

    report = await run(client, write_key, text=text)

    assert report["createdCount"] == 1
    assert report["problems"][0]["code"] == "NOT_FOUND" and report["problems"][0]["line"] == 3
    query = '{ contactByEmail(email: "a@x.it") { company { id } } }'
    contact = (await gql(client, query, key=write_key)).ok()["contactByEmail"]
    assert contact["company"]["id"] == company_id


async def test_a_database_error_half_way_stores_nothing(uows, clock, monkeypatch):
    monkeypatch.setattr(csv_io, "CHUNK", 10)
    calls = 0
    real = ContactRepository.insert_contacts

    async def failing(self, items, now):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("database went away")
        return await real(self, items, now)

    monkeypatch.setattr(ContactRepository, "insert_contacts", failing)
    lines = ["email\n", *(f"p{i}@x.it\n" for i in range(25))]

    with pytest.raises(RuntimeError):
        await csv_io.import_contacts(uows, lines, clock())

    async with uows() as uow:
        assert await uow.contacts.count(None, clock()) == 0


async def test_a_multipart_upload_is_imported(client, write_key):
    body = ("\ufeffemail;first_name\r\nup1@x.it;Uno\r\nup2@x.it;Due\r\n").encode()
    operations = {"query": IMPORT, "variables": {"file": None}}

    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("contacts.csv", body, "text/csv")},
        headers={"authorization": f"Bearer {write_key}"},
    )

    report = response.json()["data"]["importContacts"]
    assert report["applied"] is True and report["createdCount"] == 2
    assert set(await stored(client, write_key)) == {"up1@x.it", "up2@x.it"}


# The view refuses the request before any resolver runs; it still closes the parsed upload
# (an unclosed one warns when collected, and warnings fail the tests): collected here.
async def test_a_multipart_upload_without_a_key_is_refused(client, write_key):
    operations = {"query": IMPORT, "variables": {"file": None}}

    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("contacts.csv", b"email\nsneaky@x.it\n", "text/csv")},
        headers={"accept": "application/graphql-response+json"},
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await stored(client, write_key) == {}
    del response
    gc.collect()


async def test_a_read_key_cannot_import(client, read_key):
    result = await gql(client, IMPORT, {"text": "email\na@x.it\n"}, key=read_key)

    assert result.codes == ["FORBIDDEN"]


async def test_file_and_text_together_or_neither_is_bad_input(client, write_key):
    result = await gql(client, IMPORT, {}, key=write_key)

    assert result.codes == ["BAD_USER_INPUT"]


async def test_an_empty_file_is_bad_input(client, write_key):
    assert (await gql(client, IMPORT, {"text": ""}, key=write_key)).codes == ["BAD_USER_INPUT"]
