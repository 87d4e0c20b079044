"""/healthz tells the truth about the database, and writes it cannot take fail loudly."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from persistence import sqlite_file
from tests.factories import gql

CREATE = "mutation($e: String!) { createContact(input: {email: $e}) { id } }"
IMPORT = "mutation($t: String!) { importContacts(text: $t) { applied createdCount } }"
COUNT = "query { contacts(first: 1) { totalCount } }"


def sqlite_only(app):
    if not app.state.db.is_sqlite:
        pytest.skip("SQLite's file and page limits")


async def health(client):
    response = await client.get("/healthz")
    return response.status_code, response.json()


async def test_a_full_database_is_503_and_its_writes_fail_loudly_until_there_is_room(
    app, client, write_key
):
    sqlite_only(app)
    (await gql(client, CREATE, {"e": "kept@x.it"}, key=write_key)).ok()
    db = app.state.db
    await db.engine.dispose()  # every connection from now on has the limit
    limit = {"pages": 0}

    def full(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={limit['pages'] or pages}")
        cursor.close()

    event.listen(db.engine.sync_engine, "connect", full)
    rows = "email,first_name\n" + "".join(f"p{i}@x.it,Person {i}\n" for i in range(2000))

    refused = await gql(client, IMPORT, {"t": rows}, key=write_key)

    assert refused.codes == ["UNAVAILABLE"] and refused.data == {"importContacts": None}
    assert "full" in refused.errors[0]["message"]
    status, body = await health(client)
    assert status == 503 and body["database"] == "unavailable" and "full" in body["reason"]
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 1

    limit["pages"] = 1_000_000
    await db.engine.dispose()
    stored = (await gql(client, IMPORT, {"t": rows}, key=write_key)).ok()["importContacts"]
    assert stored == {"applied": True, "createdCount": 2000}
    assert await health(client) == (200, {"status": "ok", "database": "sqlite"})


async def test_a_database_file_that_is_not_writable_is_503_and_refuses_writes(
    app, client, write_key, monkeypatch
):
    sqlite_only(app)
    (await gql(client, CREATE, {"e": "kept@x.it"}, key=write_key)).ok()
    # chmod cannot show it to a test running as root: the check itself is what is faked.
    monkeypatch.setattr(sqlite_file.os, "access", lambda *_args: False)

    status, body = await health(client)
    refused = await gql(client, CREATE, {"e": "lost@x.it"}, key=write_key)

    assert status == 503 and "not writable" in body["reason"]
    assert refused.codes == ["UNAVAILABLE"] and "nothing was stored" in refused.errors[0]["message"]
    monkeypatch.undo()
    assert (await gql(client, COUNT, key=write_key)).ok()["contacts"]["totalCount"] == 1
    assert (await health(client))[0] == 200
