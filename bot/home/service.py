"""What App Home shows a person, read from every feature's rules (plain Python, no Slack)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.actions import service as actions
from bot.canvas.service import canvas_url_for
from bot.core.workdays import local_date
from bot.milestones import service as milestones
from bot.signoffs import service as signoffs
from bot.signoffs.service import SignoffProgress as Progress
from models import ActionItem, Milestone, MilestoneEditor, ReportPost
from models.actions import ActionStatus


@dataclass(frozen=True)
class Hub:
    """One milestone the person owns or edits, with what the team needs to see at a glance."""

    milestone: Milestone
    progress: Progress  # with the report's state: the sign-off lifecycle's one reading
    open_actions: int
    overdue_actions: int
    canvas_url: str | None = None  # the milestone's canvas (bot.canvas), when it has one


def hubs(session: Session, team_id: str, user_id: str, limit: int, now: datetime) -> tuple[list[Hub], int]:
    """The newest `limit` milestones the person owns or edits, and how many there are in all. Overdue is the
    action items' one rule, each item measured against its owner's today."""
    items, total = milestones.user_milestones(session, team_id, user_id, limit)
    progress = milestones.signoff_progress(session, [m.id for m in items])
    result = []
    for milestone in items:
        open_items = [i for i in actions.items_for_milestone(session, milestone.id) if i.status == ActionStatus.OPEN]
        zones = actions.profile_zones(session, {i.owner_id for i in open_items})
        overdue = sum(1 for i in open_items if actions.is_overdue(
            i.status, i.due_date, i.snoozed_until, local_date(now, zones.get(i.owner_id))))
        result.append(Hub(milestone, progress[milestone.id], len(open_items), overdue,
                          canvas_url_for(session, milestone.id)))
    return result, total


def recent_posts(session: Session, team_id: str, user_id: str, limit: int = 5) -> list[tuple[ReportPost, Milestone]]:
    """Reports posted lately for milestones the person owns, edits or approves… or any in the workspace."""
    rows = session.execute(
        select(ReportPost, Milestone)
        .join(Milestone, Milestone.id == ReportPost.milestone_id)
        .where(Milestone.team_id == team_id)
        .order_by(ReportPost.posted_at.desc(), ReportPost.id.desc())
        .limit(limit)
    ).all()
    return [(post, milestone) for post, milestone in rows]


def is_newcomer(session: Session, team_id: str, user_id: str) -> bool:
    """Nobody has involved this person in a milestone yet: no milestone of theirs, no action item, no
    sign-off request. They get the three-line introduction."""
    editing = select(MilestoneEditor.milestone_id).where(MilestoneEditor.user_id == user_id)
    mine = session.scalar(select(func.count(Milestone.id)).where(
        Milestone.team_id == team_id, or_(Milestone.owner_id == user_id, Milestone.id.in_(editing))))
    if mine:
        return False
    items = session.scalar(select(func.count(ActionItem.id)).where(ActionItem.owner_id == user_id))
    return not items and not signoffs.pending_requests(session, user_id)
