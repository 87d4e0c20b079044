"""A real server whose SQLite file is deleted or replaced under it: /healthz answers 503 and
writes are refused, instead of being acknowledged into a file nobody will open again."""

from __future__ import annotations

import os
import shutil
import sqlite3

import httpx
import pytest

from tests.servers import first_key, free_port, sqlite_url, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

CREATE = "mutation($e: String!) { createContact(input: {email: $e}) { email } }"


def graphql(port, key, email):
    return httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": CREATE, "variables": {"e": email}},
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    ).json()


def emails(db):
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT email FROM contact ORDER BY id")]


def serving(db):
    port = free_port()
    server = start(sqlite_url(db), port)
    key = first_key(server)
    wait_healthy(port, server)
    assert graphql(port, key, "kept@x.it") == {"data": {"createContact": {"email": "kept@x.it"}}}
    return port, server, key


def refused(port, key):
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    answer = graphql(port, key, "lost@x.it")
    assert answer["data"] == {"createContact": None}, answer
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["UNAVAILABLE"]
    return health


def test_a_deleted_database_file_is_503_and_writes_are_refused(tmp_path):
    db = tmp_path / "gone.db"
    port, server, key = serving(db)
    try:
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{db}{suffix}")

        health = refused(port, key)
    finally:
        stop(server)

    assert health.status_code == 503
    assert health.json() == {
        "status": "error", "database": "unavailable", "reason": "the database file is gone",
    }  # fmt: skip
    assert not db.exists(), "the server must not open a new, empty database in its place"


def test_a_replaced_database_file_is_503_and_nothing_is_written_to_either(tmp_path):
    db, copy = tmp_path / "served.db", tmp_path / "copy.db"
    port, server, key = serving(db)
    try:
        with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        os.replace(copy, db)

        health = refused(port, key)
    finally:
        stop(server)

    assert health.status_code == 503 and "replaced" in health.json()["reason"]
    assert emails(db) == ["kept@x.it"]
    shutil.rmtree(tmp_path, ignore_errors=True)
