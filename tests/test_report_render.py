"""Compiling and rendering the report: hostile text stays text, empty parts say so, and the number of SQL
statements does not grow with the number of rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import markdown
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.demo import create_demo
from bot.reports.rendering import md_block, md_inline, render_html, render_markdown
from bot.reports.service import LinkExpired, LinkInvalid, load_report, sign_link, verify_link
from models import (
    ActionItem,
    Appendix,
    Deliverable,
    Delivery,
    DeliveryItem,
    FeedbackResponse,
    Milestone,
    Risk,
    SuccessCriterion,
)
from tests.harness import counting
from tests.test_report_golden import TEMPLATE_HEADINGS, headings

NOW = datetime(2025, 4, 1, 12, tzinfo=UTC)
HOSTILE = "Evil | name <script>alert('x')</script> <!channel>"


def cells(row: str) -> list[str]:
    """Split a Markdown table row on its unescaped pipes, as a GFM renderer does."""
    out, cell, i = [], "", 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            cell += row[i : i + 2]
            i += 2
            continue
        if row[i] == "|":
            out.append(cell)
            cell = ""
        else:
            cell += row[i]
        i += 1
    out.append(cell)
    return out[1:-1]


def test_user_text_cannot_break_tables_headings_or_inject_html(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        m = Milestone(team_id="T0001", key="M-007", name=HOSTILE, owner_id="UOWNER", created_by="UOWNER",
                      executive_summary="First line\n# Not a heading\n---\n```\n<img src=x onerror=alert(1)>",
                      scope_final="one\ntwo | three")
        session.add(m)
        session.flush()
        session.add_all([
            SuccessCriterion(milestone_id=m.id, criterion="a | b\nc", target="x\\| y", actual="<b>1</b>",
                             status="met", notes="```\n# heading\n---"),
            Deliverable(milestone_id=m.id, kind="completed", name="`code` | pipe", description="line1\r\nline2"),
            Appendix(milestone_id=m.id, kind="release_notes", url="javascript:alert(1)"),
            Appendix(milestone_id=m.id, kind="test_report", url="https://example.com/a b)(c"),
        ])
        session.flush()
        report = load_report(session, m.id, now=NOW)
    md = render_markdown(report)

    # Headings: exactly the template's (the typed "# Not a heading" is not one); Slack's <!channel> reads as text.
    title = "Evil \\| name \\<script\\>alert('x')\\</script\\> @channel"
    expected = [h.replace("[Milestone Name]", title).replace("[Next Milestone Name]", "_Not provided_")
                for h in TEMPLATE_HEADINGS]
    assert headings(md) == expected
    # Tables keep their column count, whatever the cells hold.
    lines = md.splitlines()
    criteria_row = lines[lines.index("| Criterion | Target | Actual | Status | Notes |") + 2]
    assert [c.strip() for c in cells(criteria_row)] == [
        "a \\| b<br>c", "x\\\\\\| y", "\\<b\\>1\\</b\\>", "✅ Met", "\\`\\`\\`<br># heading<br>---"]
    deliverable_row = lines[lines.index("| Deliverable | Description | Acceptance Criteria | Status | Sign-off |") + 2]
    assert len(cells(deliverable_row)) == 5
    # Plain Markdown: backslash escapes, no HTML entities; rendered, no typed HTML becomes an element.
    assert "&lt;" not in md and "&gt;" not in md and "&amp;" not in md
    rendered = markdown.markdown(md, extensions=["tables"])
    for element in ("<script", "<img", "<b>", "<h1>Not", "<code>"):
        assert element not in rendered, element
    assert "&lt;script&gt;alert" in rendered  # the typed tag is shown as text
    assert not any(line.startswith("```") for line in lines)
    assert lines.count("---") == 16  # the template's 16 section rules, none from typed text
    assert "\\# Not a heading" in md and "\\---" in md
    # Only web links become links; odd characters in a URL are encoded, not ending the link early.
    assert "](javascript" not in md
    assert "[example.com/a b)(c](https://example.com/a%20b%29%28c)" in md

    page = render_html(report)
    assert "<script" not in page and "<img" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_empty_milestone_says_not_provided_instead_of_placeholders(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        m = Milestone(team_id="T0001", key="M-008", name="Bare", owner_id="UOWNER", created_by="UOWNER")
        session.add(m)
        session.flush()
        md = render_markdown(load_report(session, m.id, now=NOW))
    assert md.count("_Not provided_") > 40
    for placeholder in ("XX", "YYYY-MM-DD", "[Name]", "_________", "None", "$0"):
        assert placeholder not in md, placeholder
    assert "- **Satisfaction Score**: No responses yet" in md  # not "0/5"


def test_markdown_helpers() -> None:
    assert md_inline("a|b") == "a\\|b"
    assert md_inline("a\nb", cell=True) == "a<br>b"  # in a table cell
    assert md_inline("a\n# b") == "a  \n  \\# b"  # elsewhere: a hard break, and no heading
    assert md_inline("\\|") == "\\\\\\|"  # a typed backslash cannot escape our escape
    assert md_block("x\n===") == "x  \n\\==="  # not a setext heading
    assert md_block("") == "_Not provided_"



def grow(session: Session, m: Milestone, n: int) -> None:
    """n more actions (each reminded), deliverables, risks and feedback answers."""
    for i in range(n):
        item = ActionItem(milestone_id=m.id, horizon=["week1", "month1", "quarter", "tech_debt"][i % 4],
                          description=f"Action {i}", owner_id=f"UOWN{i % 17}", due_date=date(2025, 3, 1),
                          created_by="UOWNER", effort_days=Decimal(1))
        session.add(item)
        session.add(Deliverable(milestone_id=m.id, kind="completed", name=f"D{i}", position=100 + i))
        session.add(Risk(milestone_id=m.id, kind="new", risk=f"R{i}", position=100 + i))
        session.add(FeedbackResponse(milestone_id=m.id, respondent_hash=f"grow{i}", satisfaction=4, nps=9,
                                     group="beta_user", themes=["positive"]))
        session.flush()
        delivery = Delivery(kind="action_digest", recipient_id=item.owner_id, subject="grow", status="sent",
                            local_date=date(2025, 3, 2) + timedelta(days=i), lease_until=NOW)
        session.add(delivery)
        session.flush()
        session.add(DeliveryItem(delivery_id=delivery.id, action_item_id=item.id))
    session.flush()


def test_statement_count_does_not_grow_with_rows(db: sessionmaker[Session], engine: Engine) -> None:
    def measure(action: Callable[[Session], Milestone]) -> tuple[int, int]:
        with db() as session, session.begin():
            m = action(session)
            session.expunge_all()
            with counting(engine) as statements:
                report = load_report(session, m.id, now=NOW)
                render_markdown(report)
                render_html(report)
            return len(statements), len(report.open_actions)

    small, small_open = measure(lambda s: create_demo(s, date(2025, 4, 1), team_id="T0001"))

    def bigger(session: Session) -> Milestone:
        m = create_demo(session, date(2025, 4, 1), team_id="T0001")
        grow(session, m, 120)
        return m

    large, large_open = measure(bigger)
    assert large_open == small_open + 120  # the rows were really loaded…
    assert large == small  # …by the same statements
    assert small <= 30
    print(f"statements: {small} for the demo, {large} with 120 more of each row")


def test_signed_links_open_only_unaltered_and_unexpired() -> None:
    key = b"k" * 32
    token = sign_link(key, 12, 7, now=NOW, ttl_hours=24)
    target = verify_link(key, token, now=NOW + timedelta(hours=23))
    assert (target.milestone_id, target.revision, target.expires) == (12, 7, NOW + timedelta(hours=24))
    payload, stamp, mac = token.split(".")
    forged = sign_link(b"other-key", 13, 7, now=NOW, ttl_hours=24).split(".")[0]
    for bad in (f"{forged}.{stamp}.{mac}", f"{payload}.{'B' if stamp[0] == 'A' else 'A'}{stamp[1:]}.{mac}",
                f"{payload}.{stamp}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}", "12.7.1", "",
                "../etc", token + ".", f"{payload}.{stamp}"):
        with pytest.raises(LinkInvalid):
            verify_link(key, bad, now=NOW)
    with pytest.raises(LinkInvalid):
        verify_link(b"other-key", token, now=NOW)
    with pytest.raises(LinkExpired) as expired:
        verify_link(key, token, now=NOW + timedelta(hours=24))
    assert expired.value.milestone_id == 12
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token)  # safe in a URL path as it is


LINK_TRAPS = ["[x](javascript:alert(1))", "![img](javascript:alert(2))", "[ref][1]\n\n[1]: javascript:alert(3)",
              "<javascript:alert(4)>", "[a]( javascript:alert(5) )", "\\[b](javascript:alert(6))"]


def test_typed_text_never_becomes_a_link_in_a_markdown_renderer(db: sessionmaker[Session]) -> None:
    """Python-Markdown, as a reader of the file would use it: no typed text turns into a link or an image."""
    with db() as session, session.begin():
        m = Milestone(team_id="T0001", key="M-009", name=LINK_TRAPS[0], owner_id="UOWNER", created_by="UOWNER",
                      executive_summary="\n".join(LINK_TRAPS), scope_final=LINK_TRAPS[1])
        session.add(m)
        session.flush()
        session.add_all([
            SuccessCriterion(milestone_id=m.id, criterion=LINK_TRAPS[2], target=LINK_TRAPS[3], status="met",
                             notes=LINK_TRAPS[4]),
            Risk(milestone_id=m.id, kind="new", risk=LINK_TRAPS[5], management=LINK_TRAPS[0]),
            Appendix(milestone_id=m.id, kind="other", url="https://example.com/ok", note=LINK_TRAPS[0]),
        ])
        session.flush()
        report = load_report(session, m.id, now=NOW)
    html = markdown.markdown(render_markdown(report), extensions=["tables"])
    assert "javascript" in html  # the typed text is there, as text…
    assert 'href="javascript' not in html and 'src="javascript' not in html and "<img" not in html  # …not a link
    links = [href for href in re.findall(r'<a href="([^"]*)"', html) if not href.startswith("#")]
    assert links == ["https://example.com/ok"]  # only the real appendix link (and the summary's anchors)
