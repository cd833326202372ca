"""Assignments across the database and Slack: every DM an assignment owes is recorded in the outbox in the
same transaction as the change, then delivered after the commit (or by the clock's next pass).

Outbox kinds (registered at import; bot/features.py imports this module through listeners and jobs):
- KIND_DM      the assignee's DM, posted once; rendered from the current state at send time.
- KIND_EDIT    that DM edited in place (done, reassigned, handed back, withdrawn, snoozed); one row per
               `version`.
- KIND_DONE    the owner's DM about completions; completions within NOTICE_DELAY join one pending DM.
- KIND_BACK    the owner's DM that a section was handed back, with the reason.
- KIND_NUDGE   "Remind everyone who owes a section": one DM per assignee per milestone per day.
(Overdue sections are reminded in each person's one daily digest, with their action items: bot.actions.jobs.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.assignments import service, views
from bot.core import audit, deliveries
from bot.core.access import ensure_can_edit, get_by_key, is_editor
from bot.core.errors import InvalidInput, NotAllowed
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.sections import flows as sections
from bot.sections import views as section_views
from bot.sections.service import Section, get_section
from bot.slack import outbox
from bot.slack.notifier import Posted
from bot.slack.permissions import load_milestone
from bot.slack.users import cached_profile, is_admin_of
from models import Assignment, Delivery, DeliveryStatus, Milestone, UserProfile, utcnow

log = logging.getLogger(__name__)

KIND_DM = "assignment_dm"
KIND_EDIT = "assignment_edit"
KIND_DONE = "assignment_done"
KIND_BACK = "assignment_back"
KIND_NUDGE = "assignment_nudge"
NOTICE_DELAY = timedelta(minutes=3)


@dataclass(frozen=True)
class Outcome:
    """What an assignment change did, for the answer to the person who made it."""

    assignment_id: int
    assignee_id: str
    replaced_id: str | None
    updated: bool
    undelivered: str | None  # Slack's error when the assignee's DM could not be delivered


# ---- who may act ------------------------------------------------------------------------------------------


def may_edit(deps: Deps, client: WebClient, milestone: Milestone, user_id: str) -> bool:
    """Owner, editors, or an admin of this workspace (users.info outside any transaction)."""
    with deps.read() as session:
        if is_editor(session, milestone, user_id):
            return True
    return is_admin_of(cached_profile(deps, client, user_id), milestone.team_id)


def today_of(session: Session, user_id: str, now: datetime) -> date:
    """The person's calendar date from the cached profile (UTC when the bot has not met them yet)."""
    return local_date(now, session.scalar(select(UserProfile.tz).where(UserProfile.user_id == user_id)))


def check_assignee(deps: Deps, client: WebClient, assignee_id: str) -> None:
    profile = cached_profile(deps, client, assignee_id)
    if profile.is_bot:
        raise InvalidInput({"assignee": "That is an app, not a person: ask a person."})
    if profile.deleted:
        raise InvalidInput({"assignee": "That account is deactivated: ask someone else."})


# ---- asking ----------------------------------------------------------------------------------------------


def assign(deps: Deps, client: WebClient, *, team_id: str, milestone_ref: str | int, section_key: str,
           assignee_id: str, actor_id: str, raw: dict[str, Any], claim: Any = None) -> Outcome:
    """Ask `assignee_id` for a section: check who acts and who is asked (Slack lookups first, outside any
    transaction), save and owe the DMs in one transaction, then deliver them. Raises DomainError/InvalidInput."""
    section = get_section(section_key)
    if not assignee_id:
        raise InvalidInput({"assignee": "Choose the person to ask."})
    with deps.read() as session:
        milestone = _milestone(session, team_id, milestone_ref)
        session.expunge(milestone)
    allowed = may_edit(deps, client, milestone, actor_id)
    if allowed:
        check_assignee(deps, client, assignee_id)
    now = utcnow()
    with deps.session() as session:
        milestone = _milestone(session, team_id, milestone.id)
        ensure_can_edit(session, milestone, actor_id, is_admin=allowed, action="ask someone for a section")
        _, due, note = service.parse_ask({**raw, "assignee": assignee_id}, today_of(session, actor_id, now))
        if claim is not None:
            claim(session)
        done = service.assign(session, milestone, section, assignee_id, actor_id, due=due, note=note, now=now)
        ids = owe_dm(session, done.assignment, milestone, now) if not done.updated else [
            owe_edit(session, done.assignment, milestone, now)]
        if done.replaced is not None:
            ids.append(owe_edit(session, done.replaced, milestone, now))
        outcome = (done.assignment.id, done.replaced.assignee_id if done.replaced else None, done.updated)
    results = outbox.deliver(deps, client, ids, now)
    failed = next((r.detail for r in results if r.status == "failed" and r.recipient_id == assignee_id), None)
    return Outcome(outcome[0], assignee_id, outcome[1], outcome[2], failed)


