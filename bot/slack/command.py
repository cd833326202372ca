"""The `/milestone` command itself and `help`."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy import select

from bot.deps import Deps
from bot.slack.router import OPEN_HOME, CommandContext
from models import Milestone


def latest_key(deps: Deps, team_id: str) -> str | None:
    """The workspace's newest milestone ID, for examples people can paste as they are."""
    with deps.session() as session:
        return session.scalar(select(Milestone.key).where(Milestone.team_id == team_id)
                              .order_by(Milestone.created_at.desc(), Milestone.id.desc()).limit(1))


def show_help(deps: Deps, ctx: CommandContext) -> None:
    text, blocks = deps.router.help_blocks(ctx.team_id, str(ctx.body.get("api_app_id") or ""))
    ctx.reply(text, blocks)


def milestone_command(deps: Deps, ack: Ack, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
    deps.router.dispatch(ack, respond, client, body)


def link_clicked(ack: Ack) -> None:
    ack()  # a link button: Slack opens the link; the click only needs an answer


def register(app: App, deps: Deps) -> None:
    deps.router.example_key = partial(latest_key, deps)
    deps.router.add("help", partial(show_help, deps), summary="Show these commands", order=999)
    app.command("/milestone")(partial(milestone_command, deps))
    app.action(OPEN_HOME)(link_clicked)
