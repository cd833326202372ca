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

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from bot.reports.document import Inline, build
from bot.reports.formatting import NOT_PROVIDED
from bot.reports.outline import Outline
from bot.reports.report import Report
from bot.reports.rows import MENTION

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


class MdSafe(str):
    """Markdown our own code built; the environment's finalize leaves it alone."""

    __slots__ = ()


_MD_SPECIAL = re.compile(r"([\\`|<>\[\]])")
_ENTITIES = {"<": "&lt;", ">": "&gt;"}


def _escape_chars(text: str) -> str:
    # Backslash first (so a typed `\|` cannot undo our escape), backticks (no code spans or fences),
    # pipes (table cells), angle brackets (no raw HTML, no autolinks) and square brackets (no link or image,
    # inline or by reference, can form: `[x](javascript:…)` stays text).
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
    return MdSafe(f"[{label}]({target})")  # md_inline escaped the label's brackets


def _finalize(value: Any) -> Any:
    return md_inline(value)


def with_names(text: str, people: dict[str, str]) -> str:
    """Slack mentions typed in user text (`<@U123>`) as the person's name ("@Ava Johnson")."""
    if "<@" not in text:
        return text
    return MENTION.sub(lambda m: "@" + people.get(m.group(1), m.group(1)), text)


@pass_context
def md_runs(ctx: Context, runs: Inline) -> MdSafe:
    """Inline runs as Markdown: every text escaped, then marked up by its style."""
    people = ctx.get("people") or {}
    out = []
    for run in runs:
        if run.style == "np":
            out.append(f"_{NOT_PROVIDED}_")
            continue
        text = with_names(run.text, people)
        if run.url:
            out.append(md_link(run.url, text))
        elif run.style == "strong":
            out.append(f"**{md_inline(text)}**")
        elif run.style == "quote":
            out.append(f"“{md_inline(text)}”")
        else:
            out.append(md_inline(text))
    return MdSafe("".join(out))


@pass_context
def md_row(ctx: Context, cells: Any, strong: bool = False) -> MdSafe:
    """One table row; a total row is bold."""
    texts = [md_runs(ctx, c.value) for c in cells]
    return MdSafe("| " + " | ".join(f"**{t}**" if strong else t for t in texts) + " |")


def md_rule(cells: Any) -> MdSafe:
    """The separator under the header row: numeric columns right-aligned."""
    return MdSafe("|" + "".join("-" * (len(c.value[0].text) + 1) + (":" if c.numeric else "-") + "|"
                                for c in cells))


@pass_context
def md_prose(ctx: Context, text: str) -> MdSafe:
    return md_block(with_names(text, ctx.get("people") or {}))


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
    env.filters.update(md_block=md_prose, md_runs=md_runs, md_row=md_row, md_rule=md_rule, raw=MdSafe)
    env.globals.update(NP=MdSafe(f"_{NOT_PROVIDED}_"), NOT_PROVIDED=NOT_PROVIDED)
    return env


@pass_context
def html_runs(ctx: Context, runs: Inline) -> Markup:
    """Inline runs as HTML: escaped text, links only for web URLs, tones as classes (the words say it too)."""
    people = ctx.get("people") or {}
    out = []
    for run in runs:
        if run.style == "np":
            out.append(Markup('<span class="np">{}</span>').format(NOT_PROVIDED))
            continue
        text = with_names(run.text, people)
        good = safe_url(run.url) if run.url else None
        if good:
            piece = Markup('<a href="{}">{}</a>').format(good, text)
        elif run.style == "strong":
            piece = Markup("<strong>{}</strong>").format(text)
        elif run.style == "quote":
            piece = Markup('<q class="text">{}</q>').format(text)
        elif run.style == "meta":
            piece = Markup('<span class="meta">{}</span>').format(text)
        else:
            piece = Markup('<span class="text">{}</span>').format(text) if "\n" in text else escape(text)
        if run.tone:
            piece = Markup('<span class="tone-{}">{}</span>').format(run.tone, piece)
        out.append(piece)
    return Markup("").join(out)


@pass_context
def html_prose(ctx: Context, text: str) -> Markup:
    return Markup('<p class="text">{}</p>').format(with_names(text, ctx.get("people") or {}))


@cache
def html_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(html_runs=html_runs, html_prose=html_prose)
    env.globals.update(NOT_PROVIDED=NOT_PROVIDED)
    return env


def render_markdown(report: Report, *, outline: Outline | None = None) -> str:
    doc = build(report, outline)
    return markdown_env().get_template("report.md.j2").render(r=report, doc=doc, people=report.people)


def render_html(report: Report, *, notice: str | None = None, outline: Outline | None = None) -> str:
    """The printable page; `notice` is a banner (e.g. the link was made for an older revision)."""
    doc = build(report, outline)
    return html_env().get_template("report.html.j2").render(r=report, doc=doc, people=report.people,
                                                             notice=notice)
