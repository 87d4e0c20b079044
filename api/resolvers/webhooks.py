"""Webhook administration and the delivery log (admin scope)."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.schema.webhooks import (
    CreatedWebhook,
    Webhook,
    WebhookDelivery,
    WebhookInput,
    WebhookUpdateInput,
)
from domain.auth import Scope
from domain.errors import parse_id
from services import webhooks


async def webhook_list(info: AppInfo) -> list[Webhook]:
    info.context.require(Scope.ADMIN, "reading webhooks")
    return [Webhook.from_domain(w) for w in await webhooks.list_webhooks(info.context.uows)]


async def webhook(info: AppInfo, id: strawberry.ID) -> Webhook:
    info.context.require(Scope.ADMIN, "reading webhooks")
    found = await webhooks.get_webhook(info.context.uows, parse_id(id, "webhook"))
    return Webhook.from_domain(found)


async def create_webhook(info: AppInfo, input: WebhookInput) -> CreatedWebhook:
    ctx = info.context
    ctx.require(Scope.ADMIN, "creating webhooks")
    created, secret = await webhooks.create_webhook(
        ctx.uows, input.name, input.url, input.event_types, input.secret, input.active,
        ctx.clock(),
    )  # fmt: skip
    return CreatedWebhook(webhook=Webhook.from_domain(created), secret=secret)


async def update_webhook(info: AppInfo, id: strawberry.ID, input: WebhookUpdateInput) -> Webhook:
    ctx = info.context
    ctx.require(Scope.ADMIN, "changing webhooks")
    updated = await webhooks.update_webhook(
        ctx.uows, parse_id(id, "webhook"), input.to_values(), ctx.clock()
    )
    return Webhook.from_domain(updated)


async def delete_webhook(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    info.context.require(Scope.ADMIN, "deleting webhooks")
    await webhooks.delete_webhook(info.context.uows, parse_id(id, "webhook"))
    return id


async def retry_webhook_delivery(info: AppInfo, id: strawberry.ID) -> WebhookDelivery:
    ctx = info.context
    ctx.require(Scope.ADMIN, "retrying webhook deliveries")
    found = await webhooks.retry_delivery(ctx.uows, parse_id(id, "webhook delivery"), ctx.clock())
    return WebhookDelivery.from_domain(found)
