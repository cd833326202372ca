"""Action items' orchestration: opening the modals, saving them through the one submission path, and the item
controls (Done, Reopen, the overflow menu). Each change commits with the messages it owes (the new owner's
DM, in the outbox, in the same transaction); after the commit they are sent and every surface that shows the
item is refreshed (bot/actions/flows_refresh.py). users.info is only ever called between transactions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.actions import history, service, views, views_modals
from bot.actions.flows_refresh import (
    REFRESH_WINDOW,
    Source,
    assigned_problem,
    confirm,
    deliver_assignment,
    refresh_messages,
    refresh_source,
    respond_list,
    update_message,
)
from bot.core import audit
from bot.core.access import ensure_can_edit, get_by_key
from bot.core.errors import DomainError, InvalidInput, NotFound
from bot.core.fields import parse_fields
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.slack import outbox
from bot.slack.forms import read_state
from bot.slack.permissions import load_milestone
from bot.slack.replies import open_or_push, response_url_of, save_failed, team_of, tell
from bot.slack.submissions import claim, submit
from bot.slack.text import esc
from bot.slack.users import cached_profile, is_admin_of
from models import Milestone, utcnow

log = logging.getLogger(__name__)


def source_of(deps: Deps, body: dict[str, Any]) -> Source:
    """Where a click came from: App Home, the ephemeral list (its response_url kept server-side), a message."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return Source(home=True)
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    url = response_url_of(body)
    if container.get("is_ephemeral") and url:
        try:
            with deps.session() as session:
                reply = service.keep_reply_target(session, body["user"]["id"], url, utcnow())
            return Source(reply=reply, channel=channel)
        except SQLAlchemyError as error:  # the modal still opens; only the list will not refresh by itself
            log.warning("could not keep the list's response_url: %s", error)
    return Source(channel=channel)


