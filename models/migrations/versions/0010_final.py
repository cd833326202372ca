"""final report: the owner's switch, and the one final-report post edited in place

Revision ID: 0010_final
Revises: 0009_surfaces
Create Date: 2026-12-01 09:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_final'
down_revision: str | None = '0009_surfaces'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not alembic's batch mode: on SQLite batch mode may copy the table and drop the old one,
# and with foreign keys on, dropping `milestones` deletes every row that cascades from it (audit events,
# editors, sections…). Adding a column with a constant default and dropping one (SQLite ≥ 3.35) need no copy.


def upgrade() -> None:
    op.add_column('milestones', sa.Column('post_final_report', sa.Boolean(), nullable=False,
                                          server_default=sa.true()))
    op.add_column('milestones', sa.Column('final_report_channel', sa.String(length=32), nullable=True))
    op.add_column('milestones', sa.Column('final_report_ts', sa.String(length=32), nullable=True))
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
    op.drop_column('milestones', 'final_report_ts')
    op.drop_column('milestones', 'final_report_channel')
    op.drop_column('milestones', 'post_final_report')
