"""Scheduled job: remind people asked for feedback, once, FEEDBACK_REMINDER_DAYS after they were asked.

Skipped: people who have answered (anonymously too, found by their fingerprint), cancelled milestones, and
anyone outside their working hours (they are reminded at the next sweep inside them). Exactly once: the
reminder is owed in the outbox per request (its date is the request's date, so a later day cannot owe it
again), committed, and sent through the one send-once path, which records the request's `reminded_at`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from bot.core import deliveries
from bot.core.workdays import is_working_time, local_now
from bot.feedback import service
from bot.feedback.views import request_message
from bot.slack import outbox
from bot.slack.jobs import JobContext
from bot.slack.notifier import Posted
from bot.slack.users import cached_profile
from models import Delivery, Milestone, Status, utcnow

log = logging.getLogger(__name__)
KIND = "feedback"


@dataclass(frozen=True)
class _Due:
    request_id: int
    user_id: str
    requested_by: str
    milestone_id: int
    key: str
    requested_on: date  # the delivery's date: one reminder per request, whatever day it goes out


def run(ctx: JobContext) -> list[str]:
    settings = ctx.deps.settings
    now = ctx.now
    due: list[_Due] = []
    with ctx.deps.session() as session:
        candidates = service.due_reminders(session, now, timedelta(days=settings.feedback_reminder_days))
        answered: dict[int, set[str]] = {}
        for request, milestone in candidates:
            if milestone.status == Status.CANCELLED:
                continue
            if milestone.id not in answered:
                asked = [r.user_id for r, m in candidates if m.id == milestone.id]
                answered[milestone.id] = service.answered_set(session, settings.signing_key, milestone, asked)
            if request.user_id in answered[milestone.id]:
                continue
            due.append(_Due(request.id, request.user_id, request.requested_by, milestone.id, milestone.key,
                            request.requested_at.date()))
    # Time zones outside the transaction (users.info may be slow); outside working hours waits for a later sweep.
    due = [item for item in due
           if is_working_time(local_now(now, cached_profile(ctx.deps, ctx.client, item.user_id).tz), settings)]

    owed: dict[int, _Due] = {}
    with ctx.deps.session() as session:
        for item in due:
            milestone = session.get_one(Milestone, item.milestone_id)
            text, blocks = request_message(milestone, item.requested_by, reminder=True)
            delivery_id = deliveries.owe(
                session, kind=KIND, recipient_id=item.user_id, subject=f"milestone:{item.milestone_id}",
                local_date=item.requested_on, now=now, op="post", target=item.user_id, team_id=milestone.team_id,
                payload={"text": text, "blocks": blocks}, detail={"feedback_request_id": item.request_id},
            )
            if delivery_id is not None:  # else another sweep has it, or it was sent already
                owed[delivery_id] = item
    lines: list[str] = []
    for result in outbox.deliver(ctx.deps, ctx.client, list(owed), now):
        item = owed[result.id]
        if result.status in ("sent", "found"):
            lines.append(f"feedback reminder sent to {item.user_id} for {item.key}")
        else:
            lines.append(f"feedback reminder to {item.user_id} for {item.key} failed: {result.detail}")
    return lines


def _reminded(session: Session, delivery: Delivery, _posted: Posted) -> None:
    request_id = (delivery.detail or {}).get("feedback_request_id")
    if request_id is not None:
        service.mark_reminded(session, int(request_id), delivery.sent_at or utcnow())


outbox.register(KIND, on_sent=_reminded)
