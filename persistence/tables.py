"""SQLModel tables. Enums are stored as their string values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from persistence.types import UtcDateTime

# Named constraints let later Alembic migrations alter them, on SQLite too.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _at(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_type=UtcDateTime, nullable=nullable, index=index)


class CompanyRow(SQLModel, table=True):
    __tablename__ = "company"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    company_type: str | None = Field(default=None, max_length=20)
    sector: str | None = Field(default=None, max_length=200)
    size: int | None = None
    region: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)
    website: str | None = Field(default=None, max_length=200)
    created_at: datetime = _at(index=True)
    updated_at: datetime = _at()


class ContactRow(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_score_id", "score", "id"),
        Index("ix_contact_region_city", "region", "city"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    job_title: str | None = Field(default=None, max_length=200)
    contact_type: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=20)
    funnel_stage: str | None = Field(default=None, max_length=20)
    sector: str | None = Field(default=None, max_length=200, index=True)
    region: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)
    company_id: int | None = Field(
        default=None, foreign_key="company.id", ondelete="SET NULL", index=True
    )
    custom_attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    consent_email: bool = False
    consent_profiling: bool = False
    score: int = 0
    tier: str | None = Field(default=None, max_length=20, index=True)
    tier_index: float | None = None
    tier_reason: str | None = Field(default=None, max_length=300)
    tier_version: int | None = None
    segment: str | None = Field(default=None, max_length=30, index=True)
    segment_version: int | None = None
    lead_status: str | None = Field(default=None, max_length=10, index=True)
    # Set by an automation's SET_LEAD_STATUS action: wins over the status the tier implies.
    lead_status_pinned: str | None = Field(default=None, max_length=10)
    created_at: datetime = _at(index=True)
    updated_at: datetime = _at()
    last_activity_at: datetime | None = _at(nullable=True)


class TagRow(SQLModel, table=True):
    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    code: str = Field(max_length=64, unique=True)
    description: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()


class ContactTagRow(SQLModel, table=True):
    __tablename__ = "contact_tag"

    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", primary_key=True)
    tag_id: int = Field(foreign_key="tag.id", ondelete="CASCADE", primary_key=True, index=True)
    points: int = 1
    first_at: datetime = _at()
    last_at: datetime = _at()


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=20)
    key_hash: str = Field(max_length=64)
    scope: str = Field(max_length=10)
    created_at: datetime = _at()
    revoked_at: datetime | None = _at(nullable=True)


metadata = SQLModel.metadata


class ScoringRuleRow(SQLModel, table=True):
    __tablename__ = "scoring_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    group: str = Field(max_length=20)
    interaction_type: str = Field(max_length=50, index=True)
    page: str | None = Field(default=None, max_length=2000)
    points: int
    kind: str = Field(max_length=10)
    status: str = Field(max_length=10)
    tag_id: int | None = Field(default=None, foreign_key="tag.id", ondelete="SET NULL")
    daily_cap: int | None = None
    system_key: str | None = Field(default=None, max_length=50, unique=True)
    description: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()
    updated_at: datetime = _at()


class FitRuleRow(SQLModel, table=True):
    __tablename__ = "fit_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    attribute: str = Field(max_length=30)
    operator: str = Field(max_length=20)
    value: str = Field(max_length=200)
    points: int
    active: bool = True
    created_at: datetime = _at()
    updated_at: datetime = _at()


class InteractionRow(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_contact_occurred", "contact_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    type: str = Field(max_length=50)
    page: str | None = Field(default=None, max_length=2000)
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = _at()
    idempotency_key: str = Field(max_length=200, unique=True)
    score_delta: int = 0
    created_at: datetime = _at()


class ScoreEntryRow(SQLModel, table=True):
    """The score ledger: every point change with its reason. score = sum(points)."""

    __tablename__ = "score_entry"
    __table_args__ = (
        Index("ix_score_entry_contact_id", "contact_id", "id"),
        Index("ix_score_entry_rule_day", "contact_id", "rule_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    reason: str = Field(max_length=10)
    detail: str | None = Field(default=None, max_length=20)
    label: str = Field(max_length=200)
    points: int
    rule_id: int | None = Field(default=None, foreign_key="scoring_rule.id", ondelete="SET NULL")
    fit_rule_id: int | None = Field(default=None, foreign_key="fit_rule.id", ondelete="SET NULL")
    interaction_id: int | None = Field(
        default=None, foreign_key="interaction.id", ondelete="SET NULL"
    )
    comment: str | None = Field(default=None, max_length=500)
    at: datetime = _at()
    created_at: datetime = _at()


class DecayPolicyRow(SQLModel, table=True):
    __tablename__ = "decay_policy"

    version: int | None = Field(default=None, primary_key=True)
    half_life_days: int | None = None
    inactivity_days: int | None = None
    inactivity_points: int = 0
    created_at: datetime = _at()


class TierPolicyRow(SQLModel, table=True):
    __tablename__ = "tier_policy"

    version: int = Field(primary_key=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()


class SegmentSchemeRow(SQLModel, table=True):
    __tablename__ = "segment_scheme"

    version: int = Field(primary_key=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    comment: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()


class TierChangeRow(SQLModel, table=True):
    """Every tier and segment change, with the version and the reason that decided it."""

    __tablename__ = "tier_change"
    __table_args__ = (Index("ix_tier_change_contact_id", "contact_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE")
    kind: str = Field(max_length=10)
    from_value: str | None = Field(default=None, max_length=50)
    to_value: str | None = Field(default=None, max_length=50)
    version: int
    reason: str = Field(max_length=300)
    at: datetime = _at()


class EventRow(SQLModel, table=True):
    """The event log subscriptions replay from: cursors only grow (AUTOINCREMENT on SQLite,
    so pruning never lets a cursor be reused)."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_contact_id", "contact_id", "cursor"),
        {"sqlite_autoincrement": True},
    )

    cursor: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=20)
    contact_id: int
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at(index=True)


