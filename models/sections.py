"""The report's sections: one model per table of the template, one per single-record section.

Only what a person types is stored; variances, totals, efficiency and percentages are computed by the report.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from models.base import Base, Choice, field


class Row:
    """A row of one of the report's tables, kept in the order the team gave it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @declared_attr
    def milestone_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)


class OneToOne:
    """A single-record section: at most one per milestone."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def milestone_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), unique=True)


class Level(Choice):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class MetStatus(Choice):
    MET = "met", "✅ Met"
    PARTIAL = "partial", "⚠️ Partial"
    NOT_MET = "not_met", "❌ Not met"
    PENDING = "pending", "🔄 Pending"


class ProgressStatus(Choice):
    COMPLETE = "complete", "✅ Complete"
    IN_PROGRESS = "in_progress", "🔄 In Progress"
    ON_HOLD = "on_hold", "⏸️ On Hold"
    CANCELLED = "cancelled", "❌ Cancelled"


# ---- Milestone overview ---------------------------------------------------------------------------------


class ObjectivePriority(Choice):
    PRIMARY = "primary", "Primary Objective"
    SECONDARY = "secondary", "Secondary Objective"
    TERTIARY = "tertiary", "Tertiary Objective"
    OTHER = "other", "Objective"


class Objective(Row, Base):
    __tablename__ = "objectives"

    priority: Mapped[str] = field(
        "Priority", "select", required=True, choices=ObjectivePriority, default=ObjectivePriority.PRIMARY
    )
    title: Mapped[str] = field("Objective", required=True, max_length=150)
    description: Mapped[str | None] = field("Description and success criteria", "multiline", max_length=2000)


class SuccessCriterion(Row, Base):
    __tablename__ = "success_criteria"

    criterion: Mapped[str] = field("Criterion", required=True, max_length=150)
    target: Mapped[str | None] = field("Target", max_length=100)
    actual: Mapped[str | None] = field("Actual", max_length=100)
    status: Mapped[str] = field("Status", "select", required=True, choices=MetStatus, default=MetStatus.PENDING)
    notes: Mapped[str | None] = field("Notes", "multiline", max_length=500)


# ---- Deliverables ---------------------------------------------------------------------------------------


class DeliverableKind(Choice):
    COMPLETED = "completed", "Completed"
    DEFERRED = "deferred", "Deferred"
    ADDITIONAL = "additional", "Additional"


class Deliverable(Row, Base):
    __tablename__ = "deliverables"

    kind: Mapped[str] = field(
        "Kind", "select", required=True, choices=DeliverableKind, default=DeliverableKind.COMPLETED
    )
    name: Mapped[str] = field("Deliverable", required=True, max_length=150)
    description: Mapped[str | None] = field("Description", "multiline", max_length=1000)
    acceptance_criteria: Mapped[str | None] = field("Acceptance criteria", max_length=300)
    status: Mapped[str | None] = field("Status", "select", choices=ProgressStatus)
    signoff_by: Mapped[str | None] = field("Signed off by", "user")
    signoff_date: Mapped[date | None] = field("Sign-off date", "date")
    signoff_name: Mapped[str | None] = mapped_column(String(200))  # imported: a signer not in Slack
    deferral_reason: Mapped[str | None] = field("Reason for deferral", max_length=300)
    new_target: Mapped[str | None] = field("New target", max_length=100, placeholder="Next milestone")
    impact: Mapped[str | None] = field("Impact", "select", choices=Level)
    addition_reason: Mapped[str | None] = field("Reason for addition", max_length=300)


# ---- Timeline -------------------------------------------------------------------------------------------


class Phase(Row, Base):
    __tablename__ = "phases"

    name: Mapped[str] = field("Phase", required=True, max_length=100, placeholder="Development")
    planned_days: Mapped[Decimal | None] = field("Planned duration (days)", "decimal", min_value=0)
    actual_days: Mapped[Decimal | None] = field("Actual duration (days)", "decimal", min_value=0)
    notes: Mapped[str | None] = field("Notes", "multiline", max_length=500)


# ---- Resources ------------------------------------------------------------------------------------------


class EffortLine(Row, Base):
    __tablename__ = "effort_lines"

    role: Mapped[str] = field("Role", required=True, max_length=100, placeholder="Development")
    planned_hours: Mapped[Decimal | None] = field("Planned hours", "decimal", min_value=0)
    actual_hours: Mapped[Decimal | None] = field("Actual hours", "decimal", min_value=0)


class BudgetLine(Row, Base):
    __tablename__ = "budget_lines"

    category: Mapped[str] = field("Category", required=True, max_length=100, placeholder="Labor")
    budgeted: Mapped[Decimal | None] = field("Budgeted ($)", "money", min_value=0)
    actual: Mapped[Decimal | None] = field("Actual ($)", "money", min_value=0)
    notes: Mapped[str | None] = field("Notes", max_length=300)


# ---- Quality --------------------------------------------------------------------------------------------


class QualityMetrics(OneToOne, Base):
    __tablename__ = "quality_metrics"

    total_tests: Mapped[int | None] = field("Total test cases", "int", min_value=0)
    passed_tests: Mapped[int | None] = field("Passed", "int", min_value=0)
    failed_tests: Mapped[int | None] = field("Failed", "int", min_value=0)
    blocked_tests: Mapped[int | None] = field("Blocked", "int", min_value=0)
    test_coverage_pct: Mapped[Decimal | None] = field("Test coverage (%)", "percent")
    lines_of_code: Mapped[int | None] = field("Lines of code", "int", min_value=0)
    code_coverage_pct: Mapped[Decimal | None] = field("Code coverage (%)", "percent")
    tech_debt_hours: Mapped[Decimal | None] = field("Technical debt (hours)", "decimal", min_value=0)
    cyclomatic_complexity: Mapped[Decimal | None] = field("Cyclomatic complexity (average)", "decimal", min_value=0)
    code_review_coverage_pct: Mapped[Decimal | None] = field("Code review coverage (%)", "percent")


class DefectCount(Row, Base):
    __tablename__ = "defect_counts"
    __table_args__ = (UniqueConstraint("milestone_id", "severity"),)

    severity: Mapped[str] = field("Severity", "select", required=True, choices=Level)
    found: Mapped[int | None] = field("Found", "int", min_value=0)
    fixed: Mapped[int | None] = field("Fixed", "int", min_value=0)
    outstanding: Mapped[int | None] = field("Outstanding", "int", min_value=0)
    deferred: Mapped[int | None] = field("Deferred", "int", min_value=0)


# ---- Performance ----------------------------------------------------------------------------------------


class BenchmarkKind(Choice):
    SYSTEM = "system", "System performance"
    UX = "ux", "User experience"


class BenchmarkStatus(Choice):
    MET = "met", "✅"
    PARTIAL = "partial", "⚠️"
    MISSED = "missed", "❌"


class Benchmark(Row, Base):
    __tablename__ = "benchmarks"

    kind: Mapped[str] = field("Kind", "select", required=True, choices=BenchmarkKind, default=BenchmarkKind.SYSTEM)
    metric: Mapped[str] = field("Metric", required=True, max_length=100, placeholder="Response Time (p95)")
    target: Mapped[str | None] = field("Target", max_length=50, placeholder="<300ms")
    achieved: Mapped[str | None] = field("Achieved", max_length=50, placeholder="240ms")
    status: Mapped[str | None] = field("Status", "select", choices=BenchmarkStatus)


# ---- Risks ----------------------------------------------------------------------------------------------


class RiskKind(Choice):
    REALIZED = "realized", "Realized"
    MITIGATED = "mitigated", "Mitigated"
    NEW = "new", "New"


class Risk(Row, Base):
    __tablename__ = "risks"

    kind: Mapped[str] = field("Kind", "select", required=True, choices=RiskKind, default=RiskKind.NEW)
    risk: Mapped[str] = field("Risk", required=True, max_length=200)
    probability: Mapped[str | None] = field("Probability", "select", choices=Level)
    impact: Mapped[str | None] = field("Impact", "select", choices=Level)
    management: Mapped[str | None] = field(
        "How it was managed / mitigation strategy / plan", "multiline", max_length=1000
    )
    effectiveness: Mapped[str | None] = field("Effectiveness", max_length=100, placeholder="Successful")
    lessons: Mapped[str | None] = field("Lessons learned", "multiline", max_length=1000)


# ---- Lessons learned ------------------------------------------------------------------------------------


class LessonKind(Choice):
    WENT_WELL = "went_well", "What Went Well ✅"
    IMPROVE = "improve", "What Could Be Improved 🔄"
    BEST_PRACTICE = "best_practice", "Best Practices Identified 📚"
    PROCESS = "process", "Process Improvements"


class Lesson(Row, Base):
    __tablename__ = "lessons"

    kind: Mapped[str] = field("Kind", "select", required=True, choices=LessonKind, default=LessonKind.WENT_WELL)
    title: Mapped[str] = field("Title", required=True, max_length=150)
    description: Mapped[str | None] = field("Description", "multiline", max_length=2000)


# ---- Technical documentation ----------------------------------------------------------------------------


class TechnicalDocs(OneToOne, Base):
    __tablename__ = "technical_docs"

    api_new: Mapped[int | None] = field("New API endpoints", "int", min_value=0)
    api_modified: Mapped[int | None] = field("Modified API endpoints", "int", min_value=0)
    api_deprecated: Mapped[int | None] = field("Deprecated API endpoints", "int", min_value=0)
    api_docs_url: Mapped[str | None] = field("API docs link", "url")
    db_schema_updates: Mapped[str | None] = field("Schema updates", "multiline", max_length=1000)
    db_migration_url: Mapped[str | None] = field("Migration scripts link", "url")
    db_optimizations: Mapped[str | None] = field("Performance optimizations", "multiline", max_length=1000)
    infra_new_services: Mapped[str | None] = field("New services deployed", "multiline", max_length=1000)
    infra_config_changes: Mapped[str | None] = field("Configuration changes", "multiline", max_length=1000)
    infra_scaling: Mapped[str | None] = field("Scaling adjustments", "multiline", max_length=1000)


class ArchitectureChange(Row, Base):
    __tablename__ = "architecture_changes"

    change: Mapped[str] = field("Change", required=True, max_length=200)
    rationale: Mapped[str | None] = field("Description and rationale", "multiline", max_length=1000)


# ---- Transition & handover ------------------------------------------------------------------------------


class KnowledgeTransfer(OneToOne, Base):
    __tablename__ = "knowledge_transfer"

    documentation_created: Mapped[str | None] = field("Documentation created", "multiline", max_length=1000)
    training_conducted: Mapped[str | None] = field(
        "Training conducted (sessions and participants)", "multiline", max_length=1000
    )
    videos_recorded: Mapped[str | None] = field("Videos recorded (with links)", "multiline", max_length=1000)
    support_team_trained: Mapped[bool] = field("Support team trained", "bool", type_=Boolean, default=False)
    runbooks_created: Mapped[bool] = field("Runbooks created", "bool", type_=Boolean, default=False)
    monitoring_setup: Mapped[bool] = field("Monitoring set up", "bool", type_=Boolean, default=False)
    escalation_path_defined: Mapped[bool] = field("Escalation path defined", "bool", type_=Boolean, default=False)


class HandoverItem(Row, Base):
    __tablename__ = "handover_items"

    component: Mapped[str] = field("Component", required=True, max_length=100)
    from_team: Mapped[str | None] = field("From team", max_length=100)
    to_team: Mapped[str | None] = field("To team", max_length=100)
    status: Mapped[str | None] = field("Status", "select", choices=ProgressStatus)
    handover_date: Mapped[date | None] = field("Date", "date")


# ---- Next milestone -------------------------------------------------------------------------------------


class NextMilestone(OneToOne, Base):
    __tablename__ = "next_milestones"

    name: Mapped[str | None] = field("Next milestone", max_length=150)
    target_date: Mapped[date | None] = field("Target date", "date")
    key_objectives: Mapped[str | None] = field("Key objectives", "multiline", max_length=2000)
    dependencies: Mapped[str | None] = field("Dependencies on this milestone", "multiline", max_length=2000)
    risks: Mapped[str | None] = field("Initial risk assessment", "multiline", max_length=2000)


class PreparatoryTask(Row, Base):
    __tablename__ = "preparatory_tasks"

    task: Mapped[str] = field("Task", required=True, max_length=150)
    description: Mapped[str | None] = field("Description", "multiline", max_length=1000)
    timeline: Mapped[str | None] = field("Timeline", max_length=100)


# ---- Stakeholder feedback (the parts the owner types; the rest is computed from responses) ------------


class RoiProjection(Choice):
    ON_TRACK = "on_track", "On track"
    EXCEEDED = "exceeded", "Exceeded"
    BELOW = "below", "Below"


class StakeholderValidation(OneToOne, Base):
    __tablename__ = "stakeholder_validation"

    participants: Mapped[str | None] = field("Acceptance test participants", "multiline", max_length=1000)
    scenarios_completed: Mapped[int | None] = field("Test scenarios completed", "int", min_value=0)
    acceptance_key_feedback: Mapped[str | None] = field("Acceptance testing key feedback", "multiline")
    beta_users: Mapped[int | None] = field("Beta users", "int", min_value=0)
    business_goals_met: Mapped[int | None] = field("Business goals met", "int", min_value=0)
    business_goals_total: Mapped[int | None] = field("Business goals in total", "int", min_value=0)
    roi_projection: Mapped[str | None] = field("ROI projection", "select", choices=RoiProjection)
    market_response: Mapped[str | None] = field("Market response", "multiline", max_length=2000)


# ---- Appendices -----------------------------------------------------------------------------------------


class AppendixKind(Choice):
    TEST_REPORT = "test_report", "Detailed Test Report"
    PERFORMANCE = "performance", "Performance Test Results"
    USER_FEEDBACK = "user_feedback", "User Feedback Summary"
    ARCHITECTURE = "architecture", "Technical Architecture Diagrams"
    RELEASE_NOTES = "release_notes", "Release Notes"
    DEFECT_REPORT = "defect_report", "Defect Report"
    OTHER = "other", "Other"


class Appendix(Row, Base):
    __tablename__ = "appendices"

    kind: Mapped[str] = field("Appendix", "select", required=True, choices=AppendixKind)
    url: Mapped[str | None] = field("Link", "url")
    note: Mapped[str | None] = field("Note", max_length=300)
