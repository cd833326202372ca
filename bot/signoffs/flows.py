"""Sign-off orchestration: each change and the messages it owes, recorded in the outbox in the same
transaction, delivered right after the commit (and by the clock's sweep if this process dies first).

Messages (outbox kinds), each rendered from the database at send time (bot.signoffs.jobs):
- ASK: one DM per approver per request round, listing every role they are asked to sign, edited in place
  (ASK_EDIT) as roles are decided, withdrawn or superseded;
- STATUS: the one status message per milestone in its channel, edited in place (STATUS_EDIT);
- ACCEPTED: the acceptance, in the status message's thread; OWNER: the owner's DM for a rejection, an
  approval with conditions, and acceptance;
- the final report (bot.reports.flows_final): posted once on acceptance, edited when the acceptance is
  withdrawn or given again.
Re-asks after a change of substance wait SIGNOFF_SETTLE_MINUTES; changes within that window push them back,
so a burst of edits asks each approver once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.assignments import service as assignments
from bot.assignments import views as assignment_views
from bot.canvas.service import canvas_owed
from bot.core import deliveries
from bot.deps import Deps
from bot.reports import flows_final
from bot.reports.service import report_url
from bot.signoffs import content, edits, rounds, views_owner
from bot.signoffs import jobs as messages
from bot.signoffs.decisions import DecisionResult
from bot.signoffs.rounds import NewRequest
from bot.signoffs.service import earlier_requests
from bot.slack import outbox
from bot.slack.forms import Block
from bot.slack.text import esc
from models import Delivery, DeliveryStatus, Milestone, SignOff, SignOffRequest, utcnow

log = logging.getLogger(__name__)


def _token(now: datetime) -> str:
    return now.strftime("%H%M%S%f")


@dataclass
class Owed:
    """The messages one transaction owes, to deliver after its commit."""

    deps: Deps
    session: Session
    milestone: Milestone
    now: datetime
    ids: list[int | None]

    def _owe(self, kind: str, recipient: str, subject: str, *, op: str, target: str, payload: dict[str, Any],
             not_before: datetime | None = None, day: Any = None) -> int | None:
        owed = deliveries.owe(self.session, kind=kind, recipient_id=recipient, subject=subject,
                              local_date=day or self.now.date(), now=self.now, op=op, target=target,
                              payload=payload, team_id=self.milestone.team_id, not_before=not_before)
        self.ids.append(owed)
        return owed

    def link(self) -> str:
        return report_url(self.deps.settings, self.milestone.id, self.milestone.revision, self.now)

    def asks(self, requests: list[NewRequest], *, settle: bool = False) -> dict[str, int | None]:
        """One DM per approver for these new requests (all their roles together); per approver, its id."""
        by_approver: dict[str, list[int]] = {}
        for request in requests:
            by_approver.setdefault(request.approver_id, []).append(request.request_id)
        not_before = self.now + timedelta(minutes=self.deps.settings.signoff_settle_minutes) if settle else None
        return {
            approver: self._owe(messages.ASK, approver, f"ask:m{self.milestone.id}:{ids[0]}", op="post",
                                target=approver, payload={"requests": ids, "link": self.link()},
                                not_before=not_before)
            for approver, ids in by_approver.items()
        }

    def ask_edits(self, request_ids: list[int], *, not_before: datetime | None = None) -> None:
        """Edit the DMs that carry these requests in place (no new notification)."""
        for request_id in request_ids:
            approver = self.session.scalar(select(SignOffRequest.approver_id).where(
                SignOffRequest.id == request_id)) or "?"
            self._owe(messages.ASK_EDIT, approver, f"edit:m{self.milestone.id}:{request_id}:{_token(self.now)}",
                      op="update", target=approver, payload={"request": request_id, "link": self.link()},
                      not_before=not_before)

    def status(self, fallback_channel: str | None = None) -> int | None:
        """Post the milestone's status message the first time, edit it afterwards (rendered at send time).
        The milestone's canvas shows the same sign-off state, so it is owed a rewrite too."""
        milestone = self.milestone
        self.ids.append(canvas_owed(self.session, milestone.id, self.now))
        if milestone.signoff_status_ts:
            return self._owe(messages.STATUS_EDIT, milestone.signoff_status_channel or "?",
                             f"status:m{milestone.id}:{_token(self.now)}", op="update",
                             target=milestone.signoff_status_channel or "", payload={"milestone": milestone.id})
        channel = milestone.signoff_status_channel or milestone.report_channel_id or fallback_channel
        if not channel:
            return None
        milestone.signoff_status_channel = channel
        return self._owe(messages.STATUS, channel, f"status:m{milestone.id}", op="post", target=channel,
                         payload={"milestone": milestone.id})

    def decision(self, signoff_id: int, decision: str) -> None:
        """The owner hears a rejection or an approval with conditions (one DM per decision)."""
        if decision == "approved":
            return
        self._owe(messages.OWNER, self.milestone.owner_id, f"decision:{signoff_id}", op="post",
                  target=self.milestone.owner_id, payload={"signoff": signoff_id, "link": self.link()})

    def accepted(self) -> None:
        """Acceptance: in the status message's thread, and one DM to the owner."""
        milestone = self.milestone
        revision = milestone.accepted_revision or milestone.revision
        channel = milestone.signoff_status_channel or milestone.report_channel_id
        if channel:
            self._owe(messages.ACCEPTED, channel, f"accepted:m{milestone.id}:r{revision}", op="post",
                      target=channel, payload={"milestone": milestone.id})
        self._owe(messages.OWNER, milestone.owner_id, f"accepted:m{milestone.id}:r{revision}", op="post",
                  target=milestone.owner_id, payload={"accepted": milestone.id, "link": self.link()})

    def final_report(self) -> None:
        """The final report's one post: owed on acceptance (if the owner wants it), edited after (withdrawn,
        accepted again)."""
        self.ids.append(flows_final.owe(self.session, self.milestone, self.now, self.link()))

    def _settling(self) -> Any:
        return select(Delivery.id).where(
            Delivery.kind.in_([messages.ASK, messages.ASK_EDIT]), Delivery.subject.like(f"%:m{self.milestone.id}:%"),
            Delivery.status == DeliveryStatus.PENDING, Delivery.not_before > self.now)

    def settle_now(self) -> int:
        """Send the re-asks still waiting for edits to settle now (the owner asked again)."""
        ids = list(self.session.scalars(self._settling()))
        if ids:
            self.session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(not_before=self.now)
                                 .execution_options(synchronize_session=False))
            self.ids.extend(ids)
        return len([i for i in ids if i is not None])

    def settle_later(self) -> None:
        """A change within the settle window pushes back the re-asks still waiting for it."""
        later = self.now + timedelta(minutes=self.deps.settings.signoff_settle_minutes)
        self.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(self._settling()))
            .values(not_before=later)
            .execution_options(synchronize_session=False))


