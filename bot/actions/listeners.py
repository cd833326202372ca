"""Action items: `/milestone action add`, `/milestone actions`, the add/edit modal, and the item buttons
(Done, Snooze, Reassign, Edit) on every message, list and Home tab that shows items.

After a change, every recent bot message that names the item (digests, escalations, summaries and
assignment DMs: the `deliveries` rows) is re-rendered in place, as is the list or Home tab clicked in.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions import service, views
from bot.actions.reminders import Failure
from bot.core import deliveries
from bot.core.access import ensure_can_edit, get_by_key
from bot.core.errors import DomainError, InvalidInput, NotFound
from bot.core.fields import parse_fields
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.slack import outbox
from bot.slack.forms import read_state
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import load_milestone
from bot.slack.replies import save_failed, tell
from bot.slack.router import CommandContext
from bot.slack.text import esc
from bot.slack.users import get_profile, is_admin_of
from models import ActionItem, Horizon, Milestone, utcnow

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(days=14)  # older messages that named an item are left as they were
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
        "action", lambda ctx: _command_action(deps, ctx),
        summary="Add a post-milestone action item or technical debt (opens a form)",
        usages=[("action add <ID> [week1|month1|quarter|debt]", "action add M-042 debt")], order=60,
    )
    deps.router.add(
        "actions", lambda ctx: _command_actions(deps, ctx),
        summary="List a milestone's action items with status and overdue marks (only you see it)",
        usages=[("actions <ID>", "actions M-042")], order=61,
    )
    deps.home_sections.append(lambda session, user_id, team_id: _home_section(session, user_id, team_id))

    @app.action(views.ACTION_ADD)
    def add_clicked(ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
        ack()
        user, team = body["user"]["id"], _team(body)
        try:
            with deps.session() as session:
                milestone = load_milestone(session, team, action.get("value"))
                view = _add_modal(session, client, milestone, user, None, _source(body, milestone.id))
        except DomainError as error:
            tell(client, body, f":warning: {error}")
            return
        _open(client, body, view)

    @app.action(views.ACTION_DONE)
    @app.action(views.ACTION_SNOOZE)
    @app.action(views.ACTION_REASSIGN)
    def item_clicked(ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
        ack()
        _item_action(deps, body, client, action)

    @app.action(views.ACTION_EDIT)
    def edit_clicked(ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
        ack()
        user, team = body["user"]["id"], _team(body)
        item_id, _where = _item_ref(action)
        try:
            with deps.session() as session:
                item = service.get_item(session, item_id, team)
                profile = get_profile(session, client, user)
                service.ensure_can_edit_item(session, item, user, is_admin=is_admin_of(profile, team))
                today = local_date(utcnow(), profile.tz)
                view = views.action_modal(item.milestone, suggested=service.suggestions(item.milestone, today),
                                          item=item, source=_source(body, item.milestone_id))
        except DomainError as error:
            tell(client, body, f":warning: {error}")
            return
        _open(client, body, view)

    @app.view(views.CALLBACK_ADD)
    @app.view(views.CALLBACK_EDIT)
    def submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        _submit(deps, ack, body, client, view)


# ---- commands -------------------------------------------------------------------------------------------


def _command_action(deps: Deps, ctx: CommandContext) -> None:
    args = ctx.args
    verb = args[0].lower() if args else ""
    if verb in ("list", "ls"):
        ctx.args = args[1:]
        _command_actions(deps, ctx)
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
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, args[1])
        view = _add_modal(session, ctx.client, milestone, ctx.user_id, horizon, {"ch": ctx.channel_id})
    ctx.ack_now()
    try:
        ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        ctx.reply(":warning: Slack did not let me open the form in time. Please run the command again.")


def _command_actions(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply(USAGE)
        return
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, ctx.args[0])
        text, blocks = _list(session, milestone, utcnow())
    ctx.reply(text, blocks)


def _add_modal(
    session: Session, client: WebClient, milestone: Milestone, user: str, horizon: str | None, source: dict[str, Any]
) -> dict[str, Any]:
    profile = get_profile(session, client, user)
    ensure_can_edit(session, milestone, user, is_admin=is_admin_of(profile, milestone.team_id))
    today = local_date(utcnow(), profile.tz)
    return views.action_modal(milestone, suggested=service.suggestions(milestone, today), horizon=horizon,
                              source=source)


def _list(session: Session, milestone: Milestone, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    items = service.items_for_milestone(session, milestone.id)
    return views.list_message(milestone, _lines(session, items, now))


def _lines(session: Session, items: list[ActionItem], now: datetime) -> list[views.ItemLine]:
    zones = service.profile_zones(session, {item.owner_id for item in items})
    return [views.line_from_item(item, local_date(now, zones.get(item.owner_id))) for item in items]


def _home_section(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    items = service.open_items_for_owner(session, user_id, team_id)
    return views.home_blocks(_lines(session, items, utcnow()))


# ---- the modal ------------------------------------------------------------------------------------------


def _submit(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    user, team = body["user"]["id"], _team(body)
    meta = json.loads(view.get("private_metadata") or "{}")
    now = utcnow()
    try:
        values = parse_fields(service.action_fields(), read_state(view["state"]["values"]))
        with deps.session() as session:
            milestone = session.get(Milestone, int(meta.get("m") or 0))
            if milestone is None or milestone.team_id != team:
                raise NotFound("This milestone no longer exists.")
            profile = get_profile(session, client, user)
            owner = get_profile(session, client, str(values["owner_id"]))
            if owner.deleted:
                raise InvalidInput({"owner_id": "That account is deactivated. Choose someone who can act on it."})
            today = local_date(now, profile.tz)
            if meta.get("i"):
                item = service.get_item(session, meta["i"], team)
                before = item.owner_id
                service.update_item(session, item, values, user, today=today, is_admin=is_admin_of(profile, team))
                newly_assigned = item.owner_id != before
            else:
                created = service.create_item(session, milestone, values, user, submission_key=view["id"],
                                              today=today, is_admin=is_admin_of(profile, team))
                if created is None:  # the same submission again (double click, Slack retry): already saved
                    ack()
                    return
                item, newly_assigned = created, True
            item_id, owner_id = item.id, item.owner_id
            due = f", due {views.day_label(item.due_date)}" if item.due_date else ""
            confirmation = (f"✅ {'Saved' if meta.get('i') else 'Added'} action item on *{esc(milestone.key)}*: "
                            f"{esc(item.description[:200])} — owner <@{owner_id}>{due}.")
    except InvalidInput as error:
        ack(response_action="errors", errors=error.errors)
        return
    except DomainError as error:
        ack(response_action="errors", errors={"description": str(error)})
        return
    except SQLAlchemyError as error:
        log.exception("saving an action item failed")
        ack(response_action="errors", errors={"description": save_failed(error)})
        return
    ack()
    source = meta.get("src") or {}
    problem = None
    if newly_assigned and owner_id != user:
        problem = _notify_assignee(deps, client, item_id, user, f"v{view['id']}")
    if meta.get("i"):
        _refresh_messages(deps, client, item_id)
    _refresh_source(deps, client, source, user, team)
    if problem:
        confirmation += f"\n:warning: I could not DM <@{owner_id}> about it (`{esc(problem)}`); please tell them."
    if source.get("ch"):
        try:
            Notifier(client).ephemeral(source["ch"], user, confirmation)
        except DeliveryError as error:
            log.info("confirmation not shown: %s", error.code)


def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        tell(client, body, ":warning: Slack did not let me open the form in time. Please click again.")


# ---- the item buttons -----------------------------------------------------------------------------------


def _item_action(deps: Deps, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    user, team = body["user"]["id"], _team(body)
    item_id, where = _item_ref(action)
    action_id = action["action_id"]
    now = utcnow()
    reassigned = False
    try:
        with deps.session() as session:
            item = service.get_item(session, item_id, team)
            unchanged = action_id == views.ACTION_DONE and not service.mark_done(session, item, user, now)
            if action_id == views.ACTION_SNOOZE:
                days = int((action.get("selected_option") or {}).get("value") or 0)
                service.snooze(session, item, user, days, now)
            elif action_id == views.ACTION_REASSIGN:
                new_owner = str(action.get("selected_user") or "")
                service.ensure_can_act(item, user, "reassign")
                if new_owner and get_profile(session, client, new_owner).deleted:
                    raise InvalidInput({"owner_id": f"<@{new_owner}>'s account is deactivated; choose someone else."})
                reassigned = service.reassign(session, item, user, new_owner)
            line = views.line_from_item(item, service.owner_today(session, item.owner_id, now))
            milestone_id = item.milestone_id
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    except SQLAlchemyError as error:
        log.exception("changing action item %s failed", item_id)
        tell(client, body, f":x: {save_failed(error, kept='The item is as it was')}")
        return
    if unchanged:
        tell(client, body, "That action item was already closed; nothing changed.")
        return
    shown = _refresh_messages(deps, client, item_id)
    container = body.get("container") or {}
    clicked = (container.get("channel_id"), container.get("message_ts"))
    if container.get("type") == "view":
        publish_home(client, deps, user, team)
    elif container.get("is_ephemeral") or where.startswith("l"):
        _respond_list(deps, body.get("response_url"), milestone_id)
    elif clicked not in shown and body.get("message"):
        blocks = views.replace_item_blocks(body["message"].get("blocks") or [], line, force_owner=reassigned)
        if blocks is not None:
            _update(client, clicked[0], clicked[1], body["message"].get("text") or "Action items", blocks)
    if reassigned:
        problem = _notify_assignee(deps, client, int(item_id), user, f"a{action.get('action_ts', '')}")
        if problem:
            tell(client, body, f":warning: Reassigned, but I could not DM <@{line.owner_id}> (`{esc(problem)}`).")


def _item_ref(action: dict[str, Any]) -> tuple[str, str]:
    """(item id, where) from the actions block id `aa:<id>:<where>`; a button's value also holds the id."""
    parts = str(action.get("block_id") or "").split(":")
    if len(parts) == 3 and parts[0] == "aa":
        return parts[1], parts[2]
    return str(action.get("value") or ""), "m"


