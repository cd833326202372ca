"""Reading the report's Markdown back: decoding, mis-decoded emoji, escapes, inline marks, numbers, tables.

The inverse of bot.reports.markdown: `unescape` undoes `escape` (a backslash before ASCII punctuation is
CommonMark's escape; the exporter doubles a typed backslash so this stays exact), autolinks `<https://…>`
become their URL, `[text](url)` its URL, `<br>` in a cell a newline. Plain Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.core.errors import DomainError
from bot.core.formats import CURRENCY_SYMBOLS

MAX_BYTES = 1024 * 1024  # the largest file we read (1 MB)


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 = the file as a whole
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.text}" if self.line else self.text


class ReportFormatError(DomainError):
    """The file cannot be imported: every problem found, each with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("Nothing was imported. " + "; ".join(str(p) for p in problems[:10])
                         + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))


# ---- decoding -------------------------------------------------------------------------------------------

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _repair_run(run: str) -> str:
    """One run of non-ASCII characters: if it is UTF-8 read as Mac Roman (`‚úÖ`), the text it was."""
    out, i = [], 0
    while i < len(run):
        for j in range(min(len(run), i + 12), i + 1, -1):  # the longest piece that decodes
            piece = run[i:j]
            try:
                raw = piece.encode("mac_roman")
            except UnicodeEncodeError:
                continue
            for candidate in (raw, b"\xf0" + raw):  # a 4-byte emoji whose lead byte (Apple's logo) was lost
                try:
                    fixed = candidate.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if fixed != piece:
                    out.append(fixed)
                    i = j
                    break
            else:
                continue
            break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


def repair_mojibake(text: str) -> tuple[str, int]:
    """Text with mis-decoded emoji repaired, and how many runs were repaired."""
    count = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal count
        fixed = _repair_run(match.group(0))
        count += fixed != match.group(0)
        return fixed

    return _NON_ASCII_RUN.sub(fix, text), count


