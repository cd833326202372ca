"""surfaces: every milestone states its currency

The report prints every amount in it. Milestones created before had none (NULL meant the CURRENCY
setting): they get the CURRENCY setting of the process that migrates (the `release:` step runs with the
app's environment, `.env` included), the currency their forms already showed; then the column is required.

Revision ID: 0009_surfaces
Revises: 0008_canvas
Create Date: 2026-11-30 15:00:00
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009_surfaces'
down_revision: str | None = '0008_canvas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _setting() -> str:
    code = (os.environ.get("CURRENCY", "").strip() or "USD").upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"CURRENCY must be a three-letter currency code such as USD or EUR, not {code!r}")
    return code


def upgrade() -> None:
    milestones = sa.table('milestones', sa.column('currency', sa.String(3)))
    op.execute(milestones.update().where(milestones.c.currency.is_(None)).values(currency=_setting()))
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.alter_column('currency', existing_type=sa.String(length=3), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.alter_column('currency', existing_type=sa.String(length=3), nullable=True)
