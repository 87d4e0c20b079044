"""Saved lists (dynamic and static), and clusters of contacts."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.context import AppInfo
from api.schema.contact import Contact
from api.schema.inputs import ContactFilter, ContactOrder
from api.schema.pagination import Connection
from domain.codec import filter_to_dict
from domain.filters import ContactFilter as DomainFilter
from domain.lists import ContactList as ListRecord
from domain.lists import ListKind
from services import contacts

ListKindEnum = strawberry.enum(ListKind, name="ListKind")

_RENAMED = {"all_of": "and", "any_of": "or", "not_": "not"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def filter_json(node: DomainFilter) -> dict[str, Any]:
    """A stored filter in the shape of the `ContactFilter` input (camelCase, and/or/not)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {_RENAMED.get(k) or _camel(k): convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return dict(convert(filter_to_dict(node)))


@strawberry.type(name="ContactList")
class ContactListType:
    id: strawberry.ID
    name: str
    description: str | None
    kind: ListKindEnum  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime
    record: strawberry.Private[ListRecord]

    @classmethod
    def from_domain(cls, lst: ListRecord) -> ContactListType:
        return cls(
            id=strawberry.ID(str(lst.id)), name=lst.name, description=lst.description,
            kind=lst.kind, created_at=lst.created_at, updated_at=lst.updated_at, record=lst,
        )  # fmt: skip

    @strawberry.field(description="Dynamic lists: the filter, in ContactFilter input shape.")
    def filter(self) -> JSON | None:
        node = self.record.filter
        return filter_json(node) if node is not None else None

    @strawberry.field(description="Members now, in `orderBy` order (max 500 per page).")
    async def contacts(
        self,
        info: AppInfo,
        order_by: ContactOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Contact]:
        from api.resolvers.contacts import contact_connection

        paging = (first, after, last, before)
        return await contact_connection(info, None, order_by, paging, in_list=self.record)

    @strawberry.field(description="How many contacts are in the list now.")
    async def count(self, info: AppInfo) -> int:
        ctx = info.context
        return await contacts.count_contacts(ctx.uows, None, ctx.clock(), self.record)


@strawberry.input
class ContactListInput:
    name: str
    kind: ListKindEnum  # type: ignore[valid-type]
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
