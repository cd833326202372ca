"""Post-milestone action items and technical debt, and the reminder deliveries that make them exactly-once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Choice, UTCDateTime, field, utcnow
from models.sections import Level

if TYPE_CHECKING:
    from models.milestone import Milestone


class Horizon(Choice):
    WEEK1 = "week1", "Immediate (Week 1)"
    MONTH1 = "month1", "Short-term (Month 1)"
    QUARTER = "quarter", "Long-term (Quarter)"
    TECH_DEBT = "tech_debt", "Technical debt"
    CONDITION = "condition", "Sign-off condition"


class ActionStatus(Choice):
    OPEN = "open", "Open"
    DONE = "done", "✅ Done"
    CANCELLED = "cancelled", "❌ Cancelled"


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_open_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    horizon: Mapped[str] = field("Horizon", "select", required=True, choices=Horizon, default=Horizon.WEEK1)
    description: Mapped[str] = field("Description", "multiline", required=True, max_length=1000)
    owner_id: Mapped[str] = field("Owner", "user", required=True, index=True)
    owner_name: Mapped[str | None] = mapped_column(String(200))  # imported: the owner named, not in Slack
    due_date: Mapped[date | None] = field("Due date", "date")
    priority: Mapped[str | None] = field("Priority", "select", choices=Level)
    notes: Mapped[str | None] = field("Notes", "multiline", max_length=1000)
    effort_days: Mapped[Decimal | None] = field("Effort (days)", "decimal", min_value=0)
    planned_sprint: Mapped[str | None] = field("Planned sprint", max_length=50)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.OPEN)
    snoozed_until: Mapped[date | None]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(32))
    signoff_id: Mapped[int | None] = mapped_column(ForeignKey("signoffs.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submission_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    milestone: Mapped[Milestone] = relationship(back_populates="action_items")


class DeliveryStatus(Choice):
    PENDING = "pending", "Pending"  # owed by a committed change, not yet claimed by a sender
    CLAIMED = "claimed", "Claimed"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# The statuses a sender may still take (a live claim is skipped by its lease); the partial index's predicate,
# which a query must repeat word for word for SQLite to use the index.
SENDABLE_STATUSES = "status IN ('pending', 'claimed')"


class Delivery(Base):
    """One scheduled message to one recipient for one local day, claimed before it is sent.

    The unique key (kind, recipient, subject, local date) is what makes two overlapping sweeps send once.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "recipient_id", "subject", "local_date"),
        # The outbox sweep's claim: unsent rows in id order, without walking past every message ever sent.
        Index("ix_deliveries_sendable", "id", postgresql_where=text(SENDABLE_STATUSES),
              sqlite_where=text(SENDABLE_STATUSES)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # action_digest, escalation, weekly_summary, signoff, feedback
    recipient_id: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # e.g. "all", "milestone:12", "slot:7"
    local_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.CLAIMED)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]
    # The outbox part: what to send, recorded by the transaction that owes it (bot.slack.outbox).
    team_id: Mapped[str | None] = mapped_column(String(32))
    op: Mapped[str | None] = mapped_column(String(16))  # post, dm, update
    target: Mapped[str | None] = mapped_column(String(64))  # channel id, or user id for a DM
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None]  # {"text", "blocks"} or {"render": name, ...} resolved at send time
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryItem(Base):
    """Which action items a delivery named: the reminder history ("reminded 3×, escalated on …")."""

    __tablename__ = "delivery_items"
    __table_args__ = (UniqueConstraint("delivery_id", "action_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    action_item_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"), index=True)


class ReplyTarget(Base):
    """Where to refresh an ephemeral message (the `/milestone actions` list) after a modal opened from it saves.

    Slack gives the click a response_url; it is kept here, server-side, and the modal's signed metadata
    holds only this row's id: a URL never travels through private_metadata, where a client could change it.
    """

    __tablename__ = "reply_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
