"""Webhook deliveries POSTed with httpx: the `WebhookSenders` port of `services/ports.py`.

Every connection goes through `GuardedBackend`: the host is resolved at that moment (not
when the webhook was saved: DNS rebinding), every address it resolves to is checked against
the network policy, and the socket is opened to a checked address — never to the name again.
TLS still names the host (SNI and the certificate check). A failure is recorded as a status
code or a generic reason, never the receiver's text nor the network's error message: what
comes back must not let an admin read or map the server's network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterable, Mapping
from http import HTTPStatus

import httpcore
import httpx

from services.ports import SendResult
from services.targets import TargetGuard, TargetRefused

log = logging.getLogger("segmento.webhooks")
FORBIDDEN = "target resolves to a forbidden address"
UNRESOLVED = "could not resolve the host"
UNREACHABLE = "could not connect"
BROKEN = "the connection failed"
TIMED_OUT = "timed out"


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`), off the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in found))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network, but a TCP connection is only opened to an address `targets` has
    just vetted for the host asked for (each in turn until one answers)."""

    def __init__(
        self, targets: TargetGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.targets = targets
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.targets.addresses(host, port)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout,
                                                    local_address=local_address,
                                                    socket_options=socket_options)  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a `GuardedBackend`; no proxy from the environment (a proxy
    would resolve and connect in our stead, unchecked). Certificates are checked against
    certifi's authorities, or `SSL_CERT_FILE` / `SSL_CERT_DIR` (an on-premise CA)."""

    def __init__(self, targets: TargetGuard) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend (yet): its pool is replaced by an equal one on ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(targets),
        )


class HttpWebhookSender:
    """POSTs on one httpx client; every failure is a `SendResult`, never an exception."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """A 2xx is success; anything else is its status code, or a generic reason."""
        try:
            async with self.client.stream("POST", url, content=body, headers=headers) as answer:
                if 200 <= answer.status_code < 300:
                    return SendResult(answer.status_code)
                return SendResult(answer.status_code, status_text(answer.status_code))
        except TimeoutError:
            raise  # the worker's deadline: it says how long it waited
        except Exception as error:  # refused, reset, TLS, a URL httpx cannot use…: a failure
            reason = generic_reason(error)
            log.info("webhook POST to %s failed: %s (%r)", url, reason, error)
            return SendResult(None, reason)


def status_text(code: int) -> str:
    """`HTTP 503 Service Unavailable`: the code and its standard phrase, not the receiver's."""
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def generic_reason(error: BaseException) -> str:
    """What may be stored of a failure: open, closed and filtered ports look alike."""
    if isinstance(error, TargetRefused):
        return FORBIDDEN
    if isinstance(error, OSError):  # the lookup: the backend's own errors are httpcore's
        return UNRESOLVED
    if isinstance(error, httpx.TimeoutException):
        return TIMED_OUT
    if isinstance(error, httpx.ConnectError):
        return UNREACHABLE
    return BROKEN


class HttpWebhookSenders:
    """Opens one httpx client per worker run, on the guarded network; redirects are not
    followed (a 3xx is a failed attempt). `transport` replaces the network instead (tests
    pass an `httpx.MockTransport`)."""

    def __init__(
        self,
        targets: TargetGuard | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if (targets is None) == (transport is None):
            raise ValueError("give the network guard, or (tests) a transport replacing it")
        self._targets = targets
        self._transport = transport

    @contextlib.asynccontextmanager
    async def open(self, timeout_seconds: float) -> AsyncIterator[HttpWebhookSender]:
        timeout = httpx.Timeout(timeout_seconds)
        transport = self._transport
        if self._targets is not None:
            transport = GuardedTransport(self._targets)
        client = httpx.AsyncClient(
            timeout=timeout, transport=transport, follow_redirects=False, trust_env=False
        )
        async with client:
            yield HttpWebhookSender(client)
