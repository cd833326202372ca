"""final report: the owner's switch, and the one final-report post edited in place

Revision ID: 0009_final
Revises: 0008_canvas
Create Date: 2026-12-01 09:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_final'
down_revision: str | None = '0008_canvas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_final_report', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('final_report_channel', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('final_report_ts', sa.String(length=32), nullable=True))
    _remember_final_posts()


def _remember_final_posts() -> None:
    """Final reports posted before this revision (one per acceptance): the newest one per milestone becomes
    the post a re-acceptance edits, instead of a new one beside it."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT milestone_id, detail FROM audit_events WHERE action = 'report.final_posted' "
        "AND milestone_id IS NOT NULL ORDER BY id")).all()
    newest: dict[int, tuple[str, str]] = {}
    for milestone_id, detail in rows:
        if isinstance(detail, str):
            detail = json.loads(detail)
        detail = detail or {}
        if detail.get("channel") and detail.get("ts"):
            newest[int(milestone_id)] = (str(detail["channel"]), str(detail["ts"]))
    for milestone_id, (channel, ts) in newest.items():
        bind.execute(sa.text("UPDATE milestones SET final_report_channel = :channel, final_report_ts = :ts "
                             "WHERE id = :id"), {"channel": channel, "ts": ts, "id": milestone_id})


def downgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_column('final_report_ts')
        batch_op.drop_column('final_report_channel')
        batch_op.drop_column('post_final_report')
