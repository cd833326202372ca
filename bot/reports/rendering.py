"""Jinja2 environments for the report: Markdown (every value escaped for Markdown, bot.reports.markdown) and
HTML (autoescaped), and the functions that render a Report in each.

Templates live in `templates/` at the repository root and walk the document of bot.reports.document. In the
Markdown environment every `{{ value }}` goes through `md_inline` (the environment's `finalize`), so user
text cannot break a table, inject HTML or open a code fence; only values marked `MdSafe` (built by our own
filters) pass as they are.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from bot.reports.document import Inline, Run, build
from bot.reports.formatting import NOT_PROVIDED
from bot.reports.markdown import (
    MdSafe,
    escape_line_start,
    md_block,
    md_inline,
    md_link,
    readable,
    safe_url,
    slug,
)
from bot.reports.outline import Outline
from bot.reports.report import Report

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
Paper = Literal["A4", "Letter"]
__all__ = ["md_block", "md_inline", "render_html", "render_markdown"]


def _people(ctx: Context) -> dict[str, str]:
    return ctx.get("people") or {}


# ---- Markdown -------------------------------------------------------------------------------------------


def _md_run(ctx: Context, run: Run, *, cell: bool) -> str:
    if run.style == "np":
        return f"_{NOT_PROVIDED}_"
    text = readable(run.text, _people(ctx))
    if run.anchor:
        heading = (ctx.get("headings") or {}).get(run.anchor)
        return md_link(None, text) if heading is None else f"[{md_inline(text)}](#{slug(heading)})"
    if run.url:
        return md_link(run.url, text)
    if run.style == "strong":
        return f"**{md_inline(text, cell=cell)}**"
    if run.style == "quote":
        return f"“{md_inline(text, cell=cell)}”"
    return md_inline(text, cell=cell)


@pass_context
def md_runs(ctx: Context, runs: Inline, cell: bool = False, lead: bool = False) -> MdSafe:
    """Inline runs as Markdown; `lead`: they start a list item, so typed text may not start a block there."""
    out = [_md_run(ctx, run, cell=cell) for run in runs]
    if lead and out and runs[0].style == "" and not runs[0].url and not runs[0].anchor:
        out[0] = escape_line_start(out[0])
    return MdSafe("".join(out))


@pass_context
def md_row(ctx: Context, cells: Any, strong: bool = False) -> MdSafe:
    """One table row; a total row is bold."""
    texts = [md_runs(ctx, c.value, cell=True) for c in cells]
    return MdSafe("| " + " | ".join(f"**{t}**" if strong else t for t in texts) + " |")


def md_rule(cells: Any) -> MdSafe:
    """The separator under the header row: numeric columns right-aligned."""
    return MdSafe("|" + "".join("-" * (len(c.value[0].text) + 1) + (":" if c.numeric else "-") + "|"
                                for c in cells))


@pass_context
def md_prose(ctx: Context, text: str) -> MdSafe:
    return md_block(readable(text, _people(ctx)))


def md_label(label: str, strong: bool = True) -> MdSafe:
    return MdSafe(f"**{md_inline(label)}**" if strong else md_inline(label))


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
    env.filters.update(md_block=md_prose, md_runs=md_runs, md_row=md_row, md_rule=md_rule, md_label=md_label,
                       raw=MdSafe)
    env.globals.update(NP=MdSafe(f"_{NOT_PROVIDED}_"), NOT_PROVIDED=NOT_PROVIDED)
    return env


# ---- HTML -----------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'|\[\]()]*[^\s<>\"'|\[\]().,;:!?]")


def html_text(text: str) -> Markup:
    """Escaped text whose web addresses are links."""
    if "://" not in text:
        return escape(text)
    out, last = [], 0
    for match in _URL.finditer(text):
        out += [escape(text[last:match.start()]), Markup('<a href="{0}">{0}</a>').format(match.group(0))]
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _html_run(ctx: Context, run: Run) -> Markup:
    if run.style == "np":
        return Markup('<span class="np">{}</span>').format(NOT_PROVIDED)
    text = readable(run.text, _people(ctx))
    good = safe_url(run.url) if run.url else None
    if run.anchor:
        piece = Markup('<a href="#{}">{}</a>').format(run.anchor, text)
    elif good:
        piece = Markup('<a href="{}">{}</a>').format(good, text)
    elif run.style == "strong":
        piece = Markup("<strong>{}</strong>").format(html_text(text))
    elif run.style == "quote":
        piece = Markup('<q class="text">{}</q>').format(html_text(text))
    elif run.style == "meta":
        piece = Markup('<span class="meta">{}</span>').format(html_text(text))
    else:
        piece = Markup('<span class="text">{}</span>').format(html_text(text)) if "\n" in text else html_text(text)
    if run.tone:
        piece = Markup('<span class="tone-{}">{}</span>').format(run.tone, piece)
    return piece


@pass_context
def html_runs(ctx: Context, runs: Inline) -> Markup:
    """Inline runs as HTML: escaped text, links only for web URLs, tones as classes (the words say it too)."""
    return Markup("").join(_html_run(ctx, run) for run in runs)


@pass_context
def html_prose(ctx: Context, text: str) -> Markup:
    return Markup('<p class="text">{}</p>').format(html_text(readable(text, _people(ctx))))


def css_string(text: str) -> Markup:
    """A CSS string literal for the page's margin boxes: every character that is not a letter, digit or
    space as a CSS escape, so typed quotes, backslashes or `</style>` stay text."""
    return Markup('"' + "".join(c if (c.isalnum() and c.isascii()) or c == " " else f"\\{ord(c):x} "
                                for c in text) + '"')


@cache
def html_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(html_runs=html_runs, html_prose=html_prose, css_string=css_string)
    env.globals.update(NOT_PROVIDED=NOT_PROVIDED)
    return env


# ---- rendering ------------------------------------------------------------------------------------------


def render_markdown(report: Report, *, outline: Outline | None = None) -> str:
    doc = build(report, outline)
    return markdown_env().get_template("report.md.j2").render(r=report, doc=doc, people=report.people,
                                                               headings=doc.headings)


def _generated(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def render_html(report: Report, *, notice: str | None = None, outline: Outline | None = None,
                paper: Paper = "A4", for_print: bool = False) -> str:
    """The page (screen and print); `notice` is a banner (e.g. the link was made for an older revision);
    `paper` is the page size when printed; `for_print` leaves out the screen-width rules (WeasyPrint reads
    media types only)."""
    doc = build(report, outline)
    return html_env().get_template("report.html.j2").render(
        r=report, doc=doc, people=report.people, notice=notice, paper=paper, for_print=for_print,
        generated=_generated(report.generated_at), running=f"{report.key} · {report.name} · revision {report.revision}")