def open_modal(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    try:
        open_or_push(client, body, view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        tell(client, body, ":warning: Slack did not let me open the form in time. Please try again.")


# ---- the add/edit modal -----------------------------------------------------------------------------------


def add_form(deps: Deps, client: WebClient, user: str, team: str, *, source: Source, key: str | None = None,
             milestone_id: int | None = None, horizon: str | None = None) -> dict[str, Any]:
    """The add modal for a milestone named by key (a command) or id (a button); refuses non-editors."""
    profile = cached_profile(deps, client, user)
    with deps.session() as session:
        milestone: Milestone = get_by_key(session, team, key) if key else load_milestone(session, team, milestone_id)
        ensure_can_edit(session, milestone, user, is_admin=is_admin_of(profile, team))
        suggested = service.suggestions(milestone, local_date(utcnow(), profile.tz), deps.settings.work_days)
        return views_modals.action_modal(milestone, suggested=suggested, horizon=horizon, home=source.home,
                                         reply=source.reply, channel=source.channel)


def edit_form(deps: Deps, client: WebClient, user: str, team: str, item_id: int, source: Source) -> dict[str, Any]:
    profile = cached_profile(deps, client, user)
    with deps.session() as session:
        item = service.get_item(session, item_id, team)
        service.ensure_can_edit_item(session, item, user, is_admin=is_admin_of(profile, team))
        suggested = service.suggestions(item.milestone, local_date(utcnow(), profile.tz), deps.settings.work_days)
        return views_modals.action_modal(item.milestone, suggested=suggested, item=item, home=source.home,
                                         reply=source.reply, channel=source.channel)


@dataclass(frozen=True)
class _Saved:
    item_id: int
    milestone_id: int
    owner_id: str
    owed: int | None
    edited: bool
    confirmation: str
    rewrites: list[int]  # the report's copies (its canvas), owed a rewrite by the change


def save_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """The add/edit modal's submission: validate → save (with the owed DM) → ack → send and refresh."""
    user, team = body["user"]["id"], team_of(body)
    form: list[views.ActionForm] = []

    def save() -> _Saved:
        form.append(views.ActionForm.unpack(view.get("private_metadata")))
        values = parse_fields(service.action_fields(), read_state(view["state"]["values"]))
        return _save_item(deps, client, view, user, team, form[0], values)

    saved = submit(ack, view, save)
    if saved is None:
        return
    ack()
    source = Source(home=form[0].home, reply=form[0].reply, channel=form[0].channel)
    problem = deliver_assignment(deps, client, saved.owed)
    outbox.deliver(deps, client, saved.rewrites)
    if saved.edited:
        refresh_messages(deps, client, saved.item_id)
    refresh_source(deps, client, source, user, team, saved.milestone_id)
    confirm(client, source, user, saved.confirmation + (assigned_problem(saved.owner_id, problem) if problem else ""))


def _save_item(deps: Deps, client: WebClient, view: dict[str, Any], user: str, team: str, form: views.ActionForm,
               values: dict[str, Any]) -> _Saved:
    now = utcnow()
    profile = cached_profile(deps, client, user)  # users.info before the transaction, never inside it
    if cached_profile(deps, client, str(values["owner_id"])).deleted:
        raise InvalidInput({"owner_id": "That account is deactivated. Choose someone who can act on it."})
    today, admin = local_date(now, profile.tz), is_admin_of(profile, team)
    with deps.session() as session:
        claim(session, view)
        milestone = load_milestone(session, team, form.milestone)
        if form.item is not None:
            item = service.get_item(session, form.item, team)
            if item.milestone_id != milestone.id:
                raise NotFound("That action item no longer exists.")
            before = item.owner_id
            service.update_item(session, item, values, user, today=today, is_admin=admin)
            assigned = item.owner_id != before
        else:
            item = service.create_item(session, milestone, values, user, today=today, is_admin=admin,
                                       work_days=deps.settings.work_days)
            assigned = True
        owed = service.owe_assignment(session, item, user, now, str(view.get("id") or "")) if assigned else None
        due = f", due {views.day_label(item.due_date)}" if item.due_date else ""
        confirmation = (f"✅ {'Saved' if form.item else 'Added'} action item on *{esc(milestone.key)}*: "
                        f"{esc(item.description[:200])} — owner <@{item.owner_id}>{due}.")
        return _Saved(item.id, milestone.id, item.owner_id, owed, form.item is not None, confirmation,
                      audit.owed(session))


# ---- the item controls ------------------------------------------------------------------------------------


def item_op(deps: Deps, client: WebClient, body: dict[str, Any], op: views.ItemOp) -> None:
    """Done, Reopen, Snooze: change in place. Edit, Reassign, Delete: open their modal."""
    user, team = body["user"]["id"], team_of(body)
    if op.op in ("edit", "reassign", "delete"):
        try:
            view = (edit_form(deps, client, user, team, op.item, source_of(deps, body)) if op.op == "edit"
                    else item_form(deps, client, user, team, op, source_of(deps, body)))
        except DomainError as error:
            tell(client, body, f":warning: {error}")
            return
        open_modal(client, body, view)
        return
    now = utcnow()
    try:
        with deps.session() as session:
            item = service.get_item(session, op.item, team)
            if op.op == "done":
                changed = service.mark_done(session, item, user, now)
            elif op.op == "reopen":
                changed = service.reopen(session, item, user)
            else:
                service.snooze(session, item, user, int(op.op.removeprefix("snooze")), now)
                changed = True
            line = views.line_from_item(item, service.owner_today(session, item.owner_id, now))
            milestone_id, rewrites = item.milestone_id, audit.owed(session)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    except SQLAlchemyError as error:
        log.exception("changing action item %s failed", op.item)
        tell(client, body, f":x: {save_failed(error, kept='The item is as it was')}")
        return
    if not changed:
        state = "already closed" if op.op == "done" else "already open"
        tell(client, body, f"That action item was {state}; nothing changed.")
        return
    outbox.deliver(deps, client, rewrites)
    refresh_clicked(deps, client, body, op.where, line, milestone_id)


def refresh_clicked(deps: Deps, client: WebClient, body: dict[str, Any], where: str, line: views.ItemLine,
                    milestone_id: int) -> None:
    """Every message naming the item, then the surface clicked in (Home, the list, or a message of ours that
    the outbox did not record: patched in place)."""
    shown = refresh_messages(deps, client, line.id)
    user, team = body["user"]["id"], team_of(body)
    container = body.get("container") or {}
    clicked = (container.get("channel_id"), container.get("message_ts"))
    if where == "h":
        publish_home(client, deps, user, team)
    elif where == "l" or container.get("is_ephemeral"):
        respond_list(deps, response_url_of(body), milestone_id)
    elif clicked not in shown and body.get("message"):
        blocks = views.replace_item_blocks(body["message"].get("blocks") or [], line)
        if blocks is not None:
            update_message(client, clicked[0], clicked[1], body["message"].get("text") or "Action items", blocks)


# ---- reassign and delete ----------------------------------------------------------------------------------


def item_form(deps: Deps, client: WebClient, user: str, team: str, op: views.ItemOp, source: Source) -> dict[str, Any]:
    """The reassign or delete modal, for those who may do it (checked again when it is submitted)."""
    profile = cached_profile(deps, client, user)
    with deps.session() as session:
        item = service.get_item(session, op.item, team)
        if op.op == "reassign":
            service.ensure_can_act(item, user, "reassign")
        else:
            service.ensure_can_edit_item(session, item, user, is_admin=is_admin_of(profile, team))
        return views_modals.item_form_modal(item, "reassign" if op.op == "reassign" else "delete",
                                            home=source.home, reply=source.reply, channel=source.channel)


@dataclass(frozen=True)
class _Changed:
    form: views.ItemForm
    line: views.ItemLine
    milestone_id: int
    owed: int | None = None
    shown: list[history.ShownMessage] | None = None
    rewrites: tuple[int, ...] = ()  # the report's copies (its canvas), owed a rewrite by the change


def save_item_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    user, team = body["user"]["id"], team_of(body)

    def save() -> _Changed:
        form = views.ItemForm.unpack(view.get("private_metadata"))
        if form.form == "reassign":
            return _reassign(deps, client, view, user, team, form)
        return _delete(deps, client, view, user, team, form)

    changed = submit(ack, view, save)
    if changed is None:
        return
    ack()
    form, line = changed.form, changed.line
    outbox.deliver(deps, client, changed.rewrites)
    source = Source(home=form.home, reply=form.reply, channel=form.channel)
    if form.form == "reassign":
        problem = deliver_assignment(deps, client, changed.owed)
        refresh_messages(deps, client, line.id)
        text = f"👤 Reassigned to <@{line.owner_id}>: {esc(line.description[:200])}."
        confirm(client, source, user, text + (assigned_problem(line.owner_id, problem) if problem else ""))
    else:
        note = (f"🗑️ Deleted by <@{user}>: ~{esc(line.description[:200].strip())}~ "
                f"(*{esc(line.milestone_key)}*)")
        refresh_messages(deps, client, line.id, shown=changed.shown or [], gone_note=note)
        confirm(client, source, user, note)
    refresh_source(deps, client, source, user, team, changed.milestone_id)


def _reassign(deps: Deps, client: WebClient, view: dict[str, Any], user: str, team: str,
              form: views.ItemForm) -> _Changed:
    new_owner = str(read_state(view["state"]["values"]).get("owner_id") or "")
    if not new_owner:
        raise InvalidInput({"owner_id": "Choose the person who takes it over."})
    if cached_profile(deps, client, new_owner).deleted:
        raise InvalidInput({"owner_id": f"<@{new_owner}>'s account is deactivated; choose someone else."})
    now = utcnow()
    with deps.session() as session:
        claim(session, view)
        item = service.get_item(session, form.item, team)
        if not service.reassign(session, item, user, new_owner):
            raise InvalidInput({"owner_id": f"<@{new_owner}> owns it already; choose someone else."})
        owed = service.owe_assignment(session, item, user, now, str(view.get("id") or ""))
        line = views.line_from_item(item, service.owner_today(session, item.owner_id, now))
        return _Changed(form, line, item.milestone_id, owed=owed, rewrites=tuple(audit.owed(session)))


def _delete(deps: Deps, client: WebClient, view: dict[str, Any], user: str, team: str,
            form: views.ItemForm) -> _Changed:
    reason = parse_fields([service.REASON_FIELD], read_state(view["state"]["values"])).get("reason")
    profile = cached_profile(deps, client, user)
    now = utcnow()
    with deps.session() as session:
        claim(session, view)
        item = service.get_item(session, form.item, team)
        shown = history.messages_showing(session, item.id, since=(now - REFRESH_WINDOW).date())
        line = views.line_from_item(item, service.owner_today(session, item.owner_id, now))
        milestone_id = item.milestone_id
        service.delete_item(session, item, user, is_admin=is_admin_of(profile, team), reason=str(reason or ""))
        return _Changed(form, line, milestone_id, shown=shown, rewrites=tuple(audit.owed(session)))


def add_clicked(deps: Deps, client: WebClient, body: dict[str, Any], payload: views.AddAction) -> None:
    user, team = body["user"]["id"], team_of(body)
    try:
        view = add_form(deps, client, user, team, source=source_of(deps, body), milestone_id=payload.milestone)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    open_modal(client, body, view)
