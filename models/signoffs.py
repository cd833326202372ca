"""Approval slots (one per role) and the sign-offs approvers give, bound to the revision they saw."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Choice, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.milestone import Milestone

STANDARD_ROLES = ("Project Sponsor", "Project Manager", "Technical Lead", "QA Lead", "Product Owner")


class Decision(Choice):
    APPROVED = "approved", "✅ Approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", "⚠️ Approved with conditions"
    REJECTED = "rejected", "❌ Rejected"


class ApprovalSlot(Base):
    """A role that must sign the milestone, and who holds it now (a user may hold several roles)."""

    __tablename__ = "approval_slots"
    __table_args__ = (UniqueConstraint("milestone_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    approver_id: Mapped[str] = mapped_column(String(32), index=True)
    delegate_id: Mapped[str | None] = mapped_column(String(32))
    required: Mapped[bool] = mapped_column(Boolean, default=True)

    milestone: Mapped[Milestone] = relationship(back_populates="approval_slots")
    signoffs: Mapped[list[SignOff]] = relationship(
        back_populates="slot", cascade="all, delete-orphan", order_by="SignOff.decided_at"
    )
    requests: Mapped[list[SignOffRequest]] = relationship(
        back_populates="slot", cascade="all, delete-orphan", order_by="SignOffRequest.requested_at"
    )


class SignOff(Base):
    """A decision. Outdated ones are kept as history; the current one is the newest not outdated."""

    __tablename__ = "signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("approval_slots.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    approver_id: Mapped[str] = mapped_column(String(32))
    # Set when a delegate signed: the role holder they signed for.
    on_behalf_of: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(32))
    comments: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outdated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The submission's key, so a double submit records one sign-off.
    submission_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    slot: Mapped[ApprovalSlot] = relationship(back_populates="signoffs")


class SignOffRequest(Base):
    """A DM asking an approver to sign; withdrawn when the role is reassigned (or asked again)."""

    __tablename__ = "signoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("approval_slots.id", ondelete="CASCADE"), index=True)
    approver_id: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a sign-off answered it; an answered or withdrawn request is closed (no reminders, no buttons).
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a withdrawn request was closed: "reassigned", "delegate", "superseded" (a newer request replaced it).
    closed_reason: Mapped[str | None] = mapped_column(String(16))

    slot: Mapped[ApprovalSlot] = relationship(back_populates="requests")
