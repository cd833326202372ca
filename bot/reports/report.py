"""The compiled report, `Report`: every part of a milestone's report as plain data (bot.reports.data), with
the few figures the summary, the templates and the Slack message all read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.reports.data import (
    ActionRow,
    AppendixRow,
    BenchmarkRow,
    BudgetRow,
    CodeQuality,
    Condition,
    CriteriaSummary,
    CriterionRow,
    DefectRow,
    DeliverableRow,
    EffortRow,
    Feedback,
    HandoverRow,
    LessonRow,
    ObjectiveRow,
    PhaseRow,
    RiskRow,
    SignoffRow,
    Testing,
)
from bot.reports.formatting import NOT_PROVIDED, SIGNED_OUTSIDE, fmt_date
from bot.reports.state import ReportState
from bot.signoffs.service import SignoffProgress
from models import ActionStatus


@dataclass(frozen=True)
class ArchitectureRow:
    change: str
    rationale: str | None


@dataclass(frozen=True)
class TaskRow:
    task: str
    description: str | None
    timeline: str | None


@dataclass(frozen=True)
class ApiDocs:
    new: str
    modified: str
    deprecated: str


@dataclass(frozen=True)
class DatabaseChanges:
    schema: str | None
    optimizations: str | None


@dataclass(frozen=True)
class Infrastructure:
    new_services: str | None
    config: str | None
    scaling: str | None


@dataclass(frozen=True)
class Knowledge:
    documentation: str | None
    training: str | None
    videos: str | None


@dataclass(frozen=True)
class Readiness:
    support_team_trained: str  # "✅ Yes" / "❌ Not yet"
    runbooks_created: str
    monitoring_setup: str
    escalation_path_defined: str


@dataclass(frozen=True)
class NextMilestonePreview:
    name: str | None
    target_date: str
    key_objectives: str | None
    dependencies: str | None
    risks: str | None


@dataclass(frozen=True)
class Report:
    milestone_id: int
    team_id: str
    key: str
    name: str
    version_label: str
    status: str
    status_label: str
    channel_id: str | None
    currency: str  # ISO 4217: every amount of the report is in it (bot.core.formats.money)
    owner_id: str
    revision: int
    generated_at: datetime
    accepted_at: datetime | None
    accepted_revision: int | None  # the revision last accepted (kept when the acceptance is withdrawn)
    executive_summary: str | None
    objectives: list[ObjectiveRow]
    criteria: list[CriterionRow]
    criteria_summary: CriteriaSummary
    scope_original: str | None
    scope_final: str | None
    scope_changes: str | None
    completed: list[DeliverableRow]
    deferred: list[DeliverableRow]
    additional: list[DeliverableRow]
    planned_start: date | None
    actual_start: date | None
    planned_end: date | None
    actual_end: date | None
    schedule_variance_days: int | None
    schedule_variance_label: str
    phases: list[PhaseRow]
    critical_path: str | None
    effort: list[EffortRow]
    effort_total: EffortRow | None
    budget: list[BudgetRow]
    budget_total: BudgetRow | None
    testing: Testing | None
    defects: list[DefectRow]
    defect_total: DefectRow | None
    code_quality: CodeQuality | None
    system_benchmarks: list[BenchmarkRow]
    ux_benchmarks: list[BenchmarkRow]
    risks_realized: list[RiskRow]
    risks_mitigated: list[RiskRow]
    risks_new: list[RiskRow]
    feedback: Feedback
    lessons: dict[str, list[LessonRow]]  # LessonKind value → rows
    architecture_changes: list[ArchitectureRow]
    api: ApiDocs | None
    api_docs_url: str | None
    database: DatabaseChanges | None
    migration_url: str | None
    infrastructure: Infrastructure | None
    knowledge: Knowledge | None
    readiness: Readiness | None
    handover: list[HandoverRow]
    actions: dict[str, list[ActionRow]]  # Horizon value → rows (week1, month1, quarter, condition)
    tech_debt: list[ActionRow]
    next_milestone: NextMilestonePreview | None
    preparatory_tasks: list[TaskRow]
    signoffs: list[SignoffRow]
    signoff_progress: SignoffProgress
    comments_conditions: str | None
    conditions: list[Condition]
    appendices: list[AppendixRow]
    prepared_by: str
    preparer_role: str | None
    unknown_users: frozenset[str]  # people named by id because their names are not cached yet
    report_date: date
    distribution: str | None
    confidentiality: str
    contributors_label: str | None  # the footer's who filled which section, at which revision (None: nobody yet)
    # Every scalar field of the form sections, displayed: section key → field → text (None: empty).
    fields: dict[str, dict[str, str | None]]
    people: dict[str, str]  # user id → name, for the people named or mentioned (`<@U…>`) in the report
    state: ReportState  # Draft / In review / Changes requested / Accepted (bot.reports.state)

    @property
    def completion_date_label(self) -> str:
        return fmt_date(self.actual_end)

    @property
    def schedule_tone(self) -> str:
        days = self.schedule_variance_days
        return "" if not days else "bad" if days > 0 else "good"

    @property
    def has_api(self) -> bool:
        return bool(self.api or self.api_docs_url)

    @property
    def has_database(self) -> bool:
        return bool(self.database or self.migration_url)

    @property
    def next_milestone_name(self) -> str | None:
        return self.next_milestone.name if self.next_milestone else None

    @property
    def signed_outside(self) -> list[SignoffRow]:
        """Signatures an imported report recorded: in the sign-off table, never counted as approvals."""
        return [s for s in self.signoffs if s.outside]

    @property
    def signoff_progress_label(self) -> str:
        accepted = f" — accepted on {self.accepted_at.date()}" if self.accepted_at else ""
        return self.signoff_progress.label + accepted + self.signed_outside_note

    @property
    def signed_outside_note(self) -> str:
        """" · 2 signed outside Slack (not counted)", or nothing."""
        n = len(self.signed_outside)
        return f" · {n} {SIGNED_OUTSIDE} (not counted)" if n else ""

    @property
    def open_actions(self) -> list[ActionRow]:
        rows = [a for rows in self.actions.values() for a in rows] + self.tech_debt
        return [a for a in rows if a.status == ActionStatus.OPEN]

    @property
    def overdue_actions(self) -> list[ActionRow]:
        return [a for a in self.open_actions if a.overdue]

    @property
    def deliverables_label(self) -> str:
        counts = [(len(self.completed), "completed"), (len(self.deferred), "deferred"),
                  (len(self.additional), "additional")]
        if not any(n for n, _ in counts):
            return NOT_PROVIDED
        return " · ".join(f"{n} {what}" for n, what in counts)
