"""Duplicates and merging, GDPR export and erasure, KPIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.context import AppInfo
from api.permissions import IsAdmin, IsWriter
from api.schema.contact import Contact
from api.schema.lifecycle import DuplicateCandidate, KpiGroupEnum, KpiRow
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
    ids = [parse_id(i, "contact", "mergeIds") for i in merge_ids]
    kept = await merge.merge_contacts(
        ctx.uows, parse_id(keep_id, "contact", "keepId"), ids, ctx.clock()
    )
    return Contact.from_domain(kept)


async def export_contact_data(info: AppInfo, id: strawberry.ID) -> JSON:
    return JSON(await gdpr.export_contact(info.context.uows, parse_id(id, "contact")))


async def erase_contact(info: AppInfo, id: strawberry.ID) -> strawberry.ID:
    ctx = info.context
    principal = ctx.authenticated()
    erased = await gdpr.erase_contact(
        ctx.uows, parse_id(id, "contact"), principal.key_id, ctx.clock()
    )
    return strawberry.ID(str(erased))


async def kpi_rows(
    info: AppInfo,
    group_by: KpiGroupEnum,
    start: Annotated[datetime, strawberry.argument(name="from")],
    end: Annotated[datetime, strawberry.argument(name="to")],
) -> list[KpiRow]:
    ctx = info.context
    rows = await kpis.kpis(ctx.uows, KpiGroup(group_by), start, end, ctx.clock())
    return [KpiRow.from_domain(r) for r in rows]


@strawberry.type
class LifecycleQueries:
    duplicate_candidates: list[DuplicateCandidate] | None = strawberry.field(
        resolver=duplicate_candidates,
        description=(
            "Pairs of contacts that are probably one person (normalised email, phone, name at "
            "the same company, fuzzy email/name similarity), most alike first, with reasons."
        ),
    )
    export_contact_data: JSON | None = strawberry.field(
        resolver=export_contact_data,
        permission_classes=[IsAdmin.doing("exporting a contact's data")],
        description="Admin. Everything stored about a contact (GDPR access request), as JSON.",
    )
    kpis: list[KpiRow] | None = strawberry.field(
        resolver=kpi_rows,
        description=(
            "Per tier, segment or list over [from, to): contacts, average score, conversion "
            "rate, email open rate, tier transitions."
        ),
    )


@strawberry.type
class LifecycleMutations:
    merge_contacts: Contact | None = strawberry.field(
        resolver=merge_contacts,
        permission_classes=[IsWriter.doing("merging contacts")],
        description=(
            "Merge up to 50 contacts into `keepId`: interactions, ledger, tag points and static "
            "list memberships move to it; its score is its ledger sum; merged ids resolve to it."
        ),
    )
    erase_contact: strawberry.ID | None = strawberry.field(
        resolver=erase_contact,
        permission_classes=[IsAdmin.doing("erasing a contact")],
        description="Admin. Irreversibly removes a contact's personal data; aggregates stay.",
    )