# ---- keeping messages current ---------------------------------------------------------------------------


def _notify_assignee(deps: Deps, client: WebClient, item_id: int, assigner: str, key: str) -> str | None:
    """DM the new owner once (owed in the outbox, so a retried request cannot DM twice).
    Returns Slack's error code when the DM could not be delivered."""
    now = utcnow()
    with deps.session() as session:
        item = session.get(ActionItem, item_id)
        if item is None:
            return None
        today = service.owner_today(session, item.owner_id, now)
        text, blocks = views.assignment_message(views.line_from_item(item, today), assigner)
        delivery_id = deliveries.owe(
            session, kind=service.KIND_ASSIGNED, recipient_id=item.owner_id, subject=f"item:{item_id}:{key}",
            local_date=today, now=now, op="post", target=item.owner_id, team_id=item.milestone.team_id,
            payload={"text": text, "blocks": blocks, "item_ids": [item_id]}, detail={"assigner": assigner},
        )
    failed = [r for r in outbox.deliver(deps, client, [delivery_id], now) if r.status == "failed"]
    return failed[0].detail if failed else None


def _refresh_messages(deps: Deps, client: WebClient, item_id: int | str) -> set[tuple[str, str]]:
    """Re-render every recent bot message naming the item; returns the (channel, ts) it updated."""
    now = utcnow()
    rendered: list[tuple[str, str, str, list[dict[str, Any]]]] = []
    with deps.session() as session:
        shown = service.messages_showing(session, int(item_id), since=(now - REFRESH_WINDOW).date())
        items = service.items_by_id(session, {i for message in shown for i in message.item_ids})
        zones = service.profile_zones(session, {item.owner_id for item in items.values()})
        for message in shown:
            lines = [views.line_from_item(items[i], local_date(now, zones.get(items[i].owner_id)))
                     for i in message.item_ids if i in items]
            if not lines:
                continue
            lines.sort(key=lambda line: (line.due_date or date.max, line.id))
            detail = message.detail or {}
            if message.kind == service.KIND_DIGEST:
                text, blocks = views.digest_message(lines)
            elif message.kind == service.KIND_ESCALATION:
                failures = [Failure(f["owner"], f["error"], date.fromisoformat(f["date"]))
                            for f in detail.get("failures", [])]
                text, blocks = views.escalation_message(lines, failures, int(detail.get("after", 0)))
            elif message.kind == service.KIND_WEEKLY:
                first = items.get(message.item_ids[0])
                key, name = (first.milestone.key, first.milestone.name) if first else ("", "")
                text, blocks = views.weekly_message(key, name, lines)
            elif message.kind == service.KIND_ASSIGNED:
                text, blocks = views.assignment_message(lines[0], str(detail.get("assigner") or ""))
            else:
                continue
            rendered.append((message.channel, message.ts, text, blocks))
    for channel, ts, text, blocks in rendered:
        _update(client, channel, ts, text, blocks)
    return {(channel, ts) for channel, ts, _, _ in rendered}


