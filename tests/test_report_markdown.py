"""Plain Markdown with hostile text: every Markdown metacharacter typed in a list item, a fact, a table cell and
a paragraph reads back as the same text in a CommonMark renderer (markdown-it-py with GFM tables) and makes
no markup in it or in Python-Markdown; the raw file carries no HTML entities."""

from __future__ import annotations

import html
import re
from collections import Counter

import markdown
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session, sessionmaker

from bot.reports.loading import load_report
from bot.reports.rendering import render_markdown
from models import Milestone, Objective, SuccessCriterion
from tests.test_report_render import NOW

HOSTILE = [
    "*a* **b** _c_ __d__ `e` ``f`` ~~g~~ ~h~",
    "[x](javascript:alert(1)) ![i](x.png) [r][1] [1]: javascript:y <mailto:a@b.example> <b>bold</b> <!-- c -->",
    "<javascript:alert(2)> <a@b.example> www.example.com",
    "&amp; &#60; &lt;p&gt; a\\*b c\\_d e\\\\f g\\|h",
    "# h", "## h2", "> q", "- l", "+ l", "* l", "1. n", "2) n", "---", "===", "***", "___", "```py", "~~~",
    "| a | b |", "<div>", "</p>", "<?php x ?>", "<!DOCTYPE html>", "<![CDATA[x]]>", "x_y_z snake_case_name",
    "2 < 3 > 1 && a<b", "[ ] box", "- [x] done", "\\# not escaped twice", "trailing backslash \\",
]
PLAIN = [f"plain text {i}" for i in range(len(HOSTILE))]


def report_markdown(db: sessionmaker[Session], texts: list[str], key: str) -> str:
    with db() as session, session.begin():
        m = Milestone(team_id="T0001", key=key, name=texts[0], owner_id="UOWNER", created_by="UOWNER",
                      executive_summary="\n".join(texts), scope_original=texts[1], scope_final=texts[2])
        session.add(m)
        session.flush()
        for i, text in enumerate(texts):
            session.add(Objective(milestone_id=m.id, priority="other", title=text, position=i))
            session.add(SuccessCriterion(milestone_id=m.id, criterion=text, notes=text, status="met", position=i))
        session.flush()
        return render_markdown(load_report(session, m.id, now=NOW))


def commonmark(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


def tags(rendered: str) -> Counter[str]:
    return Counter(re.findall(r"<([a-z0-9]+)[\s>]", rendered))


def visible(rendered: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def test_hostile_text_reads_back_as_typed_and_makes_no_markup(db: sessionmaker[Session]) -> None:
    hostile, plain = report_markdown(db, HOSTILE, "M-101"), report_markdown(db, PLAIN, "M-102")
    assert not re.search(r"(?<!\\)&(#\d+|#x[0-9a-f]+|[a-z]+);", hostile)  # entities only as typed, escaped
    for render in (commonmark, lambda text: markdown.markdown(text, extensions=["tables"])):
        # The same elements, in the same numbers, as with plain words in the same places: no typed markup.
        assert tags(render(hostile)) == tags(render(plain)), render
    shown = visible(commonmark(hostile))
    for text in HOSTILE:
        # In a heading, a list item, a fact, a table cell and a paragraph: each as typed, every time.
        assert shown.count(" ".join(text.split())) >= 4, text


def test_slack_mentions_read_as_names(db: sessionmaker[Session]) -> None:
    from models import UserProfile

    with db() as session, session.begin():
        session.add(UserProfile(user_id="UMENTIONED", real_name="Ava Johnson"))
    md = report_markdown(db, ["Ask <@UMENTIONED> in <#C123|releases>, not <!channel> or <@UNKNOWN1>"] * 3, "M-103")
    assert "Ask @Ava Johnson in #releases, not @channel or @UNKNOWN1" in md
    assert "<@" not in md and "<!" not in md and "<#" not in md
