"""Loading the report: one milestone with every section in a fixed number of SQL statements, turned into
the dataclasses of bot.reports.data. Each part of the report has its own small builder.

A constant number of statements: the milestone, one per section table, the reminder history and the names
(the row counts never add statements; lazy loads raise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, raiseload, selectinload

from bot.actions.service import ReminderHistory, reminder_history
from bot.assignments.service import contributors
from bot.core.access import normalize_key
from bot.core.errors import InvalidInput, NotFound
from bot.core.workdays import local_date
from bot.reports import rows
from bot.reports.data import (
    ActionRow,
    BenchmarkRow,
    BudgetRow,
    CodeQuality,
    CriteriaSummary,
    CriterionRow,
    DefectRow,
    DeliverableRow,
    HandoverRow,
    LessonRow,
    ObjectiveRow,
    PhaseRow,
    RiskRow,
    Testing,
)
from bot.reports.formatting import (
    NOT_PROVIDED,
    display,
    fmt_date,
    fmt_days,
    fmt_num,
    fmt_pct,
    mark,
    outsider,
    percent,
    person,
)
from bot.reports.formatting import choice_label as _label
from bot.reports.formatting import text_or_none as _text
from bot.reports.report import (
    ApiDocs,
    ArchitectureRow,
    DatabaseChanges,
    Infrastructure,
    Knowledge,
    NextMilestonePreview,
    Readiness,
    Report,
    TaskRow,
)
from bot.reports.state import report_state
from bot.sections.service import SECTIONS, record
from bot.signoffs.edits import EditorialEdit, editorial_edits
from models import (
    ApprovalSlot,
    Horizon,
    Milestone,
    Status,
    UserProfile,
    Version,
)
from models.sections import (
    BenchmarkKind,
    BenchmarkStatus,
    DeliverableKind,
    LessonKind,
    Level,
    MetStatus,
    ObjectivePriority,
    ProgressStatus,
    RiskKind,
)

_RELATIONSHIPS = (
    Milestone.objectives, Milestone.criteria, Milestone.deliverables, Milestone.phases, Milestone.effort_lines,
    Milestone.budget_lines, Milestone.quality, Milestone.defects, Milestone.benchmarks, Milestone.risks,
    Milestone.lessons, Milestone.technical_docs, Milestone.architecture_changes, Milestone.knowledge_transfer,
    Milestone.handover_items, Milestone.next_milestone, Milestone.preparatory_tasks, Milestone.appendices,
    Milestone.stakeholder_validation, Milestone.action_items, Milestone.feedback, Milestone.external_signoffs,
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
    slots = selectinload(Milestone.approval_slots)
    options += [slots.selectinload(ApprovalSlot.signoffs), slots.selectinload(ApprovalSlot.requests)]
    options.append(raiseload("*"))
    milestone = session.scalars(
        select(Milestone).where(Milestone.id == milestone_id).options(*options)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if milestone is None:
        raise NotFound("That milestone no longer exists.")
    return milestone


def _profiles(session: Session, user_ids: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Cached real names and time zones (users.info); one statement."""
    ids = sorted(u for u in user_ids if u)
    if not ids:
        return {}, {}
    rows = session.execute(
        select(UserProfile.user_id, UserProfile.real_name, UserProfile.tz).where(UserProfile.user_id.in_(ids))
    ).all()
    return {u: name for u, name, _tz in rows if name}, {u: tz for u, _name, tz in rows if tz}


def _user_ids(m: Milestone) -> set[str]:
    ids = {m.owner_id, m.prepared_by or ""}
    ids |= {d.signoff_by or "" for d in m.deliverables}
    ids |= {a.owner_id for a in m.action_items}  # (also for items shown by a name kept as text: their zone)
    ids |= {e.user_id or "" for e in m.external_signoffs}
    for slot in m.approval_slots:
        ids |= {slot.approver_id, slot.delegate_id or ""}
        ids |= {s.approver_id for s in slot.signoffs}
    ids |= rows.mentioned(m)
    ids.discard("")
    return ids


