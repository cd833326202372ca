"""Creating milestones, their editors and approver slots, and the lists people see them in.

The "new milestone" form is declared here as field specs (the milestone's own columns, one approver per
standard role, editors), so the modal and the validation read the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.access import KEY_PATTERN, next_free_key, normalize_key
from bot.core.errors import InvalidInput
from bot.core.fields import check_date_order
from bot.sections.service import check_currency, parse_each
from models import STANDARD_ROLES, ApprovalSlot, FieldSpec, Milestone, MilestoneEditor, SignOff, field_spec
from models.base import FieldValue
from models.signoffs import Decision

NEW_COLUMNS = ("key", "name", "version", "status", "planned_start", "planned_end", "report_channel_id", "currency")
APPROVED = (Decision.APPROVED.value, Decision.APPROVED_WITH_CONDITIONS.value)


def approver_field(role: str) -> str:
    """`Project Sponsor` → `approver_project_sponsor` (the form field and input block id)."""
    return "approver_" + role.lower().replace(" ", "_")


APPROVER_FIELDS = {approver_field(role): role for role in STANDARD_ROLES}
EDITORS_FIELD = "editors"


def new_milestone_specs() -> list[FieldSpec]:
    specs = [field_spec(Milestone, name) for name in NEW_COLUMNS]
    where = NEW_COLUMNS.index("report_channel_id")
    specs[where] = FieldSpec(**{**specs[where].__dict__, "hint": (
        "Where the bot posts about this milestone and its report (a private channel needs /invite @Milestone Bot).")})
    for name, role in APPROVER_FIELDS.items():
        specs.append(FieldSpec(name=name, label=f"Approver: {role}", kind="user"))
    specs.append(
        FieldSpec(
            name=EDITORS_FIELD,
            label="Editors",
            kind="users",
            hint="People who may fill in and change the report with you. Workspace admins always may.",
        )
    )
    return specs


def parse_new(session: Session, team_id: str, raw: dict[str, Any]) -> dict[str, FieldValue]:
    """The new-milestone form's values, or InvalidInput with every problem keyed by field name."""
    values, errors = parse_each(new_milestone_specs(), raw)
    key = values.get("key")
    if isinstance(key, str):
        key = normalize_key(key)
        values["key"] = key
        if not KEY_PATTERN.match(key):
            errors["key"] = "Use an ID like M-042: M- and a number."
        elif session.scalar(select(Milestone.id).where(Milestone.team_id == team_id, Milestone.key == key)):
            errors["key"] = f"{key} is already taken in this workspace; {next_free_key(session, team_id)} is free."
    check_date_order(values, "planned_start", "planned_end", errors)
    check_currency(values, errors)
    if not any(values.get(name) for name in APPROVER_FIELDS):
        errors[next(iter(APPROVER_FIELDS))] = "Choose at least one approver (any of the roles)."
    if errors:
        raise InvalidInput(errors)
    return values


def create_milestone(
    session: Session, *, team_id: str, creator_id: str, values: dict[str, FieldValue]
) -> Milestone:
    """The milestone, its approver slots (standard roles, in order) and editors; the creator owns it.

    A concurrent creation of the same key loses at the unique constraint and gets the same field error.
    """
    columns = {name: values.get(name) for name in NEW_COLUMNS}
    milestone = Milestone(team_id=team_id, owner_id=creator_id, created_by=creator_id, revision=1, **columns)
    for position, (name, role) in enumerate(APPROVER_FIELDS.items()):
        approver = values.get(name)
        if isinstance(approver, str) and approver:
            milestone.approval_slots.append(ApprovalSlot(role=role, position=position, approver_id=approver))
    chosen = values.get(EDITORS_FIELD)
    editors = [str(u) for u in chosen] if isinstance(chosen, list) else []
    for user_id in dict.fromkeys(editors):
        if user_id != creator_id:
            milestone.editors.append(MilestoneEditor(user_id=user_id, added_by=creator_id))
    try:
        with session.begin_nested():
            session.add(milestone)
            session.flush()
    except IntegrityError:
        key = str(values.get("key"))
        raise InvalidInput({"key": f"{key} was taken a moment ago; {next_free_key(session, team_id)} is free."}) \
            from None
    audit.record(
        session, milestone, creator_id, "milestone.created",
        detail={"approvers": {s.role: s.approver_id for s in milestone.approval_slots}, "editors": editors},
    )
    return milestone


# ---- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    approved: int
    required: int

    def __str__(self) -> str:
        return f"{self.approved}/{self.required}"


def signoff_progress(session: Session, milestone_ids: list[int]) -> dict[int, Progress]:
    """Per milestone: required slots whose current sign-off (newest not outdated) approves, and how many
    slots are required."""
    if not milestone_ids:
        return {}
    slots = session.execute(
        select(ApprovalSlot.id, ApprovalSlot.milestone_id).where(
            ApprovalSlot.milestone_id.in_(milestone_ids), ApprovalSlot.required.is_(True)
        )
    ).all()
    signoffs = session.execute(
        select(SignOff.slot_id, SignOff.decision)
        .where(SignOff.milestone_id.in_(milestone_ids), SignOff.outdated_at.is_(None))
        .order_by(SignOff.decided_at, SignOff.id)
    ).all()
    current = {slot_id: decision for slot_id, decision in signoffs}  # the newest wins
    required: dict[int, int] = dict.fromkeys(milestone_ids, 0)
    approved: dict[int, int] = dict.fromkeys(milestone_ids, 0)
    for slot_id, milestone_id in slots:
        required[milestone_id] += 1
        if current.get(slot_id) in APPROVED:
            approved[milestone_id] += 1
    return {mid: Progress(approved[mid], required[mid]) for mid in milestone_ids}


def team_milestones(session: Session, team_id: str, limit: int) -> tuple[list[Milestone], int]:
    """The newest `limit` milestones of a workspace, and how many there are in all."""
    total = session.scalar(select(func.count(Milestone.id)).where(Milestone.team_id == team_id)) or 0
    items = session.scalars(
        select(Milestone)
        .where(Milestone.team_id == team_id)
        .order_by(Milestone.created_at.desc(), Milestone.id.desc())
        .limit(limit)
    ).all()
    return list(items), total


def user_milestones(session: Session, team_id: str, user_id: str, limit: int) -> tuple[list[Milestone], int]:
    """Milestones the user owns or edits, newest first, and how many in all."""
    editing = select(MilestoneEditor.milestone_id).where(MilestoneEditor.user_id == user_id)
    where = (Milestone.team_id == team_id, or_(Milestone.owner_id == user_id, Milestone.id.in_(editing)))
    total = session.scalar(select(func.count(Milestone.id)).where(*where)) or 0
    items = session.scalars(
        select(Milestone).where(*where).order_by(Milestone.created_at.desc(), Milestone.id.desc()).limit(limit)
    ).all()
    return list(items), total
