"""Milestones around their transactions: the "new" modal and its one submission path, the messages a new
milestone owes (channel note and the creator's DM, recorded in the outbox in the creating transaction),
`list` and `show`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions import service as action_service
from bot.actions import views_modals as action_modals
from bot.assignments import service as assignment_service
from bot.assignments import views as assignment_views
from bot.assignments.flows import today_of
from bot.core import deliveries
from bot.core.access import ensure_can_edit, get_by_key, is_editor, next_free_key
from bot.core.errors import NotAllowed
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.milestones import service, views
from bot.sections.service import SECTIONS, status_line
from bot.slack import outbox
from bot.slack.forms import read_state
from bot.slack.permissions import admin_flag, load_milestone
from bot.slack.replies import team_of
from bot.slack.router import CommandContext
from bot.slack.submissions import claim, submit
from bot.slack.text import channel as channel_ref
from bot.slack.text import truncate
from bot.slack.users import cached_profile, is_admin_of
from models import Delivery, Milestone, Status, Version, utcnow

log = logging.getLogger(__name__)

CREATED_NOTE = "milestone_created"  # the channel's short note
CREATED_DM = "milestone_created_dm"  # the creator's confirmation, with a word about the note if it failed


# ---- the "new" modal --------------------------------------------------------------------------------------


def open_new_modal(deps: Deps, client: WebClient, trigger_id: str, team_id: str, channel_id: str | None,
                   origin: views.Origin) -> None:
    try:
        with deps.session() as session:
            key: str | None = next_free_key(session, team_id)
    except SQLAlchemyError:
        key = None  # the trigger lives ~3 s: open without a suggestion rather than not at all
    initial: dict[str, Any] = {"key": key, "version": Version.ALPHA.value, "status": Status.IN_PROGRESS.value,
                               "currency": deps.settings.currency}
    if channel_id and channel_id[0] in "CG":
        initial["report_channel_id"] = channel_id
    client.views_open(trigger_id=trigger_id, view=views.new_modal(service.new_milestone_specs(), initial, origin))


def create(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """Validate → save (claimed, with the messages it owes) → ack → send them → refresh Home."""
    user_id, team_id = body["user"]["id"], team_of(body)
    now = utcnow()

    def save() -> tuple[str, list[int | None]]:
        views.NewMilestone.unpack(view.get("private_metadata"))
        raw = read_state(view["state"]["values"])
        with deps.session() as session:
            claim(session, view)
            values = service.parse_new(session, team_id, raw)
            milestone = service.create_milestone(session, team_id=team_id, creator_id=user_id, values=values)
            return milestone.key, owe_created(session, milestone, now)

    saved = submit(ack, view, save, field="key")
    if saved is None:
        return
    ack()
    key, owed = saved
    log.info("milestone %s created by %s", key, user_id)
    for delivery_id in owed:  # one after the other: the DM's renderer reads how the channel note went
        outbox.deliver(deps, client, [delivery_id])
    try:
        publish_home(client, deps, user_id, team_id)
    except Exception:  # the Home tab is a convenience; the milestone exists either way
        log.exception("home refresh after creating %s failed", key)


def owe_created(session: Session, milestone: Milestone, now: datetime) -> list[int | None]:
    """The channel note first, then the creator's DM (its renderer reads how the note went)."""
    subject = f"milestone:{milestone.id}"
    owed: list[int | None] = []
    if milestone.report_channel_id:
        text, blocks = views.created_message(milestone)
        owed.append(deliveries.owe(
            session, kind=CREATED_NOTE, recipient_id=milestone.report_channel_id, subject=subject,
            local_date=now.date(), now=now, op="post", target=milestone.report_channel_id,
            payload={"text": text, "blocks": blocks}, team_id=milestone.team_id))
    owed.append(deliveries.owe(
        session, kind=CREATED_DM, recipient_id=milestone.owner_id, subject=subject, local_date=now.date(), now=now,
        op="post", target=milestone.owner_id, payload={"milestone_id": milestone.id}, team_id=milestone.team_id))
    return owed


def _note_problem(session: Session, milestone: Milestone) -> str | None:
    """What went wrong with the channel note, if Slack refused it for good."""
    note = session.scalar(select(Delivery).where(
        Delivery.kind == CREATED_NOTE, Delivery.subject == f"milestone:{milestone.id}"))
    if note is None or note.status != "failed" or not milestone.report_channel_id:
        return None
    where = channel_ref(milestone.report_channel_id)
    if note.error == "not_in_channel":
        return (f"I couldn't post in {where} because I'm not a member there. Type `/invite @Milestone Bot` in "
                "that channel so I can post the report there.")
    return f"I couldn't post in {where} (Slack said `{note.error}`)."


