"""Post-milestone action items and technical debt: adding, editing, closing, snoozing, reassigning, listing.

Who may do what (DESIGN.md §3): owners, editors and workspace admins of a milestone add items; only the
item's owner or the milestone's owner closes, snoozes or reassigns one; those two and the milestone's editors
edit one (changing the owner through Edit is a reassignment and follows its rule).

Action items are post-milestone tracking, not report content: changing them does not bump the report
revision (sign-off conditions create items, and approving must not outdate itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.access import ensure_can_edit, is_editor
from bot.core.db import first_submission
from bot.core.errors import InvalidInput, NotAllowed, NotFound
from bot.core.workdays import local_date
from models import (
    ActionItem,
    ActionStatus,
    Delivery,
    DeliveryItem,
    DeliveryStatus,
    Horizon,
    Milestone,
    UserProfile,
    form_fields,
)
from models.base import FieldSpec, FieldValue

# Delivery kinds written by the action reminder sweep (bot/actions/jobs.py).
KIND_DIGEST = "action_digest"
KIND_ESCALATION = "action_escalation"
KIND_WEEKLY = "action_weekly"
KIND_ASSIGNED = "action_assigned"

# Days after the milestone's completion date that each horizon suggests as a due date.
HORIZON_DAYS = {Horizon.WEEK1: 7, Horizon.MONTH1: 30, Horizon.QUARTER: 90}
# Horizons a person picks in the modal; sign-off conditions are created by the sign-off flow.
PICKABLE_HORIZONS = (Horizon.WEEK1, Horizon.MONTH1, Horizon.QUARTER, Horizon.TECH_DEBT)
SNOOZE_DAYS = (1, 3, 7)
EDITABLE_FIELDS = (
    "description", "horizon", "owner_id", "due_date", "priority", "notes", "effort_days", "planned_sprint",
)


def action_fields() -> list[FieldSpec]:
    """The modal's fields, in the modal's order (declared once on models.ActionItem)."""
    specs = {spec.name: spec for spec in form_fields(ActionItem)}
    return [specs[name] for name in EDITABLE_FIELDS]


def completion_date(milestone: Milestone) -> date | None:
    return milestone.actual_end or milestone.planned_end


def suggest_due_date(milestone: Milestone, horizon: str, today: date) -> date | None:
    """Completion date + the horizon's span (Week 1: 7 days, Month 1: 30, Quarter: 90). When that is already
    past (an old milestone), the span counts from today instead, so a new item never starts overdue."""
    days = HORIZON_DAYS.get(Horizon(horizon)) if horizon in Horizon._value2member_map_ else None
    if days is None:
        return None
    base = completion_date(milestone) or today
    suggested = base + timedelta(days=days)
    return suggested if suggested >= today else today + timedelta(days=days)


def suggestions(milestone: Milestone, today: date) -> dict[str, date]:
    return {h.value: d for h in HORIZON_DAYS if (d := suggest_due_date(milestone, h, today)) is not None}


def get_item(session: Session, item_id: int | str, team_id: str | None = None) -> ActionItem:
    try:
        item = session.get(ActionItem, int(item_id))
    except (TypeError, ValueError):
        item = None
    if item is None or (team_id and item.milestone.team_id != team_id):
        raise NotFound("That action item no longer exists.")
    return item


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
    submission_key: str,
    today: date,
    is_admin: bool,
) -> ActionItem | None:
    """A new item (due date suggested from the horizon when left empty), or None when this exact
    submission was already saved (double click, Slack retry)."""
    ensure_can_edit(session, milestone, actor_id, is_admin=is_admin)
    _check_values(values, today)
    if not first_submission(session, f"action:{submission_key}"):
        return None
    if values.get("due_date") is None:
        values = {**values, "due_date": suggest_due_date(milestone, str(values.get("horizon")), today)}
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
    if "due_date" in changed:
        item.snoozed_until = None  # a new due date replaces any snooze
    if changed:
        audit.record(session, item.milestone, actor_id, "action.edited", section="actions",
                     detail={"item": item.id, "fields": sorted(changed)})
    return previous_owner if item.owner_id != previous_owner else None


def mark_done(session: Session, item: ActionItem, actor_id: str, now: datetime) -> bool:
    """Close the item; False when it was closed already (a second click changes nothing)."""
    ensure_can_act(item, actor_id, "close")
    if item.status != ActionStatus.OPEN:
        return False
    item.status, item.done_at, item.done_by = ActionStatus.DONE, now, actor_id
    audit.record(session, item.milestone, actor_id, "action.done", section="actions", detail={"item": item.id})
    return True


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
    """Give the item to someone else; False when they own it already."""
    ensure_can_act(item, actor_id, "reassign")
    if not new_owner or new_owner == item.owner_id:
        return False
    previous = item.owner_id
    item.owner_id = new_owner
    item.snoozed_until = None  # the new owner's snooze is theirs to choose
    audit.record(session, item.milestone, actor_id, "action.reassigned", section="actions",
                 detail={"item": item.id, "from": previous, "to": new_owner})
    return True


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


def profile_zones(session: Session, user_ids: set[str]) -> dict[str, str | None]:
    """Cached time zones for many people in one query (no Slack calls; unknown → UTC downstream)."""
    if not user_ids:
        return {}
    rows = session.execute(select(UserProfile.user_id, UserProfile.tz).where(UserProfile.user_id.in_(user_ids)))
    return dict(rows.tuples().all())


def is_overdue(item: ActionItem, today: date) -> bool:
    """Overdue = open, due before the owner's today, and not snoozed past today."""
    return (
        item.status == ActionStatus.OPEN
        and item.due_date is not None
        and item.due_date < today
        and (item.snoozed_until is None or item.snoozed_until <= today)
    )


