"""One value of the file as the field it fills: by the field's declared kind (models.base.FieldSpec), the
inverse of bot.reports.formatting.display and of the report's own marks. Plain Python."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bot.core.formats import currency_of_symbol
from bot.imports.text import is_placeholder, letters, link_target, parse_date, parse_number, unescape, unquote_url
from bot.reports.formatting import MARKS, NOT_IN_SLACK, OUTDATED
from models.base import Choice, FieldSpec


@dataclass(frozen=True)
class Person:
    """A name, `@handle`, e-mail or `<@U…>` as the file gives it; matched to a member at import."""

    text: str
    line: int


_OUTSIDER = re.compile(r"\s*" + re.escape(NOT_IN_SLACK) + r"\s*$")


def person(text: str | None, line: int) -> Person | None:
    """A person's name as the file gives it (already unescaped), without the report's mark for someone who is
    not a workspace member (`Dana Smith (not in Slack)`, bot.reports.formatting.outsider); None for nobody."""
    if text is None:
        return None
    name = _OUTSIDER.sub("", text, count=1).strip() if text.rstrip().endswith(NOT_IN_SLACK) else text.strip()
    return Person(name, line) if name and not is_placeholder(name) and name != "—" else None


class BadValue(ValueError):
    """A value the file gives that the field cannot hold (the message says why)."""


def cell_text(raw: str) -> str | None:
    """A table cell's text: `—` and placeholders are empty; `<br>` is a line break."""
    if is_placeholder(raw):
        return None
    parts = re.split(r"<br\s*/?>", raw, flags=re.IGNORECASE)
    text = "\n".join(unescape(p.strip()) for p in parts)
    return text if text.strip() else None


def inline_text(raw: str) -> str | None:
    """A fact's or an item's text (continuation lines kept as line breaks)."""
    if is_placeholder(raw):
        return None
    text = "\n".join(unescape(p.strip()) for p in raw.split("\n"))
    return text if text.strip() else None


def block_text(raw: str) -> str | None:
    """Paragraphs: each line unescaped, the exporter's hard-break spaces gone."""
    if is_placeholder(raw):
        return None
    text = "\n".join(unescape(line.rstrip()) for line in raw.split("\n"))
    return text.strip("\n") or None


def choice_value(choices: type[Choice], raw: str) -> str | None:
    """A choice by its label, its value, or the report's own mark for it (`◐ Partial`); None if unknown."""
    want = letters(raw)
    if not want:
        return None
    for member in choices:
        names = {letters(member.label), letters(member.value.replace("_", " "))}
        names.add(letters(MARKS.get((choices.__name__, member.value), "")))
        if want in names - {""}:
            return member.value
    return None


_TRUE = {"yes", "true", "done", "complete", "y", "x", "ok"}
_FALSE = {"no", "not yet", "false", "n", "pending", "not done"}


def bool_value(raw: str) -> bool | None:
    word = letters(raw)
    if "✅" in raw or "✔" in raw or word in _TRUE:
        return True
    if "❌" in raw or word in _FALSE:
        return False
    return None


def number(raw: str, spec: FieldSpec) -> Decimal | int | None:
    value = parse_number(raw)
    if value is None:
        if re.search(r"\d", raw):
            raise BadValue(f"“{raw}” is not a number")
        return None
    if re.search(r"\bweeks?\b", raw, re.IGNORECASE) and spec.kind == "decimal" and "day" in spec.label.lower():
        value *= 5  # a duration in weeks, as the template writes phases: five working days a week
    if spec.kind == "int":
        if value != value.to_integral_value():
            raise BadValue(f"“{raw}” is not a whole number")
        return int(value)
    return value


_CODE = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


def currency(raw: str) -> str | None:
    """The currency an amount is written in, as bot.core.formats.money writes it: by its sign (`€82,500` →
    EUR, `-$2,100` → USD) or its code (`12,500 CHF`, `CHF 12,500`); None when it names none (`82500`)."""
    if is_placeholder(raw):
        return None
    text = unescape(raw)
    for char in text:
        code = currency_of_symbol(char)
        if code is not None:
            return code
    found = _CODE.search(text)
    return found.group(0) if found else None


def decode(spec: FieldSpec, raw: str, line: int, *, cell: bool = False) -> Any:
    """The file's text for one field → the value the form would have stored (None: not provided)."""
    if spec.kind in ("text", "multiline", "channel"):
        return cell_text(raw) if cell else inline_text(raw)
    if is_placeholder(raw):
        return None
    if spec.kind == "select" and spec.choices is not None:
        value = choice_value(spec.choices, raw)
        if value is None:
            labels = ", ".join(m.label for m in spec.choices)
            raise BadValue(f"“{unescape(raw)}” is not one of: {labels}")
        return value
    if spec.kind in ("int", "decimal", "money", "percent"):
        return number(raw, spec)
    if spec.kind == "date":
        found = parse_date(raw)
        if found is None:
            raise BadValue(f"“{raw}” is not a date (YYYY-MM-DD)")
        return found
    if spec.kind == "bool":
        return bool_value(raw)
    if spec.kind == "url":
        target = link_target(raw)
        return unquote_url(target) if target else inline_text(raw)
    if spec.kind == "user":
        return person(cell_text(raw) if cell else inline_text(raw), line)
    return inline_text(raw)


# ---- values with the report's own wording around them ---------------------------------------------------

_SIGNATURE_EDITORIAL = re.compile(r";\s*editorial edit at revision")
_SIGNATURE_OUTDATED = re.compile(r"^\s*" + re.escape(OUTDATED) + r"\s*—\s*(.*?)\s+rev\s+\d+")


def decision(signature: str) -> str | None:
    """A signature cell → the decision it records (approved, approved_with_conditions, rejected); None: not
    signed (blank, `_________`, `⏳ Pending`)."""
    text = _SIGNATURE_EDITORIAL.split(signature)[0]  # "…; editorial edit at revision 8 by <name>" is not the decision
    outdated = _SIGNATURE_OUTDATED.match(text)
    if outdated:
        text = outdated.group(1)
    word = letters(text)
    if is_placeholder(signature) or not word or "pending" in word or set(signature.strip()) <= {"_", " "}:
        return None
    if "reject" in word or "❌" in text:
        return "rejected"
    if "condition" in word or "☑" in text:
        return "approved_with_conditions"
    return "approved"


def deliverable_signoff(raw: str, line: int) -> tuple[Person | None, date | None]:
    """`Emma Rossi, 2026-11-16` → (the person, the date); either may be missing."""
    text = cell_text(raw)
    if text is None:
        return None, None
    when = parse_date(text)
    name = re.sub(r",?\s*\d{4}-\d{1,2}-\d{1,2}\s*$", "", text).strip().rstrip(",").strip()
    return person(name, line), when


def budget_note(raw: str, verdict: str) -> str | None:
    """The Notes cell of a budget row without the verdict the report adds (`Over budget — …`), given the
    verdict its figures give ("—" when they give none: the cell is then the note alone)."""
    text = cell_text(raw)
    if text is None or text.strip() in ("Under budget", "Over budget", "On budget"):
        return None
    if verdict == "—":
        return text
    if text.startswith(verdict + " — "):
        return text[len(verdict) + 3:] or None
    return text
