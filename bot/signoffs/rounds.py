"""Asking for sign-off: request rounds, re-asks after a change of substance, reassigning and delegating roles.

Plain Python (no Slack), each function inside the caller's one transaction. They return plain data naming
what was asked and which requests closed; bot.signoffs.flows records the messages those changes owe in the
outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput, NotFound
from bot.core.fields import unsafe_character_problem
from bot.signoffs.edits import substantive_revision
from bot.signoffs.service import (
    current_signoff,
    ensure_owner,
    find_slot,
    open_requests,
    refresh,
    shown,
    signoff_progress,
    signoff_requested,
)
from models import ApprovalSlot, Milestone, SignOff, SignOffRequest

ROLE_MAX_LENGTH = 64


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
    milestone_id: int
    created: list[NewRequest] = field(default_factory=list)
    already_asked: list[str] = field(default_factory=list)  # roles with an open request
    already_decided: list[str] = field(default_factory=list)  # roles with a current sign-off


def lock_milestone(session: Session, milestone_id: int) -> Milestone:
    milestone = session.scalar(select(Milestone).where(Milestone.id == milestone_id).with_for_update())
    if milestone is None:
        raise NotFound("That milestone no longer exists.")
    return milestone


def _ask(session: Session, milestone: Milestone, slot: ApprovalSlot, approver_id: str, actor_id: str,
         now: datetime, **detail: object) -> NewRequest:
    request = SignOffRequest(slot_id=slot.id, approver_id=approver_id, requested_by=actor_id,
                             revision=milestone.revision, requested_at=now)
    session.add(request)
    session.flush()
    audit.record(session, milestone, actor_id, "signoff.requested",
                 detail={"role": slot.role, "approver": approver_id, "request": request.id, **detail})
    return NewRequest(request.id, slot.id, approver_id, slot.role, milestone.revision)


def _holders(slot: ApprovalSlot) -> list[str]:
    return [u for u in (slot.approver_id, slot.delegate_id) if u]


def _close(request: SignOffRequest, reason: str, now: datetime) -> None:
    request.withdrawn_at = now
    request.closed_reason = reason


def request_signoff(session: Session, milestone_id: int, actor_id: str, now: datetime) -> RequestResult:
    """Ask every role without a current sign-off and without an open request. Running it twice asks once."""
    milestone = lock_milestone(session, milestone_id)
    slots = sorted(milestone.approval_slots, key=lambda s: (s.position, s.id))
    if not slots:
        raise InvalidInput({"approvers": f"{milestone.key} has no approvers yet. Add one per role with "
                                         f"`/milestone signoff {milestone.key} reassign <role> @person`."})
    result = RequestResult(milestone.id)
    for slot in slots:
        if current_signoff(session, slot.id) is not None:
            result.already_decided.append(slot.role)
            continue
        asked = {r.approver_id for r in open_requests(session, slot.id)}
        missing = [u for u in _holders(slot) if u not in asked]
        if not missing:
            result.already_asked.append(slot.role)
        for approver in missing:
            result.created.append(_ask(session, milestone, slot, approver, actor_id, now))
    return result


# ---- a change of substance: outdating and re-asking ----------------------------------------------------------


@dataclass
class OutdateResult:
    milestone_id: int
    outdated: list[tuple[str, str, int]] = field(default_factory=list)  # (role, approver, revision signed)
    new_requests: list[NewRequest] = field(default_factory=list)  # re-asks of outdated roles
    refreshed: list[int] = field(default_factory=list)  # open requests whose DM is out: edited to the new revision
    moved: int = 0  # open requests moved to the new revision (sent or not)
    acceptance_withdrawn: bool = False


def outdate_signoffs(session: Session, milestone_id: int, actor_id: str, sections: list[str],
                     now: datetime) -> OutdateResult:
    """After a change of substance: current sign-offs of older revisions become outdated and their roles are
    asked again; requests still open move to the new revision (their DM is edited, not re-sent). Editorial
    edits (the owner said: no change of substance) outdate nothing."""
    milestone = lock_milestone(session, milestone_id)
    result = OutdateResult(milestone.id)
    stale = list(session.scalars(select(SignOff).where(
        SignOff.milestone_id == milestone.id, SignOff.outdated_at.is_(None),
        SignOff.revision < substantive_revision(session, milestone))))
    was_accepted = milestone.accepted_at is not None
    reasked: set[int] = set()
    for signoff in stale:
        signoff.outdated_at = now
        slot = signoff.slot
        result.outdated.append((slot.role, signoff.approver_id, signoff.revision))
        audit.record(session, milestone, actor_id, "signoff.outdated",
                     detail={"role": slot.role, "approver": signoff.approver_id, "signoff": signoff.id,
                             "signed_revision": signoff.revision, "sections": sections})
        for old in open_requests(session, slot.id):  # normally none: the sign-off answered them
            _close(old, "superseded", now)
        reasked.add(slot.id)
        for approver in _holders(slot):
            result.new_requests.append(_ask(session, milestone, slot, approver, actor_id, now, again=True))
    for slot in milestone.approval_slots:
        if slot.id in reasked:
            continue
        for request in open_requests(session, slot.id):
            if request.revision < milestone.revision:
                request.revision = milestone.revision
                result.moved += 1
                if request.dm_ts:
                    result.refreshed.append(request.id)
    refresh(session, milestone)
    if was_accepted and not signoff_progress(milestone).accepted:
        withdraw_acceptance(session, milestone, actor_id, {"sections": sections})
        result.acceptance_withdrawn = True
    return result


def withdraw_acceptance(session: Session, milestone: Milestone, actor_id: str, detail: dict[str, object]) -> None:
    """The milestone is no longer accepted (it keeps `accepted_revision`: the report shows "Reopened")."""
    milestone.accepted_at = None
    audit.record(session, milestone, actor_id, "milestone.acceptance_withdrawn", detail=detail)


# ---- reassigning and delegating --------------------------------------------------------------------------


@dataclass
class RoleChange:
    milestone_id: int
    role: str
    closed: list[int] = field(default_factory=list)  # request ids withdrawn (their DMs are edited)
    new_requests: list[NewRequest] = field(default_factory=list)
    created_slot: bool = False
    acceptance_withdrawn: bool = False


def _role_name(role: str) -> str:
    name = " ".join(role.split())
    problem = unsafe_character_problem(name)
    if problem:
        raise InvalidInput({"role": problem})
    if not name or len(name) > ROLE_MAX_LENGTH:
        raise InvalidInput({"role": f"Name the role in {ROLE_MAX_LENGTH} characters or fewer, like `QA Lead`."})
    return name


def reassign(
    session: Session, milestone_id: int, role: str, new_approver: str, actor_id: str, now: datetime, *, is_admin: bool
) -> RoleChange:
    """Give a role to someone else (or add a role). Their pending request is withdrawn; the new holder is asked
    when sign-off was already requested. A sign-off already given stays valid (it was signed by the holder)."""
    milestone = lock_milestone(session, milestone_id)
    ensure_owner(milestone, actor_id, is_admin=is_admin)
    slot = find_slot(session, milestone, role)
    change = RoleChange(milestone_id=milestone.id, role=role)
    old_approver = None
    if slot is None:
        position = 1 + max((s.position for s in milestone.approval_slots), default=-1)
        slot = ApprovalSlot(milestone_id=milestone.id, role=_role_name(role), position=position,
                            approver_id=new_approver, required=True)
        session.add(slot)
        session.flush()
        change.created_slot = True
    else:
        old_approver = slot.approver_id
        if old_approver == new_approver:
            raise InvalidInput({"approver": f"<@{new_approver}> already holds {shown(slot.role)}. "
                                            "Nothing was changed."})
        for request in open_requests(session, slot.id):
            if request.approver_id in (old_approver, slot.delegate_id):
                _close(request, "reassigned", now)
                change.closed.append(request.id)
        slot.approver_id = new_approver
        slot.delegate_id = None  # a delegate acted for the old holder
    change.role = slot.role
    audit.record(session, milestone, actor_id, "signoff.reassigned",
                 detail={"role": slot.role, "from": old_approver, "to": new_approver})
    if signoff_requested(session, milestone.id) and current_signoff(session, slot.id) is None:
        change.new_requests.append(_ask(session, milestone, slot, new_approver, actor_id, now))
    refresh(session, milestone)
    if milestone.accepted_at is not None and not signoff_progress(milestone).accepted:
        withdraw_acceptance(session, milestone, actor_id, {"role_added": slot.role})
        change.acceptance_withdrawn = True
    return change


def delegate(
    session: Session, milestone_id: int, role: str, delegate_id: str | None, actor_id: str, now: datetime,
    *, is_admin: bool,
) -> RoleChange:
    """Let someone sign a role for its holder (or stop it with None). The holder can still sign too."""
    milestone = lock_milestone(session, milestone_id)
    ensure_owner(milestone, actor_id, is_admin=is_admin)
    slot = find_slot(session, milestone, role)
    if slot is None:
        raise InvalidInput({"role": f"{milestone.key} has no role “{shown(role)}”. "
                                    f"`/milestone signoffs {milestone.key}` lists its roles."})
    change = RoleChange(milestone_id=milestone.id, role=slot.role)
    previous = slot.delegate_id
    if previous == delegate_id:
        raise InvalidInput({"delegate": "That is already the delegate. Nothing was changed."})
    if delegate_id == slot.approver_id:
        raise InvalidInput({"delegate": f"<@{delegate_id}> already holds {shown(slot.role)}; pick someone else."})
    for request in open_requests(session, slot.id):
        if previous and request.approver_id == previous:
            _close(request, "delegate", now)
            change.closed.append(request.id)
    slot.delegate_id = delegate_id
    audit.record(session, milestone, actor_id, "signoff.delegated",
                 detail={"role": slot.role, "holder": slot.approver_id, "from": previous, "to": delegate_id})
    if delegate_id and current_signoff(session, slot.id) is None and open_requests(session, slot.id):
        change.new_requests.append(_ask(session, milestone, slot, delegate_id, actor_id, now, delegate=True))
    return change
