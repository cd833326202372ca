"""App Home as the hub, over HTTP: a first visit, an approver with a request waiting, an owner whose team has
overdue items; within Slack's limits (the fake validates every views.publish), and every button pressed once."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import ActionItem, ApprovalSlot, FeedbackRequest, Milestone, ReportPost, SignOffRequest, utcnow
from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender


def home_of(bot: SlackSender, slack: FakeSlack, user_id: str, event_id: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.publish"))
    bot.event({"type": "app_home_opened", "user": user_id, "tab": "home", "event_ts": "1.0"}, event_id=event_id)
    call = slack.wait_for("views.publish", before + 1)[before]
    assert call.response["ok"], call.response  # the fake checks Block Kit and the 100-block limit
    view: dict[str, Any] = call.response["view"]
    return view


def texts(view: dict[str, Any]) -> list[str]:
    found = []
    for block in view["blocks"]:
        text = block.get("text")
        if isinstance(text, dict):
            found.append(text["text"])
        for element in block.get("elements", []) if block["type"] == "context" else []:
            found.append(element["text"])
    return found


def elements(view: dict[str, Any]) -> list[dict[str, Any]]:
    found = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    for block in view["blocks"]:
        if block["type"] == "actions":
            found += block["elements"]
    return found


def element(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(e for e in elements(view) if e.get("action_id") == action_id)


def team(db: sessionmaker[Session], milestones: int = 1) -> list[int]:
    """UOWNER's milestones; the newest has a QA Lead waiting to sign, an overdue item of UEDITOR's, a feedback
    request to UTECH and a posted report."""
    ids = []
    today = date.today()
    with db() as session, session.begin():
        for n in range(1, milestones + 1):
            milestone = Milestone(team_id=TEAM_ID, key=f"M-{n:03d}", name=f"Checkout {n}", owner_id="UOWNER",
                                  created_by="UOWNER", report_channel_id=CHANNEL, executive_summary="Shipped.")
            session.add(milestone)
            session.flush()
            ids.append(milestone.id)
        first = ids[-1]
        slot = ApprovalSlot(milestone_id=first, role="QA Lead", position=0, approver_id="UQA")
        session.add(slot)
        session.flush()
        session.add(SignOffRequest(slot_id=slot.id, approver_id="UQA", requested_by="UOWNER", revision=1))
        session.add(ActionItem(milestone_id=first, owner_id="UEDITOR", due_date=today - timedelta(days=10),
                               description="Rotate the keys", horizon="week1", created_by="UOWNER"))
        session.add(ActionItem(milestone_id=first, owner_id="UEDITOR", due_date=today + timedelta(days=20),
                               description="Write the runbook", horizon="month1", created_by="UOWNER"))
        session.add(FeedbackRequest(milestone_id=first, user_id="UTECH", requested_by="UOWNER",
                                    requested_at=utcnow()))
        session.add(ReportPost(milestone_id=first, posted_by="UOWNER", channel_id=CHANNEL, revision=1,
                               message_ts="1.000100"))
    return ids


def test_a_first_visit_gets_the_introduction_and_new_milestone_at_the_top(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    home = home_of(bot, slack, "USTRANGER", "EvN1")
    assert home["blocks"][0]["type"] == "header"
    intro = home["blocks"][1]["text"]["text"]
    assert intro.startswith("*Milestone Bot runs your milestone report in Slack.*") and intro.count("\n•") == 3
    assert home["blocks"][2]["elements"][0]["action_id"] == "milestone_new_button"
    assert "Nothing waits for you right now. :tada:" in texts(home)
    assert "Your milestones" not in json.dumps(home)  # nothing to list yet
    bot.block_action("milestone_new_button", value=home["blocks"][2]["elements"][0]["value"], user_id="USTRANGER",
                     view=home)
    assert slack.wait_for("views.open")[0].response["view"]["callback_id"] == "milestone_new"


def test_an_approver_sees_the_request_first_and_signs_from_home(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    team(db)
    home = home_of(bot, slack, "UQA", "EvA1")
    shown = texts(home)
    assert shown.index("Needs you") < shown.index("Waiting for my sign-off")
    assert not any("Milestone Bot runs" in t for t in shown)  # not a newcomer: no introduction
    approve = element(home, "signoff_approve")
    bot.block_action("signoff_approve", value=approve["value"], user_id="UQA", view=home)
    assert slack.wait_for("views.open")[0].response["view"]["callback_id"] == "signoff_decision"
    report = next(e for e in elements(home) if e["text"]["text"] == "View report")  # what is being signed
    assert "/reports/" in report["url"]


def test_an_owner_sees_hubs_with_state_and_overdue_team_items_and_every_button_works(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    ids = team(db, milestones=7)
    home = home_of(bot, slack, "UOWNER", "EvO1")
    shown = texts(home)
    hub = next(t for t in shown if t.startswith("*M-007 · Checkout 7*\n"))
    assert "🔎 In review · sign-off 0/1 · 2 open actions, :warning: 1 overdue" in hub
    assert any("📝 Draft — awaiting sign-off · no approvers · 0 open actions" in t for t in shown)
    assert "Showing 5 of 7." in shown
    assert any("M-007 · Checkout 7* · revision 1 · <#C0001>" in t for t in shown)  # recently posted
    assert shown.index("Needs you") < shown.index("Your milestones") < shown.index("Recently posted reports")

    def press(action_id: str, milestone: int = 0) -> None:
        value = [e for e in elements(home) if e.get("action_id") == action_id][milestone]["value"]
        assert bot.block_action(action_id, value=value, view=home).status == 200

    opened = [("milestone_sections", "section_picker"), ("home_request_signoff", "home_signoff_prompt"),
              ("report_preview", "report_preview_modal"), ("action_add", None), ("milestone_new_button",
                                                                                 "milestone_new")]
    for count, (action_id, callback) in enumerate(opened, start=1):
        press(action_id)
        view = slack.wait_for("views.open", count)[count - 1].response["view"]
        if callback:
            assert view["callback_id"] == callback, action_id
    prompt = slack.calls_to("views.open")[1].response["view"]
    assert "signoff_confirm_request" in json.dumps(prompt)  # the completeness check's own button

    press("report_post")
    post = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == CHANNEL)[0]
    assert "M-007" in post.params["text"]
    deadline = time.monotonic() + 30  # the post is recorded after its file is uploaded: wait for it to finish
    while time.monotonic() < deadline:
        with db() as session:
            if session.scalar(select(func.count(ReportPost.id))) == 2:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the posted report was never recorded")

    press("home_show_more")
    more = slack.wait_for("views.publish", 2)[1].response["view"]
    assert "Showing" not in json.dumps(more) and "M-007" in json.dumps(more) and "M-001" in json.dumps(more)
    with db() as session:
        assert session.scalars(select(Milestone.id)).all() == ids


def test_many_milestones_and_items_stay_within_100_blocks(bot: SlackSender, slack: FakeSlack,
                                                          db: sessionmaker[Session]) -> None:
    ids = team(db, milestones=60)
    with db() as session, session.begin():
        for n in range(30):
            session.add(ActionItem(milestone_id=ids[n], owner_id="UOWNER", due_date=date.today(),
                                   description=f"Item {n}", horizon="week1", created_by="UOWNER"))
    home = home_of(bot, slack, "UOWNER", "EvM1")
    for _ in range(12):  # keep asking for more: the tab never passes Slack's limit
        value = next((e["value"] for e in elements(home) if e.get("action_id") == "home_show_more"), None)
        if value is None:
            break
        before = len(slack.calls_to("views.publish"))
        bot.block_action("home_show_more", value=value, view=home)
        call = slack.wait_for("views.publish", before + 1)[before]
        assert call.response["ok"], call.response
        home = call.response["view"]
    assert len(home["blocks"]) <= 100
    assert home["blocks"][-1]["elements"][0]["text"] == "More in `/milestone list`."
