"""One post per event in the channel (issue 12): the final report after acceptance, over HTTP.

Posted once, through the outbox, for the owner ("Posted for @owner"), under the accepted banner; only when the
owner left the checkbox in the milestone's details on; edited in place when the acceptance is withdrawn and when
the milestone is accepted again; exactly once even when the web process dies between the commit and the send.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import send_owed, sweep
from bot.core.formats import day
from bot.deps import make_deps
from bot.settings import Settings
from models import AuditEvent, Milestone, ReportPost, SignOff, utcnow
from tests.conftest import CHANNEL, wait_until_owed_work_is_done, wait_until_quiet
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_signoffs import (
    button_value,
    dm,
    dm_posts,
    final_report_sent,
    make_milestone,
    open_and_submit,
    request_signoff,
    save_confirmed,
)
from tests.test_signoffs_faults import _kill, _restart_and_sweep, web  # noqa: F401 (the `web` fixture)

ROLES = {"Technical Lead": "UTECH", "QA Lead": "UQA"}
HOSTILE = "<!channel> *Beta* | <@UQA> <script>"
TODAY = day(date.today())  # Slack text's one date format; the fake's clock and the bot's are the machine's


def _milestone(db: sessionmaker[Session]) -> int:
    milestone_id = make_milestone(db, ROLES)
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        milestone.name = HOSTILE
    return milestone_id


def _finals(slack: FakeSlack) -> list[dict[str, Any]]:
    """The channel's top-level final-report posts, as the channel shows them now (edits applied)."""
    return [m for m in slack.messages.get(CHANNEL, []) if m.get("thread_ts") in (None, m["ts"])
            and str(m.get("text")).startswith("Final milestone report")]


def _shown(message: dict[str, Any]) -> str:
    return json.dumps([message.get("text"), message.get("blocks")], ensure_ascii=False)


def _thread_files(slack: FakeSlack, ts: str) -> list[str]:
    return sorted(f["filename"] for f in slack.files.values() if f.get("thread_ts") == ts)


def _approve_all(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    for user in ROLES.values():
        open_and_submit(bot, slack, user, "signoff_approve", {})
        wait_until_quiet(slack, idle=0.3)
    final_report_sent(db, slack)


def _accepted(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], milestone_id: int) -> None:
    request_signoff(bot, slack, milestone_id, dms=len(ROLES))
    _approve_all(bot, slack, db)


def _later(settings: Settings, db: sessionmaker[Session], minutes: float = 11) -> None:
    """The clock's sweep past the settle window, once the web process is done sending."""
    wait_until_owed_work_is_done(db)
    deps = make_deps(settings)
    sweep(deps, utcnow() + timedelta(minutes=minutes), jobs=[("outbox", send_owed)])
    deps.engine.dispose()


def _edit_summary(bot: SlackSender, slack: FakeSlack, text: str) -> None:
    opened = len(slack.calls_to("views.open"))
    bot.command("edit M-001 summary")
    form = slack.wait_for("views.open", opened + 1)[-1].response["view"]
    save_confirmed(bot, form, {"executive_summary": text})  # after sign-off the form asks to confirm first
    wait_until_quiet(slack, idle=0.3)


def _revision(db: sessionmaker[Session], milestone_id: int) -> int:
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        return milestone.revision


