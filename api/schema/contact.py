"""The Contact type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from api.compiled import NOT_LOADED, prefetched
from api.context import AppInfo
from api.schema.company import Company
from api.schema.enums import ContactTypeEnum, FunnelStageEnum, LeadStatus, SourceEnum
from api.schema.fields import field
from api.schema.inputs import ContactOrder
from api.schema.lookahead import selected_names, selects
from api.schema.pagination import Connection, connection_from
from api.schema.scoring import Interaction, ScoreEntry
from api.schema.tag import ContactTag
from api.schema.tiers import SegmentInfo, TierChange
from domain.contacts import Contact as ContactRecord
from domain.errors import InvalidInput
from domain.filters import ContactFilter as DomainFilter
from domain.lists import ContactList
from domain.pagination import Page, PageRequest, page_request
from services import companies, contacts, interactions, ledger, tiers
from services.ports import UnitOfWorkFactory

if TYPE_CHECKING:
    from api.schema.lists import ContactListType

MAX_TOP_TAGS = 50
R = TypeVar("R")
N = TypeVar("N")


@strawberry.type
class Consent:
    email_marketing: bool
    profiling: bool


@strawberry.type
class Contact:
    id: strawberry.ID
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    job_title: str | None
    contact_type: ContactTypeEnum | None
    source: SourceEnum | None
    funnel_stage: FunnelStageEnum | None
    sector: str | None
    region: str | None
    city: str | None
    country: str | None
    custom_attributes: JSON
    consent: Consent
    score: int = strawberry.field(description="Lead score; equals the sum of the score ledger.")
    tier: str | None = strawberry.field(description="Tier under the current policy.")
    tier_index: float | None = strawberry.field(description="The 0-100 index behind the tier.")
    tier_reason: str | None = strawberry.field(description="Which band or override decided.")
    lead_status: LeadStatus | None = strawberry.field(
        description="HOT (top tier), WARM, COLD (first tier)."
    )
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None
    company_id: strawberry.Private[int | None]
    segment_code: strawberry.Private[str | None]
    # The company node when the page loaded it with the contacts (api.schema.lookahead).
    company_node: strawberry.Private[object] = NOT_LOADED

    @classmethod
    def from_domain(cls, c: ContactRecord) -> Contact:
        return cls(
            id=strawberry.ID(str(c.id)),
            email=c.email,
            first_name=c.first_name,
            last_name=c.last_name,
            phone=c.phone,
            job_title=c.job_title,
            contact_type=c.contact_type,
            source=c.source,
            funnel_stage=c.funnel_stage,
            sector=c.sector,
            region=c.region,
            city=c.city,
            country=c.country,
            custom_attributes=JSON(c.custom_attributes),
            consent=Consent(email_marketing=c.consent_email, profiling=c.consent_profiling),
            score=c.score,
            tier=c.tier,
            tier_index=c.tier_index,
            tier_reason=c.tier_reason,
            lead_status=LeadStatus(c.lead_status) if c.lead_status else None,
            segment_code=c.segment,
            created_at=c.created_at,
            updated_at=c.updated_at,
            last_activity_at=c.last_activity_at,
            company_id=c.company_id,
        )

    @classmethod
    def from_columns(cls, values: Mapping[str, Any]) -> Contact:
        """A node of a projected page (`contact_columns`): it carries only the attributes
        its selection reads, from the columns `list_contact_columns` read."""
        node = cls.__new__(cls)
        attrs = node.__dict__
        attrs["id"] = strawberry.ID(str(values["id"]))
        attrs["company_node"] = NOT_LOADED
        for name, value in values.items():
            if name == "id" or name.startswith("consent_"):
                continue
            if name == "lead_status":
                attrs[name] = LeadStatus(value) if value else None
            elif name == "custom_attributes":
                attrs[name] = JSON(value)
            else:
                attrs[_ATTRIBUTE_OF_COLUMN.get(name, name)] = value
        if "consent_email" in values:
            attrs["consent"] = Consent(
                email_marketing=values["consent_email"], profiling=values["consent_profiling"]
            )
        return node

    @strawberry.field
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email

    @field(graphql_type=Company | None)
    @prefetched("company_node")
    def company(self, info: AppInfo) -> Awaitable[Company | None] | Company | None:
        """Loaded with the page when it was asked for with it; else the data loader's
        future, returned as is (no coroutine per contact)."""
        if self.company_id is None:
            return None
        if self.company_node is not NOT_LOADED:
            return cast(Company | None, self.company_node)
        return info.context.loaders.company_node.load(self.company_id)

    @field(description="Tags held, strongest (most points) first.")
    async def tags(self, info: AppInfo) -> list[ContactTag]:
        held = await info.context.loaders.contact_tags.load(int(self.id))
        return [ContactTag.from_domain(ct) for ct in held]

    @field(description="The strongest interests: tags with the most points (1-50).")
    async def top_tags(self, info: AppInfo, limit: int = 3) -> list[ContactTag]:
        if not 1 <= limit <= MAX_TOP_TAGS:
            raise InvalidInput(f"limit must be between 1 and {MAX_TOP_TAGS}", field="limit")
        return (await self.tags(info))[:limit]

    @field(description="Primary segment (first matching of the current scheme).")
    async def segment(self, info: AppInfo) -> SegmentInfo | None:
        if self.segment_code is None:
            return None
        scheme = await info.context.loaders.scheme.load(0)
        found = next((s for s in scheme.segments if s.code == self.segment_code), None)
        return SegmentInfo.from_domain(found) if found else None

    @field(description="The lists the contact is in now, by name.")
    async def lists(
        self, info: AppInfo
    ) -> list[Annotated[ContactListType, strawberry.lazy("api.schema.lists")]]:
        from api.schema.lists import ContactListType

        held = await info.context.loaders.contact_lists.load(int(self.id))
        return [ContactListType.from_domain(lst) for lst in held]

    @field(description="Tier and segment changes, newest first, with reasons.")
    async def tier_history(
        self, info: AppInfo, first: int | None = None, after: str | None = None
    ) -> Connection[TierChange]:
        return await _history(
            info, int(self.id), first, after, tiers.history, tiers.count_history,
            TierChange.from_domain,
        )  # fmt: skip

    @field(description="Recorded interactions, newest first.")
    async def interactions(
        self, info: AppInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Interaction]:
        return await _history(
            info, int(self.id), first, after, interactions.interactions_of,
            interactions.count_interactions, Interaction.from_domain,
        )  # fmt: skip

    @field(description="The score ledger, newest first: explains every point.")
    async def score_breakdown(
        self, info: AppInfo, first: int | None = None, after: str | None = None
    ) -> Connection[ScoreEntry]:
        return await _history(
            info, int(self.id), first, after, ledger.breakdown, ledger.count_entries,
            ScoreEntry.from_domain,
        )  # fmt: skip


async def _history(
    info: AppInfo,
    contact_id: int,
    first: int | None,
    after: str | None,
    fetch: Callable[[UnitOfWorkFactory, int, PageRequest], Awaitable[Page[R]]],
    count: Callable[[UnitOfWorkFactory, int], Awaitable[int]],
    convert: Callable[[R], N],
) -> Connection[N]:
    """A page of one of a contact's append-only histories, newest first."""
    uows = info.context.uows
    found = await fetch(uows, contact_id, page_request(first, after, None, None, "ID"))
    return connection_from(found, convert, lambda: count(uows, contact_id))


