"""Post-milestone action items and technical debt: adding, editing, closing, snoozing, reassigning, listing.

Who may do what (DESIGN.md §3): owners, editors and workspace admins of a milestone add items; only the
item's owner or the milestone's owner closes, snoozes or reassigns one; those two and the milestone's editors
edit one (changing the owner through Edit is a reassignment and follows its rule).

Action items are post-milestone tracking, not report content: changing them does not bump the report
revision (sign-off conditions create items, and approving must not outdate itself).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, select, update
from sqlalchemy.orm import Session

from bot.actions.history import KIND_ASSIGNED as KIND_ASSIGNED
from bot.actions.history import KIND_DIGEST as KIND_DIGEST
from bot.actions.history import KIND_ESCALATION as KIND_ESCALATION
from bot.actions.history import KIND_WEEKLY as KIND_WEEKLY
from bot.actions.history import ReminderHistory as ReminderHistory
from bot.actions.history import reminder_history as reminder_history
from bot.core import audit, deliveries
from bot.core.access import ensure_can_edit, is_editor
from bot.core.errors import InvalidInput, NotAllowed, NotFound
from bot.core.workdays import local_date, next_working_day
from models import ActionItem, ActionStatus, AuditEvent, Horizon, Milestone, UserProfile, form_fields
from models.actions import ReplyTarget
from models.base import FieldSpec, FieldValue

# How long Slack lets a response_url be used (docs: up to 5 times within 30 minutes).
REPLY_TTL = timedelta(minutes=30)

# Days after the milestone's completion date that each horizon suggests as a due date.
HORIZON_DAYS = {Horizon.WEEK1: 7, Horizon.MONTH1: 30, Horizon.QUARTER: 90}
# Horizons a person picks in the modal; sign-off conditions are created by the sign-off flow.
PICKABLE_HORIZONS = (Horizon.WEEK1, Horizon.MONTH1, Horizon.QUARTER, Horizon.TECH_DEBT)
SNOOZE_DAYS = (1, 3, 7)
REASON_FIELD = FieldSpec("reason", "Why", "text", max_length=300)  # the delete confirmation's optional note
EDITABLE_FIELDS = (
    "description", "horizon", "owner_id", "due_date", "priority", "notes", "effort_days", "planned_sprint",
)


def action_fields() -> list[FieldSpec]:
    """The modal's fields, in the modal's order (declared once on models.ActionItem)."""
    specs = {spec.name: spec for spec in form_fields(ActionItem)}
    return [specs[name] for name in EDITABLE_FIELDS]


def completion_date(milestone: Milestone) -> date | None:
    return milestone.actual_end or milestone.planned_end


WEEKDAYS = frozenset(range(5))


def suggest_due_date(milestone: Milestone, horizon: str, today: date, work_days: Collection[int] = WEEKDAYS
                     ) -> date | None:
    """Completion date + the horizon's span (Week 1: 7 days, Month 1: 30, Quarter: 90), moved to the next
    working day (WORK_DAYS) when it falls on a day off. When that is already past (an old milestone), the
    span counts from today instead, so a new item never starts overdue."""
    days = HORIZON_DAYS.get(Horizon(horizon)) if horizon in Horizon._value2member_map_ else None
    if days is None:
        return None
    base = completion_date(milestone) or today
    suggested = base + timedelta(days=days)
    return next_working_day(suggested if suggested >= today else today + timedelta(days=days), work_days)


def suggestions(milestone: Milestone, today: date, work_days: Collection[int] = WEEKDAYS) -> dict[str, date]:
    return {h.value: d for h in HORIZON_DAYS
            if (d := suggest_due_date(milestone, h, today, work_days)) is not None}


def is_overdue(status: str, due_date: date | None, snoozed_until: date | None, today: date) -> bool:
    """THE overdue rule, for every surface: open, due before `today` (the owner's today, in their time zone),
    and not snoozed past today (a snoozed item is not overdue before its snooze ends; on that day it is)."""
    return (
        status == ActionStatus.OPEN
        and due_date is not None
        and due_date < today
        and (snoozed_until is None or snoozed_until <= today)
    )


def is_snoozed(status: str, snoozed_until: date | None, today: date) -> bool:
    """Open and snoozed past today: no reminders, not overdue."""
    return status == ActionStatus.OPEN and snoozed_until is not None and snoozed_until > today


def overdue_since(due_date: date, snoozed_until: date | None, created_on: date | None = None) -> date:
    """THE start of the overdue count that escalation waits on: the due date, the end of a snooze that ran past
    it, or the day the item came into the bot (`created_on`, in the owner's time zone) when that is later. An
    item imported (or added) long after its due date is reminded from the next sweep like any overdue item,
    and escalates only after the usual number of working days from that day, not for the days already past."""
    return max(d for d in (due_date, snoozed_until, created_on) if d is not None)


def get_item(session: Session, item_id: int | str, team_id: str | None = None) -> ActionItem:
    try:
        item = session.get(ActionItem, int(item_id))
    except (TypeError, ValueError):
        item = None
    if item is None or (team_id and item.milestone.team_id != team_id):
        raise NotFound("That action item no longer exists.")
    return item


def owe_assignment(session: Session, item: ActionItem, assigner_id: str, now: datetime, change: str) -> int | None:
    """The new owner's DM, owed in the transaction that gave them the item (a crash after the commit loses
    nothing: the outbox sends it). Nobody is told about an item they gave themselves. `change` names the change
    (the modal's view id: one submission, one message). Rendered when sent, from the item as it is then
    (bot/actions/flows.py registers the renderer)."""
    if item.owner_id == assigner_id:
        return None
    return deliveries.owe(
        session, kind=KIND_ASSIGNED, recipient_id=item.owner_id, subject=f"item:{item.id}:{change}",
        local_date=owner_today(session, item.owner_id, now), now=now, op="post", target=item.owner_id,
        team_id=item.milestone.team_id, payload={"item_ids": [item.id]}, detail={"assigner": assigner_id},
    )


def keep_reply_target(session: Session, user_id: str, url: str, now: datetime) -> int:
    """Keep a click's response_url server-side; the modal's metadata carries the returned id only."""
    session.execute(delete(ReplyTarget).where(ReplyTarget.created_at < now - REPLY_TTL))
    target = ReplyTarget(user_id=user_id, url=url, created_at=now)
    session.add(target)
    session.flush()
    return target.id


def reply_target(session: Session, target_id: int | None, user_id: str, now: datetime) -> str | None:
    """The response_url kept for this person's click, while Slack still accepts it."""
    target = session.get(ReplyTarget, target_id) if target_id else None
    if target is None or target.user_id != user_id or target.created_at < now - REPLY_TTL:
        return None
    return target.url


def owner_today(session: Session, user_id: str, now: datetime) -> date:
    """Today for a person, from the cached profile (UTC when unknown); no Slack call."""
    tz = session.scalar(select(UserProfile.tz).where(UserProfile.user_id == user_id))
    return local_date(now, tz)


def can_act(item: ActionItem, user_id: str) -> bool:
    return user_id in (item.owner_id, item.milestone.owner_id)


def ensure_can_act(item: ActionItem, user_id: str, what: str) -> None:
    if not can_act(item, user_id):
        raise NotAllowed(
            f"Only the item's owner (<@{item.owner_id}>) or the owner of {item.milestone.key} "
            f"(<@{item.milestone.owner_id}>) can {what} this action item. Nothing was changed."
        )


def ensure_can_edit_item(session: Session, item: ActionItem, user_id: str, *, is_admin: bool) -> None:
    if can_act(item, user_id) or is_admin or is_editor(session, item.milestone, user_id):
        return
    raise NotAllowed(
        f"Only the item's owner, or the owner and editors of {item.milestone.key}, can edit this action item."
    )


def _check_values(values: dict[str, FieldValue], today: date, previous_due: date | None = None) -> None:
    errors: dict[str, str] = {}
    due = values.get("due_date")
    if isinstance(due, date) and due < today - timedelta(days=365) and due != previous_due:
        errors["due_date"] = "That is more than a year ago; pick the date the action is due."
    if values.get("horizon") == Horizon.TECH_DEBT and not values.get("priority"):
        errors["priority"] = "Technical debt needs a priority (the report's debt table sorts by it)."
    if errors:
        raise InvalidInput(errors)


def create_item(
    session: Session,
    milestone: Milestone,
    values: dict[str, FieldValue],
    actor_id: str,
    *,
    today: date,
    is_admin: bool,
    work_days: Collection[int] = WEEKDAYS,
) -> ActionItem:
    """A new item (due date suggested from the horizon when left empty). The caller claims the submission
    in the same transaction, so a double submit creates one item."""
    ensure_can_edit(session, milestone, actor_id, is_admin=is_admin)
    _check_values(values, today)
    if values.get("due_date") is None:
        values = {**values, "due_date": suggest_due_date(milestone, str(values.get("horizon")), today,
                                                                    work_days)}
    item = ActionItem(milestone_id=milestone.id, created_by=actor_id, status=ActionStatus.OPEN, **values)
    session.add(item)
    session.flush()
    audit.record(session, milestone, actor_id, "action.added", section="actions",
                 detail={"item": item.id, "owner": item.owner_id})
    return item


def update_item(
    session: Session, item: ActionItem, values: dict[str, FieldValue], actor_id: str, *, today: date, is_admin: bool
) -> str | None:
    """Apply an edit; returns the previous owner when the edit reassigned the item."""
    ensure_can_edit_item(session, item, actor_id, is_admin=is_admin)
    previous_owner = item.owner_id
    if values.get("owner_id") and values["owner_id"] != previous_owner and not can_act(item, actor_id):
        raise InvalidInput({"owner_id": "Only the item's owner or the milestone's owner can reassign it."})
    _check_values(values, today, previous_due=item.due_date)
    changed = {k: v for k, v in values.items() if getattr(item, k) != v}
    for name, value in changed.items():
        setattr(item, name, value)
    if "owner_id" in changed:
        item.owner_name = None  # a member now owns it, not the name an imported report gave
    if "due_date" in changed:
        item.snoozed_until = None  # a new due date replaces any snooze
    if changed:
        audit.record(session, item.milestone, actor_id, "action.edited", section="actions",
                     detail={"item": item.id, "fields": sorted(changed)})
    return previous_owner if item.owner_id != previous_owner else None


def _transition(session: Session, item: ActionItem, before: str, values: dict[str, Any]) -> bool:
    """A conditional UPDATE (… WHERE status = `before`): of two clicks at once, exactly one changes the row,
    on PostgreSQL (the second waits for the first's row lock, then sees the new status) and SQLite alike."""
    result = cast(CursorResult[Any], session.execute(
        update(ActionItem).where(ActionItem.id == item.id, ActionItem.status == before).values(**values)
        .execution_options(synchronize_session=False)
    ))
    session.refresh(item)
    return result.rowcount == 1


def mark_done(session: Session, item: ActionItem, actor_id: str, now: datetime) -> bool:
    """Close the item; False when it was closed already (a second click changes nothing)."""
    ensure_can_act(item, actor_id, "close")
    if not _transition(session, item, ActionStatus.OPEN,
                       {"status": ActionStatus.DONE, "done_at": now, "done_by": actor_id}):
        return False
    audit.record(session, item.milestone, actor_id, "action.done", section="actions", detail={"item": item.id})
    return True


def reopen(session: Session, item: ActionItem, actor_id: str) -> bool:
    """Undo Done; False when the item is open already."""
    ensure_can_act(item, actor_id, "reopen")
    if not _transition(session, item, ActionStatus.DONE,
                       {"status": ActionStatus.OPEN, "done_at": None, "done_by": None}):
        return False
    audit.record(session, item.milestone, actor_id, "action.reopened", section="actions", detail={"item": item.id})
    return True


def delete_item(session: Session, item: ActionItem, actor_id: str, *, is_admin: bool, reason: str = "") -> None:
    """Remove the item for good (its owner, the milestone's owner and editors); the audit keeps what it said."""
    ensure_can_edit_item(session, item, actor_id, is_admin=is_admin)
    audit.record(session, item.milestone, actor_id, "action.deleted", section="actions", detail={
        "item": item.id, "description": item.description[:500], "owner": item.owner_id, "status": item.status,
        "reason": reason or None})
    session.execute(delete(ActionItem).where(ActionItem.id == item.id))


def snooze(session: Session, item: ActionItem, actor_id: str, days: int, now: datetime) -> date:
    """No reminders until `days` after today in the owner's time zone; returns that date."""
    ensure_can_act(item, actor_id, "snooze")
    if days not in SNOOZE_DAYS:
        raise InvalidInput({"snooze": "Snooze for 1 day, 3 days or 1 week."})
    if item.status != ActionStatus.OPEN:
        raise NotAllowed("This action item is already closed; there is nothing to snooze.")
    until = owner_today(session, item.owner_id, now) + timedelta(days=days)
    item.snoozed_until = until
    audit.record(session, item.milestone, actor_id, "action.snoozed", section="actions",
                 detail={"item": item.id, "until": until.isoformat()})
    return until


def reassign(session: Session, item: ActionItem, actor_id: str, new_owner: str) -> bool:
    """Give the item to someone else; False when they own it already. An imported item whose owner matched no
    member (kept as `owner_name`, held by the importer) can be given to the importer too: the name goes."""
    ensure_can_act(item, actor_id, "reassign")
    if not new_owner or (new_owner == item.owner_id and not item.owner_name):
        return False
    previous = item.owner_id
    item.owner_id, item.owner_name = new_owner, None
    item.snoozed_until = None  # the new owner's snooze is theirs to choose
    audit.record(session, item.milestone, actor_id, "action.reassigned", section="actions",
                 detail={"item": item.id, "from": previous, "to": new_owner})
    return True


def reassigned_by(session: Session, item: ActionItem) -> str | None:
    """Who last gave the item to its current owner (Reassign, or Edit changing the owner), from the audit log."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.milestone_id == item.milestone_id,
               AuditEvent.action.in_(("action.reassigned", "action.edited")))
        .order_by(AuditEvent.id.desc())
        .limit(200)
    )
    for event in events:
        detail = event.detail or {}
        if detail.get("item") == item.id and (
            event.action == "action.reassigned" or "owner_id" in (detail.get("fields") or [])
        ):
            return event.actor_id
    return None


def items_for_milestone(session: Session, milestone_id: int) -> list[ActionItem]:
    """Open first, then by due date (no date last), then oldest first."""
    return list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.milestone_id == milestone_id)
            .order_by(
                case((ActionItem.status == ActionStatus.OPEN, 0), else_=1),
                case((ActionItem.due_date.is_(None), 1), else_=0),
                ActionItem.due_date,
                ActionItem.id,
            )
        )
    )


def open_items_for_owner(session: Session, owner_id: str, team_id: str, *, limit: int = 200) -> list[ActionItem]:
    return list(
        session.scalars(
            select(ActionItem)
            .join(Milestone, Milestone.id == ActionItem.milestone_id)
            .where(ActionItem.owner_id == owner_id, ActionItem.status == ActionStatus.OPEN,
                   Milestone.team_id == team_id)
            .order_by(case((ActionItem.due_date.is_(None), 1), else_=0), ActionItem.due_date, ActionItem.id)
            .limit(limit)
        )
    )


def closed_lately_for_owner(session: Session, owner_id: str, team_id: str, since: datetime, *,
                            limit: int = 5) -> list[ActionItem]:
    """The person's items marked Done since `since`, newest first: App Home keeps them a day, with Reopen."""
    return list(
        session.scalars(
            select(ActionItem)
            .join(Milestone, Milestone.id == ActionItem.milestone_id)
            .where(ActionItem.owner_id == owner_id, ActionItem.status == ActionStatus.DONE,
                   ActionItem.done_at >= since, Milestone.team_id == team_id)
            .order_by(ActionItem.done_at.desc(), ActionItem.id.desc())
            .limit(limit)
        )
    )


def profile_zones(session: Session, user_ids: set[str]) -> dict[str, str | None]:
    """Cached time zones for many people in one query (no Slack calls; unknown → UTC downstream)."""
    if not user_ids:
        return {}
    rows = session.execute(select(UserProfile.user_id, UserProfile.tz).where(UserProfile.user_id.in_(user_ids)))
    return dict(rows.tuples().all())
