"""Exactly-once messages: the outbox's rows, claimed in the database before anything is sent.

A row is one message to one recipient about one subject on one local date; that unique key is the message's
idempotency key. A change that owes a message records it (`owe`) in the same transaction, as `pending`. A
sender claims it with a short lease (`claim`, compare-and-set, one winner across processes), sends outside
any transaction, then marks it sent with where it landed, failed for good, or released for another try. A
claim whose sender died is taken over once its lease ran out (`claim` with `takeover=True` tells the sender
to look in Slack's history for the key first, since Slack may have the message already).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, TextClause

from bot.core.db import insert_ignore
from models import Delivery, DeliveryItem, DeliveryStatus, UTCDateTime
from models.actions import SENDABLE_STATUSES

# Short: a dead sender's messages are taken over within a minute; a live one keeps extending it (heartbeat).
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(seconds=30)


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    takeover: bool  # an earlier attempt was made: the message may already be in Slack


def key_of(delivery: Delivery) -> str:
    return f"{delivery.kind}:{delivery.recipient_id}:{delivery.subject}:{delivery.local_date.isoformat()}"


def owe(
    session: Session,
    *,
    kind: str,
    recipient_id: str,
    subject: str,
    local_date: date,
    now: datetime,
    op: str,
    target: str,
    payload: dict[str, Any],
    team_id: str | None = None,
    thread_ts: str | None = None,
    not_before: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Record a message the current transaction owes; the id, or None when it is already owed (or sent)."""
    values = {
        "kind": kind, "recipient_id": recipient_id, "subject": subject[:64], "local_date": local_date,
        "status": DeliveryStatus.PENDING, "claimed_at": now, "lease_until": now, "attempts": 0, "op": op,
        "target": target, "payload": payload, "team_id": team_id, "thread_ts": thread_ts,
        "not_before": not_before, "detail": detail,
    }
    if not insert_ignore(session, Delivery.__table__, values,
                         conflict=["kind", "recipient_id", "subject", "local_date"]):
        return None
    return session.scalar(select(Delivery.id).filter_by(
        kind=kind, recipient_id=recipient_id, subject=subject[:64], local_date=local_date))


@dataclass(frozen=True)
class Owed:
    """One message of a batch for `owe_many` (the fields of `owe`)."""

    kind: str
    recipient_id: str
    subject: str
    local_date: date
    target: str
    payload: dict[str, Any]
    op: str = "post"
    team_id: str | None = None
    detail: dict[str, Any] | None = None


def owe_many(session: Session, messages: list[Owed], now: datetime) -> dict[tuple[str, str, str, date], int]:
    """Record a batch in one statement (`INSERT … ON CONFLICT DO NOTHING RETURNING`); returns the ids of the
    rows this call inserted, by (kind, recipient, subject, local date). Rows another sweep owed first are
    simply absent: they are that sweep's to send.

    PostgreSQL gets the batch as one array per column (`INSERT … SELECT FROM unnest(…)`: a short statement
    whatever the batch, where a VALUES list of 1,000 rows costs psycopg more to parse than the server to run);
    SQLite (≥ 3.35) gets SQLAlchemy's "insertmanyvalues", one compiled statement with the rows in pages."""
    if not messages:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_PG_OWE_MANY, {
            "status": DeliveryStatus.PENDING.value, "now": now,
            "kind": [m.kind for m in messages], "recipient_id": [m.recipient_id for m in messages],
            "subject": [m.subject[:64] for m in messages], "local_date": [m.local_date for m in messages],
            "op": [m.op for m in messages], "target": [m.target for m in messages],
            "payload": [None if m.payload is None else json.dumps(m.payload) for m in messages],
            "team_id": [m.team_id for m in messages],
            "detail": [None if m.detail is None else json.dumps(m.detail) for m in messages],
        })
    else:
        table = cast(Table, Delivery.__table__)
        statement = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=["kind", "recipient_id", "subject", "local_date"])
            .returning(table.c.id, table.c.kind, table.c.recipient_id, table.c.subject, table.c.local_date)
        )
        rows = session.execute(statement, [
            {"kind": m.kind, "recipient_id": m.recipient_id, "subject": m.subject[:64], "local_date": m.local_date,
             "status": DeliveryStatus.PENDING, "claimed_at": now, "lease_until": now, "attempts": 0, "op": m.op,
             "target": m.target, "payload": m.payload, "team_id": m.team_id, "detail": m.detail}
            for m in messages
        ])
    return {(r.kind, r.recipient_id, r.subject, r.local_date): r.id for r in rows}


_PG_OWE_MANY = text("""
    INSERT INTO deliveries (kind, recipient_id, subject, local_date, status, claimed_at, lease_until, attempts,
                            op, target, payload, team_id, detail)
    SELECT m.kind, m.recipient_id, m.subject, m.local_date, :status, :now, :now, 0,
           m.op, m.target, CAST(m.payload AS json), m.team_id, CAST(m.detail AS json)
    FROM unnest(CAST(:kind AS varchar[]), CAST(:recipient_id AS varchar[]), CAST(:subject AS varchar[]),
                CAST(:local_date AS date[]), CAST(:op AS varchar[]), CAST(:target AS varchar[]),
                CAST(:payload AS text[]), CAST(:team_id AS varchar[]), CAST(:detail AS text[]))
         AS m(kind, recipient_id, subject, local_date, op, target, payload, team_id, detail)
    ON CONFLICT (kind, recipient_id, subject, local_date) DO NOTHING
    RETURNING id, kind, recipient_id, subject, local_date
""").bindparams(bindparam("now", type_=UTCDateTime()))


