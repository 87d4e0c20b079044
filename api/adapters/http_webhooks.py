"""Webhook deliveries POSTed with httpx: the `WebhookSenders` port of `services/ports.py`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx

from services.ports import SendResult


class HttpWebhookSender:
    """POSTs on one httpx client; every failure is a `SendResult`, never an exception."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """A 2xx is success; anything else is an error with the start of its text."""
        try:
            async with self.client.stream("POST", url, content=body, headers=headers) as answer:
                if 200 <= answer.status_code < 300:
                    return SendResult(answer.status_code)
                text = await _read_some(answer, 200)
                reason = f"HTTP {answer.status_code} {answer.reason_phrase}".strip()
                return SendResult(answer.status_code, f"{reason}: {text}" if text else reason)
        except TimeoutError:
            raise  # the worker's deadline: it says how long it waited
        except Exception as error:  # refused, reset, TLS, a URL httpx cannot use…: a failure
            return SendResult(None, f"{type(error).__name__}: {error}".rstrip(": "))


class HttpWebhookSenders:
    """Opens one httpx client per worker run. `transport` replaces the network (tests pass
    an `httpx.MockTransport`)."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    @contextlib.asynccontextmanager
    async def open(self, timeout_seconds: float) -> AsyncIterator[HttpWebhookSender]:
        timeout = httpx.Timeout(timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, transport=self._transport) as client:
            yield HttpWebhookSender(client)


async def _read_some(response: httpx.Response, limit: int) -> str:
    """The start of a response body, without reading a large one whole."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return " ".join(data[:limit].decode(errors="replace").split())
