"""scrub webhook errors

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

Before issue 16 a failed delivery kept the start of the receiver's answer (up to 200 bytes)
or the network's error message in `last_error` and in its attempts' `error`: a way to read
and map the server's network. They keep only what is kept now: `HTTP <code>`, or a generic
reason. Our own timeout message (`no answer within … s`) stays. Not reversible.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENERIC = "the connection failed"


def _scrub(table: str, column: str) -> None:
    op.execute(
        f"UPDATE {table} SET {column} = substr({column}, 1, 8) "
        f"WHERE {column} LIKE 'HTTP ___%' AND {column} <> substr({column}, 1, 8)"
    )
    op.execute(
        f"UPDATE {table} SET {column} = '{_GENERIC}' WHERE {column} IS NOT NULL "
        f"AND {column} NOT LIKE 'HTTP ___%' AND {column} NOT LIKE 'no answer within %'"
    )


def upgrade() -> None:
    _scrub("webhook_delivery", "last_error")
    _scrub("webhook_attempt", "error")


def downgrade() -> None:
    pass  # what was scrubbed is gone, on purpose
