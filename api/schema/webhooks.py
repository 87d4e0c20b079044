"""Webhook types (admin only): webhooks, their deliveries and the attempts of each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.context import AppInfo
from api.schema.fields import field
from api.schema.inputs import UNSET, set_fields
from api.schema.pagination import Connection, connection_from
from domain.pagination import page_request
from domain.webhooks import Delivery, DeliveryAttempt, DeliveryStatus
from domain.webhooks import Webhook as WebhookRecord
from services import webhooks

strawberry.enum(
    DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING: queued or waiting for a retry; DELIVERED: a 2xx was received; "
    "FAILED: every attempt failed (retryWebhookDelivery tries again).",
)
DeliveryStatusEnum = DeliveryStatus


@strawberry.type(description="One HTTP request of a delivery.")
class WebhookAttempt:
    attempt: int = strawberry.field(description="1 for the first attempt, then 2, 3…")
    at: datetime
    status_code: int | None = strawberry.field(description="null when no answer came.")
    error: str | None = strawberry.field(
        description="null when the receiver answered 2xx; else the status code and its "
        "standard phrase, or a generic reason (never the answer's text)."
    )
    duration_ms: int

    @classmethod
    def from_domain(cls, a: DeliveryAttempt) -> WebhookAttempt:
        return cls(attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error,
                   duration_ms=a.duration_ms)  # fmt: skip


@strawberry.type(description="One event (or automation call) to send to one webhook.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="Also sent as X-Segmento-Delivery.")
    event_type: str
    event_cursor: str | None = strawberry.field(
        description="The event's cursor (the body's `id`); null for automation calls."
    )
    contact_id: strawberry.ID | None
    status: DeliveryStatusEnum
    attempt_count: int
    next_attempt_at: datetime | None = strawberry.field(description="Set while PENDING.")
    last_error: str | None = strawberry.field(description="The last attempt's `error`.")
    created_at: datetime
    delivered_at: datetime | None
    body: str = strawberry.field(description="The exact JSON text that is signed and sent.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Oldest first.")

    @classmethod
    def from_domain(cls, d: Delivery) -> WebhookDelivery:
        pending = d.status is DeliveryStatus.PENDING
        return cls(
            id=strawberry.ID(str(d.id)),
            event_type=d.event_type,
            event_cursor=str(d.event_cursor) if d.event_cursor else None,
            contact_id=strawberry.ID(str(d.contact_id)) if d.contact_id is not None else None,
            status=d.status,
            attempt_count=d.attempts,
            next_attempt_at=d.next_attempt_at if pending else None,
            last_error=d.last_error,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            body=d.body,
            attempts=[WebhookAttempt.from_domain(a) for a in d.attempt_log],
        )


@strawberry.type(description="An integrator's endpoint that receives signed event POSTs.")
class Webhook:
    id: strawberry.ID
    name: str
    url: str
    event_types: list[str]
    active: bool = strawberry.field(description="Inactive webhooks queue nothing and send nothing.")
    secret_hint: str = strawberry.field(
        description="The last characters of the secret, to recognise it. The secret itself is "
        "shown only by createWebhook."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, w: WebhookRecord) -> Webhook:
        return cls(id=strawberry.ID(str(w.id)), name=w.name, url=w.url,
                   event_types=list(w.event_types), active=w.active, secret_hint=w.secret_hint,
                   created_at=w.created_at, updated_at=w.updated_at)  # fmt: skip

    @field(description="The delivery log, newest first.")
    async def deliveries(
        self,
        info: AppInfo,
        status: DeliveryStatusEnum | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        uows, webhook_id = info.context.uows, int(self.id)
        page = page_request(first, after, None, None, "ID")
        found = await webhooks.deliveries(uows, webhook_id, status, page)
        count = lambda: webhooks.count_deliveries(uows, webhook_id, status)  # noqa: E731
        return connection_from(found, WebhookDelivery.from_domain, count)


@strawberry.type
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(
        description="Signs every request (X-Segmento-Signature). Shown once; store it now."
    )


@strawberry.input
class WebhookInput:
    name: str
    url: str = strawberry.field(
        description="http:// or https://, at most 2,000 characters, to a public address: a "
        "host in (or resolving to) a loopback, private, link-local, CGNAT, multicast or "
        "reserved range is BAD_USER_INPUT unless the operator allows it."
    )
    event_types: list[str] = strawberry.field(
        description="Event types to receive (SCORE_CHANGED, TIER_CHANGED, …, AUTOMATION)."
    )
    secret: str | None = strawberry.field(
        default=None, description="16-200 characters; left out, a random one is made."
    )
    active: bool = True


@strawberry.input(description="Fields left out keep their value.")
class WebhookUpdateInput:
    name: str | None = UNSET
    url: str | None = UNSET
    event_types: list[str] | None = UNSET
    secret: str | None = strawberry.field(
        default=UNSET, description="A new secret (rotation); it cannot be read back."
    )
    active: bool | None = UNSET

    def to_values(self) -> dict[str, Any]:
        return set_fields(self)
