"""Sign-off against an intruder and a sick database, over HTTP: forged button values and private_metadata,
hostile role names and arguments, a refusal seen after an App Home click, a decision saved while the database
is locked (the modal keeps its input), and the owner hearing each decision once."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from models import ActionItem, ApprovalSlot, Milestone, SignOff
from tests.conftest import CHANNEL, hold_write_lock
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_signoffs import button_value, dm, dm_posts, make_milestone, open_and_submit, request_signoff

FORGED = "out of date or was changed"
HOSTILE = ["<!channel>", "<!here>", "<@UADMIN>", "<#C0EVIL|x>", "<https://evil.example|click>"]


def _sign(data: dict[str, Any]) -> str:
    """A payload signed with the bot's real key (as if the key leaked): only the type checks stand."""
    return str(URLSafeSerializer("test-secret-key", salt="milestone-bot.payload").dumps(data))


def _decision_form(bot: SlackSender, slack: FakeSlack, user: str, action_id: str) -> dict[str, Any]:
    message = dm(slack, user)
    opened = len(slack.calls_to("views.open"))
    bot.block_action(action_id, value=button_value(message, action_id), user_id=user, message=message)
    return slack.wait_for("views.open", opened + 1)[-1].response["view"]


@pytest.mark.parametrize("metadata", [
    json.dumps({"r": 1, "d": "bogus", "v": 1}),  # the old unsigned format, with a bogus decision
    "not-a-token",
    _sign({"v": 1, "k": "signoff.form", "request": 1, "decision": "bogus", "revision": 1}),
    _sign({"v": 1, "k": "signoff.form", "request": "1 OR 1=1", "decision": "approved", "revision": 1}),
    _sign({"v": 1, "k": "section.edit", "request": 1, "decision": "approved", "revision": 1}),
])
def test_forged_decision_metadata_is_refused_and_nothing_is_stored(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], metadata: str
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    view = _decision_form(bot, slack, "UQA", "signoff_approve")
    answer = bot.submit_view({**view, "private_metadata": metadata}, {}, user_id="UQA")
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors" and FORGED in json.dumps(body["errors"])
    with db() as session:
        assert session.scalars(select(SignOff)).all() == []
    # The genuine form still works.
    assert not bot.submit_view(view, {}, user_id="UQA").body


@pytest.mark.parametrize("value", ["1", "abc", _sign({"v": 1, "k": "signoff.decide", "request": 1,
                                                      "decision": "bogus"})])
def test_forged_button_values_are_refused_with_a_message(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], value: str
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    message = dm(slack, "UQA")
    assert bot.block_action("signoff_approve", value=value, user_id="UQA", message=message).status == 200
    slack.wait_for("response_url", 1, where=lambda c: FORGED in str(c.params.get("text")))
    assert not slack.calls_to("views.open")
    # The completeness check's buttons too.
    bot.block_action("signoff_confirm_request", value="1")
    slack.wait_for("response_url", 2, where=lambda c: FORGED in str(c.params.get("text")))


