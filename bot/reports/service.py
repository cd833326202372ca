"""The compiled report: everything a milestone's report shows, loaded in a fixed number of SQL statements,
with the arithmetic the template leaves to the reader already done.

`load_report(session, milestone_id)` returns a `Report` of plain dataclasses. Figures are kept both as
numbers (for the Slack summary and tests) and as display strings (``*_label``), so the Markdown page, the
HTML page and the Slack summary always show the same figures. Templates never compute.

Also here: signed, expiring links to the HTML page (`sign_link` / `verify_link`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, raiseload, selectinload

from bot.actions.service import ReminderHistory, reminder_history
from bot.core.access import normalize_key
from bot.core.errors import InvalidInput, NotFound
from bot.feedback.service import FeedbackMetrics, compute_metrics
from models import (
    ActionItem,
    ActionStatus,
    ApprovalSlot,
    Decision,
    Horizon,
    Milestone,
    Status,
    UserProfile,
    Version,
)
from models.base import Choice
from models.feedback import FeedbackGroup
from models.sections import (
    AppendixKind,
    BenchmarkKind,
    BenchmarkStatus,
    DeliverableKind,
    LessonKind,
    Level,
    MetStatus,
    ObjectivePriority,
    ProgressStatus,
    RiskKind,
    RoiProjection,
)

NOT_PROVIDED = "Not provided"


# ---- number formatting (one place, so every output shows the same figures) -----------------------------


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def fmt_num(value: Decimal | int | None) -> str:
    """1250 → "1,250"; 12.50 → "12.5"; None → "—"."""
    if value is None:
        return "—"
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def fmt_signed(value: Decimal | int | None, unit: str = "") -> str:
    """+20, -10, 0 (the template's variance style)."""
    if value is None:
        return "—"
    value = Decimal(value)
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return f"{sign}{fmt_num(abs(value))}{unit}"


def fmt_money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    value = _q(Decimal(value), "0.01")
    whole = value == value.to_integral_value()
    return f"${int(value):,}" if whole else f"${value:,.2f}"


def fmt_signed_money(value: Decimal | None) -> str:
    """-$2,500 / $0 / +$400, as the template writes budget variances."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + fmt_money(abs(value))


def fmt_days(value: Decimal | int | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    unit = " day" if abs(value) == 1 else " days"
    return fmt_signed(value, unit) if signed else fmt_num(value) + unit


def percent(part: Decimal | int | None, whole: Decimal | int | None, places: str = "0.1") -> Decimal | None:
    if part is None or not whole:
        return None
    return _q(Decimal(part) * 100 / Decimal(whole), places)


def fmt_pct(value: Decimal | None) -> str:
    return "—" if value is None else fmt_num(value) + "%"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return NOT_PROVIDED
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _label(choice: type[Choice], value: str | None) -> str:
    if value is None:
        return "—"
    try:
        return choice(value).label
    except ValueError:
        return value


def _text(value: str | None) -> str | None:
    """Blank text counts as not provided."""
    return value if value and value.strip() else None


# ---- the report's parts ---------------------------------------------------------------------------------


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
        return fmt_signed(self.variance)

    @property
    def efficiency_label(self) -> str:
        return fmt_pct(self.efficiency)


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

    @property
    def budgeted_label(self) -> str:
        return fmt_money(self.budgeted)

    @property
    def actual_label(self) -> str:
        return fmt_money(self.actual)

    @property
    def variance_label(self) -> str:
        return fmt_signed_money(self.variance)

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

    @property
    def approved(self) -> bool:
        return not self.outdated and self.decision in (Decision.APPROVED, Decision.APPROVED_WITH_CONDITIONS)


@dataclass(frozen=True)
class SignoffProgress:
    required: int
    approved: int
    with_conditions: int
    rejected: int
    outdated: int
    pending: int

    @property
    def label(self) -> str:
        if not self.required:
            return NOT_PROVIDED
        text = f"{self.approved} of {self.required} approved"
        extras = [f"{n} {what}" for n, what in ((self.with_conditions, "with conditions"),
                                                 (self.rejected, "rejected"), (self.outdated, "outdated"),
                                                 (self.pending, "pending")) if n]
        return text + (" (" + ", ".join(extras) + ")" if extras else "")


@dataclass(frozen=True)
class Condition:
    who: str  # "Pat Manager (Project Manager)"
    kind: str  # "Condition", "Comment", "Rejection reason"
    text: str
    outdated: bool


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
    owner_id: str
    revision: int
    generated_at: datetime
    accepted_at: datetime | None
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
    architecture_changes: list[tuple[str, str | None]]
    api: dict[str, str] | None
    api_docs_url: str | None
    database: dict[str, str | None] | None
    migration_url: str | None
    infrastructure: dict[str, str | None] | None
    knowledge: dict[str, str | None] | None
    readiness: list[tuple[str, bool]] | None
    handover: list[HandoverRow]
    actions: dict[str, list[ActionRow]]  # Horizon value → rows (week1, month1, quarter, condition)
    tech_debt: list[ActionRow]
    next_milestone: dict[str, str | None] | None
    preparatory_tasks: list[tuple[str, str | None, str | None]]
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

    @property
    def completion_date_label(self) -> str:
        return fmt_date(self.actual_end)

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


# ---- loading --------------------------------------------------------------------------------------------

_RELATIONSHIPS = (
    Milestone.objectives, Milestone.criteria, Milestone.deliverables, Milestone.phases, Milestone.effort_lines,
    Milestone.budget_lines, Milestone.quality, Milestone.defects, Milestone.benchmarks, Milestone.risks,
    Milestone.lessons, Milestone.technical_docs, Milestone.architecture_changes, Milestone.knowledge_transfer,
    Milestone.handover_items, Milestone.next_milestone, Milestone.preparatory_tasks, Milestone.appendices,
    Milestone.stakeholder_validation, Milestone.action_items, Milestone.feedback,
)


def find_milestone(session: Session, key: str, *, team_id: str | None = None) -> Milestone:
    """A milestone by its ID in any workspace (the command line has no workspace); ambiguity is an error."""
    query = select(Milestone).where(Milestone.key == normalize_key(key))
    if team_id:
        query = query.where(Milestone.team_id == team_id)
    found = session.scalars(query).all()
    if not found:
        where = f" in workspace {team_id}" if team_id else ""
        raise NotFound(f"No milestone {normalize_key(key)}{where} in this database.")
    if len(found) > 1:
        teams = ", ".join(sorted(m.team_id for m in found))
        message = f"{normalize_key(key)} exists in several workspaces ({teams}); pick one with --team."
        raise InvalidInput({"team": message})
    return found[0]


def _load_milestone(session: Session, milestone_id: int) -> Milestone:
    """One SELECT for the milestone and one per relationship, whatever the row counts; lazy loads raise."""
    options: list[Any] = [selectinload(rel) for rel in _RELATIONSHIPS]
    options.append(selectinload(Milestone.approval_slots).selectinload(ApprovalSlot.signoffs))
    options.append(raiseload("*"))
    milestone = session.scalars(
        select(Milestone).where(Milestone.id == milestone_id).options(*options)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if milestone is None:
        raise NotFound("That milestone no longer exists.")
    return milestone


def _names(session: Session, user_ids: set[str]) -> dict[str, str]:
    """Cached real names (users.info); one statement."""
    ids = sorted(u for u in user_ids if u)
    if not ids:
        return {}
    rows = session.execute(select(UserProfile.user_id, UserProfile.real_name).where(UserProfile.user_id.in_(ids)))
    return {user_id: name for user_id, name in rows if name}


def _user_ids(m: Milestone) -> set[str]:
    ids = {m.owner_id, m.prepared_by or ""}
    ids |= {d.signoff_by or "" for d in m.deliverables}
    ids |= {a.owner_id for a in m.action_items}
    for slot in m.approval_slots:
        ids |= {slot.approver_id, slot.delegate_id or ""}
        ids |= {s.approver_id for s in slot.signoffs}
    ids.discard("")
    return ids


def load_report(session: Session, milestone_id: int, *, now: datetime | None = None) -> Report:
    """The whole report of one milestone. A constant number of statements: the milestone, one per section
    table, the reminder history and the names (the row counts never add statements)."""
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    m = _load_milestone(session, milestone_id)
    history = reminder_history(session, milestone_id)
    user_ids = _user_ids(m)
    names = _names(session, user_ids)

    def name(user_id: str | None) -> str:
        if not user_id:
            return "—"
        return names.get(user_id) or user_id

    # Overview
    objectives = [ObjectiveRow(_label(ObjectivePriority, o.priority), o.title, _text(o.description))
                  for o in m.objectives]
    criteria = [CriterionRow(c.criterion, c.target, c.actual, c.status, _label(MetStatus, c.status), _text(c.notes))
                for c in m.criteria]
    statuses = [c.status for c in m.criteria]
    criteria_summary = CriteriaSummary(
        total=len(statuses), met=statuses.count(MetStatus.MET), partial=statuses.count(MetStatus.PARTIAL),
        not_met=statuses.count(MetStatus.NOT_MET), pending=statuses.count(MetStatus.PENDING),
    )

    # Deliverables
    def deliverable(d: Any) -> DeliverableRow:
        signoff = None
        if d.signoff_by or d.signoff_date:
            signoff = ", ".join(p for p in (name(d.signoff_by) if d.signoff_by else None,
                                            d.signoff_date.isoformat() if d.signoff_date else None) if p)
        return DeliverableRow(
            d.name, _text(d.description), d.acceptance_criteria, _label(ProgressStatus, d.status), signoff,
            d.deferral_reason, d.new_target, _label(Level, d.impact), d.addition_reason,
        )

    by_kind: dict[str, list[DeliverableRow]] = defaultdict(list)
    for d in m.deliverables:
        by_kind[d.kind].append(deliverable(d))

    # Timeline
    schedule_days = (m.actual_end - m.planned_end).days if m.actual_end and m.planned_end else None
    if schedule_days is None:
        schedule_label = NOT_PROVIDED
    elif schedule_days == 0:
        schedule_label = "0 days (on schedule)"
    else:
        schedule_label = f"{fmt_days(schedule_days, signed=True)} ({'late' if schedule_days > 0 else 'early'})"
    phases = []
    for p in m.phases:
        variance = p.actual_days - p.planned_days if p.actual_days is not None and p.planned_days is not None else None
        phases.append(PhaseRow(p.name, fmt_days(p.planned_days), fmt_days(p.actual_days), variance,
                               "0" if variance == 0 else fmt_days(variance, signed=True), _text(p.notes)))

    # Resources
    effort = [_effort_row(e.role, e.planned_hours, e.actual_hours) for e in m.effort_lines]
    effort_total = None
    if effort:
        effort_total = _effort_row("Total", _sum(e.planned for e in effort), _sum(e.actual for e in effort))
    budget = [BudgetRow(b.category, b.budgeted, b.actual, _diff(b.actual, b.budgeted), _text(b.notes))
              for b in m.budget_lines]
    budget_total = None
    if budget:
        budgeted, actual = _sum(b.budgeted for b in budget), _sum(b.actual for b in budget)
        budget_total = BudgetRow("Total", budgeted, actual, _diff(actual, budgeted), None)

    # Quality
    q = m.quality
    testing = code_quality = None
    if q is not None:
        testing = Testing(
            q.total_tests, q.passed_tests, q.failed_tests, q.blocked_tests,
            percent(q.passed_tests, q.total_tests), percent(q.failed_tests, q.total_tests),
            percent(q.blocked_tests, q.total_tests), fmt_pct(q.test_coverage_pct),
        )
        code_quality = CodeQuality(
            fmt_num(q.lines_of_code), fmt_pct(q.code_coverage_pct),
            "—" if q.tech_debt_hours is None else fmt_num(q.tech_debt_hours) + " hours",
            "—" if q.cyclomatic_complexity is None else "Average " + fmt_num(q.cyclomatic_complexity),
            fmt_pct(q.code_review_coverage_pct),
        )
    severity_rank = {lvl.value: i for i, lvl in enumerate(reversed(list(Level)))}  # critical first
    defects = [DefectRow(_label(Level, d.severity), d.found or 0, d.fixed or 0, d.outstanding or 0, d.deferred or 0)
               for d in sorted(m.defects, key=lambda d: (severity_rank.get(d.severity, 99), d.position))]
    defect_total = None
    if defects:
        defect_total = DefectRow("Total", sum(d.found for d in defects), sum(d.fixed for d in defects),
                                 sum(d.outstanding for d in defects), sum(d.deferred for d in defects))

    # Performance and risks
    def bench(kind: str) -> list[BenchmarkRow]:
        return [BenchmarkRow(b.metric, b.target, b.achieved, _label(BenchmarkStatus, b.status))
                for b in m.benchmarks if b.kind == kind]

    def risks(kind: str) -> list[RiskRow]:
        return [RiskRow(r.risk, _label(Level, r.probability), _label(Level, r.impact), _text(r.management),
                        r.effectiveness, _text(r.lessons)) for r in m.risks if r.kind == kind]

    # Lessons, documentation, handover
    lessons: dict[str, list[LessonRow]] = {k.value: [] for k in LessonKind}
    for lesson in m.lessons:
        lessons.setdefault(lesson.kind, []).append(LessonRow(lesson.title, _text(lesson.description)))
    td = m.technical_docs
    api = database = infrastructure = None
    if td is not None:
        if any(v is not None for v in (td.api_new, td.api_modified, td.api_deprecated)):
            api = {"New endpoints": fmt_num(td.api_new), "Modified endpoints": fmt_num(td.api_modified),
                   "Deprecated endpoints": fmt_num(td.api_deprecated)}
        if any((_text(td.db_schema_updates), td.db_migration_url, _text(td.db_optimizations))):
            database = {"Schema updates": _text(td.db_schema_updates),
                        "Performance optimizations": _text(td.db_optimizations)}
        if any(_text(v) for v in (td.infra_new_services, td.infra_config_changes, td.infra_scaling)):
            infrastructure = {"New services deployed": _text(td.infra_new_services),
                              "Configuration changes": _text(td.infra_config_changes),
                              "Scaling adjustments": _text(td.infra_scaling)}
    kt = m.knowledge_transfer
    knowledge = readiness = None
    if kt is not None:
        knowledge = {"Documentation Created": _text(kt.documentation_created),
                     "Training Conducted": _text(kt.training_conducted), "Videos Recorded": _text(kt.videos_recorded)}
        readiness = [("Support Team Trained", kt.support_team_trained), ("Runbooks Created", kt.runbooks_created),
                     ("Monitoring Setup", kt.monitoring_setup), ("Escalation Path Defined", kt.escalation_path_defined)]
    handover = [HandoverRow(h.component, h.from_team, h.to_team, _label(ProgressStatus, h.status),
                            fmt_date(h.handover_date) if h.handover_date else "—") for h in m.handover_items]

    # Post-milestone activities
    actions: dict[str, list[ActionRow]] = {h.value: [] for h in Horizon if h != Horizon.TECH_DEBT}
    tech_debt: list[ActionRow] = []
    for item in sorted(m.action_items, key=lambda a: (a.due_date or date.max, a.id)):
        row = _action_row(item, name(item.owner_id), history.get(item.id), today)
        (tech_debt if item.horizon == Horizon.TECH_DEBT else actions.setdefault(item.horizon, [])).append(row)

    # Next milestone
    nm = m.next_milestone
    next_milestone = None
    if nm is not None and any((_text(nm.name), nm.target_date, _text(nm.key_objectives), _text(nm.dependencies),
                               _text(nm.risks))):
        next_milestone = {"name": _text(nm.name), "target_date": fmt_date(nm.target_date),
                          "key_objectives": _text(nm.key_objectives), "dependencies": _text(nm.dependencies),
                          "risks": _text(nm.risks)}
    prep = [(t.task, _text(t.description), t.timeline) for t in m.preparatory_tasks]

    signoffs, progress, conditions = _signoffs(m, name)

    return Report(
        milestone_id=m.id, team_id=m.team_id, key=m.key, name=m.name, version_label=_label(Version, m.version),
        status=m.status, status_label=_label(Status, m.status), channel_id=m.report_channel_id, owner_id=m.owner_id,
        revision=m.revision or 1, generated_at=now, accepted_at=m.accepted_at,
        executive_summary=_text(m.executive_summary), objectives=objectives, criteria=criteria,
        criteria_summary=criteria_summary, scope_original=_text(m.scope_original), scope_final=_text(m.scope_final),
        scope_changes=_text(m.scope_changes), completed=by_kind[DeliverableKind.COMPLETED],
        deferred=by_kind[DeliverableKind.DEFERRED], additional=by_kind[DeliverableKind.ADDITIONAL],
        planned_start=m.planned_start, actual_start=m.actual_start, planned_end=m.planned_end, actual_end=m.actual_end,
        schedule_variance_days=schedule_days, schedule_variance_label=schedule_label, phases=phases,
        critical_path=_text(m.critical_path), effort=effort, effort_total=effort_total, budget=budget,
        budget_total=budget_total, testing=testing, defects=defects, defect_total=defect_total,
        code_quality=code_quality, system_benchmarks=bench(BenchmarkKind.SYSTEM), ux_benchmarks=bench(BenchmarkKind.UX),
        risks_realized=risks(RiskKind.REALIZED), risks_mitigated=risks(RiskKind.MITIGATED),
        risks_new=risks(RiskKind.NEW), feedback=_feedback(m), lessons=lessons,
        architecture_changes=[(a.change, _text(a.rationale)) for a in m.architecture_changes], api=api,
        api_docs_url=td.api_docs_url if td else None, database=database,
        migration_url=td.db_migration_url if td else None, infrastructure=infrastructure, knowledge=knowledge,
        readiness=readiness, handover=handover, actions=actions, tech_debt=tech_debt, next_milestone=next_milestone,
        preparatory_tasks=prep, signoffs=signoffs, signoff_progress=progress,
        comments_conditions=_text(m.comments_conditions), conditions=conditions, appendices=_appendices(m),
        prepared_by=name(m.prepared_by or m.owner_id), preparer_role=_text(m.preparer_role), report_date=today,
        distribution=_text(m.distribution), confidentiality=_text(m.confidentiality) or "Internal Use Only",
        unknown_users=frozenset(user_ids - names.keys()),
    )


def _sum(values: Any) -> Decimal | None:
    """The sum of the given figures; None when none was given (a total of nothing is not 0)."""
    present = [Decimal(v) for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _diff(actual: Decimal | None, planned: Decimal | None) -> Decimal | None:
    return None if actual is None or planned is None else Decimal(actual) - Decimal(planned)


def _effort_row(role: str, planned: Decimal | None, actual: Decimal | None) -> EffortRow:
    # Efficiency = planned / actual: more hours than planned is below 100% (the template's +XX → 95%).
    efficiency = percent(planned, actual, "1") if planned is not None else None
    return EffortRow(role, planned, actual, _diff(actual, planned), efficiency)


def _action_row(item: ActionItem, owner: str, h: ReminderHistory | None, today: date) -> ActionRow:
    overdue = item.status == ActionStatus.OPEN and item.due_date is not None and item.due_date < today
    effort = "—" if item.effort_days is None else fmt_days(item.effort_days)
    return ActionRow(
        id=item.id, description=item.description, owner=owner, due=item.due_date, status=item.status,
        status_label=_label(ActionStatus, item.status), overdue=overdue, priority_label=_label(Level, item.priority),
        effort_label=effort, planned_sprint=item.planned_sprint, reminders=h.reminded if h else 0,
        history_label=h.summary() if h else "",
    )


def _signoffs(m: Milestone, name: Any) -> tuple[list[SignoffRow], SignoffProgress, list[Condition]]:
    """Per role, the current decision (newest not outdated), else the newest outdated one, marked."""
    rows: list[SignoffRow] = []
    conditions: list[Condition] = []
    revision = m.revision or 1
    for slot in m.approval_slots:
        history = sorted(slot.signoffs, key=lambda s: (s.decided_at, s.id))
        current = next((s for s in reversed(history) if s.outdated_at is None), None)
        shown = current or (history[-1] if history else None)
        holder = name(slot.approver_id)
        if shown is None:
            rows.append(SignoffRow(slot.role, holder, None, "⏳ Pending", "—", None, False, slot.required))
            continue
        outdated = current is None
        decision = _label(Decision, shown.decision)
        signer = name(shown.approver_id)
        behalf = getattr(shown, "on_behalf_of", None)
        by = f" by {signer}" if shown.approver_id != slot.approver_id else ""
        if behalf:
            by = f" by {signer} for {name(behalf)}"
        if outdated:
            signature = f"⚠️ Outdated — {decision} rev {shown.revision}{by}; report now rev {revision}"
        else:
            signature = f"{decision} (rev {shown.revision}){by}"
        rows.append(SignoffRow(slot.role, holder, shown.decision, signature, fmt_date(shown.decided_at),
                               shown.revision, outdated, slot.required))
        who = f"{signer} ({slot.role})"
        for kind, text in (("Condition", shown.conditions), ("Rejection reason", shown.reason),
                           ("Comment", shown.comments)):
            if _text(text):
                conditions.append(Condition(who, kind, text.strip(), outdated))
    required = [r for r in rows if r.required]
    progress = SignoffProgress(
        required=len(required),
        approved=sum(1 for r in required if r.approved),
        with_conditions=sum(1 for r in required if r.approved and r.decision == Decision.APPROVED_WITH_CONDITIONS),
        rejected=sum(1 for r in required if not r.outdated and r.decision == Decision.REJECTED),
        outdated=sum(1 for r in required if r.outdated),
        pending=sum(1 for r in required if r.decision is None),
    )
    return rows, progress, conditions


def _appendices(m: Milestone) -> list[AppendixRow]:
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


def _feedback(m: Milestone) -> Feedback:
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
    themes = [ThemeRow(t.theme.label, t.count, list(t.comments)) for t in metrics.themes if t.count]
    beta_answers = metrics.by_group.get(FeedbackGroup.BETA_USER, 0)
    beta = fmt_num(sv.beta_users) if sv and sv.beta_users is not None else NOT_PROVIDED
    if beta_answers:
        beta += f" ({beta_answers} gave feedback)"
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
    )


# ---- signed links to the HTML page ----------------------------------------------------------------------

_LINK_PURPOSE = b"report-link:v1:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _link_mac(key: bytes, milestone_id: int, revision: int, expires: int) -> str:
    message = _LINK_PURPOSE + f"{milestone_id}:{revision}:{expires}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def sign_link(key: bytes, milestone_id: int, revision: int, *, now: datetime, ttl_hours: int) -> str:
    """A token naming the milestone and the revision it was made for, valid for `ttl_hours`."""
    expires = int((now + timedelta(hours=ttl_hours)).timestamp())
    return f"{milestone_id}.{revision}.{expires}.{_link_mac(key, milestone_id, revision, expires)}"


class LinkInvalid(Exception):
    """Not a token we made (or tampered with): 404."""


class LinkExpired(Exception):
    """A genuine token past its expiry: 410."""


@dataclass(frozen=True)
class LinkTarget:
    milestone_id: int
    revision: int
    expires: datetime


def verify_link(key: bytes, token: str, *, now: datetime) -> LinkTarget:
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise LinkInvalid
    milestone_id, revision, expires = (int(p) for p in parts[:3])
    if not hmac.compare_digest(parts[3], _link_mac(key, milestone_id, revision, expires)):
        raise LinkInvalid
    expiry = datetime.fromtimestamp(expires, UTC)
    if now >= expiry:
        raise LinkExpired
    return LinkTarget(milestone_id, revision, expiry)


