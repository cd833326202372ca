"""The sign-off loop closing for every person in it (issue 12), over HTTP: approvers read what they sign, re-asks
wait for edits to settle and replace the earlier DM, one DM per approver for all their roles, the report's
lifecycle shown the same way, acceptance withdrawn when a role is added, sign-off records that stay true."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import send_owed, sweep
from bot.deps import make_deps
from bot.settings import Settings
from models import ActionItem, AuditEvent, Milestone, SignOff, utcnow
from tests.conftest import CHANNEL, wait_until_quiet
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http
from tests.test_signoffs import (
    button_value,
    dm,
    dm_posts,
    final_report_sent,
    make_milestone,
    open_and_submit,
    request_signoff,
    save_confirmed,
    status_message,
    sweep_later,
)


def _edit_summary(bot: SlackSender, slack: FakeSlack, text: str) -> None:
    """Edit the summary (confirming, when the report asks to) and wait for the status message's edit: every
    change after sign-off was requested edits it, from a hook that runs after the modal's answer."""
    opened = len(slack.calls_to("views.open"))
    edits = len([c for c in slack.calls_to("chat.update") if c.params.get("channel") == CHANNEL])
    bot.command("edit M-001 summary")
    form = slack.wait_for("views.open", opened + 1)[-1].response["view"]
    assert save_confirmed(bot, form, {"executive_summary": text}).status == 200
    slack.wait_for("chat.update", edits + 1, where=lambda c: c.params.get("channel") == CHANNEL)
    wait_until_quiet(slack, idle=0.3)


def _link(message: dict[str, Any]) -> str:
    return next(e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e.get("action_id") == "signoff_view_report")


def _status(slack: FakeSlack, db: sessionmaker[Session], milestone_id: int) -> str:
    return json.dumps(status_message(slack, db, milestone_id)["blocks"], ensure_ascii=False)


