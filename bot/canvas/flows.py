"""A milestone's canvas, created and kept current through the outbox: exactly once across processes.

Every write of the canvas is an outbox row of kind `canvas_refresh` (subject `milestone:<id>`), owed by
`canvas_owed` (bot.canvas.service, re-exported here) in the transaction of the change that made the canvas
stale. Its renderer builds the canvas from the database when it is sent (reading only: the sweep builds in a
read-only transaction), so one row carries every change made while it waited: rows coalesce.

The key scheme: a row's recipient is `refresh:<n>`, where n counts the rows owed for this milestone
(`MilestoneCanvas.refreshes`). `canvas_owed` locks the milestone's canvas row first, so callers queue per
milestone; then, while a row is still pending, it only locks that row (the sender's claim waits for the
caller's commit, so the render sees the change) and owes nothing new. Otherwise it owes row n+1, due a minute
after the last write (at most one edit a minute). Two processes owing at once meet on the lock, or on the
unique key, and one row results; never two pending rows, never a second canvas: a create is only ever in the
one row in flight, and afterwards every row edits the canvas id it recorded.

Refusals: `canvas_editing_locked` and 429 are tried again (here briefly, then by the sweep); a free workspace
falls back to the channel's own canvas tab when the channel has none and only this milestone reports there;
everything else (free plan without that way out, `canvas_too_large`, a canvas deleted in Slack) is told to the
owner once per episode, in a DM through the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.canvas import service, views
from bot.canvas.sender import BUSY, CanvasPosted, send
from bot.canvas.service import KIND, SWITCH, canvas_owed, configure
from bot.core import deliveries
from bot.core.access import ensure_can_edit, get_by_key, is_editor
from bot.core.db import insert_ignore
from bot.core.errors import NotFound
from bot.deps import Deps
from bot.reports.service import load_report
from bot.signoffs import jobs as signoff_messages
from bot.slack import outbox
from bot.slack.notifier import Posted
from bot.slack.text import channel as channel_ref
from bot.slack.text import esc
from bot.slack.users import cached_profile, fetch_user, is_admin_of, store_profile
from models import Delivery, DeliveryStatus, Milestone, MilestoneCanvas, utcnow

log = logging.getLogger(__name__)

PROBLEM_KIND = "canvas_problem"  # the owner's DM about a refusal
SHARED_KIND = "canvas_shared"  # the one channel message that shares a new canvas's link
# canvas_owed lives with the domain rules (services may call it in their transactions); re-exported here.
__all__ = ["KIND", "canvas_owed", "configure", "make_or_refresh", "refresh_after_change", "request_canvas"]


def request_canvas(session: Session, milestone: Milestone, user_id: str, now: datetime) -> int | None:
    """`/milestone canvas`: the milestone gets a canvas (made once) or its canvas is rewritten now; a refusal
    that blocked refreshes is tried again."""
    insert_ignore(session, MilestoneCanvas.__table__,
                  {"milestone_id": milestone.id, "team_id": milestone.team_id, "refreshes": 0,
                   "requested_by": user_id, "created_at": now}, conflict=["milestone_id"])
    return canvas_owed(session, milestone.id, now, immediate=True)


def owed_problem_ids(session: Session, milestone_id: int) -> list[int]:
    """The owner's DMs about this milestone's canvas, its link shared and the status message's edit to show
    it, still to send (the command sends them at once)."""
    return list(session.scalars(select(Delivery.id).where(
        Delivery.kind.in_((PROBLEM_KIND, SHARED_KIND, signoff_messages.STATUS_EDIT)),
        Delivery.subject.like(f"canvas:{milestone_id}:%"),
        Delivery.status == DeliveryStatus.PENDING)))


# ---- rendering (at send time, inside the claim's transaction) -------------------------------------------


def _definite(error: str | None) -> bool:
    """An earlier attempt that Slack answered (a snake_case code such as `ratelimited`) or that never called
    Slack (BUSY): trying again cannot make a second canvas. None (the sender died) or an exception's name (the
    connection dropped) may have made one."""
    return error is not None and error != "" and error == error.lower()


def render(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    milestone_id = int(delivery.subject.split(":", 1)[1])
    canvas = session.scalar(select(MilestoneCanvas).where(MilestoneCanvas.milestone_id == milestone_id))
    milestone = session.get(Milestone, milestone_id)
    if canvas is None or milestone is None:
        return None
    now = utcnow()
    busy = session.scalar(select(Delivery.id).where(  # an older write still in flight goes first
        Delivery.kind == KIND, Delivery.subject == delivery.subject, Delivery.id < delivery.id,
        Delivery.status == DeliveryStatus.CLAIMED, Delivery.lease_until >= now).limit(1))
    if busy is not None:  # another write of this canvas is in flight (it may be the create): wait for it
        return outbox.Outgoing("canvas", canvas.channel_id or "", "", data={"action": "busy"})
    if canvas.canvas_id is None and delivery.attempts > 1 and not _definite(delivery.error):
        # An earlier create may have reached Slack (its sender died, or the answer was lost), and no API finds
        # a canvas we made: rather than risk a second canvas, stop and ask the owner (on_failed, once).
        return outbox.Outgoing("canvas", canvas.channel_id or "", "", data={"action": "unsure"})
    fingerprint = service.fingerprints(session, [milestone_id], now.date())[milestone_id]
    report = load_report(session, milestone_id, now=now)
    markdown = service.canvas_markdown(report)
    digest = service.content_hash(markdown)
    channel = milestone.report_channel_id
    if canvas.canvas_id is None:
        action = "create"
    elif digest == canvas.content_hash:
        action = "unchanged"  # nothing the canvas shows has changed: no edit
    else:
        action = "edit"
    tab_ok = bool(channel) and service.milestones_reporting_to(session, milestone.team_id, channel or "") <= 1
    data = {"action": action, "milestone_id": milestone_id, "canvas_id": canvas.canvas_id,
            "title": service.canvas_title(milestone.key, milestone.name), "markdown": markdown,
            "content_hash": digest, "fingerprint": fingerprint, "revision": report.revision,
            "channel": channel, "tab_ok": tab_ok, "placement": canvas.placement, "shared_with": canvas.channel_id}
    return outbox.Outgoing("canvas", channel or "", "", data=data)


# ---- recording ----------------------------------------------------------------------------------------------


def on_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    if not isinstance(posted, CanvasPosted) or posted.data is None:
        return
    data = posted.data
    canvas = session.scalar(select(MilestoneCanvas).where(MilestoneCanvas.milestone_id == data["milestone_id"]))
    milestone = session.get(Milestone, data["milestone_id"])
    if canvas is None or milestone is None:
        return
    now = utcnow()
    newly_shared = canvas.canvas_id is None or (canvas.channel_id != data.get("channel") and not posted.warning
                                                 and posted.placement == service.PLACEMENT_STANDALONE)
    canvas.canvas_id, canvas.placement = posted.ts, posted.placement or canvas.placement
    if not posted.warning:
        canvas.channel_id = data.get("channel")
    canvas.fingerprint, canvas.content_hash = data["fingerprint"], data["content_hash"]
    canvas.revision = data["revision"]
    if data["action"] != "unchanged":
        canvas.refreshed_at = now
    canvas.problem = None
    if posted.warning:
        _tell_owner(session, milestone, canvas, f"access_{posted.warning}", now)
    if newly_shared and canvas.channel_id:
        _share(session, milestone, canvas, now)
    if data["action"] == "create" and milestone.signoff_status_ts and milestone.signoff_status_channel:
        # The sign-off status message links to the canvas: edit it in place to show the new link.
        deliveries.owe(session, kind=signoff_messages.STATUS_EDIT, recipient_id=milestone.signoff_status_channel,
                       subject=f"canvas:{milestone.id}:{canvas.canvas_id}:status", local_date=now.date(), now=now,
                       op="update", target=milestone.signoff_status_channel, payload={"milestone": milestone.id},
                       team_id=milestone.team_id)


def on_failed(session: Session, delivery: Delivery, code: str) -> None:
    milestone_id = int(delivery.subject.split(":", 1)[1])
    canvas = session.scalar(select(MilestoneCanvas).where(MilestoneCanvas.milestone_id == milestone_id))
    milestone = session.get(Milestone, milestone_id)
    if canvas is None or milestone is None:
        return
    if code == BUSY:
        return  # the write in flight carries the latest state or the clock's catch-up owes another
    # The clock's catch-up tries again after the next change, not at every sweep for the same state.
    canvas.fingerprint = service.fingerprints(session, [milestone_id], utcnow().date())[milestone_id]
    if code == "canvas_not_found":
        canvas.canvas_id = canvas.content_hash = None  # deleted in Slack: the next request makes a new one
    _tell_owner(session, milestone, canvas, code, utcnow())


def _tell_owner(session: Session, milestone: Milestone, canvas: MilestoneCanvas, code: str, now: datetime) -> None:
    """Once per episode: the owner hears of a refusal the first time it happens after a success."""
    if canvas.problem == code:
        return
    canvas.problem = code
    tab_taken = bool(milestone.report_channel_id) and service.milestones_reporting_to(
        session, milestone.team_id, milestone.report_channel_id or "") > 1
    text, blocks = views.problem_dm(milestone.key, milestone.name, code, milestone.report_channel_id, tab_taken)
    deliveries.owe(session, kind=PROBLEM_KIND, recipient_id=milestone.owner_id,
                   subject=f"canvas:{milestone.id}:{code}", local_date=now.date(), now=now, op="post",
                   target=milestone.owner_id, payload={"text": text, "blocks": blocks}, team_id=milestone.team_id)


def _share(session: Session, milestone: Milestone, canvas: MilestoneCanvas, now: datetime) -> None:
    """Slack shows a canvas to a channel once its link is shared there: one message, when it is made."""
    assert canvas.canvas_id is not None and canvas.channel_id is not None
    text, blocks = views.shared_message(milestone.key, milestone.name,
                                        service.canvas_link(milestone.team_id, canvas.canvas_id), canvas.placement)
    deliveries.owe(session, kind=SHARED_KIND, recipient_id=canvas.channel_id,
                   subject=f"canvas:{milestone.id}:{canvas.canvas_id}:{canvas.channel_id}", local_date=now.date(),
                   now=now, op="post",
                   target=canvas.channel_id, payload={"text": text, "blocks": blocks}, team_id=milestone.team_id)


# ---- from Slack: the command, and changes other features report ---------------------------------------------

MAX_NAME_LOOKUPS = 30  # users.info look-ups before a canvas is written (the rest show as ids until cached)


def _warm_names(deps: Deps, client: WebClient, milestone_id: int) -> None:
    """Names of the people the report names, cached outside any transaction (the renderer cannot call Slack)."""
    with deps.read() as session:
        unknown = sorted(load_report(session, milestone_id).unknown_users)[:MAX_NAME_LOOKUPS]
    if unknown:
        fetched = {user_id: fetch_user(client, user_id) for user_id in unknown}
        with deps.session() as session:
            for user_id, user in fetched.items():
                store_profile(session, user_id, user)


def make_or_refresh(deps: Deps, client: WebClient, team_id: str, key: str, user_id: str) -> str:
    """`/milestone canvas M-042`: the answer for the person who typed it. Anyone may have an existing canvas
    rewritten now; making one (it posts the link to the channel) is for the owner, editors and admins."""
    if not SWITCH.enabled:
        return "Canvases are turned off for this bot (its `CANVAS` setting is `off`)."
    with deps.read() as session:
        milestone = get_by_key(session, team_id, key)
        milestone_id, editor = milestone.id, is_editor(session, milestone, user_id)
        has_canvas = session.scalar(select(MilestoneCanvas.canvas_id)
                                    .where(MilestoneCanvas.milestone_id == milestone_id)) is not None
    admin = not editor and not has_canvas and is_admin_of(cached_profile(deps, client, user_id), team_id)
    _warm_names(deps, client, milestone_id)
    now = utcnow()
    with deps.session() as session:
        current = session.get(Milestone, milestone_id)
        if current is None:
            raise NotFound(f"{key} no longer exists.")
        if not has_canvas:
            ensure_can_edit(session, current, user_id, is_admin=admin, action="make its canvas")
        owed = request_canvas(session, current, user_id, now)
    results = outbox.deliver(deps, client, [owed], now)
    with deps.read() as session:
        extra = owed_problem_ids(session, milestone_id)
    outbox.deliver(deps, client, extra)
    return _answer(deps, milestone_id, results)


def _answer(deps: Deps, milestone_id: int, results: list[outbox.Result]) -> str:
    with deps.read() as session:
        milestone = session.get(Milestone, milestone_id)
        canvas = session.scalar(select(MilestoneCanvas).where(MilestoneCanvas.milestone_id == milestone_id))
        assert milestone is not None and canvas is not None
        key, name, channel, team_id = milestone.key, milestone.name, milestone.report_channel_id, milestone.team_id
        tab_taken = bool(channel) and service.milestones_reporting_to(session, milestone.team_id, channel or "") > 1
        canvas_id, placement, problem = canvas.canvas_id, canvas.placement, canvas.problem
    status = results[0].status if results else "busy"
    if status in ("failed", "skipped"):
        code = problem if status == "skipped" and problem else results[0].detail
        return ":warning: " + views.problem_dm(key, name, code, channel, tab_taken)[0]
    if status == "retry" and results[0].detail == BUSY:
        return ":hourglass: The canvas is being written right now; it will be current within a minute."
    if status == "retry":
        return (f":hourglass: Slack did not take the canvas yet ({esc(results[0].detail)}); the bot tries again "
                "within a minute.")
    if canvas_id is None:
        return ":hourglass: The canvas is being made; it will be ready within a minute."
    link = service.canvas_link(team_id, canvas_id)
    where = (f"the canvas tab of {channel_ref(channel)}" if placement == service.PLACEMENT_TAB
             else f"readable in {channel_ref(channel)}" if channel else "only you and the bot can see it until "
             f"{esc(key)} has a report channel")
    verb = "is current" if status == "sent" else "is being rewritten"
    return f":memo: <{link}|{esc(key)}'s canvas> {verb} ({where}). It is rewritten after every change."


def refresh_after_change(deps: Deps, client: WebClient, milestone_id: int) -> None:
    """After a committed change (a hook of another feature): owe the rewrite and send it if it is due now."""
    if not SWITCH.enabled:
        return
    with deps.read() as session:  # most milestones have no canvas: no write transaction for them
        if session.scalar(select(MilestoneCanvas.id).where(MilestoneCanvas.milestone_id == milestone_id)) is None:
            return
    with deps.session() as session:
        owed = canvas_owed(session, milestone_id, utcnow())
    if owed is not None:
        outbox.deliver(deps, client, [owed])


outbox.register(KIND, render=render, send=send, on_sent=on_sent, on_failed=on_failed)
