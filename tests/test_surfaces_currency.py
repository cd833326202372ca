"""The milestone's currency in the report, over HTTP: every money cell of the Markdown file, the HTML page,
the PDF, the Slack summary and the canvas is in it (one formatter, bot.core.formats.money); a dollar
milestone reads as the template (`$82,500`); the exported file imports back exactly, currency included; a
currency change is content (a new revision, the sign-offs given outdated); old milestones get CURRENCY."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.demo import DEMO_USERS, create_demo
from bot.sections.service import snapshot
from bot.settings import normalize_database_url
from models import Milestone, SignOff, UserProfile, migrate
from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender, http
from tests.test_import_roundtrip import actions, export, without_slack_activity
from tests.test_import_slack import outcome, submit
from tests.test_milestones import open_modal
from tests.test_signoffs import save_confirmed

# The demo's budget (85,000 / 82,500 · 12,000 / 12,000 · 4,000 / 4,400) as each currency shows it; for USD,
# the template's own form of every cell (`$XX,XXX`, `-$X,XXX`, `$0`, `+$XXX`).
BUDGET_ROWS = {
    "USD": ["| Labor | $85,000 | $82,500 | -$2,500 | Under budget |",
            "| Infrastructure | $12,000 | $12,000 | $0 | On budget |",
            "| Tools/Licenses | $4,000 | $4,400 | +$400 | Over budget — Additional license needed |",
            "| **Total** | **$101,000** | **$98,900** | **-$2,100** | **Under budget** |"],
    "EUR": ["| Labor | €85,000 | €82,500 | -€2,500 | Under budget |",
            "| Infrastructure | €12,000 | €12,000 | €0 | On budget |",
            "| Tools/Licenses | €4,000 | €4,400 | +€400 | Over budget — Additional license needed |",
            "| **Total** | **€101,000** | **€98,900** | **-€2,100** | **Under budget** |"],
    "CHF": ["| Labor | 85,000 CHF | 82,500 CHF | -2,500 CHF | Under budget |",
            "| Infrastructure | 12,000 CHF | 12,000 CHF | 0 CHF | On budget |",
            "| Tools/Licenses | 4,000 CHF | 4,400 CHF | +400 CHF | Over budget — Additional license needed |",
            "| **Total** | **101,000 CHF** | **98,900 CHF** | **-2,100 CHF** | **Under budget** |"],
}
LABOR = {"USD": "$85,000", "EUR": "€85,000", "CHF": "85,000 CHF"}
VARIANCE = {"USD": "-$2,100", "EUR": "-€2,100", "CHF": "-2,100 CHF"}
SIGNS = {"USD": "$", "EUR": "€", "CHF": "CHF"}


def budget_table(currency: str) -> str:
    return "\n".join(["| Category | Budgeted | Actual | Variance | Notes |",
                      "|----------|---------:|-------:|---------:|-------|", *BUDGET_ROWS[currency]])


@pytest.fixture
def demo(db: sessionmaker[Session]) -> int:
    """The demo milestone (in dollars, revision 7, four sign-offs given) owned by UOWNER, reporting to #general;
    its people are members the bot has met in this workspace, so an import matches them by name."""
    with db() as session, session.begin():
        milestone_id = create_demo(session, date.today(), team_id=TEAM_ID, owner_id="UOWNER", channel_id=CHANNEL).id
        for profile in session.scalars(select(UserProfile).where(UserProfile.user_id.in_(DEMO_USERS))):
            profile.team_id = TEAM_ID
        return milestone_id


def change_currency(bot: SlackSender, slack: FakeSlack, typed: str) -> None:
    details = open_modal(bot, slack, "edit M-042 details")
    currency = next(b for b in details["blocks"] if b.get("block_id") == "currency")
    assert currency["element"]["initial_value"] == "USD" and not currency.get("optional")  # required now
    response = save_confirmed(bot, details, {"currency": typed})  # signed already: it asks to confirm first
    assert response.status == 200 and "errors" not in (response.json() or {})


def answer(slack: FakeSlack, containing: str) -> dict[str, Any]:
    calls = slack.wait_for("response_url", where=lambda c: containing in json.dumps(c.params, ensure_ascii=False),
                           timeout=60)
    return calls[-1].params


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


@pytest.mark.parametrize("currency", ["USD", "EUR", "CHF"])
def test_every_output_shows_the_milestones_currency_and_the_export_imports_back_exactly(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], demo: int, tmp_path: Path, currency: str
) -> None:
    if currency != "USD":
        change_currency(bot, slack, currency.lower())
    with db() as session:
        m = session.get(Milestone, demo)
        assert m is not None and m.currency == currency
        # A change of currency changes every amount of the report: a new revision, the sign-offs outdated (by
        # the after-commit hook: the answer may come first).
        assert m.revision == (7 if currency == "USD" else 8)
    deadline = time.monotonic() + 15
    while True:
        with db() as session:
            given = session.scalars(select(SignOff).where(SignOff.milestone_id == demo)).all()
            outdated = [s.outdated_at is not None for s in given]
        if outdated == [currency != "USD" or s.revision < 7 for s in given] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(given) == 4 and outdated == [currency != "USD" or s.revision < 7 for s in given]
    labor, total_var = LABOR[currency], VARIANCE[currency]
    others = [sign for code, sign in SIGNS.items() if code != currency]

    # Slack: the preview's summary names the budget's variance in the currency.
    bot.command("report M-042 preview")
    preview = json.dumps(answer(slack, "Preview")["blocks"], ensure_ascii=False)
    assert f"*Budget*\\n{total_var} (under budget)" in preview

    # The post: the Markdown file and the PDF in its thread.
    bot.command("report M-042")
    answer(slack, "Posted the M-042 report")
    slack.wait_for("files.completeUploadExternal", 2, timeout=60)
    md_file, pdf_file = sorted(slack.files.values(), key=lambda f: not f["filename"].endswith(".md"))
    markdown = md_file["content"].decode()
    assert budget_table(currency) in markdown
    assert f"- **Budget**: [{total_var} (under budget)](#budget-analysis)" in markdown  # the band
    budget_part = markdown[markdown.index("### Budget Analysis"):markdown.index("## Quality Metrics")]
    assert not any(sign in budget_part for sign in others)
    if shutil.which("pdftotext"):
        printed = pdf_text(pdf_file["content"], tmp_path)
        assert "".join(labor.split()) in printed and "".join(total_var.split()) in printed

    # The HTML page the summary links to.
    (button,) = [e for b in answer(slack, "Preview")["blocks"] if b["type"] == "actions" for e in b["elements"]]
    page = http("GET", str(button["url"])).body.decode()
    assert f'<td>Labor</td><td class="num">{labor}</td>' in page

    # The canvas.
    bot.command("canvas M-042")
    slack.wait_for("canvases.create", timeout=30)
    (canvas,) = slack.canvases.values()
    assert f"| Labor | {labor} |" in canvas["markdown"]

    # The posted file, imported from Slack as a new milestone: the same content, the currency included.
    with db() as session:
        original = session.get(Milestone, demo)
        assert original is not None
        stored, items, before = snapshot(original), actions(session, demo), export(session, demo)
    with db() as session:  # the demo's people are members of the workspace the file is imported into
        for profile in session.scalars(select(UserProfile)):
            if profile.user_id not in slack.users:
                slack.add_user(profile.user_id, real_name=profile.real_name)
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("report.md", md_file["content"], user="UOWNER")
    assert submit(bot, view, [file_id], key="M-043").status == 200
    assert "Imported as M-043" in outcome(slack, view["id"])
    with db() as session:
        imported = session.scalars(select(Milestone).where(Milestone.key == "M-043")).one()
        assert imported.currency == currency
        assert snapshot(imported) == stored
        assert actions(session, imported.id) == items
        after = export(session, imported.id)
    assert without_slack_activity(after).replace("M-043", "M-042") == without_slack_activity(before)


def test_an_amount_in_another_currency_is_a_warning_and_a_file_without_amounts_takes_the_setting(
    database_url: str, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURRENCY", "SEK")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    table = ("# Milestone Report: Kronor\n\n**Milestone ID**: M-300\n\n## Resource Utilization\n\n"
             "### Budget Analysis\n| Category | Budgeted | Actual | Variance | Notes |\n|---|---|---|---|---|\n"
             "| Labor | 1,000 CHF | CHF 1,200 | +200 CHF | |\n| Travel | $500 | 400 | -100 | |\n")
    (tmp_path / "chf.md").write_text(table, encoding="utf-8")
    (tmp_path / "none.md").write_text("# Milestone Report: Words only\n\n**Milestone ID**: M-301\n\n"
                                      "## Executive Summary\nNo money here.\n", encoding="utf-8")
    assert main(["import", str(tmp_path / "chf.md"), "--team", "T1", "--owner", "UOWNER"]) == 0
    out = capsys.readouterr().out
    assert "Budget Analysis: “$500” is in USD but the amounts before it are in CHF: imported as CHF" in out
    assert main(["import", str(tmp_path / "none.md"), "--team", "T1", "--owner", "UOWNER"]) == 0
    with db() as session:
        found = {key: code for key, code in session.execute(select(Milestone.key, Milestone.currency))}
        budget = session.scalars(select(Milestone).where(Milestone.key == "M-300")).one().budget_lines
        assert [(b.category, b.budgeted, b.actual) for b in budget] == [("Labor", 1000, 1200), ("Travel", 500, 400)]
    assert found == {"M-300": "CHF", "M-301": "SEK"}  # SEK: the CURRENCY setting


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend as the suite's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    base = make_url(normalize_database_url(os.environ["TEST_DATABASE_URL"]))
    name = f"mb_scratch_{uuid.uuid4().hex[:10]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_milestones_from_before_get_the_currency_setting_and_then_one_is_required(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(scratch_url, "0008_canvas")
    engine = create_engine(normalize_database_url(scratch_url))
    try:
        with engine.begin() as conn:
            for key, currency in (("M-001", None), ("M-002", "GBP")):
                conn.execute(text(
                    "INSERT INTO milestones (team_id, key, name, version, status, owner_id, created_by, revision, "
                    "currency, created_at, updated_at) VALUES ('T1', :key, 'Old', 'alpha', 'in_progress', 'U1', "
                    "'U1', 1, :currency, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"key": key, "currency": currency})
        monkeypatch.setenv("CURRENCY", "eur")
        migrate.upgrade(scratch_url)
        with engine.connect() as conn:
            stored = {key: code for key, code in conn.execute(text("SELECT key, currency FROM milestones"))}
        assert stored == {"M-001": "EUR", "M-002": "GBP"}
        (column,) = [c for c in inspect(engine).get_columns("milestones") if c["name"] == "currency"]
        assert column["nullable"] is False
    finally:
        engine.dispose()
