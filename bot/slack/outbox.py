"""The one send-once path: every message a change owes goes out exactly once, even across crashes.

A transaction that changes state records the messages it owes (bot.core.deliveries.owe). After its commit,
the request calls `deliver()` with their ids, so people see them at once; the clock's sweep (`sweep()`,
every minute) sends whatever is still pending or whose sender died. Sending a message:

1. claim it (compare-and-set, a 60-second lease that a heartbeat thread keeps extending while we work);
2. build it: the row's own text and blocks, or a renderer registered for its kind that reads the current
   state (a status message edited in place shows the latest state, not the one at enqueue time);
3. if an earlier claim expired, look for the message's key in the conversation's recent history first:
   every message carries its key in Slack message `metadata`, so a message Slack accepted just before a
   crash is found and recorded instead of sent twice;
4. send outside any transaction, then mark it sent (and run the kind's `on_sent`, e.g. remember a DM's ts),
   failed for good (Slack's permanent errors, or after MAX_ATTEMPTS), or released for the next sweep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import deliveries
from bot.deps import Deps
from bot.slack.client import without_blind_retries
from bot.slack.notifier import DeliveryError, Notifier, Posted
from bot.slack.pacing import SendGate
from models import Delivery, utcnow

log = logging.getLogger(__name__)

EVENT_TYPE = "milestone_bot_outbox"
HISTORY_LOOKBACK = 100  # messages of the target conversation searched for a key before a re-send
# Slack's answers that will not change by trying again.
PERMANENT_ERRORS = frozenset({
    "user_not_found", "account_inactive", "user_disabled", "channel_not_found", "not_in_channel", "is_archived",
    "cannot_dm_bot", "invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "msg_too_long", "no_text",
    "restricted_action", "no_permission", "team_access_not_granted", "message_not_found", "cant_update_message",
    "edit_window_closed", "invalid_arguments", "missing_scope", "not_authed", "invalid_auth", "token_revoked",
    # canvases (bot.canvas): refusals that another try of the same call cannot change
    "canvas_too_large", "canvas_not_found", "free_teams_cannot_create_standalone_canvases",
    "free_teams_cannot_edit_standalone_canvases", "free_team_canvas_tab_already_exists",
    "channel_canvas_already_exists", "canvas_disabled", "invalid_parameters",
})


def is_permanent(code: str) -> bool:
    """One classification for every sender: permanent refusals are recorded; the rest are tried again."""
    return code in PERMANENT_ERRORS


@dataclass
class Outgoing:
    """One Web API call: `post` to a channel or a user id (their DM), or `update` a message in place."""

    op: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    ts: str | None = None
    thread_ts: str | None = None
    data: dict[str, Any] | None = None  # what a kind with its own sender needs (a canvas's Markdown and id)


@dataclass
class Result:
    id: int
    kind: str
    recipient_id: str
    status: str  # sent, found (already in Slack), failed, retry, skipped
    detail: str = ""


Renderer = Callable[[Session, Delivery], Outgoing | None]
AfterSend = Callable[[Session, Delivery, Posted], None]
AfterFail = Callable[[Session, Delivery, str], None]
# A kind that is not a chat message (a canvas) makes its own Web API calls: it returns where the result lives
# or raises DeliveryError, and is classified, retried and recorded like any message.
Sender = Callable[[WebClient, Outgoing], Posted]


@dataclass
class Kind:
    render: Renderer | None = None
    on_sent: AfterSend | None = None
    on_failed: AfterFail | None = None
    send: Sender | None = None


KINDS: dict[str, Kind] = {}


def register(kind: str, *, render: Renderer | None = None, on_sent: AfterSend | None = None,
             on_failed: AfterFail | None = None, send: Sender | None = None) -> None:
    """A feature says how to build a kind of message from the database and what to record once it is out."""
    KINDS[kind] = Kind(render, on_sent, on_failed, send)


def outgoing_of(delivery: Delivery) -> Outgoing | None:
    """The message a row carries itself (text and blocks fixed when it was owed)."""
    payload = delivery.payload or {}
    if delivery.op is None or delivery.target is None:
        return None
    return Outgoing(delivery.op, delivery.target, payload.get("text", ""), payload.get("blocks"),
                    ts=payload.get("ts"), thread_ts=delivery.thread_ts)


# ---- sending ----------------------------------------------------------------------------------------------


# One gate per process: every sender thread of the web process or the clock shares Slack's limits.
GATE = SendGate()
MAX_RATE_LIMITED_TRIES = 6


def deliver(deps: Deps, client: WebClient, ids: Iterable[int | None], now: datetime | None = None) -> list[Result]:
    """Send these owed messages now (after the commit that owed them); what cannot go now waits for the sweep.

    Up to SEND_CONCURRENCY messages go at once, paced by GATE (one a second per conversation; a 429 pauses
    every sender of that method)."""
    todo = [i for i in ids if i is not None]
    moment = now or utcnow()
    sender = without_blind_retries(client)
    workers = min(deps.settings.send_concurrency, len(todo))
    if workers <= 1:
        found = [_deliver_one(deps, sender, i, moment) for i in todo]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool:
            found = list(pool.map(lambda i: _deliver_one(deps, sender, i, moment), todo))
    GATE.forget_idle()
    return [r for r in found if r is not None]


def sweep(deps: Deps, client: WebClient, now: datetime | None = None) -> list[Result]:
    """Everything still owed: never sent, or claimed by a sender that died (its lease ran out)."""
    now = now or utcnow()
    with deps.read() as session:
        ids = deliveries.due_ids(session, now)
    return deliver(deps, client, ids, now)


def _deliver_one(deps: Deps, client: WebClient, delivery_id: int, now: datetime) -> Result | None:
    prepared = _claim_and_build(deps, delivery_id, now)
    if prepared is None:
        return None
    claimed, outgoing, summary = prepared
    own_sender = KINDS.get(summary[0], Kind()).send
    if outgoing is None:  # nothing to say any more (the record it was about is gone)
        _record(deps, delivery_id, lambda s, d: deliveries.mark_failed(s, d.id, "nothing to send"))
        return Result(delivery_id, *summary, "skipped")
    with _Heartbeat(deps, delivery_id):
        if claimed.takeover and outgoing.op == "post" and own_sender is None:
            found = _find_sent(client, outgoing.channel, claimed.key)
            if found is not None:
                _mark_sent(deps, delivery_id, found, now)
                return Result(delivery_id, *summary, "found", "already in Slack; not sent again")
        try:
            posted = own_sender(client, outgoing) if own_sender else _send(Notifier(client), outgoing, claimed.key)
        except DeliveryError as error:
            return _failed(deps, delivery_id, summary, error.code, now)
        except Exception as error:  # the connection dropped after the client's retries: Slack may have it
            log.warning("outbox: sending %s failed: %r", claimed.key, error)
            return _failed(deps, delivery_id, summary, type(error).__name__, now)
    _mark_sent(deps, delivery_id, posted, now)
    return Result(delivery_id, *summary, "sent")


def _claim_and_build(
    deps: Deps, delivery_id: int, now: datetime, tries: int = 4
) -> tuple[deliveries.Claimed, Outgoing | None, tuple[str, str]] | None:
    """Claim the row and build its message in one short transaction; a passing lock is waited out."""
    for attempt in range(tries):
        try:
            with deps.session() as session:
                claimed = deliveries.claim(session, delivery_id, now)
                if claimed is None:
                    return None
                delivery = session.get(Delivery, delivery_id)
                assert delivery is not None
                kind = KINDS.get(delivery.kind, Kind())
                outgoing = kind.render(session, delivery) if kind.render else outgoing_of(delivery)
                return claimed, outgoing, (delivery.kind, delivery.recipient_id)
        except SQLAlchemyError as error:
            log.warning("outbox: could not claim %s (try %d): %s", delivery_id, attempt + 1, error)
            time.sleep(0.1 * (attempt + 1))
    return None


def _send(notifier: Notifier, outgoing: Outgoing, key: str) -> Posted:
    """One call within Slack's limits; a 429 pauses every sender of the method, then this one tries again."""
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
    method = "chat.update" if outgoing.op == "update" else "chat.postMessage"
    for attempt in range(MAX_RATE_LIMITED_TRIES):
        GATE.wait(method, outgoing.channel if outgoing.op == "post" else None)
        try:
            if outgoing.op == "update":
                assert outgoing.ts is not None
                return notifier.update(outgoing.channel, outgoing.ts, outgoing.text, outgoing.blocks,
                                       metadata=metadata)
            return notifier.post(outgoing.channel, outgoing.text, outgoing.blocks, thread_ts=outgoing.thread_ts,
                                 metadata=metadata)
        except DeliveryError as error:
            if error.retry_after is None or attempt == MAX_RATE_LIMITED_TRIES - 1:
                raise
            GATE.pause(method, error.retry_after)
    raise AssertionError("unreachable")


