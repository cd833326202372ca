"""Keeping what people see current after a change to an action item: every recent bot message that names
it (digests, escalations, weekly summaries, assignment DMs: the outbox's rows) re-rendered in place, the
ephemeral list and App Home they clicked in, and the assignment DM rendered when the outbox sends it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot.actions import history, service, views
from bot.actions.reminders import Failure
from bot.assignments.service import with_milestones
from bot.assignments.views import digest_groups
from bot.core.workdays import local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.reports.links import report_url
from bot.slack import outbox
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.text import esc, truncate
from models import ActionItem, ActionStatus, AssignmentState, Delivery, Milestone, utcnow

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(days=14)  # older messages that named an item are left as they were


@dataclass(frozen=True)
class Source:
    """Where a modal was opened from, so saving can refresh it: App Home, or the ephemeral list (through a
    response_url kept server-side under `reply`), and the channel to confirm in."""

    home: bool = False
    reply: int | None = None
    channel: str | None = None


# ---- the assignment DM, rendered by the outbox when it is sent --------------------------------------------


def render_assignment(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """From the item as it is when sent: nothing when it is gone, closed, or someone else's by now."""
    ids = (delivery.payload or {}).get("item_ids") or []
    item = session.get(ActionItem, int(ids[0])) if ids else None
    if item is None or item.owner_id != delivery.recipient_id or item.status != ActionStatus.OPEN:
        return None
    today = service.owner_today(session, item.owner_id, utcnow())
    text, blocks = views.assignment_message(views.line_from_item(item, today),
                                            str((delivery.detail or {}).get("assigner") or ""))
    return outbox.Outgoing("post", delivery.target or item.owner_id, text, blocks)


def _items(delivery: Delivery) -> list[int]:
    return [int(i) for i in (delivery.payload or {}).get("item_ids") or []]


outbox.register(service.KIND_ASSIGNED, render=render_assignment, items=_items)


def deliver_assignment(deps: Deps, client: WebClient, delivery_id: int | None) -> str | None:
    """Send an owed assignment DM now; Slack's error code when it cannot be delivered for good."""
    failed = [r for r in outbox.deliver(deps, client, [delivery_id]) if r.status == "failed"]
    return failed[0].detail if failed else None


# ---- messages that name an item ----------------------------------------------------------------------------


def _render(session: Session, message: history.ShownMessage, items: dict[int, ActionItem],
            lines: list[views.ItemLine]) -> tuple[str, list[dict[str, Any]]] | None:
    detail = message.detail or {}
    if message.kind == service.KIND_DIGEST:
        return views.digest_message(lines, message.recipient_id, sections=_digest_sections(session, message))
    if message.kind == service.KIND_ESCALATION:
        failures = [Failure(f["owner"], f["error"], date.fromisoformat(f["date"])) for f in detail.get("failures", [])]
        return views.escalation_message(lines, failures, int(detail.get("after", 0)))
    if message.kind == service.KIND_WEEKLY:
        first = items.get(message.item_ids[0])
        key, name = (first.milestone.key, first.milestone.name) if first else ("", "")
        return views.weekly_message(key, name, lines)
    if message.kind == service.KIND_ASSIGNED:
        line, item = lines[0], items[lines[0].id]
        if item.owner_id != message.recipient_id:  # handed to someone else: the old DM says so, without controls
            by = service.reassigned_by(session, item)
            return views.reassigned_message(line, by)
        return views.assignment_message(line, str(detail.get("assigner") or ""))
    return None


def _digest_sections(session: Session, message: history.ShownMessage) -> list[list[dict[str, Any]]]:
    """The overdue sections a digest listed that are still asked of its recipient, as they are now."""
    found = with_milestones(session, [int(i) for i in (message.detail or {}).get("assignments") or []])
    still = [(a, m) for a, m in found.values()
             if a.state == AssignmentState.ASKED and a.assignee_id == message.recipient_id]
    return digest_groups(still, service.owner_today(session, message.recipient_id, utcnow())) if still else []