@dataclass(frozen=True)
class _Ctx:
    """What every part's builder needs: the loaded milestone, today, names, reminder history."""

    m: Milestone
    now: datetime
    today: date
    names: dict[str, str]
    history: dict[int, ReminderHistory]
    zones: dict[str, str]
    contributed: dict[str, list[tuple[str, int]]]  # section key → (who, their latest revision)
    editorial: tuple[EditorialEdit, ...] = ()  # edits the owner marked "no change of substance"

    def today_of(self, user_id: str) -> date:
        """A person's today, in their own time zone (overdue is judged there)."""
        return local_date(self.now, self.zones.get(user_id))

    def name(self, user_id: str | None) -> str:
        if not user_id:
            return "—"
        return self.names.get(user_id) or user_id

    def person(self, user_id: str | None, text: str | None) -> str | None:
        """A member's name, or the name an imported report gave for someone who is not one, marked."""
        return person(user_id, text, self.name)


def load_report(session: Session, milestone_id: int, *, now: datetime | None = None) -> Report:
    """The whole report of one milestone, in a constant number of statements."""
    now = now or datetime.now(UTC)
    m = _load_milestone(session, milestone_id)
    history = reminder_history(session, milestone_id)
    contributed = contributors(session, milestone_id)
    editorial = tuple(editorial_edits(session, milestone_id))
    user_ids = (_user_ids(m) | {person for people in contributed.values() for person, _ in people}
                | {e.actor_id for e in editorial})
    names, zones = _profiles(session, user_ids)
    ctx = _Ctx(m, now, now.astimezone(UTC).date(), names, history, zones, contributed, editorial)
    parts: dict[str, Any] = {}
    for build in _BUILDERS:
        parts.update(build(ctx))
    return Report(**parts, unknown_users=frozenset(user_ids - names.keys()))


def _header(c: _Ctx) -> dict[str, Any]:
    m = c.m
    return dict(
        milestone_id=m.id, team_id=m.team_id, key=m.key, name=m.name, version_label=_label(Version, m.version),
        status=m.status, status_label=_label(Status, m.status), channel_id=m.report_channel_id, currency=m.currency,
        owner_id=m.owner_id, revision=m.revision or 1, generated_at=c.now, accepted_at=m.accepted_at,
        accepted_revision=m.accepted_revision, executive_summary=_text(m.executive_summary),
        fields=_scalar_fields(c), people=dict(c.names),
        state=report_state(m),
    )


def _scalar_fields(c: _Ctx) -> dict[str, dict[str, str | None]]:
    """Every field of the columns and one-record sections, displayed (the outline's extra facts read it)."""
    out: dict[str, dict[str, str | None]] = {}
    for section in SECTIONS:
        if section.is_table:
            continue
        holder = record(c.m, section)
        out[section.key] = {
            spec.name: display(getattr(holder, spec.name) if holder is not None else None, spec.kind, spec.choices,
                            c.name, c.m.currency)
            for spec in section.specs()
        }
    return out


def _overview(c: _Ctx) -> dict[str, Any]:
    m = c.m
    statuses = [x.status for x in m.criteria]
    return dict(
        objectives=[ObjectiveRow(_label(ObjectivePriority, o.priority), o.title, _text(o.description))
                    for o in m.objectives],
        criteria=[CriterionRow(x.criterion, x.target, x.actual, x.status, mark(MetStatus, x.status),
                               _text(x.notes)) for x in m.criteria],
        criteria_summary=CriteriaSummary(
            total=len(statuses), met=statuses.count(MetStatus.MET), partial=statuses.count(MetStatus.PARTIAL),
            not_met=statuses.count(MetStatus.NOT_MET), pending=statuses.count(MetStatus.PENDING)),
        scope_original=_text(m.scope_original), scope_final=_text(m.scope_final),
        scope_changes=_text(m.scope_changes),
    )


def _deliverables(c: _Ctx) -> dict[str, Any]:
    def row(d: Any) -> DeliverableRow:
        signoff = None
        who = c.person(d.signoff_by, d.signoff_name)
        if who or d.signoff_date:
            signoff = ", ".join(p for p in (who, d.signoff_date.isoformat() if d.signoff_date else None) if p)
        return DeliverableRow(d.name, _text(d.description), d.acceptance_criteria, _label(ProgressStatus, d.status),
                              signoff, d.deferral_reason, d.new_target, _label(Level, d.impact), d.addition_reason)

    by_kind: dict[str, list[DeliverableRow]] = defaultdict(list)
    for d in c.m.deliverables:
        by_kind[d.kind].append(row(d))
    return dict(completed=by_kind[DeliverableKind.COMPLETED], deferred=by_kind[DeliverableKind.DEFERRED],
                additional=by_kind[DeliverableKind.ADDITIONAL])


