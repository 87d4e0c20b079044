"""Contact queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import AppInfo
from api.schema.contact import Contact, contact_connection
from api.schema.errors import ItemError
from api.schema.inputs import ContactFilter, ContactInput, ContactOrder, ContactUpdateInput
from api.schema.pagination import Connection
from domain.errors import NotFound, parse_id
from services import contacts


async def contact(info: AppInfo, id: strawberry.ID) -> Contact:
    found = await contacts.get_contact(info.context.uows, parse_id(id, "contact"))
    return Contact.from_domain(found)


async def contact_by_email(info: AppInfo, email: str) -> Contact:
    found = await contacts.get_contact_by_email(info.context.uows, email)
    if found is None:
        raise NotFound(f"no contact with email {email.strip().lower()}", field="email")
    return Contact.from_domain(found)


async def contact_list(
    info: AppInfo,
    filter: ContactFilter | None = None,
    order_by: ContactOrder | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Contact]:
    where = filter.to_domain() if filter else None
    return await contact_connection(info, where, order_by, (first, after, last, before))


async def create_contact(info: AppInfo, input: ContactInput) -> Contact:
    ctx = info.context
    created = await contacts.create_contact(ctx.uows, input.to_values(), ctx.clock())
    return Contact.from_domain(created)


async def update_contact(info: AppInfo, id: strawberry.ID, input: ContactUpdateInput) -> Contact:
    ctx = info.context
    updated = await contacts.update_contact(
        ctx.uows, parse_id(id, "contact"), input.to_values(), ctx.clock()
    )
    return Contact.from_domain(updated)


async def delete_contact(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    await contacts.delete_contact(info.context.uows, parse_id(id, "contact"))
    return id


@strawberry.type
class UpsertContactResult:
    index: int = strawberry.field(description="Position of the item in the input list.")
    contact: Contact | None
    created: bool
    error: ItemError | None


@strawberry.type
class UpsertContactsPayload:
    results: list[UpsertContactResult]
    created_count: int
    updated_count: int
    error_count: int


async def upsert_contacts(
    info: AppInfo,
    items: Annotated[list[ContactInput], strawberry.argument(name="contacts")],
) -> UpsertContactsPayload:
    ctx = info.context
    results = await contacts.upsert_contacts(ctx.uows, [c.to_values() for c in items], ctx.clock())
    payload = [
        UpsertContactResult(
            index=r.index,
            contact=Contact.from_domain(r.contact) if r.contact else None,
            created=r.created,
            error=ItemError.from_domain(r.error),
        )
        for r in results
    ]
    return UpsertContactsPayload(
        results=payload,
        created_count=sum(1 for r in results if r.contact and r.created),
        updated_count=sum(1 for r in results if r.contact and not r.created),
        error_count=sum(1 for r in results if r.error),
    )


@strawberry.type
class ContactQueries:
    contact: Contact | None = strawberry.field(
        resolver=contact, description="null with a NOT_FOUND error when absent."
    )
    contact_by_email: Contact | None = strawberry.field(
        resolver=contact_by_email,
        description="Looked up by normalised email; null with NOT_FOUND when absent.",
    )
    contacts: Connection[Contact] | None = strawberry.field(
        resolver=contact_list,
        description="Contacts matching `filter`, in `orderBy` order, Relay-paginated (max 500).",
    )


@strawberry.type
class ContactMutations:
    create_contact: Contact | None = strawberry.field(
        resolver=create_contact, description="CONFLICT if the email is taken."
    )
    update_contact: Contact | None = strawberry.field(resolver=update_contact)
    delete_contact: strawberry.ID | None = strawberry.field(resolver=delete_contact)
    upsert_contacts: UpsertContactsPayload | None = strawberry.field(
        resolver=upsert_contacts,
        description=(
            "Create or update up to 1,000 contacts by normalised email. Valid items are stored "
            "in one transaction; invalid ones are reported per item and store nothing."
        ),
    )
