"""Sections asked of a person: the domain rules, in plain Python.

- A section of a milestone has at most one open assignment. Asking someone else replaces the earlier one
  (state `replaced`); asking the same person again changes its due date and note in place.
- The assignee may fill exactly that section (`may_fill`), even when not an editor, while they hold it
  (asked, or done: a table is filled row by row and its first saved row completes the assignment).
- Saving the section as the assignee completes it (`complete_saved`); "Can't do it" hands it back to the
  owner with a reason (`hand_back`); Snooze moves its reminders like an action item's; the owner or an
  editor may withdraw an open request (`withdraw`).
- Overdue: open, a due date before the assignee's today, and not snoozed past today (the action items' rule).
- Contributors per section come from the audit trail (`section.saved`: who, at which revision).

Every change is audited here, in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput, NotAllowed, NotFound
from bot.core.fields import parse_fields
from bot.core.workdays import local_date
from bot.sections.service import SECTIONS, Section, get_section
from models import Assignment, AssignmentState, AuditEvent, FieldSpec, Milestone, MilestoneEditor, UserProfile
from models.assignments import HOLDING

NOTE_LIMIT = 1000
REASON_LIMIT = 1000
SNOOZE_DAYS = (1, 3, 7)
BOT_ACTOR = "milestone-bot"  # who the audit trail names for what the clock does
StateWord = Literal["asked", "overdue", "done", "handed back", "replaced", "withdrawn"]

# The "Ask someone…" form and the hand-back form, declared once (validation and modal read these).
ASSIGNEE = FieldSpec("assignee", "Who should fill it in?", "user", required=True, max_length=32)
DUE = FieldSpec("due_date", "Due date", "date", hint="Optional. After it, they get a reminder each working day.")
NOTE = FieldSpec("note", "Note", "multiline", max_length=NOTE_LIMIT,
                 placeholder="What you need from them, where to find the figures…")
REASON = FieldSpec("reason", "Why can't you do it?", "multiline", required=True, max_length=REASON_LIMIT,
                   placeholder="e.g. Finance owns the budget figures; ask Dana.")
ASK_FIELDS = [ASSIGNEE, DUE, NOTE]


@dataclass(frozen=True)
class Assigned:
    assignment: Assignment
    replaced: Assignment | None  # the earlier assignee's, now replaced (their DM must be updated)
    updated: bool  # the same person asked again: due date and note changed in place


def parse_ask(raw: dict[str, object], today: date) -> tuple[str, date | None, str | None]:
    """(assignee, due date, note) from the form or the command; InvalidInput keyed by field."""
    values = parse_fields(ASK_FIELDS, raw)
    due = values.get("due_date")
    if isinstance(due, date) and due < today:
        raise InvalidInput({"due_date": "Pick today or a later date."})
    note = values.get("note")
    return str(values["assignee"]), due if isinstance(due, date) else None, str(note) if note else None


def parse_reason(raw: dict[str, object]) -> str:
    return str(parse_fields([REASON], raw)["reason"])


def open_assignment(session: Session, milestone_id: int, section_key: str) -> Assignment | None:
    return session.scalar(select(Assignment).where(
        Assignment.milestone_id == milestone_id, Assignment.section == section_key,
        Assignment.state == AssignmentState.ASKED))


def holder(session: Session, milestone_id: int, section_key: str) -> Assignment | None:
    """The latest assignment of the section while its assignee still holds it (asked or done)."""
    return session.scalar(
        select(Assignment)
        .where(Assignment.milestone_id == milestone_id, Assignment.section == section_key,
               Assignment.state.in_(HOLDING))
        .order_by(Assignment.id.desc()).limit(1))


def assign(session: Session, milestone: Milestone, section: Section, assignee_id: str, actor_id: str, *,
           due: date | None, note: str | None, now: datetime) -> Assigned:
    """Ask `assignee_id` for the section (the caller checked that `actor_id` may edit the milestone)."""
    if assignee_id == actor_id and assignee_id == milestone.owner_id:
        raise InvalidInput({"assignee": "That is you: fill it in with `/milestone edit` instead."})
    current = open_assignment(session, milestone.id, section.key)
    detail = {"assignee": assignee_id, "due": due.isoformat() if due else None}
    if current is not None and current.assignee_id == assignee_id:
        current.due_date, current.note, current.snoozed_until = due, note, None
        current.version += 1
        audit.record(session, milestone, actor_id, "assignment.changed", section=section.key, detail=detail)
        session.flush()
        return Assigned(current, None, True)
    # An earlier "done" assignment of the section stops holding it too: one person holds a section.
    for earlier in session.scalars(select(Assignment).where(
            Assignment.milestone_id == milestone.id, Assignment.section == section.key,
            Assignment.state.in_(HOLDING))):
        if earlier.state == AssignmentState.ASKED:
            earlier.state, earlier.ended_at, earlier.ended_by = AssignmentState.REPLACED, now, actor_id
            earlier.version += 1
        else:
            earlier.state = AssignmentState.REPLACED  # done stays visible in the audit trail and contributors
    session.flush()  # the partial unique index sees the earlier one closed before the new one is added
    assignment = Assignment(milestone_id=milestone.id, section=section.key, assignee_id=assignee_id,
                            assigned_by=actor_id, due_date=due, note=note, state=AssignmentState.ASKED,
                            created_at=now, version=0)
    session.add(assignment)
    session.flush()
    if current is not None:
        current.replaced_by_id = assignment.id
        detail["replaces"] = current.assignee_id
    audit.record(session, milestone, actor_id, "assignment.asked", section=section.key, detail=detail)
    return Assigned(assignment, current, False)


def may_fill(session: Session, milestone: Milestone, user_id: str, section_key: str) -> bool:
    """True when `user_id` was asked for exactly this section and still holds it. Sections' permission check
    asks this before refusing a non-editor; it never widens access to any other section."""
    try:
        key = get_section(section_key).key
    except NotFound:
        return False
    found = holder(session, milestone.id, key)
    return found is not None and found.assignee_id == user_id


def get_for(session: Session, assignment_id: int, team_id: str) -> tuple[Assignment, Milestone]:
    """The assignment a button names, in this workspace; ids from Slack are only a pointer."""
    assignment = session.get(Assignment, assignment_id)
    milestone = session.get(Milestone, assignment.milestone_id) if assignment else None
    if assignment is None or milestone is None or milestone.team_id != team_id:
        raise NotFound("That request no longer exists.")
    return assignment, milestone


def ensure_assignee(assignment: Assignment, user_id: str, *, holding: bool = True) -> None:
    if assignment.assignee_id != user_id:
        raise NotAllowed(f"This section was asked of <@{assignment.assignee_id}>, not of you: only they can use "
                         "these buttons.")
    if holding and assignment.state not in HOLDING:
        word = {AssignmentState.HANDED_BACK: "handed back", AssignmentState.WITHDRAWN: "withdrawn"}.get(
            AssignmentState(assignment.state), "given to someone else")
        raise NotAllowed(f"This request was {word}; there is nothing more to do here.")


def complete_saved(session: Session, milestone: Milestone, keys: list[str], actor_id: str,
                   now: datetime) -> tuple[list[Assignment], list[Assignment]]:
    """After `actor_id` saved these sections: (assignments completed now, done ones whose revision moved on)."""
    completed: list[Assignment] = []
    refreshed: list[Assignment] = []
    for key in sorted(set(keys)):
        found = holder(session, milestone.id, key)
        if found is None or found.assignee_id != actor_id:
            continue
        found.completed_revision = milestone.revision
        found.version += 1
        if found.state == AssignmentState.ASKED:
            found.state, found.completed_at = AssignmentState.DONE, now
            audit.record(session, milestone, actor_id, "assignment.completed", section=key,
                         detail={"assignment": found.id})
            completed.append(found)
        else:
            refreshed.append(found)
    session.flush()
    return completed, refreshed


def hand_back(session: Session, assignment: Assignment, milestone: Milestone, actor_id: str, reason: str,
              now: datetime) -> bool:
    """"Can't do it": the section returns to the owner. False when it was already handed back (a repeat)."""
    ensure_assignee(assignment, actor_id, holding=False)
    if assignment.state != AssignmentState.ASKED:
        if assignment.state == AssignmentState.HANDED_BACK:
            return False
        raise NotAllowed("This request is no longer open: it was done or given to someone else.")
    assignment.state, assignment.reason = AssignmentState.HANDED_BACK, reason
    assignment.ended_at, assignment.ended_by = now, actor_id
    assignment.version += 1
    audit.record(session, milestone, actor_id, "assignment.handed_back", section=assignment.section,
                 detail={"assignment": assignment.id, "reason": reason})
    session.flush()
    return True


def withdraw(session: Session, assignment: Assignment, milestone: Milestone, actor_id: str, now: datetime) -> bool:
    """The owner or an editor takes an open request back (the caller checked who acts): the section is no
    longer asked of anyone. False when it was withdrawn already (a second click changes nothing)."""
    if assignment.milestone_id != milestone.id:
        raise NotFound("That request no longer exists.")
    if assignment.state != AssignmentState.ASKED:
        if assignment.state == AssignmentState.WITHDRAWN:
            return False
        raise NotAllowed("This request is no longer open (it was done, handed back or given to someone else): "
                         "there is nothing to withdraw.")
    assignment.state, assignment.ended_at, assignment.ended_by = AssignmentState.WITHDRAWN, now, actor_id
    assignment.version += 1
    audit.record(session, milestone, actor_id, "assignment.withdrawn", section=assignment.section,
                 detail={"assignment": assignment.id, "assignee": assignment.assignee_id})
    session.flush()
    return True


def reminded(session: Session, assignment_ids: list[int], day: date, how: str) -> None:
    """Audit a reminder once it is out, per assignment it named (the daily digest, "Remind everyone")."""
    for assignment in session.scalars(select(Assignment).where(Assignment.id.in_(assignment_ids))
                                      .order_by(Assignment.id)):
        milestone = session.get(Milestone, assignment.milestone_id)
        audit.record(session, milestone, BOT_ACTOR, "assignment.reminded", section=assignment.section,
                     detail={"assignment": assignment.id, "to": assignment.assignee_id, "day": day.isoformat(),
                             "how": how})


def snooze(session: Session, assignment: Assignment, milestone: Milestone, actor_id: str, days: int,
           today: date) -> date:
    ensure_assignee(assignment, actor_id)
    if assignment.state != AssignmentState.ASKED:
        raise NotAllowed("This request is done; there is nothing to snooze.")
    if days not in SNOOZE_DAYS:
        raise InvalidInput({"days": "Snooze for 1, 3 or 7 days."})
    assignment.snoozed_until = today + timedelta(days=days)
    assignment.version += 1
    audit.record(session, milestone, actor_id, "assignment.snoozed", section=assignment.section,
                 detail={"assignment": assignment.id, "until": assignment.snoozed_until.isoformat()})
    return assignment.snoozed_until


# ---- reading: who owes what -------------------------------------------------------------------------------


def is_overdue(assignment: Assignment, today: date) -> bool:
    """Open, past its due date in the assignee's `today`, and not snoozed past today."""
    return (assignment.state == AssignmentState.ASKED and assignment.due_date is not None
            and assignment.due_date < today
            and (assignment.snoozed_until is None or assignment.snoozed_until <= today))