def _render_dm(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    milestone = session.get(Milestone, int((delivery.payload or {}).get("milestone_id") or 0))
    if milestone is None or delivery.target is None:
        return None
    text, blocks = views.created_dm(milestone, _note_problem(session, milestone))
    return outbox.Outgoing("post", delivery.target, text, blocks)


outbox.register(CREATED_DM, render=_render_dm)


# ---- list and show ----------------------------------------------------------------------------------------


def list_command(deps: Deps, ctx: CommandContext) -> None:
    with deps.session() as session:
        items, total = service.team_milestones(session, ctx.team_id, views.LIST_LIMIT)
        progress = service.signoff_progress(session, [m.id for m in items])
        text, blocks = views.list_blocks(items, progress, total)
    ctx.reply(text, blocks)


def show(deps: Deps, client: WebClient, team_id: str, user_id: str, milestone_id: int) -> tuple[
    str, list[dict[str, Any]]
]:
    """The summary with the buttons this person may use (the admin flag looked up outside the transaction)."""
    is_admin = admin_flag(deps, client, team_id, user_id, milestone_id)
    with deps.session() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        progress = service.signoff_progress(session, [milestone.id])[milestone.id]
        statuses = [(section, status_line(milestone, section)) for section in SECTIONS]
        can_edit = is_admin or is_editor(session, milestone, user_id)
        text, blocks = views.show_blocks(milestone, progress, statuses, can_edit=can_edit)
        # Who owes which section (asked / overdue / done); those who may edit can remind or withdraw.
        owing = assignment_service.listed_for_milestone(session, milestone.id)
        blocks += assignment_views.owing_blocks(milestone, owing, today_of(session, user_id, utcnow()),
                                                remind=can_edit, withdraw=can_edit)
        return text, blocks


def show_command(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply("Which milestone? For example `/milestone show M-042`; `/milestone list` lists them.")
        return
    with deps.session() as session:
        milestone_id = get_by_key(session, ctx.team_id, ctx.args[0]).id
    text, blocks = show(deps, ctx.client, ctx.team_id, ctx.user_id, milestone_id)
    ctx.reply(text, blocks)


# ---- "Add as action item" (message shortcut) --------------------------------------------------------------


def _editable_milestones(deps: Deps, client: WebClient, team_id: str, user_id: str, channel: str) -> list[int]:
    """Milestones the person may add items to: those reporting to this channel first, newest first."""
    with deps.session() as session:
        items, _total = service.user_milestones(session, team_id, user_id, 100)
        ordered = sorted(items, key=lambda m: m.report_channel_id != channel)  # stable: newest first within
        ids = [m.id for m in ordered]
    if ids or not is_admin_of(cached_profile(deps, client, user_id), team_id):
        return ids
    with deps.session() as session:  # a workspace admin may add to any milestone of the workspace
        everything, _total = service.team_milestones(session, team_id, 100)
        return [m.id for m in sorted(everything, key=lambda m: m.report_channel_id != channel)]


def action_from_message(deps: Deps, client: WebClient, body: dict[str, Any]) -> None:
    """The message shortcut: the action item form, its description taken from the message and its notes
    linking back to it; a chooser first when several milestones could take it."""
    user_id, team_id = body["user"]["id"], team_of(body)
    channel = (body.get("channel") or {}).get("id") or ""
    message = body.get("message") or {}
    source = views.FromMessage(channel, str(message.get("ts") or ""))
    candidates = _editable_milestones(deps, client, team_id, user_id, channel)
    if not candidates:
        raise NotAllowed("You own or edit no milestone in this workspace yet, so there is nothing to add an "
                         "action item to. `/milestone new` creates one.")
    if len(candidates) > 1:
        with deps.session() as session:
            items = [load_milestone(session, team_id, i) for i in candidates]
            view = views.choose_modal(items, source)
        client.views_open(trigger_id=body["trigger_id"], view=view)
        return
    client.views_open(trigger_id=body["trigger_id"],
                      view=prefilled_action_modal(deps, client, team_id, user_id, candidates[0], source,
                                                  str(message.get("text") or "")))


def prefilled_action_modal(deps: Deps, client: WebClient, team_id: str, user_id: str, milestone_id: int,
                           source: views.FromMessage, text: str) -> dict[str, Any]:
    """bot.actions' own form (its submission saves the item), with the message filled in."""
    profile = cached_profile(deps, client, user_id)
    link = None
    if source.channel and source.ts:
        try:
            link = client.chat_getPermalink(channel=source.channel, message_ts=source.ts).get("permalink")
        except SlackApiError as error:
            log.info("no permalink for %s/%s: %s", source.channel, source.ts, error.response.get("error"))
    with deps.session() as session:
        milestone = load_milestone(session, team_id, milestone_id)
        ensure_can_edit(session, milestone, user_id, is_admin=is_admin_of(profile, team_id))
        today = local_date(utcnow(), profile.tz)
        suggested = action_service.suggestions(milestone, today, deps.settings.work_days)
        view = action_modals.action_modal(milestone, suggested=suggested, channel=source.channel or None)
    for block in view["blocks"]:
        element = block.get("element") or {}
        if block.get("block_id") == "description" and text.strip():
            element["initial_value"] = truncate(text.strip(), 1000)
        elif block.get("block_id") == "notes" and link:
            element["initial_value"] = f"From the message: {link}"
    return view


def chosen_for_action(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """The chooser's Next: the same modal becomes the action item form (Slack keeps the message text in the
    original shortcut only, so the description is taken from the message again)."""
    user_id, team_id = body["user"]["id"], team_of(body)

    def next_view() -> dict[str, Any]:
        source = views.FromMessage.unpack(view.get("private_metadata"))
        chosen = views.MilestoneRef.unpack(read_state(view["state"]["values"]).get("milestone")).milestone
        text = _message_text(client, source)
        return prefilled_action_modal(deps, client, team_id, user_id, chosen, source, text)

    following = submit(ack, view, next_view, field="milestone")
    if following is not None:
        ack(response_action="update", view=following)


def _message_text(client: WebClient, source: views.FromMessage) -> str:
    try:
        history = client.conversations_history(channel=source.channel, latest=source.ts, inclusive=True, limit=1)
    except SlackApiError:
        return ""
    messages = history.get("messages") or []
    return str(messages[0].get("text") or "") if messages and messages[0].get("ts") == source.ts else ""
