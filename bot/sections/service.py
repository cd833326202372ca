"""Reading, validating and saving the report's sections (declared in bot.sections.registry).

Other features read this module: the report (section titles, `empty_sections`), sign-offs (the section
keys passed to `on_content_changed`). The registry's names are re-exported here for them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import UniqueConstraint, func, select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput, NotFound
from bot.core.fields import check_date_order, parse_fields
from bot.sections.registry import HEADINGS as HEADINGS
from bot.sections.registry import MAX_ROWS as MAX_ROWS
from bot.sections.registry import SECTIONS as SECTIONS
from bot.sections.registry import Section as Section
from bot.sections.registry import find_section as find_section
from bot.sections.registry import get_section as get_section
from bot.sections.registry import grouped as grouped
from models import NAME_KEPT_AS_TEXT, DefectCount, FieldSpec, Milestone, QualityMetrics, StakeholderValidation
from models.base import FieldValue

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


def _set(target: Any, changed: list[str], values: dict[str, FieldValue]) -> None:
    """Write the changed fields; a member picked for a person field replaces the name an imported report kept
    as text for it (models.NAME_KEPT_AS_TEXT)."""
    for name in changed:
        setattr(target, name, values[name])
        kept = NAME_KEPT_AS_TEXT.get(name)
        if kept and values[name] and hasattr(target, kept):
            setattr(target, kept, None)


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
    _set(target, changed, values)
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
    model: Any = section.model  # a row model: id, milestone_id and position, which Base does not declare
    for constraint in model.__table__.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        names = [c.name for c in constraint.columns if c.name != "milestone_id"]
        if not names or any(name not in values for name in names):
            continue
        query = select(model.id).where(
            model.milestone_id == milestone.id,
            *(getattr(model, name) == values[name] for name in names),
        )
        if row_id is not None:
            query = query.where(model.id != row_id)
        if session.scalar(query) is not None:
            spec = next(s for s in section.specs() if s.name == names[0])
            shown = values[names[0]]
            if spec.choices is not None:
                shown = dict(spec.choices.choices()).get(str(shown), shown)
            errors[names[0]] = f"There is already a row for {shown}: edit that one instead."
    return errors


def find_row(session: Session, milestone: Milestone, section: Section, row_id: int) -> Any:
    row: Any = session.get(section.model, row_id)
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
        model: Any = section.model
        position = session.scalar(
            select(func.coalesce(func.max(model.position), -1)).where(model.milestone_id == milestone.id)
        )
        row = model(milestone_id=milestone.id, position=int(position or 0) + 1, **dict(section.fixed))
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
        _set(row, changed, values)
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