def claim(session: Session, delivery_id: int, now: datetime, lease: timedelta = LEASE) -> Claimed | None:
    """Take one owed message for sending, or None when another sender holds it or it is done."""
    previous = session.execute(
        select(Delivery.status, Delivery.attempts).where(Delivery.id == delivery_id)
    ).one_or_none()
    if previous is None:
        return None
    taken = cast(CursorResult[Any], session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            or_(Delivery.status == DeliveryStatus.PENDING,
                (Delivery.status == DeliveryStatus.CLAIMED) & (Delivery.lease_until < now)),
            or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
        )
        .values(status=DeliveryStatus.CLAIMED, claimed_at=now, lease_until=now + lease,
                attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    ))
    if taken.rowcount != 1:
        return None
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    session.refresh(delivery)
    # Any earlier attempt may have reached Slack (a dropped answer, a sender killed after Slack's answer).
    return Claimed(delivery_id, key_of(delivery), takeover=previous.attempts > 0)


def _sendable(now: datetime) -> tuple[ColumnElement[bool] | TextClause, ...]:
    """Owed messages a sender may take now: pending, or claimed by a sender whose lease ran out; not held.
    The first term is the partial index's predicate as written there, so the claim reads only unsent rows."""
    return (
        text(f"deliveries.{SENDABLE_STATUSES}"),
        Delivery.op.is_not(None),
        or_(Delivery.status == DeliveryStatus.PENDING,
            (Delivery.status == DeliveryStatus.CLAIMED) & (Delivery.lease_until < now)),
        or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
    )


def claim_due(session: Session, now: datetime, limit: int, lease: timedelta = LEASE) -> list[Claimed]:
    """Claim up to `limit` owed messages in one statement. On PostgreSQL `FOR UPDATE SKIP LOCKED` gives two
    processes sweeping at once disjoint batches (neither waits for the other); SQLite has one writer at a time."""
    due = (
        select(Delivery.id)
        .where(*_sendable(now))
        .order_by(Delivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = cast(Table, Delivery.__table__)  # a Core statement: the ORM's bulk-update bookkeeping is not needed
    rows = session.execute(
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(status=DeliveryStatus.CLAIMED, claimed_at=now, lease_until=now + lease, attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.kind, table.c.recipient_id, table.c.subject, table.c.local_date,
                   table.c.attempts)
    ).all()
    return [Claimed(r.id, f"{r.kind}:{r.recipient_id}:{r.subject}:{r.local_date.isoformat()}", r.attempts > 1)
            for r in sorted(rows, key=lambda r: r.id)]


def due_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Owed messages a sweep should send now: pending, or claimed by a sender whose lease ran out."""
    return list(session.scalars(
        select(Delivery.id)
        .where(*_sendable(now))
        .order_by(Delivery.id)
        .limit(limit)
    ))


def extend(session: Session, ids: Iterable[int], now: datetime, lease: timedelta = LEASE) -> None:
    """The heartbeat: a sender still working on these keeps them."""
    ids = list(ids)
    if ids:
        session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.CLAIMED)
                        .values(lease_until=now + lease))


def mark_sent(
    session: Session, delivery_id: int, *, channel: str, ts: str, now: datetime, item_ids: list[int] | None = None
) -> None:
    """Sent: record where (the reminder history also records which action items it named)."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.SENT, sent_at=now, channel=channel, message_ts=ts, error=None)
    )
    _record_items(session, delivery_id, item_ids)


def mark_sent_many(session: Session, sent: list[tuple[int, str, str]], now: datetime) -> None:
    """`mark_sent` for a batch of (id, channel, ts) in one executemany (one round trip on psycopg)."""
    if not sent:
        return
    table = cast(Table, Delivery.__table__)
    session.execute(
        update(table).where(table.c.id == bindparam("sent_id"))
        .values(status=DeliveryStatus.SENT, sent_at=now, channel=bindparam("sent_channel"),
                message_ts=bindparam("sent_ts"), error=None),
        [{"sent_id": i, "sent_channel": channel, "sent_ts": ts} for i, channel, ts in sent],
    )


def mark_failed(session: Session, delivery_id: int, error: str, item_ids: list[int] | None = None) -> None:
    """Slack refused for good (user_not_found, account_inactive…): keep the error so it can be shown."""
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(status=DeliveryStatus.FAILED, error=error)
    )
    _record_items(session, delivery_id, item_ids)


def release(session: Session, delivery_id: int, error: str, now: datetime) -> None:
    """A passing failure (Slack down, a dropped answer): a later pass tries again, after a back-off that
    grows with the attempts (30 s, 1, 2, 4 minutes), never within the pass that failed."""
    attempts = session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 1
    session.execute(
        update(Delivery).where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.PENDING, lease_until=now, error=error,
                not_before=now + RETRY_BACKOFF * 2 ** (max(attempts, 1) - 1))
    )


def _record_items(session: Session, delivery_id: int, item_ids: list[int] | None) -> None:
    record_items(session, {delivery_id: item_ids or []})


def record_items(session: Session, named: dict[int, list[int]]) -> None:
    """The reminder history: which action items each delivery named. One idempotent executemany."""
    rows = [{"delivery_id": delivery_id, "action_item_id": item_id}
            for delivery_id, item_ids in named.items() for item_id in sorted(set(item_ids))]
    if not rows:
        return
    table = cast(Table, DeliveryItem.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).on_conflict_do_nothing(index_elements=["delivery_id", "action_item_id"]), rows)
