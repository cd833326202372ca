"""The report's sections, in the template's order, and how each one is read and saved.

A section is one modal in Slack and one part of the report. It edits either some columns of the milestone
("columns"), one single-record model ("one", e.g. QualityMetrics) or the rows of a table ("rows", e.g.
Risk). Its fields come from the model declarations (`models.base.field`), so a field is listed once: here
we only say which model, and, where one model serves several sections (deliverables), which of its fields.

Other features read this registry: the report (section titles, `empty_sections`), sign-offs (the section
keys passed to `on_content_changed`, `snapshot` for "what changed").

Tables hold at most `MAX_ROWS` rows: the list modal shows two blocks a row, so 30 rows stay well inside
Slack's 100 blocks per view, and the compiled report stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import UniqueConstraint, func, select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput, NotFound
from bot.core.fields import check_date_order, parse_fields
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
from models.base import FieldValue

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
        "details", "Milestone details", ("name", "version", "status", "report_channel_id", "currency"),
        help="The report's heading: name, version and status; the channel the report goes to; the budget's "
        "currency.",
        aliases=("header", "overview"), non_content=("report_channel_id",),
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
    """The section named by our own code (a known key); NotFound without echoing the name, since
    typed names are answered by the Slack layer, which escapes them."""
    section = find_section(key)
    if section is None:
        raise NotFound("There is no such section.")
    return section


# ---- reading ---------------------------------------------------------------------------------------------


def rows(milestone: Milestone, section: Section) -> list[Any]:
    """The section's rows in their order (only this section's kind where several share a table)."""
    fixed = dict(section.fixed)
    return [
        row for row in getattr(milestone, section.relation)
        if all(getattr(row, name) == value for name, value in fixed.items())
    ]


def record(milestone: Milestone, section: Section) -> Any:
    """The object whose fields a columns or one-to-one section edits (None: not filled in yet)."""
    if section.kind == "columns":
        return milestone
    if section.kind == "one":
        return getattr(milestone, section.relation)
    raise ValueError(f"{section.key} is a table")


def current_values(milestone: Milestone, section: Section) -> dict[str, FieldValue]:
    target = record(milestone, section)
    return {spec.name: getattr(target, spec.name) if target is not None else None for spec in section.specs()}


def row_values(row: Any, section: Section) -> dict[str, FieldValue]:
    return {spec.name: getattr(row, spec.name) for spec in section.specs()}


def new_row_values(section: Section) -> dict[str, FieldValue]:
    """What a new row's form starts with: the model's column defaults (a risk is "New" unless changed),
    then the section's own (a completed deliverable is "Complete")."""
    values: dict[str, FieldValue] = {}
    for spec in section.specs():
        default = section.model.__table__.c[spec.name].default
        if default is not None and default.is_scalar:
            values[spec.name] = default.arg
    return {**values, **dict(section.defaults)}


def _blank(value: Any) -> bool:
    return value is None or value == "" or value is False or value == []


def _same(before: Any, after: Any) -> bool:
    """Unchanged: equal, or both blank (an untouched checkbox on a record not created yet)."""
    return (_blank(before) and _blank(after)) or before == after


def is_empty(milestone: Milestone, section: Section) -> bool:
    """Nothing of the section's own content yet (what other places fill in does not count)."""
    if section.is_table:
        return not rows(milestone, section)
    skipped = (*section.non_content, *section.not_filling)
    return all(_blank(v) for k, v in current_values(milestone, section).items() if k not in skipped)


def grouped() -> list[tuple[str, list[Section]]]:
    """The sections under the template's headings."""
    return [(heading, [_BY_KEY[key] for key in keys]) for heading, keys in HEADINGS]


def empty_sections(milestone: Milestone) -> list[Section]:
    """The sections with nothing in them yet, in template order."""
    return [section for section in SECTIONS if is_empty(milestone, section)]


def status_line(milestone: Milestone, section: Section) -> str:
    """A few words on how far a section is: `empty`, `filled in`, `3 rows`."""
    if section.is_table:
        count = len(rows(milestone, section))
        return "empty" if count == 0 else f"{count} row" + ("" if count == 1 else "s")
    return "empty" if is_empty(milestone, section) else "filled in"


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(milestone: Milestone) -> dict[str, Any]:
    """Every section's content as plain JSON-able data, keyed by section key (to hash or diff revisions)."""
    content: dict[str, Any] = {}
    for section in SECTIONS:
        if section.is_table:
            content[section.key] = [
                {k: _plain(v) for k, v in row_values(row, section).items()} for row in rows(milestone, section)
            ]
        else:
            values = current_values(milestone, section)
            content[section.key] = {k: _plain(v) for k, v in values.items() if k not in section.non_content}
    return content


# ---- validating ------------------------------------------------------------------------------------------


def _cross_checks(section: Section, values: dict[str, FieldValue], errors: dict[str, str]) -> None:
    for start, end in section.date_pairs:
        check_date_order(values, start, end, errors)
    if section.model is QualityMetrics:
        total = values.get("total_tests")
        parts = [values.get(name) for name in ("passed_tests", "failed_tests", "blocked_tests")]
        if isinstance(total, int) and sum(p for p in parts if isinstance(p, int)) > total:
            errors["total_tests"] = "Passed, failed and blocked add up to more than the total."
    if section.model is StakeholderValidation:
        met, total = values.get("business_goals_met"), values.get("business_goals_total")
        if isinstance(met, int) and isinstance(total, int) and met > total:
            errors["business_goals_met"] = "More goals met than there are goals in total."
    check_currency(values, errors)
    if section.model is DefectCount:
        found = values.get("found")
        done = [values.get(name) for name in ("fixed", "deferred")]
        if isinstance(found, int) and sum(d for d in done if isinstance(d, int)) > found:
            errors["fixed"] = "Fixed and deferred add up to more than were found."


