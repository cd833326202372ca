"""What the clock runs for sign-off: the reminder job, and how each sign-off message the outbox sweeps is built.

Reminder: approvers whose sign-off has waited SIGNOFF_REMINDER_WORKING_DAYS working days get one DM per local
day at most, listing every request that waits for them, only inside their working hours.

Outbox kinds (owed by bot.signoffs.flows in the transaction that changed state): every renderer reads the
database at send time, so a message sent late (by the sweep, after a crash) tells the current truth, and an
edit shows the latest state. A render remembers a fingerprint of what it built; if the state moved while the
message was in flight, `on_sent` owes an edit so the message catches up.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.canvas.service import canvas_url_for
from bot.core import audit, deliveries
from bot.core.workdays import is_working_time, local_date, local_now, working_days_between
from bot.reports.links import report_url
from bot.signoffs import views, views_owner
from bot.signoffs.content import changes_since, empty_sections
from bot.signoffs.service import (
    changes_for,
    dm_requests,
    dm_roles,
    pending_requests,
    requests_by_id,
    signed_revision,
    signoff_progress,
)
from bot.slack import outbox
from bot.slack.jobs import JobContext
from bot.slack.notifier import Posted
from bot.slack.users import cached_profile
from models import ActionItem, Delivery, Milestone, SignOff, SignOffRequest

log = logging.getLogger(__name__)

KIND = "signoff_reminder"
SUBJECT = "pending"
ASK, ASK_EDIT = "signoff_ask", "signoff_ask_edit"
STATUS, STATUS_EDIT = "signoff_status", "signoff_status_edit"
ACCEPTED, OWNER = "signoff_accepted", "signoff_owner"


# ---- the reminder job -------------------------------------------------------------------------------------


def run(ctx: JobContext) -> list[str]:
    settings = ctx.deps.settings
    now = ctx.now
    by_person: dict[str, list[views.WaitingItem]] = defaultdict(list)
    with ctx.deps.session() as session:
        for request, slot, milestone in pending_requests(session):
            link = report_url(settings, milestone.id, milestone.revision, now)
            by_person[request.approver_id].append(
                (milestone, slot.role, request.id, request.requested_at, changes_for(session, request), link))
    lines: list[str] = []
    for approver, waiting in by_person.items():
        tz = cached_profile(ctx.deps, ctx.client, approver).tz
        if not is_working_time(local_now(now, tz), settings):
            continue  # outside their working hours: a later sweep today (their today) sends it
        today = local_date(now, tz)
        items = [item for item in waiting
                 if working_days_between(local_date(item[3], tz), today, settings.work_days)
                 >= settings.signoff_reminder_working_days]
        if items:
            lines.extend(_remind(ctx, approver, tz, items))
    return lines


def _remind(ctx: JobContext, approver: str, tz: str | None, items: list[views.WaitingItem]) -> list[str]:
    now = ctx.now
    text, blocks = views.reminder_dm(items)
    with ctx.deps.session() as session:
        delivery_id = deliveries.owe(
            session, kind=KIND, recipient_id=approver, subject=SUBJECT, local_date=local_date(now, tz), now=now,
            op="post", target=approver, payload={"text": text, "blocks": blocks},
            detail={"requests": [item[2] for item in items],
                    "roles": {str(m.id): [i[1] for i in items if i[0].id == m.id] for m, *_x in items}},
        )
    if delivery_id is None:
        return []  # owed today already (sent, or another sweep is sending it right now)
    results = outbox.deliver(ctx.deps, ctx.client, [delivery_id], now)
    if results and results[0].status in ("sent", "found"):
        return [f"sign-off reminder to {approver}: {len(items)} request(s)"]
    return [f"sign-off reminder to {approver} failed: {results[0].detail if results else 'not sent'}"]


def _audit_reminded(session: Session, delivery: Delivery, _posted: Posted) -> None:
    for milestone_id, roles in ((delivery.detail or {}).get("roles") or {}).items():
        milestone = session.get(Milestone, int(milestone_id))
        if milestone is not None:
            audit.record(session, milestone, "clock", "signoff.reminded",
                         detail={"approver": delivery.recipient_id, "roles": roles})


# ---- outbox renderers ---------------------------------------------------------------------------------------


def _fingerprint(outgoing: outbox.Outgoing | None) -> str:
    shown = [outgoing.text, outgoing.blocks] if outgoing else None
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _shown(delivery: Delivery, outgoing: outbox.Outgoing | None) -> outbox.Outgoing | None:
    """Remember what was built, for `_caught_up`."""
    delivery.detail = {**(delivery.detail or {}), "shown": _fingerprint(outgoing)}
    return outgoing


def _ask_message(session: Session, requests: list[SignOffRequest], link: str | None, op: str, channel: str,
                 ts: str | None = None) -> outbox.Outgoing:
    milestone = requests[0].slot.milestone
    signed = signed_revision(session, requests)
    changes = changes_since(session, milestone, signed) if signed is not None else None
    empty = len(empty_sections(milestone)) if signed is None else 0
    text, blocks = views.request_dm(milestone, dm_roles(session, requests), link=link, changes=changes,
                                    empty=empty, progress=signoff_progress(milestone))
    return outbox.Outgoing(op, channel, text, blocks, ts=ts)


def _render_ask(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    payload = delivery.payload or {}
    requests = requests_by_id(session, list(payload.get("requests") or []))
    if not any(r.answered_at is None and r.withdrawn_at is None for r in requests):
        return None  # nothing left to ask by the time it goes (decided, withdrawn, superseded): no DM at all
    return _shown(delivery, _ask_message(session, requests, payload.get("link"), "post", delivery.target or ""))


def _render_ask_edit(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """None while the DM is not out yet: it is built from the current state when it goes."""
    payload = delivery.payload or {}
    requests = dm_requests(session, int(payload.get("request") or 0))
    if not requests:
        return None
    first = requests[0]
    return _ask_message(session, requests, payload.get("link"), "update", first.dm_channel or "", first.dm_ts)


def _ask_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    ids = list((delivery.payload or {}).get("requests") or [])
    requests = requests_by_id(session, ids)
    for request in requests:
        request.dm_channel, request.dm_ts = posted.channel, posted.ts
    if requests and _fingerprint(_ask_message(session, requests, (delivery.payload or {}).get("link"), "post",
                                              delivery.target or "")) != (delivery.detail or {}).get("shown"):
        _owe_again(session, delivery, ASK_EDIT, f"{delivery.subject}:caught-up", "update",
                   {"request": requests[0].id, "link": (delivery.payload or {}).get("link")})


def _status_message(session: Session, milestone: Milestone, op: str, channel: str,
                    ts: str | None = None) -> outbox.Outgoing:
    text, blocks = views.status_blocks(milestone, signoff_progress(milestone), canvas_url_for(session, milestone.id))
    return outbox.Outgoing(op, channel, text, blocks, ts=ts)


def _milestone(session: Session, delivery: Delivery) -> Milestone | None:
    return session.get(Milestone, int((delivery.payload or {}).get("milestone") or 0))


def _render_status(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    milestone = _milestone(session, delivery)
    if milestone is None:
        return None
    return _shown(delivery, _status_message(session, milestone, "post", delivery.target or ""))


def _render_status_edit(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    milestone = _milestone(session, delivery)
    if milestone is None or not milestone.signoff_status_ts or not milestone.signoff_status_channel:
        return None  # the post is not out yet: it shows the current state when it goes
    return _status_message(session, milestone, "update", milestone.signoff_status_channel,
                           milestone.signoff_status_ts)


def _status_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    milestone = _milestone(session, delivery)
    if milestone is None:
        return
    milestone.signoff_status_channel, milestone.signoff_status_ts = posted.channel, posted.ts
    shown = _fingerprint(_status_message(session, milestone, "post", delivery.target or ""))
    if shown != (delivery.detail or {}).get("shown"):
        _owe_again(session, delivery, STATUS_EDIT, f"{delivery.subject}:caught-up", "update",
                   {"milestone": milestone.id})


def _status_failed(session: Session, delivery: Delivery, code: str) -> None:
    """The post was refused (the bot is not in the channel…): free its key so the next request tries again."""
    delivery.subject = f"{delivery.subject}:x{delivery.id}"[:64]
    milestone = _milestone(session, delivery)
    if milestone is not None and not milestone.signoff_status_ts:
        milestone.signoff_status_channel = None
    log.warning("sign-off status message not posted in %s: %s", delivery.target, code)


def _status_edit_failed(session: Session, delivery: Delivery, code: str) -> None:
    """Someone deleted the status message: post it again, once."""
    milestone = _milestone(session, delivery)
    if milestone is None or code not in ("message_not_found", "cant_update_message"):
        return
    channel = milestone.signoff_status_channel or milestone.report_channel_id
    milestone.signoff_status_ts = None
    if channel:
        _owe_again(session, delivery, STATUS, f"status:m{milestone.id}:re{delivery.id}", "post",
                   {"milestone": milestone.id}, target=channel)


def _owe_again(session: Session, delivery: Delivery, kind: str, subject: str, op: str, payload: dict[str, object],
               *, target: str | None = None) -> None:
    deliveries.owe(session, kind=kind, recipient_id=delivery.recipient_id, subject=subject,
                   local_date=delivery.local_date, now=delivery.claimed_at, op=op,
                   target=target or delivery.target or "", payload=payload, team_id=delivery.team_id)


def _render_accepted(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """In the status message's thread; nothing if the acceptance was withdrawn before it went out."""
    milestone = _milestone(session, delivery)
    if milestone is None or not signoff_progress(milestone).accepted:
        return None
    thread = milestone.signoff_status_ts if milestone.signoff_status_channel == delivery.target else None
    return outbox.Outgoing("post", delivery.target or "", views.accepted_notice(milestone), thread_ts=thread)


