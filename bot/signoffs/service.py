"""Sign-off state: the ONE reading of a milestone's sign-off progress and acceptance, and who may act.

Plain Python (no Slack). `signoff_progress(milestone)` is the rule every surface asks (the channel status
message, `/milestone signoffs`, show, list, App Home, the summary post, Markdown and HTML). It reads the
milestone's loaded graph only (approval slots, their sign-offs and requests, the condition action items), so
a caller that loads many milestones can eager-load them and pay no query per milestone.

States of a role (an `ApprovalSlot`), from its newest sign-off that is not outdated ("current"):
- pending: no current sign-off (never signed, or the content changed after signing: then `outdated`);
- approved / conditional / rejected: the current decision; "conditional" is an approval with conditions whose
  action items are not all done yet (it counts as approved).
The milestone is accepted when it has at least one required role and every required role is approved.

The report's lifecycle, derived from the same reading (`SignoffProgress.state`):
draft (never requested) → in_review → accepted, or changes_requested (a current rejection); an accepted
milestone whose content changes goes back to in_review, shown as "reopened" (`reopened`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core.errors import NotAllowed, NotFound
from bot.core.formats import day
from bot.signoffs.content import changes_since
from models import ActionItem, ActionStatus, ApprovalSlot, Decision, Milestone, SignOff, SignOffRequest

APPROVING = (Decision.APPROVED.value, Decision.APPROVED_WITH_CONDITIONS.value)
DecisionValue = Literal["approved", "approved_with_conditions", "rejected"]
RoleStateName = Literal["pending", "approved", "conditional", "rejected"]
ReportState = Literal["draft", "in_review", "changes_requested", "accepted"]

REPORT_STATE_LABELS: dict[str, str] = {
    "draft": "📝 Draft — awaiting sign-off",
    "in_review": "🔎 In review",
    "reopened": "🔁 Reopened — in review again",
    "changes_requested": "✋ Changes requested",
    "accepted": "✅ Accepted",
}


# ---- the one reading of sign-off progress -------------------------------------------------------------------


@dataclass(frozen=True)
class RoleState:
    """One role of the sign-off matrix."""

    slot: ApprovalSlot
    state: RoleStateName
    current: SignOff | None  # the newest sign-off not outdated
    outdated: SignOff | None = None  # the newest outdated sign-off, when the role is pending again
    asked_at: datetime | None = None  # the open request's time, when pending and asked
    open_conditions: int = 0
    conditions_total: int = 0

    @property
    def approved(self) -> bool:
        return self.state in ("approved", "conditional")

    @property
    def signer_changed(self) -> bool:
        """The current sign-off was given by someone who no longer holds the role (it was reassigned)."""
        current = self.current
        if current is None:
            return False
        return (current.on_behalf_of or current.approver_id) != self.slot.approver_id


@dataclass(frozen=True)
class SignoffProgress:
    """Sign-off progress and acceptance of one milestone; counts are over required roles."""

    roles: tuple[RoleState, ...]
    required: int
    approved: int  # approved, including conditional
    conditional: int
    rejected: int
    pending: int  # no current sign-off (includes outdated)
    outdated: int
    accepted: bool
    requested: bool  # sign-off was ever requested (or given)
    reopened: bool  # accepted once, in review again after a change

    @property
    def state(self) -> ReportState:
        if self.accepted:
            return "accepted"
        if any(r.state == "rejected" for r in self.roles):
            return "changes_requested"
        return "in_review" if self.requested else "draft"

    @property
    def state_label(self) -> str:
        """"✅ Accepted", "🔎 In review", … the same words on every surface."""
        key = "reopened" if self.state == "in_review" and self.reopened else self.state
        return REPORT_STATE_LABELS[key]

    @property
    def label(self) -> str:
        """"3 of 4 approved (1 with conditions, 1 pending)"; "no approvers" without required roles."""
        if not self.required:
            return "no approvers"
        extras = [f"{n} {what}" for n, what in ((self.conditional, "with open conditions"), (self.rejected, "rejected"),
                                                 (self.outdated, "outdated"),
                                                 (self.pending - self.outdated, "pending")) if n]
        return f"{self.approved} of {self.required} approved" + (f" ({', '.join(extras)})" if extras else "")

    def __str__(self) -> str:
        return f"{self.approved}/{self.required}"


def _newest(signoffs: list[SignOff]) -> SignOff | None:
    return max(signoffs, key=lambda s: (s.decided_at, s.id), default=None)


def _role_state(slot: ApprovalSlot, conditions: dict[int, list[ActionItem]]) -> RoleState:
    current = _newest([s for s in slot.signoffs if s.outdated_at is None])
    if current is None:
        open_asks = [r for r in slot.requests if r.withdrawn_at is None and r.answered_at is None]
        return RoleState(slot, "pending", None, outdated=_newest(list(slot.signoffs)),
                         asked_at=min((r.requested_at for r in open_asks), default=None))
    if current.decision == Decision.REJECTED:
        return RoleState(slot, "rejected", current)
    if current.decision == Decision.APPROVED_WITH_CONDITIONS:
        items = conditions.get(current.id, [])
        still_open = sum(1 for i in items if i.status == ActionStatus.OPEN)
        return RoleState(slot, "conditional" if still_open else "approved", current,
                         open_conditions=still_open, conditions_total=len(items))
    return RoleState(slot, "approved", current)


def signoff_progress(milestone: Milestone) -> SignoffProgress:
    """THE rule for sign-off progress and acceptance: every surface asks this, none counts on its own."""
    conditions: dict[int, list[ActionItem]] = {}
    for item in milestone.action_items:
        if item.signoff_id is not None:
            conditions.setdefault(item.signoff_id, []).append(item)
    roles = tuple(_role_state(slot, conditions)
                  for slot in sorted(milestone.approval_slots, key=lambda s: (s.position, s.id)))
    required = [r for r in roles if r.slot.required]
    accepted = bool(required) and all(r.approved for r in required)
    return SignoffProgress(
        roles=roles,
        required=len(required),
        approved=sum(1 for r in required if r.approved),
        conditional=sum(1 for r in required if r.state == "conditional"),
        rejected=sum(1 for r in required if r.state == "rejected"),
        pending=sum(1 for r in required if r.state == "pending"),
        outdated=sum(1 for r in required if r.state == "pending" and r.outdated is not None),
        accepted=accepted,
        requested=any(s.requests or s.signoffs for s in milestone.approval_slots),
        reopened=not accepted and milestone.accepted_revision is not None,
    )


def progress_options() -> list[Any]:
    """Loader options for `select(Milestone)` so `signoff_progress` of many milestones costs no query each."""
    slots = selectinload(Milestone.approval_slots)
    return [slots.selectinload(ApprovalSlot.signoffs), slots.selectinload(ApprovalSlot.requests),
            selectinload(Milestone.action_items)]


def refresh(session: Session, milestone: Milestone) -> None:
    """Forget the loaded sign-off graph after a change in this transaction, so the next reading is true."""
    session.flush()
    for slot in milestone.approval_slots:
        session.expire(slot, ["signoffs", "requests"])
    session.expire(milestone, ["approval_slots", "action_items"])


# ---- reading -----------------------------------------------------------------------------------------------


def current_signoff(session: Session, slot_id: int) -> SignOff | None:
    return session.scalar(
        select(SignOff)
        .where(SignOff.slot_id == slot_id, SignOff.outdated_at.is_(None))
        .order_by(SignOff.decided_at.desc(), SignOff.id.desc())
        .limit(1)
    )


def open_requests(session: Session, slot_id: int) -> list[SignOffRequest]:
    return list(session.scalars(
        select(SignOffRequest)
        .where(SignOffRequest.slot_id == slot_id, SignOffRequest.withdrawn_at.is_(None),
               SignOffRequest.answered_at.is_(None))
        .order_by(SignOffRequest.requested_at, SignOffRequest.id)
    ))


def get_request(session: Session, request_id: int) -> tuple[SignOffRequest, ApprovalSlot, Milestone]:
    request = session.get(SignOffRequest, request_id)
    if request is None:
        raise NotFound("This sign-off request no longer exists.")
    return request, request.slot, request.slot.milestone


def requests_by_id(session: Session, ids: list[int]) -> list[SignOffRequest]:
    return list(session.scalars(select(SignOffRequest).where(SignOffRequest.id.in_(ids)).order_by(
        SignOffRequest.id)))


def signoff_requested(session: Session, milestone_id: int) -> bool:
    """Has sign-off ever been requested for this milestone (so re-asking applies)?"""
    return session.scalar(
        select(SignOffRequest.id).join(ApprovalSlot, ApprovalSlot.id == SignOffRequest.slot_id)
        .where(ApprovalSlot.milestone_id == milestone_id).limit(1)
    ) is not None


Pending = tuple[SignOffRequest, ApprovalSlot, Milestone]


def pending_requests(session: Session, user_id: str | None = None) -> list[Pending]:
    """Open requests on milestones not yet accepted (for one person, or everyone), oldest first."""
    query = (
        select(SignOffRequest, ApprovalSlot, Milestone)
        .join(ApprovalSlot, ApprovalSlot.id == SignOffRequest.slot_id)
        .join(Milestone, Milestone.id == ApprovalSlot.milestone_id)
        .where(SignOffRequest.withdrawn_at.is_(None), SignOffRequest.answered_at.is_(None),
               Milestone.accepted_at.is_(None))
        .order_by(SignOffRequest.requested_at, SignOffRequest.id)
    )
    if user_id is not None:
        query = query.where(SignOffRequest.approver_id == user_id)
    return [(r, s, m) for r, s, m in session.execute(query)]


@dataclass(frozen=True)
class DmRole:
    """One role in an approver's request DM, as it stands when the DM is (re)rendered."""

    request_id: int
    role: str
    state: Literal["open", "decided", "withdrawn", "superseded", "reassigned"]
    signoff: SignOff | None = None  # the decision that answered it
    holder: str | None = None  # when the approver signs as delegate: whose role it is
    superseded_by: int | None = None  # the revision of the request that replaced it


