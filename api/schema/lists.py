"""Saved lists (dynamic and static), and clusters of contacts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from api.context import AppInfo
from api.schema.contact import Contact, contact_connection
from api.schema.fields import field
from api.schema.inputs import ContactFilter, ContactOrder, filter_json
from api.schema.pagination import Connection
from domain.lists import ContactList as ListRecord
from domain.lists import ListKind
from services import contacts

strawberry.enum(ListKind, name="ListKind")
ListKindEnum = ListKind


@strawberry.type(name="ContactList")
class ContactListType:
    id: strawberry.ID
    name: str
    description: str | None
    kind: ListKindEnum
    created_at: datetime
    updated_at: datetime
    record: strawberry.Private[ListRecord]

    @classmethod
    def from_domain(cls, lst: ListRecord) -> ContactListType:
        return cls(
            id=strawberry.ID(str(lst.id)), name=lst.name, description=lst.description,
            kind=lst.kind, created_at=lst.created_at, updated_at=lst.updated_at, record=lst,
        )  # fmt: skip

    @field(description="Dynamic lists: the filter, in ContactFilter input shape.")
    def filter(self) -> JSON | None:
        node = self.record.filter
        return filter_json(node) if node is not None else None

    @field(description="Members now, in `orderBy` order (max 500 per page).")
    async def contacts(
        self,
        info: AppInfo,
        order_by: ContactOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Contact]:
        paging = (first, after, last, before)
        return await contact_connection(info, None, order_by, paging, in_list=self.record)

    @field(description="How many contacts are in the list now.")
    async def count(self, info: AppInfo) -> int:
        ctx = info.context
        return await contacts.count_contacts(ctx.uows, None, ctx.clock(), self.record)


@strawberry.input
class ContactListInput:
    name: str
    kind: ListKindEnum
    description: str | None = None
    filter: ContactFilter | None = strawberry.field(
        default=None, description="Required for DYNAMIC lists, refused for STATIC ones."
    )


@strawberry.input
class ContactListUpdateInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    filter: ContactFilter | None = strawberry.UNSET


@strawberry.enum(description="What clusters group contacts by.")
class ClusterDimension(Enum):
    SECTOR = "sector"
    REGION = "region"
    CITY = "city"
    TIER = "tier"
    SEGMENT = "segment"
    SOURCE = "source"
    CONTACT_TYPE = "contact_type"
    LEAD_STATUS = "lead_status"


@strawberry.type
class Cluster:
    values: list[str | None] = strawberry.field(
        description="One value per dimension of `by`, in order; null where contacts have none."
    )
    count: int
    average_score: float
