"""What the use cases need from outside: units of work, a clock, a webhook sender, a
GraphQL client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from persistence.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[..., UnitOfWork]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SendResult:
    """What one webhook POST came to: the HTTP status (None when no answer came) and, unless
    it is a 2xx, what went wrong, in one line."""

    status_code: int | None
    error: str | None = None


class WebhookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """Failures are results, not exceptions (a TimeoutError may pass through)."""
        ...


class WebhookSenders(Protocol):
    def open(self, timeout_seconds: float) -> AbstractAsyncContextManager[WebhookSender]:
        """A sender for one run of the delivery worker, its requests bounded by the timeout;
        closed when the run ends."""
        ...


class GraphQLClient(Protocol):
    """A GraphQL server across the network, reached with one API key."""

    async def execute(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The server's answer (`data`, `errors`). Raises ConnectionError when no server
        answers (or it fails with a 5xx), ValueError when the answer is not a JSON object."""
        ...


GraphQLConnect = Callable[[str, str], GraphQLClient]  # (url, API key) -> a client
