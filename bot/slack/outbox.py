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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import deliveries
from bot.deps import Deps
from bot.slack.client import without_blind_retries
from bot.slack.notifier import DeliveryError, Notifier, Posted
from bot.slack.outbox_slack import EVENT_TYPE as EVENT_TYPE
from bot.slack.outbox_slack import GATE as GATE
from bot.slack.outbox_slack import MAX_RATE_LIMITED_TRIES as MAX_RATE_LIMITED_TRIES
from bot.slack.outbox_slack import Outgoing as Outgoing
from bot.slack.outbox_slack import find_sent, send_paced
from models import Delivery, utcnow

log = logging.getLogger(__name__)

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
    "canvas_create_unconfirmed",  # bot.canvas's own: a create whose answer was lost is never repeated blindly
})


def is_permanent(code: str) -> bool:
    """One classification for every sender: permanent refusals are recorded; the rest are tried again."""
    return code in PERMANENT_ERRORS


@dataclass
class Result:
    id: int
    kind: str
    recipient_id: str
    status: str  # sent, found (already in Slack), failed, retry, skipped
    detail: str = ""


def describe(result: Result) -> str:
    """One line for a person reading `milestone-bot remind` or the clock's log."""
    return f"{result.status} {result.kind} to {result.recipient_id}" + (f": {result.detail}" if result.detail else "")


Renderer = Callable[[Session, Delivery], Outgoing | None]
AfterSend = Callable[[Session, Delivery, Posted], None]
AfterFail = Callable[[Session, Delivery, str], None]
# A kind that is not a chat message (a canvas) makes its own Web API calls: it returns where the result lives
# or raises DeliveryError, and is classified, retried and recorded like any message.
Sender = Callable[[WebClient, Outgoing], Posted]


# The action items a message names, for the reminder history (delivery_items): recorded with its outcome.
NamedItems = Callable[[Delivery], list[int]]


@dataclass
class Kind:
    render: Renderer | None = None
    on_sent: AfterSend | None = None
    on_failed: AfterFail | None = None
    send: Sender | None = None
    items: NamedItems | None = None


KINDS: dict[str, Kind] = {}


def register(kind: str, *, render: Renderer | None = None, on_sent: AfterSend | None = None,
             on_failed: AfterFail | None = None, send: Sender | None = None, items: NamedItems | None = None) -> None:
    """A feature says how to build a kind of message from the database and what to record once it is out.
    `items` names the action items a message is about (recorded when it is sent or fails for good); a kind
    without `on_sent` is recorded with its batch in a few statements, not one transaction step per row."""
    KINDS[kind] = Kind(render, on_sent, on_failed, send, items)


def outgoing_of(delivery: Delivery) -> Outgoing | None:
    """The message a row carries itself (text and blocks fixed when it was owed)."""
    payload = delivery.payload or {}
    if delivery.op is None or delivery.target is None:
        return None
    return Outgoing(delivery.op, delivery.target, payload.get("text", ""), payload.get("blocks"),
                    ts=payload.get("ts"), thread_ts=delivery.thread_ts)


# ---- sending ----------------------------------------------------------------------------------------------