def _timeline(c: _Ctx) -> dict[str, Any]:
    m = c.m
    days = (m.actual_end - m.planned_end).days if m.actual_end and m.planned_end else None
    if days is None:
        label = NOT_PROVIDED
    elif days == 0:
        label = "0 days (on schedule)"
    else:
        label = f"{fmt_days(days, signed=True)} ({'late' if days > 0 else 'early'})"
    phases = []
    for p in m.phases:
        variance = rows.diff(p.actual_days, p.planned_days)
        phases.append(PhaseRow(p.name, fmt_days(p.planned_days), fmt_days(p.actual_days), variance,
                               _phase_variance(variance), _text(p.notes)))
    return dict(planned_start=m.planned_start, actual_start=m.actual_start, planned_end=m.planned_end,
                actual_end=m.actual_end, schedule_variance_days=days, schedule_variance_label=label, phases=phases,
                critical_path=_text(m.critical_path))


def _phase_variance(days: Decimal | None) -> str:
    if days is None:
        return "—"
    return "0" if days == 0 else f"{fmt_days(days, signed=True)} ({'late' if days > 0 else 'early'})"


def _resources(c: _Ctx) -> dict[str, Any]:
    effort = [rows.effort_row(e.role, e.planned_hours, e.actual_hours) for e in c.m.effort_lines]
    effort_total = None
    if effort:
        planned, actual = rows.sum_of(e.planned for e in effort), rows.sum_of(e.actual for e in effort)
        effort_total = rows.effort_row("Total", planned, actual)
    currency = c.m.currency
    budget = [BudgetRow(b.category, b.budgeted, b.actual, rows.diff(b.actual, b.budgeted), _text(b.notes), currency)
              for b in c.m.budget_lines]
    budget_total = None
    if budget:
        budgeted, actual = rows.sum_of(b.budgeted for b in budget), rows.sum_of(b.actual for b in budget)
        budget_total = BudgetRow("Total", budgeted, actual, rows.diff(actual, budgeted), None, currency)
    return dict(effort=effort, effort_total=effort_total, budget=budget, budget_total=budget_total)


def _quality(c: _Ctx) -> dict[str, Any]:
    q = c.m.quality
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
               for d in sorted(c.m.defects, key=lambda d: (severity_rank.get(d.severity, 99), d.position))]
    defect_total = None
    if defects:
        defect_total = DefectRow("Total", sum(d.found for d in defects), sum(d.fixed for d in defects),
                                 sum(d.outstanding for d in defects), sum(d.deferred for d in defects))
    return dict(testing=testing, code_quality=code_quality, defects=defects, defect_total=defect_total)


def _performance_and_risks(c: _Ctx) -> dict[str, Any]:
    def bench(kind: str) -> list[BenchmarkRow]:
        return [BenchmarkRow(b.metric, b.target, b.achieved, mark(BenchmarkStatus, b.status))
                for b in c.m.benchmarks if b.kind == kind]

    def risks(kind: str) -> list[RiskRow]:
        return [RiskRow(r.risk, _label(Level, r.probability), _label(Level, r.impact), _text(r.management),
                        r.effectiveness, _text(r.lessons)) for r in c.m.risks if r.kind == kind]

    return dict(system_benchmarks=bench(BenchmarkKind.SYSTEM), ux_benchmarks=bench(BenchmarkKind.UX),
                risks_realized=risks(RiskKind.REALIZED), risks_mitigated=risks(RiskKind.MITIGATED),
                risks_new=risks(RiskKind.NEW))


