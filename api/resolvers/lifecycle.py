"""Duplicates and merging, GDPR export and erasure, KPIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api.context import AppInfo
from api.schema.contact import Contact
from api.schema.lifecycle import DuplicateCandidate, KpiGroupEnum, KpiRow
from domain.auth import Scope
from domain.errors import parse_id
from services import gdpr, kpis, merge
from services.kpis import KpiGroup


async def duplicate_candidates(
    info: AppInfo, first: int = 50, min_similarity: float = 0.85
) -> list[DuplicateCandidate]:
    found = await merge.duplicate_candidates(info.context.uows, first, min_similarity)
    return [DuplicateCandidate.from_domain(d) for d in found]


async def merge_contacts(
    info: AppInfo, keep_id: strawberry.ID, merge_ids: list[strawberry.ID]
) -> Contact:
    ctx = info.context
    ctx.require(Scope.WRITE, "merging contacts")
    ids = [parse_id(i, "contact", "mergeIds") for i in merge_ids]
    kept = await merge.merge_contacts(
        ctx.uows, parse_id(keep_id, "contact", "keepId"), ids, ctx.clock()
    )
    return Contact.from_domain(kept)


async def export_contact_data(info: AppInfo, id: strawberry.ID) -> JSON:
    info.context.require(Scope.ADMIN, "exporting a contact's data")
    data: Any = await gdpr.export_contact(info.context.uows, parse_id(id, "contact"))
    return data  # type: ignore[no-any-return]


async def erase_contact(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    principal = ctx.require(Scope.ADMIN, "erasing a contact")
    erased = await gdpr.erase_contact(
        ctx.uows, parse_id(id, "contact"), principal.key_id, ctx.clock()
    )
    return strawberry.ID(str(erased))


async def kpi_rows(
    info: AppInfo,
    group_by: KpiGroupEnum,  # type: ignore[valid-type]
    start: Annotated[datetime, strawberry.argument(name="from")],
    end: Annotated[datetime, strawberry.argument(name="to")],
) -> list[KpiRow]:
    ctx = info.context
    rows = await kpis.kpis(ctx.uows, KpiGroup(group_by), start, end, ctx.clock())
    return [KpiRow.from_domain(r) for r in rows]
