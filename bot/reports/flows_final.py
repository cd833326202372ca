"""The final report: one post in the milestone's channel, on the owner's behalf, when the milestone is accepted.

Owed by the sign-off flows (bot.signoffs.flows) in the transaction of the decision that accepts the milestone,
and only when the owner left "Post the final report to the channel when accepted" on (the milestone's details).
The outbox sends it exactly once across processes and crashes: the post carries its key in message metadata,
so a claim retaken after a crash finds it in the channel's history instead of posting it again. After that the
post is only ever edited in place:

- POST: the report's summary under the accepted banner ("Accepted on … at revision …"), "Posted for @owner";
- EDIT: owed when the acceptance is withdrawn (an edit of substance, a role added: the post says so) and when
  the milestone is accepted again (the post shows the new revision);
- FILES: the full report (Markdown, then the PDF) in the post's thread, once per accepted revision. Owed when
  the post (or its edit) showing that revision is out; sent right away by the accepting request
  (`send_owed_files`, after caching the names the report needs), else by the clock's sweep.

Every message is rendered from the database when it goes, so one sent late (after a crash) tells the truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core import audit, deliveries
from bot.deps import Deps
from bot.reports import views
from bot.reports.flows import attach_pdf, compile_report
from bot.reports.rendering import render_markdown
from bot.reports.service import final_report_channel, load_report
from bot.slack import outbox
from bot.slack.notifier import DeliveryError, Posted
from models import AuditEvent, Delivery, DeliveryStatus, Milestone, ReportPost
from models.db import read_scope

log = logging.getLogger(__name__)

POST, EDIT, FILES = "final_report_post", "final_report_edit", "final_report_files"
LEGACY = "final_report"  # owed before migration 0009 by the old direct path: nothing to send any more
ACTOR = "bot"  # the audit's actor for what the bot posts on the owner's behalf


def _token(now: datetime) -> str:
    return now.strftime("%H%M%S%f")


def _post_in_flight(session: Session, milestone_id: int) -> bool:
    return session.scalar(select(Delivery.id).where(
        Delivery.kind == POST, Delivery.subject.like(f"final:m{milestone_id}:%"),
        Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.CLAIMED])).limit(1)) is not None


def owe(session: Session, milestone: Milestone, now: datetime, link: str) -> int | None:
    """Inside the transaction that accepted the milestone, or withdrew its acceptance: the final report's post
    the first time (if the owner wants it), an edit of that post afterwards. None when nothing is owed."""
    channel = final_report_channel(milestone)
    if channel is None:
        return None
    if milestone.final_report_ts or _post_in_flight(session, milestone.id):
        kind, subject, op = EDIT, f"edit:m{milestone.id}:{_token(now)}", "update"
    elif milestone.accepted_at is not None and milestone.post_final_report:
        kind, subject, op = POST, f"final:m{milestone.id}:{_token(now)}", "post"
    else:
        return None
    return deliveries.owe(session, kind=kind, recipient_id=channel, subject=subject, local_date=now.date(), now=now,
                          op=op, target=channel, payload={"milestone": milestone.id, "link": link},
                          team_id=milestone.team_id)


# ---- rendering, at send time ---------------------------------------------------------------------------------


def _withdrawn_at(session: Session, milestone: Milestone) -> int:
    revision = session.scalar(select(AuditEvent.revision).where(
        AuditEvent.milestone_id == milestone.id, AuditEvent.action == "milestone.acceptance_withdrawn")
        .order_by(AuditEvent.id.desc()).limit(1))
    return revision or milestone.revision


def _message(session: Session, delivery: Delivery, milestone: Milestone, op: str, channel: str,
             ts: str | None = None) -> outbox.Outgoing:
    report = load_report(session, milestone.id)
    if milestone.accepted_at is not None:
        text, blocks = views.summary(report, (delivery.payload or {}).get("link"), posted_for=milestone.owner_id,
                                     final=True)
    else:
        text, blocks = views.final_withdrawn(report, _withdrawn_at(session, milestone), milestone.owner_id)
    return outbox.Outgoing(op, channel, text, blocks, ts=ts)


def _milestone(session: Session, delivery: Delivery) -> Milestone | None:
    return session.get(Milestone, int((delivery.payload or {}).get("milestone") or 0))


def _render_post(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """Nothing if the post is out already (a twin), the acceptance was withdrawn before it went, or the owner
    turned the final report off meanwhile."""
    milestone = _milestone(session, delivery)
    if milestone is None or milestone.final_report_ts or milestone.accepted_at is None \
            or not milestone.post_final_report:
        return None
    return _message(session, delivery, milestone, "post", delivery.target or "")


def _render_edit(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """None while the post is not out yet: it shows the current state when it goes."""
    milestone = _milestone(session, delivery)
    if milestone is None or not milestone.final_report_ts or not milestone.final_report_channel:
        return None
    return _message(session, delivery, milestone, "update", milestone.final_report_channel, milestone.final_report_ts)


def _post_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    """The post is out: remember it. Edits owed while it was in flight found no post to edit (the post showed
    the state when it was built), so one edit catches up with the state now; else the files follow."""
    milestone = _milestone(session, delivery)
    if milestone is None:
        return
    milestone.final_report_channel, milestone.final_report_ts = posted.channel, posted.ts
    session.add(ReportPost(milestone_id=milestone.id, posted_by=milestone.owner_id, channel_id=posted.channel,
                           revision=milestone.accepted_revision or milestone.revision, message_ts=posted.ts))
    audit.record(session, milestone, ACTOR, "report.final_posted",
                 detail={"channel": posted.channel, "ts": posted.ts, "revision": milestone.accepted_revision,
                         "posted_for": milestone.owner_id})
    edited_meanwhile = session.scalar(select(Delivery.id).where(
        Delivery.kind == EDIT, Delivery.subject.like(f"edit:m{milestone.id}:%"), Delivery.id > delivery.id).limit(1))
    if edited_meanwhile is not None:
        deliveries.owe(session, kind=EDIT, recipient_id=delivery.recipient_id,
                       subject=f"edit:m{milestone.id}:caught-up:{delivery.id}", local_date=delivery.local_date,
                       now=delivery.claimed_at, op="update", target=posted.channel,
                       payload=dict(delivery.payload or {}), team_id=delivery.team_id)
    elif milestone.accepted_at is not None:
        _owe_files(session, milestone, delivery)


def _post_failed(session: Session, delivery: Delivery, code: str) -> None:
    """Refused for good (the bot is not in the channel…): the next acceptance tries again."""
    milestone = _milestone(session, delivery)
    log.warning("final report of milestone %s not posted in %s: %s", delivery.payload, delivery.target, code)
    if milestone is not None:
        audit.record(session, milestone, ACTOR, "report.final_not_posted",
                     detail={"channel": delivery.target, "error": code})


def _edit_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    """Accepted (again): the files of the accepted revision follow in the thread."""
    milestone = _milestone(session, delivery)
    if milestone is not None and milestone.accepted_at is not None:
        _owe_files(session, milestone, delivery)


def _edit_failed(session: Session, delivery: Delivery, code: str) -> None:
    """Someone deleted the final report's post: it is not put back; the next acceptance posts a new one."""
    milestone = _milestone(session, delivery)
    if milestone is not None and code in ("message_not_found", "cant_update_message"):
        milestone.final_report_channel = milestone.final_report_ts = None


