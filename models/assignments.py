"""Sections asked of a person: who owes which part of the report, by when, and what became of it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Choice, UTCDateTime, utcnow


class AssignmentState(Choice):
    ASKED = "asked", "Asked"
    DONE = "done", "Done"
    HANDED_BACK = "handed_back", "Handed back"
    REPLACED = "replaced", "Replaced"
    WITHDRAWN = "withdrawn", "Withdrawn"  # the owner or an editor took the request back


# States in which the assignee still holds the section (may fill it). "done" keeps it: a table is filled
# row by row, and the first saved row completes the assignment.
HOLDING = (AssignmentState.ASKED.value, AssignmentState.DONE.value)


class Assignment(Base):
    """One section of one milestone asked of one person. A section has at most one open (asked) assignment:
    asking someone else replaces it (state `replaced`), which a partial unique index enforces."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("uq_assignments_open_section", "milestone_id", "section", unique=True,
              sqlite_where=text("state = 'asked'"), postgresql_where=text("state = 'asked'")),
        Index("ix_assignments_state_due", "state", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(32))  # bot.sections.service key
    assignee_id: Mapped[str] = mapped_column(String(32), index=True)
    assigned_by: Mapped[str] = mapped_column(String(32))
    due_date: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=AssignmentState.ASKED)
    snoozed_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_revision: Mapped[int | None] = mapped_column(Integer)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # handed back, replaced or withdrawn
    ended_by: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was handed back
    replaced_by_id: Mapped[int | None] = mapped_column(Integer)
    # The assignee's DM, edited in place as the assignment changes; `version` numbers those edits, so each
    # owed edit has its own outbox key.
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The owner's "done" DM that tells of this completion (several completions share one DM).
    notice_delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
