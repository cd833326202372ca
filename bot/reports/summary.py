"""The summary band at the top of every format: the figures a reader wants first, each linking to the
part of the report it comes from (by outline key)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.reports.formatting import NOT_PROVIDED, fmt_num, fmt_pct, fmt_signed
from bot.reports.report import Report


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    target: str  # the outline key of the part or subsection it summarises
    tone: str = ""  # "bad" / "good": coloured in HTML and PDF; the words say it too


def budget(r: Report) -> Figure:
    """The total variance in the milestone's currency and what it means: `-€2,100 (under budget)` (the band
    and the Slack summary both show it)."""
    t = r.budget_total
    if t is None or t.variance is None:
        return Figure("Budget", NOT_PROVIDED, "budget")
    tone = "bad" if t.variance > 0 else "good" if t.variance < 0 else ""
    return Figure("Budget", f"{t.variance_label} ({t.verdict.lower()})", "budget", tone)


def _tests(r: Report) -> Figure:
    q = r.testing
    if q is None or q.passed_pct is None:
        return Figure("Tests passed", NOT_PROVIDED, "testing")
    return Figure("Tests passed", f"{fmt_pct(q.passed_pct)} ({fmt_num(q.passed)} of {fmt_num(q.total)})", "testing")


def _actions(r: Report) -> Figure:
    open_items, overdue = r.open_actions, r.overdue_actions
    if not open_items and not r.tech_debt and not any(r.actions.values()):
        return Figure("Actions", NOT_PROVIDED, "activities")
    escalated = sum(1 for a in overdue if "escalated" in a.history_label)
    text = f"{len(open_items)} open, {len(overdue)} overdue" + (f" ({escalated} escalated)" if escalated else "")
    return Figure("Actions", text, "activities", "bad" if overdue else "")


def _nps(r: Report) -> Figure:
    m = r.feedback.metrics
    if m.nps is None:
        return Figure("NPS", r.feedback.responses_label, "user-acceptance")
    return Figure("NPS", f"{fmt_signed(m.nps)} ({r.feedback.responses_label})", "user-acceptance")


def figures(r: Report) -> list[Figure]:
    """The band, in reading order: where the report stands, then time, money, quality, sign-off, follow-up."""
    state_tone = {"Accepted": "good", "Changes requested": "bad"}.get(r.state, "")
    criteria = r.criteria_summary
    return [
        Figure("Report", r.state, "acceptance", state_tone),
        Figure("Milestone", r.status_label, "schedule"),
        Figure("Schedule", r.schedule_variance_label, "schedule", r.schedule_tone),
        budget(r),
        Figure("Success criteria", criteria.label, "criteria", "bad" if criteria.not_met else ""),
        _tests(r),
        Figure("Sign-off", r.signoff_progress.label + r.signed_outside_note, "acceptance",
               "bad" if r.signoff_progress.rejected else ""),
        _actions(r),
        _nps(r),
    ]