def _render_owner(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    payload = delivery.payload or {}
    link = payload.get("link")
    if payload.get("accepted"):
        milestone = session.get(Milestone, int(payload["accepted"]))
        if milestone is None:
            return None
        text, blocks = views_owner.owner_accepted_dm(milestone, link)
        return outbox.Outgoing("post", delivery.target or "", text, blocks)
    signoff = session.get(SignOff, int(payload.get("signoff") or 0))
    if signoff is None:
        return None
    milestone = session.get(Milestone, signoff.milestone_id)
    assert milestone is not None
    items = list(session.scalars(select(ActionItem).where(ActionItem.signoff_id == signoff.id).order_by(ActionItem.id)))
    text, blocks = views_owner.owner_decision_dm(milestone, signoff, items, link)
    return outbox.Outgoing("post", delivery.target or "", text, blocks)


outbox.register(KIND, on_sent=_audit_reminded)
outbox.register(ASK, render=_render_ask, on_sent=_ask_sent)
outbox.register(ASK_EDIT, render=_render_ask_edit)
outbox.register(STATUS, render=_render_status, on_sent=_status_sent, on_failed=_status_failed)
outbox.register(STATUS_EDIT, render=_render_status_edit, on_failed=_status_edit_failed)
outbox.register(ACCEPTED, render=_render_accepted)
outbox.register(OWNER, render=_render_owner)