def _find_sent(client: WebClient, channel: str, key: str) -> Posted | None:
    """The message with this key, if Slack already has it (a sender died between Slack's answer and our mark)."""
    try:
        if channel.startswith(("U", "W")):
            channel = client.conversations_open(users=channel)["channel"]["id"]
        history = client.conversations_history(channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True)
    except SlackApiError as error:
        log.warning("outbox: could not read the history of %s: %s", channel, error.response.get("error"))
        return None
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
            return Posted(channel, message["ts"])
    return None


def _failed(deps: Deps, delivery_id: int, summary: tuple[str, str], code: str, now: datetime) -> Result:
    def record(session: Session, delivery: Delivery) -> None:
        if is_permanent(code) or delivery.attempts >= deliveries.MAX_ATTEMPTS:
            deliveries.mark_failed(session, delivery.id, code)
            kind = KINDS.get(delivery.kind)
            if kind and kind.on_failed:
                kind.on_failed(session, delivery, code)
        else:
            deliveries.release(session, delivery.id, code, now)

    status = _record(deps, delivery_id, record)
    return Result(delivery_id, *summary, status, code)


def _mark_sent(deps: Deps, delivery_id: int, posted: Posted, now: datetime) -> None:
    def record(session: Session, delivery: Delivery) -> None:
        deliveries.mark_sent(session, delivery.id, channel=posted.channel, ts=posted.ts, now=now)
        kind = KINDS.get(delivery.kind)
        if kind and kind.on_sent:
            kind.on_sent(session, delivery, posted)

    _record(deps, delivery_id, record)


