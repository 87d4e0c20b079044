"""Webhooks: what an integrator may register, the body we send, how it is signed, and when a
failed delivery is tried again.

Every request carries `X-Segmento-Timestamp` (unix seconds) and `X-Segmento-Signature`,
`sha256=` + the hex HMAC-SHA256, keyed with the webhook's secret, of `f"{timestamp}.{body}"`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from domain.contacts import clean_text
from domain.errors import InvalidInput
from domain.events import Event, EventType

AUTOMATION = "AUTOMATION"  # deliveries queued by an automation's CALL_WEBHOOK action
MAX_URL = 2000
MAX_NAME = 100
SECRET_LENGTH = (16, 200)
MAX_ERROR = 500
BACKOFF_CAP_SECONDS = 3600.0
SIGNATURE_PREFIX = "sha256="
TIMESTAMP_HEADER = "X-Segmento-Timestamp"
SIGNATURE_HEADER = "X-Segmento-Signature"
EVENT_HEADER = "X-Segmento-Event"
DELIVERY_HEADER = "X-Segmento-Delivery"
_SCHEMES = ("http", "https")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# Maps of user data inside payloads keep their keys as they are (tag codes, properties).
_OPAQUE = frozenset({"tag_points", "properties", "custom_attributes"})


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    updated_at: datetime
    secret: str = field(repr=False)

    @property
    def secret_hint(self) -> str:
        """Enough to recognise a secret, never enough to use it."""
        return "…" + self.secret[-4:]


@dataclass(frozen=True)
class DeliveryAttempt:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        """The failure, as kept in the delivery's `last_error`."""
        return self.error or f"HTTP {self.status_code}"


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    event_type: str
    event_cursor: int | None
    contact_id: int | None
    body: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: tuple[DeliveryAttempt, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    """A leased delivery with what sending it needs. `attempts` is the count before this one."""

    id: int
    webhook_id: int
    url: str
    secret: str = field(repr=False)
    event_type: str
    body: str
    attempts: int


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n failed: try again `base * 2**(n-1)` seconds later (capped), up to
    `max_attempts` attempts in all; then the delivery is FAILED."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = BACKOFF_CAP_SECONDS
    jitter: float = 0.1

    def retry_at(self, attempt: int, now: datetime, spread: float = 0.0) -> datetime | None:
        """When to try again after failed attempt number `attempt` (None: give up)."""
        if attempt >= self.max_attempts:
            return None
        delay = next_delay(attempt, self.base_seconds, self.cap_seconds,
                           jitter=self.jitter, spread=spread)  # fmt: skip
        return now + timedelta(seconds=delay)


def next_delay(
    attempts: int, base_seconds: float, cap: float, *, jitter: float = 0.0, spread: float = 0.0
) -> float:
    """Seconds to wait after `attempts` failed attempts: base * 2**(attempts-1), at most `cap`,
    stretched by up to `jitter` (a fraction) times `spread` (in [0, 1), chosen by the caller so
    that deliveries failing together do not retry in lockstep)."""
    if attempts < 1:
        return 0.0
    delay = min(cap, base_seconds * 2.0 ** min(attempts - 1, 62))
    return delay * (1.0 + jitter * min(max(spread, 0.0), 1.0))


def spread_for(delivery_id: int) -> float:
    """A fixed fraction in [0, 1) per delivery (golden-ratio sequence): deterministic jitter."""
    return (delivery_id * 0.6180339887498949) % 1.0


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def clean_name(raw: str | None) -> str:
    name = clean_text(raw, "name", required=True)
    assert name is not None
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is longer than {MAX_NAME} characters", field="name")
    return name


def clean_url(raw: str | None) -> str:
    """An absolute http(s) URL with a host, at most 2,000 characters."""
    value = (raw or "").strip()
    if not value:
        raise InvalidInput("url is required: the http(s) address to send events to", field="url")
    if len(value) > MAX_URL:
        raise InvalidInput(f"url is longer than {MAX_URL} characters", field="url")
    if _CONTROL.search(value):
        raise InvalidInput("url must not contain spaces or control characters", field="url")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidInput(f"url {value!r} is not a valid URL", field="url") from None
    if parts.scheme.lower() not in _SCHEMES:
        shown = f"{parts.scheme!r}" if parts.scheme else "none"
        raise InvalidInput(
            f"url must start with http:// or https:// (scheme {shown} is not allowed)",
            field="url",
        )
    if not parts.hostname:
        raise InvalidInput(f"url {value!r} has no host", field="url")
    return value


def allowed_event_types() -> tuple[str, ...]:
    return (*(t.value for t in EventType), AUTOMATION)


def clean_event_types(raw: Iterable[str] | None) -> tuple[str, ...]:
    """The event types a webhook wants, upper-cased, each once, in the order given."""
    allowed = allowed_event_types()
    out: list[str] = []
    for index, item in enumerate(raw or ()):
        value = item.strip().upper()
        if value not in allowed:
            raise InvalidInput(
                f"unknown event type {item!r}; use any of {', '.join(allowed)}",
                field=f"eventTypes[{index}]",
            )
        if value not in out:
            out.append(value)
    if not out:
        raise InvalidInput(
            f"give at least one event type: any of {', '.join(allowed)}", field="eventTypes"
        )
    return tuple(out)


def clean_secret(raw: str) -> str:
    low, high = SECRET_LENGTH
    if not low <= len(raw) <= high or _CONTROL.search(raw):
        raise InvalidInput(
            f"secret must be {low}-{high} characters without spaces; leave it out to get a "
            "random one",
            field="secret",
        )
    return raw


def clip_error(message: str) -> str:
    return message if len(message) <= MAX_ERROR else message[: MAX_ERROR - 1] + "…"


_CAMELS: dict[str, str] = {}  # payload field names seen: a small, fixed set


def _camel(key: str) -> str:
    found = _CAMELS.get(key)
    if found is None:
        head, *rest = key.split("_")
        found = head + "".join(part[:1].upper() + part[1:] for part in rest)
        if len(_CAMELS) < 1000:
            _CAMELS[key] = found
    return found


_AS_IS = (str, float, bool, type(None))


def camel_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """Payload keys as the GraphQL API spells them (`old_score` -> `oldScore`), recursively,
    and ids as strings (`company_id: 4` -> `companyId: "4"`), as GraphQL IDs are; maps of
    user data (tag points, properties) stay as they are."""
    return {_camel(k): v if type(v) in _AS_IS else _camel_value(k, v) for k, v in data.items()}


def _camel_value(key: str, value: Any) -> Any:
    if key in _OPAQUE:
        return value
    if (key == "id" or key.endswith("_id")) and type(value) is int:
        return str(value)
    if isinstance(value, Mapping):
        return camel_keys(value)
    if isinstance(value, list | tuple):
        return [camel_keys(v) if isinstance(v, Mapping) else v for v in value]
    return value


def envelope(
    event_type: str,
    data: Mapping[str, Any],
    at: datetime,
    contact_id: int | None,
    event_id: int | None,
) -> dict[str, Any]:
    """The JSON body: `id` is the event's cursor (the same for every webhook; null for
    automation calls without one), `data` the event's fields."""
    return {
        "id": str(event_id) if event_id else None,
        "type": event_type,
        "at": at.isoformat(),
        "contactId": str(contact_id) if contact_id is not None else None,
        "data": camel_keys(data),
    }


def event_envelope(event: Event) -> dict[str, Any]:
    return envelope(event.type.value, event.payload, event.at, event.contact_id, event.cursor)


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """`sha256=` + hex HMAC-SHA256 of `f"{timestamp}.{body}"`, keyed with the secret."""
    message = str(timestamp).encode() + b"." + _bytes(body)
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    now: float | None = None,
    tolerance_seconds: int = 300,
) -> bool:
    """What a receiver checks: the signature (constant-time) and, when `now` (unix seconds)
    is given, that the timestamp is at most `tolerance_seconds` away from it."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if now is not None and abs(now - stamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def headers(
    secret: str, delivery_id: int, event_type: str, body: bytes | str, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Segmento-Webhooks/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: str(delivery_id),
    }