def _update(client: WebClient, channel: str | None, ts: str | None, text: str, blocks: list[dict[str, Any]]) -> None:
    if not channel or not ts:
        return
    try:
        Notifier(client).update(channel, ts, text, blocks)
    except DeliveryError as error:
        log.info("could not update message %s/%s: %s", channel, ts, error.code)


def _respond_list(deps: Deps, response_url: str | None, milestone_id: int) -> None:
    if not response_url:
        return
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None:
            return
        text, blocks = _list(session, milestone, utcnow())
    WebhookClient(response_url).send(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def _refresh_source(deps: Deps, client: WebClient, source: dict[str, Any], user: str, team: str) -> None:
    """After a modal: refresh the list or Home tab it was opened from."""
    if source.get("h"):
        publish_home(client, deps, user, team)
    elif source.get("u") and source.get("l"):
        _respond_list(deps, source["u"], int(source["l"]))


def _source(body: dict[str, Any], milestone_id: int) -> dict[str, Any]:
    """Where a modal was opened from, so saving can refresh it."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return {"h": 1}
    if container.get("is_ephemeral") and body.get("response_url"):
        return {"u": body["response_url"], "l": milestone_id, "ch": container.get("channel_id")}
    return {"ch": container.get("channel_id")} if container.get("channel_id") else {}


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")