def test_a_refusal_after_an_app_home_click_is_seen(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    bot.event({"type": "app_home_opened", "user": "UQA", "tab": "home"}, event_id="EvHome1")
    home = {**slack.wait_for("views.publish")[-1].params["view"], "id": "VHOME1"}
    assert "View report" in json.dumps(home["blocks"])  # approvers can always read
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    slack.wait_for("chat.update", 1, where=lambda c: str(c.response.get("channel", "")).startswith("D"))

    # The Home tab still shows the old button: pressing it is refused where the person is looking.
    opened = len(slack.calls_to("views.open"))
    bot.block_action("signoff_approve", value=button_value({"blocks": home["blocks"]}, "signoff_approve"),
                     user_id="UQA", view=home)
    notice = slack.wait_for("views.open", opened + 1)[-1].params["view"]
    assert "already given" in json.dumps(notice["blocks"])
    with db() as session:
        assert len(session.scalars(select(SignOff)).all()) == 1


def _sent_texts(slack: FakeSlack) -> str:
    """Everything the bot said to people: messages, edits, ephemeral answers, modals, Home."""
    said = [c.params for c in slack.calls if c.method.startswith(("chat.", "views.")) or c.method == "response_url"]
    return json.dumps(said)


def test_hostile_role_names_and_arguments_are_escaped_everywhere(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    for number, hostile in enumerate(HOSTILE):
        replies = len(slack.calls_to("response_url"))
        bot.command(f"signoff M-001 reassign Role {hostile} <@UPM|pat>")
        slack.wait_for("response_url", replies + 1)
        bot.command(f"signoff M-001 delegate Nobody {hostile} <@UEDITOR|eddie>")
        bot.command(f"signoff {hostile}")
        bot.command(f"signoff M-001 reassign {hostile}x <@UPM|pat>")
        slack.wait_for("response_url", replies + 3)
        slack.wait_for("chat.postMessage", 2 * (number + 1), where=lambda c: c.response.get("channel") == "DUPM")
    assert len(dm_posts(slack, "UPM")) == 2 * len(HOSTILE)  # the new holder is asked once per added role
    # Giving a hostile role to someone else edits the old holder's DM to "withdrawn", escaped too.
    bot.command("signoff M-001 reassign Role <!channel> <@UEDITOR|eddie>")
    withdrawn = slack.wait_for("chat.update", where=lambda c: c.response.get("channel") == "DUPM"
                               and "withdrawn" in json.dumps(c.params.get("blocks")))[-1]
    assert "withdrawn" in json.dumps(withdrawn.params["blocks"]) and "Role &lt;!channel&gt;" in json.dumps(
        withdrawn.params["blocks"])
    with db() as session:
        roles = set(session.scalars(select(ApprovalSlot.role)))
    assert {f"Role {h}" for h in HOSTILE} | {f"{h}x" for h in HOSTILE} <= roles  # stored as typed...
    said = _sent_texts(slack)
    for hostile in HOSTILE:  # ...and never sent raw
        assert hostile not in said, hostile
    assert "Role &lt;!channel&gt;" in said
    # The new holder's DM text (the notification) is escaped too.
    assert all("<!" not in str(c.params.get("text")) for c in dm_posts(slack, "UPM"))


def test_a_locked_database_keeps_the_decision_form_open_with_its_input(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    view = _decision_form(bot, slack, "UQA", "signoff_reject")
    with hold_write_lock(engine, "milestones", "signoffs", "signoff_requests", "processed_submissions"):
        answer = bot.submit_view(view, {"reason": "Load tests missing"}, user_id="UQA")
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert "Nothing was saved" in body["errors"]["reason"]
    with db() as session:
        assert session.scalars(select(SignOff)).all() == []
    # Slack keeps the typed reason in the open modal; submitting again saves it.
    assert not bot.submit_view(view, {"reason": "Load tests missing"}, user_id="UQA").body
    with db() as session:
        assert session.scalars(select(SignOff.reason)).all() == ["Load tests missing"]
    # The owner hears it (and the DM is out before the next test starts).
    owner = slack.wait_for("chat.postMessage", 1, where=lambda c: c.response.get("channel") == "DUOWNER")
    assert "Load tests missing" in json.dumps(owner[0].params["blocks"])


def test_the_owner_hears_each_decision_once(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA", "Technical Lead": "UTECH"})
    request_signoff(bot, slack, milestone_id, dms=2)
    view, first = open_and_submit(bot, slack, "UQA", "signoff_reject", {"reason": "Defects <!here> still open"})
    assert first.status == 200 and not first.body, first.body  # saved and closed within Slack's 3 seconds
    bot.submit_view(view, {"reason": "Defects <!here> still open"}, user_id="UQA")  # a double submit
    owner = slack.wait_for("chat.postMessage", 1, where=lambda c: c.response.get("channel") == "DUOWNER"
                           and "Rejected" in json.dumps(c.params.get("blocks")))
    shown = json.dumps(owner[0].params["blocks"], ensure_ascii=False)
    assert "Defects &lt;!here&gt; still open" in shown, shown
    rejected = slack.messages["DUOWNER"][0]
    edit = URLSafeSerializer("test-secret-key", salt="milestone-bot.payload").loads(
        button_value(rejected, "milestone_sections"))  # Edit sections: the picker, a signed milestone reference
    assert (edit["k"], edit["milestone"]) == ("milestone.ref", milestone_id)
    replies = len(slack.calls_to("response_url"))
    bot.block_action("signoff_request_again", value=button_value(rejected, "signoff_request_again"),
                     message=rejected)
    again = slack.wait_for("response_url", replies + 1)[-1].params["text"]
    assert "Already decided" in again and "QA Lead" in again  # nothing is asked before the report changes

    due_day = date.today() + timedelta(days=10)
    due, shown = due_day.isoformat(), f"{due_day:%a} {due_day.day} {due_day:%b %Y}"  # typed, and as Slack says it
    open_and_submit(bot, slack, "UTECH", "signoff_approve_conditions",
                    {"conditions": "Fix the flaky test\nLoad test at 2x", "due_date": due})
    owner = slack.wait_for("chat.postMessage", 2, where=lambda c: c.response.get("channel") == "DUOWNER")
    conditions = json.dumps(owner[1].params["blocks"])
    assert "Fix the flaky test" in conditions and "<@UOWNER>" in conditions and shown in conditions
    assert len(dm_posts(slack, "UOWNER")) == 2
    with db() as session:
        assert len(session.scalars(select(ActionItem)).all()) == 2
        assert session.get(Milestone, milestone_id).accepted_at is None  # type: ignore[union-attr]
    assert not [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL
                and "accepted" in str(c.params.get("text"))]