def _record(deps: Deps, delivery_id: int, work: Callable[[Session, Delivery], None], tries: int = 5) -> str:
    """The message is out (or refused): recording it must survive a passing lock. Until it is recorded the
    lease stands, and a later sender finds the message in the history instead of sending it again."""
    for attempt in range(tries):
        try:
            with deps.session() as session:
                delivery = session.get(Delivery, delivery_id)
                if delivery is None:
                    return "skipped"
                work(session, delivery)
                return {"sent": "sent", "failed": "failed"}.get(delivery.status, "retry")
        except SQLAlchemyError as error:
            log.warning("outbox: recording %s (try %d): %s", delivery_id, attempt + 1, error)
            time.sleep(0.2 * (attempt + 1))
    return "retry"


@dataclass
class _Heartbeat:
    """Extends the claim's lease while a send is in progress (a 429 storm can outlast one lease)."""

    deps: Deps
    delivery_id: int
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> _Heartbeat:
        interval = deliveries.LEASE.total_seconds() / 3
        thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
        thread.start()
        return self

    def _beat(self, interval: float) -> None:
        while not self.stop.wait(interval):
            try:
                with self.deps.session() as session:
                    deliveries.extend(session, [self.delivery_id], utcnow())
            except SQLAlchemyError as error:
                log.warning("outbox: heartbeat for %s failed: %s", self.delivery_id, error)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