def deliver(deps: Deps, client: WebClient, owed: list[int | None]) -> list[outbox.Result]:
    return outbox.deliver(deps, client, owed)


# ---- flows ------------------------------------------------------------------------------------------------


@dataclass
class Asked:
    result: rounds.RequestResult
    key: str
    status_channel: str | None
    results: list[outbox.Result]
    dm_ids: dict[str, int | None]
    status_id: int | None
    released: int = 0  # re-asks that were waiting for edits to settle, sent now


def request_all(deps: Deps, client: WebClient, milestone_id: int, actor_id: str, fallback_channel: str) -> Asked:
    """Ask every role that still has to sign: DMs and the status message owed with the change."""
    now = utcnow()
    with deps.session() as session:
        result = rounds.request_signoff(session, milestone_id, actor_id, now)
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        owed = Owed(deps, session, milestone, now, [])
        dm_ids = owed.asks(result.created)
        released = owed.settle_now()
        status_id = owed.status(fallback_channel) if result.created or not milestone.signoff_status_ts else None
        key, channel = milestone.key, milestone.signoff_status_channel
    return Asked(result, key, channel, deliver(deps, client, owed.ids), dm_ids, status_id, released)


RoleChanged = tuple[rounds.RoleChange, list[outbox.Result], dict[str, int | None]]


def change_role(deps: Deps, client: WebClient, milestone_id: int, verb: str, role: str, person: str | None,
                actor_id: str, *, is_admin: bool) -> RoleChanged:
    """Reassign or delegate a role: the closed requests' DMs are edited, the new holder is asked."""
    now = utcnow()
    with deps.session() as session:
        if verb == "reassign":
            assert person is not None
            change = rounds.reassign(session, milestone_id, role, person, actor_id, now, is_admin=is_admin)
        else:
            change = rounds.delegate(session, milestone_id, role, person, actor_id, now, is_admin=is_admin)
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        owed = Owed(deps, session, milestone, now, [])
        owed.ask_edits(change.closed)
        dm_ids = owed.asks(change.new_requests)
        if milestone.signoff_status_ts or milestone.signoff_status_channel:
            owed.status()
        if change.acceptance_withdrawn:
            owed.final_report()
    return change, deliver(deps, client, owed.ids), dm_ids


def after_decision(deps: Deps, session: Session, result: DecisionResult, now: datetime) -> list[int | None]:
    """Inside the deciding transaction: the messages the decision owes."""
    milestone = session.get(Milestone, result.milestone_id)
    signoff = session.get(SignOff, result.signoff_id)
    assert milestone is not None and signoff is not None
    owed = Owed(deps, session, milestone, now, [])
    owed.ask_edits(result.answered)
    owed.status()
    owed.decision(signoff.id, signoff.decision)
    if result.accepted_now:
        owed.accepted()
        owed.final_report()
    return owed.ids


def accepted_hooks(deps: Deps, client: WebClient, milestone_id: int, actor_id: str) -> None:
    """Other features' reactions to acceptance (the canvas, the final report's files), after the commit and
    the delivery of what the acceptance owed."""
    for hook in deps.on_accepted:
        try:
            hook(client, milestone_id, actor_id)
        except Exception:  # one failing hook must not stop the others; the acceptance is committed
            log.exception("on_accepted hook %r failed for milestone %s", hook, milestone_id)


