"""The canvas's Markdown (plain Python): every part of the outline, hostile text kept as text, tables split
below Slack's cell limit, action items as a checklist."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from bot.canvas.service import MAX_TABLE_CELLS, canvas_markdown, canvas_title, table_lines
from bot.demo import create_demo
from bot.reports.coverage import outline
from bot.reports.document import DBlock, DCell, Run
from bot.reports.service import load_report
from models import Milestone, Risk
from tests.harness import TEAM_ID

HOSTILE = ("<!channel> <@U123> a|b [x](javascript:alert(1)) <script>alert(1)</script> **bold** `code` "
           "&amp; ~~gone~~\n# Not a heading\n- not a list\n> not a quote")


def test_hostile_text_stays_text_in_the_canvas(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        m = create_demo(session, date.today(), team_id=TEAM_ID, owner_id="UOWNER", channel_id="C0001")
        m.executive_summary = HOSTILE + " " + "z" * 3000
        m.name = "Portal <!here> | [pwn](javascript:x)"
        session.add(Risk(milestone_id=m.id, position=50, kind="new", risk=HOSTILE, impact="high",
                         probability="low", management="line one\nline two"))
        milestone_id = m.id
    with db() as session:
        markdown = canvas_markdown(load_report(session, milestone_id))
        name = session.get(Milestone, milestone_id).name  # type: ignore[union-attr]
    assert "<!channel>" not in markdown and "<!here>" not in markdown and "<@U123>" not in markdown
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)  # no link with a javascript: target
    assert "\n# Not a heading" not in markdown and "\\# Not a heading" in markdown
    assert "\n- not a list" not in markdown and "\n> not a quote" not in markdown
    assert "a\\|b" in markdown and "\\*\\*bold\\*\\*" in markdown
    risk_rows = [line for line in markdown.splitlines() if line.startswith("| @channel")]
    assert risk_rows and all(line.count(" | ") == 3 for line in risk_rows)  # one row, four cells
    assert "line one / line two" in markdown  # a table cell is one line
    assert canvas_title("M-042", name) == "M-042 · Portal <!here> | [pwn](javascript:x) — milestone report"


def test_every_part_and_subsection_of_the_outline_is_a_heading(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        milestone_id = create_demo(session, date.today(), team_id=TEAM_ID, owner_id="UOWNER").id
    with db() as session:
        markdown = canvas_markdown(load_report(session, milestone_id))
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings[0] == "# Milestone Report: Customer Portal Beta"
    assert all(not h.startswith("####") for h in headings)  # canvases have h1–h3 only
    for part in outline().parts:
        assert any(h.startswith("## ") and h.endswith(part.heading) for h in headings), part.heading
        for sub in part.subsections:
            title = sub.heading.split("{")[0].strip()
            assert not title or any(h.startswith("### ") and title in h for h in headings), title
    assert re.search(r"^- \[ \] .+ — owner: ", markdown, re.M) and re.search(r"^- \[x\] ", markdown, re.M)


def test_long_tables_are_split_below_the_cell_limit() -> None:
    def row(i: int) -> tuple[DCell, ...]:
        return tuple(DCell((Run(f"r{i}c{j}"),)) for j in range(5))

    block = DBlock("table", headers=tuple(DCell((Run(f"H{j}"),)) for j in range(5)),
                   rows=tuple(row(i) for i in range(130)), total=row(999))
    lines = table_lines(block, {})
    pieces: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("|"):
            pieces[-1].append(line)
        elif pieces[-1]:
            pieces.append([])
    pieces = [p for p in pieces if p]
    assert len(pieces) == 3
    for piece in pieces:
        assert piece[0] == "| H0 | H1 | H2 | H3 | H4 |" and piece[1] == "|---|---|---|---|---|"
        cells = sum(line.count("|") - 1 for line in piece if not line.startswith("|---"))
        assert cells <= MAX_TABLE_CELLS
    body = [line for p in pieces for line in p[2:]]
    assert len(body) == 131 and body[-1].startswith("| **r999c0**")
