"""Stakeholder feedback. An anonymous answer keeps no link to the person: only a keyed hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Choice, UTCDateTime, field, utcnow


class FeedbackGroup(Choice):
    ACCEPTANCE_TESTER = "acceptance_tester", "Acceptance tester"
    BETA_USER = "beta_user", "Beta user"
    BUSINESS = "business", "Business stakeholder"
    OTHER = "other", "Other"


class FeedbackTheme(Choice):
    POSITIVE = "positive", "Positive feedback"
    IMPROVEMENT = "improvement", "Improvement suggestion"
    FEATURE_REQUEST = "feature_request", "Feature request"


class FeedbackResponse(Base):
    __tablename__ = "feedback_responses"
    # One answer per person per milestone, checked by the keyed hash so anonymous answers count too.
    __table_args__ = (UniqueConstraint("milestone_id", "respondent_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    respondent_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(32))  # None when anonymous
    anonymous: Mapped[bool] = mapped_column(default=False)
    satisfaction: Mapped[int] = field("Satisfaction (1–5)", "int", required=True, min_value=1, max_value=5)
    nps: Mapped[int] = field("How likely are you to recommend it? (0–10)", "int", required=True, min_value=0,
                             max_value=10)
    group: Mapped[str] = field("I am a…", "select", required=True, choices=FeedbackGroup)
    accepts: Mapped[bool | None] = mapped_column()  # acceptance testers: do you accept the milestone?
    themes: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str | None] = field("Comment", "multiline", max_length=2000)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeedbackRequest(Base):
    """A DM asking someone for feedback (not asked twice; reminded once at most)."""

    __tablename__ = "feedback_requests"
    __table_args__ = (UniqueConstraint("milestone_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
