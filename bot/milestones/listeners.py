"""`/milestone new`, `list` and `show`; the "new" modal; the New milestone and Show buttons. Each handler
parses its payload, acks and calls bot.milestones.flows."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.deps import Deps
from bot.milestones import flows, views
from bot.slack.replies import team_of, tell
from bot.slack.router import CommandContext


def new_command(deps: Deps, ctx: CommandContext) -> None:
    ctx.ack_now()
    flows.open_new_modal(deps, ctx.client, ctx.trigger_id, ctx.team_id, ctx.channel_id, "command")


def new_button(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        origin = views.NewMilestone.unpack((body.get("actions") or [{}])[0].get("value")).origin
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    flows.open_new_modal(deps, client, body["trigger_id"], team_of(body), None, origin)


def new_shortcut(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The global shortcut "New milestone" (manifest.yml)."""
    ack()
    flows.open_new_modal(deps, client, body["trigger_id"], team_of(body), None, "shortcut")


def action_shortcut(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The message shortcut "Add as action item" (manifest.yml)."""
    ack()
    try:
        flows.action_from_message(deps, client, body)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def chosen_for_action(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.chosen_for_action(deps, ack, body, client, view)


def create(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.create(deps, ack, body, client, view)


def show_button(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    ack()
    try:
        milestone_id = views.MilestoneRef.unpack((body.get("actions") or [{}])[0].get("value")).milestone
        text, blocks = flows.show(deps, client, team_of(body), body["user"]["id"], milestone_id)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    if body.get("response_url"):
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=views.show_modal(text, blocks))


def register(app: App, deps: Deps) -> None:
    router = deps.router
    router.add("new", partial(new_command, deps), summary="Create a milestone (opens a form)", order=10)
    router.add("list", partial(flows.list_command, deps),
               summary="Milestones of this workspace, newest first, with sign-off progress", order=30)
    router.add("show", partial(flows.show_command, deps), summary="A milestone's summary and buttons, only to you",
               usages=[("show <ID>", "show M-042")], order=31)
    router.help_buttons.append(partial(views.new_button, "help"))
    app.view(views.NEW_CALLBACK)(partial(create, deps))
    app.action(views.NEW)(partial(new_button, deps))
    app.shortcut(views.NEW_SHORTCUT)(partial(new_shortcut, deps))
    app.shortcut(views.ACTION_SHORTCUT)(partial(action_shortcut, deps))
    app.view(views.CHOOSE_CALLBACK)(partial(chosen_for_action, deps))
    app.action(views.SHOW)(partial(show_button, deps))
