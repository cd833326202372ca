"""Action items: `/milestone action add`, `/milestone actions`, the modals, and the item controls (Done or
Reopen, and one overflow menu: Snooze, Reassign, Edit, Delete) on every message, list and Home tab.

Each handler parses its signed payload (a tampered or old one is refused with a clear message), acks, and
calls a flow (bot/actions/flows.py); who may act is checked there, against the database. `register()` only
wires: handlers get `deps` bound with functools.partial.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.actions import flows, views
from bot.actions.flows_refresh import Source, home_section, list_of
from bot.core.access import get_by_key
from bot.core.errors import DomainError
from bot.deps import Deps
from bot.slack.payloads import ForgedPayload
from bot.slack.replies import tell
from bot.slack.router import CommandContext
from bot.slack.text import esc
from models import Horizon

log = logging.getLogger(__name__)

HORIZON_WORDS = {
    "week1": Horizon.WEEK1, "week": Horizon.WEEK1, "w1": Horizon.WEEK1, "immediate": Horizon.WEEK1,
    "month1": Horizon.MONTH1, "month": Horizon.MONTH1, "m1": Horizon.MONTH1, "short-term": Horizon.MONTH1,
    "quarter": Horizon.QUARTER, "q": Horizon.QUARTER, "long-term": Horizon.QUARTER,
    "debt": Horizon.TECH_DEBT, "tech-debt": Horizon.TECH_DEBT, "techdebt": Horizon.TECH_DEBT,
    "tech_debt": Horizon.TECH_DEBT,
}
USAGE = ("Usage: `/milestone action add <ID> [week1|month1|quarter|debt]`, e.g. `/milestone action add M-042`. "
         "`/milestone actions <ID>` lists a milestone's items.")


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "action", partial(command_action, deps),
        summary="Add a post-milestone action item or technical debt (opens a form)",
        usages=[("action add <ID> [week1|month1|quarter|debt]", "action add M-042 debt")], order=60,
    )
    deps.router.add(
        "actions", partial(command_actions, deps),
        summary="List a milestone's action items with status and overdue marks (only you see it)",
        usages=[("actions <ID>", "actions M-042")], order=61,
    )
    deps.home_sections.append(partial(home_section, deps))
    app.action(views.ACTION_ADD)(partial(add_clicked, deps))
    for action_id in (views.ACTION_DONE, views.ACTION_REOPEN, views.ACTION_MENU):
        app.action(action_id)(partial(item_clicked, deps))
    for callback_id in (views.CALLBACK_ADD, views.CALLBACK_EDIT):
        app.view(callback_id)(partial(form_submitted, deps))
    for callback_id in (views.CALLBACK_REASSIGN, views.CALLBACK_DELETE):
        app.view(callback_id)(partial(item_form_submitted, deps))


# ---- commands -------------------------------------------------------------------------------------------


def command_action(deps: Deps, ctx: CommandContext) -> None:
    args = ctx.args
    verb = args[0].lower() if args else ""
    if verb in ("list", "ls"):
        ctx.args = args[1:]
        command_actions(deps, ctx)
        return
    if verb not in ("add", "new") or len(args) < 2:
        ctx.reply(USAGE)
        return
    horizon = None
    if len(args) > 2:
        horizon = HORIZON_WORDS.get(args[2].lower())
        if horizon is None:
            ctx.reply(f":warning: Unknown horizon `{esc(args[2])}`. {USAGE}")
            return
    view = flows.add_form(deps, ctx.client, ctx.user_id, ctx.team_id, key=args[1], horizon=horizon,
                          source=Source(channel=ctx.channel_id))
    ctx.ack_now()
    flows.open_modal(ctx.client, ctx.body, view)


def command_actions(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply(USAGE)
        return
    with deps.session() as session:
        text, blocks = list_of(session, get_by_key(session, ctx.team_id, ctx.args[0]))
    ctx.reply(text, blocks)


# ---- controls and modals ------------------------------------------------------------------------------


def add_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    ack()
    try:
        payload = views.AddAction.unpack(action.get("value"))
    except ForgedPayload as error:
        tell(client, body, f":warning: {error}")
        return
    flows.add_clicked(deps, client, body, payload)


def item_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    """Done and Reopen carry their payload in `value`; the overflow menu in the chosen option's value."""
    ack()
    try:
        op = views.ItemOp.unpack(action.get("value") or (action.get("selected_option") or {}).get("value"))
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    flows.item_op(deps, client, body, op)


def form_submitted(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.save_form(deps, ack, body, client, view)


def item_form_submitted(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient,
                        view: dict[str, Any]) -> None:
    flows.save_item_form(deps, ack, body, client, view)
