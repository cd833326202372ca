"""Reading the outline's tables and lists: rows of the form sections, action items, sign-offs given outside
Slack, appendices; and the computed figures the file gives, checked against the recomputed ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bot.imports import layout
from bot.imports.checks import check_row, check_total
from bot.imports.parsed import Parsed, ParsedAction, ParsedSignoff, specs_of
from bot.imports.text import Problem, find_unescaped, is_placeholder, parse_date, parse_number, strip_strong, unescape
from bot.imports.values import (
    BadValue,
    Person,
    budget_note,
    cell_text,
    choice_value,
    currency,
    decision,
    deliverable_signoff,
    inline_text,
    person,
)
from bot.imports.values import decode as decode_value
from bot.reports import outline as ol
from bot.reports.data import budget_verdict
from bot.reports.formatting import NOT_IN_SLACK
from bot.reports.rows import NOTE
from bot.sections.service import get_section
from models import ActionStatus
from models.sections import AppendixKind, Level, ObjectivePriority

# ---- tables ---------------------------------------------------------------------------------------------


def _columns(block: ol.Table, src: layout.TableSrc, heading: str, p: Parsed) -> list[ol.Column | None]:
    by_heading = {layout.key(c.heading): c for c in block.columns}
    mapped = [by_heading.get(layout.key(unescape(h).strip("*"))) for h in src.header]
    for h, column in zip(src.header, mapped, strict=True):
        if column is None and h.strip():
            p.note(src.line, f"column “{unescape(h)}” of “{heading}” is not in the template: not imported")
    return mapped


def _is_total(cells: list[str]) -> bool:
    return bool(cells) and layout.key(cells[0].strip().strip("*_")) == "total"


def table(block: ol.Table, section: str | None, where: tuple[tuple[str, str], ...], src: layout.TableSrc,
          heading: str, p: Parsed) -> None:
    columns = _columns(block, src, heading, p)
    reader = _SPECIAL_TABLES.get(block.rows)
    rows: list[dict[str, Any]] = []
    total: tuple[int, list[str]] | None = None
    for line, cells in src.rows:
        if _is_total(cells):
            total = (line, cells)
            continue
        by_attr = {c.attr: raw for c, raw in zip(columns, cells, strict=True) if c is not None}
        if reader is not None:
            reader(by_attr, line, heading, p)
            continue
        if section is None:
            continue
        row = _row(block, section, by_attr, line, heading, p)
        if row is not None:
            row.update(dict(where))
            rows.append(row)
            check_row(block.rows, row, by_attr, heading, p)
    if section is not None and reader is None:
        p.rows.setdefault(section, []).extend(rows)
        if total is not None:
            by_attr = {c.attr: raw for c, raw in zip(columns, total[1], strict=True) if c is not None}
            check_total(block.rows, rows, by_attr, total[0], heading, p)


def _row(block: ol.Table, section: str, by_attr: dict[str, str], line: int, heading: str,
         p: Parsed) -> dict[str, Any] | None:
    specs = specs_of(section)
    row: dict[str, Any] = {"_line": line}
    bad = False
    for column in block.columns:
        raw = by_attr.get(column.attr)
        if raw is None or not column.fields or column.attr == "notes_label":
            continue
        try:
            if column.attr == "signoff":
                row["signoff_by"], row["signoff_date"] = deliverable_signoff(raw, line)
            else:
                spec = specs[column.fields[0]]
                row[spec.name] = decode_value(spec, raw, line, cell=True)
                if spec.kind == "money":
                    _currency(raw, line, heading, p)
        except BadValue as error:
            p.problems.append(Problem(line, f"{column.heading} ({heading}): {error}"))
            bad = True
    if bad:
        return None  # the import fails on the problem above; no second complaint about the same row
    if "notes_label" in by_attr:
        verdict = budget_verdict(_diff(row.get("actual"), row.get("budgeted")))
        row["notes"] = budget_note(by_attr["notes_label"], verdict)
    if all(v is None for k, v in row.items() if k != "_line"):
        return None
    return _required(section, row, heading, p)


def _currency(raw: str, line: int, heading: str, p: Parsed) -> None:
    """The milestone's currency, read back from its amounts (the report writes each in it): the first one
    named; an amount in another is a warning (imported as a number in the first)."""
    code = currency(raw)
    if code is None:
        return
    known = p.fields.get("details", {}).get("currency")
    if known is None:
        p.set("details", "currency", code, line)
    elif code != known:
        p.note(line, f"{heading}: “{cell_text(raw)}” is in {code} but the amounts before it are in {known}: "
                     f"imported as {known}")


def _diff(a: Any, b: Any) -> Decimal | None:
    return None if a is None or b is None else Decimal(a) - Decimal(b)


def _required(section: str, row: dict[str, Any], heading: str, p: Parsed) -> dict[str, Any] | None:
    model = get_section(section).model
    for spec in specs_of(section).values():
        if not spec.required or row.get(spec.name) is not None:
            continue
        default = model.__table__.c[spec.name].default
        if default is not None and default.is_scalar:
            row[spec.name] = str(default.arg)
        elif spec.name in ("severity",):
            p.problems.append(Problem(row["_line"], f"{heading}: this row has no {spec.label.lower()}"))
        else:
            p.note(row["_line"], f"{heading}: a row without a {spec.label.lower()} was left out")
            return None
    return row


def _tech_debt(by_attr: dict[str, str], line: int, heading: str, p: Parsed) -> None:
    text = cell_text(by_attr.get("item_label", "")) or ""
    owner, status = None, ActionStatus.OPEN.value
    match = _DEBT_ITEM.match(text)
    if match and _state(match.group(3)) is not None:
        text, owner, status = match.group(1), person(match.group(2), line), _state(match.group(3)) or "open"
    if not text.strip():
        return
    priority = choice_value(Level, by_attr.get("priority_label", "")) if by_attr.get("priority_label") else None
    effort = by_attr.get("effort_label", "")
    p.actions.append(ParsedAction(
        line, "tech_debt", text, owner, status=status, priority=priority,
        effort_days=None if is_placeholder(effort) else parse_number(effort),
        planned_sprint=cell_text(by_attr.get("planned_sprint", "")),
    ))


# "Replace the session store (Ava Johnson, Open)"; the owner may carry the mark "(not in Slack)".
_DEBT_ITEM = re.compile(r"^(.*) \(([^()]*(?: " + re.escape(NOT_IN_SLACK) + r")?), ([^(),]*)\)$", re.S)


def _state(label: str) -> str | None:
    word = layout.key(label)
    if word in ("open", "overdue"):
        return ActionStatus.OPEN.value
    if word == "done":
        return ActionStatus.DONE.value
    if word == "cancelled":
        return ActionStatus.CANCELLED.value
    return None


def _signoff(by_attr: dict[str, str], line: int, heading: str, p: Parsed) -> None:
    role = cell_text(by_attr.get("role", ""))
    chosen = decision(by_attr.get("signature", ""))
    if not role or chosen is None:
        return
    p.signoffs.append(ParsedSignoff(line, role, person(cell_text(by_attr.get("name", "")), line), chosen,
                                    parse_date(by_attr.get("date_label", ""))))


_SPECIAL_TABLES: dict[str, Callable[[dict[str, str], int, str, Parsed], None]] = {
    "tech_debt": _tech_debt, "signoffs": _signoff,
}


# ---- lists ----------------------------------------------------------------------------------------------


def _split(text: str, sep: str) -> tuple[str, str | None]:
    at = find_unescaped(text, sep)
    return (text, None) if at < 0 else (text[:at], text[at + len(sep):])


def _objective(item: layout.Item, index: int) -> dict[str, Any] | None:
    label, rest = strip_strong(item.text)
    priority = choice_value(ObjectivePriority, unescape(label)) if label else None
    if label is None or priority is None:
        priority, rest = [*list(ObjectivePriority)[:3], ObjectivePriority.OTHER][min(index, 3)].value, item.text
    else:
        rest = rest[2:] if rest.startswith(": ") else rest.lstrip(":").lstrip()
    title, description = _split(rest, " — ")
    text = inline_text(title)
    if text is None:
        return None
    if len(text) > 150 and description is None:  # a hand-written objective: one long sentence
        text, description = text[:147].rstrip() + "…", title
    return {"priority": priority, "title": text, "description": inline_text(description or "")}


def _lesson(item: layout.Item, index: int) -> dict[str, Any] | None:
    label, rest = strip_strong(item.text)
    if label is None:
        label, after = _split(item.text, ": ")
        rest = after or ""
    else:
        rest = rest[2:] if rest.startswith(": ") else rest.lstrip(":")
    title = inline_text(label)
    return {"title": title, "description": inline_text(rest)} if title else None


def _change(item: layout.Item, index: int) -> dict[str, Any] | None:
    change, rationale = _split(item.text, ": ")
    text = inline_text(change)
    return {"change": text, "rationale": inline_text(rationale or "")} if text else None


def _task(item: layout.Item, index: int) -> dict[str, Any] | None:
    text, timeline = item.text, None
    match = re.match(r"^(.*) \(((?:\\.|[^()\\])*)\)$", text, re.S)
    if match:
        text, timeline = match.group(1), match.group(2)
    task, description = _split(text, ": ")
    name = inline_text(task)
    if not name:
        return None
    return {"task": name, "description": inline_text(description or ""), "timeline": inline_text(timeline or "")}


_ROW_ITEMS: dict[str, Callable[[layout.Item, int], dict[str, Any] | None]] = {
    "objective": _objective, "lesson": _lesson, "change": _change, "task": _task,
}
_TEMPLATE_ACTION = re.compile(r"^Action \d+: Description and owner$")
_OWNER = re.compile(r"\bowner:\s*([^·;,()\n]+?)\s*(?:·|;|,|\)|$)", re.IGNORECASE)
_META_TAIL = re.compile(r"\s*[(\[](?=[^()\[\]]*\b(?:owner|due)\b)[^()\[\]]*[)\]]\s*$", re.IGNORECASE)
_HANDLE = re.compile(r"(<@[UW][A-Z0-9]+(?:\|[^>]*)?>|(?<![\w.])@[\w.\-]+)")
_EXPORTED_META = re.compile(r"^owner: (.*?) · due (?:\d{4}-\d{1,2}-\d{1,2}|—) · ", re.S)  # the bot's own
_OWNER_META = re.compile(r"^owner:\s*(.+?)\s*(?:[·;,]\s*due\b|\s·\s|$)", re.S | re.IGNORECASE)
_DUE = re.compile(r"\bdue:?\s*(\d{4}-\d{1,2}-\d{1,2})", re.IGNORECASE)


def action(item: layout.Item, horizon: str, p: Parsed) -> None:
    raw = item.text
    if _TEMPLATE_ACTION.match(raw.strip()):
        p.note(item.line, "the template's example action was left out")
        return
    at = raw.rfind(" — owner: ")
    meta = raw[at + 3:] if at >= 0 else raw
    text = unescape(raw[:at]) if at >= 0 else unescape(_META_TAIL.sub("", raw))
    # after " — owner: " the name runs to the next part ("· due", " · ", ", due"): it may hold parentheses
    listed = (_EXPORTED_META.match(meta) or _OWNER_META.match(meta)) if at >= 0 else None
    owner_match = listed or _OWNER.search(meta) or _HANDLE.search(meta)
    owner = person(unescape(owner_match.group(1)), item.line) if owner_match else None
    due = _DUE.search(meta)
    status = ActionStatus.DONE.value if item.check else ActionStatus.OPEN.value
    if re.search(r"\bCancelled\b", meta) and at >= 0:
        status = ActionStatus.CANCELLED.value
    description = text.strip()
    if description:
        p.actions.append(ParsedAction(item.line, horizon, description, owner,
                                      parse_date(due.group(1)) if due else None, status))


def _after_intro(lines: list[layout.Line], intro: str) -> tuple[list[layout.Line], list[layout.Line]]:
    """The lines before an intro line ("Conditions to meet:") and after it."""
    want = layout.key(intro)
    for i, ln in enumerate(lines):
        if intro and layout.key(ln.text) == want:
            return lines[:i], lines[i + 1:]
    return lines, []


def items(block: ol.Items, section: str | None, where: tuple[tuple[str, str], ...], lines: list[layout.Line],
          heading: str, p: Parsed) -> None:
    before, after = _after_intro(lines, "Conditions to meet:")
    if block.item == "action":
        horizon = block.attr.split(".", 1)[1]
        for item in layout.items(after if block.intro else before):
            action(item, horizon, p)
        return
    if block.item == "condition":
        for item in layout.items(before):
            if item.check is None:
                _condition(item, p)
        return
    reader = _ROW_ITEMS.get(block.item)
    if reader is None or section is None:
        return  # themes: worked out from feedback given in Slack
    for index, item in enumerate(layout.items(before)):
        row = reader(item, index)
        if row is not None:
            p.rows.setdefault(section, []).append({"_line": item.line, **row, **dict(where)})


def _condition(item: layout.Item, p: Parsed) -> None:
    """`**Liam Patel (Project Manager)** — Condition: text` → the note of that role's sign-off."""
    who, rest = strip_strong(item.text)
    # "— Condition: …", "— Comment (on an outdated sign-off): …", "— Condition (signed outside Slack): …"
    match = re.match(r"^\s*—\s*([^:(]+?)(?:\s*\([^)]*\))?:\s*(.*)$", rest, re.S)
    if who is None or match is None:
        p.note(item.line, "a comment under “Comments & Conditions” that names no sign-off: not imported")
        return
    signoff = _signoff_of(unescape(who), p)
    kind, text = match.group(1).strip(), inline_text(match.group(2)) or ""
    note = text if kind == NOTE else f"{kind}: {text}"  # as bot.reports.rows.note_parts reads it back
    if signoff is None:
        p.note(item.line, f"“{unescape(who)}” signed nothing in the acceptance table: the comment was left out")
        return
    signoff.note = note if signoff.note is None else f"{signoff.note}\n{note}"


