"""App Home, assembled here from every feature's part: the introduction for a first visit, the "Needs you"
queue (sign-offs waiting, your action items, feedback asked of you), the hubs of your milestones, recently
posted reports. Then published."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.feedback import service as feedback_service
from bot.feedback import views as feedback_views
from bot.home import service, views
from bot.reports.links import report_url
from bot.signoffs import flows as signoff_flows
from bot.signoffs import views_owner as signoff_views_owner
from bot.slack.permissions import load_milestone
from models import utcnow

log = logging.getLogger(__name__)
MAX_HOME_BLOCKS = views.MAX_BLOCKS


def _others(deps: Deps, session: Session, user_id: str, team_id: str) -> list[list[dict[str, Any]]]:
    """What other features say waits for this person (sign-off requests, their action items), each drawn by
    that feature (bot.signoffs, bot.actions register theirs in deps.home_sections). A part without any
    button is only a "nothing here" line: the queue leaves it out."""
    parts = [section(session, user_id, team_id) for section in deps.home_sections]
    return [part for part in parts if views.has_buttons(part)]


def _feedback(deps: Deps, session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    pending = feedback_service.pending_for(session, deps.settings.signing_key, user_id, team_id)[:5]
    now = utcnow()
    links = {m.id: report_url(deps.settings, m.id, m.revision, now) for m, _requester in pending}
    return feedback_views.home_blocks(pending, links)


def build_home(deps: Deps, user_id: str, team_id: str, shown: int = views.PAGE) -> dict[str, Any]:
    now = utcnow()
    with deps.session() as session:
        newcomer = service.is_newcomer(session, team_id, user_id)
        parts = [*_others(deps, session, user_id, team_id), _feedback(deps, session, user_id, team_id)]
        hubs, total = service.hubs(session, team_id, user_id, shown, now)
        blocks = [*views.top(newcomer), *views.queue(parts)]
        if hubs:  # owners and editors; an approver or an item owner sees the queue only
            blocks += views.hubs(hubs, total, shown)
        blocks += views.recent(service.recent_posts(session, team_id, user_id))
    return {"type": "home", "blocks": views.fit(blocks)}


def publish_home(client: WebClient, deps: Deps, user_id: str, team_id: str, shown: int = views.PAGE) -> None:
    client.views_publish(user_id=user_id, view=build_home(deps, user_id, team_id, shown))


def signoff_prompt(deps: Deps, client: WebClient, trigger_id: str, team_id: str, milestone_id: int) -> None:
    """Home's "Request sign-off": the same completeness gate as `/milestone signoff`, in a modal."""
    with deps.session() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        gate = signoff_flows.gate(session, milestone)
        blocks = gate[1] if gate else signoff_views_owner.ready_prompt(milestone)
    client.views_open(trigger_id=trigger_id, view=views.signoff_prompt_modal(blocks))
