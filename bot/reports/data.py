"""The compiled report as plain dataclasses: every figure as a number and as the label every output shows.

Built by bot.reports.loading; read by the templates (through bot.reports.document), the Slack summary and
tests. Templates never compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.core.formats import money
from bot.feedback.service import FeedbackMetrics
from bot.reports.formatting import NOT_PROVIDED, fmt_num, fmt_pct, fmt_signed
from models import ActionStatus, Decision


@dataclass(frozen=True)
class ObjectiveRow:
    label: str  # "Primary Objective"
    title: str
    description: str | None


@dataclass(frozen=True)
class CriterionRow:
    criterion: str
    target: str | None
    actual: str | None
    status: str
    status_label: str
    notes: str | None


@dataclass(frozen=True)
class CriteriaSummary:
    total: int
    met: int
    partial: int
    not_met: int
    pending: int

    @property
    def label(self) -> str:
        if not self.total:
            return NOT_PROVIDED
        parts = [f"{self.met} of {self.total} met"]
        parts += [f"{n} {what}" for n, what in
                  ((self.partial, "partial"), (self.not_met, "not met"), (self.pending, "pending")) if n]
        return ", ".join(parts)


@dataclass(frozen=True)
class DeliverableRow:
    name: str
    description: str | None
    acceptance_criteria: str | None
    status_label: str
    signoff: str | None  # "Name, 2025-03-14"
    deferral_reason: str | None
    new_target: str | None
    impact_label: str
    addition_reason: str | None


@dataclass(frozen=True)
class PhaseRow:
    name: str
    planned_label: str
    actual_label: str
    variance_days: Decimal | None
    variance_label: str
    notes: str | None

    @property
    def variance_label_tone(self) -> str:
        return _tone(self.variance_days)


@dataclass(frozen=True)
class EffortRow:
    role: str
    planned: Decimal | None
    actual: Decimal | None
    variance: Decimal | None  # actual − planned
    efficiency: Decimal | None  # planned / actual, whole %

    @property
    def planned_label(self) -> str:
        return fmt_num(self.planned)

    @property
    def actual_label(self) -> str:
        return fmt_num(self.actual)

    @property
    def variance_label(self) -> str:
        """"+20 over" / "-10 under": the sign in words too (hours beyond the plan)."""
        word = " over" if self.variance and self.variance > 0 else " under" if self.variance else ""
        return fmt_signed(self.variance) + word

    @property
    def variance_label_tone(self) -> str:
        return _tone(self.variance)

    @property
    def efficiency_label(self) -> str:
        return fmt_pct(self.efficiency)


def _tone(variance: Decimal | int | None) -> str:
    """More than planned (late, over budget, more hours) reads as bad, less as good."""
    return "" if not variance else "bad" if variance > 0 else "good"


def budget_verdict(variance: Decimal | None) -> str:
    if variance is None:
        return "—"
    return "Under budget" if variance < 0 else "Over budget" if variance > 0 else "On budget"


@dataclass(frozen=True)
class BudgetRow:
    category: str
    budgeted: Decimal | None
    actual: Decimal | None
    variance: Decimal | None  # actual − budgeted
    notes: str | None  # the team's note
    currency: str  # the milestone's: every amount is shown in it

    @property
    def budgeted_label(self) -> str:
        return money(self.budgeted, self.currency)

    @property
    def actual_label(self) -> str:
        return money(self.actual, self.currency)

    @property
    def variance_label(self) -> str:
        """-$2,500 / $0 / +$400, as the template writes budget variances."""
        return money(self.variance, self.currency, signed=True)

    @property
    def variance_label_tone(self) -> str:
        return _tone(self.variance)

    @property
    def verdict(self) -> str:
        return budget_verdict(self.variance)

    @property
    def notes_label(self) -> str:
        """The computed verdict, then the team's note: "Over budget — Additional license needed"."""
        verdict = self.verdict
        if self.notes:
            return self.notes if verdict == "—" else f"{verdict} — {self.notes}"
        return verdict