def _signoff_of(who: str, p: Parsed) -> ParsedSignoff | None:
    """The signature a comment belongs to, by "Name (Role)": the role's row with that name, else the role's
    first row."""
    found = [s for s in p.signoffs if who.endswith(f" ({s.role})")]
    named = [s for s in found if person(who[: -len(f" ({s.role})")], 0) == (Person(s.name.text, 0) if s.name else None)]
    for candidates in (named, found):
        if candidates:  # the first without a note yet: two rows for one role each keep their own
            return next((s for s in candidates if s.note is None), candidates[0])
    return None


# ---- appendices -----------------------------------------------------------------------------------------


def appendices(src: layout.PartSrc, sub: ol.Subsection, p: Parsed) -> None:
    kinds = {layout.key(k.label): k.value for k in AppendixKind if k != AppendixKind.OTHER}
    for found in src.subs:
        match = re.match(r"^([A-Z])[.)]\s+(.*)$", found.heading.strip())
        title = match.group(2) if match else found.heading
        kind = kinds.get(layout.key(title))
        for item in layout.items(layout.content(found.lines)) or [layout.Item(found.line, "", False, None)]:
            url, note = _link(item.text)
            if kind is None:
                if url:
                    p.rows.setdefault("appendices", []).append(
                        {"_line": item.line, "kind": "other", "url": url, "note": unescape(title)})
            elif url or note:
                p.rows.setdefault("appendices", []).append(
                    {"_line": item.line, "kind": kind, "url": url, "note": note})