def state_word(assignment: Assignment, today: date) -> StateWord:
    if assignment.state == AssignmentState.ASKED:
        return "overdue" if is_overdue(assignment, today) else "asked"
    return {AssignmentState.DONE: "done", AssignmentState.HANDED_BACK: "handed back",
            AssignmentState.WITHDRAWN: "withdrawn"}.get(
        AssignmentState(assignment.state), "replaced")  # type: ignore[return-value]


def for_milestone(session: Session, milestone_id: int) -> dict[str, Assignment]:
    """Each section's current assignment (asked or done), by section key: the picker, show, Home, the gate."""
    rows = session.scalars(select(Assignment).where(
        Assignment.milestone_id == milestone_id, Assignment.state.in_(HOLDING)).order_by(Assignment.id))
    return {a.section: a for a in rows}


def assignee_days(session: Session, assignments: Iterable[Assignment], now: datetime) -> dict[str, date]:
    """Each assignee's today (overdue is judged in the assignee's time zone, from the cached profile; UTC
    when the bot has not met them yet). One statement."""
    people = sorted({a.assignee_id for a in assignments})
    zones = dict(session.execute(select(UserProfile.user_id, UserProfile.tz)
                                 .where(UserProfile.user_id.in_(people))).tuples().all()) if people else {}
    return {person: local_date(now, zones.get(person)) for person in people}


