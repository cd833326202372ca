"""A milestone's report as canvas Markdown, and the cheap fingerprint that says whether the canvas is stale.

The canvas walks the same document as the Markdown export (bot.reports.document, built from the report's
outline), in what canvases accept: headings h1–h3, lists, checklists for action items, and tables, split into
pieces of at most MAX_TABLE_CELLS cells because canvases refuse bigger ones. User text is escaped for Markdown
(bot.reports.markdown); Slack markup typed in it (`<!channel>`, `<@U…>`) reads as names, never pings.

`canvas_owed` records, in the caller's transaction, that a milestone's canvas must be rewritten (an outbox row
that bot.canvas.flows renders and sends; its key scheme is described there). It watches the audit log
(bot.core.audit.watch): every audited change to the report owes the rewrite in its own transaction, and the
caller delivers `audit.owed(session)` after its commit.

Plain Python: no Slack, and the database only through the session it is given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from bot.core import audit, deliveries
from bot.reports.document import DBlock, DCell, Document, Inline, Run, build
from bot.reports.formatting import NOT_PROVIDED
from bot.reports.markdown import escape_line_start, md_inline, md_link, readable
from bot.reports.report import Report
from bot.settings import Settings
from models import (
    ActionItem,
    ActionStatus,
    ApprovalSlot,
    Delivery,
    DeliveryStatus,
    FeedbackResponse,
    Milestone,
    MilestoneCanvas,
    SignOff,
    SignOffRequest,
)

MAX_TABLE_CELLS = 300  # canvases refuse tables much past this (header row included)
MAX_CANVAS_CHARS = 1_048_576  # canvas_too_large past 1 MiB of Markdown
PLACEMENT_STANDALONE = "standalone"
PLACEMENT_TAB = "channel_tab"
_NP = f"_{NOT_PROVIDED}_"


def canvas_title(key: str, name: str) -> str:
    """"M-042 · Customer Portal Beta — milestone report" (a title is plain text; newlines cannot reach it)."""
    return f"{key} · {' '.join(name.split())} — milestone report"[:255]


def canvas_link(team_id: str, canvas_id: str) -> str:
    """Where a person opens the canvas (Slack's web client redirects to the workspace)."""
    return f"https://app.slack.com/docs/{team_id}/{canvas_id}"


def canvas_url_for(session: Session, milestone_id: int) -> str | None:
    """The link to the milestone's canvas, for other surfaces (the channel status message, App Home)."""
    row = session.execute(select(MilestoneCanvas.team_id, MilestoneCanvas.canvas_id)
                          .where(MilestoneCanvas.milestone_id == milestone_id)).first()
    return canvas_link(row.team_id, row.canvas_id) if row is not None and row.canvas_id else None


# ---- Markdown -------------------------------------------------------------------------------------------


def _run(run: Run, people: dict[str, str], *, cell: bool) -> str:
    if run.style == "np":
        return _NP
    text = readable(run.text, people)
    if cell:  # a canvas table cell is one line
        text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    if run.url:
        return md_link(run.url, text)
    inline = md_inline(text)
    if run.style == "strong":
        return f"**{inline}**"
    if run.style == "quote":
        return f"“{inline}”"
    return inline


def runs(values: Inline, people: dict[str, str], *, cell: bool = False, lead: bool = False) -> str:
    out = [_run(r, people, cell=cell) for r in values]
    if lead and out and values[0].style == "" and not values[0].url:
        out[0] = escape_line_start(out[0])
    return "".join(out)


def _row(cells: tuple[DCell, ...], people: dict[str, str], strong: bool = False) -> str:
    texts = [runs(c.value, people, cell=True) or "—" for c in cells]
    return "| " + " | ".join(f"**{t}**" if strong else t for t in texts) + " |"


def table_lines(block: DBlock, people: dict[str, str], max_cells: int = MAX_TABLE_CELLS) -> list[str]:
    """A table as one or more Markdown tables of at most `max_cells` cells each, the header repeated."""
    width = max(1, len(block.headers))
    per_piece = max(1, max_cells // width - 1)
    rows = [_row(r, people) for r in block.rows]
    if block.total:
        rows.append(_row(block.total, people, strong=True))
    header = [_row(block.headers, people),
              "|" + "|".join("---:" if c.numeric else "---" for c in block.headers) + "|"]
    lines: list[str] = []
    for start in range(0, len(rows), per_piece):
        if start:
            lines += ["", f"_(continued, rows {start + 1}–{min(start + per_piece, len(rows))})_", ""]
        lines += header + rows[start:start + per_piece]
    return lines


def _facts(block: DBlock, people: dict[str, str]) -> list[str]:
    lines = []
    for fact in block.facts:
        label = f"**{md_inline(fact.label)}**" if fact.strong else md_inline(fact.label)
        value = runs(fact.value, people)
        lines.append(f"- {label}:" + (f" {value}" if value else ""))
    return lines


def _items(block: DBlock, people: dict[str, str]) -> list[str]:
    lines = [md_inline(block.intro)] if block.intro else []
    for n, item in enumerate(block.items, 1):
        text = runs(item.runs, people, lead=True)
        if item.check is not None:  # an action item: a checklist entry, ticked when done
            lines.append(f"- [{'x' if item.check else ' '}] {text}")
        else:
            lines.append(f"{n}. {text}" if block.ordered else f"- {text}")
    return lines


def _prose(text: str, people: dict[str, str]) -> list[str]:
    paragraphs = [p.strip() for p in readable(text, people).replace("\r", "").split("\n")]
    return [escape_line_start(md_inline(p)) if p else "" for p in paragraphs]


def block_lines(block: DBlock, people: dict[str, str]) -> list[str]:
    if block.kind == "table":
        return table_lines(block, people)
    if block.kind == "facts":
        return _facts(block, people)
    if block.kind == "list":
        return _items(block, people)
    if block.kind == "prose":
        return _prose(block.text, people)
    return [_NP]


def _blocks(blocks: tuple[DBlock, ...], people: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for i, b in enumerate(blocks):
        lines += ([""] if i else []) + block_lines(b, people)
    return lines


def document_markdown(doc: Document, people: dict[str, str]) -> str:
    """The document as canvas Markdown: h1 title, h2 parts, h3 subsections."""
    lines = [f"# {runs(doc.title, people)}", "", *_facts(doc.header, people)]
    lines += ["", "**At a glance**", "", *_facts(doc.summary, people)]
    for part in doc.parts:
        lines += ["", f"## {part.number}. {md_inline(part.heading)}"]
        if part.blocks:
            lines += ["", *_blocks(part.blocks, people)]
        for sub in part.subsections:
            lines += ["", f"### {sub.number} {runs(sub.heading, people)}", "", *_blocks(sub.blocks, people)]
    lines += ["", "---", "", *_facts(doc.footer, people)]
    return "\n".join(lines) + "\n"


def canvas_markdown(report: Report) -> str:
    """The whole report as canvas Markdown (the same outline as the Markdown export)."""
    return document_markdown(build(report), report.people)


def content_hash(markdown: str) -> str:
    return hashlib.sha256(markdown.encode()).hexdigest()


# ---- staleness ------------------------------------------------------------------------------------------


def fingerprints(session: Session, milestone_ids: list[int], today: date) -> dict[int, str]:
    """A cheap summary per milestone of everything the canvas shows: the content revision, sign-offs and
    requests, action items, feedback. Equal fingerprints: nothing the canvas shows has changed (names aside).
    Milestones with open dated action items also change daily, since "overdue" moves with the date."""
    if not milestone_ids:
        return {}
    parts: dict[int, list[Any]] = {m: [] for m in milestone_ids}
    for row in session.execute(select(Milestone.id, Milestone.revision, Milestone.updated_at, Milestone.accepted_at,
                                      Milestone.name, Milestone.report_channel_id)
                               .where(Milestone.id.in_(milestone_ids))):
        parts[row[0]].append(tuple(row[1:]))
    queries: list[Any] = [
        select(SignOff.milestone_id, func.count(), func.max(SignOff.decided_at), func.max(SignOff.outdated_at),
               func.count(SignOff.outdated_at)).group_by(SignOff.milestone_id),
        select(ApprovalSlot.milestone_id, func.count(SignOffRequest.id), func.max(SignOffRequest.requested_at),
               func.max(SignOffRequest.withdrawn_at), func.max(SignOffRequest.answered_at))
        .join(SignOffRequest, SignOffRequest.slot_id == ApprovalSlot.id, isouter=True)
        .group_by(ApprovalSlot.milestone_id),
        select(ApprovalSlot.milestone_id, ApprovalSlot.id, ApprovalSlot.role, ApprovalSlot.approver_id,
               ApprovalSlot.delegate_id, ApprovalSlot.required).order_by(ApprovalSlot.id),
        select(FeedbackResponse.milestone_id, func.count(), func.max(FeedbackResponse.updated_at))
        .group_by(FeedbackResponse.milestone_id),
    ]
    for query in queries:
        model_milestone = query.selected_columns[0]
        for row in session.execute(query.where(model_milestone.in_(milestone_ids))):
            parts[row[0]].append(tuple(row[1:]))
    for item in session.execute(
        select(ActionItem.milestone_id, ActionItem.id, ActionItem.status, ActionItem.due_date,
               ActionItem.snoozed_until, ActionItem.owner_id, ActionItem.owner_name, ActionItem.description,
               ActionItem.horizon, ActionItem.priority, ActionItem.effort_days, ActionItem.planned_sprint)
        .where(ActionItem.milestone_id.in_(milestone_ids)).order_by(ActionItem.id)
    ):
        parts[item[0]].append(tuple(item[1:]))
        if item.status == ActionStatus.OPEN and item.due_date is not None:
            parts[item[0]].append(today)
    return {m: hashlib.sha256(repr(values).encode()).hexdigest() for m, values in parts.items()}


def stale_canvases(session: Session, today: date, kind: str = "canvas_refresh") -> list[tuple[int, str]]:
    """(milestone id, current fingerprint) of every canvas whose fingerprint differs from the one written.
    A canvas with a write waiting or in flight is left to it: that write records the state it rendered, and
    a change after its render differs from it at the next sweep."""
    busy = (select(Delivery.id).where(Delivery.kind == kind,
                                      Delivery.subject == "milestone:" + cast(MilestoneCanvas.milestone_id, String),
                                      Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.CLAIMED))))
    rows = session.execute(select(MilestoneCanvas.milestone_id, MilestoneCanvas.fingerprint)
                           .where(MilestoneCanvas.canvas_id.is_not(None), ~busy.exists())).all()
    current = fingerprints(session, [r.milestone_id for r in rows], today)
    return [(r.milestone_id, current[r.milestone_id]) for r in rows
            if r.milestone_id in current and current[r.milestone_id] != r.fingerprint]


def milestones_reporting_to(session: Session, team_id: str, channel_id: str) -> int:
    """How many milestones of the workspace report to this channel (its one canvas tab can hold only one)."""
    return session.scalar(select(func.count()).select_from(Milestone)
                          .where(Milestone.team_id == team_id, Milestone.report_channel_id == channel_id)) or 0


def next_refresh_at(canvas: MilestoneCanvas, now: datetime, every_seconds: int = 60) -> datetime | None:
    """At most one write a minute per milestone: None (now) when the last write is older than that."""
    if canvas.refreshed_at is None:
        return None
    due = canvas.refreshed_at + timedelta(seconds=every_seconds)
    return due if due > now else None


# ---- owing a rewrite (in the caller's transaction) ----------------------------------------------------

KIND = "canvas_refresh"
UNSURE = "canvas_create_unconfirmed"  # ours: a create whose answer never came back (bot.canvas.sender)
EVERY = timedelta(seconds=60)  # at most one edit a minute per milestone
# Refusals that stop refreshes until someone runs `/milestone canvas` again (a change cannot fix them).
BLOCKING = frozenset({"free_teams_cannot_create_standalone_canvases", "channel_canvas_already_exists",
                      "free_team_canvas_tab_already_exists", "free_teams_cannot_edit_standalone_canvases",
                      "canvas_not_found", "canvas_disabled", UNSURE})


@dataclass
class _Switch:
    enabled: bool = True


SWITCH = _Switch()


def configure(settings: Settings) -> None:
    """CANVAS on/off, for this process (listeners.register and the job call it)."""
    SWITCH.enabled = settings.canvas


def subject_of(milestone_id: int) -> str:
    return f"milestone:{milestone_id}"


# ---- owing ----------------------------------------------------------------------------------------------


def canvas_owed(session: Session, milestone_id: int, now: datetime, *, immediate: bool = False) -> int | None:
    """Record, in the caller's transaction, that the milestone's canvas must be rewritten; the outbox row's id
    (a pending one this change joins, or a new one), or None when the milestone has no canvas to keep.

    bot.core.audit calls it for every audited change to the report (content, sign-offs, actions, feedback);
    after the commit, `outbox.deliver(deps, client, [id])` sends it when it is due (or the clock does)."""
    if not SWITCH.enabled:
        return None
    canvas = session.scalar(select(MilestoneCanvas).where(MilestoneCanvas.milestone_id == milestone_id)
                            .with_for_update())
    if canvas is None or (canvas.problem in BLOCKING and not immediate):
        return None
    subject = subject_of(milestone_id)
    pending = session.scalar(select(Delivery).where(Delivery.kind == KIND, Delivery.subject == subject,
                                                    Delivery.status == DeliveryStatus.PENDING)
                             .order_by(Delivery.id).limit(1).with_for_update())
    if pending is not None:  # it renders at send time, after this commit: it carries this change too
        if immediate:
            pending.not_before = None
        pending.lease_until = now  # a write, so SQLite and PostgreSQL both hold it until the caller commits
        return pending.id
    in_flight = session.scalar(select(Delivery.id).where(Delivery.kind == KIND, Delivery.subject == subject,
                                                         Delivery.status == DeliveryStatus.CLAIMED).limit(1))
    not_before = None if immediate else next_refresh_at(canvas, now, int(EVERY.total_seconds()))
    if in_flight is not None:  # one write at a time: this one follows the one in flight
        not_before = now + EVERY
    canvas.refreshes += 1
    session.flush()
    return deliveries.owe(session, kind=KIND, recipient_id=f"refresh:{canvas.refreshes}", subject=subject,
                          local_date=now.date(), now=now, op="canvas", target=canvas.channel_id or "-",
                          payload={}, team_id=canvas.team_id, not_before=not_before)


audit.watch(canvas_owed)  # every audited change to a milestone's report owes its canvas a rewrite
