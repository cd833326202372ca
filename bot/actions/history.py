"""What the bot remembers having shown about action items: the reminder history of each item (for the report)
and the messages that name an item (to re-render them in place after a change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from models import ActionItem, Delivery, DeliveryItem, DeliveryStatus

KIND_DIGEST = "action_digest"
KIND_ESCALATION = "action_escalation"
KIND_WEEKLY = "action_weekly"
KIND_ASSIGNED = "action_assigned"


@dataclass(frozen=True)
class ReminderHistory:
    """What the report's action table says about one item: "reminded 3×, escalated on 2026-03-12"."""

    item_id: int
    reminded: int
    last_reminded: datetime | None
    escalated_on: date | None
    last_escalated_on: date | None
    failed: int
    last_error: str | None

    def summary(self) -> str:
        parts = []
        if self.reminded:
            parts.append(f"reminded {self.reminded}×")
        if self.escalated_on:
            parts.append(f"escalated on {self.escalated_on.isoformat()}")
        if self.failed and self.last_error:
            parts.append(f"reminder failed: {self.last_error}")
        return ", ".join(parts)


def reminder_history(session: Session, milestone_id: int) -> dict[int, ReminderHistory]:
    """Per action item of a milestone: how often its owner was reminded, when last, when it was first
    escalated. One grouped query; items never reminded are absent (callers treat them as "never")."""
    sent = Delivery.status == DeliveryStatus.SENT
    digest = sent & (Delivery.kind == KIND_DIGEST)
    escalation = sent & (Delivery.kind == KIND_ESCALATION)
    failed = (Delivery.status == DeliveryStatus.FAILED) & (Delivery.kind == KIND_DIGEST)
    rows = session.execute(
        select(
            DeliveryItem.action_item_id,
            func.count(case((digest, 1))),
            func.max(case((digest, Delivery.sent_at))),
            func.min(case((escalation, Delivery.local_date))),
            func.max(case((escalation, Delivery.local_date))),
            func.count(case((failed, 1))),
            func.max(case((failed, Delivery.error))),
        )
        .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
        .join(ActionItem, ActionItem.id == DeliveryItem.action_item_id)
        .where(ActionItem.milestone_id == milestone_id)
        .group_by(DeliveryItem.action_item_id)
    )
    history: dict[int, ReminderHistory] = {}
    for item_id, reminded, last, first_esc, last_esc, failures, error in rows:
        history[item_id] = ReminderHistory(
            item_id=item_id, reminded=reminded, last_reminded=_aware(last), escalated_on=_as_date(first_esc),
            last_escalated_on=_as_date(last_esc), failed=failures, last_error=error,
        )
    return history


def _aware(value: Any) -> datetime | None:
    """Aggregates bypass the UTCDateTime type on SQLite (naive text back); normalise to aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class ShownMessage:
    """A message the bot sent that shows action items (a digest, escalation, summary or assignment DM)."""

    kind: str
    recipient_id: str
    channel: str
    ts: str
    detail: dict[str, Any] | None
    item_ids: list[int]


def messages_showing(session: Session, item_id: int, *, since: date, limit: int = 10) -> list[ShownMessage]:
    """The most recent messages (sent on or after `since`) that name this item, with every item each one names,
    so they can be re-rendered in place after a change. Two queries."""
    found = session.execute(
        select(Delivery.id, Delivery.kind, Delivery.recipient_id, Delivery.channel, Delivery.message_ts,
               Delivery.detail)
        .join(DeliveryItem, DeliveryItem.delivery_id == Delivery.id)
        .where(DeliveryItem.action_item_id == item_id, Delivery.status == DeliveryStatus.SENT,
               Delivery.message_ts.is_not(None), Delivery.local_date >= since)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    if not found:
        return []
    named: dict[int, list[int]] = {row[0]: [] for row in found}
    for delivery_id, named_item in session.execute(
        select(DeliveryItem.delivery_id, DeliveryItem.action_item_id)
        .where(DeliveryItem.delivery_id.in_(named))
        .order_by(DeliveryItem.id)
    ):
        named[delivery_id].append(named_item)
    return [ShownMessage(kind, recipient, channel, ts, detail, named[did])
            for did, kind, recipient, channel, ts, detail in found]


def items_by_id(session: Session, item_ids: set[int]) -> dict[int, ActionItem]:
    if not item_ids:
        return {}
    items = session.scalars(select(ActionItem).where(ActionItem.id.in_(item_ids)))
    return {item.id: item for item in items}
