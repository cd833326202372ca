"""Edits after sign-off: what a change of substance would do to the sign-offs given (the editor confirms
first), and edits the owner marks "editorial, no change of substance", which keep every sign-off valid.

Plain Python (no Slack). A change of substance is a new revision that is not an editorial edit: sign-offs of
older revisions become outdated (bot.signoffs.rounds.outdate_signoffs asks `substantive_revision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.signoffs.service import RoleState, SignoffProgress, signoff_progress
from models import AuditEvent, Milestone


def outdated_by_an_edit(milestone: Milestone) -> list[RoleState]:
    """The roles whose current sign-off a change of substance would outdate (told to the editor first)."""
    return [role for role in signoff_progress(milestone).roles if role.current is not None]


@dataclass(frozen=True)
class EditGuard:
    """What a change of substance to the report would do to the sign-offs given, read before saving it.

    An editor confirms first (`asks`) when the report is in review or accepted and the change would outdate
    at least one sign-off; `seen` names those sign-offs, so a confirmation given for one set of sign-offs does
    not stand for another (someone signed meanwhile)."""

    progress: SignoffProgress
    affected: tuple[RoleState, ...]

    @property
    def asks(self) -> bool:
        return bool(self.affected) and self.progress.state in ("in_review", "accepted")

    @property
    def people(self) -> list[str]:
        """Who will be asked again: each affected role's holder and delegate, in the roles' order."""
        people = [p for r in self.affected for p in (r.slot.approver_id, r.slot.delegate_id) if p]
        return list(dict.fromkeys(people))

    @property
    def seen(self) -> str:
        return ",".join(str(r.current.id) for r in self.affected if r.current is not None)


def edit_guard(milestone: Milestone) -> EditGuard:
    """THE rule for "does saving this change need a confirmation first" (every section modal asks it)."""
    return EditGuard(signoff_progress(milestone), tuple(outdated_by_an_edit(milestone)))


# ---- editorial edits ---------------------------------------------------------------------------------------

EDITORIAL = "signoff.editorial_edit"  # the audit action of an edit the owner marked "no change of substance"


@dataclass(frozen=True)
class EditorialEdit:
    revision: int  # the revision the edit produced
    actor_id: str
    at: datetime


def editorial_edits(session: Session, milestone_id: int) -> list[EditorialEdit]:
    """The milestone's editorial edits, oldest first (one statement)."""
    rows = session.execute(
        select(AuditEvent.revision, AuditEvent.actor_id, AuditEvent.at)
        .where(AuditEvent.milestone_id == milestone_id, AuditEvent.action == EDITORIAL,
               AuditEvent.revision.is_not(None))
        .order_by(AuditEvent.revision, AuditEvent.id))
    return [EditorialEdit(revision or 0, actor, at) for revision, actor, at in rows]


def substantive_revision(session: Session, milestone: Milestone) -> int:
    """The newest revision a change of substance produced: editorial edits on top of it do not count, so
    sign-offs of that revision stay valid through them."""
    editorial = {edit.revision for edit in editorial_edits(session, milestone.id)}
    revision = milestone.revision or 0
    while revision in editorial:
        revision -= 1
    return revision


def mark_editorial(session: Session, milestone: Milestone, actor_id: str, sections: list[str]) -> None:
    """Inside the saving transaction, after the change: the revision it produced is editorial (audited)."""
    audit.record(session, milestone, actor_id, EDITORIAL, detail={"sections": sections,
                                                                   "revision": milestone.revision})