def _milestone(session: Session, team_id: str, ref: str | int) -> Milestone:
    return load_milestone(session, team_id, ref) if isinstance(ref, int) else get_by_key(session, team_id, ref)


def owe_dm(session: Session, assignment: Assignment, milestone: Milestone, now: datetime) -> list[int | None]:
    return [deliveries.owe(
        session, kind=KIND_DM, recipient_id=assignment.assignee_id, subject=f"assignment:{assignment.id}",
        local_date=now.date(), now=now, op="post", target=assignment.assignee_id, team_id=milestone.team_id,
        payload={"assignment": assignment.id})]


def owe_edit(session: Session, assignment: Assignment, milestone: Milestone, now: datetime) -> int | None:
    """The assignee's DM, edited to show the assignment as it is now (one owed edit per version)."""
    return deliveries.owe(
        session, kind=KIND_EDIT, recipient_id=assignment.assignee_id,
        subject=f"assignment:{assignment.id}:v{assignment.version}", local_date=now.date(), now=now,
        op="update", target=assignment.assignee_id, team_id=milestone.team_id, payload={"assignment": assignment.id})


# ---- completing (the content hook), handing back, snoozing ----------------------------------------------


def section_saved(deps: Deps, client: WebClient, milestone_id: int, actor_id: str, keys: list[str]) -> None:
    """`deps.on_content_changed`: a section saved by its assignee completes the assignment; their DM says
    "Done · revision N" and the owner is told once (completions within NOTICE_DELAY share one DM)."""
    now = utcnow()
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None:
            return
        completed, refreshed = service.complete_saved(session, milestone, keys, actor_id, now)
        ids = [owe_edit(session, a, milestone, now) for a in (*completed, *refreshed)]
        if completed:
            owe_owner_notice(session, [a.id for a in completed], milestone, now)
        ids += audit.owed(session)  # the footer's contributors: the canvas joins the save's rewrite
    outbox.deliver(deps, client, ids, now)


