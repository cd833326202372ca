"""`/milestone report` over HTTP: the summary message, the Markdown file in its thread, preview, refusals,
and the final report when a milestone is accepted."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.demo import create_demo
from bot.reports.service import load_report
from bot.reports.views import summary
from models import Milestone, ReportPost
from tests.conftest import CHANNEL, CHANNEL_NOT_IN
from tests.fakeslack import FakeSlack, blocks_text_length, validate_blocks
from tests.harness import TEAM_ID, SlackSender


@pytest.fixture
def milestone(db: sessionmaker[Session]) -> int:
    """The demo milestone in the test workspace, owned by UOWNER, reporting to #general (C0001)."""
    with db() as session, session.begin():
        return create_demo(session, date.today(), team_id=TEAM_ID, owner_id="UOWNER", channel_id=CHANNEL).id


def reply_to_caller(slack: FakeSlack, containing: str) -> dict:
    """The ephemeral answer sent through the command's response_url (found by its text, so an answer that a
    previous test's command sends late cannot be mistaken for it)."""
    # The PDF is rendered and uploaded before the answer: give it time on a busy machine.
    calls = slack.wait_for("response_url", where=lambda c: containing in json.dumps(c.params, ensure_ascii=False),
                           timeout=60)
    return calls[-1].params


def posts(db: sessionmaker[Session]) -> list[ReportPost]:
    with db() as session:
        return list(session.scalars(select(ReportPost)))


