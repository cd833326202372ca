"""Plain Markdown for the report: user text escaped with backslashes only, where Markdown needs it.

The file is read raw in Slack's thread and rendered elsewhere, so it carries no HTML entities and as few escapes
as keep it safe: table pipes, emphasis, code, links and images, strikethrough, a `<` that would start HTML or an
autolink (and then every `>` of that text too, for renderers such as Python-Markdown that do not take a
backslash before `<` as an escape), an `&` that would start an entity, and at the start of a line whatever would
start a heading, quote, list, rule or code block. A backslash the author typed before punctuation is doubled, so
it cannot undo our escape. Slack's own markup typed in text (`<@U…>`, `<#C…|name>`, `<!here>`) reads as names.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from bot.reports.formatting import NOT_PROVIDED
from bot.reports.rows import MENTION


class MdSafe(str):
    """Markdown our own code built; the environment's finalize leaves it alone."""

    __slots__ = ()


_TYPED_ESCAPE = re.compile(r"\\(?=[!-/:-@\[-`{-~])")  # a backslash before ASCII punctuation
_ALWAYS = re.compile(r"([`*\[\]|~])")  # code, emphasis, links/images, table cells, strikethrough
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # intraword `_` never emphasises
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")  # raw HTML, comments, autolinks; "< 300 ms" is fine
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(\s*)([#>+\-=*]|\d+(?=[.)]))")  # heading, quote, list, rule, setext, 1.
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


def readable(text: str, people: dict[str, str]) -> str:
    """Slack markup typed in user text as a reader sees it in Slack: `<@U1>` → "@Ava Johnson"."""
    if "<" not in text:
        return text
    text = MENTION.sub(lambda m: "@" + people.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + m.group(1), text)
    return _SPECIAL.sub(lambda m: "@" + m.group(1), text)


_ANY_SPECIAL = re.compile(r"[\\`*\[\]|~_<&]")


def _escape(text: str) -> str:
    if not _ANY_SPECIAL.search(text):
        return text  # most text: nothing to do
    text = _TYPED_ESCAPE.sub(r"\\\\", text)
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text, tags = _HTML_START.subn(r"\\<", text)
    if tags:  # Python-Markdown does not take `\<` as an escape: its tags and autolinks need a plain `>` too
        text = text.replace(">", "\\>")
    return _ENTITY.sub(r"\\&", text)


_URL = re.compile(r"https?://[^\s<>\"'|\[\]()]*[^\s<>\"'|\[\]().,;:!?]")


def escape(text: str) -> str:
    """Inline text: nothing in it can become markup, except that its web addresses become autolinks
    (`<https://…>`, every URL a link)."""
    if "://" not in text:
        return _escape(text)
    out, last = [], 0
    for match in _URL.finditer(text):
        out += [_escape(text[last:match.start()]), f"<{match.group(0)}>"]
        last = match.end()
    return "".join(out) + _escape(text[last:])


def escape_line_start(line: str) -> str:
    """A line's first characters, when they would start a block (`# x`, `> x`, `- x`, `1. x`, `---`)."""
    match = _LINE_START.match(line)
    if not match:
        return line
    lead, mark = match.groups()
    rest = line[match.end():]
    if mark.isdigit():
        return f"{lead}{mark}\\{rest}" if rest[:1] in ".)" else line
    return f"{lead}\\{mark}{rest}"


def _lines(value: Any) -> list[str]:
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")


def md_inline(value: Any, *, cell: bool = False) -> str:
    """One piece of text: in a table cell, newlines become `<br>` (the one tag GFM tables need); elsewhere a
    hard line break indented under its list item."""
    if value is None:
        return "—"
    if isinstance(value, MdSafe):
        return value
    if value == NOT_PROVIDED:
        return f"_{NOT_PROVIDED}_"
    text = str(value)
    if "\n" not in text and "\r" not in text:
        return escape(text)
    lines = [escape(line.strip()) for line in _lines(text)]
    if cell:
        return "<br>".join(lines)
    return "  \n  ".join(escape_line_start(line) if i else line for i, line in enumerate(lines))


def md_block(value: Any) -> MdSafe:
    """Paragraphs of user text, kept as paragraphs; no line can become a heading, rule, list or code."""
    if value is None or not str(value).strip():
        return MdSafe(f"_{NOT_PROVIDED}_")
    lines = [escape_line_start(escape(line.strip())) for line in _lines(value)]
    # A single newline inside a paragraph is a line break the author meant: keep it (two trailing spaces).
    out = [line + "  " if line and i + 1 < len(lines) and lines[i + 1] else line for i, line in enumerate(lines)]
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
    return MdSafe(f"[{label}]({target})")


def slug(heading: str) -> str:
    """The anchor GitHub-style renderers give a heading ("Approval & Sign-off" → "approval--sign-off")."""
    kept = re.sub(r"[^\w\- ]", "", heading.lower(), flags=re.UNICODE)
    return kept.replace(" ", "-")
