"""The audit log and the revision counter that sign-offs bind to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent, Milestone


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
    return event


def content_changed(
    session: Session, milestone: Milestone, actor_id: str, section: str, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """A change to the report's content: bump the revision (outdating sign-offs made against the old one)
    and write who changed which section."""
    milestone.revision = (milestone.revision or 0) + 1
    session.flush()
    return record(session, milestone, actor_id, "section.saved", section=section, detail=detail)