@dataclass(frozen=True)
class Testing:
    total: int | None
    passed: int | None
    failed: int | None
    blocked: int | None
    passed_pct: Decimal | None
    failed_pct: Decimal | None
    blocked_pct: Decimal | None
    coverage_label: str

    @property
    def total_label(self) -> str:
        return fmt_num(self.total)

    @property
    def passed_label(self) -> str:
        return f"{fmt_num(self.passed)} ({fmt_pct(self.passed_pct)})"

    @property
    def failed_label(self) -> str:
        return f"{fmt_num(self.failed)} ({fmt_pct(self.failed_pct)})"

    @property
    def blocked_label(self) -> str:
        return fmt_num(self.blocked)


@dataclass(frozen=True)
class DefectRow:
    severity_label: str
    found: int
    fixed: int
    outstanding: int
    deferred: int


@dataclass(frozen=True)
class CodeQuality:
    lines_of_code: str
    code_coverage: str
    tech_debt_hours: str
    complexity: str
    review_coverage: str


@dataclass(frozen=True)
class BenchmarkRow:
    metric: str
    target: str | None
    achieved: str | None
    status_label: str


@dataclass(frozen=True)
class RiskRow:
    risk: str
    probability_label: str
    impact_label: str
    management: str | None
    effectiveness: str | None
    lessons: str | None


@dataclass(frozen=True)
class LessonRow:
    title: str
    description: str | None


@dataclass(frozen=True)
class HandoverRow:
    component: str
    from_team: str | None
    to_team: str | None
    status_label: str
    date_label: str


@dataclass(frozen=True)
class ActionRow:
    id: int
    description: str
    owner: str
    due: date | None
    status: str
    status_label: str
    overdue: bool
    priority_label: str
    effort_label: str
    planned_sprint: str | None
    reminders: int
    history_label: str  # "reminded 3×, escalated on 2025-03-31" (bot.actions.service.reminder_history)

    @property
    def done(self) -> bool:
        return self.status == ActionStatus.DONE

    @property
    def state_label(self) -> str:
        if self.status == ActionStatus.OPEN and self.overdue:
            return "⚠️ Overdue"
        return self.status_label

    @property
    def item_label(self) -> str:
        """The technical debt table's first cell: "Replace the session store (Ava Johnson, Open)"."""
        return f"{self.description} ({self.owner}, {self.state_label})"


@dataclass(frozen=True)
class SignoffRow:
    role: str
    name: str  # who holds the role now
    decision: str | None  # Decision value of the current sign-off, None = pending
    signature: str  # "✅ Approved (rev 7)", "⚠️ Outdated — ✅ Approved rev 5, report now rev 7", "⏳ Pending"
    date_label: str
    revision: int | None
    outdated: bool
    required: bool
    outside: bool = False  # a signature an imported report recorded: shown, never an approval in the app

    @property
    def approved(self) -> bool:
        return not self.outside and not self.outdated and self.decision in (Decision.APPROVED,
                                                                            Decision.APPROVED_WITH_CONDITIONS)


@dataclass(frozen=True)
class Condition:
    who: str  # "Pat Manager (Project Manager)"
    kind: str  # "Condition", "Comment", "Rejection reason" ("Note" for a signature given outside Slack)
    text: str
    outdated: bool
    outside: bool = False  # said with a signature given outside Slack (an imported report's)


@dataclass(frozen=True)
class AppendixRow:
    letter: str
    title: str
    links: list[tuple[str | None, str | None]]  # (url, note)


@dataclass(frozen=True)
class ThemeRow:
    label: str
    count: int
    comments: list[str]


@dataclass(frozen=True)
class Feedback:
    metrics: FeedbackMetrics
    participants: str | None
    scenarios_label: str
    acceptance_rate_label: str
    acceptance_key_feedback: str | None
    beta_users_label: str
    satisfaction_label: str
    nps_label: str
    themes: list[ThemeRow]
    responses_label: str
    business_goals_label: str
    roi_label: str
    market_response: str | None

    counts_note: str | None = None  # how the response counts relate (satisfaction vs beta users)

    @property
    def themes_label(self) -> str | None:
        """Beside "Key Feedback Themes": nothing when the themes follow as a list."""
        if self.themes:
            return ""
        return NOT_PROVIDED if self.metrics.count else self.responses_label
