"""Real server processes and WebSocket clients for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import websockets

KEY_RE = re.compile(r"^\s+(sgm_\S+)$", re.M)
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    database_url: str, port: int, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> subprocess.Popen[str]:
    """`segmento serve` on `port` (more options in `args`), its output captured."""
    full = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--log-level", "warning", *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sqlite_url(db: Path) -> str:
    return f"sqlite+aiosqlite:///{db}"


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


def first_key(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """Reads the server's output up to the bootstrap key it prints on first start; fails
    after `timeout` seconds instead of waiting for ever on a server that hangs silently."""
    assert process.stdout is not None
    stdout, lines = process.stdout, []
    found: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.append(line)
            match = KEY_RE.search(line)
            if match:
                found.put(match.group(1))
                return
        found.put(None)  # the output ended without a key

    threading.Thread(target=read, daemon=True).start()
    try:
        key = found.get(timeout=timeout)
    except queue.Empty:
        key = None
    if key is None:
        raise AssertionError(f"no bootstrap key printed within {timeout:g} s:\n" + "".join(lines))
    return key


async def post(port: int, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {key}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def ack_cursor(ack: dict[str, Any]) -> str:
    """The event cursor a `connection_ack` carries (see the contract's subscription protocol)."""
    cursor = (ack.get("payload") or {}).get("cursor")
    assert isinstance(cursor, str) and cursor.isdigit(), f"no cursor in the ack: {ack}"
    return cursor


async def until_subscribed(port: int, count: int = 1, seconds: float = 30) -> None:
    """Waits until the server at `port` serves `count` live subscriptions (its
    `segmento_live_subscribers` gauge): from then on its events reach them live. For tests
    whose point is the live path; the others subscribe with `after: Live.cursor`."""
    wanted = f"segmento_live_subscribers {float(count)}"
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=10) as client:
        while wanted not in (await client.get(f"http://127.0.0.1:{port}/metrics")).text:
            assert time.monotonic() < deadline, f"no {count} live subscription(s) in {seconds} s"
            await asyncio.sleep(0.05)


class Live:
    """One WebSocket connection speaking either subscription protocol."""

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        # The newest event cursor when the server acknowledged the connection: subscribing
        # with `after` set to it replays whatever was written since, so a test can write
        # at once instead of waiting for the subscription to be live.
        self.cursor: str | None = None

    @classmethod
    async def connect(
        cls, port: int, key: str | None, protocol: str = TRANSPORT_WS, *, ack: bool = True
    ) -> Live:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=[protocol], max_queue=None
        )
        live = cls(ws, protocol)
        payload = {"authorization": f"Bearer {key}"} if key else {}
        await live.send({"type": "connection_init", "payload": payload})
        if ack:
            message = await live.receive()
            while message["type"] == "ka":
                message = await live.receive()
            assert message["type"] == "connection_ack", message
            live.cursor = ack_cursor(message)
        return live

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, wait: float = 10) -> dict[str, Any]:
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), wait)))

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": kind, "payload": payload})

    async def next(self, wait: float = 10) -> dict[str, Any]:
        """The next data/error message (keep-alives skipped)."""
        while True:
            message = await self.receive(wait)
            if message["type"] not in ("ka", "ping", "pong"):
                return message

    async def close(self) -> None:
        await self.ws.close()


class StalledClient:
    """A graphql-transport-ws client that stops reading its socket once subscribed (a
    client library would keep reading into its own memory), with a tiny receive window."""

    def __init__(self, port: int) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.protocol = ClientProtocol(
            parse_uri(f"ws://127.0.0.1:{port}/graphql"), subprotocols=[TRANSPORT_WS]
        )
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self.pending: list[dict[str, Any]] = []
        self.sock.settimeout(10)
        while self.protocol.state.name == "CONNECTING":  # the handshake response
            self.protocol.receive_data(self.sock.recv(65536))
            self.protocol.events_received()
        assert self.protocol.state.name == "OPEN", self.protocol.handshake_exc

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.sock.sendall(data)

    def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def receive(self, wait: float = 10) -> dict[str, Any]:
        """Reads until one whole message arrived (the handshake response is skipped)."""
        self.sock.settimeout(wait)
        while not self.pending:
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                text = getattr(event, "data", None)
                if text is not None and getattr(event, "opcode", None) is not None:
                    self.pending.append(json.loads(text))
            self._flush()  # pongs
        return self.pending.pop(0)

    def close(self) -> None:
        self.sock.close()
