"""Where webhooks may connect (SSRF): a URL's host is checked against the operator's network
policy when a webhook is registered or changed, and again, resolved anew, before every
connection a delivery makes (DNS rebinding) — see `domain/network.py`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.errors import InvalidInput
from domain.network import (
    Address,
    NetworkPolicy,
    Refusal,
    normalise_host,
    parse_ip,
    refusal_message,
    to_address,
)
from services.ports import Resolver

REGISTRATION_LOOKUP_SECONDS = 5.0


class TargetRefused(Exception):
    """The host is, or resolves to, an address the policy forbids."""

    def __init__(self, host: str, refusal: Refusal, *, resolved: bool) -> None:
        super().__init__(refusal_message(host, refusal, resolved=resolved))
        self.host, self.refusal, self.resolved = host, refusal, resolved


@dataclass(frozen=True)
class TargetGuard:
    policy: NetworkPolicy
    resolver: Resolver

    async def addresses(self, host: str, port: int) -> list[Address]:
        """What to connect to: every address `host` resolves to, none of them forbidden.
        Raises TargetRefused, or OSError when the host does not resolve."""
        refusal = self.policy.refuse_host(host)
        if refusal is not None:
            raise TargetRefused(host, refusal, resolved=False)
        literal = parse_ip(host)
        if literal is not None:
            return [literal]
        found = [to_address(a) for a in await self.resolver.resolve(normalise_host(host), port)]
        if not found:
            raise OSError(f"{host} resolves to no address")
        refusal = self.policy.refuse_resolved(host, found)
        if refusal is not None:
            raise TargetRefused(host, refusal, resolved=True)
        return found

    async def check_url(self, url: str) -> None:
        """At registration: InvalidInput (on `url`) when the host is or resolves to a
        forbidden address. A name that does not resolve (yet) passes: every delivery
        resolves it again before connecting."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            async with asyncio.timeout(REGISTRATION_LOOKUP_SECONDS):
                await self.addresses(host, port)
        except TargetRefused as refused:
            raise InvalidInput(str(refused), field="url") from None
        except (OSError, TimeoutError, UnicodeError, ValueError):
            return
