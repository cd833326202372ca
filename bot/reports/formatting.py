"""Number and text formatting for the report: one place, so every output shows the same figures.
Amounts are bot.core.formats.money, the one money formatter of forms and report alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.core.formats import money
from models.base import Choice

NOT_PROVIDED = "Not provided"
NOT_IN_SLACK = "(not in Slack)"  # after a name an imported report gave that matched no workspace member
SIGNED_OUTSIDE = "signed outside Slack"  # a signature an imported report recorded: shown, never counted


def _q(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def fmt_num(value: Decimal | int | None) -> str:
    """1250 → "1,250"; 12.50 → "12.5"; None → "—"."""
    if value is None:
        return "—"
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def fmt_signed(value: Decimal | int | None, unit: str = "") -> str:
    """+20, -10, 0 (the template's variance style)."""
    if value is None:
        return "—"
    value = Decimal(value)
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return f"{sign}{fmt_num(abs(value))}{unit}"


def fmt_days(value: Decimal | int | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    unit = " day" if abs(value) == 1 else " days"
    return fmt_signed(value, unit) if signed else fmt_num(value) + unit


def percent(part: Decimal | int | None, whole: Decimal | int | None, places: str = "0.1") -> Decimal | None:
    if part is None or not whole:
        return None
    return _q(Decimal(part) * 100 / Decimal(whole), places)


def fmt_pct(value: Decimal | None) -> str:
    return "—" if value is None else fmt_num(value) + "%"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return NOT_PROVIDED
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def choice_label(choice: type[Choice], value: str | None) -> str:
    if value is None:
        return "—"
    try:
        return choice(value).label
    except ValueError:
        return value


# The report's own marks where a form's label is an icon alone or shares its icon with another meaning:
# every icon with a word, and Partial, Approved with conditions and Outdated each with a mark of its own.
MARKS: dict[tuple[str, str], str] = {
    ("MetStatus", "partial"): "◐ Partial",
    ("BenchmarkStatus", "met"): "✅ Met",
    ("BenchmarkStatus", "partial"): "◐ Partial",
    ("BenchmarkStatus", "missed"): "❌ Missed",
    ("Decision", "approved_with_conditions"): "☑️ Approved with conditions",
}
OUTDATED = "↻ Outdated"


def mark(choice: type[Choice], value: str | None) -> str:
    """A choice as the report shows it: its label, or the report's own mark for it."""
    if value is not None and (choice.__name__, value) in MARKS:
        return MARKS[(choice.__name__, value)]
    return choice_label(choice, value)


def outsider(name: str) -> str:
    """A person named by an imported report who is not a workspace member, kept as text: "Dana Smith (not in
    Slack)". The importer reads the mark back off (bot.imports.values.person)."""
    return f"{name} {NOT_IN_SLACK}"


def person(user_id: str | None, text: str | None, name: Callable[[str], str]) -> str | None:
    """Who a field names: a member by their name; else the text an imported report gave, marked; else None."""
    if user_id:
        return name(user_id)
    return outsider(text) if text else None


def text_or_none(value: str | None) -> str | None:
    """Blank text counts as not provided."""
    return value if value and value.strip() else None


def display(value: Any, kind: str, choices: type[Choice] | None, name: Callable[[str], str],
            currency: str = "USD") -> str | None:
    """A declared field's value as the report shows it, by its kind (an amount in the milestone's currency)."""
    if value is None or value == "":
        return None
    if kind == "select" and choices is not None:
        return choice_label(choices, value)
    if kind == "bool":
        return "Yes" if value else "No"
    if kind == "user":
        return name(value)
    if kind == "users":
        return ", ".join(name(v) for v in value)
    if kind == "money":
        return money(value, currency)
    if kind == "percent":
        return fmt_pct(value)
    if kind in ("int", "decimal"):
        return fmt_num(value)
    if kind == "date":
        return fmt_date(value)
    return text_or_none(str(value))
