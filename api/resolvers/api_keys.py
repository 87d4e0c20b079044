"""API key administration (admin scope)."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.permissions import IsAdmin
from api.schema.api_key import ApiKey, CreatedApiKey
from api.schema.enums import ApiKeyScope
from domain.errors import parse_id
from services import auth


async def api_keys(info: AppInfo) -> list[ApiKey]:
    return [ApiKey.from_domain(k) for k in await auth.list_api_keys(info.context.uows)]


async def create_api_key(info: AppInfo, name: str, scope: ApiKeyScope) -> CreatedApiKey:
    ctx = info.context
    key, secret = await auth.create_api_key(ctx.uows, name, scope.to_domain(), ctx.clock())
    return CreatedApiKey(api_key=ApiKey.from_domain(key), secret=secret)


async def revoke_api_key(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    principal = ctx.authenticated()
    await auth.revoke_api_key(
        ctx.uows, parse_id(id, "API key"), principal, ctx.clock(), ctx.key_cache
    )
    return id


@strawberry.type
class ApiKeyQueries:
    api_keys: list[ApiKey] | None = strawberry.field(
        resolver=api_keys,
        permission_classes=[IsAdmin.doing("listing API keys")],
        description="Admin only.",
    )


@strawberry.type
class ApiKeyMutations:
    create_api_key: CreatedApiKey | None = strawberry.field(
        resolver=create_api_key, permission_classes=[IsAdmin.doing("creating API keys")]
    )
    revoke_api_key: strawberry.ID | None = strawberry.field(
        resolver=revoke_api_key, permission_classes=[IsAdmin.doing("revoking API keys")]
    )
