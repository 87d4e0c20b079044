"""Tag queries and mutations, and tag assignment."""

from __future__ import annotations

import strawberry

from api.context import AppInfo
from api.schema.contact import Contact
from api.schema.inputs import TagInput, TagUpdateInput
from api.schema.tag import Tag
from domain.errors import NotFound, parse_id
from services import contacts, tags


async def tag_list(info: AppInfo) -> list[Tag]:
    return [Tag.from_domain(t) for t in await tags.list_tags(info.context.uows)]


async def tag(info: AppInfo, code: str) -> Tag:
    found = await tags.get_tag(info.context.uows, code)
    if found is None:
        raise NotFound(f"no tag with code {code!r}", field="code")
    return Tag.from_domain(found)


async def create_tag(info: AppInfo, input: TagInput) -> Tag:
    ctx = info.context
    created = await tags.create_tag(
        ctx.uows, input.name, input.code, input.description, ctx.clock()
    )
    return Tag.from_domain(created)


async def update_tag(info: AppInfo, code: str, input: TagUpdateInput) -> Tag:
    return Tag.from_domain(await tags.update_tag(info.context.uows, code, input.to_values()))


async def delete_tag(info: AppInfo, code: str) -> str:
    await tags.delete_tag(info.context.uows, code, info.context.clock())
    return code


async def assign_tag(info: AppInfo, contact_id: strawberry.ID, code: str) -> Contact:
    ctx, cid = info.context, parse_id(contact_id, "contact", "contactId")
    await tags.assign_tag(ctx.uows, cid, code, ctx.clock())
    return Contact.from_domain(await contacts.get_contact(ctx.uows, cid))


async def remove_tag(info: AppInfo, contact_id: strawberry.ID, code: str) -> Contact:
    ctx, cid = info.context, parse_id(contact_id, "contact", "contactId")
    await tags.remove_tag(ctx.uows, cid, code, ctx.clock())
    return Contact.from_domain(await contacts.get_contact(ctx.uows, cid))


@strawberry.type
class TagQueries:
    tags: list[Tag] | None = strawberry.field(resolver=tag_list, description="All tags by name.")
    tag: Tag | None = strawberry.field(
        resolver=tag, description="By code; null with a NOT_FOUND error when absent."
    )


@strawberry.type
class TagMutations:
    create_tag: Tag | None = strawberry.field(resolver=create_tag)
    update_tag: Tag | None = strawberry.field(
        resolver=update_tag, description="The code never changes."
    )
    delete_tag: str | None = strawberry.field(resolver=delete_tag)
    assign_tag: Contact | None = strawberry.field(
        resolver=assign_tag, description="Adds the tag, or one point if already held."
    )
    remove_tag: Contact | None = strawberry.field(resolver=remove_tag)
