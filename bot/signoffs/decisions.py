"""Deciding: the decision form's fields and checks, and recording one decision bound to a revision.

Plain Python (no Slack), inside the caller's one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput
from bot.signoffs.content import changed_sections_since, content_hash
from bot.signoffs.rounds import lock_milestone
from bot.signoffs.service import (
    check_request_usable,
    get_request,
    open_requests,
    refresh,
    signoff_progress,
)
from models import ActionItem, ActionStatus, Decision, Horizon, Milestone, SignOff
from models.base import FieldSpec

MAX_CONDITIONS = 20
CONDITION_MAX_LENGTH = 1000  # ActionItem.description

# The decision modal's inputs, declared once so the modal and the validation agree.
COMMENTS = FieldSpec("comments", "Comments", "multiline", max_length=3000, hint="Shown in the report's sign-off table.")
CONDITIONS = FieldSpec(
    "conditions", "Conditions (one per line)", "multiline", required=True, max_length=3000,
    hint="Each line becomes an action item for the milestone owner; the approval stays conditional until done.",
    placeholder="Load test the payment service at 2× peak",
)
DUE_DATE = FieldSpec("due_date", "Conditions due by", "date", required=True)
REASON = FieldSpec(
    "reason", "Reason for rejecting", "multiline", required=True, max_length=3000,
    hint="The owner and the channel see it; say what would make you approve.",
)


def decision_fields(decision: str) -> list[FieldSpec]:
    if decision == Decision.APPROVED_WITH_CONDITIONS:
        return [CONDITIONS, DUE_DATE, COMMENTS]
    if decision == Decision.REJECTED:
        return [REASON, COMMENTS]
    return [COMMENTS]


class RevisionMoved(Exception):
    """The report changed after the approver opened the form: they must see the new revision first."""

    def __init__(self, revision: int, sections: list[str]) -> None:
        super().__init__(f"revision is now {revision}")
        self.revision = revision
        self.sections = sections


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")


def parse_conditions(text: str) -> list[str]:
    """One condition per line; bullets and numbering are dropped, blank lines ignored."""
    return [c for c in (_BULLET.sub("", line).strip() for line in (text or "").splitlines()) if c]


def validate_decision(decision: str, values: dict[str, Any], today: date) -> dict[str, Any]:
    """Checks beyond the field declarations; raises InvalidInput keyed by block id."""
    errors: dict[str, str] = {}
    conditions: list[str] = []
    if decision == Decision.APPROVED_WITH_CONDITIONS:
        conditions = parse_conditions(values.get("conditions") or "")
        if not conditions:
            errors["conditions"] = "Write at least one condition (one per line)."
        elif len(conditions) > MAX_CONDITIONS:
            errors["conditions"] = f"Keep it to {MAX_CONDITIONS} conditions (this has {len(conditions)})."
        elif any(len(c) > CONDITION_MAX_LENGTH for c in conditions):
            errors["conditions"] = f"Keep each condition to {CONDITION_MAX_LENGTH:,} characters."
        due = values.get("due_date")
        if isinstance(due, date) and due < today:
            errors["due_date"] = "Pick today or a later date."
    if decision == Decision.REJECTED and not (values.get("reason") or "").strip():
        errors["reason"] = "Say why you reject, so the team knows what to fix."
    if errors:
        raise InvalidInput(errors)
    return {**values, "conditions_list": conditions}


@dataclass
class DecisionResult:
    milestone_id: int
    signoff_id: int
    answered: list[int] = field(default_factory=list)  # request ids this decision closed (their DMs are edited)
    accepted_now: bool = False
    conditions_withdrawn: int = 0


def _add_conditions(session: Session, milestone: Milestone, signoff: SignOff, values: dict[str, Any],
                    user_id: str, key: str, now: datetime) -> None:
    for number, text in enumerate(values.get("conditions_list") or [], start=1):
        session.add(ActionItem(
            milestone_id=milestone.id, horizon=Horizon.CONDITION, description=text, owner_id=milestone.owner_id,
            due_date=values.get("due_date"), signoff_id=signoff.id, created_by=user_id, created_at=now,
            submission_key=f"{key[:180]}:c{number}",
        ))


def _withdraw_replaced_conditions(session: Session, milestone: Milestone, signoff: SignOff, now: datetime) -> int:
    """Open conditions of the same approver's earlier (outdated) sign-offs of this role end with the new
    decision: "withdrawn by <approver>", audited, instead of staying open and unattributed."""
    earlier = select(SignOff.id).where(SignOff.slot_id == signoff.slot_id, SignOff.id != signoff.id,
                                       SignOff.approver_id == signoff.approver_id)
    items = list(session.scalars(select(ActionItem).where(ActionItem.signoff_id.in_(earlier),
                                                          ActionItem.status == ActionStatus.OPEN)))
    for item in items:
        item.status = ActionStatus.CANCELLED
        item.done_at = now
        item.done_by = signoff.approver_id
    if items:
        audit.record(session, milestone, signoff.approver_id, "signoff.conditions_withdrawn",
                     detail={"role": signoff.role, "items": [i.id for i in items], "replaced_by": signoff.id})
    return len(items)


def decide(
    session: Session, *, request_id: int, user_id: str, decision: str, values: dict[str, Any],
    revision_seen: int, submission_key: str, now: datetime,
) -> DecisionResult:
    """Record one decision (inside the caller's transaction, which claimed the submission)."""
    request, slot, milestone = get_request(session, request_id)
    milestone = lock_milestone(session, milestone.id)
    check_request_usable(session, request, slot, milestone, user_id)
    if milestone.revision != revision_seen:
        raise RevisionMoved(milestone.revision, changed_sections_since(session, milestone, revision_seen))
    signoff = SignOff(
        slot_id=slot.id, milestone_id=milestone.id, approver_id=user_id,
        on_behalf_of=slot.approver_id if user_id != slot.approver_id else None, role=slot.role,
        decision=Decision(decision).value, comments=(values.get("comments") or None),
        conditions="\n".join(values.get("conditions_list") or []) or None,
        reason=(values.get("reason") or None) if decision == Decision.REJECTED else None,
        revision=milestone.revision, content_hash=content_hash(milestone), decided_at=now,
        submission_key=submission_key[:200],
    )
    session.add(signoff)
    session.flush()
    _add_conditions(session, milestone, signoff, values, user_id, submission_key, now)
    result = DecisionResult(milestone.id, signoff.id)
    result.conditions_withdrawn = _withdraw_replaced_conditions(session, milestone, signoff, now)
    for open_request in open_requests(session, slot.id):
        open_request.answered_at = now
        result.answered.append(open_request.id)
    audit.record(session, milestone, user_id, "signoff.decided", detail={
        "role": slot.role, "decision": signoff.decision, "signoff": signoff.id, "content_hash": signoff.content_hash,
        "conditions": len(values.get("conditions_list") or []), "on_behalf_of": signoff.on_behalf_of,
    })
    refresh(session, milestone)
    if milestone.accepted_at is None and signoff_progress(milestone).accepted:
        milestone.accepted_at = now
        milestone.accepted_revision = milestone.revision
        result.accepted_now = True
        audit.record(session, milestone, user_id, "milestone.accepted", detail={"revision": milestone.revision})
    return result