def dm_roles(session: Session, requests: list[SignOffRequest]) -> list[DmRole]:
    """The roles of one request DM, each in its current state (the DM is rendered from this at send time)."""
    roles = []
    for request in requests:
        slot = request.slot
        newer = session.scalar(
            select(SignOffRequest.revision)
            .where(SignOffRequest.slot_id == slot.id, SignOffRequest.approver_id == request.approver_id,
                   SignOffRequest.id > request.id)
            .order_by(SignOffRequest.id.desc()).limit(1))
        holder = slot.approver_id if request.approver_id != slot.approver_id else None
        if request.answered_at is not None:
            answer = session.scalar(
                select(SignOff).where(SignOff.slot_id == slot.id, SignOff.decided_at == request.answered_at)
                .order_by(SignOff.id.desc()).limit(1))
            roles.append(DmRole(request.id, slot.role, "decided", answer, holder, newer))
        elif request.withdrawn_at is not None:
            reason = request.closed_reason or "withdrawn"
            state: Literal["withdrawn", "superseded", "reassigned"] = (
                "superseded" if reason == "superseded" else "reassigned" if reason == "reassigned" else "withdrawn")
            roles.append(DmRole(request.id, slot.role, state, None, holder, newer))
        else:
            roles.append(DmRole(request.id, slot.role, "open", None, holder))
    return roles


