"""GraphQL enums, taken from the domain so names and values never drift."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from domain.auth import Scope
from domain.contacts import CompanyType, ContactType, FunnelStage, Source
from domain.fit import FitAttribute, FitOperator
from domain.pagination import Direction
from domain.scoring import LedgerReason, RuleGroup, RuleKind, RuleStatus

# `strawberry.enum` registers a domain enum under its GraphQL name and returns the class
# itself; the `...Enum` alias is the name the API layer uses for it.
strawberry.enum(ContactType, name="ContactType")
ContactTypeEnum = ContactType
strawberry.enum(CompanyType, name="CompanyType")
CompanyTypeEnum = CompanyType
strawberry.enum(Source, name="Source")
SourceEnum = Source
strawberry.enum(FunnelStage, name="FunnelStage")
FunnelStageEnum = FunnelStage
strawberry.enum(Direction, name="OrderDirection")
OrderDirection = Direction


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
    GONE = "GONE"


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


strawberry.enum(RuleGroup, name="RuleGroup")
RuleGroupEnum = RuleGroup
strawberry.enum(RuleKind, name="RuleKind")
RuleKindEnum = RuleKind
strawberry.enum(RuleStatus, name="RuleStatus")
RuleStatusEnum = RuleStatus
strawberry.enum(LedgerReason, name="LedgerReason")
LedgerReasonEnum = LedgerReason
strawberry.enum(FitOperator, name="FitOperator")
FitOperatorEnum = FitOperator


@strawberry.enum(name="FitAttribute", description="Contact or company attribute a fit rule reads.")
class FitAttributeEnum(StrEnum):
    JOB_TITLE = "JOB_TITLE"
    SECTOR = "SECTOR"
    REGION = "REGION"
    CITY = "CITY"
    COUNTRY = "COUNTRY"
    CONTACT_TYPE = "CONTACT_TYPE"
    SOURCE = "SOURCE"
    FUNNEL_STAGE = "FUNNEL_STAGE"
    COMPANY_SIZE = "COMPANY_SIZE"
    COMPANY_SECTOR = "COMPANY_SECTOR"
    COMPANY_REGION = "COMPANY_REGION"
    COMPANY_TYPE = "COMPANY_TYPE"

    def to_domain(self) -> FitAttribute:
        return FitAttribute(self.value.lower())


@strawberry.enum(description="Derived from the tier: HOT (top tier), WARM, COLD (first tier).")
class LeadStatus(StrEnum):
    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"
