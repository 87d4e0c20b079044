"""merge aliases remember who was merged, so erasure can find them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LENGTHS = {"email": 254, "first_name": 200, "last_name": 200, "phone": 40}


def upgrade() -> None:
    with op.batch_alter_table("contact_alias", schema=None) as batch_op:
        for name, length in LENGTHS.items():
            kind = sqlmodel.sql.sqltypes.AutoString(length=length)
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_alias", schema=None) as batch_op:
        for name in reversed(LENGTHS):
            batch_op.drop_column(name)
