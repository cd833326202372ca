"""`/milestone show` as a hub, over HTTP: owners and editors get Home's buttons; everyone else View report and
Give feedback, and both work."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_milestones import arrange


def buttons(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_show_gives_editors_the_hub_buttons_and_others_view_and_feedback(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    arrange(db, "M-042", report_channel_id=CHANNEL)
    owner = buttons(bot.command("show M-042").json())
    assert list(owner) == ["milestone_sections", "home_request_signoff", "report_preview", "report_post",
                           "action_add", "section_select"]
    assert owner["report_post"]["confirm"]["title"]["text"] == "Post the report?"

    stranger = buttons(bot.command("show M-042", user_id="USTRANGER").json())
    assert list(stranger) == ["report_preview", "feedback_give"]
    bot.block_action("report_preview", value=stranger["report_preview"]["value"], user_id="USTRANGER")
    preview = slack.wait_for("views.open")[0].response["view"]
    assert preview["callback_id"] == "report_preview_modal" and "M-042" in str(preview["blocks"])
    bot.block_action("feedback_give", value=stranger["feedback_give"]["value"], user_id="USTRANGER")
    assert slack.wait_for("views.open", 2)[1].response["view"]["callback_id"] == "feedback_submit"


def test_post_report_from_show_refuses_a_stranger(bot: SlackSender, slack: FakeSlack,
                                                  db: sessionmaker[Session]) -> None:
    arrange(db, "M-042", report_channel_id=CHANNEL)
    value = buttons(bot.command("show M-042").json())["report_post"]["value"]
    bot.block_action("report_post", value=value, user_id="USTRANGER")
    told = slack.wait_for("response_url")[0].params["text"]
    assert "Only the owner and editors of M-042" in told
    assert [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL] == []
