"""The demo milestone's report against the team's template: every heading in order, every table's header
row, the figures worked out by hand, and the whole Markdown against a golden file.

Regenerate the golden files (Markdown and HTML) after an intended change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_report_golden.py`
and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.demo import create_demo
from bot.reports.rendering import render_html, render_markdown
from bot.reports.service import load_report

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "demo_report.md"
GOLDEN_HTML = Path(__file__).parent / "golden" / "demo_report.html"
SEED = ROOT.parent / "shared" / "seeds" / "000_86c32366979ca23f.txt"
TODAY = date(2025, 4, 1)
NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)

# The template's headings, in its order ([…] marks the two that carry a name).
TEMPLATE_HEADINGS = [
    "# Milestone Report: [Milestone Name]", "## Executive Summary", "## Milestone Overview", "### Objectives",
    "### Success Criteria Assessment", "### Scope", "## Deliverables", "### Completed Deliverables",
    "### Deferred Deliverables", "### Additional Deliverables", "## Timeline Analysis", "### Schedule Performance",
    "### Phase Breakdown", "### Critical Path Analysis", "## Resource Utilization", "### Team Effort",
    "### Budget Analysis", "## Quality Metrics", "### Testing Results", "### Defect Analysis", "### Code Quality",
    "## Performance Benchmarks", "### System Performance", "### User Experience Metrics", "## Risk Assessment",
    "### Risks Realized", "### Risks Mitigated", "### New Risks Identified", "## Stakeholder Feedback",
    "### Acceptance Testing", "### User Acceptance", "### Business Validation", "## Lessons Learned",
    "### What Went Well ✅", "### What Could Be Improved 🔄", "### Best Practices Identified 📚",
    "### Process Improvements", "## Technical Documentation", "### Architecture Changes", "### API Documentation",
    "### Database Changes", "### Infrastructure Updates", "## Transition & Handover", "### Knowledge Transfer",
    "### Support Readiness", "### Operational Handover", "## Post-Milestone Activities",
    "### Immediate Actions (Week 1)", "### Short-term Actions (Month 1)", "### Long-term Actions (Quarter)",
    "### Technical Debt to Address", "## Next Milestone Preview", "### Milestone: [Next Milestone Name]",
    "### Preparatory Work", "## Approval & Sign-off", "### Milestone Acceptance", "### Comments & Conditions",
    "## Appendices", "### A. Detailed Test Report", "### B. Performance Test Results",
    "### C. User Feedback Summary", "### D. Technical Architecture Diagrams", "### E. Release Notes",
    "### F. Defect Report",
]
# Each table's header row as the template writes it, in its order.
TEMPLATE_TABLE_HEADERS = [
    "| Criterion | Target | Actual | Status | Notes |",
    "| Deliverable | Description | Acceptance Criteria | Status | Sign-off |",
    "| Deliverable | Reason for Deferral | New Target | Impact |",
    "| Deliverable | Description | Reason for Addition |",
    "| Phase | Planned Duration | Actual Duration | Variance | Notes |",
    "| Role | Planned Hours | Actual Hours | Variance | Efficiency |",
    "| Category | Budgeted | Actual | Variance | Notes |",
    "| Severity | Found | Fixed | Outstanding | Deferred |",
    "| Metric | Target | Achieved | Status |",
    "| Metric | Target | Achieved | Status |",
    "| Risk | Impact | How It Was Managed | Lessons Learned |",
    "| Risk | Mitigation Strategy | Effectiveness |",
    "| Risk | Probability | Impact | Mitigation Plan |",
    "| Component | From Team | To Team | Status | Date |",
    "| Item | Priority | Effort | Planned Sprint |",
    "| Role | Name | Signature | Date |",
]


def headings(markdown: str) -> list[str]:
    return [line.rstrip() for line in markdown.splitlines() if re.match(r"#{1,3} ", line)]


def table_headers(markdown: str) -> list[str]:
    """Header rows: a table row directly followed by its |---| separator row."""
    lines = markdown.splitlines()
    return [
        " ".join(lines[i].split())
        for i in range(len(lines) - 1)
        if lines[i].startswith("|") and re.fullmatch(r"\|(:?-+:?\|)+", lines[i + 1].replace(" ", ""))
    ]


@pytest.fixture
def demo_markdown(db: sessionmaker[Session]) -> str:
    with db() as session, session.begin():
        milestone = create_demo(session, TODAY)
        return render_markdown(load_report(session, milestone.id, now=NOW))


def test_the_lists_above_are_the_templates_own(request: pytest.FixtureRequest) -> None:
    if not SEED.is_file():
        pytest.skip("the template (../shared/seeds) is not beside this checkout")
    # The seed's emoji were saved as UTF-8 read as Mac Roman; undo that to compare.
    template = SEED.read_text(encoding="utf-8").encode("mac_roman").decode("utf-8")
    assert headings(template) == TEMPLATE_HEADINGS
    assert table_headers(template) == TEMPLATE_TABLE_HEADERS


def test_demo_report_has_every_template_heading_in_order(demo_markdown: str) -> None:
    expected = [h.replace("[Milestone Name]", "Customer Portal Beta").replace("[Next Milestone Name]",
                                                                          "Customer Portal GA")
                for h in TEMPLATE_HEADINGS]
    assert headings(demo_markdown) == expected


def test_demo_report_has_each_tables_header_row_in_order(demo_markdown: str) -> None:
    assert table_headers(demo_markdown) == TEMPLATE_TABLE_HEADERS


def test_no_template_placeholder_is_left(demo_markdown: str) -> None:
    for placeholder in ("XX", "YYYY-MM-DD", "[Name]", "Name, Date", "_________", "[Link", "Description and",
                        "M-XXX", "Not provided"):
        assert placeholder not in demo_markdown, placeholder  # the demo fills every section


def test_demo_report_figures_match_the_hand_computation(demo_markdown: str) -> None:
    md = demo_markdown
    # Header: the demo is Beta, complete, finished on today − 12 days = 2025-03-20.
    assert "**Milestone ID**: M-042  \n**Version**: Beta  \n**Completion Date**: 2025-03-20  \n" in md
    assert "**Status**: ✅ Complete" in md

    # Success criteria: 3 rows "met", 1 "partial" of 4.
    assert "**Criteria met**: 3 of 4 met, 1 partial" in md

    # Schedule: planned end 2025-03-15, actual end 2025-03-20 → 20 − 15 = +5 days.
    assert "- **Original End Date**: 2025-03-15\n- **Actual End Date**: 2025-03-20\n" in md
    assert "- **Schedule Variance**: +5 days (late)" in md
    # Phases: Development planned 40, actual 45 → +5 days; the others equal → 0.
    assert "| Development | 40 days | 45 days | +5 days (late) | Billing API rate limits needed a cache |" in md
    assert "| Planning | 10 days | 10 days | 0 |" in md

    # Effort: variance = actual − planned; efficiency = planned / actual.
    #   Development 400 − 380 = +20, 380/400 = 95%;  QA 200 − 210 = −10, 210/200 = 105%
    #   Design 120 − 120 = 0, 100%;                 DevOps 100 − 90 = +10, 90/100 = 90%
    #   Total planned 380+210+120+90 = 800, actual 400+200+120+100 = 820, +20, 800/820 = 97.56% → 98%
    assert "| Development | 380 | 400 | +20 over | 95% |" in md
    assert "| QA | 210 | 200 | -10 under | 105% |" in md
    assert "| Design | 120 | 120 | 0 | 100% |" in md
    assert "| DevOps | 90 | 100 | +10 over | 90% |" in md
    assert "| **Total** | **800** | **820** | **+20 over** | **98%** |" in md

    # Budget: variance = actual − budgeted.
    #   Labor 82,500 − 85,000 = −2,500 (under); Infrastructure 12,000 − 12,000 = 0 (on);
    #   Tools 4,400 − 4,000 = +400 (over); Total 101,000 budgeted, 98,900 actual → −2,100, under budget.
    assert "| Labor | $85,000 | $82,500 | -$2,500 | Under budget |" in md
    assert "| Infrastructure | $12,000 | $12,000 | $0 | On budget |" in md
    assert "| Tools/Licenses | $4,000 | $4,400 | +$400 | Over budget — Additional license needed |" in md
    assert "| **Total** | **$101,000** | **$98,900** | **-$2,100** | **Under budget** |" in md

    # Tests: 1,198 / 1,250 = 95.84% → 95.8%; 40 / 1,250 = 3.2%.
    assert "- **Total Test Cases**: 1,250\n- **Passed**: 1,198 (95.8%)\n- **Failed**: 40 (3.2%)\n" in md
    # Defects: found 2+12+25+18 = 57, fixed 2+11+21+6 = 40, outstanding 0+0+2+3 = 5, deferred 0+1+2+9 = 12.
    assert "| **Total** | **57** | **40** | **5** | **12** |" in md
    defects = md[md.index("### Defect Analysis"):md.index("### Code Quality")]
    assert defects.index("| Critical |") < defects.index("| High |") < defects.index("| Medium |") \
        < defects.index("| Low |")

    # Feedback, 10 answers: satisfaction 5+4+5+4+3+5+4+4+5+3 = 42 → 4.2/5.
    #   NPS answers 10,9,8,7,9,10,6,9,3,8: promoters (9–10) 5, detractors (0–6) 2, passives 3
    #   → (5 − 2) / 10 = +30.  Acceptance testers: 3 of 4 accept → 75%.
    assert "- **Satisfaction Score**: 4.2/5 (10 responses)" in md
    assert "- **NPS Score**: +30 (5 promoters, 3 passives, 2 detractors)" in md
    assert "- **Acceptance Rate**: 75% (3 of 4 acceptance testers accept)" in md
    # Themes: positive on answers 1, 2, 3, 6, 10 = 5; improvement 2, 4, 7 = 3; feature request 5, 8 = 2.
    assert "1. Positive feedback (5)" in md and "2. Improvement suggestion (3)" in md
    assert "3. Feature request (2)" in md
    assert "- **Business Goals Met**: 4/5" in md

    # Sign-offs: Sponsor, PM (with conditions), QA signed revision 7; Tech Lead's revision-6 approval is
    # outdated; Product Owner has not signed → 3 of 5 approved.
    assert "| Project Sponsor | Sofia Alvarez | ✅ Approved (rev 7) | 2025-03-29 |" in md
    assert "| Technical Lead | Ava Johnson | ↻ Outdated — ✅ Approved rev 6; report now rev 7 | 2025-03-27 |" in md
    assert "| Project Manager | Liam Patel | ☑️ Approved with conditions (rev 7) | 2025-03-29 |" in md
    assert "| Product Owner | Emma Rossi | ⏳ Pending | — |" in md
    assert "**Sign-off progress**: 3 of 5 approved (1 with open conditions, 1 outdated, 1 pending)" in md
    assert "- **Liam Patel (Project Manager)** — Condition: Fix the two outstanding Medium defects before GA." in md

    # Actions: the key rotation was due 2025-03-25 (today − 7), is open → overdue; three digests
    # (2025-03-26, -27, -28) and one escalation (2025-03-31) name it.
    assert ("- [ ] Rotate the staging API keys used during the beta — owner: Ava Johnson · due 2025-03-25 · "
            "⚠️ Overdue · reminded 3×, escalated on 2025-03-31") in md
    assert "- [x] Publish the release notes on the portal — owner: Liam Patel · due 2025-03-23 · ✅ Done" in md
    assert "| Replace the legacy session store (Ava Johnson, Open) | High | 5 days | Sprint 14 |" in md

    # Document metadata: prepared by the PM, dated today, version = revision 7.
    assert "**Document Prepared By**: Liam Patel  \n**Role**: Project Manager  \n**Date**: 2025-04-01  \n" in md
    assert "**Version**: 7  \n" in md


def test_the_summary_band_comes_first_and_links_to_each_section(demo_markdown: str) -> None:
    band = demo_markdown[demo_markdown.index("**At a glance**"):demo_markdown.index("## Executive Summary")]
    assert band.splitlines()[2:11] == [
        "- **Report**: [In review](#milestone-acceptance)",  # 3 of 5 signed: not final
        "- **Milestone**: [✅ Complete](#schedule-performance)",
        "- **Schedule**: [+5 days (late)](#schedule-performance)",
        "- **Budget**: [-$2,100 (under budget)](#budget-analysis)",
        "- **Success criteria**: [3 of 4 met, 1 partial](#success-criteria-assessment)",
        "- **Tests passed**: [95.8% (1,198 of 1,250)](#testing-results)",
        "- **Sign-off**: [3 of 5 approved (1 with open conditions, 1 outdated, 1 pending)](#milestone-acceptance)",
        "- **Actions**: [8 open, 1 overdue (1 escalated)](#post-milestone-activities)",
        "- **NPS**: [+30 (10 responses)](#user-acceptance)",
    ]
    # Every anchor is a heading of the document (GitHub-style slugs).
    slugs = {re.sub(r"[^\w\- ]", "", h.lstrip("#").strip().lower()).replace(" ", "-") for h in headings(demo_markdown)}
    assert set(re.findall(r"\]\(#([^)]+)\)", band)) <= slugs


def test_the_markdown_is_plain_no_html_entities_and_every_url_a_link(demo_markdown: str) -> None:
    assert not re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", demo_markdown)
    assert "| p95 page response time | < 300 ms | 240 ms | ✅ Met | — |" in demo_markdown  # not &lt;
    assert "- **Videos Recorded**: Portal tour (<https://videos.example.com/portal-tour>)" in demo_markdown
    # Each status icon with a word; Partial, Approved with conditions and Outdated each with its own mark.
    assert "| Response Time (p95) | <300ms | 240ms | ✅ Met |" in demo_markdown
    assert "| First Contentful Paint | <1s | 1.1s | ◐ Partial |" in demo_markdown
    assert "⚠️ Partial" not in demo_markdown and "⚠️ Approved" not in demo_markdown
    assert "⚠️ Outdated" not in demo_markdown
    assert ("Satisfaction and NPS count all 10 feedback responses (4 acceptance testers, 4 beta users, 2 business "
            "stakeholders); Beta Users counts everyone in the beta, 4 of whom gave feedback.") in demo_markdown


def test_demo_report_matches_the_golden_file(demo_markdown: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(demo_markdown, encoding="utf-8")
    assert demo_markdown == GOLDEN.read_text(encoding="utf-8")


def test_demo_html_matches_the_golden_file(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        page = render_html(load_report(session, create_demo(session, TODAY).id, now=NOW))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN_HTML.write_text(page, encoding="utf-8")
    assert page == GOLDEN_HTML.read_text(encoding="utf-8")


def test_html_report_has_the_same_sections_and_figures(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        milestone = create_demo(session, TODAY)
        page = render_html(load_report(session, milestone.id, now=NOW))
    html_headings = [(level, re.sub(r'<span class="num-label">[\d.]+</span>', "", text))
                     for level, text in re.findall(r"<h([123])[^>]*>(.*?)</h\1>", page)]
    assert len(html_headings) == len(TEMPLATE_HEADINGS)
    assert html_headings[1] == ("2", "Executive Summary")
    assert ("2", "Transition &amp; Handover") in html_headings
    assert ('<td>Total</td><td class="num">800</td><td class="num">820</td>'
            '<td class="num"><span class="tone-bad">+20 over</span></td><td class="num">98%</td>') in page
    assert "@media print" in page