# ---- the files in the thread ---------------------------------------------------------------------------------


def _owe_files(session: Session, milestone: Milestone, delivery: Delivery) -> None:
    revision, ts, channel = milestone.accepted_revision, milestone.final_report_ts, milestone.final_report_channel
    if revision is None or not ts or not channel:
        return
    if session.scalar(select(ReportPost.id).where(ReportPost.channel_id == channel, ReportPost.message_ts == ts,
                                                  ReportPost.revision == revision,
                                                  ReportPost.file_id.is_not(None))) is not None:
        return  # this revision's files are in the thread already
    deliveries.owe(session, kind=FILES, recipient_id=channel, subject=f"files:m{milestone.id}:r{revision}",
                   local_date=delivery.local_date, now=delivery.claimed_at, op="files", target=channel,
                   payload={"milestone": milestone.id, "revision": revision}, team_id=milestone.team_id,
                   thread_ts=ts)


def _render_files(session: Session, delivery: Delivery) -> outbox.Outgoing | None:
    """Nothing once that revision is no longer the accepted one (the files would not be the final report).
    The report itself is read by the sender, in a read-only transaction of its own: a claim's transaction
    (on SQLite, the write lock) is not held while it loads."""
    milestone = _milestone(session, delivery)
    revision = (delivery.payload or {}).get("revision")
    if milestone is None or milestone.accepted_at is None or not milestone.final_report_ts \
            or milestone.accepted_revision != revision:
        return None
    reader = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    return outbox.Outgoing("files", milestone.final_report_channel or "", "", thread_ts=milestone.final_report_ts,
                           data={"milestone": milestone.id, "revision": revision, "reader": reader})