def test_report_posts_a_summary_then_the_markdown_file_in_its_thread(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    assert bot.command("report M-042").status == 200
    slack.wait_for("files.completeUploadExternal")
    answer = reply_to_caller(slack, "Posted the M-042 report")
    assert "Posted the M-042 report (revision 7) to <#C0001>" in answer["text"]

    methods = [c.method for c in slack.calls if c.method.startswith(("chat.", "files."))]
    assert methods == ["chat.postMessage"] + ["files.getUploadURLExternal", "files.upload_bytes",
                                              "files.completeUploadExternal"] * 2  # Markdown, then PDF
    post = slack.calls_to("chat.postMessage")[0]
    assert post.response["ok"] and post.params["channel"] == CHANNEL
    blocks = post.params["blocks"]
    assert len(blocks) <= 50 and blocks_text_length(blocks) <= 12_000
    assert blocks[0]["text"]["text"] == "📊 Milestone report: M-042 · Customer Portal Beta"
    summary = json.dumps(blocks, ensure_ascii=False)
    for figure in ("✅ Complete", "Beta · revision 7", "+5 days (late)", "3 of 4 met, 1 partial",
                   "4 completed · 1 deferred · 1 additional", "3 of 5 approved", "8 open · 1 overdue",
                   "10 responses · satisfaction 4.2/5 · NPS +30", "Posted by <@UOWNER>"):
        assert figure in summary, figure
    button = blocks[-2]["elements"][0]
    assert button["text"]["text"] == "View full report"
    assert button["url"].startswith(bot.base_url + "/reports/")

    ts = post.response["ts"]
    upload = slack.calls_to("files.getUploadURLExternal")[0].params
    assert upload["filename"] == "M-042-report-rev7.md"
    complete = slack.calls_to("files.completeUploadExternal")[0].params
    assert complete["channel_id"] == CHANNEL and complete["thread_ts"] == ts
    file, pdf = sorted(slack.files.values(), key=lambda f: not f["filename"].endswith(".md"))
    assert file["thread_ts"] == ts and file["channels"] == [CHANNEL]
    # The PDF beside it, in the same thread.
    assert pdf["filename"] == "M-042-report-rev7.pdf" and pdf["thread_ts"] == ts and pdf["channels"] == [CHANNEL]
    assert pdf["content"].startswith(b"%PDF-") and len(pdf["content"]) > 20_000
    markdown = file["content"].decode()
    assert markdown.startswith("# Milestone Report: Customer Portal Beta\n")
    assert "## Approval & Sign-off" in markdown
    assert "| **Total** | **800** | **820** | **+20 over** | **98%** |" in markdown

    (record,) = posts(db)
    assert (record.posted_by, record.channel_id, record.revision, record.message_ts, record.file_id) == (
        "UOWNER", CHANNEL, 7, ts, file["id"])

    # Clicking the link button (Slack opens the URL and also sends the click) is acknowledged.
    message = slack.messages[CHANNEL][0]
    assert bot.block_action("report_view_full", block_id="report_links", message=message).status == 200


def test_report_goes_to_the_channel_named_in_the_command(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    slack.add_channel("C0REL", members=["UOWNER"], bot_is_member=True, name="releases")
    bot.command("report M-042 <#C0REL|releases>")
    reply_to_caller(slack, "Posted the M-042 report (revision 7) to <#C0REL>")
    assert slack.calls_to("chat.postMessage")[0].params["channel"] == "C0REL"
    assert slack.calls_to("files.completeUploadExternal")[0].params["channel_id"] == "C0REL"
    assert [p.channel_id for p in posts(db)] == ["C0REL"]


def test_preview_shows_the_summary_only_to_the_caller_and_posts_nothing(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    bot.command("report M-042 preview", user_id="USTRANGER")  # anyone in the workspace may preview
    answer = reply_to_caller(slack, "Preview")
    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Preview, only you can see it" in text and "Customer Portal Beta" in text
    assert "View full report" in text
    time.sleep(0.3)
    assert slack.calls_to("chat.postMessage") == []
    assert not [c for c in slack.calls if c.method.startswith("files.")]
    assert posts(db) == []


def test_not_in_channel_tells_the_caller_how_to_invite_the_bot(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    bot.command(f"report M-042 <#{CHANNEL_NOT_IN}|elsewhere>")
    answer = reply_to_caller(slack, "/invite")
    assert answer["response_type"] == "ephemeral"
    assert "not a member of <#C0NOTIN>" in answer["text"]
    assert "`/invite @Milestone Bot`" in answer["text"]
    assert slack.calls_to("chat.postMessage")[0].response["error"] == "not_in_channel"
    assert not [c for c in slack.calls if c.method.startswith("files.")]
    assert posts(db) == []


def test_only_owner_editors_and_admins_post(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    bot.command("report M-042", user_id="USTRANGER")
    refusal = reply_to_caller(slack, "Only the owner")
    assert "Only the owner and editors of M-042" in refusal["text"]
    assert slack.calls_to("chat.postMessage") == [] and posts(db) == []

    bot.command("report M-042", user_id="UADMIN")  # a workspace admin may
    reply_to_caller(slack, "Posted the M-042 report")
    assert [p.posted_by for p in posts(db)] == ["UADMIN"]


def test_unknown_milestone_and_bad_arguments_get_a_clear_answer(
    bot: SlackSender, slack: FakeSlack, milestone: int
) -> None:
    assert "Usage: `/milestone report M-042`" in bot.command("report").json()["text"]
    assert "I don't understand `sideways`" in bot.command("report M-042 sideways").json()["text"]
    bot.command("report M-999")
    assert reply_to_caller(slack, "M-999")["text"].startswith(":warning: No milestone `M-999`")


def test_long_and_hostile_text_keeps_the_summary_within_slacks_limits(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    with db() as session, session.begin():
        m = session.get(Milestone, milestone)
        m.name = ("<!channel> " + "Very long name & more " * 10)[:150]
        m.executive_summary = "<!here> *bold* " + "x" * 2980
    bot.command("report M-042")
    reply_to_caller(slack, "Posted the M-042 report")
    post = slack.calls_to("chat.postMessage")[0]
    assert post.response["ok"]
    text = json.dumps(post.params["blocks"])
    assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt;" in text
    assert len(post.params["blocks"][0]["text"]["text"]) <= 150


def test_summary_of_an_empty_milestone_is_valid_block_kit(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        m = Milestone(team_id=TEAM_ID, key="M-001", name="Bare", owner_id="UOWNER", created_by="UOWNER")
        session.add(m)
        session.flush()
        report = load_report(session, m.id)
    text, blocks = summary(report, "https://example.com/reports/x", posted_by="UOWNER")
    assert validate_blocks(blocks, "message") == []
    rendered = json.dumps(blocks)
    assert "No responses yet" in rendered and "Not provided" in rendered and text


def test_a_failed_file_upload_is_reported_and_the_summary_not_posted_twice(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    slack.fail_next("files.completeUploadExternal", error="file_upload_failed")
    bot.command("report M-042")
    answer = reply_to_caller(slack, "Slack refused the report file")
    assert "Slack refused the report file (file_upload_failed)" in answer["text"]
    assert len(slack.calls_to("chat.postMessage")) == 1
    (record,) = posts(db)
    assert record.file_id is None and record.message_ts


def test_people_not_yet_cached_are_named_from_slack_in_the_posted_report(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone: int
) -> None:
    from models import UserProfile

    with db() as session, session.begin():
        assert session.get(UserProfile, "UOWNER") is None  # the demo caches its own people, not the owner
        session.get(Milestone, milestone).prepared_by = "UOWNER"  # named in the report's footer
    assert bot.command("report M-042").status == 200
    slack.wait_for("files.completeUploadExternal", count=2, timeout=60)  # the Markdown file, then the PDF
    assert any(c.params.get("user") == "UOWNER" for c in slack.calls_to("users.info"))
    (file,) = [f for f in slack.files.values() if f["filename"].endswith(".md")]
    assert "Olivia Owner" in file["content"].decode()  # the name Slack gave, not the id
    with db() as session:
        assert session.get(UserProfile, "UOWNER").real_name == "Olivia Owner"
