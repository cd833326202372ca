"""Sign-off: requests, decisions bound to a revision and a content hash, outdating, acceptance, reassignment.

Plain Python (no Slack). Listeners call these inside one transaction each and do the Slack work after commit
with the plain results returned here.

States of a role (an `ApprovalSlot`), from its newest sign-off that is not outdated ("current"):
- pending: no current sign-off (never signed, or the content changed after signing);
- approved / conditional / rejected: the current decision; "conditional" is an approval with conditions whose
  action items are not all done yet.
A milestone is accepted when every required role has a current approval (with or without conditions).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.db import first_submission
from bot.core.errors import InvalidInput, NotAllowed, NotFound
from bot.sections import service as sections_registry
from models import (
    ActionItem,
    ActionStatus,
    ApprovalSlot,
    AuditEvent,
    Decision,
    Horizon,
    Milestone,
    SignOff,
    SignOffRequest,
    form_fields,
)
from models.base import Base, FieldSpec

APPROVING = (Decision.APPROVED.value, Decision.APPROVED_WITH_CONDITIONS.value)
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


# ---- report content and its hash ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row_values(row: Base) -> dict[str, Any]:
    return {spec.name: _plain(getattr(row, spec.name)) for spec in form_fields(type(row))}


def report_content(milestone: Milestone) -> dict[str, Any]:
    """Every stored value of the report, read generically from the field declarations: the milestone's own
    fields and every section table related to it (rows in their report order)."""
    content: dict[str, Any] = {"milestone": _row_values(milestone)}
    for rel in type(milestone).__mapper__.relationships:
        if rel.mapper.class_.__module__ != "models.sections":
            continue
        value = getattr(milestone, rel.key)
        if rel.uselist:
            content[rel.key] = [_row_values(row) for row in value]
        else:
            content[rel.key] = _row_values(value) if value is not None else None
    return content


def content_hash(milestone: Milestone) -> str:
    """SHA-256 of the canonical JSON of the report content: what an approver saw, independent of revision."""
    canonical = json.dumps(report_content(milestone), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def empty_sections(milestone: Milestone) -> list[str]:
    """Titles of the report sections with nothing in them yet, for the completeness check."""
    return [section.title for section in sections_registry.empty_sections(milestone)]


def section_titles(keys: list[str]) -> list[str]:
    """Section keys (as audited and passed to on_content_changed) → their titles; unknown keys as they are."""
    titles = {section.key: section.title for section in sections_registry.SECTIONS}
    return [titles.get(key, key) for key in keys]


# ---- reading state ----------------------------------------------------------------------------------------


@dataclass
class SlotStatus:
    """One row of the sign-off matrix."""

    slot: ApprovalSlot
    current: SignOff | None
    state: str  # pending | approved | conditional | rejected
    open_conditions: int = 0
    conditions_total: int = 0
    outdated: SignOff | None = None  # the newest outdated sign-off, when the role is pending again
    asked_at: datetime | None = None  # the open request's time, when pending and asked


def current_signoff(session: Session, slot_id: int) -> SignOff | None:
    return session.scalar(
        select(SignOff)
        .where(SignOff.slot_id == slot_id, SignOff.outdated_at.is_(None))
        .order_by(SignOff.decided_at.desc(), SignOff.id.desc())
        .limit(1)
    )


def condition_items(session: Session, signoff_id: int) -> list[ActionItem]:
    return list(session.scalars(select(ActionItem).where(ActionItem.signoff_id == signoff_id).order_by(ActionItem.id)))


def open_requests(session: Session, slot_id: int) -> list[SignOffRequest]:
    return list(
        session.scalars(
            select(SignOffRequest)
            .where(
                SignOffRequest.slot_id == slot_id,
                SignOffRequest.withdrawn_at.is_(None),
                SignOffRequest.answered_at.is_(None),
            )
            .order_by(SignOffRequest.requested_at, SignOffRequest.id)
        )
    )


def slot_status(session: Session, slot: ApprovalSlot) -> SlotStatus:
    current = current_signoff(session, slot.id)
    status = SlotStatus(slot=slot, current=current, state="pending")
    if current is None:
        status.outdated = session.scalar(
            select(SignOff).where(SignOff.slot_id == slot.id).order_by(SignOff.decided_at.desc()).limit(1)
        )
        asked = open_requests(session, slot.id)
        status.asked_at = asked[0].requested_at if asked else None
        return status
    if current.decision == Decision.REJECTED:
        status.state = "rejected"
    elif current.decision == Decision.APPROVED_WITH_CONDITIONS:
        items = condition_items(session, current.id)
        status.conditions_total = len(items)
        status.open_conditions = sum(1 for i in items if i.status == ActionStatus.OPEN)
        status.state = "conditional" if status.open_conditions else "approved"
    else:
        status.state = "approved"
    return status


def matrix(session: Session, milestone: Milestone) -> list[SlotStatus]:
    slots = session.scalars(
        select(ApprovalSlot)
        .where(ApprovalSlot.milestone_id == milestone.id)
        .order_by(ApprovalSlot.position, ApprovalSlot.id)
    )
    return [slot_status(session, slot) for slot in slots]


def all_required_approved(statuses: list[SlotStatus]) -> bool:
    required = [s for s in statuses if s.slot.required]
    return bool(required) and all(s.current is not None and s.current.decision in APPROVING for s in required)


def signoff_requested(session: Session, milestone_id: int) -> bool:
    """Has sign-off ever been requested for this milestone (so the status message and re-asking apply)?"""
    return (
        session.scalar(
            select(SignOffRequest.id)
            .join(ApprovalSlot, ApprovalSlot.id == SignOffRequest.slot_id)
            .where(ApprovalSlot.milestone_id == milestone_id)
            .limit(1)
        )
        is not None
    )


def changed_sections_since(session: Session, milestone: Milestone, revision: int) -> list[str]:
    """Sections saved after `revision`, in the order they were changed (for "what changed")."""
    rows = session.scalars(
        select(AuditEvent.section)
        .where(
            AuditEvent.milestone_id == milestone.id,
            AuditEvent.action == "section.saved",
            AuditEvent.revision > revision,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    seen: list[str] = []
    for section in rows:
        if section and section not in seen:
            seen.append(section)
    return seen


# ---- who may act -----------------------------------------------------------------------------------------


def can_sign(slot: ApprovalSlot, user_id: str) -> bool:
    return user_id in (slot.approver_id, slot.delegate_id)


def ensure_can_sign(slot: ApprovalSlot, milestone: Milestone, user_id: str) -> None:
    if not can_sign(slot, user_id):
        raise NotAllowed(
            f"Only <@{slot.approver_id}> (the {slot.role} of {milestone.key}) or their delegate can sign this role. "
            "Nothing was recorded."
        )


def ensure_owner(milestone: Milestone, user_id: str, *, is_admin: bool) -> None:
    if user_id != milestone.owner_id and not is_admin:
        raise NotAllowed(
            f"Only the owner of {milestone.key} (<@{milestone.owner_id}>) or a workspace admin can reassign "
            "or delegate sign-off roles."
        )


def find_slot(session: Session, milestone: Milestone, role: str) -> ApprovalSlot | None:
    wanted = role.strip().lower()
    slots = list(session.scalars(select(ApprovalSlot).where(ApprovalSlot.milestone_id == milestone.id)))
    for slot in slots:
        if slot.role.lower() == wanted:
            return slot
    starts = [s for s in slots if s.role.lower().startswith(wanted)]
    return starts[0] if len(starts) == 1 else None


# ---- requesting ------------------------------------------------------------------------------------------


@dataclass
class NewRequest:
    """A request to DM, as plain data usable after commit."""

    request_id: int
    slot_id: int
    approver_id: str
    role: str
    revision: int


@dataclass
class RequestResult:
    created: list[NewRequest] = field(default_factory=list)
    already_asked: list[str] = field(default_factory=list)  # roles with an open request
    already_decided: list[str] = field(default_factory=list)  # roles with a current sign-off
    post_status_in: str | None = None  # channel to post the status message in (claimed here), if not yet


def _lock_milestone(session: Session, milestone_id: int) -> Milestone:
    milestone = session.scalar(select(Milestone).where(Milestone.id == milestone_id).with_for_update())
    if milestone is None:
        raise NotFound("That milestone no longer exists.")
    return milestone


def _new_request(
    session: Session, slot: ApprovalSlot, approver_id: str, actor_id: str, revision: int, now: datetime
) -> SignOffRequest:
    request = SignOffRequest(
        slot_id=slot.id, approver_id=approver_id, requested_by=actor_id, revision=revision, requested_at=now
    )
    session.add(request)
    session.flush()
    return request


def _holders(slot: ApprovalSlot) -> list[str]:
    return [u for u in (slot.approver_id, slot.delegate_id) if u]


def request_signoff(
    session: Session, milestone_id: int, actor_id: str, now: datetime, *, fallback_channel: str | None
) -> RequestResult:
    """Ask every role without a current sign-off and without an open request. Running it twice asks once."""
    milestone = _lock_milestone(session, milestone_id)
    slots = list(
        session.scalars(
            select(ApprovalSlot).where(ApprovalSlot.milestone_id == milestone.id).order_by(ApprovalSlot.position)
        )
    )
    if not slots:
        raise InvalidInput(
            {"approvers": f"{milestone.key} has no approvers yet. Add one per role with "
                          f"`/milestone signoff {milestone.key} reassign <role> @person`."}
        )
    result = RequestResult()
    for slot in slots:
        if current_signoff(session, slot.id) is not None:
            result.already_decided.append(slot.role)
            continue
        asked = {r.approver_id for r in open_requests(session, slot.id)}
        missing = [u for u in _holders(slot) if u not in asked]
        if not missing:
            result.already_asked.append(slot.role)
            continue
        for approver in missing:
            request = _new_request(session, slot, approver, actor_id, milestone.revision, now)
            result.created.append(NewRequest(request.id, slot.id, approver, slot.role, milestone.revision))
            audit.record(
                session, milestone, actor_id, "signoff.requested",
                detail={"role": slot.role, "approver": approver, "request": request.id},
            )
    result.post_status_in = claim_status_message(session, milestone, fallback_channel)
    return result


def claim_status_message(session: Session, milestone: Milestone, fallback_channel: str | None) -> str | None:
    """The channel to post the one status message in, if nobody has posted (or is posting) it yet.

    The claim is the empty ts written under the milestone's row lock; `status_posted` fills it in.
    """
    if milestone.signoff_status_ts is not None:
        return None
    channel = milestone.report_channel_id or fallback_channel
    if not channel:
        return None
    milestone.signoff_status_channel = channel
    milestone.signoff_status_ts = ""
    return channel


def status_posted(session: Session, milestone_id: int, channel: str, ts: str | None) -> None:
    """Record the status message (ts None: the post failed; release the claim so the next request retries)."""
    session.execute(
        update(Milestone)
        .where(Milestone.id == milestone_id)
        .values(signoff_status_channel=channel if ts else None, signoff_status_ts=ts)
    )


def record_dm(session: Session, request_id: int, channel: str | None, ts: str | None) -> None:
    session.execute(update(SignOffRequest).where(SignOffRequest.id == request_id).values(dm_channel=channel, dm_ts=ts))


def get_request(session: Session, request_id: int) -> tuple[SignOffRequest, ApprovalSlot, Milestone]:
    request = session.get(SignOffRequest, request_id)
    if request is None:
        raise NotFound("This sign-off request no longer exists.")
    slot = request.slot
    return request, slot, slot.milestone


def check_request_usable(session: Session, request: SignOffRequest, slot: ApprovalSlot, milestone: Milestone,
                         user_id: str) -> None:
    """What a decision button checks before opening the modal (and the submission again before saving)."""
    ensure_can_sign(slot, milestone, user_id)
    current = current_signoff(session, slot.id)
    if current is not None:
        raise NotAllowed(
            f"The {slot.role} sign-off of {milestone.key} was already given "
            f"({Decision(current.decision).label} by <@{current.approver_id}> on {current.decided_at:%Y-%m-%d}). "
            "Nothing was changed."
        )
    if request.withdrawn_at is not None and not open_requests(session, slot.id):
        raise NotAllowed(f"This request to sign {milestone.key} as {slot.role} was withdrawn. Nothing was recorded.")


# ---- deciding --------------------------------------------------------------------------------------------


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
    recorded: bool  # False: this exact submission was already saved
    milestone_id: int
    signoff_id: int | None = None
    dms_to_update: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, ts, approver)
    accepted_now: bool = False


def decide(
    session: Session,
    *,
    request_id: int,
    user_id: str,
    decision: str,
    values: dict[str, Any],
    revision_seen: int,
    submission_key: str,
    now: datetime,
) -> DecisionResult:
    """Record one decision (one transaction). A repeated submission (same key) records nothing."""
    request, slot, milestone = get_request(session, request_id)
    milestone = _lock_milestone(session, milestone.id)
    if not first_submission(session, f"signoff:{submission_key}"):
        return DecisionResult(recorded=False, milestone_id=milestone.id)
    check_request_usable(session, request, slot, milestone, user_id)
    if milestone.revision != revision_seen:
        raise RevisionMoved(milestone.revision, changed_sections_since(session, milestone, revision_seen))
    signoff = SignOff(
        slot_id=slot.id,
        milestone_id=milestone.id,
        approver_id=user_id,
        on_behalf_of=slot.approver_id if user_id != slot.approver_id else None,
        role=slot.role,
        decision=decision,
        comments=(values.get("comments") or None),
        conditions="\n".join(values.get("conditions_list") or []) or None,
        reason=(values.get("reason") or None) if decision == Decision.REJECTED else None,
        revision=milestone.revision,
        content_hash=content_hash(milestone),
        decided_at=now,
        submission_key=submission_key[:200],
    )
    session.add(signoff)
    session.flush()
    for number, text in enumerate(values.get("conditions_list") or [], start=1):
        session.add(
            ActionItem(
                milestone_id=milestone.id,
                horizon=Horizon.CONDITION,
                description=text,
                owner_id=milestone.owner_id,
                due_date=values.get("due_date"),
                signoff_id=signoff.id,
                created_by=user_id,
                created_at=now,
                submission_key=f"{submission_key[:180]}:c{number}",
            )
        )
    result = DecisionResult(recorded=True, milestone_id=milestone.id, signoff_id=signoff.id)
    for open_request in open_requests(session, slot.id):
        open_request.answered_at = now
        if open_request.dm_channel and open_request.dm_ts:
            result.dms_to_update.append((open_request.dm_channel, open_request.dm_ts, open_request.approver_id))
    audit.record(
        session, milestone, user_id, "signoff.decided",
        detail={
            "role": slot.role, "decision": decision, "signoff": signoff.id, "content_hash": signoff.content_hash,
            "conditions": len(values.get("conditions_list") or []), "on_behalf_of": signoff.on_behalf_of,
        },
    )
    session.flush()
    if milestone.accepted_at is None and all_required_approved(matrix(session, milestone)):
        milestone.accepted_at = now
        result.accepted_now = True
        audit.record(session, milestone, user_id, "milestone.accepted", detail={"revision": milestone.revision})
    return result


# ---- content changed: outdating ----------------------------------------------------------------------------


@dataclass
class OutdateResult:
    milestone_id: int
    outdated: list[tuple[str, str, int]] = field(default_factory=list)  # (role, approver, revision signed)
    new_requests: list[NewRequest] = field(default_factory=list)
    acceptance_withdrawn: bool = False
    old_dms: list[tuple[str, str]] = field(default_factory=list)  # pending DMs superseded by new ones


def outdate_signoffs(
    session: Session, milestone_id: int, actor_id: str, sections: list[str], now: datetime
) -> OutdateResult:
    """Mark current sign-offs made against an older revision outdated, and ask their roles again."""
    milestone = _lock_milestone(session, milestone_id)
    result = OutdateResult(milestone_id=milestone.id)
    stale = list(
        session.scalars(
            select(SignOff).where(
                SignOff.milestone_id == milestone.id,
                SignOff.outdated_at.is_(None),
                SignOff.revision < milestone.revision,
            )
        )
    )
    for signoff in stale:
        signoff.outdated_at = now
        slot = signoff.slot
        result.outdated.append((slot.role, signoff.approver_id, signoff.revision))
        audit.record(
            session, milestone, actor_id, "signoff.outdated",
            detail={"role": slot.role, "approver": signoff.approver_id, "signoff": signoff.id,
                    "signed_revision": signoff.revision, "sections": sections},
        )
        for old in open_requests(session, slot.id):  # normally none: the sign-off answered them
            old.withdrawn_at = now
            if old.dm_channel and old.dm_ts:
                result.old_dms.append((old.dm_channel, old.dm_ts))
        for approver in _holders(slot):
            request = _new_request(session, slot, approver, actor_id, milestone.revision, now)
            result.new_requests.append(NewRequest(request.id, slot.id, approver, slot.role, milestone.revision))
            audit.record(
                session, milestone, actor_id, "signoff.requested",
                detail={"role": slot.role, "approver": approver, "request": request.id, "again": True},
            )
    if stale and milestone.accepted_at is not None:
        milestone.accepted_at = None
        result.acceptance_withdrawn = True
        audit.record(session, milestone, actor_id, "milestone.acceptance_withdrawn", detail={"sections": sections})
    return result


# ---- reassigning and delegating ----------------------------------------------------------------------------


@dataclass
class RoleChange:
    milestone_id: int
    role: str
    withdrawn_dms: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, ts, approver)
    new_requests: list[NewRequest] = field(default_factory=list)
    created_slot: bool = False


def reassign(
    session: Session, milestone_id: int, role: str, new_approver: str, actor_id: str, now: datetime, *, is_admin: bool
) -> RoleChange:
    """Give a role to someone else (or add a role). Their pending request is withdrawn; the new holder is asked
    when sign-off was already requested. A sign-off already given stays valid (it was signed by the holder)."""
    milestone = _lock_milestone(session, milestone_id)
    ensure_owner(milestone, actor_id, is_admin=is_admin)
    slot = find_slot(session, milestone, role)
    change = RoleChange(milestone_id=milestone.id, role=role)
    if slot is None:
        role_name = role.strip()
        if not role_name or len(role_name) > 64:
            raise InvalidInput({"role": "Name the role in 64 characters or fewer, like `QA Lead`."})
        position = 1 + max((s.position for s in milestone.approval_slots), default=-1)
        slot = ApprovalSlot(milestone_id=milestone.id, role=role_name, position=position, approver_id=new_approver)
        session.add(slot)
        session.flush()
        change.created_slot = True
        old_approver = None
    else:
        old_approver = slot.approver_id
        if old_approver == new_approver:
            raise InvalidInput({"approver": f"<@{new_approver}> already holds {slot.role}. Nothing was changed."})
        for request in open_requests(session, slot.id):
            if request.approver_id in (old_approver, slot.delegate_id):
                request.withdrawn_at = now
                if request.dm_channel and request.dm_ts:
                    change.withdrawn_dms.append((request.dm_channel, request.dm_ts, request.approver_id))
        slot.approver_id = new_approver
        slot.delegate_id = None  # a delegate acted for the old holder
    change.role = slot.role
    audit.record(
        session, milestone, actor_id, "signoff.reassigned",
        detail={"role": slot.role, "from": old_approver, "to": new_approver},
    )
    if signoff_requested(session, milestone.id) and current_signoff(session, slot.id) is None:
        request = _new_request(session, slot, new_approver, actor_id, milestone.revision, now)
        change.new_requests.append(NewRequest(request.id, slot.id, new_approver, slot.role, milestone.revision))
        audit.record(
            session, milestone, actor_id, "signoff.requested",
            detail={"role": slot.role, "approver": new_approver, "request": request.id},
        )
    return change


def delegate(
    session: Session, milestone_id: int, role: str, delegate_id: str | None, actor_id: str, now: datetime,
    *, is_admin: bool,
) -> RoleChange:
    """Let someone sign a role for its holder (or stop it with None). The holder can still sign too."""
    milestone = _lock_milestone(session, milestone_id)
    ensure_owner(milestone, actor_id, is_admin=is_admin)
    slot = find_slot(session, milestone, role)
    if slot is None:
        raise InvalidInput({"role": f"{milestone.key} has no role “{role}”. "
                                    f"`/milestone signoffs {milestone.key}` lists its roles."})
    change = RoleChange(milestone_id=milestone.id, role=slot.role)
    previous = slot.delegate_id
    if previous == delegate_id:
        raise InvalidInput({"delegate": "That is already the delegate. Nothing was changed."})
    if delegate_id == slot.approver_id:
        raise InvalidInput({"delegate": f"<@{delegate_id}> already holds {slot.role}; pick someone else."})
    for request in open_requests(session, slot.id):
        if previous and request.approver_id == previous:
            request.withdrawn_at = now
            if request.dm_channel and request.dm_ts:
                change.withdrawn_dms.append((request.dm_channel, request.dm_ts, request.approver_id))
    slot.delegate_id = delegate_id
    audit.record(
        session, milestone, actor_id, "signoff.delegated",
        detail={"role": slot.role, "holder": slot.approver_id, "from": previous, "to": delegate_id},
    )
    if delegate_id and current_signoff(session, slot.id) is None and open_requests(session, slot.id):
        request = _new_request(session, slot, delegate_id, actor_id, milestone.revision, now)
        change.new_requests.append(NewRequest(request.id, slot.id, delegate_id, slot.role, milestone.revision))
        audit.record(
            session, milestone, actor_id, "signoff.requested",
            detail={"role": slot.role, "approver": delegate_id, "request": request.id, "delegate": True},
        )
    return change


# ---- waiting lists (App Home, reminders) ---------------------------------------------------------------------


Pending = tuple[SignOffRequest, ApprovalSlot, Milestone]


def pending_requests(session: Session, user_id: str | None = None) -> list[Pending]:
    """Open requests on milestones not yet accepted (for one person, or everyone), oldest first."""
    query = (
        select(SignOffRequest, ApprovalSlot, Milestone)
        .join(ApprovalSlot, ApprovalSlot.id == SignOffRequest.slot_id)
        .join(Milestone, Milestone.id == ApprovalSlot.milestone_id)
        .where(
            SignOffRequest.withdrawn_at.is_(None),
            SignOffRequest.answered_at.is_(None),
            Milestone.accepted_at.is_(None),
        )
        .order_by(SignOffRequest.requested_at, SignOffRequest.id)
    )
    if user_id is not None:
        query = query.where(SignOffRequest.approver_id == user_id)
    return [(r, s, m) for r, s, m in session.execute(query)]