@dataclass(frozen=True)
class FilesPosted(Posted):
    file_id: str | None = None


def _send_files(client: WebClient, outgoing: outbox.Outgoing) -> Posted:
    """Outside any transaction: the Markdown file, then the PDF (best effort), into the post's thread."""
    data = outgoing.data or {}
    with read_scope(data["reader"]) as session:
        report = load_report(session, data["milestone"])
    if report.accepted_revision != data["revision"] or report.revision != data["revision"]:
        raise DeliveryError("report_changed")  # edited meanwhile: the next try finds out whether it still applies
    thread = outgoing.thread_ts or ""
    try:
        response = client.files_upload_v2(
            channel=outgoing.channel, thread_ts=thread, content=render_markdown(report),
            filename=f"{report.key}-report-rev{report.revision}.md",
            title=f"{report.key} {report.name} — final report, revision {report.revision}",
        )
    except SlackApiError as error:
        raise DeliveryError(str(error.response.get("error") or error)) from error
    files = response.get("files") or [response.get("file") or {}]
    attach_pdf(client, outgoing.channel, thread, report)
    return FilesPosted(outgoing.channel, thread, file_id=files[0].get("id"))


def _files_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    """The post's one record (Home's recent reports) shows the revision its thread holds now."""
    milestone = _milestone(session, delivery)
    if milestone is None:
        return
    file_id = posted.file_id if isinstance(posted, FilesPosted) else None
    revision = int((delivery.payload or {}).get("revision") or milestone.revision)
    record = session.scalar(select(ReportPost).where(ReportPost.channel_id == posted.channel,
                                                     ReportPost.message_ts == posted.ts))
    if record is None:
        session.add(ReportPost(milestone_id=milestone.id, posted_by=milestone.owner_id, channel_id=posted.channel,
                               revision=revision, message_ts=posted.ts, file_id=file_id))
    else:
        record.revision, record.file_id, record.posted_at = revision, file_id, delivery.claimed_at
    audit.record(session, milestone, ACTOR, "report.final_files",
                 detail={"channel": posted.channel, "ts": posted.ts, "file_id": file_id, "revision": revision})


def send_owed_files(deps: Deps, client: WebClient, milestone_id: int) -> list[outbox.Result]:
    """Right after an acceptance was delivered: the report's files, with the names it needs cached first."""
    with deps.read() as session:
        owed = list(session.scalars(select(Delivery.id).where(
            Delivery.kind == FILES, Delivery.subject.like(f"files:m{milestone_id}:%"),
            Delivery.status == DeliveryStatus.PENDING)))
    if not owed:
        return []
    compile_report(deps, client, milestone_id)  # caches the names (users.info), outside any transaction
    return outbox.deliver(deps, client, owed)


outbox.register(POST, render=_render_post, on_sent=_post_sent, on_failed=_post_failed)
outbox.register(EDIT, render=_render_edit, on_sent=_edit_sent, on_failed=_edit_failed)
outbox.register(FILES, render=_render_files, send=_send_files, on_sent=_files_sent)
outbox.register(LEGACY, render=lambda _session, _delivery: None)
