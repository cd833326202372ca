"""Scheduled job: overdue action-item digests, escalations and weekly channel summaries, each sent once.

One sweep: refresh the time zones it needs (users.info, cached a day) → select what is due
(bot.actions.reminders, a few set-based queries) → in batches: claim (INSERT … ON CONFLICT DO NOTHING) and
commit → send outside any transaction → mark sent with the message ts (or failed, or released for the next
sweep). Batches keep every claim's lease (10 minutes) far longer than the sends it covers, so an overlapping
sweep never takes over a claim that is still being worked on. A 429 is retried by the Web API client after
Retry-After; a refusal for good (user_not_found, account_inactive…) is recorded on the delivery and shown to
the milestone owner in their next escalation; a sweep that was down catches up, since keys are per local day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.actions.reminders import Due, record_items, select_due, stale_profiles
from bot.actions.service import KIND_DIGEST, KIND_ESCALATION, KIND_WEEKLY
from bot.actions.views import Block, digest_message, escalation_message, line_from_overdue, weekly_message
from bot.core import deliveries
from bot.slack.jobs import JobContext
from bot.slack.notifier import DeliveryError
from bot.slack.users import get_profile
from models import utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 50  # one commit per batch; its sends take far less than the 10-minute lease
MAX_ATTEMPTS = 5
# Slack's answers that will not change by trying again: recorded as failed and shown to the milestone owner.
PERMANENT_ERRORS = frozenset({
    "user_not_found", "account_inactive", "user_disabled", "channel_not_found", "not_in_channel", "is_archived",
    "cannot_dm_bot", "invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long",
    "restricted_action", "no_permission", "team_access_not_granted",
})


def run(ctx: JobContext) -> list[str]:
    _refresh_profiles(ctx)
    with ctx.deps.session() as session:
        due = select_due(session, ctx.now, ctx.deps.settings)
    lines: list[str] = []
    for start in range(0, len(due), CLAIM_BATCH):
        batch = due[start : start + CLAIM_BATCH]
        claimed = _claim(ctx, batch)
        if claimed is None:  # lock timeouts: another sweep is busy; the next sweep retries
            lines.append(f"skipped {len(batch)} reminders: database busy, the next sweep retries")
            continue
        claimed_at = time.monotonic()
        for n, (message, delivery_id, attempts) in enumerate(claimed):
            if time.monotonic() - claimed_at > deliveries.DEFAULT_LEASE.total_seconds() / 2:
                # Slack is slow today (429 storms): hand back what is left before another sweep could take it over.
                rest = [d for _m, d, _a in claimed[n:]]
                _with_retries(ctx, lambda s, rest=rest: [deliveries.release(s, d, "lease ran short", ctx.now)
                                                          for d in rest], "releasing")
                lines.append(f"left {len(rest)} reminders for the next sweep: sending was slow")
                break
            lines.append(_send(ctx, message, delivery_id, attempts))
    return lines


def _claim(ctx: JobContext, batch: list[Due], tries: int = 3) -> list[tuple[Due, int, int]] | None:
    """Claim a batch in one transaction (committed before anything is sent); None if the database stayed busy."""
    for attempt in range(tries):
        try:
            with ctx.deps.session() as session:
                claimed = []
                for message in batch:
                    delivery = deliveries.claim(
                        session, kind=message.kind, recipient_id=message.recipient_id, subject=message.subject,
                        local_date=message.local_date, now=ctx.now, detail=_detail(message, ctx),
                    )
                    if delivery is not None:
                        claimed.append((message, delivery.id, delivery.attempts))
            return claimed
        except SQLAlchemyError as error:
            log.warning("could not claim %d reminders (try %d): %s", len(batch), attempt + 1, error)
            time.sleep(0.2 * (attempt + 1))
    return None


def _refresh_profiles(ctx: JobContext) -> None:
    """users.info for people whose cached time zone is missing or a day old (real time: the cache's clock)."""
    with ctx.deps.session() as session:
        stale = stale_profiles(session, utcnow())
    for user_id in stale:
        try:
            with ctx.deps.session() as session:
                get_profile(session, ctx.client, user_id)
        except IntegrityError:
            pass  # another sweep cached the same person a moment ago
        except SQLAlchemyError as error:
            log.warning("could not refresh the profile of %s: %s", user_id, error)


def _detail(message: Due, ctx: JobContext) -> dict[str, Any] | None:
    if message.kind == KIND_ESCALATION:
        return {
            "after": ctx.deps.settings.escalate_after_working_days,
            "failures": [
                {"owner": f.owner_id, "error": f.error, "date": f.local_date.isoformat()}
                for f in message.failures.values()
            ],
        }
    if message.kind == KIND_WEEKLY:
        return {"milestone": message.items[0].milestone_id}
    return None


def render(message: Due, after_days: int) -> tuple[str, list[Block]]:
    lines = [line_from_overdue(item) for item in message.items]
    if message.kind == KIND_DIGEST:
        return digest_message(lines)
    if message.kind == KIND_ESCALATION:
        return escalation_message(lines, list(message.failures.values()), after_days)
    first = message.items[0]
    return weekly_message(first.milestone_key, first.milestone_name, lines)


def _describe(message: Due) -> str:
    count = f"{len(message.items)} item{'s' if len(message.items) != 1 else ''}"
    if message.kind == KIND_DIGEST:
        return f"overdue digest to {message.recipient_id} ({count}) for {message.local_date}"
    if message.kind == KIND_ESCALATION:
        unreachable = f", {len(message.failures)} unreachable owner(s)" if message.failures else ""
        return f"escalation to {message.recipient_id} ({count}{unreachable}) for {message.local_date}"
    return (f"weekly summary of {message.items[0].milestone_key} to {message.recipient_id} ({count}) "
            f"for the week of {message.local_date}")


def _send(ctx: JobContext, message: Due, delivery_id: int, attempts: int) -> str:
    describe = _describe(message)
    text, blocks = render(message, ctx.deps.settings.escalate_after_working_days)
    try:
        # Posting to a user id lands in the bot's DM with them: one Web API call per recipient.
        posted = ctx.notifier.post(message.recipient_id, text, blocks)
    except DeliveryError as error:
        return _failed(ctx, message, delivery_id, attempts, error.code, describe)
    except Exception as error:  # connection lost after the client's own retries
        log.warning("sending %s failed: %r", describe, error)
        return _failed(ctx, message, delivery_id, attempts, type(error).__name__, describe)

    def mark(session: Any) -> None:
        deliveries.mark_sent(session, delivery_id, channel=posted.channel, ts=posted.ts, now=ctx.now)
        record_items(session, delivery_id, message.item_ids)

    _with_retries(ctx, mark, f"marking {describe} sent")
    return f"sent {describe}"


def _failed(ctx: JobContext, message: Due, delivery_id: int, attempts: int, code: str, describe: str) -> str:
    if code in PERMANENT_ERRORS or attempts >= MAX_ATTEMPTS:
        log.warning("%s failed for good: %s", describe, code)

        def mark(session: Any) -> None:
            deliveries.mark_failed(session, delivery_id, code)
            record_items(session, delivery_id, message.item_ids)

        _with_retries(ctx, mark, f"marking {describe} failed")
        shown = " (shown to the milestone owner)" if message.kind == KIND_DIGEST else ""
        return f"FAILED {describe}: {code}{shown}"
    log.info("%s will be retried: %s", describe, code)
    _with_retries(ctx, lambda session: deliveries.release(session, delivery_id, code, ctx.now), "releasing")
    return f"will retry {describe}: {code}"


def _with_retries(ctx: JobContext, work: Callable[[Any], None], what: str, tries: int = 5) -> None:
    """The message is out: recording that must not be lost to a passing lock, or the lease would resend it."""
    for attempt in range(tries):
        try:
            with ctx.deps.session() as session:
                work(session)
            return
        except SQLAlchemyError as error:
            if attempt == tries - 1:
                log.error("%s: %s (the claim's lease stops a resend for 10 minutes)", what, error)
                return
            time.sleep(0.2 * (attempt + 1))

