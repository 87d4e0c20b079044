"""The Company type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import AppInfo
from api.schema.enums import CompanyTypeEnum
from api.schema.fields import field
from domain.contacts import Company as CompanyRecord


@strawberry.type
class Company:
    id: strawberry.ID
    name: str
    company_type: CompanyTypeEnum | None
    sector: str | None
    size: int | None = strawberry.field(description="Number of employees.")
    region: str | None
    city: str | None
    country: str | None
    website: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def named(cls, company_id: int, name: str) -> Company:
        """A node that carries only its id and name (a page whose companies show no more:
        `api.schema.contact.with_companies`)."""
        node = cls.__new__(cls)
        node.id, node.name = strawberry.ID(str(company_id)), name
        return node

    @classmethod
    def from_domain(cls, c: CompanyRecord) -> Company:
        return cls(
            id=strawberry.ID(str(c.id)),
            name=c.name,
            company_type=c.company_type,
            sector=c.sector,
            size=c.size,
            region=c.region,
            city=c.city,
            country=c.country,
            website=c.website,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )

    @field(description="How many contacts work at this company.")
    async def contact_count(self, info: AppInfo) -> int:
        count, _ = await info.context.loaders.company_stats.load(int(self.id))
        return count

    @field(description="The company's score: the sum of its contacts' scores.")
    async def score(self, info: AppInfo) -> int:
        _, total = await info.context.loaders.company_stats.load(int(self.id))
        return total
