"""Exactly-once scheduled messages: claim in the database, commit, send outside the transaction, mark.

The row's unique key (kind, recipient, subject, local date) means two overlapping sweeps cannot both claim
the same message. A claim whose process died before marking it is taken over after its lease expires,
never within it. Use it as:

    with deps.session() as s:                      # transaction 1: claim and commit
        delivery = claim(s, kind=..., recipient_id=..., subject=..., local_date=..., now=now)
    if delivery: send …                             # outside any transaction
    with deps.session() as s: mark_sent(s, delivery.id, ...)   # or mark_failed / release
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.db import insert_ignore
from models import Delivery, DeliveryItem, DeliveryStatus

DEFAULT_LEASE = timedelta(minutes=10)


def claim(
    session: Session,
    *,
    kind: str,
    recipient_id: str,
    subject: str,
    local_date: date,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    detail: dict[str, Any] | None = None,
) -> Delivery | None:
    """The claimed delivery, or None when another sweep holds it or it was already sent (or failed for good)."""
    key = {"kind": kind, "recipient_id": recipient_id, "subject": subject, "local_date": local_date}
    inserted = insert_ignore(
        session,
        Delivery.__table__,
        {**key, "status": DeliveryStatus.CLAIMED, "claimed_at": now, "lease_until": now + lease, "attempts": 1,
         "detail": detail},
        conflict=list(key),
    )
    if not inserted:
        # Take over a claim whose sender died (lease expired, never marked): one winner, by compare-and-set.
        taken = session.execute(
            update(Delivery)
            .where(
                *(getattr(Delivery, k) == v for k, v in key.items()),
                Delivery.status == DeliveryStatus.CLAIMED,
                Delivery.lease_until < now,
            )
            .values(claimed_at=now, lease_until=now + lease, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            return None
    return session.scalars(select(Delivery).filter_by(**key)).one()


def mark_sent(
    session: Session, delivery_id: int, *, channel: str, ts: str, now: datetime, item_ids: list[int] | None = None
) -> None:
    """Sent: record where, and which action items it named (the reminder history)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.SENT, sent_at=now, channel=channel, message_ts=ts, error=None)
    )
    for item_id in item_ids or []:
        insert_ignore(session, DeliveryItem.__table__, {"delivery_id": delivery_id, "action_item_id": item_id},
                      conflict=["delivery_id", "action_item_id"])


def mark_failed(session: Session, delivery_id: int, error: str, item_ids: list[int] | None = None) -> None:
    """Slack refused for good (user_not_found, account_inactive…): keep the error so it can be shown."""
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(status=DeliveryStatus.FAILED, error=error)
    )
    for item_id in item_ids or []:
        insert_ignore(session, DeliveryItem.__table__, {"delivery_id": delivery_id, "action_item_id": item_id},
                      conflict=["delivery_id", "action_item_id"])


def release(session: Session, delivery_id: int, error: str, now: datetime) -> None:
    """A passing failure (Slack down after the client's retries): let the next sweep try again at once."""
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(lease_until=now, error=error)
    )
