"""Scheduled job: remind approvers whose sign-off has waited SIGNOFF_REMINDER_WORKING_DAYS working days.

One DM per approver per local day at most, listing every request that waits for them, sent only inside
their working hours. The day's reminder is owed in the outbox first (bot.core.deliveries), so two sweeps
running at once send it once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core import audit, deliveries
from bot.core.workdays import is_working_time, local_date, local_now, working_days_between
from bot.signoffs.service import pending_requests
from bot.signoffs.views import reminder_dm
from bot.slack import outbox
from bot.slack.jobs import JobContext
from bot.slack.notifier import Posted
from bot.slack.users import cached_profile
from models import Delivery, Milestone

log = logging.getLogger(__name__)

KIND = "signoff_reminder"
SUBJECT = "pending"

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
    """The person's time zone from the users.info cache (refreshed outside any transaction)."""
    return cached_profile(ctx.deps, ctx.client, user_id).tz


def _remind(ctx: JobContext, approver: str, tz: str | None, items: list[Item]) -> list[str]:
    now = ctx.now
    text, blocks = reminder_dm(items)
    with ctx.deps.session() as session:
        delivery_id = deliveries.owe(
            session, kind=KIND, recipient_id=approver, subject=SUBJECT, local_date=local_date(now, tz), now=now,
            op="post", target=approver, payload={"text": text, "blocks": blocks},
            detail={"requests": [request_id for _m, _r, request_id, _a, _v in items],
                    "roles": {str(m.id): [role for m2, role, *_r in items if m2.id == m.id] for m, *_x in items}},
        )
    if delivery_id is None:
        return []  # owed today already (sent, or another sweep is sending it right now)
    results = outbox.deliver(ctx.deps, ctx.client, [delivery_id], now)
    if results and results[0].status in ("sent", "found"):
        return [f"sign-off reminder to {approver}: {len(items)} request(s)"]
    return [f"sign-off reminder to {approver} failed: {results[0].detail if results else 'not sent'}"]


def _audit_reminded(session: Session, delivery: Delivery, _posted: Posted) -> None:
    for milestone_id, roles in ((delivery.detail or {}).get("roles") or {}).items():
        milestone = session.get(Milestone, int(milestone_id))
        if milestone is not None:
            audit.record(session, milestone, "clock", "signoff.reminded",
                         detail={"approver": delivery.recipient_id, "roles": roles})


outbox.register(KIND, on_sent=_audit_reminded)