def dm_requests(session: Session, request_id: int) -> list[SignOffRequest]:
    """Every request one DM carries (they share its ts), or [] when the DM has not gone out yet."""
    request = session.get(SignOffRequest, request_id)
    if request is None or not request.dm_ts:
        return []
    return list(session.scalars(select(SignOffRequest).where(
        SignOffRequest.dm_channel == request.dm_channel, SignOffRequest.dm_ts == request.dm_ts)
        .order_by(SignOffRequest.id)))


def open_in_dm(session: Session, request_id: int) -> list[SignOffRequest]:
    """The requests of one DM still waiting for a decision ("approve all my roles")."""
    return [r for r in dm_requests(session, request_id) if r.answered_at is None and r.withdrawn_at is None]


def earlier_requests(session: Session, request_ids: list[int]) -> list[int]:
    """For re-asks: each approver's previous request of the same role whose DM went out (it is then edited
    to say which revision superseded it)."""
    earlier: list[int] = []
    for request in requests_by_id(session, request_ids):
        previous = session.scalar(
            select(SignOffRequest.id)
            .where(SignOffRequest.slot_id == request.slot_id, SignOffRequest.approver_id == request.approver_id,
                   SignOffRequest.id < request.id, SignOffRequest.dm_ts.is_not(None))
            .order_by(SignOffRequest.id.desc()).limit(1))
        if previous is not None and previous not in earlier:
            earlier.append(previous)
    return earlier


