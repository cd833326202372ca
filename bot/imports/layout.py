"""The file's shape: title, header lines, `##` parts with their `###` subsections, footer; and the pieces
inside a subsection (tables, list items with their continuation lines, facts, paragraphs). Line numbers
are kept everywhere so every problem can name its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.fields import unsafe_character_problem
from bot.imports.text import Problem, ReportFormatError, letters, split_unescaped

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")  # a closing `#` run needs a space before it
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+")
_RULE = re.compile(r"^\s{0,3}(?:-\s*){3,}$|^\s{0,3}(?:\*\s*){3,}$|^\s{0,3}(?:_\s*){3,}$")
_ITEM = re.compile(r"^(\s{0,3})(?:([-*+])|(\d+)[.)])(?:\s+|$)(.*)$")
_FACT = re.compile(r"^(?:[-*+]\s+)?(?:\*\*(.+?)\*\*|__(.+?)__|([A-Za-z][^:*|]{0,60}?))\s*:\s?(.*)$")


@dataclass
class Line:
    no: int
    text: str  # trailing white space removed


@dataclass
class Sub:
    heading: str
    line: int
    lines: list[Line] = field(default_factory=list)


@dataclass
class PartSrc:
    heading: str
    line: int
    lines: list[Line] = field(default_factory=list)  # before the first ###
    subs: list[Sub] = field(default_factory=list)


@dataclass
class Doc:
    title: str
    title_line: int
    header: list[Line]
    parts: list[PartSrc]
    footer: list[Line]

    def part(self, heading: str) -> PartSrc | None:
        want = key(heading)
        return next((p for p in self.parts if key(p.heading) == want), None)


def key(heading: str) -> str:
    """Headings compare by their words: numbering, emoji, `&` and case do not matter."""
    return letters(_NUMBERED.sub("", heading.strip()))


def split(text: str) -> Doc:
    """The file cut at its headings; ReportFormatError when it is not a milestone report at all."""
    lines = [Line(i, raw.rstrip()) for i, raw in enumerate(text.split("\n"), 1)]
    problems = [Problem(ln.no, p) for ln in lines if (p := unsafe_character_problem(ln.text))]
    if problems:
        raise ReportFormatError(problems)
    title, title_line = "", 0
    header: list[Line] = []
    parts: list[PartSrc] = []
    in_fence = False
    for ln in lines:
        if ln.text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(ln.text)
        if match and len(match.group(1)) == 1 and not title:
            title, title_line = match.group(2), ln.no
            continue
        if match and len(match.group(1)) == 2:
            parts.append(PartSrc(match.group(2), ln.no))
            continue
        if match and len(match.group(1)) == 3 and parts:
            parts[-1].subs.append(Sub(match.group(2), ln.no))
            continue
        if not parts:
            header.append(ln)
        elif parts[-1].subs:
            parts[-1].subs[-1].lines.append(ln)
        else:
            parts[-1].lines.append(ln)
    if not re.match(r"(?i)^milestone\s+report\b", title.strip()):
        first = next((ln for ln in lines if ln.text.strip()), Line(1, ""))
        where = title_line or first.no
        raise ReportFormatError([Problem(where, "this is not a milestone report: it should start with a heading "
                                                "`# Milestone Report: <name>` (the template's first line)")])
    if not parts:
        raise ReportFormatError([Problem(title_line, "this is not a milestone report: it has no `##` sections "
                                                     "(Executive Summary, Milestone Overview, …)")])
    footer = _cut_footer(parts[-1])
    return Doc(title, title_line, header, parts, footer)


def _cut_footer(last: PartSrc) -> list[Line]:
    """The footer is what follows the last part's closing rule (`---`)."""
    holder = last.subs[-1].lines if last.subs else last.lines
    rules = [i for i, ln in enumerate(holder) if _RULE.match(ln.text)]
    if not rules:
        return []
    cut = rules[-1]
    footer = holder[cut + 1:]
    del holder[cut:]
    return footer


# ---- pieces inside a subsection -------------------------------------------------------------------------


