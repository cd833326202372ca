"""Jinja2 environments for the report: Markdown (every value escaped for Markdown) and HTML (autoescaped).

Templates live in `templates/` at the repository root. In the Markdown environment every `{{ value }}` goes
through `md_inline` (the environment's `finalize`), so user text cannot break a table (pipes, newlines),
inject HTML or open a code fence; only values marked `MdSafe` (built by our own filters) pass as they are.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.reports.service import NOT_PROVIDED, Report, fmt_num, fmt_pct

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


class MdSafe(str):
    """Markdown our own code built; the environment's finalize leaves it alone."""

    __slots__ = ()


_MD_SPECIAL = re.compile(r"([\\`|<>])")
_ENTITIES = {"<": "&lt;", ">": "&gt;"}


def _escape_chars(text: str) -> str:
    # Backslash first (so a typed `\|` cannot undo our escape), backticks (no code spans or fences),
    # pipes (table cells) and angle brackets (no raw HTML).
    return _MD_SPECIAL.sub(lambda m: _ENTITIES.get(m.group(1)) or "\\" + m.group(1), text)


def md_inline(value: Any) -> str:
    """One line of Markdown: safe inside a table cell or a list item; newlines become `<br>`."""
    if value is None:
        return "—"
    if isinstance(value, MdSafe):
        return value
    if value == NOT_PROVIDED:
        return f"_{NOT_PROVIDED}_"
    text = _escape_chars(str(value)).replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:
        return text
    return "<br>".join(line.strip() for line in text.strip().split("\n"))


_BREAK_LINE = re.compile(r"^\s*([-=*_+]\s*)+$")
_BLOCK_START = re.compile(r"^(\s*)(#)")


def md_block(value: Any) -> MdSafe:
    """Paragraphs of user text, kept as paragraphs; no line can become a heading, rule or HTML."""
    if value is None or not str(value).strip():
        return MdSafe(f"_{NOT_PROVIDED}_")
    lines = []
    for line in _escape_chars(str(value)).replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"):
        if _BREAK_LINE.match(line):
            line = "\\" + line.lstrip()  # `---` under a line would make it a heading
        line = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
        lines.append(line.rstrip())
    # A single newline inside a paragraph is a line break the author meant: keep it (two trailing spaces).
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        out.append(line + "  " if line and nxt else line)
    return MdSafe("\n".join(out))


def safe_url(url: Any) -> str | None:
    """Only web links become links (a `javascript:` URL stays text)."""
    if not url:
        return None
    parts = urlsplit(str(url).strip())
    return str(url).strip() if parts.scheme in ("http", "https") and parts.netloc else None


def md_link(url: Any, text: Any = None) -> MdSafe:
    """`[text](url)` for a web link; anything else shows as escaped text."""
    good = safe_url(url)
    label = md_inline(text if text else url)
    if good is None:
        return MdSafe(label)
    target = quote(good, safe=":/?#@!$&'*+,;=%~-._")  # parentheses, spaces, pipes and brackets encoded
    label = label.replace("[", "\\[").replace("]", "\\]")
    return MdSafe(f"[{label}]({target})")


def _finalize(value: Any) -> Any:
    return md_inline(value)


@cache
def markdown_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md_block=md_block, md_link=md_link, fmt_num=fmt_num, fmt_pct=fmt_pct)
    env.globals.update(NP=MdSafe(f"_{NOT_PROVIDED}_"), NOT_PROVIDED=NOT_PROVIDED)
    return env


def _rows(items: list[Any], attributes: list[str]) -> list[list[Any]]:
    """Table rows: the given attributes of each item, in order."""
    return [[getattr(item, name) for name in attributes] for item in items]


@cache
def html_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(safe_url=safe_url, fmt_num=fmt_num, fmt_pct=fmt_pct, rows=_rows)
    env.globals.update(NOT_PROVIDED=NOT_PROVIDED)
    return env


def render_markdown(report: Report) -> str:
    return markdown_env().get_template("report.md.j2").render(r=report)


def render_html(report: Report, *, notice: str | None = None) -> str:
    """The printable page; `notice` is a banner (e.g. the link was made for an older revision)."""
    return html_env().get_template("report.html.j2").render(r=report, notice=notice)
