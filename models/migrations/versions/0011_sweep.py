"""deliveries: a partial index of the unsent rows for the outbox sweep's claim

The claim takes unsent rows in id order; with only (status, lease_until) indexed, PostgreSQL walked the
primary key past every message ever sent (9,000 rows for each claim late in a 10,000-message sweep, and
more every day). The partial index holds only pending and claimed rows, so a claim reads what it takes.

Revision ID: 0011_sweep
Revises: 0010_final
Create Date: 2026-12-01 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011_sweep'
down_revision: str | None = '0010_final'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENDABLE = "status IN ('pending', 'claimed')"


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_lease')
        batch_op.create_index('ix_deliveries_sendable', ['id'], unique=False,
                              postgresql_where=sa.text(SENDABLE), sqlite_where=sa.text(SENDABLE))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_sendable', postgresql_where=sa.text(SENDABLE),
                            sqlite_where=sa.text(SENDABLE))
        batch_op.create_index('ix_deliveries_status_lease', ['status', 'lease_until'], unique=False)
