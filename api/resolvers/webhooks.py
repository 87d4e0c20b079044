"""Webhook administration and the delivery log (admin scope)."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.permissions import IsAdmin
from api.schema.webhooks import (
    CreatedWebhook,
    Webhook,
    WebhookDelivery,
    WebhookInput,
    WebhookUpdateInput,
)
from domain.errors import parse_id
from services import webhooks


async def webhook_list(info: AppInfo) -> list[Webhook]:
    return [Webhook.from_domain(w) for w in await webhooks.list_webhooks(info.context.uows)]


async def webhook(info: AppInfo, id: strawberry.ID) -> Webhook:
    found = await webhooks.get_webhook(info.context.uows, parse_id(id, "webhook"))
    return Webhook.from_domain(found)


async def create_webhook(info: AppInfo, input: WebhookInput) -> CreatedWebhook:
    ctx = info.context
    created, secret = await webhooks.create_webhook(
        ctx.uows, input.name, input.url, input.event_types, input.secret, input.active,
        ctx.clock(), targets=ctx.targets,
    )  # fmt: skip
    return CreatedWebhook(webhook=Webhook.from_domain(created), secret=secret)


async def update_webhook(info: AppInfo, id: strawberry.ID, input: WebhookUpdateInput) -> Webhook:
    ctx = info.context
    updated = await webhooks.update_webhook(
        ctx.uows, parse_id(id, "webhook"), input.to_values(), ctx.clock(), targets=ctx.targets
    )
    return Webhook.from_domain(updated)


async def delete_webhook(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    await webhooks.delete_webhook(info.context.uows, parse_id(id, "webhook"))
    return id


async def retry_webhook_delivery(info: AppInfo, id: strawberry.ID) -> WebhookDelivery:
    ctx = info.context
    found = await webhooks.retry_delivery(ctx.uows, parse_id(id, "webhook delivery"), ctx.clock())
    return WebhookDelivery.from_domain(found)


@strawberry.type
class WebhookQueries:
    webhooks: list[Webhook] | None = strawberry.field(
        resolver=webhook_list,
        permission_classes=[IsAdmin.doing("reading webhooks")],
        description="Admin. Every webhook, by name.",
    )
    webhook: Webhook | None = strawberry.field(
        resolver=webhook,
        permission_classes=[IsAdmin.doing("reading webhooks")],
        description="Admin. With its delivery log.",
    )


@strawberry.type
class WebhookMutations:
    create_webhook: CreatedWebhook | None = strawberry.field(
        resolver=create_webhook,
        permission_classes=[IsAdmin.doing("creating webhooks")],
        description="Admin. The secret is shown only here.",
    )
    update_webhook: Webhook | None = strawberry.field(
        resolver=update_webhook,
        permission_classes=[IsAdmin.doing("changing webhooks")],
        description="Admin. Fields left out keep their value.",
    )
    delete_webhook: strawberry.ID | None = strawberry.field(
        resolver=delete_webhook,
        permission_classes=[IsAdmin.doing("deleting webhooks")],
        description="Admin. Its delivery log goes with it.",
    )
    retry_webhook_delivery: WebhookDelivery | None = strawberry.field(
        resolver=retry_webhook_delivery,
        permission_classes=[IsAdmin.doing("retrying webhook deliveries")],
        description="Admin. A FAILED delivery gets one more attempt, at once.",
    )
