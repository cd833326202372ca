"""The section picker, over HTTP: grouped under the template's headings, with progress, and a section counts
as filled in only by its own content."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from models import ApprovalSlot
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_milestones import arrange, open_modal


def test_the_picker_groups_sections_under_headings_with_progress(bot: SlackSender, slack: FakeSlack,
                                                                  db: sessionmaker[Session]) -> None:
    # Created with planned dates and a name (the heading), nothing else written yet.
    milestone_id = arrange(db, planned_start=date(2026, 3, 2), planned_end=date(2026, 4, 30),
                           executive_summary="We shipped.")
    with db() as session, session.begin():
        session.add(ApprovalSlot(milestone_id=milestone_id, role="QA Lead", position=0, approver_id="UQA"))
    picker = open_modal(bot, slack, "edit M-001")
    headers = [b["text"]["text"] for b in picker["blocks"] if b["type"] == "header"]
    assert headers[:4] == ["Heading & executive summary", "Milestone overview", "Deliverables", "Timeline analysis"]
    assert len(headers) == 15
    progress = picker["blocks"][1]["text"]["text"]
    assert progress.startswith("*2 of 27 filled in*")  # details (from creation) and the summary
    timeline = next(b for b in picker["blocks"] if b.get("block_id") == "section_timeline")
    assert timeline["text"]["text"] == ":warning: *Schedule &amp; critical path* · _empty_"  # planned dates don't count
    assert timeline["accessory"]["text"]["text"] == "Fill in"
    # The sign-off check agrees: the timeline is listed as empty until its own content is there.
    answer = bot.command("signoff M-001").json()
    assert "Schedule &amp; critical path" in str(answer) or "Schedule & critical path" in str(answer)
