"""App Home: assembled here from every feature's part, then published."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.feedback import service as feedback_service
from bot.feedback import views as feedback_views
from bot.milestones import service as milestone_service
from bot.milestones import views as milestone_views

log = logging.getLogger(__name__)
MAX_HOME_BLOCKS = 100


def _milestones(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    items, total = milestone_service.user_milestones(session, team_id, user_id, milestone_views.HOME_LIMIT)
    progress = milestone_service.signoff_progress(session, [m.id for m in items])
    return milestone_views.home_blocks(items, progress, total)


def _feedback(deps: Deps, session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    pending = feedback_service.pending_for(session, deps.settings.signing_key, user_id, team_id)
    return feedback_views.home_blocks(pending[:5])


def build_home(deps: Deps, user_id: str, team_id: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Milestone Bot"}},
    ]
    with deps.session() as session:
        blocks.extend(_milestones(session, user_id, team_id))
        for section in deps.home_sections:
            blocks.extend(section(session, user_id, team_id))
        blocks.extend(_feedback(deps, session, user_id, team_id))
    if len(blocks) > MAX_HOME_BLOCKS:  # Slack refuses a Home tab over 100 blocks
        more = {"type": "context", "elements": [{"type": "mrkdwn", "text": "More in `/milestone list`."}]}
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], more]
    return {"type": "home", "blocks": blocks}


def publish_home(client: WebClient, deps: Deps, user_id: str, team_id: str) -> None:
    client.views_publish(user_id=user_id, view=build_home(deps, user_id, team_id))