def listed_for_milestone(session: Session, milestone_id: int) -> list[Assignment]:
    """Each section's current assignment (asked or done), in the template's order: `show` and the gate."""
    order = _section_order()
    return sorted(for_milestone(session, milestone_id).values(), key=lambda a: order.get(a.section, 99))


def open_for_milestone(session: Session, milestone_id: int) -> list[Assignment]:
    """The sections still owed, in the template's order."""
    order = _section_order()
    owed = [a for a in for_milestone(session, milestone_id).values() if a.state == AssignmentState.ASKED]
    return sorted(owed, key=lambda a: order.get(a.section, 99))


def owed_by(session: Session, user_id: str, team_id: str | None = None) -> list[tuple[Assignment, Milestone]]:
    """What one person still owes, across milestones (oldest due date first)."""
    query = (select(Assignment, Milestone).join(Milestone, Milestone.id == Assignment.milestone_id)
             .where(Assignment.assignee_id == user_id, Assignment.state == AssignmentState.ASKED))
    if team_id:
        query = query.where(Milestone.team_id == team_id)
    rows = [(a, m) for a, m in session.execute(query)]
    return sorted(rows, key=lambda r: (r[0].due_date or date.max, r[0].id))


def owing_in_milestones_of(session: Session, user_id: str, team_id: str,
                           limit: int = 3) -> list[tuple[Milestone, list[Assignment]]]:
    """Milestones this person owns or edits that have sections still owed, with those assignments."""
    edited = select(MilestoneEditor.milestone_id).where(MilestoneEditor.user_id == user_id)
    rows = session.execute(
        select(Milestone, Assignment).join(Assignment, Assignment.milestone_id == Milestone.id)
        .where(Milestone.team_id == team_id, Assignment.state == AssignmentState.ASKED,
               or_(Milestone.owner_id == user_id, Milestone.id.in_(edited)))
        .order_by(Milestone.id.desc(), Assignment.id))
    found: dict[int, tuple[Milestone, list[Assignment]]] = {}
    for milestone, assignment in rows:
        found.setdefault(milestone.id, (milestone, []))[1].append(assignment)
    order = _section_order()
    return [(m, sorted(owed, key=lambda a: order.get(a.section, 99))) for m, owed in list(found.values())[:limit]]


