"""Scheduled job: remind people asked for feedback, once, FEEDBACK_REMINDER_DAYS after they were asked.

Skipped: people who have answered (anonymously too, found by their fingerprint), cancelled milestones, and
anyone outside their working hours (they are reminded at the next sweep inside them). Exactly once: the
delivery is claimed per request (its date is the request's date, so a later day cannot claim it again),
committed, sent, then marked sent along with the request's `reminded_at`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core import deliveries
from bot.core.workdays import is_working_time, local_now
from bot.feedback import service
from bot.feedback.views import request_message
from bot.slack.jobs import JobContext
from bot.slack.notifier import DeliveryError
from bot.slack.users import get_profile
from models import Milestone, Status

log = logging.getLogger(__name__)
KIND = "feedback"
# Slack error codes that mean "try again later" rather than "this person cannot get DMs".
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


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
            tz = get_profile(session, ctx.client, request.user_id).tz
            if not is_working_time(local_now(now, tz), settings):
                continue
            due.append(_Due(request.id, request.user_id, request.requested_by, milestone.id, milestone.key,
                            request.requested_at.date()))

    lines: list[str] = []
    for item in due:
        with ctx.deps.session() as session:
            delivery = deliveries.claim(
                session, kind=KIND, recipient_id=item.user_id, subject=f"milestone:{item.milestone_id}",
                local_date=item.requested_on, now=now,
                detail={"feedback_request_id": item.request_id},
            )
            delivery_id = delivery.id if delivery else None
            milestone = session.get_one(Milestone, item.milestone_id)
            text, blocks = request_message(milestone, item.requested_by, reminder=True)
        if delivery_id is None:
            continue  # another sweep has it, or it was sent already
        try:
            posted = ctx.notifier.dm(item.user_id, text, blocks)
        except DeliveryError as error:
            with ctx.deps.session() as session:
                if error.code in TRANSIENT:
                    deliveries.release(session, delivery_id, error.code, now)
                else:
                    deliveries.mark_failed(session, delivery_id, error.code)
            lines.append(f"feedback reminder to {item.user_id} for {item.key} failed: {error.code}")
            continue
        except Exception as error:  # Slack unreachable after the client's retries: the next sweep tries again
            log.warning("feedback reminder to %s failed", item.user_id, exc_info=True)
            with ctx.deps.session() as session:
                deliveries.release(session, delivery_id, type(error).__name__, now)
            lines.append(f"feedback reminder to {item.user_id} for {item.key} failed: {type(error).__name__}")
            continue
        with ctx.deps.session() as session:
            deliveries.mark_sent(session, delivery_id, channel=posted.channel, ts=posted.ts, now=now)
            service.mark_reminded(session, item.request_id, now)
        lines.append(f"feedback reminder sent to {item.user_id} for {item.key}")
    return lines
