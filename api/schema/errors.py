"""Per-item errors of batch mutations (the whole-call errors are GraphQL errors)."""

from __future__ import annotations

import strawberry

from api.schema.enums import ErrorCode
from domain.errors import DomainError


@strawberry.type(description="Why one item of a batch was not applied; nothing of it was stored.")
class ItemError:
    code: ErrorCode
    message: str
    field: str | None

    @classmethod
    def from_domain(cls, error: DomainError | None) -> ItemError | None:
        if error is None:
            return None
        return cls(code=ErrorCode(error.code), message=error.message, field=error.field)