class EventWatermarkRow(SQLModel, table=True):
    """One row: the highest cursor pruning has removed (older cursors cannot resume)."""

    __tablename__ = "event_watermark"

    id: int = Field(primary_key=True)
    pruned_through: int = 0


class ContactListRow(SQLModel, table=True):
    """A saved list: DYNAMIC (a stored ContactFilter) or STATIC (explicit members)."""

    __tablename__ = "contact_list"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str | None = Field(default=None, max_length=500)
    kind: str = Field(max_length=10)
    filter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _at()
    updated_at: datetime = _at()


class ListMemberRow(SQLModel, table=True):
    """Members of static lists, and the last membership decided for dynamic lists (what
    ListEntered / ListLeft events are computed against)."""

    __tablename__ = "list_member"

    list_id: int = Field(foreign_key="contact_list.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(
        foreign_key="contact.id", ondelete="CASCADE", primary_key=True, index=True
    )
    added_at: datetime = _at()


class AutomationRow(SQLModel, table=True):
    __tablename__ = "automation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str | None = Field(default=None, max_length=500)
    status: str = Field(max_length=10)
    trigger: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    condition: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    actions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    updated_at: datetime = _at()


class AutomationRunRow(SQLModel, table=True):
    """One automation run for one contact: what triggered it, what each action did."""

    __tablename__ = "automation_run"
    __table_args__ = (Index("ix_automation_run_automation_contact", "automation_id", "contact_id"),)

    id: int | None = Field(default=None, primary_key=True)
    automation_id: int = Field(foreign_key="automation.id", ondelete="CASCADE")
    contact_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", index=True)
    trigger: str = Field(max_length=300)
    depth: int = 0
    outcome: str = Field(max_length=20)
    actions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = _at(index=True)


class WebhookRow(SQLModel, table=True):
    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = _at()
    updated_at: datetime = _at()


class WebhookDeliveryRow(SQLModel, table=True):
    """A durable delivery: queued in the transaction of its event, sent by the worker."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE", index=True)
    event_type: str = Field(max_length=30)
    event_cursor: int | None = None
    contact_id: int | None = None
    body: str
    status: str = Field(max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = _at()
    locked_until: datetime | None = _at(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _at()
    delivered_at: datetime | None = _at(nullable=True)


class WebhookAttemptRow(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True)
    attempt: int
    at: datetime = _at()
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = 0


class ContactAliasRow(SQLModel, table=True):
    """A contact merged into another: its id keeps resolving to the kept contact, and the
    merged contact's identifying values are kept for its erasure."""

    __tablename__ = "contact_alias"

    merged_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kept_id: int = Field(foreign_key="contact.id", ondelete="CASCADE", index=True)
    merged_at: datetime = _at()
    # Who was merged (the merged row is gone): what erasing the kept contact scrubs from the
    # merged contact's events and deliveries; blanked by that erasure.
    email: str | None = Field(default=None, max_length=254)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class ErasureLogRow(SQLModel, table=True):
    """Each GDPR erasure: which contact, when, by which API key (no personal data)."""

    __tablename__ = "erasure_log"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(index=True)
    erased_at: datetime = _at()
    by_key_id: int | None = None


class DefinitionVersionRow(SQLModel, table=True):
    """A counter per kind of definition (`lists`, `automations`), bumped in the transaction
    that adds, changes or removes one: what every process's cache of parsed definitions is
    keyed by, so no server keeps using a definition another server changed."""

    __tablename__ = "definition_version"

    kind: str = Field(primary_key=True, max_length=20)
    # Microseconds since 1970 once bumped (persistence/base.py BUMP): 64 bits.
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class JobLeaseRow(SQLModel, table=True):
    """Which server process runs a scheduled job (decay, pruning, …): the holder (a
    process-unique id) until `expires_at`. Another process takes the job over only once the
    lease has expired, so the job runs once per interval however many processes serve
    (persistence/job_leases.py, services/scheduler.py)."""

    __tablename__ = "job_lease"

    job: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    expires_at: datetime = _at()
