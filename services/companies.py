"""Companies: CRUD and the aggregates of their contacts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.contacts import MAX_TEXT, Company, clean_company_fields
from domain.errors import InvalidInput, NotFound
from domain.pagination import Direction, Page, PageRequest
from services.ports import UnitOfWorkFactory


async def get_company(uows: UnitOfWorkFactory, company_id: int) -> Company:
    async with uows() as uow:
        company = await uow.companies.get(company_id)
    if company is None:
        raise NotFound(f"no company with id {company_id}", field="id")
    return company


async def companies_by_id(uows: UnitOfWorkFactory, ids: Iterable[int]) -> dict[int, Company]:
    async with uows() as uow:
        return await uow.companies.get_many(ids)


async def company_names(uows: UnitOfWorkFactory, ids: Iterable[int]) -> dict[int, str]:
    async with uows() as uow:
        return await uow.companies.names(ids)


async def company_stats(uows: UnitOfWorkFactory, ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    async with uows() as uow:
        return await uow.companies.contact_stats(ids)


async def list_companies(
    uows: UnitOfWorkFactory,
    name_contains: str | None,
    order: str,
    direction: Direction,
    page: PageRequest,
) -> Page[Company]:
    _check_contains(name_contains)
    async with uows() as uow:
        return await uow.companies.page(name_contains, order, direction, page)


async def count_companies(uows: UnitOfWorkFactory, name_contains: str | None) -> int:
    _check_contains(name_contains)
    async with uows() as uow:
        return await uow.companies.count(name_contains)


def _check_contains(name_contains: str | None) -> None:
    """No company name is longer than MAX_TEXT; a longer pattern made SQLite give up."""
    if name_contains is not None and len(name_contains) > MAX_TEXT:
        raise InvalidInput(
            f"nameContains is longer than {MAX_TEXT} characters", field="nameContains"
        )


async def create_company(
    uows: UnitOfWorkFactory, values: Mapping[str, Any], now: datetime
) -> Company:
    cleaned = clean_company_fields(values)
    if not cleaned.get("name"):
        raise InvalidInput("name is required", field="name")
    async with uows(write=True) as uow:
        company_id = await uow.companies.insert(cleaned, now)
        await uow.commit()
        company = await uow.companies.get(company_id)
    assert company is not None
    return company


async def update_company(
    uows: UnitOfWorkFactory, company_id: int, values: Mapping[str, Any], now: datetime
) -> Company:
    cleaned = clean_company_fields(values)
    async with uows(write=True) as uow:
        if await uow.companies.get(company_id) is None:
            raise NotFound(f"no company with id {company_id}", field="id")
        if cleaned:
            await uow.companies.update(company_id, cleaned, now)
            await uow.commit()
        company = await uow.companies.get(company_id)
    assert company is not None
    return company


async def delete_company(uows: UnitOfWorkFactory, company_id: int, now: datetime) -> None:
    """Its contacts stay, detached from the company (and lose company-based fit points)."""
    async with uows(write=True) as uow:
        if not await uow.companies.delete(company_id):
            raise NotFound(f"no company with id {company_id}", field="id")
        await uow.commit()
