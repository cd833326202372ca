"""App Home: publishes the tab when someone opens it."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.home.flows import publish_home


def home_opened(deps: Deps, event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    publish_home(client, deps, event["user"], context.get("team_id") or "")


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(home_opened, deps))