# Claimed and not yet recorded, per sender: what a crash of the sweep can strand until the leases run out
# (then the next sweep takes them over, looking in Slack's history before sending again).
SWEEP_BATCH_PER_SENDER = 4
RECORD_EVERY = 1.0  # seconds: outcomes are recorded at least this often, whatever the batch


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
    """Everything still owed: never sent, or claimed by a sender that died (its lease ran out).

    A pipeline, so the senders never wait for the database: SEND_CONCURRENCY senders work through a queue
    while this thread keeps it filled, claiming in one statement as many rows as there is room for
    (processes sweeping at once take disjoint rows) and building them in one read, and records what came
    back in one transaction per batch. At most SWEEP_BATCH_PER_SENDER rows per sender are claimed and not
    yet recorded, all under one heartbeat; a crash before they are recorded is covered by the history check
    of the next attempt."""
    now = now or utcnow()
    sender = without_blind_retries(client)
    workers = max(1, deps.settings.send_concurrency)
    window = SWEEP_BATCH_PER_SENDER * workers
    results: list[Result] = []
    flying: dict[Future[_Outcome], _Built] = {}  # queued or being sent
    finished: list[_Outcome] = []  # sent, not yet recorded
    drained = False
    recorded_at = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool, \
            _Heartbeat(deps, []) as heartbeat:
        while True:
            room = window - len(flying) - len(finished)
            if not drained and room >= workers:  # room for a sender's worth at least: claim it now
                built = _claim_and_build_batch(deps, now, room)
                if not built:
                    drained = True
                else:
                    heartbeat.add([item[0].id for item in built])
                    flying.update({pool.submit(_attempt, sender, *item): item for item in built})
                    continue
            if flying:
                done, _pending = wait(flying, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
                finished += [_outcome_of(future, flying.pop(future)) for future in done]
            if finished and (len(finished) >= workers or not flying
                             or time.monotonic() - recorded_at >= RECORD_EVERY):
                results += _record_all(deps, finished, now)
                heartbeat.discard([outcome.claimed.id for outcome in finished])
                finished, recorded_at = [], time.monotonic()
                drained = False  # what was just recorded may owe more (an on_sent hook): look again
            if drained and not flying and not finished:
                break
    GATE.forget_idle()
    return results


_Built = tuple[deliveries.Claimed, Outgoing | None, tuple[str, str]]  # a claimed row, its message, (kind, recipient)


def _claim_and_build_batch(deps: Deps, now: datetime, limit: int) -> list[_Built] | None:
    """Claim up to `limit` owed rows in one statement, then build their messages in one read."""
    try:
        with deps.session() as session:
            batch = deliveries.claim_due(session, now, limit=limit)
        if not batch:
            return []
        # A renderer may note what it built on its row (kept only when built inside a claim); in this
        # read-only transaction that note is dropped, and must never be flushed: on SQLite a flush would
        # need the write lock and fail the whole batch while a writer holds it.
        with deps.read() as session, session.no_autoflush:
            rows = {row.id: row for row in session.scalars(
                select(Delivery).where(Delivery.id.in_([claimed.id for claimed in batch])))}
            return [(claimed, *_build_row(session, rows.get(claimed.id))) for claimed in batch]
    except SQLAlchemyError as error:  # claims stand; their leases run out and a later pass sends them
        log.warning("outbox: could not claim or build a batch: %s", error)
        return None


def _outcome_of(future: Future[_Outcome], built: _Built) -> _Outcome:
    error = future.exception()
    if error is None:
        return future.result()
    log.warning("outbox: sending %s failed: %r", built[0].key, error)  # e.g. the history check's connection
    return _Outcome(built[0], built[2], code=type(error).__name__)


def _deliver_one(deps: Deps, client: WebClient, delivery_id: int, now: datetime) -> Result | None:
    prepared = _claim_and_build(deps, delivery_id, now)
    if prepared is None:
        return None
    return _send_prepared(deps, client, *prepared, now)


def _send_prepared(deps: Deps, client: WebClient, claimed: deliveries.Claimed, outgoing: Outgoing | None,
                   summary: tuple[str, str], now: datetime) -> Result | None:
    with _Heartbeat(deps, [claimed.id]):
        outcome = _attempt(client, claimed, outgoing, summary)
    return _record_all(deps, [outcome], now)[0]


@dataclass
class _Outcome:
    """What one attempt came to, before it is recorded: posted (or found already posted), or refused."""

    claimed: deliveries.Claimed
    summary: tuple[str, str]
    posted: Posted | None = None
    found: bool = False
    code: str | None = None
    skipped: bool = False


def _build(session: Session, delivery_id: int) -> tuple[Outgoing | None, tuple[str, str]]:
    return _build_row(session, session.get(Delivery, delivery_id))


def _build_row(session: Session, delivery: Delivery | None) -> tuple[Outgoing | None, tuple[str, str]]:
    if delivery is None:
        return None, ("?", "?")
    kind = KINDS.get(delivery.kind, Kind())
    outgoing = kind.render(session, delivery) if kind.render else outgoing_of(delivery)
    return outgoing, (delivery.kind, delivery.recipient_id)


def _attempt(client: WebClient, claimed: deliveries.Claimed, outgoing: Outgoing | None,
             summary: tuple[str, str]) -> _Outcome:
    """The Slack side of one message, no database work: history check on a retry, then the call."""
    if outgoing is None:  # nothing to say any more (the record it was about is gone)
        return _Outcome(claimed, summary, skipped=True)
    own_sender = KINDS.get(summary[0], Kind()).send
    if claimed.takeover and outgoing.op == "post" and own_sender is None:
        found = find_sent(client, outgoing.channel, claimed.key, outgoing.thread_ts)
        if found is not None:
            return _Outcome(claimed, summary, posted=found, found=True)
    try:
        if own_sender is not None:  # not a chat message (a canvas): the kind makes its own calls
            return _Outcome(claimed, summary, posted=own_sender(client, outgoing))
        return _Outcome(claimed, summary, posted=send_paced(Notifier(client), outgoing, claimed.key))
    except DeliveryError as error:
        return _Outcome(claimed, summary, code=error.code)
    except Exception as error:  # the connection dropped after the client's retries: Slack may have it
        log.warning("outbox: sending %s failed: %r", claimed.key, error)
        return _Outcome(claimed, summary, code=type(error).__name__)


@dataclass
class _Marks:
    """What a batch's recording writes in a few statements at the end: plain sends and named items."""

    sent: list[tuple[int, str, str]] = field(default_factory=list)
    named: dict[int, list[int]] = field(default_factory=dict)


def _apply(session: Session, outcome: _Outcome, now: datetime, marks: _Marks, delivery: Delivery | None) -> Result:
    """Record one outcome in the caller's transaction, with the kind's after-send or after-fail hook."""
    delivery_id, summary = outcome.claimed.id, outcome.summary
    if delivery is None:
        return Result(delivery_id, *summary, "skipped")
    kind = KINDS.get(delivery.kind, Kind())
    if outcome.skipped:
        deliveries.mark_failed(session, delivery_id, "nothing to send")
        return Result(delivery_id, *summary, "skipped")
    if outcome.posted is not None:
        if kind.items:
            marks.named[delivery_id] = kind.items(delivery)
        if kind.on_sent:  # the hook sees the row as sent
            deliveries.mark_sent(session, delivery_id, channel=outcome.posted.channel, ts=outcome.posted.ts, now=now)
            kind.on_sent(session, delivery, outcome.posted)
        else:
            marks.sent.append((delivery_id, outcome.posted.channel, outcome.posted.ts))
        return Result(delivery_id, *summary, "found" if outcome.found else "sent",
                      "already in Slack; not sent again" if outcome.found else "")
    code = outcome.code or "unknown"
    if is_permanent(code) or delivery.attempts >= deliveries.MAX_ATTEMPTS:
        deliveries.mark_failed(session, delivery_id, code)
        if kind.items:
            marks.named[delivery_id] = kind.items(delivery)
        if kind.on_failed:
            kind.on_failed(session, delivery, code)
        return Result(delivery_id, *summary, "failed", code)
    deliveries.release(session, delivery_id, code, now)
    return Result(delivery_id, *summary, "retry", code)


def _record_all(deps: Deps, outcomes: list[_Outcome], now: datetime, tries: int = 5) -> list[Result]:
    """Record a batch of outcomes in one transaction (its rows read in one query, plain sends and named items
    written in one statement each); it must survive a passing lock. Until it is recorded the claims' leases
    stand, and a later attempt finds the messages in the history instead of resending."""
    for attempt in range(tries):
        try:
            with deps.session() as session:
                ids = [outcome.claimed.id for outcome in outcomes]
                rows = {row.id: row for row in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
                marks = _Marks()
                results = [_apply(session, outcome, now, marks, rows.get(outcome.claimed.id)) for outcome in outcomes]
                deliveries.mark_sent_many(session, marks.sent, now)
                deliveries.record_items(session, marks.named)
                return results
        except SQLAlchemyError as error:
            log.warning("outbox: recording %d outcome(s) (try %d): %s", len(outcomes), attempt + 1, error)
            time.sleep(0.2 * (attempt + 1))
    return [Result(o.claimed.id, *o.summary, "retry", "not recorded") for o in outcomes]


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
                return (claimed, *_build(session, delivery_id))
        except SQLAlchemyError as error:
            log.warning("outbox: could not claim %s (try %d): %s", delivery_id, attempt + 1, error)
            time.sleep(0.1 * (attempt + 1))
    return None


class _Heartbeat:
    """Extends the claims' leases while their sends are in progress (a 429 storm can outlast one lease);
    the sweep adds rows as it claims them and drops them once recorded."""

    def __init__(self, deps: Deps, delivery_ids: Iterable[int]) -> None:
        self.deps = deps
        self._ids = set(delivery_ids)
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def add(self, delivery_ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(delivery_ids)

    def discard(self, delivery_ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.difference_update(delivery_ids)

    def __enter__(self) -> _Heartbeat:
        interval = deliveries.LEASE.total_seconds() / 3
        thread = threading.Thread(target=self._beat, args=(interval,), daemon=True)
        thread.start()
        return self

    def _beat(self, interval: float) -> None:
        while not self.stop.wait(interval):
            with self._lock:
                ids = sorted(self._ids)
            if not ids:
                continue
            try:
                with self.deps.session() as session:
                    deliveries.extend(session, ids, utcnow())
            except SQLAlchemyError as error:
                log.warning("outbox: heartbeat for %d claim(s) failed: %s", len(ids), error)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
