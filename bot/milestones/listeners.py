"""`/milestone new`, `list` and `show`; the "new" modal; buttons on milestone messages; the App Home list.

Also the small helpers the section listeners share: who may edit, where to tell someone "no", and the
content-changed hooks.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.access import get_by_key, next_free_key
from bot.core.db import first_submission
from bot.core.errors import DomainError, InvalidInput
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.milestones import service as milestone_service
from bot.milestones import views
from bot.sections.service import SECTIONS, status_line
from bot.slack.forms import read_state
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import load_milestone, may_edit
from bot.slack.replies import save_failed, team_of, tell
from bot.slack.router import CommandContext
from models import Milestone, Status, Version

log = logging.getLogger(__name__)

# ---- listeners ------------------------------------------------------------------------------------------


def register(app: App, deps: Deps) -> None:
    router = deps.router

    def open_new_modal(client: WebClient, trigger_id: str, team_id: str, channel_id: str | None) -> None:
        try:
            with deps.session() as session:
                key: str | None = next_free_key(session, team_id)
        except SQLAlchemyError:
            key = None  # the trigger lives ~3 s: open without a suggestion rather than not at all
        initial: dict[str, Any] = {"key": key, "version": Version.ALPHA.value, "status": Status.IN_PROGRESS.value}
        if channel_id and channel_id[0] in "CG":
            initial["report_channel_id"] = channel_id
        view = views.new_modal(milestone_service.new_milestone_specs(), initial, "")
        client.views_open(trigger_id=trigger_id, view=view)

    def new_command(ctx: CommandContext) -> None:
        ctx.ack_now()
        open_new_modal(ctx.client, ctx.trigger_id, ctx.team_id, ctx.channel_id)

    def list_command(ctx: CommandContext) -> None:
        with deps.session() as session:
            items, total = milestone_service.team_milestones(session, ctx.team_id, views.LIST_LIMIT)
            progress = milestone_service.signoff_progress(session, [m.id for m in items])
            text, blocks = views.list_blocks(items, progress, total)
        ctx.reply(text, blocks)

    def show(session: Session, client: WebClient, team_id: str, user_id: str, milestone: Milestone) -> tuple[
        str, list[dict[str, Any]]
    ]:
        progress = milestone_service.signoff_progress(session, [milestone.id])[milestone.id]
        statuses = [(section, status_line(milestone, section)) for section in SECTIONS]
        return views.show_blocks(milestone, progress, statuses, can_edit=may_edit(session, client, milestone, user_id))

    def show_command(ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply("Which milestone? For example `/milestone show M-042`; `/milestone list` lists them.")
            return
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, ctx.args[0])
            text, blocks = show(session, ctx.client, ctx.team_id, ctx.user_id, milestone)
        ctx.reply(text, blocks)

    router.add("new", new_command, summary="Create a milestone (opens a form)", usages=[("new", "new")], order=10)
    router.add(
        "list", list_command, summary="Milestones of this workspace, newest first, with sign-off progress",
        usages=[("list", "list")], order=30,
    )
    router.add(
        "show", show_command, summary="A milestone's summary, only to you, with edit buttons",
        usages=[("show <ID>", "show M-042")], order=31,
    )

    @app.view(views.NEW_CALLBACK)
    def create(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id, team_id = body["user"]["id"], team_of(body)
        raw = read_state(view["state"]["values"])
        try:
            with deps.session() as session:
                # Claimed first: a double submit finds the claim and changes nothing (a failed save rolls
                # it back, so pressing Create again works).
                if not first_submission(session, f"new:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                values = milestone_service.parse_new(session, team_id, raw)
                milestone = milestone_service.create_milestone(
                    session, team_id=team_id, creator_id=user_id, values=values
                )
                channel_text, channel_blocks = views.created_message(milestone)
                milestone_id, key, channel = milestone.id, milestone.key, milestone.report_channel_id
        except InvalidInput as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        except SQLAlchemyError as error:
            log.exception("saving a new milestone failed")
            ack(response_action="errors", errors={"key": save_failed(error)})
            return
        ack()
        log.info("milestone %s created by %s", key, user_id)
        notifier = Notifier(client)
        problem = None
        if channel:
            try:
                notifier.post(channel, channel_text, channel_blocks)
            except DeliveryError as error:
                problem = (
                    f"I couldn't post in <#{channel}> because I'm not a member there. Type "
                    f"`/invite @Milestone Bot` in that channel so I can post the report there."
                    if error.code == "not_in_channel"
                    else f"I couldn't post in <#{channel}> (Slack said `{error.code}`)."
                )
        with deps.session() as session:
            text, blocks = views.created_dm(load_milestone(session, team_id, milestone_id), problem)
        try:
            notifier.dm(user_id, text, blocks)
        except DeliveryError as error:
            log.warning("could not confirm %s to %s: %s", key, user_id, error.code)
        try:
            publish_home(client, deps, user_id, team_id)
        except Exception:  # the Home tab is a convenience; the milestone exists either way
            log.exception("home refresh after creating %s failed", key)

    @app.action(views.NEW)
    def new_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_new_modal(client, body["trigger_id"], team_of(body), None)

    @app.action(views.SHOW)
    def show_button(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        user_id, team_id = body["user"]["id"], team_of(body)
        try:
            with deps.session() as session:
                milestone = load_milestone(session, team_id, body["actions"][0].get("value"))
                text, blocks = show(session, client, team_id, user_id, milestone)
        except DomainError as error:
            tell(client, body, f":warning: {error}")
            return
        if body.get("response_url"):
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        else:
            tell(client, body, text)

    def home_section(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
        items, total = milestone_service.user_milestones(session, team_id, user_id, views.HOME_LIMIT)
        progress = milestone_service.signoff_progress(session, [m.id for m in items])
        return views.home_blocks(items, progress, total)

    deps.home_sections.append(home_section)
