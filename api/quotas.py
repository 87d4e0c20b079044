"""Request quotas per API key (token buckets, `domain/quotas.py`), by the key's scope.

HTTP requests to /graphql and /export/contacts.csv take a token before anything else runs;
without one: HTTP 429, `Retry-After` (whole seconds) and a GraphQL-shaped body with
`extensions.code = RATE_LIMITED`. WebSocket operations take from the same bucket
(`api/ws.py`). Requests without a valid key (introspection is all they may run) share a
small quota per client address.

The buckets live in this process's memory: with `segmento serve --workers N` each worker
keeps its own, so a key may get up to N times its quota across the workers. Nothing is
stored, so a restart refills every bucket.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from graphql import GraphQLError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.metrics import Metrics
from api.settings import Settings
from domain.auth import Principal
from domain.auth import Scope as KeyScope
from domain.quotas import Buckets, Rate, retry_after_seconds

RATE_LIMITED = "RATE_LIMITED"
LIMITED_PATHS = frozenset({"/graphql", "/export/contacts.csv"})


class Quotas:
    def __init__(
        self, settings: Settings, metrics: Metrics, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rates = {
            KeyScope.READ: Rate(settings.rate_read, settings.burst_read),
            KeyScope.WRITE: Rate(settings.rate_write, settings.burst_write),
            KeyScope.ADMIN: Rate(settings.rate_admin, settings.burst_admin),
        }
        self.anonymous = Rate(settings.rate_anonymous, settings.burst_anonymous)
        self.metrics = metrics
        self.monotonic = monotonic
        self.buckets = Buckets()

    def take(self, principal: Principal | None, address: str, reason: str) -> float:
        """0 when the caller may go on; else the seconds it should wait (refusal counted
        under `reason`, `anonymous_` prefixed for callers without a key)."""
        if principal is None:
            wait = self.buckets.take(("address", address), self.anonymous, self.monotonic())
            reason = "anonymous_" + reason
        else:
            rate = self.rates[principal.scope]
            wait = self.buckets.take(("key", principal.key_id), rate, self.monotonic())
        if wait:
            self.metrics.refused.labels(reason).inc()
        return wait


def rate_limited_error(wait: float, anonymous: bool) -> GraphQLError:
    seconds = retry_after_seconds(wait)
    who = "requests without an API key from this address" if anonymous else "this API key"
    return GraphQLError(
        f"too many requests for {who}; retry in {seconds} s",
        extensions={"code": RATE_LIMITED, "retryAfter": seconds},
    )


class QuotaMiddleware:
    """Takes a token for every request to the limited paths; 429 when there is none."""

    def __init__(
        self,
        app: ASGIApp,
        quotas: Quotas,
        authenticate: Callable[[str | None], Awaitable[Principal | None]],
    ) -> None:
        self.app = app
        self.quotas = quotas
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in LIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        principal = await self.authenticate(header.decode("latin-1") if header else None)
        client = scope.get("client")
        wait = self.quotas.take(principal, client[0] if client else "-", "rate_limited")
        if not wait:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"errors": [rate_limited_error(wait, principal is None).formatted]},
            status_code=429,
            headers={"retry-after": str(retry_after_seconds(wait))},
        )
        await response(scope, receive, send)