def test_an_approver_who_is_not_an_editor_reads_the_report_from_the_request(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    page = http("GET", _link(dm(slack, "UQA")))
    assert page.status == 200
    assert "Beta &lt;launch&gt;" in page.body.decode() and "Shipped the beta." in page.body.decode()


def test_edits_within_the_settle_window_ask_each_approver_once_and_supersede_the_earlier_dm(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = make_milestone(db, {"Technical Lead": "UPM", "QA Lead": "UPM", "Product Owner": "UPO"})
    request_signoff(bot, slack, milestone_id, dms=2)
    assert len(dm_posts(slack, "UPM")) == 1  # two roles, one DM
    assert "Technical Lead" in dm(slack, "UPM")["text"] and "QA Lead" in dm(slack, "UPM")["text"]
    for person, roles in (("UPM", 2), ("UPO", 1)):
        for _ in range(roles):
            open_and_submit(bot, slack, person, "signoff_approve", {})
            wait_until_quiet(slack, idle=0.3)
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
    final_report_sent(db, slack)  # before the clock is moved on

    first_edit = utcnow()
    _edit_summary(bot, slack, "Shipped the beta, two weeks late.")
    assert "Outdated" in _status(slack, db, milestone_id)  # the channel knows at once
    time.sleep(2)
    second_edit = utcnow()
    _edit_summary(bot, slack, "Shipped the beta, two weeks late, with the new checkout.")
    deps = make_deps(settings)
    outbox_only = [("outbox", send_owed)]
    sweep(deps, first_edit + timedelta(minutes=10, seconds=1), jobs=outbox_only)  # the second edit pushed it back
    assert len(dm_posts(slack, "UPM")) == 1 and len(dm_posts(slack, "UPO")) == 1
    sweep(deps, second_edit + timedelta(minutes=10, seconds=2), jobs=outbox_only)
    assert len(dm_posts(slack, "UPM")) == 2 and len(dm_posts(slack, "UPO")) == 2  # one re-ask each

    again = dm(slack, "UPM")
    blocks = json.dumps(again["blocks"])
    assert blocks.count("signoff_approve\"") == 2  # both roles, to decide in one place
    assert "changed after you signed" in blocks and "Executive summary (edited)" in blocks
    with db() as session:
        revision = session.get(Milestone, milestone_id).revision  # type: ignore[union-attr]
    published = len([c for c in slack.calls_to("views.publish") if c.params.get("user_id") == "UPM"])
    bot.event({"type": "app_home_opened", "user": "UPM", "tab": "home"}, event_id="EvHomePM")
    home = slack.wait_for("views.publish", published + 1,
                          where=lambda c: c.params.get("user_id") == "UPM")[-1].params["view"]
    assert "Changed since you signed:_ Executive summary (edited)" in json.dumps(home["blocks"])
    earlier = slack.messages["DUPM"][0]
    assert f"Superseded by revision {revision}" in json.dumps(earlier["blocks"])
    assert "signoff_approve" not in json.dumps(earlier["blocks"])


def test_the_report_lifecycle_reads_the_same_in_the_status_message_and_the_matrix(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    assert "Draft" in bot.command("signoffs M-001").json()["text"]
    request_signoff(bot, slack, milestone_id, dms=1)
    assert "In review" in _status(slack, db, milestone_id)

    open_and_submit(bot, slack, "UQA", "signoff_reject", {"reason": "No load test"})
    wait_until_quiet(slack, idle=0.3)
    assert "Changes requested" in _status(slack, db, milestone_id)
    assert "Changes requested" in bot.command("signoffs M-001").json()["text"]

    _edit_summary(bot, slack, "Load tested at 2x peak.")
    sweep_later(settings, minutes=11)
    assert "In review" in _status(slack, db, milestone_id)
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.accepted_revision == milestone.revision
    today = date.today()
    assert f"Accepted* on {today:%a} {today.day} {today:%b %Y} at revision {milestone.revision}" in _status(
        slack, db, milestone_id)
    # The acceptance is told in the status message's thread, not as a new top-level post. (The final report
    # goes to the same channel, so one of the two waits a second: Slack's pace of one post a second.)
    slack.wait_for("chat.postMessage", 1, where=lambda c: c.params.get("channel") == CHANNEL
                   and "is accepted" in str(c.params.get("text")))
    thread = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL
              and "is accepted" in str(c.params.get("text"))]
    assert len(thread) == 1 and thread[0].params.get("thread_ts") == status_message(slack, db, milestone_id)["ts"]

    _edit_summary(bot, slack, "A late change of substance.")
    text = _status(slack, db, milestone_id)
    assert "Reopened" in text and "Accepted*" not in text


def test_a_role_added_after_acceptance_withdraws_it_on_every_sign_off_surface(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    assert "Accepted" in _status(slack, db, milestone_id)

    bot.command("signoff M-001 reassign Security <@UADMIN|ada>")
    slack.wait_for("response_url", 1, where=lambda c: "no longer accepted" in str(c.params.get("text")))
    wait_until_quiet(slack, idle=0.3)
    assert "1 of 2 approved" in _status(slack, db, milestone_id) and "Accepted*" not in _status(slack, db, milestone_id)
    assert "1 of 2 approved" in bot.command("signoffs M-001").json()["text"]
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is None  # type: ignore[union-attr]
        assert "milestone.acceptance_withdrawn" in session.scalars(select(AuditEvent.action)).all()
    bot.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home"}, event_id="EvHomeAdmin")
    home = slack.wait_for("views.publish", where=lambda c: c.params.get("user_id") == "UADMIN")[-1].params["view"]
    assert "Security" in json.dumps(home["blocks"])


def test_a_conditional_approval_replaced_by_the_same_approver_closes_its_conditions(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    due = (date.today() + timedelta(days=7)).isoformat()
    open_and_submit(bot, slack, "UQA", "signoff_approve_conditions", {"conditions": "Fix login", "due_date": due})
    final_report_sent(db, slack)  # accepted: the final report goes out before the clock is moved on
    _edit_summary(bot, slack, "Login fixed another way.")
    sweep_later(settings, minutes=11)
    message = dm(slack, "UQA")
    button_value(message, "signoff_approve")
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    with db() as session:
        item = session.scalars(select(ActionItem)).one()
        assert item.status == "cancelled" and item.done_by == "UQA"
        withdrawn = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "signoff.conditions_withdrawn")).one()
        assert withdrawn.actor_id == "UQA" and withdrawn.detail["items"] == [item.id]  # type: ignore[index]
        assert len(session.scalars(select(SignOff)).all()) == 2
    assert "conditional" not in _status(slack, db, milestone_id)


def test_the_completeness_gate_helps_fill_what_is_empty(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db, {"QA Lead": "UQA"})
    answer = bot.command("signoff M-001").json()
    text = json.dumps(answer["blocks"])
    assert "Objectives" in text and "Executive summary" not in text  # the summary is filled
    assert "Comments &amp; conditions\"" not in text and "Document" not in text  # filled during sign-off
    buttons = [e for b in answer["blocks"] for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
               if e.get("type") == "button"]
    assert [b["text"]["text"] for b in buttons[-2:]] == ["Fill them first", "Request anyway"]
    assert buttons[-2].get("style") == "primary" and "style" not in buttons[-1]

    fill = next(b for b in buttons if b["text"]["text"] == "Fill in")
    bot.block_action(fill["action_id"], value=fill["value"])
    assert slack.wait_for("views.open")[-1].response["view"]["callback_id"] in ("section_rows", "section_form")
    bot.block_action(buttons[-2]["action_id"], value=buttons[-2]["value"])
    assert slack.wait_for("views.open", 2)[-1].response["view"]["callback_id"] == "section_picker"
    assert not dm_posts(slack, "UQA")  # nothing was asked


def test_one_person_holding_several_roles_decides_them_together(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"Technical Lead": "UPM", "QA Lead": "UPM", "Product Owner": "UPM"})
    request_signoff(bot, slack, milestone_id, dms=1)
    message = dm(slack, "UPM")
    bot.block_action("signoff_approve_all", value=button_value(message, "signoff_approve_all"), user_id="UPM",
                     message=message)
    view = slack.wait_for("views.open")[-1].response["view"]
    assert "Technical Lead" in json.dumps(view["blocks"]) and "Product Owner" in json.dumps(view["blocks"])
    assert not bot.submit_view(view, {"comments": "All three read"}, user_id="UPM").body
    wait_until_quiet(slack, idle=0.3)
    assert not bot.submit_view(view, {"comments": "All three read"}, user_id="UPM").body  # Slack's retry
    wait_until_quiet(slack, idle=0.3)
    with db() as session:
        signoffs = session.scalars(select(SignOff)).all()
        assert sorted(s.role for s in signoffs) == ["Product Owner", "QA Lead", "Technical Lead"]
        assert {s.comments for s in signoffs} == {"All three read"}
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
    assert "signoff_approve" not in json.dumps(dm(slack, "UPM")["blocks"])
    assert len(dm_posts(slack, "UOWNER")) == 1  # accepted, told once
