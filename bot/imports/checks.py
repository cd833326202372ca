"""Computed figures: the report works them out (bot.reports.rows / loading), so the import does not store
them; where the file gives one, it is compared with the recomputed figure and a difference is a warning."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.imports.parsed import Parsed
from bot.imports.text import is_placeholder, parse_date, parse_number
from bot.reports.formatting import fmt_num, percent

# Per table (its outline `rows` attribute): the computed columns, each with how to work it out from a row.
_VARIANCES = {
    "phases": {"variance_label": ("actual_days", "planned_days")},
    "effort": {"variance_label": ("actual_hours", "planned_hours")},
    "budget": {"variance_label": ("actual", "budgeted")},
}
# Per table: the columns a total row adds up (attribute shown → field).
_TOTALS = {
    "effort": {"planned_label": "planned_hours", "actual_label": "actual_hours"},
    "budget": {"budgeted_label": "budgeted", "actual_label": "actual"},
    "defects": {"found": "found", "fixed": "fixed", "outstanding": "outstanding", "deferred": "deferred"},
}


def _said(raw: str | None) -> Decimal | None:
    if raw is None or is_placeholder(raw):
        return None
    value = parse_number(raw.replace("*", ""))
    if value is not None and re.search(r"\bweeks?\b", raw, re.IGNORECASE):
        value *= 5  # durations in weeks, as the template writes phases: five working days a week
    return value


def _differs(said: Decimal | None, computed: Decimal | None) -> bool:
    if said is None or computed is None:
        return False
    exponent = said.as_tuple().exponent
    places = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return said.quantize(places, ROUND_HALF_UP) != Decimal(computed).quantize(places, ROUND_HALF_UP)


def _warn(p: Parsed, line: int, heading: str, what: str, raw: str, computed: Decimal | None) -> None:
    p.note(line, f"{heading}: the file says {what} is “{raw.strip('* ')}”, but the figures give "
                 f"{fmt_num(computed)}; the report will show {fmt_num(computed)}")


def _diff(a: Any, b: Any) -> Decimal | None:
    return None if a is None or b is None else Decimal(a) - Decimal(b)


def _efficiency(planned: Any, actual: Any) -> Decimal | None:
    return percent(planned, actual, "1") if planned is not None else None


def check_row(table: str, row: dict[str, Any], by_attr: dict[str, str], heading: str, p: Parsed) -> None:
    for attr, (a, b) in _VARIANCES.get(table, {}).items():
        raw = by_attr.get(attr)
        if raw is not None and _differs(_said(raw), _diff(row.get(a), row.get(b))):
            _warn(p, row["_line"], heading, "the variance", raw, _diff(row.get(a), row.get(b)))
    if table == "effort" and by_attr.get("efficiency_label") is not None:
        raw = by_attr["efficiency_label"]
        computed = _efficiency(row.get("planned_hours"), row.get("actual_hours"))
        if _differs(_said(raw), computed):
            _warn(p, row["_line"], heading, "the efficiency", raw, computed)


def _sum(rows: list[dict[str, Any]], name: str) -> Decimal | None:
    present = [Decimal(r[name]) for r in rows if r.get(name) is not None]
    return sum(present, Decimal(0)) if present else None


def check_total(table: str, rows: list[dict[str, Any]], by_attr: dict[str, str], line: int, heading: str,
                p: Parsed) -> None:
    sums = {attr: _sum(rows, name) for attr, name in _TOTALS.get(table, {}).items()}
    for attr, computed in sums.items():
        raw = by_attr.get(attr)
        if raw is not None and _differs(_said(raw), computed):
            _warn(p, line, heading, "the total", raw, computed)
    if table in _VARIANCES:
        a, b = _VARIANCES[table]["variance_label"]
        computed = _diff(_sum(rows, a), _sum(rows, b))
        raw = by_attr.get("variance_label")
        if raw is not None and _differs(_said(raw), computed):
            _warn(p, line, heading, "the total variance", raw, computed)
    if table == "effort" and by_attr.get("efficiency_label") is not None:
        computed = _efficiency(_sum(rows, "planned_hours"), _sum(rows, "actual_hours"))
        if _differs(_said(by_attr["efficiency_label"]), computed):
            _warn(p, line, heading, "the total efficiency", by_attr["efficiency_label"], computed)


def check_claims(p: Parsed) -> None:
    """The figures given outside tables: the schedule variance, the pass and fail rates, the completion date."""
    timeline = p.fields.get("timeline", {})
    if "schedule_variance" in p.claims:
        line, raw = p.claims["schedule_variance"]
        end, planned = timeline.get("actual_end"), timeline.get("planned_end")
        days = Decimal((end - planned).days) if end and planned else None
        if _differs(_said(raw), days):
            _warn(p, line, "Schedule Performance", "the schedule variance", raw, days)
    quality = p.fields.get("quality", {})
    for name, field in (("passed", "passed_tests"), ("failed", "failed_tests")):
        if name not in p.claims:
            continue
        line, raw = p.claims[name]
        inside = raw[raw.find("(") + 1:] if "(" in raw else ""
        computed = percent(quality.get(field), quality.get("total_tests"))
        if inside and _differs(_said(inside), computed):
            _warn(p, line, "Testing Results", f"the {name} percentage", inside.rstrip(")"), computed)
    if "completion_date" in p.claims:
        line, raw = p.claims["completion_date"]
        when = parse_date(raw)
        if timeline.get("actual_end") is None and when is not None:
            p.set("timeline", "actual_end", when, line)
        elif when is not None and timeline.get("actual_end") != when:
            p.note(line, f"the Completion Date ({raw}) differs from the Actual End Date "
                         f"({timeline['actual_end']}); the report shows the Actual End Date as both")
