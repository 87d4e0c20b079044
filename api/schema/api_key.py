"""API key types (admin only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.schema.enums import ApiKeyScope
from domain.auth import ApiKey as ApiKeyRecord


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="First characters of the key, to recognise it.")
    scope: ApiKeyScope
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, k: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(str(k.id)),
            name=k.name,
            prefix=k.prefix,
            scope=ApiKeyScope(k.scope.value),
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(description="The key itself. Shown once; store it now.")
