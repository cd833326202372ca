"""App Home: each feature contributes a section (deps.home_sections); this publishes them together."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient

from bot.deps import Deps

log = logging.getLogger(__name__)
MAX_HOME_BLOCKS = 100


def build_home(deps: Deps, user_id: str, team_id: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Milestone Bot"}},
    ]
    with deps.session() as session:
        for section in deps.home_sections:
            blocks.extend(section(session, user_id, team_id))
    if len(blocks) == 1:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Nothing yet: start with `/milestone new` or `/milestone help`."},
            }
        )
    if len(blocks) > MAX_HOME_BLOCKS:  # Slack refuses a Home tab over 100 blocks
        more = {"type": "context", "elements": [{"type": "mrkdwn", "text": "More in `/milestone list`."}]}
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], more]
    return {"type": "home", "blocks": blocks}


def publish_home(client: WebClient, deps: Deps, user_id: str, team_id: str) -> None:
    client.views_publish(user_id=user_id, view=build_home(deps, user_id, team_id))