def refresh_messages(deps: Deps, client: WebClient, item_id: int, *,
                     shown: list[history.ShownMessage] | None = None,
                     gone_note: str | None = None) -> set[tuple[str, str]]:
    """Re-render every recent bot message naming the item; returns the (channel, ts) it updated. After a
    delete, pass the messages found before it (`shown`) and what to say where the item was (`gone_note`)."""
    now = utcnow()
    rendered: list[tuple[str, str, str, list[dict[str, Any]]]] = []
    with deps.session() as session:
        if shown is None:
            shown = history.messages_showing(session, item_id, since=(now - REFRESH_WINDOW).date())
        items = history.items_by_id(session, {i for message in shown for i in message.item_ids})
        zones = service.profile_zones(session, {item.owner_id for item in items.values()})
        for message in shown:
            lines = sorted((views.line_from_item(items[i], local_date(now, zones.get(items[i].owner_id)))
                            for i in message.item_ids if i in items), key=lambda line: (line.due_date or date.max,
                                                                                        line.id))
            if lines:
                content = _render(session, message, items, lines)
            elif gone_note:
                content = (gone_note, views.gone_blocks(item_id, gone_note))
            else:
                content = None
            if content is not None:
                rendered.append((message.channel, message.ts, *content))
    for channel, ts, text, blocks in rendered:
        update_message(client, channel, ts, text, blocks)
    return {(channel, ts) for channel, ts, _, _ in rendered}


def update_message(client: WebClient, channel: str | None, ts: str | None, text: str,
                   blocks: list[dict[str, Any]]) -> None:
    if not channel or not ts:
        return
    try:
        Notifier(client).update(channel, ts, text, blocks)
    except DeliveryError as error:
        log.info("could not update message %s/%s: %s", channel, ts, error.code)


# ---- the surface clicked in --------------------------------------------------------------------------------


def list_of(session: Session, milestone: Milestone) -> tuple[str, list[dict[str, Any]]]:
    items = service.items_for_milestone(session, milestone.id)
    return views.list_message(milestone, lines_of(session, items))


def lines_of(session: Session, items: list[ActionItem]) -> list[views.ItemLine]:
    now = utcnow()
    zones = service.profile_zones(session, {item.owner_id for item in items})
    return [views.line_from_item(item, local_date(now, zones.get(item.owner_id))) for item in items]


def home_section(deps: Deps, session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    """App Home: my open items, overdue first, and those I closed in the last day (to Reopen); each item's
    milestone key links to its report."""
    now = utcnow()
    open_items = service.open_items_for_owner(session, user_id, team_id)
    closed = service.closed_lately_for_owner(session, user_id, team_id, now - timedelta(days=1))
    links = {item.milestone_id: report_url(deps.settings, item.milestone_id, item.milestone.revision, now)
             for item in [*open_items, *closed]}

    def linked(items: list[ActionItem]) -> list[views.ItemLine]:
        return [replace(line, report_url=links[item.milestone_id])
                for line, item in zip(lines_of(session, items), items, strict=True)]

    return views.home_blocks(linked(open_items), closed=linked(closed))


def respond_list(deps: Deps, response_url: str | None, milestone_id: int) -> None:
    """Replace the ephemeral list clicked in with its current state."""
    if not response_url:
        return
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None:
            return
        text, blocks = list_of(session, milestone)
    WebhookClient(response_url).send(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)


def refresh_source(deps: Deps, client: WebClient, source: Source, user: str, team: str, milestone_id: int) -> None:
    """After a modal: refresh the list or Home tab it was opened from."""
    if source.home:
        publish_home(client, deps, user, team)
    elif source.reply:
        with deps.session() as session:
            url = service.reply_target(session, source.reply, user, utcnow())
        respond_list(deps, url, milestone_id)


def confirm(client: WebClient, source: Source, user: str, text: str) -> None:
    """A saved modal's confirmation, only to its author, in the channel it was opened from."""
    if not source.channel:
        return
    try:
        Notifier(client).ephemeral(source.channel, user, truncate(text, 3000))
    except DeliveryError as error:
        log.info("confirmation not shown: %s", error.code)


def assigned_problem(owner_id: str, problem: str) -> str:
    return f"\n:warning: I could not DM <@{owner_id}> about it (`{esc(problem)}`); please tell them."