def is_snoozed(item: ActionItem, today: date) -> bool:
    return item.status == ActionStatus.OPEN and item.snoozed_until is not None and item.snoozed_until > today


@dataclass(frozen=True)
class ReminderHistory:
    """What the report's action table says about one item: "reminded 3×, escalated on 2026-03-12"."""

    item_id: int
    reminded: int
    last_reminded: datetime | None
    escalated_on: date | None
    last_escalated_on: date | None
    failed: int
    last_error: str | None

    def summary(self) -> str:
        parts = []
        if self.reminded:
            parts.append(f"reminded {self.reminded}×")
        if self.escalated_on:
            parts.append(f"escalated on {self.escalated_on.isoformat()}")
        if self.failed and self.last_error:
            parts.append(f"reminder failed: {self.last_error}")
        return ", ".join(parts)


def reminder_history(session: Session, milestone_id: int) -> dict[int, ReminderHistory]:
    """Per action item of a milestone: how often its owner was reminded, when last, when it was first
    escalated. One grouped query; items never reminded are absent (callers treat them as "never")."""
    sent = Delivery.status == DeliveryStatus.SENT
    digest = sent & (Delivery.kind == KIND_DIGEST)
    escalation = sent & (Delivery.kind == KIND_ESCALATION)
    failed = (Delivery.status == DeliveryStatus.FAILED) & (Delivery.kind == KIND_DIGEST)
    rows = session.execute(
        select(
            DeliveryItem.action_item_id,
            func.count(case((digest, 1))),
            func.max(case((digest, Delivery.sent_at))),
            func.min(case((escalation, Delivery.local_date))),
            func.max(case((escalation, Delivery.local_date))),
            func.count(case((failed, 1))),
            func.max(case((failed, Delivery.error))),
        )
        .join(Delivery, Delivery.id == DeliveryItem.delivery_id)
        .join(ActionItem, ActionItem.id == DeliveryItem.action_item_id)
        .where(ActionItem.milestone_id == milestone_id)
        .group_by(DeliveryItem.action_item_id)
    )
    history: dict[int, ReminderHistory] = {}
    for item_id, reminded, last, first_esc, last_esc, failures, error in rows:
        history[item_id] = ReminderHistory(
            item_id=item_id, reminded=reminded, last_reminded=_aware(last), escalated_on=_as_date(first_esc),
            last_escalated_on=_as_date(last_esc), failed=failures, last_error=error,
        )
    return history


def _aware(value: Any) -> datetime | None:
    """Aggregates bypass the UTCDateTime type on SQLite (naive text back); normalise to aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class ShownMessage:
    """A message the bot sent that shows action items (a digest, escalation, summary or assignment DM)."""

    kind: str
    channel: str
    ts: str
    detail: dict[str, Any] | None
    item_ids: list[int]


def messages_showing(session: Session, item_id: int, *, since: date, limit: int = 10) -> list[ShownMessage]:
    """The most recent messages (sent on or after `since`) that name this item, with every item each one names,
    so they can be re-rendered in place after a change. Two queries."""
    found = session.execute(
        select(Delivery.id, Delivery.kind, Delivery.channel, Delivery.message_ts, Delivery.detail)
        .join(DeliveryItem, DeliveryItem.delivery_id == Delivery.id)
        .where(DeliveryItem.action_item_id == item_id, Delivery.status == DeliveryStatus.SENT,
               Delivery.message_ts.is_not(None), Delivery.local_date >= since)
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    if not found:
        return []
    named: dict[int, list[int]] = {row[0]: [] for row in found}
    for delivery_id, named_item in session.execute(
        select(DeliveryItem.delivery_id, DeliveryItem.action_item_id)
        .where(DeliveryItem.delivery_id.in_(named))
        .order_by(DeliveryItem.id)
    ):
        named[delivery_id].append(named_item)
    return [ShownMessage(kind, channel, ts, detail, named[did]) for did, kind, channel, ts, detail in found]


def items_by_id(session: Session, item_ids: set[int]) -> dict[int, ActionItem]:
    if not item_ids:
        return {}
    items = session.scalars(select(ActionItem).where(ActionItem.id.in_(item_ids)))
    return {item.id: item for item in items}