def overdue_assignments_for(session: Session, user_id: str, today: date) -> list[tuple[Assignment, Milestone]]:
    """The person's overdue assignments on their `today`."""
    return [(a, m) for a, m in owed_by(session, user_id) if is_overdue(a, today)]


def with_milestones(session: Session, assignment_ids: list[int]) -> dict[int, tuple[Assignment, Milestone]]:
    """Assignments by id with their milestones, in one statement (a digest's sections, rendered)."""
    if not assignment_ids:
        return {}
    rows = session.execute(select(Assignment, Milestone).join(Milestone, Milestone.id == Assignment.milestone_id)
                           .where(Assignment.id.in_(assignment_ids)))
    return {a.id: (a, m) for a, m in rows}


def contributors(session: Session, milestone_id: int) -> dict[str, list[tuple[str, int]]]:
    """Who filled which section, at which revision (their latest save), from the audit trail; for the
    report's footer. Sections in the template's order, people in the order they first contributed."""
    rows = session.execute(
        select(AuditEvent.section, AuditEvent.actor_id, AuditEvent.revision)
        .where(AuditEvent.milestone_id == milestone_id, AuditEvent.action == "section.saved",
               AuditEvent.section.is_not(None))
        .order_by(AuditEvent.id))
    latest: dict[str, dict[str, int]] = defaultdict(dict)
    for section, actor, revision in rows:
        latest[str(section)][actor] = int(revision or 0)
    order = _section_order()
    return {key: list(latest[key].items()) for key in sorted(latest, key=lambda k: order.get(k, 99))}


def _section_order() -> dict[str, int]:
    return {s.key: i for i, s in enumerate(SECTIONS)}


def pending_notice(session: Session, ids: list[int]) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.notice_delivery_id.in_(ids))
                                .order_by(Assignment.completed_at, Assignment.id)))


def attach_notice(session: Session, assignment_ids: list[int], delivery_id: int) -> None:
    session.execute(update(Assignment).where(Assignment.id.in_(assignment_ids))
                    .values(notice_delivery_id=delivery_id).execution_options(synchronize_session=False))