def test_acceptance_posts_the_final_report_once_for_the_owner(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = _milestone(db)
    _accepted(bot, slack, db, milestone_id)
    revision = _revision(db, milestone_id)

    (final,) = _finals(slack)
    shown = _shown(final)
    assert "Posted for <@UOWNER>" in shown and "Posted by" not in shown  # for the owner, not the last approver
    assert f"Accepted on {TODAY} at revision {revision}" in shown
    assert "✅ Accepted" in shown and "In review" not in shown  # the report state beside the team's Status
    assert final["text"].endswith(f"accepted on {TODAY} at revision {revision}")
    # Everything typed is escaped: no broadcast, no mention, no markup from the milestone's name.
    assert "<!channel>" not in shown and "<@UQA>" not in shown and "<script>" not in shown
    assert "&lt;!channel&gt;" in shown
    # The full report in the post's thread, once: the Markdown file and the PDF.
    assert _thread_files(slack, final["ts"]) == [f"M-001-report-rev{revision}.md", f"M-001-report-rev{revision}.pdf"]
    # One top-level post for the whole event: the acceptance itself is told in the status message's thread.
    top_level = [m for m in slack.messages[CHANNEL] if m.get("thread_ts") in (None, m["ts"])]
    assert len(top_level) == 2  # the status message and the final report
    assert [c.params["metadata"]["event_type"] for c in slack.calls_to("chat.postMessage")
            if c.response.get("ts") == final["ts"]] == ["milestone_bot_outbox"]  # sent by the outbox, with its key
    owner = dm(slack, "UOWNER")
    assert len(dm_posts(slack, "UOWNER")) == 1 and f"posted for you in <#{CHANNEL}>" in _shown(owner)
    with db() as session:
        assert [(p.posted_by, p.channel_id, p.revision, p.message_ts) for p in session.scalars(select(ReportPost))] \
            == [("UOWNER", CHANNEL, revision, final["ts"])]
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.final_report_ts == final["ts"]


def test_the_checkbox_off_posts_no_final_report_and_outdates_no_sign_off(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = _milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    open_and_submit(bot, slack, "UTECH", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    revision = _revision(db, milestone_id)

    opened = len(slack.calls_to("views.open"))
    bot.command("edit M-001 details")
    form = slack.wait_for("views.open", opened + 1)[-1].response["view"]
    (box,) = [b for b in form["blocks"] if b.get("block_id") == "post_final_report"]
    assert box["element"]["type"] == "checkboxes" and box["element"]["initial_options"]  # on by default
    assert "Post the final report to the channel when accepted" in json.dumps(box)
    assert bot.submit_view(form, {"post_final_report": []}).status == 200
    wait_until_quiet(slack, idle=0.3)
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.post_final_report is False
        assert milestone.revision == revision  # a setting, not report content: no new revision
        assert session.scalars(select(SignOff.outdated_at)).all() == [None]  # the approval stays valid
        assert "milestone.settings" in session.scalars(select(AuditEvent.action)).all()

    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    final_report_sent(db, slack)
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
    assert _finals(slack) == []
    assert not slack.files
    assert "is not posted to" in _shown(dm(slack, "UOWNER"))  # the owner hears why, and where to change it


def test_a_late_edit_withdraws_the_acceptance_in_the_post_and_re_acceptance_updates_it(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = _milestone(db)
    _accepted(bot, slack, db, milestone_id)
    (first,) = _finals(slack)
    accepted_at = _revision(db, milestone_id)

    _edit_summary(bot, slack, "Shipped the beta, two weeks late.")  # a change of substance after acceptance
    final_report_sent(db, slack)
    withdrawn_at = _revision(db, milestone_id)
    (post,) = _finals(slack)
    assert post["ts"] == first["ts"] and "edited" in post
    assert f"Acceptance withdrawn at revision {withdrawn_at} — the report is being reviewed again" in _shown(post)
    assert "Posted for <@UOWNER>" in _shown(post) and "Accepted on" not in _shown(post)

    _later(settings, db)  # the re-asks, after the settle window
    _approve_all(bot, slack, db)
    (post,) = _finals(slack)  # still one post: the same one, updated
    assert post["ts"] == first["ts"]
    assert f"Accepted on {TODAY} at revision {withdrawn_at}" in _shown(post) and "withdrawn" not in _shown(post)
    assert _thread_files(slack, post["ts"]) == sorted(
        f"M-001-report-rev{r}.{ext}" for r in (accepted_at, withdrawn_at) for ext in ("md", "pdf"))
    updates = [c for c in slack.calls_to("chat.update") if c.params.get("ts") == first["ts"]]
    assert len(updates) == 2  # withdrawn, accepted again
    assert len(dm_posts(slack, "UOWNER")) == 2  # one DM per acceptance
    with db() as session:  # one record of the post, at the revision its thread now holds
        assert [(p.message_ts, p.revision) for p in session.scalars(select(ReportPost))] == [
            (first["ts"], withdrawn_at)]


def test_a_role_added_after_acceptance_edits_the_post_to_say_the_acceptance_was_withdrawn(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = _milestone(db)
    _accepted(bot, slack, db, milestone_id)
    revision = _revision(db, milestone_id)
    posts = len(slack.calls_to("chat.postMessage"))

    bot.command("signoff M-001 reassign Security <@UADMIN|ada>")
    slack.wait_for("response_url", 1, where=lambda c: "no longer accepted" in str(c.params.get("text")))
    final_report_sent(db, slack)
    (post,) = _finals(slack)
    assert f"Acceptance withdrawn at revision {revision}" in _shown(post) and "2 of 3 approved" in _shown(post)
    assert not [c for c in slack.calls_to("chat.postMessage")[posts:] if c.params.get("channel") == CHANNEL
                and not c.params.get("thread_ts")]  # nothing new at the top of the channel


def test_killed_between_the_commit_and_the_send_the_final_report_is_posted_once(
    web: list[Any], database_url: str, slack: FakeSlack, db: sessionmaker[Session], settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    bot = SlackSender(web[0].base_url, slack)
    milestone_id = _milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    open_and_submit(bot, slack, "UTECH", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.5)

    message = dm(slack, "UQA")
    opened = len(slack.calls_to("views.open"))
    bot.block_action("signoff_approve", value=button_value(message, "signoff_approve"), user_id="UQA",
                     message=message)
    view = slack.wait_for("views.open", opened + 1)[-1].response["view"]
    slack.latency_ms = 3000  # the post is in flight when the process dies; Slack still stores it
    assert not bot.submit_view(view, {}, user_id="UQA").body

    def in_flight() -> bool:  # the final report's post reached Slack, which answers in 3 seconds
        return any(path == "/api/chat.postMessage" and b"Final" in body and b"milestone" in body
                   for path, body in slack.arrived)

    deadline = time.monotonic() + 30
    while not in_flight():
        assert time.monotonic() < deadline, "the final report was not sent in time"
        time.sleep(0.02)
    _kill(web[0])
    lines = _restart_and_sweep(web, database_url, slack, settings, tmp_path)
    final_report_sent(db, slack)

    (final,) = _finals(slack)
    assert "Posted for <@UOWNER>" in _shown(final)
    assert any(line.startswith("outbox: found final_report_post") for line in lines), lines  # not sent twice
    assert len([c for c in slack.calls_to("chat.postMessage") if str(c.params.get("text")).startswith(
        "Final milestone report")]) == 1
    revision = _revision(db, milestone_id)
    assert _thread_files(slack, final["ts"]) == [f"M-001-report-rev{revision}.md", f"M-001-report-rev{revision}.pdf"]
    with db() as session:
        assert session.get(Milestone, milestone_id).final_report_ts == final["ts"]  # type: ignore[union-attr]
