"""Rows of the report built from model objects: effort and action rows, sign-offs with their progress and
conditions, appendices, and the stakeholder feedback figures."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from bot.actions.service import ReminderHistory, is_overdue
from bot.feedback.service import compute_metrics
from bot.reports.data import (
    ActionRow,
    AppendixRow,
    Condition,
    EffortRow,
    Feedback,
    SignoffRow,
    ThemeRow,
)
from bot.reports.formatting import (
    NOT_PROVIDED,
    OUTDATED,
    SIGNED_OUTSIDE,
    fmt_date,
    fmt_days,
    fmt_num,
    fmt_pct,
    fmt_signed,
    mark,
    percent,
    person,
)
from bot.reports.formatting import choice_label as _label
from bot.reports.formatting import text_or_none as _text
from bot.sections.service import SECTIONS, record
from bot.signoffs.edits import EditorialEdit
from bot.signoffs.service import SignoffProgress, signoff_progress
from models import ActionItem, ActionStatus, Decision, Milestone
from models.feedback import FeedbackGroup
from models.sections import AppendixKind, Level, RoiProjection

MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>")


def mentioned(m: Milestone) -> set[str]:
    """People mentioned as `<@U…>` in any text of the report's sections."""
    ids: set[str] = set()
    for section in SECTIONS:
        holders = [record(m, section)] if not section.is_table else list(getattr(m, section.relation))
        for holder in holders:
            for spec in section.specs():
                value = getattr(holder, spec.name, None) if holder is not None else None
                if isinstance(value, str) and "<@" in value:
                    ids |= set(MENTION.findall(value))
    return ids


