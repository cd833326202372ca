"""What the parser found: the values the section forms would hold, action items, sign-offs given outside
Slack, and the warnings and errors with their lines. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bot.imports.text import Problem
from bot.imports.values import Person
from bot.sections.service import get_section
from models.base import FieldSpec


@dataclass
class ParsedAction:
    line: int
    horizon: str
    description: str
    owner: Person | None
    due_date: date | None = None
    status: str = "open"
    priority: str | None = None
    effort_days: Decimal | None = None
    planned_sprint: str | None = None


@dataclass
class ParsedSignoff:
    line: int
    role: str
    name: Person | None
    decision: str
    signed_on: date | None
    note: str | None = None


@dataclass
class Parsed:
    """What the file holds, as the forms would store it; people still as text (matched at import)."""

    name: str | None = None
    key: str | None = None
    revision: int | None = None
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # section key → field → value
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # section key → rows ("_line" too)
    actions: list[ParsedAction] = field(default_factory=list)
    signoffs: list[ParsedSignoff] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # warnings: imported, but read this
    problems: list[Problem] = field(default_factory=list)  # errors: nothing is imported
    lines: dict[tuple[str, str], int] = field(default_factory=dict)  # (section, field) → line
    missing: list[str] = field(default_factory=list)  # headings of the outline the file does not have
    claims: dict[str, tuple[int, str]] = field(default_factory=dict)  # computed figures as the file gives them

    def set(self, section: str, name: str, value: Any, line: int) -> None:
        if value is None:
            return
        self.fields.setdefault(section, {})[name] = value
        self.lines[(section, name)] = line

    def note(self, line: int, text: str) -> None:
        self.notes.append(Problem(line, text))

    def people(self) -> list[Person]:
        found = [v for values in self.fields.values() for v in values.values() if isinstance(v, Person)]
        found += [v for rows in self.rows.values() for row in rows for v in row.values() if isinstance(v, Person)]
        found += [a.owner for a in self.actions if a.owner] + [s.name for s in self.signoffs if s.name]
        return found


def specs_of(section: str) -> dict[str, FieldSpec]:
    return {s.name: s for s in get_section(section).specs()}
