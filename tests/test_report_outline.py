"""The report's outline is declared once (bot/reports/outline.py): every field a section's form edits is in it
or in NOT_IN_REPORT, its headings are the template's, and a scalar field nobody placed still reaches both
report formats."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.demo import create_demo
from bot.reports import coverage
from bot.reports import outline as ol
from bot.reports.loading import load_report
from bot.reports.rendering import render_html, render_markdown
from bot.sections.service import SECTIONS
from tests.test_report_golden import TEMPLATE_HEADINGS, TEMPLATE_TABLE_HEADERS

NOW = datetime(2025, 4, 1, 12, tzinfo=UTC)


def test_every_form_field_is_in_the_outline_or_listed_as_not_in_the_report() -> None:
    assert coverage.missing_fields(ol.OUTLINE) == {}  # names section → fields placed nowhere
    by_key = {s.key: {spec.name for spec in s.specs()} for s in SECTIONS}
    placed = coverage.placed_fields(ol.OUTLINE)
    for section, name in ol.NOT_IN_REPORT:
        assert name in by_key[section], (section, name)  # no stale entries
        assert name not in placed.get(section, set()), (section, name)  # not both


def test_the_outline_names_real_sections_and_fields() -> None:
    by_key = {s.key: s for s in SECTIONS}
    for part, sub in coverage.subsections():
        if sub.section is None:
            continue
        declared = {spec.name for spec in by_key[sub.section].specs()} | {n for n, _ in by_key[sub.section].fixed}
        for block in sub.blocks:
            assert coverage.block_fields(block) <= declared, (part.key, sub.key)
        assert {n for n, _ in sub.where} <= declared


def test_the_outline_reads_in_reverse_as_the_templates_headings_and_tables() -> None:
    """What an importer walks: the `##`/`###` text and each table's header row, in the template's order."""
    headings = ["# " + ol.OUTLINE.title.replace("{}", "[Milestone Name]")]
    tables = []
    for part in ol.OUTLINE.parts:
        headings.append("## " + part.heading)
        for sub in part.subsections:
            if sub.repeat:
                headings += [f"### {letter}. {title}" for letter, title in zip("ABCDEF", [
                    "Detailed Test Report", "Performance Test Results", "User Feedback Summary",
                    "Technical Architecture Diagrams", "Release Notes", "Defect Report"], strict=True)]
                continue
            headings.append("### " + sub.heading.replace("{}", "[Next Milestone Name]"))
            tables += ["| " + " | ".join(c.heading for c in b.columns) + " |"
                       for b in sub.blocks if isinstance(b, ol.Table)]
    assert headings == TEMPLATE_HEADINGS
    assert tables == TEMPLATE_TABLE_HEADERS


def test_a_scalar_field_left_out_of_the_outline_still_shows_in_both_formats(db: sessionmaker[Session]) -> None:
    # As if `scope_changes` had just been added to the model and nobody placed it: drop it from the outline.
    overview = ol.OUTLINE.parts[1]
    scope = overview.subsections[2]
    facts = scope.blocks[0]
    assert isinstance(facts, ol.Facts)
    trimmed = replace(facts, facts=tuple(f for f in facts.facts if "scope_changes" not in f.fields))
    parts = list(ol.OUTLINE.parts)
    parts[1] = replace(overview, subsections=(*overview.subsections[:2], replace(scope, blocks=(trimmed,))))
    outline = replace(ol.OUTLINE, parts=tuple(parts))
    assert coverage.missing_fields(outline) == {"scope": ["scope_changes"]}  # the coverage test would fail…
    with_extras = coverage.with_extras(outline)  # …and the report still shows it, labelled by its declaration
    with db() as session, session.begin():
        report = load_report(session, create_demo(session, date(2025, 4, 1)).id, now=NOW)
    md = render_markdown(report, outline=with_extras)
    assert "- **Scope changes and justifications**: Single sign-on deferred" in md
    assert md.index("**Final Scope**") < md.index("Scope changes and justifications") < md.index("## Deliverables")
    html = render_html(report, outline=with_extras)
    assert "<strong>Scope changes and justifications</strong>: Single sign-on deferred" in html
