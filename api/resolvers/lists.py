"""Lists (dynamic and static), their members, and clusters."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import AppInfo
from api.schema.inputs import ContactFilter, set_fields
from api.schema.lists import (
    Cluster,
    ClusterDimension,
    ContactListInput,
    ContactListType,
    ContactListUpdateInput,
)
from domain.errors import parse_id
from domain.lists import ListKind
from services import lists


async def contact_lists(info: AppInfo, kind: ListKind | None = None) -> list[ContactListType]:
    found = await lists.all_lists(info.context.uows, ListKind(kind.value) if kind else None)
    return [ContactListType.from_domain(lst) for lst in found]


async def contact_list(info: AppInfo, id: strawberry.ID) -> ContactListType:
    found = await lists.get_list(info.context.uows, parse_id(id, "list"))
    return ContactListType.from_domain(found)


async def create_list(info: AppInfo, input: ContactListInput) -> ContactListType:
    ctx = info.context
    node = input.filter.to_domain() if input.filter is not None else None
    created = await lists.create_list(
        ctx.uows, input.name, ListKind(input.kind.value), node, input.description, ctx.clock()
    )
    return ContactListType.from_domain(created)


async def update_list(
    info: AppInfo, id: strawberry.ID, input: ContactListUpdateInput
) -> ContactListType:
    ctx = info.context
    changes = set_fields(input)
    if "filter" in changes and changes["filter"] is not None:
        changes["filter"] = changes["filter"].to_domain()
    updated = await lists.update_list(ctx.uows, parse_id(id, "list"), changes, ctx.clock())
    return ContactListType.from_domain(updated)


async def delete_list(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    await lists.delete_list(info.context.uows, parse_id(id, "list"))
    return id


async def _members(
    info: AppInfo, list_id: strawberry.ID, contact_ids: list[strawberry.ID], add: bool
) -> ContactListType:
    ctx = info.context
    ids = [parse_id(c, "contact", "contactIds") for c in contact_ids]
    changed = await lists.change_members(
        ctx.uows, parse_id(list_id, "list", "listId"), ids, add, ctx.clock()
    )
    return ContactListType.from_domain(changed)


async def add_list_members(
    info: AppInfo, list_id: strawberry.ID, contact_ids: list[strawberry.ID]
) -> ContactListType:
    return await _members(info, list_id, contact_ids, True)


async def remove_list_members(
    info: AppInfo, list_id: strawberry.ID, contact_ids: list[strawberry.ID]
) -> ContactListType:
    return await _members(info, list_id, contact_ids, False)


async def clusters(
    info: AppInfo,
    by: Annotated[list[ClusterDimension], strawberry.argument(description="1 to 8 dimensions.")],
    filter: ContactFilter | None = None,
) -> list[Cluster]:
    ctx = info.context
    where = filter.to_domain() if filter is not None else None
    found = await lists.clusters(ctx.uows, [b.value for b in by], where, ctx.clock())
    return [Cluster(values=list(values), count=n, average_score=avg) for values, n, avg in found]


@strawberry.type
class ListQueries:
    lists: list[ContactListType] | None = strawberry.field(
        resolver=contact_lists, description="Saved lists by name (of `kind`, if given)."
    )
    contact_list: ContactListType | None = strawberry.field(
        name="list", resolver=contact_list, description="null with a NOT_FOUND error when absent."
    )
    clusters: list[Cluster] | None = strawberry.field(
        resolver=clusters,
        description=(
            "Contacts matching `filter` grouped by `by`: count and average score per group, "
            "largest first (at most 1,000 groups)."
        ),
    )


@strawberry.type
class ListMutations:
    create_list: ContactListType | None = strawberry.field(
        resolver=create_list,
        description="A dynamic list (a filter) or a static one (explicit members).",
    )
    update_list: ContactListType | None = strawberry.field(
        resolver=update_list,
        description="A new filter moves contacts in and out, with listMembershipChanged events.",
    )
    delete_list: strawberry.ID | None = strawberry.field(resolver=delete_list)
    add_list_members: ContactListType | None = strawberry.field(
        resolver=add_list_members, description="Static lists only; up to 1,000 ids."
    )
    remove_list_members: ContactListType | None = strawberry.field(
        resolver=remove_list_members, description="Static lists only; up to 1,000 ids."
    )