def decode(data: bytes) -> tuple[str, list[Problem]]:
    """The file's text (UTF-8, with or without BOM; else Windows-1252), line endings as `\\n`, mojibake
    repaired; the notes about what was repaired."""
    notes: list[Problem] = []
    if len(data) > MAX_BYTES:
        size = f"the file is {len(data):,} bytes; the limit is 1 MB ({MAX_BYTES:,} bytes)"
        raise ReportFormatError([Problem(0, size)])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ReportFormatError([Problem(line, "this is a binary file (it has NUL bytes), not a Markdown report")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append(Problem(0, "the file is not UTF-8; it was read as Windows-1252"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, repaired = repair_mojibake(text)
    if repaired:
        notes.append(Problem(0, f"repaired {repaired} mis-decoded emoji or characters (UTF-8 read as Mac Roman)"))
    return text, notes


# ---- inline Markdown ------------------------------------------------------------------------------------

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"<(https?://[^>\s]*)>")
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)")
NOT_PROVIDED_MARKS = ("_Not provided_", "*Not provided*", "Not provided")


def unescape(text: str) -> str:
    """Markdown text → the text typed: escapes removed, autolinks as their URL."""
    text = _AUTOLINK.sub(lambda m: m.group(1), text)
    return _ESCAPED.sub(r"\1", text)


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is not escaped by a backslash (table pipes)."""
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if text.startswith(sep, i):
            parts.append("".join(current))
            current = []
            i += len(sep)
            continue
        current.append(text[i])
        i += 1
    parts.append("".join(current))
    return parts


def find_unescaped(text: str, needle: str, start: int = 0) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(needle, i):
            return i
        i += 1
    return -1


def strip_strong(text: str) -> tuple[str | None, str]:
    """`**Label** rest` → ("Label", " rest"); no leading strong text → (None, text)."""
    for mark in ("**", "__"):
        if text.startswith(mark):
            end = find_unescaped(text, mark, 2)
            if end > 1:
                return text[2:end], text[end + 2:]
    return None, text


def link_target(text: str) -> str | None:
    """The URL of `[shown](url)`, of `<url>`, or of a bare URL; None when the text is no link."""
    text = text.strip()
    match = _LINK.fullmatch(text)
    if match:
        return match.group(2)
    match = _AUTOLINK.fullmatch(text)
    if match:
        return match.group(1)
    return text if re.fullmatch(r"https?://\S+", text) else None


def unquote_url(url: str) -> str:
    from urllib.parse import unquote

    return unquote(url)


# ---- placeholders, numbers, dates -----------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"^(?:\[[^\]]*\]|M-X+|_{3,}|[-+]?\$?X[X,.]*%?(?:\s*\w+(?:/\w+)?)?|[+]?/?-?\s*X+\s*\w*|"
    r"YYYY-MM-DD|X\.X(?:/5)?|\+/- X days|Name, Date|Name|TBD|N/A|—|-|–)$",
    re.IGNORECASE,
)


# The template's instructions, left in by whoever filled it in (compared by their words).
TEMPLATE_TEXT = frozenset(" ".join(re.findall(r"[a-z0-9]+", t.lower())) for t in (
    "Comprehensive overview of the milestone achievement, its significance, impact on the project, and key "
    "outcomes delivered.",
    "Description and success criteria", "Description", "List any changes and justifications",
    "Detailed description", "Justification", "Explanation", "Business need",
    "Key activities that determined the milestone timeline and any delays encountered.",
    "Mitigation applied", "Learning point", "Strategy description", "Plan description", "List of stakeholders",
    "Summary of feedback", "Summary", "Positive feedback theme", "Improvement suggestion", "Feature request",
    "Description and why it worked", "Issue and proposed solution", "Description and application",
    "Current vs. proposed process", "Description and rationale", "List", "List of docs",
    "Sessions and participants", "List with links", "Brief description", "On this milestone",
    "Initial risk assessment", "Description and timeline", "Description and owner",
    "Any conditions or comments associated with the sign-off.", "On track | Exceeded | Below",
    "Project Manager/Technical Lead", "Target value", "Actual value",
))


def is_placeholder(text: str | None) -> bool:
    """A value the template's author left as it was: `[Milestone Name]`, `YYYY-MM-DD`, `$XX,XXX`, `XX%`."""
    if text is None:
        return True
    value = text.strip().strip("*_").strip()
    if not value or value in NOT_PROVIDED_MARKS or value.lower() == "not provided":
        return True
    if " ".join(re.findall(r"[a-z0-9]+", value.lower())) in TEMPLATE_TEXT:
        return True
    if value.startswith("[") and value.endswith("]") and "](" not in value:
        return True
    return bool(_PLACEHOLDER.match(value)) and ("X" in value or not any(c.isdigit() for c in value))


_SIGNS = re.escape("".join(CURRENCY_SYMBOLS.values()))  # $€£…: an amount's sign before its digits
_NUMBER = re.compile(rf"[-+−]?\s*[{_SIGNS}]?\s*[-+−]?\d[\d,  ']*(?:\.\d+)?")


def parse_number(text: str) -> Decimal | None:
    """`$82,500` → 82500, `1,250` → 1250, `95.8%` → 95.8, `+5 days` → 5, `-€2,100` → -2100, `-2,100 CHF` →
    -2100; None if none."""
    match = _NUMBER.search(text.replace("\u2212", "-"))
    if not match:
        return None
    raw = match.group(0)
    negative = "-" in re.split(r"\d", raw, maxsplit=1)[0]  # a minus before the digits, either side of a sign
    digits = re.sub(r"[^\d.]", "", raw)
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return -value if negative else value


_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")


def parse_date(text: str) -> date | None:
    match = _DATE.search(text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def letters(text: str) -> str:
    """For comparing labels: lower-case words only (emoji, marks and punctuation dropped)."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))
