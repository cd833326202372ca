"""Importing a parsed report: one new milestone, with every section filled as its form would have, the open
action items as real items, and the file's signatures kept as sign-offs given outside Slack — all inside
the caller's one transaction, so a problem anywhere imports nothing.

The imported milestone starts as Draft (no sign-off asked in Slack yet); signatures from the file never
count as approvals. People are matched by the caller beforehand (`people`: text → user id or None, found
outside the transaction); a name nobody matched is kept as text and listed in the result.
Plain Python: no Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.access import KEY_PATTERN, next_free_key, normalize_key
from bot.core.errors import DomainError
from bot.imports.parsed import Parsed, ParsedAction, specs_of
from bot.imports.people import shown_name
from bot.imports.text import Problem, ReportFormatError
from bot.imports.values import Person
from bot.sections.service import MAX_ROWS, SECTIONS, Section, get_section
from models import NAME_KEPT_AS_TEXT, ActionItem, ActionStatus, ExternalSignoff, Milestone
from models.base import FieldSpec

NAME_LIMIT = 200  # the text kept for a person nobody matched
_PLACES = {"decimal": Decimal("0.01"), "money": Decimal("0.01"), "percent": Decimal("0.01")}


class KeyTaken(DomainError):
    pass


@dataclass
class ImportResult:
    milestone_id: int
    key: str
    name: str
    counts: dict[str, int]
    notes: list[Problem]
    unmatched: list[str]
    open_actions: int
    signed_outside: int
    created_lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {what}" for what, n in self.counts.items() if n)
        return f"{self.key} “{self.name}”: {parts or 'no sections filled in'}"


def choose_key(session: Session, team_id: str, parsed: Parsed, given: str | None) -> tuple[str, list[Problem]]:
    """The milestone's ID: `given`, else the file's; the next free one when the file has none."""
    raw = given or parsed.key
    if not raw:
        free = next_free_key(session, team_id)
        return free, [Problem(0, f"the file gives no Milestone ID: it was imported as {free}")]
    key = normalize_key(raw)
    if not KEY_PATTERN.match(key):
        raise ReportFormatError([Problem(0, f"“{raw}” is not a milestone ID like M-042")])
    taken = session.scalar(select(Milestone.id).where(Milestone.team_id == team_id, Milestone.key == key))
    if taken is not None:
        raise KeyTaken(f"{key} is already taken in this workspace: nothing was imported. Give another ID "
                       f"(--id / the ID field); {next_free_key(session, team_id)} is free.")
    return key, []


class _People:
    def __init__(self, people: dict[str, str | None]) -> None:
        self.people = people
        self.unmatched: dict[str, None] = {}

    def id_or_name(self, value: Person | None) -> tuple[str | None, str | None]:
        """(user id, None) for a member; (None, the name as text) for anyone else."""
        if value is None:
            return None, None
        user_id = self.people.get(value.text)
        if user_id:
            return user_id, None
        self.unmatched[value.text] = None
        return None, shown_name(value.text)[:NAME_LIMIT]


def _check(spec: FieldSpec, value: Any, line: int, where: str, problems: list[Problem], notes: list[Problem]) -> Any:
    """A value against its declaration: too long or out of range is an error; extra decimals are rounded."""
    if isinstance(value, str) and spec.max_length and len(value) > spec.max_length:
        problems.append(Problem(line, f"{where}: {spec.label} is {len(value):,} characters; the limit is "
                                      f"{spec.max_length:,}"))
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
        if spec.min_value is not None and number < spec.min_value:
            problems.append(Problem(line, f"{where}: {spec.label} is {value}; it cannot be below {spec.min_value}"))
        if spec.max_value is not None and number > spec.max_value:
            problems.append(Problem(line, f"{where}: {spec.label} is {value}; it cannot be above {spec.max_value}"))
        places = _PLACES.get(spec.kind)
        if places is not None and isinstance(value, Decimal) and value != value.quantize(places):
            notes.append(Problem(line, f"{where}: {spec.label} {value} was rounded to two decimals"))
            return value.quantize(places, ROUND_HALF_UP)
    return value


def _values(section: Section, raw: dict[str, Any], lines: dict[str, int], people: _People,
            problems: list[Problem], notes: list[Problem]) -> dict[str, Any]:
    specs = specs_of(section.key)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith("_") or (name not in specs and name not in dict(section.fixed) and name != "kind"):
            continue
        if isinstance(value, Person):
            user_id, text = people.id_or_name(value)
            out[name] = user_id
            if text is not None:
                out[NAME_KEPT_AS_TEXT[name]] = text
            continue
        out[name] = _check(specs[name], value, lines.get(name, 0), section.title, problems, notes) \
            if name in specs else value
    return out


def _milestone(parsed: Parsed, team_id: str, owner_id: str, key: str, people: _People,
               problems: list[Problem], notes: list[Problem]) -> Milestone:
    columns: dict[str, Any] = {}
    for section in SECTIONS:
        if section.kind == "columns":
            lines = {name: parsed.lines.get((section.key, name), 0) for name in parsed.fields.get(section.key, {})}
            columns.update(_values(section, parsed.fields.get(section.key, {}), lines, people, problems, notes))
    columns.pop("report_channel_id", None)
    return Milestone(team_id=team_id, key=key, name=parsed.name or key, owner_id=owner_id, created_by=owner_id,
                     revision=parsed.revision or 1, **columns)


def _sections(m: Milestone, parsed: Parsed, people: _People, problems: list[Problem], notes: list[Problem]) -> None:
    for section in SECTIONS:
        if section.kind == "one" and section.key in parsed.fields:
            lines = {name: parsed.lines.get((section.key, name), 0) for name in parsed.fields[section.key]}
            values = _values(section, parsed.fields[section.key], lines, people, problems, notes)
            setattr(m, section.relation, section.model(**values))
    counts: dict[str, int] = {}
    for key, rows in parsed.rows.items():
        section = get_section(key)
        if len(rows) > MAX_ROWS:
            problems.append(Problem(rows[MAX_ROWS]["_line"], f"{section.title}: {len(rows)} rows; a section holds "
                                                             f"at most {MAX_ROWS}"))
        relation = getattr(m, section.relation)
        start = counts.get(section.relation, 0)
        for position, row in enumerate(rows, start):
            lines = {name: row["_line"] for name in row}
            values = _values(section, row, lines, people, problems, notes)
            relation.append(section.model(position=position, **dict(section.fixed), **values))
        counts[section.relation] = start + len(rows)
    severities = [d.severity for d in m.defects]
    for severity in {s for s in severities if severities.count(s) > 1}:
        problems.append(Problem(0, f"Defect Analysis: the severity {severity} has more than one row"))


def _action(a: ParsedAction, owner_id: str, people: _People, now: datetime) -> ActionItem:
    user_id, text = people.id_or_name(a.owner)
    done = a.status == ActionStatus.DONE
    return ActionItem(
        horizon=a.horizon, description=a.description, owner_id=user_id or owner_id, owner_name=text,
        due_date=a.due_date, status=a.status, priority=a.priority, effort_days=a.effort_days,
        planned_sprint=a.planned_sprint, created_by=owner_id, done_at=now if done else None,
        done_by=(user_id or owner_id) if done else None,
    )


def import_report(session: Session, parsed: Parsed, *, team_id: str, owner_id: str, key: str | None,
                  people: dict[str, str | None], now: datetime, currency: str = "USD") -> ImportResult:
    """Create the milestone the file describes (inside the caller's transaction). ReportFormatError with
    every problem, or KeyTaken, leaves the transaction to be rolled back: nothing is imported.
    `currency`: the milestone's when no amount of the file names one (the CURRENCY setting)."""
    chosen, notes = choose_key(session, team_id, parsed, key)
    notes = list(parsed.notes) + notes
    problems: list[Problem] = []
    matcher = _People(people)
    m = _milestone(parsed, team_id, owner_id, chosen, matcher, problems, notes)
    m.currency = m.currency or currency
    _sections(m, parsed, matcher, problems, notes)
    action_spec = {s.name: s for s in specs_of_actions()}
    for a in parsed.actions:
        item = _action(a, owner_id, matcher, now)
        _check(action_spec["description"], item.description, a.line, "Post-Milestone Activities", problems, notes)
        m.action_items.append(item)
    if problems:
        raise ReportFormatError(problems)
    for position, s in enumerate(parsed.signoffs):
        user_id, text = matcher.id_or_name(s.name)
        written = s.name.text[:NAME_LIMIT] if s.name else None  # as the file wrote it, matched or not
        m.external_signoffs.append(ExternalSignoff(
            position=position, role=s.role[:64], name=text if text is not None else written, user_id=user_id,
            decision=s.decision, signed_on=s.signed_on, note=s.note, imported_by=owner_id))
    session.add(m)
    session.flush()
    strangers = sum(1 for item in m.action_items if item.owner_name and item.status == ActionStatus.OPEN)
    if strangers:
        notes.append(Problem(0, f"{strangers} open action item(s) name an owner who is not a member here: they are "
                                "yours (the importer's) to be reminded of or to reassign"))
    if any(a.owner is None and a.status == ActionStatus.OPEN for a in parsed.actions):
        notes.append(Problem(0, "open action items that name no owner are yours (the importer's)"))
    counts = _counts(m, parsed)
    audit.record(session, m, owner_id, "milestone.imported",
                 detail={"counts": counts, "unmatched": list(matcher.unmatched), "notes": len(notes)})
    session.flush()
    return ImportResult(m.id, m.key, m.name, counts, notes, list(matcher.unmatched),
                        sum(1 for a in m.action_items if a.status == ActionStatus.OPEN), len(parsed.signoffs))


def specs_of_actions() -> list[FieldSpec]:
    from models import form_fields

    return form_fields(ActionItem)


def _counts(m: Milestone, parsed: Parsed) -> dict[str, int]:
    """What was created, in template order: "Objectives: 3 rows", … (nothing for what stayed empty)."""
    filled = sum(1 for s in SECTIONS if not s.is_table and parsed.fields.get(s.key))
    counts = {"sections filled in": filled}
    counts |= {f"{s.title.lower()} rows": len(parsed.rows.get(s.key, [])) for s in SECTIONS if s.is_table}
    counts |= {"action items": len(m.action_items), "sign-offs given outside Slack": len(parsed.signoffs)}
    return counts
