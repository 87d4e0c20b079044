"""The Query root."""

from __future__ import annotations

import strawberry

from api.resolvers import api_keys as key_r
from api.resolvers import companies as company_r
from api.resolvers import contacts as contact_r
from api.resolvers import tags as tag_r
from api.schema.api_key import ApiKey
from api.schema.company import Company
from api.schema.contact import Contact
from api.schema.pagination import Connection
from api.schema.tag import Tag


@strawberry.type
class Query:
    contact: Contact | None = strawberry.field(
        resolver=contact_r.contact, description="NOT_FOUND if absent."
    )
    contact_by_email: Contact | None = strawberry.field(resolver=contact_r.contact_by_email)
    contacts: Connection[Contact] = strawberry.field(
        resolver=contact_r.contact_list,
        description="Contacts matching `filter`, in `orderBy` order, Relay-paginated (max 500).",
    )
    company: Company | None = strawberry.field(resolver=company_r.company)
    companies: Connection[Company] = strawberry.field(resolver=company_r.company_list)
    tags: list[Tag] = strawberry.field(resolver=tag_r.tag_list, description="All tags by name.")
    tag: Tag | None = strawberry.field(resolver=tag_r.tag)
    api_keys: list[ApiKey] = strawberry.field(resolver=key_r.api_keys, description="Admin only.")
