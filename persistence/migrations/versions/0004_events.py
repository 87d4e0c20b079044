"""event log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import persistence.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", persistence.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cursor", name=op.f("pk_event")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_contact_id", "event", ["contact_id", "cursor"], unique=False)
    op.create_index(op.f("ix_event_created_at"), "event", ["created_at"], unique=False)
    watermark = op.create_table(
        "event_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pruned_through", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_watermark")),
    )
    op.bulk_insert(watermark, [{"id": 1, "pruned_through": 0}])


def downgrade() -> None:
    op.drop_table("event_watermark")
    op.drop_index(op.f("ix_event_created_at"), table_name="event")
    op.drop_index("ix_event_contact_id", table_name="event")
    op.drop_table("event")
