"""Scheduled job: one reminder DM per person per local working day listing their overdue assignments.

Sent only inside WORK_HOURS_START–WORK_HOURS_END on WORK_DAYS in the assignee's time zone; owed in the outbox
under (assignment_reminder, person, "overdue", their local date), so two sweeps at once, a crash or a
catch-up run still send it once a day. Each reminder sent is audited per assignment.

Until the lead folds these lines into the action-item digest (`service.overdue_assignments_for` and
`views.line`), this job sends them on its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.assignments import service, views
from bot.core import audit, deliveries
from bot.core.workdays import WorkHours, is_working_time, local_now
from bot.slack import outbox
from bot.slack.jobs import JobContext
from bot.slack.notifier import Posted
from bot.slack.users import refresh_profiles
from models import Assignment, AssignmentState, Delivery, Milestone, UserProfile, utcnow

log = logging.getLogger(__name__)

KIND_REMINDER = "assignment_reminder"
SUBJECT = "overdue"
BOT_ACTOR = "milestone-bot"
_MAX_AHEAD = timedelta(hours=14)  # nobody's today is later than UTC+14
PROFILE_MAX_AGE = timedelta(days=1)

Row = tuple[Assignment, Milestone]


def run(ctx: JobContext) -> list[str]:
    _refresh_profiles(ctx)
    owed: list[tuple[int, str, date, int]] = []
    with ctx.deps.session() as session:
        for person, today, rows in select_due(session, ctx.now, ctx.deps.settings):
            text, blocks = views.reminder_dm(rows, today)
            delivery_id = deliveries.owe(
                session, kind=KIND_REMINDER, recipient_id=person, subject=SUBJECT, local_date=today, now=ctx.now,
                op="post", target=person, team_id=rows[0][1].team_id,
                payload={"text": text, "blocks": blocks, "assignments": [a.id for a, _ in rows]})
            if delivery_id is not None:
                owed.append((delivery_id, person, today, len(rows)))
    described = {d: (person, today, n) for d, person, today, n in owed}
    lines = []
    for result in outbox.deliver(ctx.deps, ctx.client, list(described), ctx.now):
        person, today, count = described[result.id]
        what = f"assignment reminder to {person} ({count} overdue) for {today}"
        status = {"sent": "sent", "found": "sent", "failed": "FAILED"}.get(result.status, "will retry")
        lines.append(f"{status} {what}" + (f": {result.detail}" if status != "sent" and result.detail else ""))
    return lines


def select_due(session: Session, now: datetime, settings: WorkHours) -> list[tuple[str, date, list[Row]]]:
    """(person, their local date, overdue assignments) for everyone inside their working hours now."""
    latest_today = (now + _MAX_AHEAD).date()
    rows = session.execute(
        select(Assignment, Milestone, UserProfile.tz)
        .join(Milestone, Milestone.id == Assignment.milestone_id)
        .outerjoin(UserProfile, UserProfile.user_id == Assignment.assignee_id)
        .where(Assignment.state == AssignmentState.ASKED, Assignment.due_date.is_not(None),
               Assignment.due_date < latest_today,
               or_(Assignment.snoozed_until.is_(None), Assignment.snoozed_until <= latest_today))
        .order_by(Assignment.assignee_id, Assignment.due_date, Assignment.id))
    by_person: dict[str, list[Row]] = defaultdict(list)
    today_of: dict[str, date] = {}
    for assignment, milestone, tz in rows:
        moment = local_now(now, tz)
        if not is_working_time(moment, settings) or not service.is_overdue(assignment, moment.date()):
            continue
        by_person[assignment.assignee_id].append((assignment, milestone))
        today_of[assignment.assignee_id] = moment.date()
    return [(person, today_of[person], found) for person, found in sorted(by_person.items())]


def _refresh_profiles(ctx: JobContext) -> None:
    """users.info for assignees with open dated assignments whose cached time zone is missing or a day old,
    each outside any transaction."""
    cutoff = utcnow() - PROFILE_MAX_AGE
    with ctx.deps.read() as session:
        stale = sorted(set(session.scalars(
            select(Assignment.assignee_id)
            .outerjoin(UserProfile, UserProfile.user_id == Assignment.assignee_id)
            .where(Assignment.state == AssignmentState.ASKED, Assignment.due_date.is_not(None),
                   or_(UserProfile.fetched_at.is_(None), UserProfile.fetched_at < cutoff)))))
    refresh_profiles(ctx.deps, ctx.client, list(stale))


def _reminded(session: Session, delivery: Delivery, _posted: Posted) -> None:
    """Audit the reminder once it is out, per assignment it named."""
    ids = [int(i) for i in (delivery.payload or {}).get("assignments") or []]
    for assignment in session.scalars(select(Assignment).where(Assignment.id.in_(ids))):
        milestone = session.get(Milestone, assignment.milestone_id)
        audit.record(session, milestone, BOT_ACTOR, "assignment.reminded", section=assignment.section,
                     detail={"assignment": assignment.id, "to": assignment.assignee_id,
                             "day": delivery.local_date.isoformat(), "how": "daily reminder"})


outbox.register(KIND_REMINDER, on_sent=_reminded)
