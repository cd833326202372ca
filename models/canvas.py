"""A milestone's canvas in Slack: which canvas holds its report and what was last written to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class MilestoneCanvas(Base):
    """One row per milestone that has (or was asked for) a canvas; there is never a second canvas.

    `refreshes` numbers the outbox rows that write the canvas (their key), so two processes owing a refresh at
    once get one row; `fingerprint` is the cheap summary of the state last written, which the clock compares.
    """

    __tablename__ = "milestone_canvases"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(String(32))
    canvas_id: Mapped[str | None] = mapped_column(String(32))
    # standalone (read for the channel) or channel_tab (the channel's own canvas: the free-plan fallback)
    placement: Mapped[str | None] = mapped_column(String(16))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    refreshes: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int | None] = mapped_column(Integer)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The refusal the owner was told about; cleared by the next success (so each episode is told once).
    problem: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
