"""Scheduled job: overdue action-item digests, escalations and weekly channel summaries, each sent once.

One sweep: refresh the time zones it needs (users.info, cached a day, outside any transaction) → select what
is due (bot.actions.reminders, a few set-based queries) → in batches, record each message in the outbox
(bot.core.deliveries.owe_many: a row unique per kind, recipient, subject and local date, one statement per
batch) with what it will say (the items as selected; the text and blocks are rendered from them when it is
sent, by the senders' pipeline, not before anything can go out) → send them through the one send-once path
(bot.slack.outbox), which marks each sent, failed for good (shown to the milestone owner in their next
escalation) or released for the next sweep. A sweep that was down catches up, since keys are per local day;
a sweep killed mid-way leaves its rows for the next one.

Each person's digest also lists the report sections they were asked for that are overdue (bot.assignments),
so a person gets one reminder a day, with Snooze and "Can't do it" beside each section.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions.reminders import Due, Failure, Held, OverdueItem, select_due, stale_profiles
from bot.actions.service import KIND_DIGEST, KIND_ESCALATION, KIND_WEEKLY
from bot.actions.views import ItemLine, digest_message, escalation_message, weekly_message
from bot.assignments.service import reminded, with_milestones
from bot.assignments.views import digest_groups
from bot.core import deliveries
from bot.slack import outbox
from bot.slack.jobs import JobContext
from bot.slack.users import refresh_profiles
from models import Delivery, UserProfile, utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 1000  # messages recorded per statement


def run(ctx: JobContext) -> list[str]:
    """Record every due reminder in the outbox (a statement per batch), then send what is owed with the
    outbox's batch sweep: a second process running at once takes disjoint batches, so both share the work."""
    _refresh_profiles(ctx)
    with ctx.deps.read() as session:
        due = select_due(session, ctx.now, ctx.deps.settings)
    lines: list[str] = []
    described: dict[int, Due] = {}
    for start in range(0, len(due), CLAIM_BATCH):
        batch = due[start : start + CLAIM_BATCH]
        owed = _owe(ctx, batch)
        if owed is None:  # lock timeouts: another sweep is busy; the next sweep retries
            lines.append(f"skipped {len(batch)} reminders: database busy, the next sweep retries")
            continue
        described.update(owed)
    for result in outbox.sweep(ctx.deps, ctx.client, ctx.now):
        message = described.get(result.id)
        lines.append(_line(result, message) if message else outbox.describe(result))
    return lines


def held(ctx: JobContext) -> list[str]:
    """What waits and why, for `milestone-bot remind`: one line per held message, then a total per reason.
    Read-only: the same selection as `run`, which has just sent whatever was due."""
    waiting: list[Held] = []
    with ctx.deps.session() as session:
        select_due(session, ctx.now, ctx.deps.settings, held=waiting)
        people = {h.recipient_id for h in waiting if h.kind != KIND_WEEKLY}
        names = dict(session.execute(select(UserProfile.user_id, UserProfile.real_name)
                                     .where(UserProfile.user_id.in_(people))).tuples().all()) if people else {}
    label = {KIND_DIGEST: "digest", KIND_ESCALATION: "escalation", KIND_WEEKLY: "weekly summary"}
    lines = []
    for message in waiting:
        if message.kind == KIND_WEEKLY:
            who = f"#{message.recipient_id} ({message.subject}, the milestone owner's time)"
        else:
            name = names.get(message.recipient_id)
            who = f"@{name} ({message.recipient_id})" if name else f"@{message.recipient_id}"
        lines.append(f"{label.get(message.kind, message.kind)} held: {who} {message.reason} ({message.detail})")
    totals = Counter(message.reason for message in waiting)
    if totals:
        lines.append("held in total: " + ", ".join(f"{count} {reason}" for reason, count in totals.most_common()))
    return lines


def _owe(ctx: JobContext, batch: list[Due], tries: int = 3) -> dict[int, Due] | None:
    """Record a batch in the outbox in one statement; already-owed messages (another sweep's) are skipped."""
    after = ctx.deps.settings.escalate_after_working_days
    messages = [
        deliveries.Owed(
            kind=message.kind, recipient_id=message.recipient_id, subject=message.subject,
            local_date=message.local_date, target=message.recipient_id,
            payload={"item_ids": message.item_ids, "lines": [_snapshot(item) for item in message.items],
                     "assignments": message.assignments},
            detail=_detail(message, after),
        )
        for message in batch
    ]
    by_key = {(m.kind, m.recipient_id, m.subject[:64], m.local_date): m for m in batch}
    for attempt in range(tries):
        try:
            with ctx.deps.session() as session:
                inserted = deliveries.owe_many(session, messages, ctx.now)
                owed = {delivery_id: by_key[key] for key, delivery_id in inserted.items()}
                for message in owed.values():  # audited with the digest that will carry it (sent exactly once)
                    if message.assignments:
                        reminded(session, message.assignments, message.local_date, "daily digest")
            return owed
        except SQLAlchemyError as error:
            log.warning("could not record %d reminders (try %d): %s", len(batch), attempt + 1, error)
            time.sleep(0.2 * (attempt + 1))
    return None


