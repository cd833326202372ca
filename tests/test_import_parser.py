"""The importer's parser on hand-written reports (tests/import_samples/) and on files it must refuse: every
value checked field by field, every refusal naming the problem and its line. No database, no Slack."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bot.imports.parser import parse_file
from bot.imports.text import MAX_BYTES, ReportFormatError, parse_number, repair_mojibake
from bot.imports.values import Person

SAMPLES = Path(__file__).parent / "import_samples"


def read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def notes_of(parsed: object) -> str:
    return "\n".join(str(n) for n in parsed.notes)  # type: ignore[attr-defined]


# ---- the template's mis-decoded emoji -------------------------------------------------------------------


def test_the_sample_really_has_the_templates_mojibake() -> None:
    text = read("mojibake_emoji.md").decode("utf-8")
    assert "‚úÖ Complete" in text and "\uf8ffüîÑ" in text and "‚ö†Ô∏è Partial" in text


def test_mojibake_is_repaired_and_every_value_read() -> None:
    p = parse_file(read("mojibake_emoji.md"))
    assert "repaired" in notes_of(p)
    assert (p.name, p.key, p.revision) == ("Payments Revamp", "M-107", 1)
    assert p.fields["details"] == {"version": "rc", "status": "complete", "currency": "USD"}  # `$120,000`
    assert p.fields["summary"]["executive_summary"] == ("Card payments moved to the new provider for every market."
                                                        "\n\nRefund times fell from five days to one.")
    assert [(o["priority"], o["title"]) for o in p.rows["objectives"]] == [
        ("primary", "Move card payments - Every market charges through the new provider."),
        ("secondary", "Faster refunds"), ("tertiary", "Retire the old gateway")]
    assert [(c["criterion"], c["status"], c["notes"]) for c in p.rows["criteria"]] == [
        ("Markets migrated", "met", None), ("Refund time", "met", None),
        ("Old gateway traffic", "partial", "Two partners still call it")]
    first, second = p.rows["completed"]
    assert (first["status"], first["signoff_by"], first["signoff_date"]) == (
        "complete", Person("Grace Hopper", first["_line"]), date(2026, 10, 28))
    assert (second["status"], second["signoff_by"]) == ("in_progress", None)
    assert p.rows["deferred"][0] | {"_line": 0} == {
        "_line": 0, "name": "Wallet payments", "deferral_reason": "Provider certification pending",
        "new_target": "Q1", "impact": "medium"}
    # "2 weeks" is ten working days; the variance column is recomputed, not read
    assert [(x["planned_days"], x["actual_days"]) for x in p.rows["phases"]] == [(10, 10), (50, 55)]
    assert [(e["role"], e["planned_hours"], e["actual_hours"]) for e in p.rows["effort"]] == [
        ("Development", 1200, 1260), ("QA", 300, 280)]
    assert [(b["category"], b["budgeted"], b["actual"], b["notes"]) for b in p.rows["budget"]] == [
        ("Labor", 120000, 126000, None), ("Provider fees", Decimal("8500"), 8500, None)]
    assert p.fields["quality"] == {"total_tests": 2400, "passed_tests": 2352, "failed_tests": 36,
                                   "blocked_tests": 12, "test_coverage_pct": 91}
    assert [(x["kind"], x["title"]) for x in p.rows["lessons"]] == [
        ("went_well", "Shadow traffic"), ("improve", "Sandbox access"), ("best_practice", "Market-by-market rollout")]
    assert [(a.horizon, a.description, a.owner.text if a.owner else None, a.due_date, a.status)
            for a in p.actions] == [
        ("week1", "Switch off the old gateway for the last two partners", "Grace Hopper", date(2026, 12, 15), "open"),
        ("week1", "Publish the migration notes", "Alan Turing", date(2026, 11, 2), "done")]
    # the unsigned role (`_________`) is no signature
    assert [(s.role, s.name.text if s.name else None, s.decision, s.signed_on) for s in p.signoffs] == [
        ("Project Sponsor", "Grace Hopper", "approved", date(2026, 11, 1))]
    assert p.fields["metadata"] == {"prepared_by": Person("Alan Turing", p.lines[("metadata", "prepared_by")]),
                                    "preparer_role": "Technical Lead", "distribution": "Engineering",
                                    "confidentiality": "Internal Use Only"}
    # figures that agree with the recomputed ones give no warning
    assert "the figures give" not in notes_of(p)
    assert all("‚" not in str(v) for values in p.fields.values() for v in values.values())


# ---- Windows line endings, padded tables, separators and currency ---------------------------------------


def test_crlf_and_padded_tables() -> None:
    data = read("crlf_padded.md")
    assert b"\r\n" in data
    p = parse_file(data)
    assert (p.name, p.key) == ("Mobile App 3.0", "M-210")
    assert p.fields["details"] == {"version": "beta", "status": "in_progress", "currency": "USD"}
    assert p.fields["timeline"] == {"planned_start": date(2026, 5, 4), "actual_start": date(2026, 5, 4),
                                    "planned_end": date(2026, 9, 1), "actual_end": date(2026, 9, 15)}
    assert [(o["title"], o["description"]) for o in p.rows["objectives"]] == [
        ("Offline mode", "Read and write without a connection"), ("Dark theme", "Follows the system setting")]
    assert [(c["target"], c["actual"], c["status"]) for c in p.rows["criteria"]] == [
        ("99.5%", "99.7%", "met"), ("< 2 s", "2.4 s", "not_met")]
    assert [(b["budgeted"], b["actual"]) for b in p.rows["budget"]] == [
        (Decimal("250000"), Decimal("262500")), (Decimal("4000.50"), Decimal("3200"))]
    assert [(d["severity"], d["found"], d["fixed"], d["outstanding"], d["deferred"]) for d in p.rows["defects"]] == [
        ("critical", 1, 1, 0, 0), ("high", 1024, 1000, 20, 4)]
    assert p.fields["quality"] == {"lines_of_code": 152300, "code_coverage_pct": Decimal("76.5"),
                                   "tech_debt_hours": 340, "cyclomatic_complexity": Decimal("4.1"),
                                   "code_review_coverage_pct": 100}
    assert p.rows["risks"][0] | {"_line": 0} == {"_line": 0, "risk": "App store review delays", "kind": "new",
                                                 "probability": "medium", "impact": "high",
                                                 "management": "Submit a week early"}
    owners = [(a.description, a.owner.text if a.owner else None, a.due_date) for a in p.actions]
    assert owners == [("Speed up cold start on Android", "@kim", date(2026, 10, 15)),
                      ("Write the offline sync guide", "dana@example.com", date(2026, 10, 20)),
                      ("Survey beta testers", "Pat Nobody", date(2026, 10, 30)),
                      ("Remove the legacy image cache", None, None)]
    debt = p.actions[-1]
    assert (debt.horizon, debt.priority, debt.effort_days, debt.planned_sprint) == ("tech_debt", "high", 3, "Sprint 21")
    assert [(s.role, s.decision) for s in p.signoffs] == [("Product Owner", "approved_with_conditions"),
                                                         ("QA Lead", "rejected")]
    assert p.fields["comments"]["comments_conditions"] == "Beta only; GA needs the start time fixed."
    assert p.fields["metadata"]["prepared_by"].text == "dana@example.com"


def test_figures_that_disagree_with_the_recomputed_ones_are_warnings_with_their_line() -> None:
    p = parse_file(read("crlf_padded.md"))
    text = read("crlf_padded.md").decode().split("\r\n")
    budget_total = next(i for i, line in enumerate(text, 1) if "$254,000" in line)
    variance = next(i for i, line in enumerate(text, 1) if "Schedule Variance" in line)
    notes = notes_of(p)
    assert f"line {budget_total}: Budget Analysis: the file says the total is “$254,000”, but the figures give " \
           "254,000.5" in notes
    assert f"line {variance}: Schedule Performance: the file says the schedule variance is “+10 days”, but the " \
           "figures give 14" in notes
    assert "Defect Analysis" not in notes  # its totals add up


# ---- missing sections and placeholders ------------------------------------------------------------------


def test_missing_sections_and_placeholders_left_in() -> None:
    p = parse_file(read("sparse_placeholders.md"))
    assert (p.name, p.key) == ("Data Warehouse Pilot", None)  # M-XXX: the import picks a free ID
    # Version and status placeholders: the form's defaults apply; `$40,000` names the currency.
    assert p.fields["details"] == {"currency": "USD"}
    assert "summary" not in p.fields  # _Not provided_
    assert p.fields["timeline"] == {"planned_start": date(2026, 2, 1), "planned_end": date(2026, 4, 30)}
    assert [(c["criterion"], c["target"], c["actual"], c["status"]) for c in p.rows["criteria"]] == [
        ("Nightly load finishes", "before 6:00", "5:10", "pending")]  # the empty row is left out
    assert [(b["category"], b["budgeted"], b["actual"], b["notes"]) for b in p.rows["budget"]] == [
        ("Labor", Decimal("40000"), None, None), ("Infrastructure", None, None, None)]
    assert p.fields["next"] == {}  # [Next Milestone Name], YYYY-MM-DD and the template's instructions
    assert "comments" not in p.fields
    assert p.signoffs == [] and p.actions == []
    assert p.fields["metadata"] == {"distribution": "Executive Team, Stakeholders, Development Team",
                                    "confidentiality": "Internal Use Only"}
    assert p.revision == 1
    assert "not in the file, left empty: Scope, Deliverables, Phase Breakdown" in notes_of(p)


# ---- files that import nothing --------------------------------------------------------------------------


def test_not_a_report_names_the_first_line() -> None:
    with pytest.raises(ReportFormatError) as caught:
        parse_file(read("not_a_report.md"))
    assert str(caught.value.problems[0]).startswith("line 1: this is not a milestone report")


def test_a_broken_table_names_its_row() -> None:
    with pytest.raises(ReportFormatError) as caught:
        parse_file(read("broken_table.md"))
    (problem,) = caught.value.problems
    assert problem.line == 11
    assert "has 6 cells; its header has 5" in problem.text and "Success Criteria Assessment" in problem.text


def test_a_table_without_its_separator_row() -> None:
    data = (b"# Milestone Report: Tables\n\n## Milestone Overview\n\n### Success Criteria Assessment\n"
            b"| Criterion |\n| a |\n")
    with pytest.raises(ReportFormatError) as caught:
        parse_file(data)
    assert caught.value.problems[0].line == 7 and "separator row" in caught.value.problems[0].text


def test_two_megabytes_are_refused_before_reading() -> None:
    data = read("mojibake_emoji.md") + b"x" * (2 * 1024 * 1024)
    with pytest.raises(ReportFormatError) as caught:
        parse_file(data)
    assert "the limit is 1 MB" in str(caught.value) and len(data) > MAX_BYTES


def test_binary_and_control_characters_are_refused_with_their_line() -> None:
    with pytest.raises(ReportFormatError) as caught:
        parse_file(b"# Milestone Report: X\n\n## Executive Summary\nbad \x07 bell\n")
    assert caught.value.problems[0].line == 4 and "control character" in caught.value.problems[0].text
    with pytest.raises(ReportFormatError, match="binary"):
        parse_file(b"# Milestone Report: X\n\x00\x01")


def test_a_value_the_field_cannot_hold_is_an_error_with_its_line() -> None:
    data = (b"# Milestone Report: Bad Values\n\n## Quality Metrics\n\n### Defect Analysis\n"
            b"| Severity | Found | Fixed | Outstanding | Deferred |\n|---|---|---|---|---|\n"
            b"| Catastrophic | 1 | 1 | 0 | 0 |\n| Low | 2.5 | 1 | 0 | 0 |\n")
    with pytest.raises(ReportFormatError) as caught:
        parse_file(data)
    lines = {(p.line, p.text.split(":")[0]) for p in caught.value.problems}
    assert lines == {(8, "Severity (Defect Analysis)"), (9, "Found (Defect Analysis)")}


# ---- pieces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("$82,500", Decimal("82500")), ("1,250", Decimal("1250")), ("95.8%", Decimal("95.8")),
    ("+5 days", Decimal("5")), ("-$2,100", Decimal("-2100")), ("+$400", Decimal("400")), ("$0", Decimal("0")),
    ("1 198", Decimal("1198")), ("−10 under", Decimal("-10")), ("Average 3.4", Decimal("3.4")), ("none", None),
])
def test_numbers_with_separators_signs_and_currency(text: str, value: Decimal | None) -> None:
    assert parse_number(text) == value


def test_mojibake_repair_leaves_real_accents_and_dashes_alone() -> None:
    text = "‚úÖ Done — café “quoted” üîÑ ‚è∏Ô∏è"
    assert repair_mojibake(text)[0] == "✅ Done — café “quoted” 🔄 ⏸️"


@pytest.mark.parametrize(("signature", "decision"), [
    ("✅ Approved (rev 7)", "approved"), ("☑️ Approved with conditions (rev 7)", "approved_with_conditions"),
    ("↻ Outdated — ✅ Approved rev 6; report now rev 7", "approved"), ("❌ Rejected (rev 2)", "rejected"),
    ("⏳ Pending", None), ("_________", None), ("", None), ("Signed", "approved"),
    # how the report is to show sign-offs given outside Slack (read back the same way)
    ("✅ Approved — signed outside Slack", "approved"),
    ("☑️ Approved with conditions — signed outside Slack", "approved_with_conditions"),
])
def test_signatures_the_report_and_people_write(signature: str, decision: str | None) -> None:
    from bot.imports.values import decision as read_decision

    assert read_decision(signature) == decision
