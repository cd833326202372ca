"""What an imported report keeps of people and signatures that are not in Slack, on every surface, over HTTP:
signatures in the file are rows of the sign-off table marked "signed outside Slack" (never approvals), names
nobody matched read "Name (not in Slack)"; in the Markdown file, the PDF, the HTML page, the Slack summary and
its preview, and the canvas; hostile text in those names escaped in each. And an imported item due a year ago
is reminded from the next sweep, once, and escalates only after the usual working days from the import.

The file comes in through `/milestone import` (the modal, the fake Slack's files and users.list) or the command
line, like the other import tests; the real web process serves everything else."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.core.workdays import working_days_between
from bot.deps import Deps
from bot.reports.rendering import render_markdown
from bot.reports.service import load_report
from bot.signoffs.service import signoff_progress
from models import ActionItem, ApprovalSlot, Delivery, ExternalSignoff, Milestone
from tests.conftest import BOT_TOKEN, CHANNEL, wait_until_quiet
from tests.fakeslack import FakeSlack, blocks_text_length
from tests.harness import TEAM_ID, SlackSender, http
from tests.test_actions import press
from tests.test_import_slack import SAMPLES, outcome, submit
from tests.test_milestones import open_modal
from tests.test_reminders import deps, dms, sweep, texts  # noqa: F401  (deps: a fixture)

SAMPLE = SAMPLES / "signed_outside.md"
MALLORY = "Mallory <script>alert(1)</script>"  # signed as sponsor, owns an item: nobody in this workspace


def import_sample(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> int:
    """M-077 imported by UOWNER from the modal; Kim Park is a member (users.list), the others are not."""
    slack.add_user("UKIM", real_name="Kim Park", tz="Europe/London")
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("ledger.md", SAMPLE.read_bytes(), user="UOWNER")
    assert submit(bot, view, [file_id]).status == 200
    told = outcome(slack, view["id"])
    assert "Imported as M-077" in told and "2 sign-off(s) kept as given outside Slack" in told
    with db() as session, session.begin():  # the report's channel, as its owner would set it next
        milestone = session.scalars(select(Milestone).where(Milestone.key == "M-077")).one()
        milestone.report_channel_id = CHANNEL
        return milestone.id


def reply(slack: FakeSlack, containing: str) -> dict[str, Any]:
    calls = slack.wait_for("response_url", where=lambda c: containing in json.dumps(c.params, ensure_ascii=False),
                           timeout=60)
    return dict(calls[-1].params)


def test_imported_people_and_signatures_read_marked_and_escaped_on_every_surface(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], tmp_path: Path) -> None:
    milestone_id = import_sample(bot, slack, db)
    with db() as session:
        signed = session.scalars(select(ExternalSignoff).where(ExternalSignoff.milestone_id == milestone_id)
                                 .order_by(ExternalSignoff.position)).all()
        assert [(s.role, s.name, s.user_id, s.decision, s.signed_on, s.note) for s in signed] == [
            ("Project Sponsor", MALLORY, None, "approved", date(2026, 2, 27), None),
            ("QA Lead", "Kim Park", "UKIM", "approved_with_conditions", date(2026, 2, 28),
             "Condition: Keep the old ledger read-only for <!here> a month.")]
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.prepared_by_name == "Dana | Smith"

    # The Slack summary in the channel, the Markdown file and the PDF in its thread.
    assert bot.command("report M-077").status == 200
    slack.wait_for("files.completeUploadExternal", 2, timeout=60)
    reply(slack, "Posted the M-077 report")
    blocks = slack.calls_to("chat.postMessage")[0].params["blocks"]
    assert len(blocks) <= 50 and blocks_text_length(blocks) <= 12_000
    posted = json.dumps(blocks, ensure_ascii=False)
    assert "*Sign-off*\\nno approvers · 2 signed outside Slack (not counted)" in posted
    assert ("• Project Sponsor — Mallory &lt;script&gt;alert(1)&lt;/script&gt; (not in Slack) · ✍️ Approved, "
            "signed outside Slack · 2026-02-27") in posted
    assert "• QA Lead — Kim Park · ✍️ Approved with conditions, signed outside Slack · 2026-02-28" in posted
    assert "Archive the old ledger — &lt;!channel&gt; (not in Slack)" in posted
    assert "<script>" not in posted and "<!channel>" not in posted

    files = {f["filename"]: f for f in slack.files.values()}
    markdown_file, pdf_file = files["M-077-report-rev1.md"], files["M-077-report-rev1.pdf"]
    markdown = markdown_file["content"].decode()
    for line in (
        "| Project Sponsor | Mallory \\<script\\>alert(1)\\</script\\> (not in Slack) | ✍️ Approved, signed outside "
        "Slack | 2026-02-27 |",
        "| QA Lead | Kim Park | ✍️ Approved with conditions, signed outside Slack | 2026-02-28 |",
        "**Sign-off progress**: no approvers · 2 signed outside Slack (not counted)",
        "- **Kim Park (QA Lead)** — Condition (signed outside Slack): Keep the old ledger read-only for @here a "
        "month.",
        "| Cluster | New ledger cluster | Replicated | ✅ Complete | Eve \\| Pipe (not in Slack), 2026-02-26 |",
        "| Runbook | How to fail over | Reviewed | ✅ Complete | Kim Park, 2026-02-27 |",
        "- [ ] Archive the old ledger — owner: @channel (not in Slack) · due 2026-03-06",
        "- [ ] Audit the cutover — owner: Mallory \\<script\\>alert(1)\\</script\\> (not in Slack) · due 2026-03-27",
        "- [ ] Rotate the replication keys — owner: Kim Park · due 2026-03-06",
        "**Document Prepared By**: Dana \\| Smith (not in Slack)",
    ):
        assert line in markdown, line
    assert "<script>" not in markdown and "<!channel>" not in markdown and "<!here>" not in markdown
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf_file["content"])
        text = subprocess.run(["pdftotext", "-raw", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        flat = re.sub(r"\s+", " ", text)
        assert "Mallory <script>alert(1)</script> (not in Slack)" in flat  # shown as text, run by nothing
        assert "✍️ Approved, signed outside Slack" in flat or "Approved, signed outside Slack" in flat
        assert "Dana | Smith (not in Slack)" in flat and "Eve | Pipe (not in Slack), 2026-02-26" in flat

    # The HTML page behind "View full report", and the preview only the caller sees.
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    page = http("GET", button["url"])
    assert page.status == 200
    html = page.body.decode()
    assert ("<tr><td>Project Sponsor</td><td>Mallory &lt;script&gt;alert(1)&lt;/script&gt; (not in Slack)</td>"
            "<td>✍️ Approved, signed outside Slack</td><td>2026-02-27</td></tr>") in html
    assert "Dana | Smith (not in Slack)" in html and "<script>" not in html
    assert bot.command("report M-077 preview", user_id="USTRANGER").status == 200
    preview = json.dumps(reply(slack, "Preview")["blocks"], ensure_ascii=False)
    assert "Mallory &lt;script&gt;alert(1)&lt;/script&gt; (not in Slack) · ✍️ Approved" in preview
    assert "<script>" not in preview

    # The canvas.
    assert bot.command("canvas M-077").status == 200
    reply(slack, "canvas")
    wait_until_quiet(slack)
    (canvas,) = slack.canvases.values()
    assert ("| Project Sponsor | Mallory \\<script\\>alert(1)\\</script\\> (not in Slack) | ✍️ Approved, signed "
            "outside Slack | 2026-02-27 |") in canvas["markdown"]
    assert "owner: @channel (not in Slack)" in canvas["markdown"]
    assert "<script>" not in canvas["markdown"] and "<!channel>" not in canvas["markdown"]


def test_signatures_from_the_file_never_count_as_approvals(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone_id = import_sample(bot, slack, db)
    assert "Draft" in json.dumps(bot.command("show M-077").json(), ensure_ascii=False)
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        progress = signoff_progress(milestone)
        assert (progress.required, progress.approved, progress.accepted, progress.state) == (0, 0, False, "draft")
        # The team asks in Slack the very roles the file says signed: the file's approvals count for nothing.
        for position, (role, user) in enumerate((("Project Sponsor", "USPONSOR"), ("QA Lead", "UQA"))):
            session.add(ApprovalSlot(milestone_id=milestone_id, role=role, position=position, approver_id=user))
    matrix = bot.command("signoffs M-077").json()
    assert "0 of 2" in matrix["text"]
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        progress = signoff_progress(milestone)
        assert (progress.required, progress.approved, progress.pending, progress.accepted) == (2, 0, 2, False)
    assert bot.command("report M-077 preview").status == 200
    preview = json.dumps(reply(slack, "Preview")["blocks"], ensure_ascii=False)
    assert "*Sign-off*\\n0 of 2 approved (2 pending) · 2 signed outside Slack (not counted)" in preview


def test_an_item_due_a_year_ago_is_reminded_once_and_escalates_only_after_the_usual_days(
        deps: Deps, db: sessionmaker[Session], slack: FakeSlack, database_url: str, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    imported_on = datetime.now(UTC).date()
    year_ago = imported_on - timedelta(days=365)
    report = tmp_path / "old.md"
    report.write_text("# Milestone Report: Last Year\n\n**Milestone ID**: M-160\n\n## Post-Milestone Activities\n\n"
                      "### Immediate Actions (Week 1)\n"
                      f"- [ ] Close the old accounts — owner: Eddie Editor · due {year_ago.isoformat()}\n")
    for name, value in (("DATABASE_URL", database_url), ("SLACK_BOT_TOKEN", BOT_TOKEN),
                        ("SLACK_API_URL", slack.base_url)):
        monkeypatch.setenv(name, value)
    assert main(["import", str(report), "--team", TEAM_ID, "--owner", "UOWNER"]) == 0
    with db() as session:
        item = session.scalars(select(ActionItem)).one()
        assert (item.owner_id, item.owner_name, item.due_date) == ("UEDITOR", None, year_ago)  # via users.list

    # Every working day from the import on, at 15:00 UTC (10:00 in New York, the milestone owner's; 15:00 in
    # London, the item owner's): one digest a day to the owner; the escalation to UOWNER comes once the item
    # is more than ESCALATE_AFTER_WORKING_DAYS (3) working days overdue counted from the import, not the due date.
    day, escalated_on = imported_on, None
    while escalated_on is None and day < imported_on + timedelta(days=14):
        if day.weekday() < 5:
            before = len(dms(slack, "UEDITOR"))
            lines = sweep(deps, datetime(day.year, day.month, day.day, 15, tzinfo=UTC))
            assert len(dms(slack, "UEDITOR")) == before + 1, (day, lines)  # one digest, today's
            if dms(slack, "UOWNER"):
                escalated_on = day
                assert "Close the old accounts" in texts(dms(slack, "UOWNER")[0])
        day += timedelta(days=1)
    assert escalated_on is not None
    assert working_days_between(imported_on, escalated_on, range(5)) == 4  # not on the first sweep: day four
    assert "Close the old accounts" in texts(dms(slack, "UEDITOR")[0])
    with db() as session:
        days = sorted(d.local_date for d in session.scalars(select(Delivery).where(Delivery.recipient_id == "UEDITOR")))
        assert days[0] >= imported_on  # nothing for the days already past
        assert len(days) == len(set(days))


def test_a_member_picked_later_replaces_the_name_kept_as_text(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone_id = import_sample(bot, slack, db)

    def kept() -> tuple[str | None, str | None, list[tuple[str, str | None]]]:
        with db() as session:
            m = session.get(Milestone, milestone_id)
            assert m is not None
            owners = [(i.owner_id, i.owner_name) for i in sorted(m.action_items, key=lambda i: i.id)]
            return m.prepared_by, m.prepared_by_name, owners

    # Saving another field of the footer keeps the preparer's name; picking a member replaces it.
    assert bot.submit_view(open_modal(bot, slack, "edit M-077 metadata"), {"preparer_role": "Lead"}).status == 200
    assert kept()[:2] == (None, "Dana | Smith")
    assert bot.submit_view(open_modal(bot, slack, "edit M-077 metadata"), {"prepared_by": "UEDITOR"}).status == 200
    assert kept()[:2] == ("UEDITOR", None)

    # The item <!channel> was named to own is the importer's; Reassign to themselves makes it theirs by name too.
    archive = next(i for i, (owner, name) in zip(_ids(db, milestone_id), kept()[2], strict=True)
                   if name == "<!channel>")
    listed = bot.command("actions M-077").json()["blocks"]
    press(bot, listed, archive, "reassign", user_id="UOWNER")
    form = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_reassign_modal")
    answer = bot.submit_view(form[-1].response["view"], {"owner_id": "UOWNER"})
    assert answer.status == 200 and not answer.body, answer.body
    assert ("UOWNER", None) in kept()[2] and ("UOWNER", "<!channel>") not in kept()[2]
    with db() as session:
        markdown = render_markdown(load_report(session, milestone_id))
    assert "- [ ] Archive the old ledger — owner: Olivia Owner · due 2026-03-06" in markdown
    preparer = next(line for line in markdown.split("\n") if line.startswith("**Document Prepared By**"))
    assert preparer.rstrip() in ("**Document Prepared By**: Eddie Editor", "**Document Prepared By**: UEDITOR")
    assert "(not in Slack)" in markdown  # Mallory's and Eve's names are still only text


def _ids(db: sessionmaker[Session], milestone_id: int) -> list[int]:
    with db() as session:
        return sorted(session.scalars(select(ActionItem.id).where(ActionItem.milestone_id == milestone_id)))