def content(lines: list[Line]) -> list[Line]:
    """The lines that matter: without the part's closing rule."""
    return [ln for ln in lines if not _RULE.match(ln.text)]


def is_table_line(ln: Line) -> bool:
    return ln.text.lstrip().startswith("|")


def item_match(ln: Line) -> re.Match[str] | None:
    return _ITEM.match(ln.text) if not _RULE.match(ln.text) else None


@dataclass
class TableSrc:
    line: int
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)


def _cells(text: str) -> list[str]:
    body = text.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in split_unescaped(body, "|")]


def tables(lines: list[Line], where: str) -> list[TableSrc]:
    """Every table among the lines; a table that cannot be read is an error naming its line."""
    found: list[TableSrc] = []
    problems: list[Problem] = []
    i = 0
    while i < len(lines):
        if not is_table_line(lines[i]):
            i += 1
            continue
        block = []
        while i < len(lines) and is_table_line(lines[i]):
            block.append(lines[i])
            i += 1
        header = _cells(block[0].text)
        if len(block) < 2 or not re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", block[1].text.strip()):
            problems.append(Problem(block[0].no + 1 if len(block) > 1 else block[0].no,
                                    f"the table under “{where}” has no separator row (`|---|---|`) under its header"))
            continue
        rows = []
        for ln in block[2:]:
            cells = _cells(ln.text)
            if len(cells) != len(header):
                problems.append(Problem(ln.no, f"this row of the table under “{where}” has {len(cells)} cells; "
                                               f"its header has {len(header)} (an unescaped `|` in a cell?)"))
                continue
            rows.append((ln.no, cells))
        found.append(TableSrc(block[0].no, header, rows))
    if problems:
        raise ReportFormatError(problems)
    return found


@dataclass
class Item:
    line: int
    text: str  # the item's text, continuation lines joined with "\n"
    ordered: bool
    check: bool | None  # [x] / [ ] / no box


def items(lines: list[Line]) -> list[Item]:
    """The list items among the lines, each with its indented continuation lines."""
    out: list[Item] = []
    current: Item | None = None
    for ln in lines:
        match = item_match(ln)
        if match and not is_table_line(ln):
            text = match.group(4)
            check = None
            box = re.match(r"^\[([ xX])\]\s*(.*)$", text)
            if box:
                check, text = box.group(1).lower() == "x", box.group(2)
            current = Item(ln.no, text, match.group(3) is not None, check)
            out.append(current)
        elif current is not None and ln.text.startswith((" ", "\t")) and ln.text.strip():
            current.text += "\n" + ln.text.strip()
        else:
            current = None
    return out


@dataclass
class FactSrc:
    line: int
    label: str
    value: str


def facts(lines: list[Line]) -> list[FactSrc]:
    """`**Label**: value` lines (in a list or not), continuation lines joined with "\n"."""
    out: list[FactSrc] = []
    current: FactSrc | None = None
    for ln in lines:
        match = _FACT.match(ln.text.strip()) if not ln.text.startswith(("  ", "\t")) else None
        if match and not is_table_line(ln):
            label = match.group(1) or match.group(2) or match.group(3) or ""
            current = FactSrc(ln.no, label.strip(), match.group(4).strip())
            out.append(current)
        elif current is not None and ln.text.startswith(("  ", "\t")) and ln.text.strip() \
                and not item_match(Line(ln.no, ln.text.strip())):
            current.value += "\n" + ln.text.strip()
        else:
            current = None
    return out


def paragraphs(lines: list[Line]) -> tuple[int, str] | None:
    """The prose before the first list or table: (its first line, its text with line breaks kept)."""
    kept: list[Line] = []
    for ln in lines:
        if is_table_line(ln) or item_match(ln) or ln.text.strip().lower().startswith("conditions to meet"):
            break
        kept.append(ln)
    while kept and not kept[0].text.strip():
        kept.pop(0)
    while kept and not kept[-1].text.strip():
        kept.pop()
    if not kept:
        return None
    return kept[0].no, "\n".join(ln.text.strip() for ln in kept)