def owe_owner_notice(session: Session, assignment_ids: list[int], milestone: Milestone, now: datetime) -> None:
    """Join the owner's pending completion DM, or owe a new one that waits NOTICE_DELAY for more to join.

    The pending row is locked (PostgreSQL) so a sender cannot claim and render it between our look and our
    commit; on SQLite writers are serial. A row already claimed or sent is never joined."""
    query = (select(Delivery.id).where(Delivery.kind == KIND_DONE, Delivery.recipient_id == milestone.owner_id,
                                        Delivery.status == DeliveryStatus.PENDING).order_by(Delivery.id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    delivery_id = session.scalar(query)
    if delivery_id is None:
        delivery_id = deliveries.owe(
            session, kind=KIND_DONE, recipient_id=milestone.owner_id, subject=f"done:{min(assignment_ids)}",
            local_date=now.date(), now=now, op="post", target=milestone.owner_id, team_id=milestone.team_id,
            payload={}, not_before=now + NOTICE_DELAY)
    if delivery_id is not None:
        service.attach_notice(session, assignment_ids, delivery_id)


def hand_back(deps: Deps, client: WebClient, *, team_id: str, assignment_id: int, actor_id: str,
              raw: dict[str, Any], claim: Any = None) -> bool:
    """"Can't do it" with a reason: the owner gets a DM with it, the assignee's DM says so."""
    reason = service.parse_reason(raw)
    now = utcnow()
    with deps.session() as session:
        assignment, milestone = service.get_for(session, assignment_id, team_id)
        if claim is not None:
            claim(session)
        if not service.hand_back(session, assignment, milestone, actor_id, reason, now):
            return False
        text, blocks = views.handed_back_dm(assignment, milestone)
        ids = [owe_edit(session, assignment, milestone, now), deliveries.owe(
            session, kind=KIND_BACK, recipient_id=milestone.owner_id, subject=f"assignment:{assignment.id}",
            local_date=now.date(), now=now, op="post", target=milestone.owner_id, team_id=milestone.team_id,
            payload={"text": text, "blocks": blocks})]
    outbox.deliver(deps, client, ids, now)
    return True


def withdraw(deps: Deps, client: WebClient, *, team_id: str, assignment_id: int,
             actor_id: str) -> tuple[Assignment, Milestone, bool]:
    """The owner or an editor (or a workspace admin) takes an open request back: audited, and the assignee's
    DM is edited in place to say so. (assignment, milestone, whether it changed anything)."""
    with deps.read() as session:
        _, milestone = service.get_for(session, assignment_id, team_id)
        session.expunge(milestone)
    if not may_edit(deps, client, milestone, actor_id):
        raise NotAllowed(f"Only the owner and editors of {milestone.key} (or a workspace admin) can withdraw a "
                         "request.")
    now = utcnow()
    with deps.session() as session:
        assignment, milestone = service.get_for(session, assignment_id, team_id)
        changed = service.withdraw(session, assignment, milestone, actor_id, now)
        ids = [owe_edit(session, assignment, milestone, now)] if changed else []
        session.flush()
        session.expunge_all()
    outbox.deliver(deps, client, ids, now)
    return assignment, milestone, changed


def picker_id(body: dict[str, Any]) -> str | None:
    """The section picker's view id when a click was made in it."""
    view = body.get("view") or {}
    return str(view["id"]) if view.get("callback_id") == section_views.PICKER_CALLBACK and view.get("id") else None


def picker_of(deps: Deps, team_id: str, milestone_id: int) -> dict[str, Any]:
    """The section picker as it is now (to refresh it under a click made in it)."""
    with deps.read() as session:
        return sections.picker_view(session, load_milestone(session, team_id, milestone_id))


def snooze(deps: Deps, client: WebClient, *, team_id: str, assignment_id: int, actor_id: str, days: int) -> date:
    now = utcnow()
    with deps.session() as session:
        assignment, milestone = service.get_for(session, assignment_id, team_id)
        until = service.snooze(session, assignment, milestone, actor_id, days, today_of(session, actor_id, now))
        ids = [owe_edit(session, assignment, milestone, now)]
    outbox.deliver(deps, client, ids, now)
    return until


def check_assignee_of(deps: Deps, team_id: str, assignment_id: int, user_id: str) -> tuple[Assignment, Milestone]:
    """The assignment and milestone, if `user_id` is its assignee and still holds it (NotAllowed otherwise)."""
    with deps.read() as session:
        assignment, milestone = service.get_for(session, assignment_id, team_id)
        service.ensure_assignee(assignment, user_id)
        session.expunge_all()
    return assignment, milestone


# ---- "Remind everyone who owes a section" --------------------------------------------------------------


def remind_owing(deps: Deps, client: WebClient, *, team_id: str, milestone_id: int,
                 actor_id: str) -> tuple[list[str], list[str]]:
    """One DM to each person who owes a section of the milestone, at most once a day each (their day).
    Returns (reminded now, already reminded today)."""
    with deps.read() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        session.expunge(milestone)
    if not may_edit(deps, client, milestone, actor_id):
        raise NotAllowed(f"Only the owner and editors of {milestone.key} (or a workspace admin) can remind people.")
    now = utcnow()
    reminded: list[str] = []
    already: list[str] = []
    with deps.session() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        by_person: dict[str, list[tuple[Assignment, Milestone]]] = {}
        for assignment in service.open_for_milestone(session, milestone.id):
            by_person.setdefault(assignment.assignee_id, []).append((assignment, milestone))
        ids = []
        for person, rows in sorted(by_person.items()):
            today = today_of(session, person, now)
            text, blocks = views.nudge_dm(rows, actor_id, today)
            owed = deliveries.owe(
                session, kind=KIND_NUDGE, recipient_id=person, subject=f"milestone:{milestone.id}",
                local_date=today, now=now, op="post", target=person, team_id=team_id,
                payload={"text": text, "blocks": blocks, "assignments": [a.id for a, _ in rows]},
                detail={"by": actor_id})
            (reminded if owed is not None else already).append(person)
            ids.append(owed)
            if owed is not None:
                for assignment, _ in rows:
                    audit.record(session, milestone, actor_id, "assignment.reminded", section=assignment.section,
                                 detail={"assignment": assignment.id, "to": person, "how": "remind everyone"})
    outbox.deliver(deps, client, ids, now)
    return reminded, already


# ---- opening the section's form for the assignee ----------------------------------------------------------


def section_form_view(session: Session, milestone: Milestone, section: Section) -> dict[str, Any]:
    """The form editors use for this section (or a table's row list). THE one call into the sections
    feature's view builder: repoint it here when sections renames it."""
    from bot.sections import service as registry

    if section.is_table:
        rows = [(row.id, registry.row_values(row, section)) for row in registry.rows(milestone, section)]
        meta = section_views.metadata_of(section_views.SectionContext(milestone.id, section.key, None, False))
        return section_views.rows_modal(milestone, section, rows, meta, milestone.currency)
    meta = section_views.metadata_of(section_views.SectionContext(milestone.id, section.key, None, False))
    return section_views.form_modal(milestone, section, registry.current_values(milestone, section), meta)


def form_for_assignee(deps: Deps, team_id: str, assignment_id: int, user_id: str) -> dict[str, Any]:
    """The section's form for its assignee; NotAllowed for anyone else (nothing is opened or changed)."""
    with deps.read() as session:
        assignment, milestone = service.get_for(session, assignment_id, team_id)
        service.ensure_assignee(assignment, user_id)
        return section_form_view(session, milestone, get_section(assignment.section))


def ask_form(deps: Deps, client: WebClient, team_id: str, milestone_id: int, section_key: str,
             user_id: str, picker: str | None = None) -> dict[str, Any]:
    """The "Ask someone…" modal, for those who may edit the milestone."""
    section = get_section(section_key)
    with deps.read() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        session.expunge(milestone)
    if not may_edit(deps, client, milestone, user_id):
        raise NotAllowed(f"Only the owner and editors of {milestone.key} (or a workspace admin) can ask someone "
                         "for a section.")
    return views.ask_modal(milestone, section.key, picker)


# ---- the outbox's renderers ------------------------------------------------------------------------------


def _current_dm(session: Session, delivery: Delivery) -> tuple[Assignment, str, list[dict[str, Any]]] | None:
    assignment = session.get(Assignment, int((delivery.payload or {}).get("assignment", 0)))
    milestone = session.get(Milestone, assignment.milestone_id) if assignment else None
    if assignment is None or milestone is None:
        return None
    replaced_by = None
    if assignment.replaced_by_id:
        successor = session.get(Assignment, assignment.replaced_by_id)
        replaced_by = successor.assignee_id if successor else None
    text, blocks = views.assignment_dm(assignment, milestone, today_of(session, assignment.assignee_id, utcnow()),
                                       replaced_by)
    return assignment, text, blocks


def _render_dm(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    found = _current_dm(session, delivery)
    if found is None:
        return None
    return outbox.Outgoing("post", delivery.target or found[0].assignee_id, found[1], found[2])


def _render_edit(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """None while the DM itself is not out: when it goes, it shows the current state anyway."""
    found = _current_dm(session, delivery)
    if found is None or not found[0].dm_ts or not found[0].dm_channel:
        return None
    return outbox.Outgoing("update", found[0].dm_channel, found[1], found[2], ts=found[0].dm_ts)


def _dm_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    assignment = session.get(Assignment, int((delivery.payload or {}).get("assignment", 0)))
    if assignment is not None:
        assignment.dm_channel, assignment.dm_ts = posted.channel, posted.ts


def _render_done(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    rows = []
    for assignment in service.pending_notice(session, [delivery.id]):
        milestone = session.get(Milestone, assignment.milestone_id)
        if milestone is not None:
            rows.append((assignment, milestone))
    if not rows:
        return None
    text, blocks = views.owner_done_dm(rows)
    return outbox.Outgoing("post", delivery.target or "", text, blocks)


outbox.register(KIND_DM, render=_render_dm, on_sent=_dm_sent)
outbox.register(KIND_EDIT, render=_render_edit)
outbox.register(KIND_DONE, render=_render_done)
