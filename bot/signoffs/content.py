"""What an approver signs: the report's content and its hash, and what changed between two revisions.

Plain Python (no Slack). A sign-off is bound to a revision and to the SHA-256 of the canonical content, so
the record shows what was seen whatever the revision counter says.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.assignments import service as assignments
from bot.sections import service as sections_registry
from models import AuditEvent, Milestone, form_fields
from models.assignments import AssignmentState
from models.base import Base

# Sections approvers fill in during sign-off (comments and conditions, the document's footer): the
# completeness check does not count them as missing before sign-off is requested.
FILLED_DURING_SIGNOFF = frozenset({"comments", "metadata"})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row_values(row: Base) -> dict[str, Any]:
    return {spec.name: _plain(getattr(row, spec.name)) for spec in form_fields(type(row))}


def report_content(milestone: Milestone) -> dict[str, Any]:
    """Every stored value of the report, read generically from the field declarations: the milestone's own
    fields and every section table related to it (rows in their report order)."""
    content: dict[str, Any] = {"milestone": _row_values(milestone)}
    for rel in type(milestone).__mapper__.relationships:
        if rel.mapper.class_.__module__ != "models.sections":
            continue
        value = getattr(milestone, rel.key)
        if rel.uselist:
            content[rel.key] = [_row_values(row) for row in value]
        else:
            content[rel.key] = _row_values(value) if value is not None else None
    return content


def content_hash(milestone: Milestone) -> str:
    """SHA-256 of the canonical JSON of the report content: what an approver saw, independent of revision."""
    canonical = json.dumps(report_content(milestone), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def empty_sections(milestone: Milestone) -> list[tuple[str, str]]:
    """(key, title) of the sections still empty that the team should fill before asking for sign-off."""
    return [(s.key, s.title) for s in sections_registry.empty_sections(milestone)
            if s.key not in FILLED_DURING_SIGNOFF]


# The empty sections under one of the template's headings: (heading, [(key, title), …]).
EmptyHeading = tuple[str, list[tuple[str, str]]]


def empty_by_heading(milestone: Milestone) -> list[EmptyHeading]:
    """The gate's list: `empty_sections` grouped under the template's headings, in the template's order."""
    empty = dict(empty_sections(milestone))
    groups = [(heading, [(s.key, s.title) for s in sections if s.key in empty])
              for heading, sections in sections_registry.grouped()]
    return [(heading, items) for heading, items in groups if items]


@dataclass(frozen=True)
class SectionAsk:
    """Someone asked to fill a section (an open assignment), shown beside it in the gate."""

    assignee_id: str
    due: date | None = None


def open_asks(session: Session, milestone: Milestone) -> dict[str, SectionAsk]:
    """Per section key, who was asked to fill it and by when (open assignments); the gate lists it beside the
    empty section."""
    return {key: SectionAsk(a.assignee_id, a.due_date)
            for key, a in assignments.for_milestone(session, milestone.id).items() if a.state == AssignmentState.ASKED}


def section_titles(keys: list[str]) -> list[str]:
    """Section keys (as audited and passed to on_content_changed) → their titles; unknown keys as they are."""
    titles = {section.key: section.title for section in sections_registry.SECTIONS}
    return [titles.get(key, key) for key in keys]


def changed_sections_since(session: Session, milestone: Milestone, revision: int) -> list[str]:
    """Sections saved after `revision`, in the order they were changed (for "what changed")."""
    rows = session.scalars(
        select(AuditEvent.section)
        .where(AuditEvent.milestone_id == milestone.id, AuditEvent.action == "section.saved",
               AuditEvent.revision > revision)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    seen: list[str] = []
    for section in rows:
        if section and section not in seen:
            seen.append(section)
    return seen


def changes_since(session: Session, milestone: Milestone, revision: int) -> dict[str, dict[str, int]]:
    """Per section key changed after `revision`: rows added / changed / removed and field saves ("fields")."""
    events = session.execute(
        select(AuditEvent.section, AuditEvent.detail)
        .where(AuditEvent.milestone_id == milestone.id, AuditEvent.action == "section.saved",
               AuditEvent.revision > revision)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    changes: dict[str, dict[str, int]] = {}
    for section, detail in events:
        if not section:
            continue
        counts = changes.setdefault(section, {})
        detail = detail or {}
        what = next((k for k in ("added", "removed", "changed") if k in detail), "fields")
        counts[what] = counts.get(what, 0) + 1
    return changes