_MD_LINK = re.compile(r"^\[((?:\\.|[^\]\\])*)\]\(([^\s]*)\)")


def _link(text: str) -> tuple[str | None, str | None]:
    """`[shown](url) — note` / `<url>` / `url` → (url, note); placeholders → (None, None)."""
    from urllib.parse import quote, unquote

    text = text.strip()
    if is_placeholder(text):
        return None, None
    match = _MD_LINK.match(text)
    if match:
        target, shown = match.group(2), unescape(match.group(1))
        scheme = target.split("://", 1)[0] if "://" in target else ""
        url = unquote(target)
        for slashes in ("", "/", "//"):  # the exporter shows the URL without its scheme and trailing `/`
            candidate = f"{scheme}://{shown}{slashes}"
            if quote(candidate, safe=":/?#@!$&'*+,;=%~-._") == target:
                url = candidate
                break
        tail = text[match.end():]
        return url, inline_text(tail[3:]) if tail.startswith(" — ") else None
    first, rest = _split(text, " — ")
    target = unescape(first.strip().strip("<>"))
    if re.fullmatch(r"https?://\S+", target):
        return target, inline_text(rest or "")
    return None, inline_text(text)


# ---- facts the report words its own way -----------------------------------------------------------------


def pair(section: str, names: tuple[str, ...], src: layout.FactSrc, p: Parsed) -> None:
    """`4/5` → met 4, total 5; `4` → met 4."""
    if is_placeholder(src.value):
        return
    numbers = re.findall(r"\d[\d,]*", src.value)
    for name, raw in zip(names, numbers, strict=False):
        p.set(section, name, int(raw.replace(",", "")), src.line)