def owe_after_change(deps: Deps, session: Session, milestone_id: int, actor_id: str, sections: list[str],
                     now: datetime) -> list[int | None]:
    """Inside the transaction that changed the report's substance: outdate older sign-offs, owe the re-asks
    (after the settle window) and the edits of the DMs and status message. Deliver the ids after the commit.
    The sections feature may call this in its saving transaction, so a crash after the commit loses nothing."""
    result = rounds.outdate_signoffs(session, milestone_id, actor_id, sections, now)
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or not (result.outdated or result.moved):
        return []
    owed = Owed(deps, session, milestone, now, [])
    owed.settle_later()
    owed.asks(result.new_requests, settle=True)
    settle = now + timedelta(minutes=deps.settings.signoff_settle_minutes)
    owed.ask_edits(earlier_requests(session, [r.request_id for r in result.new_requests]), not_before=settle)
    owed.ask_edits(result.refreshed)
    owed.status()
    if result.acceptance_withdrawn:
        owed.final_report()
    return owed.ids


def content_changed(deps: Deps, client: WebClient, milestone_id: int, actor_id: str, sections: list[str]) -> None:
    """The after-commit content hook (deps.on_content_changed): the same, in a transaction of its own."""
    with deps.session() as session:
        owed = owe_after_change(deps, session, milestone_id, actor_id, sections, utcnow())
    deliver(deps, client, owed)


def owe_editorial(deps: Deps, session: Session, milestone: Milestone, actor_id: str, sections: list[str],
                  now: datetime) -> list[int | None]:
    """Inside the transaction that saved an edit the owner marked "editorial, no change of substance" (a typo):
    every sign-off stays valid (rounds.outdate_signoffs skips editorial revisions); the audit trail says so, and
    the status message is owed an edit to show it. Deliver the ids after the commit."""
    edits.mark_editorial(session, milestone, actor_id, sections)
    owed = Owed(deps, session, milestone, now, [])
    if milestone.signoff_status_ts:
        owed.status()
    return owed.ids


# ---- the completeness gate ----------------------------------------------------------------------------------


def gate(session: Session, milestone: Milestone) -> tuple[str, list[Block]] | None:
    """The completeness gate before sign-off is first requested: None when nothing is empty."""
    groups = content.empty_by_heading(milestone)
    if not groups:
        return None
    text, blocks = views_owner.completeness_prompt(milestone, groups, content.open_asks(session, milestone))
    asked = list(assignments.for_milestone(session, milestone.id).values())
    today = datetime.now(UTC).date()
    # "Remind everyone who owes a section" goes above the gate's own buttons (the last block).
    return text, [*blocks[:-1], *assignment_views.gate_blocks(milestone, asked, today), blocks[-1]]


def asked_summary(asked: Asked) -> str:
    """What the person who asked reads: who was asked, who could not be reached, where progress is tracked."""
    status = {r.id: r for r in asked.results}
    result = asked.result
    roles: dict[str, list[str]] = {}
    for request in result.created:
        roles.setdefault(request.approver_id, []).append(request.role)
    sent = [a for a, i in asked.dm_ids.items() if i is not None and getattr(status.get(i), "status", "")
            in ("sent", "found")]
    failed = [a for a, i in asked.dm_ids.items() if i is not None and getattr(status.get(i), "status", "") == "failed"]
    later = [a for a in roles if a not in sent and a not in failed]
    lines = []
    if sent:
        people = ", ".join(f"<@{a}> ({esc(', '.join(roles[a]))})" for a in sent)
        lines.append(f":incoming_envelope: Asked to sign {esc(asked.key)}: {people}.")
    if failed:
        lines.append(f":warning: Could not DM {', '.join(f'<@{a}>' for a in failed)}: Slack refused. "
                     "Check that they are in this workspace, then reassign their roles.")
    if later:
        lines.append(f"Asking {', '.join(f'<@{a}>' for a in later)}: Slack is slow; the DM goes out within a minute.")
    if result.already_asked:
        lines.append(f"Already waiting (not asked twice): {esc(', '.join(result.already_asked))}.")
    if result.already_decided:
        lines.append(f"Already decided (asked again only when the report changes): "
                     f"{esc(', '.join(result.already_decided))}.")
    status_result = status.get(asked.status_id) if asked.status_id is not None else None
    if status_result is not None and status_result.status == "failed":
        lines.append(f":warning: Could not post the sign-off status in <#{asked.status_channel}> "
                     f"({esc(status_result.detail)}); invite the bot there (`/invite @Milestone Bot`) and run this "
                     "again.")
    elif asked.status_channel and asked.status_id is not None:
        lines.append(f"Progress is tracked in one message in <#{asked.status_channel}>.")
    if asked.released:
        lines.append(f"Sent {asked.released} re-ask(s) that were waiting for the edits to settle.")
    if not result.created and not asked.released:
        lines.append(f"Nothing to ask: every role of {esc(asked.key)} has been asked or has decided.")
    lines.append(f"`/milestone signoffs {esc(asked.key)}` shows who signed.")
    return "\n".join(lines)
