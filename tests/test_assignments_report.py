"""The report's footer lists who filled which section through Slack, at which revision, escaped in every
format (Markdown, HTML, PDF, canvas), and the Markdown export still imports: the importer leaves the line,
worked out from the audit trail, as it leaves every computed figure."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.canvas.service import canvas_markdown
from bot.core import audit
from bot.demo import DEMO_TEAM, PM, create_demo, remove_demo
from bot.imports.parser import parse
from bot.reports.rendering import render_html, render_markdown
from bot.reports.service import load_report
from models import Milestone, UserProfile
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender
from tests.test_assignments import (
    _save_summary_as,
    assign,
    dm_calls,
    milestone,
    signing_key,  # noqa: F401  (autouse)
)
from tests.test_import_roundtrip import import_markdown
from tests.test_milestones import open_modal

HOSTILE = "<script>x</script> | Eve *bold* <!channel>"
NOW = datetime(2025, 4, 1, 9, tzinfo=UTC)


def footer_line(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("**Contributors**"))


def test_the_footer_names_who_filled_each_section_at_which_revision(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    assign(bot, slack, "M-001 summary <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    _save_summary_as(bot, slack, "USTRANGER", "Filled by the person who knows")  # revision 2
    form = open_modal(bot, slack, "edit M-001 scope")
    assert bot.submit_view(form, {"scope_final": "Narrowed"}).status == 200  # revision 3
    with db() as session, session.begin():  # names as a report warms them before it is posted (users.info)
        if session.get(UserProfile, "UOWNER") is None:
            session.add(UserProfile(user_id="UOWNER", team_id=TEAM_ID, real_name="Olivia Owner", tz="UTC",
                                    tz_offset=0, fetched_at=NOW))
    with db() as session:
        markdown = render_markdown(load_report(session, milestone_id))
    assert footer_line(markdown) == ("**Contributors**: Executive summary: Sam Stranger (revision 2); "
                                     "Scope: Olivia Owner (revision 3)")

    # A name with Markdown, HTML and Slack markup in it stays text in every format.
    with db() as session, session.begin():
        session.execute(update(UserProfile).where(UserProfile.user_id == "USTRANGER").values(real_name=HOSTILE))
    with db() as session:
        report = load_report(session, milestone_id)
        markdown, html, canvas = render_markdown(report), render_html(report), canvas_markdown(report)
    line = footer_line(markdown)
    assert "<script>" not in line and "\\|" in line and "\\*bold\\*" in line and "<!channel>" not in line
    shown = html[html.rindex("<footer>"):]
    assert "<script>" not in shown and "&lt;script&gt;x&lt;/script&gt; | Eve *bold* @channel" in shown
    assert "Contributors" in canvas and "<script>" not in canvas and "<!channel>" not in canvas
    if shutil.which("pdftotext"):
        try:
            from bot.reports.pdf import render_pdf

            pdf = render_pdf(report)
        except OSError:  # WeasyPrint without Pango: the HTML above is what it prints
            return
        text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        flat = "".join(text.decode().split())
        assert "Contributors:Executivesummary:<script>x</script>|Eve*bold*@channel(revision2)" in flat


def test_an_export_with_contributors_imports_and_leaves_them_out(db: sessionmaker[Session]) -> None:
    """The importer reads the footer's own facts and leaves the contributors (the audit trail's, not the
    file's): the milestone comes back the same, and its next export has no contributors yet."""
    with db() as session, session.begin():
        demo = create_demo(session, date(2025, 4, 1))
        audit.content_changed(session, demo, "UDEMOPM", "risks")
        audit.content_changed(session, demo, "UCONTRIB", "summary")
        session.add(UserProfile(user_id="UCONTRIB", team_id=demo.team_id, real_name=HOSTILE, tz="UTC",
                                tz_offset=0, fetched_at=NOW))
        session.flush()
        before = render_markdown(load_report(session, demo.id, now=NOW))
        remove_demo(session)
    line = footer_line(before)
    assert "Executive summary:" in line and "(revision 9)" in line and "Risks" in line
    assert parse(before).fields == parse(before.replace(line, "")).fields  # read or not, the same fields
    with db() as session, session.begin():
        result = import_markdown(session, before, DEMO_TEAM, PM)  # the demo's workspace and its owner
        after = render_markdown(load_report(session, result.milestone_id, now=NOW))
        imported = session.get(Milestone, result.milestone_id)
        assert imported is not None and imported.revision == 9
    assert "**Contributors**" not in after
    assert not [n for n in result.notes if "Contributors" in str(n)]

    def footer(markdown: str) -> list[str]:
        tail = markdown[markdown.rindex("\n---\n"):]
        return [re.sub(r"  $", "", x) for x in tail.splitlines() if x and not x.startswith("**Contributors**")]

    assert footer(after) == footer(before)
