"""The shortcuts of manifest.yml, over HTTP: "New milestone" (global) and "Add as action item" (message)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ActionItem
from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender
from tests.test_milestones import arrange

ROOT = Path(__file__).resolve().parent.parent


def shortcut(bot: SlackSender, callback_id: str, user_id: str = "UOWNER", message: dict[str, Any] | None = None,
             channel: str = CHANNEL) -> int:
    payload: dict[str, Any] = {
        "type": "message_action" if message else "shortcut",
        "callback_id": callback_id,
        "trigger_id": bot.fake.new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "action_ts": f"{time.time():.6f}",
    }
    if message:
        payload.update(channel={"id": channel, "name": "general"}, message=message, message_ts=message["ts"],
                       response_url=bot.fake.new_response_url())
    return bot.post_payload(payload).status


def test_the_manifest_declares_both_shortcuts() -> None:
    manifest = (ROOT / "manifest.yml").read_text()
    assert ("    - name: New milestone\n      type: global\n      callback_id: milestone_new_shortcut\n"
            in manifest)
    assert ("    - name: Add as action item\n      type: message\n      callback_id: action_from_message\n"
            in manifest)


def test_new_milestone_shortcut_opens_the_form(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    assert shortcut(bot, "milestone_new_shortcut") == 200
    assert slack.wait_for("views.open")[0].response["view"]["callback_id"] == "milestone_new"


def test_add_as_action_item_prefills_the_message_and_links_back(bot: SlackSender, slack: FakeSlack,
                                                                 db: sessionmaker[Session]) -> None:
    arrange(db, "M-042", report_channel_id=CHANNEL)
    message = {"type": "message", "user": "UEDITOR", "text": "Rotate the staging keys <!channel>", "ts": "1700.0001"}
    slack.messages.setdefault(CHANNEL, []).append(message)
    assert shortcut(bot, "action_from_message", message=message) == 200
    view = slack.wait_for("views.open")[0].response["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["description"]["initial_value"] == "Rotate the staging keys <!channel>"
    assert inputs["notes"]["initial_value"] == f"From the message: https://fake.slack.com/archives/{CHANNEL}/p17000001"
    answer = bot.submit_view(view, {"owner_id": "UEDITOR", "horizon": "week1"})
    assert answer.status == 200 and answer.json() is None
    with db() as session:
        item = session.scalars(select(ActionItem)).one()
        assert item.description == "Rotate the staging keys <!channel>" and "p17000001" in (item.notes or "")


def test_add_as_action_item_asks_which_milestone_when_several_fit(bot: SlackSender, slack: FakeSlack,
                                                                  db: sessionmaker[Session]) -> None:
    arrange(db, "M-001")
    arrange(db, "M-002", report_channel_id=CHANNEL)
    message = {"type": "message", "user": "UEDITOR", "text": "Write the runbook", "ts": "1700.0002"}
    slack.messages.setdefault(CHANNEL, []).append(message)
    shortcut(bot, "action_from_message", message=message)
    chooser = slack.wait_for("views.open")[0].response["view"]
    options = chooser["blocks"][0]["element"]["options"]
    assert [o["text"]["text"] for o in options] == ["M-002 · Milestone M-002", "M-001 · Milestone M-001"]
    answer = bot.submit_view(chooser, {"milestone": options[1]["value"]}).json()
    assert answer["response_action"] == "update" and "M-001" in str(answer["view"]["blocks"][0])
    inputs = {b["block_id"]: b["element"] for b in answer["view"]["blocks"] if b["type"] == "input"}
    assert inputs["description"]["initial_value"] == "Write the runbook"


def test_add_as_action_item_tells_someone_with_no_milestone(bot: SlackSender, slack: FakeSlack,
                                                            db: sessionmaker[Session]) -> None:
    arrange(db, "M-001")
    message = {"type": "message", "user": "UEDITOR", "text": "x", "ts": "1700.0003"}
    shortcut(bot, "action_from_message", user_id="USTRANGER", message=message)
    assert "You own or edit no milestone" in slack.wait_for("response_url")[0].params["text"]
