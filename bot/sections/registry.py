"""The report's sections, declared once, in the template's order and under its headings.

A section is one modal in Slack and one part of the report. It edits either some columns of the milestone
("columns"), one single-record model ("one", e.g. QualityMetrics) or the rows of a table ("rows", e.g.
Risk). Its fields come from the model declarations (`models.base.field`), so a field is listed once: here
we only say which model, and, where one model serves several sections (deliverables), which of its fields.

Tables hold at most `MAX_ROWS` rows: the list modal shows two blocks a row, so 30 rows stay well inside
Slack's 100 blocks per view, and the compiled report stays readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.core.errors import NotFound
from models import (
    Appendix,
    ArchitectureChange,
    Base,
    Benchmark,
    BudgetLine,
    DefectCount,
    Deliverable,
    EffortLine,
    FieldSpec,
    HandoverItem,
    KnowledgeTransfer,
    Lesson,
    Milestone,
    NextMilestone,
    Objective,
    Phase,
    PreparatoryTask,
    QualityMetrics,
    Risk,
    StakeholderValidation,
    SuccessCriterion,
    TechnicalDocs,
    form_fields,
)

MAX_ROWS = 30
SectionKind = Literal["columns", "one", "rows"]


@dataclass(frozen=True)
class Section:
    key: str  # `/milestone edit M-042 <key>`; also the audit's and on_content_changed's section name
    title: str  # the modal title too, so at most 24 characters
    kind: SectionKind
    model: type[Base] = Milestone
    relation: str = ""  # the Milestone relationship holding the record or rows
    fields: tuple[str, ...] = ()  # the model's fields this section edits; empty: all declared fields
    fixed: tuple[tuple[str, str], ...] = ()  # rows: what every row of this section has (Deliverable.kind)
    defaults: tuple[tuple[str, str], ...] = ()  # rows: pre-filled in a new row
    date_pairs: tuple[tuple[str, str], ...] = ()  # (start, end) that must be in order
    noun: str = "row"  # rows: "Add risk", "Edit risk"
    help: str = ""
    aliases: tuple[str, ...] = ()
    # Columns whose change is not report content (no new revision, sign-offs stay valid).
    non_content: tuple[str, ...] = ()
    # Columns shown here but filled elsewhere (the planned dates, set when the milestone is created): they do
    # not make the section count as filled in.
    not_filling: tuple[str, ...] = ()
    # Rows of several kinds (a risk realized, mitigated or new): the select that picks the kind, the fields
    # each kind shows, and the labels a kind gives a shared field.
    variant_field: str = ""
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    variant_labels: tuple[tuple[str, str, str], ...] = ()

    @property
    def is_table(self) -> bool:
        return self.kind == "rows"

    def specs(self) -> list[FieldSpec]:
        declared = form_fields(self.model)
        if self.fields:
            by_name = {spec.name: spec for spec in declared}
            return [by_name[name] for name in self.fields]
        fixed = dict(self.fixed)
        return [spec for spec in declared if spec.name not in fixed]

    def specs_for(self, variant: object) -> list[FieldSpec]:
        """The fields a row of this kind shows (all of them for a section without kinds)."""
        shown = dict(self.variants).get(str(variant)) if self.variants else None
        if shown is None:
            return self.specs()
        labels = {name: text for kind, name, text in self.variant_labels if kind == variant}
        return [replace(spec, label=labels.get(spec.name, spec.label)) for spec in self.specs()
                if spec.name == self.variant_field or spec.name in shown]


def _columns(key: str, title: str, fields: tuple[str, ...], **kw: Any) -> Section:
    return Section(key, title, "columns", Milestone, fields=fields, **kw)


def _one(key: str, title: str, model: type[Base], relation: str, **kw: Any) -> Section:
    return Section(key, title, "one", model, relation=relation, **kw)


def _rows(key: str, title: str, model: type[Base], relation: str, noun: str, **kw: Any) -> Section:
    return Section(key, title, "rows", model, relation=relation, noun=noun, **kw)


_DELIVERABLE_BASE = ("name",)

SECTIONS: tuple[Section, ...] = (
    _columns(
        "details", "Milestone details",
        ("name", "version", "status", "report_channel_id", "currency", "post_final_report"),
        help="The report's heading: name, version and status; the channel the report goes to; the budget's "
        "currency; whether the final report is posted there when the milestone is accepted.",
        aliases=("header", "overview"),
        # The currency is content: the report prints every amount in it (`€82,500`), so changing it changes
        # what approvers signed (a new revision; their sign-offs are outdated). The same for a milestone with
        # no amounts yet, where nothing shows the change: one rule per field, as the sign-off's content hash
        # (bot.signoffs.content) reads every field whatever the rows.
        # Where and whether the final report is posted is the owner's setting, not part of the report.
        non_content=("report_channel_id", "post_final_report"),
    ),
    _columns(
        "summary", "Executive summary", ("executive_summary",),
        help="The milestone's achievement, its significance, impact on the project and key outcomes.",
        aliases=("executive_summary", "executive"),
    ),
    _rows(
        "objectives", "Objectives", Objective, "objectives", "objective",
        help="Primary, secondary and tertiary objectives, each with its success criteria.",
    ),
    _rows(
        "criteria", "Success criteria", SuccessCriterion, "criteria", "criterion",
        help="Each criterion with its target, the actual result and whether it was met.",
        aliases=("success_criteria",),
    ),
    _columns(
        "scope", "Scope", ("scope_original", "scope_final", "scope_changes"),
        help="The original and final scope, and each change with its justification.",
    ),
    _rows(
        "completed", "Completed deliverables", Deliverable, "deliverables", "deliverable",
        fields=(*_DELIVERABLE_BASE, "description", "acceptance_criteria", "status", "signoff_by", "signoff_date"),
        fixed=(("kind", "completed"),), defaults=(("status", "complete"),),
        help="What was delivered, how it was accepted and who signed it off.",
        aliases=("deliverables", "completed_deliverables"),
    ),
    _rows(
        "deferred", "Deferred deliverables", Deliverable, "deliverables", "deliverable",
        fields=(*_DELIVERABLE_BASE, "deferral_reason", "new_target", "impact"),
        fixed=(("kind", "deferred"),),
        help="Deliverables moved out of this milestone: why, to when, and the impact.",
        aliases=("deferred_deliverables",),
    ),
    _rows(
        "additional", "Additional deliverables", Deliverable, "deliverables", "deliverable",
        fields=(*_DELIVERABLE_BASE, "description", "addition_reason"),
        fixed=(("kind", "additional"),),
        help="Deliverables added during the milestone, and why.",
        aliases=("additional_deliverables",),
    ),
    _columns(
        "timeline", "Schedule & critical path",
        ("planned_start", "actual_start", "planned_end", "actual_end", "critical_path"),
        date_pairs=(("planned_start", "planned_end"), ("actual_start", "actual_end")),
        not_filling=("planned_start", "planned_end"),
        help="Original and actual dates (the report computes the variance) and the critical path analysis.",
        aliases=("schedule", "dates", "critical_path"),
    ),
    _rows(
        "phases", "Phase breakdown", Phase, "phases", "phase",
        help="Planned and actual duration of each phase; the report computes the variance.",
    ),
    _rows(
        "effort", "Team effort", EffortLine, "effort_lines", "role",
        help="Planned and actual hours per role; the report computes variance, efficiency and totals.",
        aliases=("resources", "team"),
    ),
    _rows(
        "budget", "Budget", BudgetLine, "budget_lines", "budget line",
        help="Budgeted and actual cost per category; the report computes variance and totals.",
    ),
    _one(
        "quality", "Testing & code quality", QualityMetrics, "quality",
        help="Test results and code quality figures; the report computes pass rates.",
        aliases=("testing", "code_quality"),
    ),
    _rows(
        "defects", "Defect analysis", DefectCount, "defects", "severity",
        help="One row per severity: found, fixed, outstanding and deferred; the report adds the totals.",
    ),
    _rows(
        "benchmarks", "Performance benchmarks", Benchmark, "benchmarks", "benchmark",
        help="System performance and user experience metrics: target, achieved, status.",
        aliases=("performance", "ux"),
    ),
    _rows(
        "risks", "Risks", Risk, "risks", "risk",
        help="Risks realized (impact, how it was managed, lessons), mitigated (strategy, effectiveness) and "
        "new (probability, impact, mitigation plan).",
        variant_field="kind",
        variants=(("realized", ("risk", "impact", "management", "lessons")),
                  ("mitigated", ("risk", "management", "effectiveness")),
                  ("new", ("risk", "probability", "impact", "management"))),
        variant_labels=(("realized", "management", "How it was managed"),
                        ("mitigated", "management", "Mitigation strategy"),
                        ("new", "management", "Mitigation plan")),
    ),
    _one(
        "validation", "Stakeholder validation", StakeholderValidation, "stakeholder_validation",
        help="Acceptance testing and business validation. Satisfaction and NPS come from the feedback "
        "people give with `/milestone feedback`.",
        aliases=("stakeholders", "business", "acceptance"),
    ),
    _rows(
        "lessons", "Lessons learned", Lesson, "lessons", "lesson",
        help="What went well, what could be improved, best practices and process improvements.",
    ),
    _rows(
        "architecture", "Architecture changes", ArchitectureChange, "architecture_changes", "change",
        help="Each architecture change with its rationale.",
    ),
    _one(
        "techdocs", "API, DB & infrastructure", TechnicalDocs, "technical_docs",
        help="API endpoints, database changes and infrastructure updates.",
        aliases=("technical", "docs", "api", "database", "infrastructure"),
    ),
    _one(
        "knowledge", "Knowledge & support", KnowledgeTransfer, "knowledge_transfer",
        help="Knowledge transfer (documents, training, videos) and support readiness.",
        aliases=("knowledge_transfer", "support", "transition"),
    ),
    _rows(
        "handover", "Operational handover", HandoverItem, "handover_items", "component",
        help="Each component handed over: from which team, to which team, status and date.",
    ),
    _one(
        "next", "Next milestone", NextMilestone, "next_milestone",
        help="The next milestone: target date, key objectives, dependencies on this one, initial risks.",
        aliases=("next_milestone", "preview"),
    ),
    _rows(
        "preparatory", "Preparatory work", PreparatoryTask, "preparatory_tasks", "task",
        help="Tasks that prepare the next milestone, with their timeline.",
        aliases=("prep", "preparation"),
    ),
    _columns(
        "comments", "Comments & conditions", ("comments_conditions",),
        help="Conditions or comments that go with the sign-off.",
        aliases=("conditions",),
    ),
    _rows(
        "appendices", "Appendices", Appendix, "appendices", "appendix",
        help="Links to the detailed test report, performance results, feedback summary, diagrams, "
        "release notes, defect report.",
        aliases=("appendix", "links"),
    ),
    _columns(
        "metadata", "Document metadata", ("prepared_by", "preparer_role", "distribution", "confidentiality"),
        help="The report's footer. Its version is the milestone's revision, counted by the bot.",
        aliases=("document", "footer"),
    ),
)

# The template's headings, each with its sections in order (the picker groups them this way).
HEADINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Heading & executive summary", ("details", "summary")),
    ("Milestone overview", ("objectives", "criteria", "scope")),
    ("Deliverables", ("completed", "deferred", "additional")),
    ("Timeline analysis", ("timeline", "phases")),
    ("Resource utilization", ("effort", "budget")),
    ("Quality metrics", ("quality", "defects")),
    ("Performance benchmarks", ("benchmarks",)),
    ("Risk assessment", ("risks",)),
    ("Stakeholder feedback", ("validation",)),
    ("Lessons learned", ("lessons",)),
    ("Technical documentation", ("architecture", "techdocs")),
    ("Transition & handover", ("knowledge", "handover")),
    ("Next milestone preview", ("next", "preparatory")),
    ("Approval & sign-off", ("comments",)),
    ("Appendices & document footer", ("appendices", "metadata")),
)

_BY_KEY: dict[str, Section] = {}
for _section in SECTIONS:
    for _name in (_section.key, *_section.aliases):
        _BY_KEY.setdefault(_name, _section)


def find_section(key: str) -> Section | None:
    """The section named by its key or an alias (`risks`, `executive-summary`), or None."""
    return _BY_KEY.get(key.strip().lower().replace("-", "_"))


def get_section(key: str) -> Section:
    """The section named by its key or an alias; NotFound lists the keys. A typed name is echoed only when
    it is a plain word (anything that could be markup is not repeated)."""
    section = find_section(key)
    if section is None:
        keys = ", ".join(f"`{s.key}`" for s in SECTIONS)
        named = f" `{key}`" if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key) else ""
        raise NotFound(f"There is no section{named}. Sections: {keys}.")
    return section


def grouped() -> list[tuple[str, list[Section]]]:
    """The sections under the template's headings."""
    return [(heading, [_BY_KEY[key] for key in keys]) for heading, keys in HEADINGS]