def changes_for(session: Session, request: SignOffRequest) -> dict[str, dict[str, int]] | None:
    """For a re-ask: what changed since this approver's outdated sign-off of the role (None otherwise)."""
    signed = signed_revision(session, [request])
    return changes_since(session, request.slot.milestone, signed) if signed is not None else None


def signed_revision(session: Session, requests: list[SignOffRequest]) -> int | None:
    """The oldest revision these approvers signed before (outdated since): "what changed since you signed"."""
    revisions = [
        session.scalar(select(SignOff.revision).where(
            SignOff.slot_id == r.slot_id, SignOff.outdated_at.is_not(None), SignOff.decided_at < r.requested_at)
            .order_by(SignOff.decided_at.desc()).limit(1))
        for r in requests
    ]
    known = [r for r in revisions if r is not None]
    return min(known) if known else None


# ---- who may act -------------------------------------------------------------------------------------------


def shown(text: str) -> str:
    """User text (a custom role name, a typed argument) inside a domain message, which is shown as mrkdwn:
    `&`, `<` and `>` escaped as Slack asks, so `<!channel>` shows instead of pinging."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def can_sign(slot: ApprovalSlot, user_id: str) -> bool:
    return user_id in (slot.approver_id, slot.delegate_id)


def ensure_can_sign(slot: ApprovalSlot, milestone: Milestone, user_id: str) -> None:
    if not can_sign(slot, user_id):
        raise NotAllowed(
            f"Only <@{slot.approver_id}> (the {shown(slot.role)} of {milestone.key}) or their delegate can sign "
            "this role. Nothing was recorded."
        )


def ensure_owner(milestone: Milestone, user_id: str, *, is_admin: bool) -> None:
    if user_id != milestone.owner_id and not is_admin:
        raise NotAllowed(
            f"Only the owner of {milestone.key} (<@{milestone.owner_id}>) or a workspace admin can reassign "
            "or delegate sign-off roles."
        )


def find_slot(session: Session, milestone: Milestone, role: str) -> ApprovalSlot | None:
    """A role by name, case-insensitive, or by an unambiguous prefix (`tech` → Technical Lead)."""
    wanted = role.strip().lower()
    slots = list(session.scalars(select(ApprovalSlot).where(ApprovalSlot.milestone_id == milestone.id)))
    for slot in slots:
        if slot.role.lower() == wanted:
            return slot
    starts = [s for s in slots if s.role.lower().startswith(wanted)]
    return starts[0] if len(starts) == 1 else None


def check_request_usable(session: Session, request: SignOffRequest, slot: ApprovalSlot, milestone: Milestone,
                         user_id: str) -> None:
    """What a decision button checks before opening the modal (and the submission again before saving)."""
    ensure_can_sign(slot, milestone, user_id)
    current = current_signoff(session, slot.id)
    if current is not None:
        raise NotAllowed(
            f"The {shown(slot.role)} sign-off of {milestone.key} was already given "
            f"({Decision(current.decision).label} by <@{current.approver_id}> on {day(current.decided_at)}). "
            "Nothing was changed."
        )
    if request.withdrawn_at is not None and not open_requests(session, slot.id):
        raise NotAllowed(f"This request to sign {milestone.key} as {shown(slot.role)} was withdrawn. "
                         "Nothing was recorded.")
