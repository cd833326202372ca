"""Feedback privacy and the channel "Give feedback" post, over HTTP.

An anonymous answer is never tied to a person: after Tariq answers anonymously, nothing the bot sends or
renders to anyone else (request reports, summaries, Home, the report preview, the posted report with its
Markdown file and its PDF read as text, the report page, the canvas) names him or carries his id; breakdowns
hide groups of fewer than 3 answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Delivery, FeedbackResponse, Milestone
from tests.conftest import CHANNEL, CHANNEL_NOT_IN, USERS
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http
from tests.test_feedback import ANSWER, make_milestone, open_modal
from tests.test_surfaces_security import command_answer


def test_an_anonymous_answer_is_never_tied_to_its_author(bot: SlackSender, slack: FakeSlack,
                                                         db: sessionmaker[Session], tmp_path: Path) -> None:
    make_milestone(db)
    with db() as session, session.begin():
        session.scalars(select(Milestone)).one().report_channel_id = CHANNEL
    bot.command("feedback request M-042 <@UTECH|tariq> <@UPM|pat>")
    slack.wait_for("response_url", 1)
    view = open_modal(bot, slack, "feedback M-042", "UTECH")
    assert bot.submit_view(view, {**ANSWER, "anonymous": ["anonymous"]}, user_id="UTECH").json()[
        "response_action"] == "update"
    with db() as session:
        assert session.scalars(select(FeedbackResponse.user_id)).all() == [None]
    slack.wait_for("chat.update", 1)  # his own request DM says he answered: that one is his
    start = len(slack.calls)

    report = command_answer(bot, slack, "feedback request M-042 <@UTECH|tariq> <@UPM|pat> <@UPO|paula>")
    assert "1 person skipped: they already answered." in report and "Skipped (already asked): <@UPM>." in report
    summary = json.dumps(bot.command("feedback summary M-042").json())
    assert "Beta user: fewer than 3 answers" in summary
    bot.command("report M-042 preview")
    bot.command("report M-042")
    slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == CHANNEL)
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvP1")
    slack.wait_for("views.publish")
    bot.command("canvas M-042")
    slack.wait_for("canvases.create", timeout=30)
    slack.wait_for("files.completeUploadExternal", 2, timeout=60)  # the Markdown file, then the PDF
    later = json.dumps([[c.method, c.params] for c in slack.calls[start:]], ensure_ascii=False,
                       default=lambda raw: raw.decode(errors="replace"))
    assert "files.upload_bytes" in later or "files.completeUploadExternal" in later  # the report file was seen
    files = {f["filename"].rsplit(".", 1)[-1]: f["content"] for f in slack.files.values()}
    (canvas,) = slack.canvases.values()
    link = re.search(r'"url": "(http[^"]+/reports/[^"]+)"', later)
    assert link is not None
    page = http("GET", link.group(1)).body.decode()
    seen = {"messages and views": later, "Markdown file": files["md"].decode(), "canvas": canvas["markdown"],
            "report page": page}
    if shutil.which("pdftotext"):  # the PDF's text (its streams are compressed: searching the bytes proves nothing)
        path = tmp_path / "report.pdf"
        path.write_bytes(files["pdf"])
        seen["PDF"] = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                     check=True).stdout
    assert "Satisfaction" in seen["PDF" if "PDF" in seen else "report page"]  # the feedback part is there
    for where, text in seen.items():
        for trace in ("UTECH", USERS["UTECH"]["name"], "Tariq"):
            assert trace not in text, (where, trace)


def test_a_channel_give_feedback_post_lets_anyone_answer_once(bot: SlackSender, slack: FakeSlack,
                                                              db: sessionmaker[Session]) -> None:
    make_milestone(db)
    told = command_answer(bot, slack, f"feedback post M-042 <#{CHANNEL}|general>")
    assert told == f":white_check_mark: Posted a *Give feedback* message in <#{CHANNEL}>: anyone there can answer."
    post = slack.wait_for("chat.postMessage")[0]
    assert post.params["channel"] == CHANNEL
    message = slack.messages[CHANNEL][0]
    button = message["blocks"][1]["elements"][0]
    for user_id in ("USTRANGER", "UPO"):
        bot.block_action("feedback_give", value=button["value"], user_id=user_id, message=message,
                         channel_id=CHANNEL)
    forms = slack.wait_for("views.open", 2)
    assert all(f.response["view"]["callback_id"] == "feedback_submit" for f in forms)
    bot.submit_view(forms[0].response["view"], ANSWER, user_id="USTRANGER")
    with db() as session:
        assert len(session.scalars(select(FeedbackResponse)).all()) == 1
    # Once a day per channel; a channel without the bot says how to fix it, and may be tried again.
    assert "already posted" in command_answer(bot, slack, f"feedback post M-042 <#{CHANNEL}|general>")
    refused = command_answer(bot, slack, f"feedback post M-042 <#{CHANNEL_NOT_IN}|elsewhere>")
    assert "Invite me with `/invite @Milestone Bot`" in refused
    assert "Invite me" in command_answer(bot, slack, f"feedback post M-042 <#{CHANNEL_NOT_IN}|elsewhere>")
    with db() as session:
        assert session.scalars(select(Delivery.kind)).all().count("feedback_post") == 2
    assert "not a member" in refused
    assert "Only the owner and editors of M-042" in command_answer(bot, slack, "feedback post M-042",
                                                                   user_id="USTRANGER")
