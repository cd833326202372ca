"""`/milestone canvas M-042` (make the milestone's canvas, or rewrite it now) and unfurling pasted report links
(`link_shared` → `chat.unfurl`). Handlers read their deps from HOLDER, set once by `register`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.canvas import flows, unfurls, views
from bot.core.errors import InvalidInput
from bot.deps import Deps
from bot.slack.router import CommandContext

log = logging.getLogger(__name__)
USAGE = "Usage: `/milestone canvas M-042` makes the milestone's canvas, or rewrites it now."


class _Holder:
    deps: Deps | None = None


HOLDER = _Holder()


def _deps() -> Deps:
    assert HOLDER.deps is not None, "bot.canvas.listeners.register was not called"
    return HOLDER.deps


def canvas_command(ctx: CommandContext) -> None:
    if len(ctx.args) != 1:
        raise InvalidInput({"args": USAGE})
    ctx.ack_now()  # creating a canvas is a few Slack calls: answer Slack first
    ctx.reply(flows.make_or_refresh(_deps(), ctx.client, ctx.team_id, ctx.args[0], ctx.user_id))


def link_shared(event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
    unfurls.unfurl_links(_deps(), client, context.get("team_id") or "", event)


def button_clicked(ack: Ack) -> None:
    ack()  # link buttons: Slack opens the URL; the click only needs an answer


def accepted(client: WebClient, milestone_id: int, actor_id: str) -> None:
    flows.refresh_after_change(_deps(), client, milestone_id)


def register(app: App, deps: Deps) -> None:
    HOLDER.deps = deps
    flows.configure(deps.settings)
    deps.router.add("canvas", canvas_command, order=65, usages=[("canvas <ID>", "canvas M-042")],
                    summary="Keep the milestone's report in a canvas, rewritten after every change (or now)")
    app.event("link_shared")(link_shared)
    app.action(views.VIEW_REPORT_ACTION)(button_clicked)
    app.action(views.OPEN_CANVAS_ACTION)(button_clicked)
    deps.on_accepted.append(accepted)