def _key(src: layout.FactSrc, p: Parsed) -> None:
    if not is_placeholder(src.value):
        p.key = unescape(src.value).strip()


def _completion(src: layout.FactSrc, p: Parsed) -> None:
    when = parse_date(src.value) if not is_placeholder(src.value) else None
    if when is not None:
        p.claims["completion_date"] = (src.line, when.isoformat())


def _revision(src: layout.FactSrc, p: Parsed) -> None:
    value = parse_number(src.value) if not is_placeholder(src.value) else None
    if value is not None and value >= 1:
        p.revision = int(value)


def _claim(name: str) -> Callable[[layout.FactSrc, Parsed], None]:
    def keep(src: layout.FactSrc, p: Parsed) -> None:
        if not is_placeholder(src.value):
            p.claims[name] = (src.line, src.value)

    return keep


SPECIAL_FACTS: dict[str, Callable[[layout.FactSrc, Parsed], None]] = {
    "key": _key, "completion_date_label": _completion, "revision": _revision, "report_date": lambda s, p: None,
    "schedule_variance_label": _claim("schedule_variance"),
}
# Facts that are read as their field and also kept as said, for the recomputed percentage.
CLAIMED = {"testing.passed_label": "passed", "testing.failed_label": "failed"}
_FROM_FEEDBACK = {"feedback.acceptance_rate_label", "feedback.satisfaction_label", "feedback.nps_label"}


def computed_fact(fact: ol.Fact, src: layout.FactSrc, p: Parsed) -> None:
    if fact.attr in _FROM_FEEDBACK and re.search(r"\d", src.value) and not is_placeholder(src.value):
        p.note(src.line, f"{fact.label} “{unescape(src.value)}” is worked out from feedback given in Slack "
                         "(`/milestone feedback`): the file's figure was not imported")
