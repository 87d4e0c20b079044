"""Company queries and mutations."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.schema.company import Company
from api.schema.inputs import CompanyInput, CompanyOrder, CompanyUpdateInput
from api.schema.pagination import Connection, connection_from
from domain.errors import parse_id
from domain.pagination import page_request
from services import companies


async def company(info: AppInfo, id: strawberry.ID) -> Company:
    found = await companies.get_company(info.context.uows, parse_id(id, "company"))
    return Company.from_domain(found)


async def company_list(
    info: AppInfo,
    name_contains: str | None = None,
    order_by: CompanyOrder | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Company]:
    uows, order = info.context.uows, order_by or CompanyOrder()
    page = page_request(first, after, last, before, order.field.value)
    found = await companies.list_companies(
        uows, name_contains, order.field.value, order.direction, page
    )
    return connection_from(
        found,
        Company.from_domain,
        lambda: companies.count_companies(uows, name_contains),
    )


async def create_company(info: AppInfo, input: CompanyInput) -> Company:
    ctx = info.context
    return Company.from_domain(
        await companies.create_company(ctx.uows, input.to_values(), ctx.clock())
    )


async def update_company(info: AppInfo, id: strawberry.ID, input: CompanyUpdateInput) -> Company:
    ctx = info.context
    updated = await companies.update_company(
        ctx.uows, parse_id(id, "company"), input.to_values(), ctx.clock()
    )
    return Company.from_domain(updated)


async def delete_company(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    await companies.delete_company(ctx.uows, parse_id(id, "company"), ctx.clock())
    return id


@strawberry.type
class CompanyQueries:
    company: Company | None = strawberry.field(
        resolver=company, description="null with a NOT_FOUND error when absent."
    )
    companies: Connection[Company] | None = strawberry.field(resolver=company_list)


@strawberry.type
class CompanyMutations:
    create_company: Company | None = strawberry.field(resolver=create_company)
    update_company: Company | None = strawberry.field(resolver=update_company)
    delete_company: strawberry.ID | None = strawberry.field(
        resolver=delete_company, description="Its contacts stay, without company."
    )