def _line(result: outbox.Result, message: Due) -> str:
    describe = _describe(message)
    if result.status in ("sent", "found"):
        return f"sent {describe}"
    if result.status == "failed":
        shown = " (shown to the milestone owner)" if message.kind == KIND_DIGEST else ""
        return f"FAILED {describe}: {result.detail}{shown}"
    return f"will retry {describe}: {result.detail}"


def items_of(delivery: Delivery) -> list[int]:
    """The action items a reminder names (the reminder history records them with its outcome)."""
    return [int(i) for i in (delivery.payload or {}).get("item_ids") or []]


def _snapshot(item: OverdueItem) -> dict[str, Any]:
    """What a reminder says about one item, as selected: its line is rendered from this when it is sent."""
    return {
        "id": item.id, "key": item.milestone_key, "name": item.milestone_name, "description": item.description,
        "owner": item.owner_id, "horizon": item.horizon, "priority": item.priority,
        "due": item.due_date.isoformat(), "today": item.owner_today.isoformat(),
        "snoozed": item.snoozed_until.isoformat() if item.snoozed_until else None,
        "overdue_days": item.working_days_overdue,
    }


def _line_of(snapshot: dict[str, Any]) -> ItemLine:
    snoozed = snapshot.get("snoozed")
    return ItemLine(
        id=int(snapshot["id"]), milestone_key=snapshot["key"], milestone_name=snapshot["name"],
        description=snapshot["description"], owner_id=snapshot["owner"], horizon=snapshot["horizon"],
        priority=snapshot.get("priority"), due_date=date.fromisoformat(snapshot["due"]),
        today=date.fromisoformat(snapshot["today"]), snoozed_until=date.fromisoformat(snoozed) if snoozed else None,
        working_days_overdue=snapshot.get("overdue_days"),
    )


def render_owed(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """The reminder's text and blocks, built by the outbox when it sends the row (from the row's snapshot; a
    digest naming sections reads them, one query)."""
    payload = delivery.payload or {}
    if "lines" not in payload:  # owed by an earlier version, with its text and blocks
        return outbox.outgoing_of(delivery)
    lines = [_line_of(snapshot) for snapshot in payload["lines"]]
    asked = [int(i) for i in payload.get("assignments") or []] if delivery.kind == KIND_DIGEST else []
    if not lines and not asked:
        return None
    detail = delivery.detail or {}
    if delivery.kind == KIND_DIGEST:  # with the overdue sections asked of the person (drawn by bot.assignments)
        found = with_milestones(session, asked) if asked else {}
        sections = digest_groups([found[i] for i in asked if i in found], delivery.local_date) if asked else []
        text, blocks = digest_message(lines, sections=sections)
    elif delivery.kind == KIND_ESCALATION:
        failures = [Failure(f["owner"], f["error"], date.fromisoformat(f["date"])) for f in detail.get("failures", [])]
        text, blocks = escalation_message(lines, failures, int(detail.get("after", 0)))
    else:
        text, blocks = weekly_message(lines[0].milestone_key, lines[0].milestone_name, lines)
    return outbox.Outgoing("post", delivery.target or delivery.recipient_id, text, blocks)


for _kind in (KIND_DIGEST, KIND_ESCALATION, KIND_WEEKLY):  # KIND_ASSIGNED: bot/actions/flows_refresh.py
    outbox.register(_kind, render=render_owed, items=items_of)


def _refresh_profiles(ctx: JobContext) -> None:
    """users.info for people whose cached time zone is missing or a day old, each outside any transaction."""
    with ctx.deps.session() as session:
        stale = stale_profiles(session, ctx.now, clock=utcnow())
    refresh_profiles(ctx.deps, ctx.client, list(stale))


def _detail(message: Due, after: int) -> dict[str, Any] | None:
    if message.kind == KIND_ESCALATION:
        return {
            "after": after,
            "failures": [
                {"owner": f.owner_id, "error": f.error, "date": f.local_date.isoformat()}
                for f in message.failures.values()
            ],
        }
    if message.kind == KIND_WEEKLY:
        return {"milestone": message.items[0].milestone_id}
    if message.assignments:  # the digest's sections, for re-rendering it in place (bot.actions.flows_refresh)
        return {"assignments": message.assignments}
    return None


def _describe(message: Due) -> str:
    count = f"{len(message.items)} item{'s' if len(message.items) != 1 else ''}"
    if message.assignments:
        count += f", {len(message.assignments)} section{'s' if len(message.assignments) != 1 else ''}"
    if message.kind == KIND_DIGEST:
        return f"overdue digest to {message.recipient_id} ({count}) for {message.local_date}"
    if message.kind == KIND_ESCALATION:
        unreachable = f", {len(message.failures)} unreachable owner(s)" if message.failures else ""
        return f"escalation to {message.recipient_id} ({count}{unreachable}) for {message.local_date}"
    return (f"weekly summary of {message.items[0].milestone_key} to {message.recipient_id} ({count}) "
            f"for the week of {message.local_date}")
