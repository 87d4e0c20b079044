"""Data quality and lifecycle: duplicate candidates, KPI rows."""

from __future__ import annotations

import strawberry

from api.schema.contact import Contact
from services.kpis import KpiGroup
from services.kpis import KpiRow as KpiRecord
from services.merge import Duplicates

strawberry.enum(KpiGroup, name="KpiGroup")
KpiGroupEnum = KpiGroup


@strawberry.type
class DuplicateCandidate:
    contacts: list[Contact] = strawberry.field(description="Two contacts, lower id first.")
    similarity: float = strawberry.field(description="0-1; 1 for the same normalised email.")
    reasons: list[str] = strawberry.field(
        description='Why, strongest first: "same normalised email", "same phone", …'
    )

    @classmethod
    def from_domain(cls, d: Duplicates) -> DuplicateCandidate:
        return cls(
            contacts=[Contact.from_domain(c) for c in d.contacts],
            similarity=d.similarity,
            reasons=list(d.reasons),
        )


@strawberry.type
class KpiRow:
    key: str | None = strawberry.field(
        description="The tier or segment code, or the list id; null: contacts without one."
    )
    name: str | None = strawberry.field(description="The list's name (LIST only).")
    contacts: int = strawberry.field(description="In the group now, created before `to`.")
    average_score: float | None
    conversions: int = strawberry.field(
        description="Contacts with a conversion interaction in the window."
    )
    conversion_rate: float | None = strawberry.field(description="conversions / contacts.")
    email_sends: int = strawberry.field(description="EMAIL_SENT interactions in the window.")
    email_opens: int = strawberry.field(description="EMAIL_OPEN interactions in the window.")
    email_open_rate: float | None = strawberry.field(
        description="emailOpens / emailSends; null without sends."
    )
    tier_transitions: int = strawberry.field(
        description="Tier changes of the group's contacts in the window."
    )

    @classmethod
    def from_domain(cls, r: KpiRecord) -> KpiRow:
        return cls(
            key=r.key, name=r.name, contacts=r.contacts, average_score=r.average_score,
            conversions=r.conversions, conversion_rate=r.conversion_rate,
            email_sends=r.email_sends, email_opens=r.email_opens,
            email_open_rate=r.email_open_rate, tier_transitions=r.tier_transitions,
        )  # fmt: skip
