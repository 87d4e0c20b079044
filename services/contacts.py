"""Contacts: create, update, upsert by email (one or many), delete, read."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.contacts import Contact, clean_contact_fields, normalise_email, require_writable
from domain.errors import Conflict, DomainError, InvalidInput, NotFound, check_batch
from domain.filters import ContactFilter, validate_filter
from domain.lists import ContactList
from domain.pagination import Direction, Page, PageRequest
from services.ports import UnitOfWork, UnitOfWorkFactory

MAX_BATCH = 1000


async def get_contact(uows: UnitOfWorkFactory, contact_id: int) -> Contact:
    """By id; the id of a contact merged into another resolves to the kept contact."""
    async with uows() as uow:
        contact = await uow.contacts.get(contact_id)
        if contact is None:
            kept = await uow.lifecycle.alias_of(contact_id)
            contact = await uow.contacts.get(kept) if kept is not None else None
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}", field="id")
    return contact


async def contacts_by_id(uows: UnitOfWorkFactory, ids: list[int]) -> dict[int, Contact]:
    async with uows() as uow:
        return await uow.contacts.get_many(ids)


async def get_contact_by_email(uows: UnitOfWorkFactory, email: str) -> Contact | None:
    async with uows() as uow:
        return await uow.contacts.get_by_email(normalise_email(email))


async def list_contacts(
    uows: UnitOfWorkFactory,
    where: ContactFilter | None,
    order: str,
    direction: Direction,
    page: PageRequest,
    now: datetime,
    in_list: ContactList | None = None,
) -> Page[Contact]:
    """A page of the contacts matching `where` (members of `in_list` only, if given)."""
    if where is not None:
        validate_filter(where)
    within = in_list.id if in_list is not None else None
    async with uows() as uow:
        return await uow.contacts.page(where, order, direction, page, now, within)


async def list_contact_columns(
    uows: UnitOfWorkFactory,
    columns: Collection[str],
    where: ContactFilter | None,
    order: str,
    direction: Direction,
    page: PageRequest,
    now: datetime,
    in_list: ContactList | None = None,
) -> Page[dict[str, Any]]:
    """`list_contacts` reading only `columns` of each contact (and its id)."""
    if where is not None:
        validate_filter(where)
    within = in_list.id if in_list is not None else None
    async with uows() as uow:
        return await uow.contacts.page_columns(columns, where, order, direction, page, now, within)


async def count_contacts(
    uows: UnitOfWorkFactory,
    where: ContactFilter | None,
    now: datetime,
    in_list: ContactList | None = None,
) -> int:
    within = in_list.id if in_list is not None else None
    async with uows() as uow:
        return await uow.contacts.count(where, now, within)


async def _check_company(uow: UnitOfWork, values: Mapping[str, Any]) -> None:
    company_id = values.get("company_id")
    if company_id is not None and await uow.companies.get(company_id) is None:
        raise NotFound(f"no company with id {company_id}", field="companyId")


async def create_contact(
    uows: UnitOfWorkFactory, values: Mapping[str, Any], now: datetime
) -> Contact:
    cleaned = clean_contact_fields(values)
    if "email" not in cleaned:
        raise InvalidInput("email is required", field="email")
    async with uows(write=True) as uow:
        if await uow.contacts.get_by_email(cleaned["email"]) is not None:
            raise Conflict(f"a contact with email {cleaned['email']} already exists", field="email")
        await _check_company(uow, cleaned)
        contact_id = await uow.contacts.insert(cleaned, now)
        await uow.commit()
        contact = await uow.contacts.get(contact_id)
    assert contact is not None
    return contact


async def update_contact(
    uows: UnitOfWorkFactory, contact_id: int, values: Mapping[str, Any], now: datetime
) -> Contact:
    cleaned = clean_contact_fields(values)
    async with uows(write=True) as uow:
        current = require_writable(await uow.contacts.get(contact_id), contact_id, "id")
        email = cleaned.get("email")
        if email is not None and email != current.email:
            other = await uow.contacts.get_by_email(email)
            if other is not None:
                raise Conflict(f"another contact already uses email {email}", field="email")
        await _check_company(uow, cleaned)
        if cleaned:
            await uow.contacts.update(contact_id, cleaned, now)
            await uow.commit()
        contact = await uow.contacts.get(contact_id)
    assert contact is not None
    return contact


async def delete_contact(uows: UnitOfWorkFactory, contact_id: int) -> None:
    async with uows(write=True) as uow:
        if not await uow.contacts.delete(contact_id):
            raise NotFound(f"no contact with id {contact_id}", field="id")
        await uow.commit()


@dataclass(frozen=True)
class UpsertResult:
    index: int
    contact: Contact | None = None
    created: bool = False
    error: DomainError | None = None


def _clean_batch(
    items: Sequence[Mapping[str, Any]],
) -> tuple[dict[int, dict[str, Any]], dict[int, DomainError]]:
    cleaned: dict[int, dict[str, Any]] = {}
    errors: dict[int, DomainError] = {}
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            values = clean_contact_fields(item)
            if "email" not in values:
                raise InvalidInput("email is required to upsert a contact", field="email")
        except DomainError as error:
            errors[index] = error
            continue
        email = values["email"]
        if email in first_index:
            errors[index] = Conflict(
                f"email {email} appears earlier in this batch at index {first_index[email]}",
                field="email",
            )
            continue
        first_index[email] = index
        cleaned[index] = values
    return cleaned, errors


async def upsert_contacts(
    uows: UnitOfWorkFactory, items: Sequence[Mapping[str, Any]], now: datetime
) -> list[UpsertResult]:
    """Valid items are stored in one transaction; each invalid one is reported by index."""
    check_batch(len(items), MAX_BATCH, "contact", "contacts")
    cleaned, errors = _clean_batch(items)
    async with uows(write=True) as uow:
        company_ids = {v["company_id"] for v in cleaned.values() if v.get("company_id")}
        known = set(await uow.companies.get_many(company_ids)) if company_ids else set()
        for index, values in list(cleaned.items()):
            if values.get("company_id") and values["company_id"] not in known:
                errors[index] = NotFound(
                    f"no company with id {values['company_id']}", field="companyId"
                )
                del cleaned[index]
        existing = await uow.contacts.get_many_by_email(v["email"] for v in cleaned.values())
        ids: dict[int, tuple[int, bool]] = {}
        for index, values in cleaned.items():
            current = existing.get(values["email"])
            if current is None:
                ids[index] = (await uow.contacts.insert(values, now), True)
            else:
                await uow.contacts.update(current.id, values, now)
                ids[index] = (current.id, False)
        await uow.commit()
        stored = await uow.contacts.get_many(contact_id for contact_id, _ in ids.values())
    results = [UpsertResult(index, error=error) for index, error in errors.items()]
    results += [UpsertResult(i, stored[cid], created) for i, (cid, created) in ids.items()]
    return sorted(results, key=lambda r: r.index)