def check_currency(values: dict[str, FieldValue], errors: dict[str, str]) -> None:
    """A currency is a three-letter code (stored upper-case); the new-milestone form checks it the same way."""
    currency = values.get("currency")
    if isinstance(currency, str):
        code = currency.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            errors["currency"] = "Use a three-letter currency code such as USD or EUR."
        values["currency"] = code


def parse_each(specs: list[FieldSpec], raw: dict[str, Any]) -> tuple[dict[str, FieldValue], dict[str, str]]:
    """The fields that parse, and an error for each that does not: cross-field checks still run on the
    good ones, so the person sees every problem at once."""
    values: dict[str, FieldValue] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        try:
            values.update(parse_fields([spec], raw))
        except InvalidInput as invalid:
            errors.update(invalid.errors)
    return values, errors


def parse(section: Section, raw: dict[str, Any]) -> dict[str, FieldValue]:
    """What the person typed, as typed values; InvalidInput with every problem, keyed by field name."""
    values, errors = parse_each(section.specs(), raw)
    _cross_checks(section, values, errors)
    if errors:
        raise InvalidInput(errors)
    return values


# ---- saving (inside the caller's transaction) ------------------------------------------------------------


def save_fields(
    session: Session, milestone: Milestone, section: Section, values: dict[str, FieldValue], actor_id: str
) -> list[str]:
    """Write a columns or one-to-one section; the names of the fields that changed (none: nothing done).

    A content change bumps the revision and is audited; a change only to non-content columns is audited
    without a new revision.
    """
    target = record(milestone, section)
    before = current_values(milestone, section)
    changed = [name for name, value in values.items() if not _same(before.get(name), value)]
    if not changed:
        return []
    if target is None:
        target = section.model(milestone_id=milestone.id)
        setattr(milestone, section.relation, target)
    for name in changed:
        setattr(target, name, values[name])
    detail = {"fields": changed}
    if any(name not in section.non_content for name in changed):
        audit.content_changed(session, milestone, actor_id, section.key, detail)
    else:
        audit.record(session, milestone, actor_id, "milestone.settings", section=section.key, detail=detail)
    session.flush()
    return changed


def _duplicate_errors(
    session: Session, milestone: Milestone, section: Section, values: dict[str, FieldValue], row_id: int | None
) -> dict[str, str]:
    """A row that would break one of the table's unique constraints (one defect row per severity)."""
    errors: dict[str, str] = {}
    for constraint in section.model.__table__.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        names = [c.name for c in constraint.columns if c.name != "milestone_id"]
        if not names or any(name not in values for name in names):
            continue
        query = select(section.model.id).where(
            section.model.milestone_id == milestone.id,
            *(getattr(section.model, name) == values[name] for name in names),
        )
        if row_id is not None:
            query = query.where(section.model.id != row_id)
        if session.scalar(query) is not None:
            spec = next(s for s in section.specs() if s.name == names[0])
            shown = values[names[0]]
            if spec.choices is not None:
                shown = dict(spec.choices.choices()).get(str(shown), shown)
            errors[names[0]] = f"There is already a row for {shown}: edit that one instead."
    return errors


def find_row(session: Session, milestone: Milestone, section: Section, row_id: int) -> Any:
    row = session.get(section.model, row_id)
    fixed = dict(section.fixed)
    if row is None or row.milestone_id != milestone.id or any(getattr(row, k) != v for k, v in fixed.items()):
        raise NotFound(f"That {section.noun} is no longer in {milestone.key}; someone may have removed it.")
    return row


def save_row(
    session: Session,
    milestone: Milestone,
    section: Section,
    row_id: int | None,
    values: dict[str, FieldValue],
    actor_id: str,
) -> bool:
    """Add a row (row_id None) or change one; False when nothing changed. Raises InvalidInput for a full
    table or a duplicate, NotFound for a row removed meanwhile."""
    errors = _duplicate_errors(session, milestone, section, values, row_id)
    if errors:
        raise InvalidInput(errors)
    if row_id is None:
        count = len(rows(milestone, section))
        if count >= MAX_ROWS:
            first = section.specs()[0].name
            raise InvalidInput({first: f"{section.title} holds at most {MAX_ROWS} rows; remove one first."})
        position = session.scalar(
            select(func.coalesce(func.max(section.model.position), -1)).where(
                section.model.milestone_id == milestone.id
            )
        )
        row = section.model(milestone_id=milestone.id, position=int(position or 0) + 1, **dict(section.fixed))
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.flush()
        audit.content_changed(session, milestone, actor_id, section.key, {"added": row.id})
    else:
        row = find_row(session, milestone, section, row_id)
        changed = [name for name, value in values.items() if not _same(getattr(row, name), value)]
        if not changed:
            return False
        for name in changed:
            setattr(row, name, values[name])
        audit.content_changed(session, milestone, actor_id, section.key, {"changed": row.id, "fields": changed})
    session.expire(milestone, [section.relation])  # the relationship list reloads with the new row
    return True


def remove_row(session: Session, milestone: Milestone, section: Section, row_id: int, actor_id: str) -> bool:
    """Remove a row; False if it was already gone (a second click changes nothing)."""
    try:
        row = find_row(session, milestone, section, row_id)
    except NotFound:
        return False
    session.delete(row)
    session.flush()
    audit.content_changed(session, milestone, actor_id, section.key, {"removed": row_id})
    session.expire(milestone, [section.relation])
    return True
