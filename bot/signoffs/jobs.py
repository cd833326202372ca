"""Scheduled job: remind approvers whose sign-off has waited SIGNOFF_REMINDER_WORKING_DAYS working days.

One DM per approver per local day at most, listing every request that waits for them, sent only inside
their working hours. The day's delivery is claimed in the database first (bot.core.deliveries), so two
sweeps running at once send it once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.core import audit, deliveries
from bot.core.workdays import is_working_time, local_date, local_now, working_days_between
from bot.signoffs.service import pending_requests
from bot.signoffs.views import reminder_dm
from bot.slack.jobs import JobContext
from bot.slack.notifier import DeliveryError
from bot.slack.users import get_profile
from models import Milestone

log = logging.getLogger(__name__)

KIND = "signoff_reminder"
SUBJECT = "pending"
# Slack's answers that will not change by trying again tomorrow's sweep sooner (the person is gone).
PERMANENT = {"user_not_found", "user_disabled", "account_inactive", "cannot_dm_bot", "channel_not_found",
             "is_archived", "invalid_blocks", "msg_blocks_too_long"}

Item = tuple[Milestone, str, int, datetime, int]  # milestone, role, request id, asked at, revision


def run(ctx: JobContext) -> list[str]:
    settings = ctx.deps.settings
    now = ctx.now
    by_person: dict[str, list[Item]] = defaultdict(list)
    with ctx.deps.session() as session:
        for request, slot, milestone in pending_requests(session):
            by_person[request.approver_id].append(
                (milestone, slot.role, request.id, request.requested_at, request.revision)
            )
    lines: list[str] = []
    for approver, waiting in by_person.items():
        tz = _time_zone(ctx, approver)
        if not is_working_time(local_now(now, tz), settings):
            continue  # outside their working hours: a later sweep today (their today) sends it
        today = local_date(now, tz)
        items = [
            item for item in waiting
            if working_days_between(local_date(item[3], tz), today, settings.work_days)
            >= settings.signoff_reminder_working_days
        ]
        if items:
            lines.extend(_remind(ctx, approver, tz, items))
    return lines


def _time_zone(ctx: JobContext, user_id: str) -> str | None:
    """The person's time zone from the users.info cache. Two sweeps may fill the cache at the same moment;
    the loser of that race reads the winner's row."""
    for _attempt in range(2):
        try:
            with ctx.deps.session() as session:
                return get_profile(session, ctx.client, user_id).tz
        except IntegrityError:
            continue
    return None


def _remind(ctx: JobContext, approver: str, tz: str | None, items: list[Item]) -> list[str]:
    now = ctx.now
    with ctx.deps.session() as session:
        delivery = deliveries.claim(
            session, kind=KIND, recipient_id=approver, subject=SUBJECT, local_date=local_date(now, tz), now=now,
            detail={"requests": [request_id for _m, _r, request_id, _a, _v in items]},
        )
        if delivery is None:
            return []  # sent today already, or another sweep is sending it right now
        delivery_id = delivery.id
    text, blocks = reminder_dm(items)
    try:
        posted = ctx.notifier.dm(approver, text, blocks)
    except DeliveryError as error:
        with ctx.deps.session() as session:
            if error.code in PERMANENT:
                deliveries.mark_failed(session, delivery_id, error.code)
            else:
                deliveries.release(session, delivery_id, error.code, now)
        return [f"sign-off reminder to {approver} failed: {error.code}"]
    except Exception as error:  # connection trouble after the client's retries: next sweep tries again
        log.warning("sign-off reminder to %s not sent: %s", approver, error)
        with ctx.deps.session() as session:
            deliveries.release(session, delivery_id, type(error).__name__, now)
        return [f"sign-off reminder to {approver} failed: {type(error).__name__}"]
    with ctx.deps.session() as session:
        deliveries.mark_sent(session, delivery_id, channel=posted.channel, ts=posted.ts, now=now)
        for milestone_id in {m.id for m, *_rest in items}:
            milestone = session.get(Milestone, milestone_id)
            roles = [role for m, role, *_rest in items if m.id == milestone_id]
            audit.record(session, milestone, "clock", "signoff.reminded", detail={"approver": approver, "roles": roles})
    return [f"sign-off reminder to {approver}: {len(items)} request(s)"]
