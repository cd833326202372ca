"""The audit log, the revision counter that sign-offs bind to, and the one place a change to what the report
shows is declared.

Every change a report shows is audited against its milestone (`record`), so `record` is where the report's
living copies (the milestone's canvas, bot.canvas) are owed a rewrite, in the transaction of the change.
This module imports no feature: a feature that keeps such a copy registers a watcher (`watch`) when it is
imported. A change that is not audited (an anonymous feedback answer) calls `report_changed` itself. The
outbox ids owed this way are kept on the session (`owed`); the caller delivers them after its commit, like
the other messages it owes (`bot.slack.outbox.deliver`), and the clock's sweep sends any it did not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent, Milestone, utcnow

# (session, milestone id, now) → the outbox id of the rewrite owed (None: nothing to rewrite)
Watcher = Callable[[Session, int, datetime], int | None]
_WATCHERS: list[Watcher] = []
_OWED = "report_copies_owed"  # session.info key: outbox ids owed in this session's transaction

# Audited actions that change nothing a report shows (a message sent, who is asked, a new milestone): the
# report's copies are not rewritten for them. Anything else audited against a milestone rewrites them.
NOT_REPORT = frozenset({
    "milestone.created", "milestone.imported", "report.posted", "report.final_posted", "signoff.reminded",
    "feedback.requested", "feedback.posted", "assignment.asked", "assignment.changed", "assignment.snoozed",
    "assignment.handed_back", "assignment.withdrawn", "assignment.reminded",
})


def watch(watcher: Watcher) -> None:
    """A feature that keeps a copy of the report asks to be told of every change to it (once per process)."""
    if watcher not in _WATCHERS:
        _WATCHERS.append(watcher)


def report_changed(session: Session, milestone_id: int, now: datetime | None = None) -> list[int]:
    """In the caller's transaction: owe every copy of the milestone's report a rewrite. Returns the outbox
    ids (also kept for `owed(session)`); watchers coalesce, so a burst of changes owes one rewrite."""
    found = [owed for watcher in _WATCHERS if (owed := watcher(session, milestone_id, now or utcnow())) is not None]
    kept: list[int] = session.info.setdefault(_OWED, [])
    kept.extend(i for i in found if i not in kept)
    return found


def owed(session: Session) -> list[int]:
    """The rewrites owed in this session's transaction(s): deliver them after the commit."""
    return list(session.info.get(_OWED, []))


def record(
    session: Session,
    milestone: Milestone | None,
    actor_id: str,
    action: str,
    *,
    team_id: str | None = None,
    section: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        team_id=milestone.team_id if milestone else team_id or "",
        milestone_id=milestone.id if milestone else None,
        actor_id=actor_id,
        action=action,
        section=section,
        revision=milestone.revision if milestone else None,
        detail=detail,
    )
    session.add(event)
    if milestone is not None and milestone.id is not None and action not in NOT_REPORT:
        report_changed(session, milestone.id)
    return event


def content_changed(
    session: Session, milestone: Milestone, actor_id: str, section: str, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """A change to the report's content: bump the revision (outdating sign-offs made against the old one)
    and write who changed which section."""
    milestone.revision = (milestone.revision or 0) + 1
    session.flush()
    return record(session, milestone, actor_id, "section.saved", section=section, detail=detail)
