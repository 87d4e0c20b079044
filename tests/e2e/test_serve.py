"""`segmento serve` as a real process: migrates, prints a bootstrap key once, serves."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
KEY_RE = re.compile(r"^\s+(sgm_\S+)$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy in 30 s")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    out, _ = process.communicate(timeout=15)
    return out


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
