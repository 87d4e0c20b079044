"""`segmento demo --stream` in its own process, while `segmento serve` runs on the same SQLite
file: the server's live subscribers see the scores move."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import Live, first_key, free_port, post, sqlite_url, start, stop, wait_healthy

pytestmark = pytest.mark.e2e


async def test_demo_stream_moves_the_subscribers_of_a_server_in_another_process(
    tmp_path: Path,
) -> None:
    # given a server, and a subscriber to its score changes
    url, port = sqlite_url(tmp_path / "stream.db"), free_port()
    server = start(url, port, {"SEGMENTO_DECAY_INTERVAL_SECONDS": "0"})
    try:
        key = first_key(server)
        wait_healthy(port, server)
        live = await Live.connect(port, key)
        query = "subscription($after: String) { scoreChanged(after: $after) { cursor delta } }"
        await live.subscribe("s", query, {"after": live.cursor})
        # when `segmento demo --stream` runs in its own process on the same database
        demo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api.cli", "demo", "--contacts", "40", "--companies", "4",
            "--stream", "--rate", "100", "--limit", "60",
            "--url", f"http://127.0.0.1:{port}/graphql",
            env={**os.environ, "DATABASE_URL": url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        # then the server's subscriber sees the scores move, live
        message = await live.next(wait=60)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["scoreChanged"]["cursor"]
        out, _ = await asyncio.wait_for(demo.communicate(), 60)
        assert demo.returncode == 0, out.decode()
        assert "demo stream: 60 interactions recorded" in out.decode()
        await live.close()
        # and the key it was given for the stream was revoked when it stopped
        keys = (await post(port, key, "{ apiKeys { name revokedAt } }"))["apiKeys"]
        stream_keys = [k for k in keys if k["name"] == "segmento demo --stream"]
        assert len(stream_keys) == 1 and stream_keys[0]["revokedAt"]
    finally:
        stop(server)


def test_demo_stream_says_plainly_when_no_server_answers(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--contacts", "5", "--companies", "1",
         "--stream", "--url", f"http://127.0.0.1:{free_port()}/graphql"],
        env={**os.environ, "DATABASE_URL": sqlite_url(tmp_path / "alone.db")},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no server answers at" in done.stderr and "start the server first" in done.stderr
