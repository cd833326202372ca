"""Which action-item reminders are due now: owner digests, escalations and weekly channel summaries.

Plain, set-based selection for the sweep in bot/actions/jobs.py. A sweep makes a fixed number of
queries whatever the number of items: one for the open items that may be overdue (with both time zones
joined in), one for the report sections asked of people that may be overdue, one for the deliveries already
made for today's keys, one for failed digests. Everything else (local dates, working hours, grouping by
recipient) is arithmetic in Python over those rows.

The owner digest is each person's one reminder a day: their overdue action items and the overdue sections
they were asked to fill in (bot.assignments: overdue by its own rule, in the assignee's time zone).

Keys (models.Delivery's unique constraint), one message per key:
- owner digest:  (action_digest, owner, "all", owner's local date)
- escalation:    (action_escalation, milestone owner, "all", milestone owner's local date)
- weekly summary:(action_weekly, report channel, "milestone:<id>", the week's summary date in the milestone
  owner's time zone; sent in their working hours on that day or, after downtime, later the same week)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from bot.actions.service import KIND_DIGEST, KIND_ESCALATION, KIND_WEEKLY, is_overdue, overdue_since
from bot.assignments import service as assignment_rules
from bot.core.workdays import WorkHours, is_working_day, is_working_time, local_now, working_days_between
from models import (
    ActionItem,
    ActionStatus,
    Assignment,
    AssignmentState,
    Delivery,
    DeliveryStatus,
    Milestone,
    UserProfile,
)

# UTC+14 (Kiribati) is the furthest ahead any time zone gets: nobody's "today" is later than this.
_MAX_AHEAD = timedelta(hours=14)
PROFILE_MAX_AGE = timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Failed digests older than this no longer appear in escalations (the item keeps its own history).
FAILURE_WINDOW = timedelta(days=14)


class ReminderSettings(WorkHours, Protocol):
    @property
    def escalate_after_working_days(self) -> int: ...
    @property
    def weekly_summary_day(self) -> str: ...


@dataclass(frozen=True)
class OverdueItem:
    id: int
    milestone_id: int
    milestone_key: str
    milestone_name: str
    milestone_owner_id: str
    report_channel_id: str | None
    owner_id: str
    horizon: str
    description: str
    priority: str | None
    due_date: date
    owner_today: date
    working_days_overdue: int  # counted from service.overdue_since: due date, end of a snooze, or arrival
    snoozed_until: date | None = None
    owner_tz: str | None = None
    lead_tz: str | None = None


@dataclass(frozen=True)
class Failure:
    """An owner the bot could not reach (their latest digest failed for good)."""

    owner_id: str
    error: str
    local_date: date


@dataclass
class Due:
    """One message to claim and send."""

    kind: str
    recipient_id: str
    subject: str
    local_date: date
    items: list[OverdueItem]
    failures: dict[str, Failure] = field(default_factory=dict)  # escalations: unreachable owners
    assignments: list[int] = field(default_factory=list)  # digests: overdue sections asked of the person

    @property
    def key(self) -> tuple[str, str, str, date]:
        return (self.kind, self.recipient_id, self.subject, self.local_date)

    @property
    def item_ids(self) -> list[int]:
        return [item.id for item in self.items]


def _open_candidates(now: datetime) -> ColumnElement[bool]:
    """Open items that may be overdue somewhere on Earth right now (the exact test is per owner, in Python)."""
    latest_today = (now + _MAX_AHEAD).date()
    return and_(
        ActionItem.status == ActionStatus.OPEN,
        ActionItem.due_date.is_not(None),
        ActionItem.due_date < latest_today,
        or_(ActionItem.snoozed_until.is_(None), ActionItem.snoozed_until <= latest_today),
    )


def stale_profiles(session: Session, now: datetime, *, clock: datetime | None = None) -> list[str]:
    """People the sweep at `now` needs a time zone for whose cached profile is missing or older than a day
    by `clock` (the real time: `remind --now` may pretend another moment, but a cache's age is real):
    owners of candidate items and the owners of their milestones, and people asked for a section with a due
    date. Two queries."""
    cutoff = (clock or now) - PROFILE_MAX_AGE
    owner_p, lead_p = aliased(UserProfile), aliased(UserProfile)
    rows = session.execute(
        select(ActionItem.owner_id, owner_p.fetched_at, Milestone.owner_id, lead_p.fetched_at)
        .join(Milestone, Milestone.id == ActionItem.milestone_id)
        .outerjoin(owner_p, owner_p.user_id == ActionItem.owner_id)
        .outerjoin(lead_p, lead_p.user_id == Milestone.owner_id)
        .where(_open_candidates(now), or_(owner_p.fetched_at.is_(None), owner_p.fetched_at < cutoff,
                                          lead_p.fetched_at.is_(None), lead_p.fetched_at < cutoff))
        .distinct()
    )
    stale: set[str] = set()
    for owner, owner_at, lead, lead_at in rows:
        if owner_at is None or owner_at < cutoff:
            stale.add(owner)
        if lead_at is None or lead_at < cutoff:
            stale.add(lead)
    stale.update(session.scalars(
        select(Assignment.assignee_id).outerjoin(UserProfile, UserProfile.user_id == Assignment.assignee_id)
        .where(_open_sections(now), or_(UserProfile.fetched_at.is_(None), UserProfile.fetched_at < cutoff))
        .distinct()))
    return sorted(stale)


def _open_sections(now: datetime) -> ColumnElement[bool]:
    """Sections asked of someone that may be overdue somewhere on Earth right now (exact test per person)."""
    latest_today = (now + _MAX_AHEAD).date()
    return and_(
        Assignment.state == AssignmentState.ASKED,
        Assignment.due_date.is_not(None),
        Assignment.due_date < latest_today,
        or_(Assignment.snoozed_until.is_(None), Assignment.snoozed_until <= latest_today),
    )


def _overdue_sections(session: Session, now: datetime, hours: _Hours,
                      waiting: dict[tuple[str, str, str, date], Held] | None) -> dict[str, tuple[date, list[int]]]:
    """Per person inside their working hours now: (their today, the sections asked of them that are overdue
    there), by the assignments' one overdue rule. People outside their hours are held. One query."""
    found: dict[str, tuple[date, list[int]]] = {}
    rows = session.execute(
        select(Assignment, UserProfile.tz)
        .outerjoin(UserProfile, UserProfile.user_id == Assignment.assignee_id)
        .where(_open_sections(now))
        .order_by(Assignment.assignee_id, Assignment.due_date, Assignment.id))
    for assignment, tz in rows:
        today = hours.today(tz)
        if not assignment_rules.is_overdue(assignment, today):
            continue
        if not hours.working(tz):
            hours.hold(waiting, KIND_DIGEST, assignment.assignee_id, "all", today, tz)
            continue
        found.setdefault(assignment.assignee_id, (today, []))[1].append(assignment.id)
    return found


def _rows(session: Session, now: datetime) -> Iterable[Any]:
    owner_p, lead_p = aliased(UserProfile), aliased(UserProfile)
    return session.execute(
        select(
            ActionItem.id, ActionItem.milestone_id, Milestone.key, Milestone.name, Milestone.owner_id,
            Milestone.report_channel_id, ActionItem.owner_id, ActionItem.horizon, ActionItem.description,
            ActionItem.priority, ActionItem.due_date, ActionItem.snoozed_until, owner_p.tz, lead_p.tz,
            ActionItem.created_at,
        )
        .join(Milestone, Milestone.id == ActionItem.milestone_id)
        .outerjoin(owner_p, owner_p.user_id == ActionItem.owner_id)
        .outerjoin(lead_p, lead_p.user_id == Milestone.owner_id)
        .where(_open_candidates(now))
        .order_by(ActionItem.owner_id, ActionItem.due_date, ActionItem.id)
    )


def _summary_date(today: date, weekday: str) -> date:
    """The most recent summary day on or before today (today itself on the day)."""
    return today - timedelta(days=(today.weekday() - WEEKDAYS.index(weekday)) % 7)


@dataclass(frozen=True)
class Held:
    """A reminder that would be due but waits for its recipient's working hours (`remind` says why)."""

    kind: str
    recipient_id: str
    subject: str
    local_date: date
    reason: str  # "outside working hours" or "not a working day"
    detail: str  # "05:00 America/New_York"

    @property
    def key(self) -> tuple[str, str, str, date]:
        return (self.kind, self.recipient_id, self.subject, self.local_date)


class _Hours:
    """Working time per time zone, computed once per zone (not per item), and why a zone is outside it."""

    def __init__(self, now: datetime, settings: ReminderSettings) -> None:
        self.now, self.settings = now, settings
        self._working: dict[str | None, bool] = {}

    def working(self, tz: str | None) -> bool:
        if tz not in self._working:
            self._working[tz] = is_working_time(local_now(self.now, tz), self.settings)
        return self._working[tz]

    def today(self, tz: str | None) -> date:
        return local_now(self.now, tz).date()

    def hold(self, held: dict[tuple[str, str, str, date], Held] | None, kind: str, recipient: str, subject: str,
             day: date, tz: str | None) -> None:
        if held is None:
            return
        local = local_now(self.now, tz)
        if is_working_day(local.date(), self.settings.work_days):
            reason, detail = "outside working hours", f"{local:%H:%M} {tz or 'UTC'}"
        else:
            reason, detail = "not a working day", f"{local:%a %H:%M} {tz or 'UTC'}"
        message = Held(kind, recipient, subject, day, reason, detail)
        held.setdefault(message.key, message)


def _overdue_items(session: Session, now: datetime, settings: ReminderSettings) -> Iterator[OverdueItem]:
    """The open items overdue in their owner's time zone, by the one overdue rule (service.is_overdue)."""
    today_in: dict[str | None, date] = {}
    overdue_days: dict[tuple[date, date], int] = {}  # few distinct (since, today) pairs: count each once
    for (item_id, milestone_id, key, name, lead, channel, owner, horizon, description, priority, due, snoozed,
         owner_tz, lead_tz, created_at) in _rows(session, now):
        if owner_tz not in today_in:
            today_in[owner_tz] = local_now(now, owner_tz).date()
        today = today_in[owner_tz]
        if not is_overdue(ActionStatus.OPEN, due, snoozed, today):  # the rows are open items
            continue
        # escalation counts from the end of a snooze, or from the day the item came in (an import), if later
        since = overdue_since(due, snoozed, min(local_now(created_at, owner_tz).date(), today))
        if (since, today) not in overdue_days:
            overdue_days[(since, today)] = working_days_between(since, today, settings.work_days)
        yield OverdueItem(
            id=item_id, milestone_id=milestone_id, milestone_key=key, milestone_name=name, milestone_owner_id=lead,
            report_channel_id=channel, owner_id=owner, horizon=horizon, description=description, priority=priority,
            due_date=due, owner_today=today, working_days_overdue=overdue_days[(since, today)], snoozed_until=snoozed,
            owner_tz=owner_tz, lead_tz=lead_tz,
        )


def select_due(session: Session, now: datetime, settings: ReminderSettings,
               held: list[Held] | None = None) -> list[Due]:
    """Every reminder message due now that has not been sent, failed for good, or claimed by a live sweep.
    When `held` is given, it receives the messages that wait for their recipient's working hours.

    Sorted by key, so two sweeps claim in the same order (no lock cycles on PostgreSQL)."""
    digests: dict[str, Due] = {}
    escalations: dict[str, Due] = {}
    weekly: dict[int, Due] = {}
    by_owner: dict[str, list[OverdueItem]] = defaultdict(list)
    lead_zone: dict[str, str | None] = {}
    hours = _Hours(now, settings)
    waiting: dict[tuple[str, str, str, date], Held] | None = {} if held is not None else None
    for item in _overdue_items(session, now, settings):
        owner, lead, lead_tz = item.owner_id, item.milestone_owner_id, item.lead_tz
        by_owner[owner].append(item)
        lead_zone[lead] = lead_tz
        if hours.working(item.owner_tz):
            digests.setdefault(owner, Due(KIND_DIGEST, owner, "all", item.owner_today, [])).items.append(item)
        else:
            hours.hold(waiting, KIND_DIGEST, owner, "all", item.owner_today, item.owner_tz)
        if owner != lead and item.working_days_overdue > settings.escalate_after_working_days:
            if hours.working(lead_tz):
                _escalation(escalations, lead, lead_tz, now).items.append(item)
            else:
                hours.hold(waiting, KIND_ESCALATION, lead, "all", hours.today(lead_tz), lead_tz)
        channel = item.report_channel_id
        if channel and settings.weekly_summary_day != "off":
            summary_day = _summary_date(hours.today(lead_tz), settings.weekly_summary_day)
            subject = f"milestone:{item.milestone_id}"
            if hours.working(lead_tz):
                weekly.setdefault(item.milestone_id, Due(KIND_WEEKLY, channel, subject, summary_day, [])
                                  ).items.append(item)
            else:
                hours.hold(waiting, KIND_WEEKLY, channel, subject, summary_day, lead_tz)

    # Overdue sections join each person's one digest (a digest of them alone when no item is overdue).
    for person, (today, assignment_ids) in _overdue_sections(session, now, hours, waiting).items():
        digests.setdefault(person, Due(KIND_DIGEST, person, "all", today, [])).assignments += assignment_ids

    # Owners the bot could not reach: their items go to the milestone owner, whatever their age.
    for failure in _latest_failures(session, now, set(by_owner)):
        for item in by_owner[failure.owner_id]:
            lead = item.milestone_owner_id
            if lead == failure.owner_id or not hours.working(lead_zone.get(lead)):
                continue
            escalation = _escalation(escalations, lead, lead_zone.get(lead), now)
            escalation.failures[failure.owner_id] = failure
            if item not in escalation.items:
                escalation.items.append(item)

    due = [*digests.values(), *escalations.values(), *weekly.values()]
    done = _settled_keys(session, now, [*due, *(waiting or {}).values()])
    if held is not None and waiting is not None:
        held.extend(sorted((h for h in waiting.values() if h.key not in done), key=lambda h: h.key))
    return sorted((d for d in due if d.key not in done), key=lambda d: d.key)


def _escalation(escalations: dict[str, Due], lead: str, lead_tz: str | None, now: datetime) -> Due:
    if lead not in escalations:
        escalations[lead] = Due(KIND_ESCALATION, lead, "all", local_now(now, lead_tz).date(), [])
    return escalations[lead]


def _latest_failures(session: Session, now: datetime, owners: set[str]) -> list[Failure]:
    """Owners whose most recent digest (within the window) failed for good. One query, over the recent
    digests of owners with a failure among them only (usually none: the query then returns nothing)."""
    if not owners:
        return []
    since = (now - FAILURE_WINDOW).date()
    recent = (Delivery.kind == KIND_DIGEST) & (Delivery.local_date >= since)
    failed = select(Delivery.recipient_id).where(recent, Delivery.status == DeliveryStatus.FAILED)
    rows = session.execute(
        select(Delivery.recipient_id, Delivery.local_date, Delivery.status, Delivery.error)
        .where(recent, Delivery.recipient_id.in_(failed.scalar_subquery()))
        .order_by(Delivery.recipient_id, Delivery.local_date)
    )
    latest: dict[str, tuple[date, str, str | None]] = {}
    for recipient, day, status, error in rows:
        if status != DeliveryStatus.CLAIMED:
            latest[recipient] = (day, status, error)
    return [
        Failure(owner, error or "unknown error", day)
        for owner, (day, status, error) in sorted(latest.items())
        if status == DeliveryStatus.FAILED and owner in owners
    ]


def _settled_keys(session: Session, now: datetime, due: Sequence[Due | Held]) -> set[tuple[str, str, str, date]]:
    """Keys already sent, failed for good, or claimed by a sweep whose lease still runs. One query, filtered
    by the few local dates in play rather than by thousands of recipients."""
    if not due:
        return set()
    kinds = {d.kind for d in due}
    dates = {d.local_date for d in due}
    rows = session.execute(
        select(Delivery.kind, Delivery.recipient_id, Delivery.subject, Delivery.local_date, Delivery.status,
               Delivery.lease_until)
        .where(Delivery.kind.in_(kinds), Delivery.local_date.in_(dates))
    )
    return {
        (kind, recipient, subject, day)
        for kind, recipient, subject, day, status, lease_until in rows
        if status != DeliveryStatus.CLAIMED or lease_until >= now
    }
