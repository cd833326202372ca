"""App Home, assembled here from every feature's part: the introduction for a first visit, the "Needs you"
queue (sign-offs waiting, your action items, feedback asked of you), the hubs of your milestones, recently
posted reports. Then published."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.actions import service as action_service
from bot.actions import views as action_views
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.feedback import service as feedback_service
from bot.feedback import views as feedback_views
from bot.home import service, views
from bot.milestones import views as milestone_views
from bot.signoffs import service as signoff_service
from bot.signoffs import views as signoff_views
from bot.slack.permissions import load_milestone
from models import utcnow

log = logging.getLogger(__name__)
MAX_HOME_BLOCKS = views.MAX_BLOCKS


def _signoffs(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    """Requests waiting for this person, each with its decision buttons (bot.signoffs) and View report."""
    waiting = [(request, slot, milestone)
               for request, slot, milestone in signoff_service.pending_requests(session, user_id)
               if milestone.team_id == team_id]
    return views.signoff_queue(waiting, signoff_views.decision_buttons)


def _action_items(session: Session, user_id: str, team_id: str, now: datetime) -> list[dict[str, Any]]:
    items = action_service.open_items_for_owner(session, user_id, team_id)
    if not items:
        return []
    today = local_date(now, action_service.profile_zones(session, {user_id}).get(user_id))
    return action_views.home_blocks([action_views.line_from_item(item, today) for item in items])


def _feedback(deps: Deps, session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    pending = feedback_service.pending_for(session, deps.settings.signing_key, user_id, team_id)
    return feedback_views.home_blocks(pending[:5])


def build_home(deps: Deps, user_id: str, team_id: str, shown: int = views.PAGE) -> dict[str, Any]:
    now = utcnow()
    with deps.session() as session:
        newcomer = service.is_newcomer(session, team_id, user_id)
        parts = [_signoffs(session, user_id, team_id), _action_items(session, user_id, team_id, now),
                 _feedback(deps, session, user_id, team_id)]
        hubs, total = service.hubs(session, team_id, user_id, shown, now.date())
        blocks = [*views.top(newcomer), *views.queue(parts)]
        if hubs:  # owners and editors; an approver or an item owner sees the queue only
            blocks += views.hubs(hubs, total, shown)
        blocks += views.recent(service.recent_posts(session, team_id, user_id))
    return {"type": "home", "blocks": views.fit(blocks)}


def publish_home(client: WebClient, deps: Deps, user_id: str, team_id: str, shown: int = views.PAGE) -> None:
    client.views_publish(user_id=user_id, view=build_home(deps, user_id, team_id, shown))


def signoff_prompt(deps: Deps, client: WebClient, trigger_id: str, team_id: str, milestone_id: int) -> None:
    """Home's "Request sign-off": the same completeness check as `/milestone signoff`, in a modal."""
    with deps.session() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        empty = signoff_service.empty_sections(milestone)
        _text, blocks = signoff_views.completeness_prompt(milestone, empty)
        if not empty:  # nothing to warn about: keep only the button, with a plain question
            question = (f"*{milestone_views.title(milestone)}*: every section is filled in. Ask the "
                        f"approvers to sign revision {milestone.revision}?")
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": question}},
                      *[b for b in blocks if b.get("type") == "actions"]]
    client.views_open(trigger_id=trigger_id, view=views.signoff_prompt_modal(blocks))