async def load_contact(info: AppInfo, contact_id: int) -> Contact | None:
    """The contact by id through the request's data loader (null if it is gone)."""
    found = await info.context.loaders.contact.load(contact_id)
    return Contact.from_domain(found) if found else None


async def contact_connection(
    info: AppInfo,
    where: DomainFilter | None,
    order_by: ContactOrder | None,
    paging: tuple[int | None, str | None, int | None, str | None],
    in_list: ContactList | None = None,
) -> Connection[Contact]:
    """A page of contacts (of one list, with `in_list`) as a connection; `paging` is
    (first, after, last, before)."""
    ctx, order = info.context, order_by or ContactOrder()
    now = ctx.clock()
    page = page_request(*paging, order.field.value)
    count = lambda: contacts.count_contacts(ctx.uows, where, now, in_list)  # noqa: E731
    columns = contact_columns(info)
    connection: Connection[Contact]
    if columns is None:
        found = await contacts.list_contacts(
            ctx.uows, where, order.field.value, order.direction, page, now, in_list
        )
        connection = connection_from(found, Contact.from_domain, count)
    else:
        projected = await contacts.list_contact_columns(
            ctx.uows, columns, where, order.field.value, order.direction, page, now, in_list
        )
        connection = connection_from(projected, Contact.from_columns, count)
    if selects(info, ("edges", "node", "company"), ("nodes", "company")):
        await with_companies([edge.node for edge in connection.edges], info)
    return connection


# The columns each field of Contact reads (ids aside); a selection with a field not listed
# here (or none at all) reads whole contacts.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (), "id": (), "email": ("email",), "firstName": ("first_name",),
    "lastName": ("last_name",), "phone": ("phone",), "jobTitle": ("job_title",),
    "contactType": ("contact_type",), "source": ("source",), "funnelStage": ("funnel_stage",),
    "sector": ("sector",), "region": ("region",), "city": ("city",), "country": ("country",),
    "customAttributes": ("custom_attributes",),
    "consent": ("consent_email", "consent_profiling"), "score": ("score",), "tier": ("tier",),
    "tierIndex": ("tier_index",), "tierReason": ("tier_reason",),
    "leadStatus": ("lead_status",), "createdAt": ("created_at",), "updatedAt": ("updated_at",),
    "lastActivityAt": ("last_activity_at",), "fullName": ("first_name", "last_name", "email"),
    "company": ("company_id",), "segment": ("segment",), "tags": (), "topTags": (),
    "lists": (), "tierHistory": (), "interactions": (), "scoreBreakdown": (),
}  # fmt: skip
_ATTRIBUTE_OF_COLUMN = {"segment": "segment_code"}


def contact_columns(info: AppInfo) -> frozenset[str] | None:
    """The contact columns a connection's selection reads (None: whole contacts)."""
    names = selected_names(info, ("edges", "node"), ("nodes",))
    if names is None or not names <= FIELD_COLUMNS.keys():
        return None
    return frozenset(c for name in names for c in FIELD_COLUMNS[name])


async def with_companies(nodes: Sequence[Contact], info: AppInfo) -> None:
    """Loads the contacts' companies in one query, as their `company` field would."""
    ids = sorted({n.company_id for n in nodes if n.company_id is not None})
    shown = selected_names(info, ("edges", "node", "company"), ("nodes", "company"))
    by_id: dict[int, Company]
    if not ids:
        by_id = {}
    elif shown is not None and shown <= {"id", "name", "__typename"}:
        names = await companies.company_names(info.context.uows, ids)
        by_id = {i: Company.named(i, name) for i, name in names.items()}
    else:
        found = await companies.companies_by_id(info.context.uows, ids)
        by_id = {i: Company.from_domain(c) for i, c in found.items()}
    for node in nodes:
        node.company_node = None if node.company_id is None else by_id.get(node.company_id)
