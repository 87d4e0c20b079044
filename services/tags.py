"""Tags: CRUD by code and assignment to contacts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from domain.contacts import clean_text, require_writable
from domain.errors import Conflict, NotFound
from domain.tags import ContactTag, Tag, clean_tag_name, code_for
from services.ports import UnitOfWork, UnitOfWorkFactory


async def list_tags(uows: UnitOfWorkFactory) -> list[Tag]:
    async with uows() as uow:
        return await uow.tags.list_all()


async def get_tag(uows: UnitOfWorkFactory, code: str) -> Tag | None:
    async with uows() as uow:
        return await uow.tags.get_by_code(code)


async def tags_of_contacts(
    uows: UnitOfWorkFactory, contact_ids: Iterable[int]
) -> dict[int, list[ContactTag]]:
    async with uows() as uow:
        return await uow.tags.for_contacts(contact_ids)


async def tags_by_id(uows: UnitOfWorkFactory, ids: Iterable[int]) -> dict[int, Tag]:
    async with uows() as uow:
        return await uow.tags.get_many(ids)


async def tag_contact_counts(uows: UnitOfWorkFactory, tag_ids: Iterable[int]) -> dict[int, int]:
    async with uows() as uow:
        return await uow.tags.contact_counts(tag_ids)


async def _require_tag(uow: UnitOfWork, code: str) -> Tag:
    tag = await uow.tags.get_by_code(code)
    if tag is None:
        raise NotFound(f"no tag with code {code!r}", field="code")
    return tag


async def create_tag(
    uows: UnitOfWorkFactory,
    name: str,
    code: str | None,
    description: str | None,
    now: datetime,
) -> Tag:
    clean_name = clean_tag_name(name)
    clean_code = code_for(clean_name, code)
    async with uows(write=True) as uow:
        clash = await uow.tags.find_by_name_or_code(clean_name, clean_code)
        if clash is not None:
            what = "name" if clash.name == clean_name else "code"
            raise Conflict(f"tag {clash.name} ({clash.code}) already uses this {what}", field=what)
        tag = await uow.tags.insert(
            clean_name, clean_code, clean_text(description, "description"), now
        )
        await uow.commit()
    return tag


async def update_tag(uows: UnitOfWorkFactory, code: str, changes: Mapping[str, str | None]) -> Tag:
    """Renaming keeps the code: integrations depend on it. A null description clears it."""
    async with uows(write=True) as uow:
        tag = await _require_tag(uow, code)
        values: dict[str, str | None] = {}
        if "name" in changes:
            new_name = clean_tag_name(changes["name"] or "")
            values["name"] = new_name
            clash = await uow.tags.find_by_name_or_code(new_name, tag.code)
            if clash is not None and clash.id != tag.id:
                raise Conflict(
                    f"tag {clash.name} ({clash.code}) already uses this name", field="name"
                )
        if "description" in changes:
            values["description"] = clean_text(changes["description"], "description")
        if values:
            await uow.tags.update(tag.id, values)
            await uow.commit()
        updated = await uow.tags.get_by_code(code)
    assert updated is not None
    return updated


async def delete_tag(uows: UnitOfWorkFactory, code: str, now: datetime) -> None:
    """Its holders lose it, and are re-placed (filters may have read the tag)."""
    async with uows(write=True) as uow:
        tag = await _require_tag(uow, code)
        await uow.tags.delete(tag.id)
        await uow.commit()


async def assign_tag(uows: UnitOfWorkFactory, contact_id: int, code: str, now: datetime) -> None:
    """Assigning again adds a point: tag points count how often the tag was given."""
    async with uows(write=True) as uow:
        require_writable(await uow.contacts.get(contact_id), contact_id, "contactId")
        tag = await _require_tag(uow, code)
        await uow.tags.add_points(contact_id, tag.id, 1, now)
        await uow.contacts.update(contact_id, {}, now)
        await uow.commit()


async def remove_tag(uows: UnitOfWorkFactory, contact_id: int, code: str, now: datetime) -> None:
    async with uows(write=True) as uow:
        require_writable(await uow.contacts.get(contact_id), contact_id, "contactId")
        tag = await _require_tag(uow, code)
        if not await uow.tags.remove(contact_id, tag.id):
            raise NotFound(f"contact {contact_id} does not have tag {code!r}", field="code")
        await uow.contacts.update(contact_id, {}, now)
        await uow.commit()