def _lessons_and_docs(c: _Ctx) -> dict[str, Any]:
    m = c.m
    lessons: dict[str, list[LessonRow]] = {k.value: [] for k in LessonKind}
    for lesson in m.lessons:
        lessons.setdefault(lesson.kind, []).append(LessonRow(lesson.title, _text(lesson.description)))
    td = m.technical_docs
    api = database = infrastructure = None
    if td is not None:
        if any(v is not None for v in (td.api_new, td.api_modified, td.api_deprecated)):
            api = ApiDocs(fmt_num(td.api_new), fmt_num(td.api_modified), fmt_num(td.api_deprecated))
        if any((_text(td.db_schema_updates), td.db_migration_url, _text(td.db_optimizations))):
            database = DatabaseChanges(_text(td.db_schema_updates), _text(td.db_optimizations))
        if any(_text(v) for v in (td.infra_new_services, td.infra_config_changes, td.infra_scaling)):
            infrastructure = Infrastructure(_text(td.infra_new_services), _text(td.infra_config_changes),
                                            _text(td.infra_scaling))
    return dict(lessons=lessons, architecture_changes=[ArchitectureRow(a.change, _text(a.rationale))
                                                       for a in m.architecture_changes],
                api=api, api_docs_url=td.api_docs_url if td else None, database=database,
                migration_url=td.db_migration_url if td else None, infrastructure=infrastructure)


def _ready(done: bool) -> str:
    return "✅ Yes" if done else "❌ Not yet"


def _handover(c: _Ctx) -> dict[str, Any]:
    kt = c.m.knowledge_transfer
    knowledge = readiness = None
    if kt is not None:
        knowledge = Knowledge(_text(kt.documentation_created), _text(kt.training_conducted),
                              _text(kt.videos_recorded))
        readiness = Readiness(_ready(kt.support_team_trained), _ready(kt.runbooks_created),
                              _ready(kt.monitoring_setup), _ready(kt.escalation_path_defined))
    handover = [HandoverRow(h.component, h.from_team, h.to_team, _label(ProgressStatus, h.status),
                            fmt_date(h.handover_date) if h.handover_date else "—") for h in c.m.handover_items]
    return dict(knowledge=knowledge, readiness=readiness, handover=handover)


def _activities(c: _Ctx) -> dict[str, Any]:
    actions: dict[str, list[ActionRow]] = {h.value: [] for h in Horizon if h != Horizon.TECH_DEBT}
    tech_debt: list[ActionRow] = []
    for item in sorted(c.m.action_items, key=lambda a: (a.due_date or date.max, a.id)):
        owner = outsider(item.owner_name) if item.owner_name else c.name(item.owner_id)  # imported, not a member
        row = rows.action_row(item, owner, c.history.get(item.id), c.today_of(item.owner_id))
        (tech_debt if item.horizon == Horizon.TECH_DEBT else actions.setdefault(item.horizon, [])).append(row)
    return dict(actions=actions, tech_debt=tech_debt)


def _next(c: _Ctx) -> dict[str, Any]:
    nm = c.m.next_milestone
    preview = None
    if nm is not None and any((_text(nm.name), nm.target_date, _text(nm.key_objectives), _text(nm.dependencies),
                               _text(nm.risks))):
        preview = NextMilestonePreview(_text(nm.name), fmt_date(nm.target_date), _text(nm.key_objectives),
                                       _text(nm.dependencies), _text(nm.risks))
    tasks = [TaskRow(t.task, _text(t.description), t.timeline) for t in c.m.preparatory_tasks]
    return dict(next_milestone=preview, preparatory_tasks=tasks)


def _signoff_part(c: _Ctx) -> dict[str, Any]:
    signoffs, progress, conditions = rows.signoffs(c.m, c.name, c.editorial)
    return dict(signoffs=signoffs, signoff_progress=progress, conditions=conditions,
                comments_conditions=_text(c.m.comments_conditions))


def _closing(c: _Ctx) -> dict[str, Any]:
    m = c.m
    return dict(feedback=rows.feedback(m), appendices=rows.appendices(m),
                prepared_by=c.person(m.prepared_by, m.prepared_by_name) or c.name(m.owner_id),
                preparer_role=_text(m.preparer_role),
                report_date=c.today, distribution=_text(m.distribution),
                confidentiality=_text(m.confidentiality) or "Internal Use Only",
                contributors_label=rows.contributors_label(c.contributed, c.name))


_BUILDERS: tuple[Callable[[_Ctx], dict[str, Any]], ...] = (
    _header, _overview, _deliverables, _timeline, _resources, _quality, _performance_and_risks, _lessons_and_docs,
    _handover, _activities, _next, _signoff_part, _closing,
)
