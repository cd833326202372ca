"""Turning what a person typed into typed values, with an error per field a person can act on.

Reads each field's declaration (models.base.field), so every form in the bot validates the same way.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.errors import InvalidInput
from models.base import FieldSpec, FieldValue

_NUMBER_JUNK = re.compile(r"[\s,$€£%]")


# Control characters other than newline and tab (PostgreSQL refuses NUL; the rest garble every output), and
# the bidirectional overrides that make text read differently from what it says.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def unsafe_character_problem(text: str) -> str | None:
    """Why a typed text cannot be kept as it is, or None. One rule for every field and command argument."""
    match = _UNSAFE_CHARACTERS.search(text.replace("\r\n", "\n"))
    if match is None:
        return None
    return f"Remove the invisible control character (U+{ord(match.group()):04X}); it cannot be stored or shown."


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, list) and not raw)


def _number(raw: str) -> Decimal:
    value = Decimal(_NUMBER_JUNK.sub("", raw))
    if not value.is_finite():
        raise InvalidOperation
    return value


def _range_error(spec: FieldSpec, value: Decimal) -> str | None:
    low, high = spec.min_value, spec.max_value
    if spec.kind == "percent" and ((low is not None and value < low) or (high is not None and value > high)):
        return "Enter a percentage from 0 to 100."
    if low is not None and high is not None and not (low <= value <= high):
        return f"Enter a number from {low} to {high}."
    if low is not None and value < low:
        return "Enter a number that is not negative." if low == 0 else f"Enter a number of at least {low}."
    if high is not None and value > high:
        return f"Enter a number no larger than {high}."
    return None


def parse_field(spec: FieldSpec, raw: Any) -> FieldValue:
    """One field's value, or ValueError with the message to show next to it."""
    if spec.kind == "bool":
        return bool(raw)
    if _empty(raw):
        if spec.required:
            raise ValueError(f"Please fill in “{spec.label}”.")
        return [] if spec.kind == "users" else None
    if spec.kind == "users":
        return list(raw)
    if spec.kind == "date":
        try:
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError("Pick a date.") from None
    text = str(raw).strip()
    problem = unsafe_character_problem(text)
    if problem:
        raise ValueError(problem)
    if spec.kind in ("int", "decimal", "money", "percent"):
        try:
            number = _number(text)
        except InvalidOperation:
            example = {"int": "42", "percent": "95", "money": "12,500"}.get(spec.kind, "12.5")
            raise ValueError(f"Enter a number, like {example}.") from None
        if spec.kind == "int" and number != number.to_integral_value():
            raise ValueError("Enter a whole number, like 42.")
        problem = _range_error(spec, number)
        if problem:
            raise ValueError(problem)
        return int(number) if spec.kind == "int" else number.quantize(Decimal("0.01"))
    if spec.kind == "select" and spec.choices is not None and text not in {v for v, _ in spec.choices.choices()}:
        raise ValueError("Pick one of the options.")
    if spec.kind == "url" and not re.match(r"^https?://\S+$", text):
        raise ValueError("Enter a link that starts with https://")
    if spec.max_length is not None and len(text) > spec.max_length:
        raise ValueError(f"Keep it to {spec.max_length:,} characters (this has {len(text):,}).")
    return text


def parse_fields(specs: list[FieldSpec], raw: dict[str, Any]) -> dict[str, FieldValue]:
    """All fields at once, so the person sees every problem in one go (errors keyed by field name)."""
    values: dict[str, FieldValue] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        if spec.name not in raw:
            continue
        try:
            values[spec.name] = parse_field(spec, raw[spec.name])
        except ValueError as error:
            errors[spec.name] = str(error)
    if errors:
        raise InvalidInput(errors)
    return values


def check_date_order(values: dict[str, FieldValue], start: str, end: str, errors: dict[str, str]) -> None:
    first, last = values.get(start), values.get(end)
    if isinstance(first, date) and isinstance(last, date) and last < first:
        errors[end] = "The end date is before the start date."
