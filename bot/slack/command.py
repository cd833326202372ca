"""The `/milestone` command itself, `help`, and Slack's retried events."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.router import CommandContext


def register(app: App, deps: Deps) -> None:
    router = deps.router

    def show_help(ctx: CommandContext) -> None:
        text, blocks = router.help_blocks()
        ctx.reply(text, blocks)

    router.add("help", show_help, summary="Show these commands", usages=[("help", "help")], order=999)

    @app.command("/milestone")
    def milestone_command(ack: Ack, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        router.dispatch(ack, respond, client, body)
