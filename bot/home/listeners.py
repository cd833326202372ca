"""App Home: publishes the tab when someone opens it; its own buttons (Show more, Request sign-off)."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.deps import Deps
from bot.home import flows, views
from bot.milestones.views import MilestoneRef
from bot.slack.replies import team_of, tell


def _value(body: dict[str, Any]) -> str | None:
    return (body.get("actions") or [{}])[0].get("value")


def home_opened(deps: Deps, event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
    if event.get("tab", "home") != "home":
        return
    flows.publish_home(client, deps, event["user"], context.get("team_id") or "")


def show_more(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        page = views.HomePage.unpack(_value(body))
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    flows.publish_home(client, deps, body["user"]["id"], team_of(body), min(page.milestones, 200))


def request_signoff(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        milestone_id = MilestoneRef.unpack(_value(body)).milestone
        flows.signoff_prompt(deps, client, body["trigger_id"], team_of(body), milestone_id)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(home_opened, deps))
    app.action(views.SHOW_MORE)(partial(show_more, deps))
    app.action(views.REQUEST_SIGNOFF)(partial(request_signoff, deps))
