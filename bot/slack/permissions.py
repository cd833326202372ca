"""Who may act, for listeners: the milestone a payload names, and the edit check with the admin flag.

The admin flag needs users.info (cached), so it is looked up only when the person is not already the
owner or an editor: most clicks come from them.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.core.access import ensure_can_edit, is_editor
from bot.core.errors import NotFound
from bot.deps import Deps
from bot.slack.users import cached_profile, get_profile, is_admin_of
from models import Milestone


def load_milestone(session: Session, team_id: str, milestone_id: Any) -> Milestone:
    """The milestone a button or modal names; ids from Slack payloads are only a pointer."""
    try:
        milestone = session.get(Milestone, int(milestone_id))
    except (TypeError, ValueError):
        milestone = None
    if milestone is None or milestone.team_id != team_id:
        raise NotFound("That milestone no longer exists.")
    return milestone


def may_edit(session: Session, client: WebClient, milestone: Milestone, user_id: str) -> bool:
    if is_editor(session, milestone, user_id):
        return True
    return is_admin_of(get_profile(session, client, user_id), milestone.team_id)


def ensure_editor(
    session: Session, client: WebClient, milestone: Milestone, user_id: str, *, action: str = "change it"
) -> None:
    """Owner, editors, workspace admins; anyone else gets NotAllowed with a polite message."""
    if not is_editor(session, milestone, user_id):
        ensure_can_edit(
            session, milestone, user_id, is_admin=may_edit(session, client, milestone, user_id), action=action
        )


def admin_flag(deps: Deps, client: WebClient, team_id: str, user_id: str, milestone_id: int) -> bool:
    """Whether the person counts as a workspace admin for this milestone, found out before the transaction
    that acts: users.info (cached) runs outside any transaction, and only for people who are neither the
    owner nor an editor. The acting transaction passes it to `ensure_can_edit`, which checks again."""
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None or milestone.team_id != team_id or is_editor(session, milestone, user_id):
            return False
    return is_admin_of(cached_profile(deps, client, user_id), team_id)