def sum_of(values: Any) -> Decimal | None:
    """The sum of the given figures; None when none was given (a total of nothing is not 0)."""
    present = [Decimal(v) for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def diff(actual: Decimal | None, planned: Decimal | None) -> Decimal | None:
    return None if actual is None or planned is None else Decimal(actual) - Decimal(planned)


def effort_row(role: str, planned: Decimal | None, actual: Decimal | None) -> EffortRow:
    # Efficiency = planned / actual: more hours than planned is below 100% (the template's +XX → 95%).
    efficiency = percent(planned, actual, "1") if planned is not None else None
    return EffortRow(role, planned, actual, diff(actual, planned), efficiency)


def action_row(item: ActionItem, owner: str, h: ReminderHistory | None, today: date) -> ActionRow:
    overdue = is_overdue(item.status, item.due_date, item.snoozed_until, today)  # today: the owner's
    effort = "—" if item.effort_days is None else fmt_days(item.effort_days)
    return ActionRow(
        id=item.id, description=item.description, owner=owner, due=item.due_date, status=item.status,
        status_label=_label(ActionStatus, item.status), overdue=overdue, priority_label=_label(Level, item.priority),
        effort_label=effort, planned_sprint=item.planned_sprint, reminders=h.reminded if h else 0,
        history_label=h.summary() if h else "",
    )


Signoffs = tuple[list[SignoffRow], SignoffProgress, list[Condition]]


def signoffs(m: Milestone, name: Callable[[str | None], str], editorial: tuple[EditorialEdit, ...] = ()) -> Signoffs:
    """Per role, as the sign-off lifecycle reads it (bot.signoffs.service.signoff_progress, the one rule): the
    current decision, else the newest outdated one, marked; who actually signed, a role reassigned since, and
    the editorial edits made after a sign-off that is still valid ("editorial edit at revision 8 by Ann")."""
    progress = signoff_progress(m)
    rows: list[SignoffRow] = []
    conditions: list[Condition] = []
    revision = m.revision or 1
    for role in progress.roles:
        slot = role.slot
        shown = role.current or role.outdated
        holder = name(slot.approver_id)
        if shown is None:
            rows.append(SignoffRow(slot.role, holder, None, "⏳ Pending", "—", None, False, slot.required))
            continue
        outdated = role.current is None
        decision = mark(Decision, shown.decision)
        signer = name(shown.approver_id)
        behalf = getattr(shown, "on_behalf_of", None)
        by = f" by {signer}" if shown.approver_id != slot.approver_id else ""
        if behalf:
            by = f" by {signer} for {name(behalf)}"
        if role.signer_changed:
            by += f"; role since reassigned to {holder}"
        if outdated:
            signature = f"{OUTDATED} — {decision} rev {shown.revision}{by}; report now rev {revision}"
        else:
            since = [e for e in editorial if e.revision > shown.revision][-3:]  # the newest few
            signature = f"{decision} (rev {shown.revision}){by}" + "".join(
                f"; editorial edit at revision {e.revision} by {name(e.actor_id)}" for e in since)
        rows.append(SignoffRow(slot.role, signer if role.signer_changed else holder, shown.decision, signature,
                               fmt_date(shown.decided_at), shown.revision, outdated, slot.required))
        who = f"{signer} ({slot.role})"
        for kind, text in (("Condition", shown.conditions), ("Rejection reason", shown.reason),
                           ("Comment", shown.comments)):
            if text and text.strip():
                conditions.append(Condition(who, kind, text.strip(), outdated))
    outside, notes = signed_outside(m, name)
    return rows + outside, progress, conditions + notes


_NOTE_KINDS = re.compile(r"^(Condition|Comment|Rejection reason): ")
NOTE = "Note"  # the kind of a note that names none of the above


def note_parts(note: str) -> tuple[str, str]:
    """An imported signature's note, "Condition: text", as (kind, text); ("Note", note) when it names no kind.
    The importer stores it that way (bot.imports.rows), so the two read each other exactly."""
    match = _NOTE_KINDS.match(note)
    return (match.group(1), note[match.end():]) if match else (NOTE, note)


def signed_outside(m: Milestone, name: Callable[[str | None], str]) -> tuple[list[SignoffRow], list[Condition]]:
    """The signatures an imported report recorded, after the roles of the sign-off in Slack: marked as given
    outside Slack, never approvals (bot.signoffs.service.signoff_progress does not read them)."""
    rows: list[SignoffRow] = []
    conditions: list[Condition] = []
    for e in m.external_signoffs:
        shown = person(e.user_id, e.name, name) or "—"
        decision = _label(Decision, e.decision).split(" ", 1)[-1]  # the word, without the app's icon
        rows.append(SignoffRow(e.role, shown, e.decision, f"✍️ {decision}, {SIGNED_OUTSIDE}",
                               e.signed_on.isoformat() if e.signed_on else "—", None, False, False, outside=True))
        if e.note and e.note.strip():
            kind, text = note_parts(e.note)
            conditions.append(Condition(f"{shown} ({e.role})", kind, text, False, outside=True))
    return rows, conditions


def appendices(m: Milestone) -> list[AppendixRow]:
    """A–F in the template's order (each "Not provided" until linked), then any others from G on."""
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for a in m.appendices:
        by_kind[a.kind].append(a)
    rows: list[AppendixRow] = []
    kinds = [k for k in AppendixKind if k != AppendixKind.OTHER]
    for letter, kind in zip("ABCDEF", kinds, strict=True):
        links = [(a.url, _text(a.note)) for a in by_kind.get(kind.value, [])]
        rows.append(AppendixRow(letter, kind.label, links))
    for letter, a in zip("GHIJKLMNOPQRSTUVWXYZ", by_kind.get(AppendixKind.OTHER.value, []), strict=False):
        rows.append(AppendixRow(letter, _text(a.note) or "Other", [(a.url, None)]))
    return rows


def feedback(m: Milestone) -> Feedback:
    metrics = compute_metrics(list(m.feedback))
    sv = m.stakeholder_validation
    if metrics.acceptance_rate is None:
        acceptance = "No responses yet" if not metrics.count else "No answers from acceptance testers yet"
    else:
        acceptance = f"{fmt_pct(metrics.acceptance_rate)} ({metrics.acceptance_yes} of {metrics.acceptance_total} " \
                     "acceptance testers accept)"
    if metrics.avg_satisfaction is None:
        satisfaction = nps = "No responses yet"
    else:
        satisfaction = f"{fmt_num(metrics.avg_satisfaction)}/5 ({metrics.count} responses)"
        nps = (f"{fmt_signed(metrics.nps)} ({metrics.promoters} promoters, {metrics.passives} passives, "
               f"{metrics.detractors} detractors)")
    themes = [ThemeRow(t.theme.label, t.answers, list(t.comments)) for t in metrics.themes if t.answers]
    beta_answers = metrics.by_group.get(FeedbackGroup.BETA_USER, 0)
    beta = fmt_num(sv.beta_users) if sv and sv.beta_users is not None else NOT_PROVIDED
    if beta_answers:
        beta += f" ({beta_answers} gave feedback)"
    note = None
    if metrics.count:
        groups = ", ".join(f"{n} {g.label.lower()}{'s' if n != 1 else ''}" for g, n in metrics.by_group.items() if n)
        note = (f"Satisfaction and NPS count all {metrics.count} feedback responses ({groups}); Beta Users counts "
                f"everyone in the beta, {beta_answers} of whom gave feedback.")
    goals = NOT_PROVIDED
    if sv and sv.business_goals_met is not None:
        goals = f"{sv.business_goals_met}/{sv.business_goals_total}" if sv.business_goals_total \
            else str(sv.business_goals_met)
    return Feedback(
        metrics=metrics,
        participants=_text(sv.participants) if sv else None,
        scenarios_label=f"{fmt_num(sv.scenarios_completed)} completed" if sv and sv.scenarios_completed is not None
        else NOT_PROVIDED,
        acceptance_rate_label=acceptance,
        acceptance_key_feedback=_text(sv.acceptance_key_feedback) if sv else None,
        beta_users_label=beta,
        satisfaction_label=satisfaction,
        nps_label=nps,
        themes=themes,
        responses_label=f"{metrics.count} response{'s' if metrics.count != 1 else ''}" if metrics.count
        else "No responses yet",
        business_goals_label=goals,
        roi_label=_label(RoiProjection, sv.roi_projection) if sv and sv.roi_projection else NOT_PROVIDED,
        market_response=_text(sv.market_response) if sv else None,
        counts_note=note,
    )


def contributors_label(contributed: dict[str, list[tuple[str, int]]], name: Callable[[str | None], str]) -> str | None:
    """The footer's contributors: "Budget: Dana Lee (revision 5), Olivia Owner (revision 7); Risks: …", from
    bot.assignments.service.contributors (None: nobody has filled a section through Slack yet)."""
    titles = {s.key: s.title for s in SECTIONS}
    parts = [f"{titles.get(key, key)}: " + ", ".join(f"{name(who)} (revision {revision})" for who, revision in people)
             for key, people in contributed.items() if people]
    return "; ".join(parts) or None
