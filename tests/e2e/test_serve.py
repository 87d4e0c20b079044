"""`segmento serve` as a real process: migrates, prints a bootstrap key once, serves."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import KEY_RE, free_port, sqlite_url, stop, wait_healthy
from tests.servers import start as start_url

pytestmark = pytest.mark.e2e


def start(db, port):
    return start_url(sqlite_url(db), port)


def test_serve_bootstraps_an_admin_key_once_and_answers_graphql(tmp_path):
    db, port = tmp_path / "e2e.db", free_port()
    server = start(db, port)
    try:
        wait_healthy(port, server)
    finally:
        first_output = stop(server)
    keys = KEY_RE.findall(first_output)
    assert len(keys) == 1, first_output

    server = start(db, port)
    try:
        wait_healthy(port, server)
        headers = {"authorization": f"Bearer {keys[0]}"}
        created = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": 'mutation { createContact(input: {email: "e2e@example.it"}) { email } }'
            },
            headers=headers,
            timeout=10,
        ).json()
        assert created == {"data": {"createContact": {"email": "e2e@example.it"}}}
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "segmento_http_requests_total" in metrics
    finally:
        second_output = stop(server)
    assert KEY_RE.findall(second_output) == [], "the bootstrap key must be printed only once"
