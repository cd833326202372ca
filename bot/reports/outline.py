"""The report's outline, declared once: parts (##), subsections (###), and in each what it shows — tables
with their columns, facts, prose, lists — with the model fields behind every piece.

Both templates walk this outline (through bot.reports.document), so no section is written twice, and a reader
of the Markdown (an importer) can walk it in reverse: a subsection's `heading` is the text of its `###` line
exactly, `section` names the bot.sections SECTIONS entry whose form holds its fields, `where` says which rows
of that section's table it shows (Risk.kind == "realized"), and each table column names its `fields` and
`kind` (the FieldSpec kind of the model column; "computed" for what the report works out).

Every field a section's form edits appears here, in UNITS or in NOT_IN_REPORT (bot.reports.coverage finds the others;
tests/test_report_outline.py fails on them). A scalar field (a milestone column or a one-record section) not
placed below is still shown: coverage.outline() appends it, labelled by its declaration, to the last
subsection of its section. Table fields must be placed by hand: a new column changes the template's table.

Plain Python: no Slack, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Fields of the section forms that the report does not show, and why.
NOT_IN_REPORT: frozenset[tuple[str, str]] = frozenset({
    ("details", "report_channel_id"),  # where the report is posted, not part of it
    ("details", "post_final_report"),  # whether the final report is posted when accepted: a setting
})
# Fields the report shows as the unit of other fields' values rather than as facts of their own: every money
# cell is written in the milestone's currency (`$82,500`, `€82,500`, `12,500 CHF`; bot.core.formats.money),
# and an importer reads the currency back from them.
UNITS: frozenset[tuple[str, str]] = frozenset({
    ("details", "currency"),
})

ItemKind = Literal["objective", "lesson", "change", "task", "action", "condition", "link", "theme"]
CellKind = Literal["text", "multiline", "int", "decimal", "money", "percent", "date", "select", "user", "url",
                   "bool", "computed"]
NUMERIC_KINDS = frozenset({"int", "decimal", "money", "percent"})


@dataclass(frozen=True)
class Column:
    heading: str  # exactly as in the template's header row
    attr: str  # the row's attribute (bot.reports.data) shown in the cell
    fields: tuple[str, ...] = ()  # the model fields behind it; () = computed by the report
    kind: CellKind = "text"
    numeric: bool = False  # right-aligned, tabular figures
    total_attr: str | None = None  # the total row's attribute, when it differs from `attr`
    tone: bool = False  # a signed variance: coloured by the row's `<attr>_tone`


@dataclass(frozen=True)
class Table:
    rows: str  # Report attribute (dotted) holding the rows
    columns: tuple[Column, ...]
    total: str | None = None  # Report attribute holding the total row


@dataclass(frozen=True)
class Fact:
    label: str  # exactly as in the template
    attr: str = ""  # Report attribute (dotted) with the shown value; "" = the field's own value (Report.fields)
    fields: tuple[str, ...] = ()
    strong: bool = True  # "**Label**: value" (else "Label: value")
    link: bool = False  # the value is a URL, shown as a link
    tone: str = ""  # Report attribute (dotted) naming the value's tone: "bad", "good" or ""
    optional: bool = False  # left out when empty (rather than "Not provided")


@dataclass(frozen=True)
class Facts:
    facts: tuple[Fact, ...]
    style: Literal["list", "lines", "para"] = "list"  # "- **L**: v" / "**L**: v  " lines / one paragraph
    when: str = ""  # Report attribute: the block shows only when it is truthy, else "Not provided"


@dataclass(frozen=True)
class Prose:
    attr: str
    fields: tuple[str, ...] = ()
    optional: bool = False  # shows nothing (rather than "Not provided") when empty


@dataclass(frozen=True)
class Items:
    attr: str  # Report attribute (dotted) holding the items
    item: ItemKind  # how one item reads (bot.reports.document.ITEM_BUILDERS)
    fields: tuple[str, ...] = ()
    ordered: bool = False
    intro: str = ""  # a line before the list ("Conditions to meet:")
    optional: bool = False


Block = Table | Facts | Prose | Items


@dataclass(frozen=True)
class Subsection:
    key: str  # the anchor (#criteria) and the summary band's link target
    heading: str  # the `###` text exactly; "{}" is filled with `heading_attr` (the next milestone's name)
    blocks: tuple[Block, ...]
    section: str | None = None  # bot.sections key whose form edits these fields; None: not a form section
    where: tuple[tuple[str, str], ...] = ()  # which rows of that section's table
    heading_attr: str = ""
    repeat: str = ""  # one subsection per item of this Report attribute (appendices: "{letter}. {title}")


@dataclass(frozen=True)
class Part:
    key: str
    heading: str  # the `##` text exactly
    subsections: tuple[Subsection, ...] = ()
    blocks: tuple[Block, ...] = ()  # content directly under the part's heading (Executive Summary)
    section: str | None = None


@dataclass(frozen=True)
class Outline:
    title: str  # "Milestone Report: {}" with the milestone's name
    header: Facts
    parts: tuple[Part, ...]
    footer: Facts
    header_section: str = "details"
    footer_section: str = "metadata"
    extras: dict[str, tuple[Fact, ...]] = field(default_factory=dict)  # section → auto-placed facts


def _f(label: str, *fields: str, attr: str = "", **kw: object) -> Fact:
    return Fact(label, attr, fields, **kw)  # type: ignore[arg-type]


def _c(heading: str, attr: str, *fields: str, **kw: object) -> Column:
    return Column(heading, attr, fields, **kw)  # type: ignore[arg-type]


def _num(heading: str, attr: str, *fields: str, **kw: object) -> Column:
    return Column(heading, attr, fields, numeric=True, **kw)  # type: ignore[arg-type]


def _np_table(rows: str, *columns: Column, total: str | None = None) -> Table:
    return Table(rows, columns, total)


_BENCH_COLUMNS = (_c("Metric", "metric", "metric"), _c("Target", "target", "target"),
                  _c("Achieved", "achieved", "achieved"), _c("Status", "status_label", "status"))
_LESSONS = (("went_well", "What Went Well ✅"), ("improve", "What Could Be Improved 🔄"),
            ("best_practice", "Best Practices Identified 📚"), ("process", "Process Improvements"))
_HORIZONS = (("week1", "Immediate Actions (Week 1)"), ("month1", "Short-term Actions (Month 1)"),
             ("quarter", "Long-term Actions (Quarter)"))

_OVERVIEW = Part("overview", "Milestone Overview", (
    Subsection("objectives", "Objectives", (Items("objectives", "objective", ("priority", "title", "description"),
                                                  ordered=True),), "objectives"),
    Subsection("criteria", "Success Criteria Assessment", (
        Table("criteria", (_c("Criterion", "criterion", "criterion"), _c("Target", "target", "target"),
                           _c("Actual", "actual", "actual"), _c("Status", "status_label", "status"),
                           _c("Notes", "notes", "notes"))),
        Facts((_f("Criteria met", attr="criteria_summary.label"),), "para", when="criteria"),
    ), "criteria"),
    Subsection("scope", "Scope", (Facts((
        _f("Original Scope", "scope_original", attr="scope_original"),
        _f("Final Scope", "scope_final", attr="scope_final"),
        _f("Scope Changes", "scope_changes", attr="scope_changes"))),), "scope"),
))

_DELIVERABLES = Part("deliverables", "Deliverables", (
    Subsection("completed", "Completed Deliverables", (Table("completed", (
        _c("Deliverable", "name", "name"), _c("Description", "description", "description"),
        _c("Acceptance Criteria", "acceptance_criteria", "acceptance_criteria"),
        _c("Status", "status_label", "status"), _c("Sign-off", "signoff", "signoff_by", "signoff_date"))),),
        "completed"),
    Subsection("deferred", "Deferred Deliverables", (Table("deferred", (
        _c("Deliverable", "name", "name"), _c("Reason for Deferral", "deferral_reason", "deferral_reason"),
        _c("New Target", "new_target", "new_target"), _c("Impact", "impact_label", "impact"))),), "deferred"),
    Subsection("additional", "Additional Deliverables", (Table("additional", (
        _c("Deliverable", "name", "name"), _c("Description", "description", "description"),
        _c("Reason for Addition", "addition_reason", "addition_reason"))),), "additional"),
))

_TIMELINE = Part("timeline", "Timeline Analysis", (
    Subsection("schedule", "Schedule Performance", (Facts((
        _f("Original Start Date", "planned_start", attr="planned_start"),
        _f("Actual Start Date", "actual_start", attr="actual_start"),
        _f("Original End Date", "planned_end", attr="planned_end"),
        _f("Actual End Date", "actual_end", attr="actual_end"),
        _f("Schedule Variance", attr="schedule_variance_label", tone="schedule_tone"))),), "timeline"),
    Subsection("phases", "Phase Breakdown", (Table("phases", (
        _c("Phase", "name", "name"), _num("Planned Duration", "planned_label", "planned_days"),
        _num("Actual Duration", "actual_label", "actual_days"), _num("Variance", "variance_label", tone=True),
        _c("Notes", "notes", "notes"))),), "phases"),
    Subsection("critical-path", "Critical Path Analysis", (Prose("critical_path", ("critical_path",)),), "timeline"),
))

_RESOURCES = Part("resources", "Resource Utilization", (
    Subsection("effort", "Team Effort", (Table("effort", (
        _c("Role", "role", "role"), _num("Planned Hours", "planned_label", "planned_hours"),
        _num("Actual Hours", "actual_label", "actual_hours"), _num("Variance", "variance_label", tone=True),
        _num("Efficiency", "efficiency_label")), total="effort_total"),), "effort"),
    Subsection("budget", "Budget Analysis", (Table("budget", (
        _c("Category", "category", "category"), _num("Budgeted", "budgeted_label", "budgeted"),
        _num("Actual", "actual_label", "actual"), _num("Variance", "variance_label", tone=True),
        _c("Notes", "notes_label", "notes", total_attr="verdict")), total="budget_total"),), "budget"),
))

_QUALITY = Part("quality", "Quality Metrics", (
    Subsection("testing", "Testing Results", (Facts((
        _f("Total Test Cases", "total_tests", attr="testing.total_label"),
        _f("Passed", "passed_tests", attr="testing.passed_label"),
        _f("Failed", "failed_tests", attr="testing.failed_label"),
        _f("Blocked", "blocked_tests", attr="testing.blocked_label"),
        _f("Test Coverage", "test_coverage_pct", attr="testing.coverage_label")), when="testing"),), "quality"),
    Subsection("defects", "Defect Analysis", (Table("defects", (
        _c("Severity", "severity_label", "severity"), _num("Found", "found", "found"),
        _num("Fixed", "fixed", "fixed"), _num("Outstanding", "outstanding", "outstanding"),
        _num("Deferred", "deferred", "deferred")), total="defect_total"),), "defects"),
    Subsection("code-quality", "Code Quality", (Facts((
        _f("Lines of Code", "lines_of_code", attr="code_quality.lines_of_code"),
        _f("Code Coverage", "code_coverage_pct", attr="code_quality.code_coverage"),
        _f("Technical Debt", "tech_debt_hours", attr="code_quality.tech_debt_hours"),
        _f("Cyclomatic Complexity", "cyclomatic_complexity", attr="code_quality.complexity"),
        _f("Code Review Coverage", "code_review_coverage_pct", attr="code_quality.review_coverage")),
        when="code_quality"),), "quality"),
))

_PERFORMANCE = Part("performance", "Performance Benchmarks", (
    Subsection("system-performance", "System Performance", (Table("system_benchmarks", _BENCH_COLUMNS),),
               "benchmarks", (("kind", "system"),)),
    Subsection("ux-metrics", "User Experience Metrics", (Table("ux_benchmarks", _BENCH_COLUMNS),),
               "benchmarks", (("kind", "ux"),)),
))

_RISKS = Part("risks", "Risk Assessment", (
    Subsection("risks-realized", "Risks Realized", (Table("risks_realized", (
        _c("Risk", "risk", "risk"), _c("Impact", "impact_label", "impact"),
        _c("How It Was Managed", "management", "management"), _c("Lessons Learned", "lessons", "lessons"))),),
        "risks", (("kind", "realized"),)),
    Subsection("risks-mitigated", "Risks Mitigated", (Table("risks_mitigated", (
        _c("Risk", "risk", "risk"), _c("Mitigation Strategy", "management", "management"),
        _c("Effectiveness", "effectiveness", "effectiveness"))),), "risks", (("kind", "mitigated"),)),
    Subsection("risks-new", "New Risks Identified", (Table("risks_new", (
        _c("Risk", "risk", "risk"), _c("Probability", "probability_label", "probability"),
        _c("Impact", "impact_label", "impact"), _c("Mitigation Plan", "management", "management"))),),
        "risks", (("kind", "new"),)),
))

_FEEDBACK = Part("feedback", "Stakeholder Feedback", (
    Subsection("acceptance-testing", "Acceptance Testing", (Facts((
        _f("Participants", "participants", attr="feedback.participants"),
        _f("Test Scenarios", "scenarios_completed", attr="feedback.scenarios_label"),
        _f("Acceptance Rate", attr="feedback.acceptance_rate_label"),
        _f("Key Feedback", "acceptance_key_feedback", attr="feedback.acceptance_key_feedback"))),), "validation"),
    Subsection("user-acceptance", "User Acceptance", (Facts((
        _f("Beta Users", "beta_users", attr="feedback.beta_users_label"),
        _f("Satisfaction Score", attr="feedback.satisfaction_label"),
        _f("NPS Score", attr="feedback.nps_label"),
        _f("Key Feedback Themes", attr="feedback.themes_label"))),
        Items("feedback.themes", "theme", ordered=True, optional=True),
        Prose("feedback.counts_note", optional=True),
    ), "validation"),
    Subsection("business-validation", "Business Validation", (Facts((
        _f("Business Goals Met", "business_goals_met", "business_goals_total", attr="feedback.business_goals_label"),
        _f("ROI Projection", "roi_projection", attr="feedback.roi_label"),
        _f("Market Response", "market_response", attr="feedback.market_response"))),), "validation"),
))

_LESSONS_PART = Part("lessons", "Lessons Learned", tuple(
    Subsection(f"lessons-{kind.replace('_', '-')}", title,
               (Items(f"lessons.{kind}", "lesson", ("title", "description"), ordered=True),), "lessons",
               (("kind", kind),))
    for kind, title in _LESSONS
))

_TECHNICAL = Part("technical", "Technical Documentation", (
    Subsection("architecture", "Architecture Changes",
               (Items("architecture_changes", "change", ("change", "rationale")),), "architecture"),
    Subsection("api", "API Documentation", (Facts((
        _f("New endpoints", "api_new", attr="api.new", strong=False),
        _f("Modified endpoints", "api_modified", attr="api.modified", strong=False),
        _f("Deprecated endpoints", "api_deprecated", attr="api.deprecated", strong=False),
        _f("API documentation", "api_docs_url", attr="api_docs_url", strong=False, link=True)),
        when="has_api"),), "techdocs"),
    Subsection("database", "Database Changes", (Facts((
        _f("Schema updates", "db_schema_updates", attr="database.schema", strong=False),
        _f("Migration scripts", "db_migration_url", attr="migration_url", strong=False, link=True),
        _f("Performance optimizations", "db_optimizations", attr="database.optimizations", strong=False)),
        when="has_database"),), "techdocs"),
    Subsection("infrastructure", "Infrastructure Updates", (Facts((
        _f("New services deployed", "infra_new_services", attr="infrastructure.new_services", strong=False),
        _f("Configuration changes", "infra_config_changes", attr="infrastructure.config", strong=False),
        _f("Scaling adjustments", "infra_scaling", attr="infrastructure.scaling", strong=False)),
        when="infrastructure"),), "techdocs"),
))

_HANDOVER = Part("handover", "Transition & Handover", (
    Subsection("knowledge-transfer", "Knowledge Transfer", (Facts((
        _f("Documentation Created", "documentation_created", attr="knowledge.documentation"),
        _f("Training Conducted", "training_conducted", attr="knowledge.training"),
        _f("Videos Recorded", "videos_recorded", attr="knowledge.videos")), when="knowledge"),),
        "knowledge"),
    Subsection("support-readiness", "Support Readiness", (Facts((
        _f("Support Team Trained", "support_team_trained", attr="readiness.support_team_trained"),
        _f("Runbooks Created", "runbooks_created", attr="readiness.runbooks_created"),
        _f("Monitoring Setup", "monitoring_setup", attr="readiness.monitoring_setup"),
        _f("Escalation Path Defined", "escalation_path_defined",
           attr="readiness.escalation_path_defined")), when="readiness"),), "knowledge"),
    Subsection("operational-handover", "Operational Handover", (Table("handover", (
        _c("Component", "component", "component"), _c("From Team", "from_team", "from_team"),
        _c("To Team", "to_team", "to_team"), _c("Status", "status_label", "status"),
        _c("Date", "date_label", "handover_date"))),), "handover"),
))

_ACTIVITIES = Part("activities", "Post-Milestone Activities", (
    *(Subsection(f"actions-{horizon}", title, (Items(f"actions.{horizon}", "action"),), None,
                 (("horizon", horizon),)) for horizon, title in _HORIZONS),
    Subsection("tech-debt", "Technical Debt to Address", (Table("tech_debt", (
        _c("Item", "item_label"), _c("Priority", "priority_label"), _c("Effort", "effort_label"),
        _c("Planned Sprint", "planned_sprint"))),), None, (("horizon", "tech_debt"),)),
))

_NEXT = Part("next", "Next Milestone Preview", (
    Subsection("next-milestone", "Milestone: {}", (Facts((
        _f("Target Date", "target_date", attr="next_milestone.target_date"),
        _f("Key Objectives", "key_objectives", attr="next_milestone.key_objectives"),
        _f("Dependencies", "dependencies", attr="next_milestone.dependencies"),
        _f("Risks", "risks", attr="next_milestone.risks")), when="next_milestone"),), "next",
        heading_attr="next_milestone_name"),
    Subsection("preparatory", "Preparatory Work", (Items("preparatory_tasks", "task", ("task", "description",
                                                                                        "timeline"), ordered=True),),
               "preparatory"),
))

_SIGNOFF = Part("signoff", "Approval & Sign-off", (
    Subsection("acceptance", "Milestone Acceptance", (
        Table("signoffs", (_c("Role", "role"), _c("Name", "name"), _c("Signature", "signature"),
                           _c("Date", "date_label"))),
        Facts((_f("Sign-off progress", attr="signoff_progress_label"),), "para", when="signoffs"),
    )),
    Subsection("comments", "Comments & Conditions", (
        Prose("comments_conditions", ("comments_conditions",), optional=True),
        Items("conditions", "condition", optional=True),
        Items("actions.condition", "action", intro="Conditions to meet:", optional=True),
    ), "comments"),
))

_APPENDICES = Part("appendices", "Appendices", (
    Subsection("appendix", "{letter}. {title}", (Items("links", "link"),), "appendices", repeat="appendices"),
))

OUTLINE = Outline(
    title="Milestone Report: {}",
    header=Facts((
        _f("Milestone ID", attr="key"),
        _f("Version", "version", attr="version_label"),
        _f("Completion Date", attr="completion_date_label"),
        _f("Status", "status", attr="status_label"),
    ), "lines"),
    parts=(
        Part("executive-summary", "Executive Summary", blocks=(Prose("executive_summary", ("executive_summary",)),),
             section="summary"),
        _OVERVIEW, _DELIVERABLES, _TIMELINE, _RESOURCES, _QUALITY, _PERFORMANCE, _RISKS, _FEEDBACK, _LESSONS_PART,
        _TECHNICAL, _HANDOVER, _ACTIVITIES, _NEXT, _SIGNOFF, _APPENDICES,
    ),
    footer=Facts((
        _f("Document Prepared By", "prepared_by", attr="prepared_by"),
        _f("Role", "preparer_role", attr="preparer_role"),
        _f("Date", attr="report_date"),
        _f("Version", attr="revision"),
        _f("Distribution", "distribution", attr="distribution"),
        _f("Confidentiality", "confidentiality", attr="confidentiality"),
        # Who filled which section through Slack, at which revision (bot.assignments.service.contributors).
        # Worked out from the audit trail, so the importer reads it as a computed fact and leaves it.
        _f("Contributors", attr="contributors_label", optional=True),
    ), "lines"),
)
