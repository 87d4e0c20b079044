"""API key administration (admin scope)."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.schema.api_key import ApiKey, CreatedApiKey
from api.schema.enums import ApiKeyScope
from domain.auth import Scope
from domain.errors import parse_id
from services import auth


async def api_keys(info: AppInfo) -> list[ApiKey]:
    info.context.require(Scope.ADMIN, "listing API keys")
    return [ApiKey.from_domain(k) for k in await auth.list_api_keys(info.context.uows)]


async def create_api_key(info: AppInfo, name: str, scope: ApiKeyScope) -> CreatedApiKey:
    ctx = info.context
    ctx.require(Scope.ADMIN, "creating API keys")
    key, secret = await auth.create_api_key(ctx.uows, name, scope.to_domain(), ctx.clock())
    return CreatedApiKey(api_key=ApiKey.from_domain(key), secret=secret)


async def revoke_api_key(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    principal = ctx.require(Scope.ADMIN, "revoking API keys")
    await auth.revoke_api_key(
        ctx.uows, parse_id(id, "API key"), principal, ctx.clock(), ctx.key_cache
    )
    return id
