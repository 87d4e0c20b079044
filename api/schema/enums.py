"""GraphQL enums, taken from the domain so names and values never drift."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from domain.auth import Scope
from domain.contacts import CompanyType, ContactType, FunnelStage, Source
from domain.pagination import Direction

ContactTypeEnum = strawberry.enum(ContactType, name="ContactType")
CompanyTypeEnum = strawberry.enum(CompanyType, name="CompanyType")
SourceEnum = strawberry.enum(Source, name="Source")
FunnelStageEnum = strawberry.enum(FunnelStage, name="FunnelStage")
OrderDirection = strawberry.enum(Direction, name="OrderDirection")


@strawberry.enum(name="ApiKeyScope")
class ApiKeyScope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def to_domain(self) -> Scope:
        return Scope(self.value)


@strawberry.enum(description="Codes found in errors[].extensions.code and in per-item errors.")
class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"


@strawberry.enum
class ContactOrderField(StrEnum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    EMAIL = "EMAIL"
    SCORE = "SCORE"
    LAST_NAME = "LAST_NAME"


@strawberry.enum
class CompanyOrderField(StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
