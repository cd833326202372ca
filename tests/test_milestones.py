"""`/milestone new`, `list`, `show` and the App Home list, driven over HTTP as Slack would."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from models import ApprovalSlot, AuditEvent, Milestone, MilestoneEditor, SignOff
from tests.conftest import CHANNEL, CHANNEL_NOT_IN, hold_write_lock
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import TEAM_ID, SlackSender

NASTY = "<!channel> & <@U123>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U123&gt;"


# ---- helpers other test modules share -------------------------------------------------------------------


def open_modal(bot: SlackSender, slack: FakeSlack, command: str, user_id: str = "UOWNER",
               channel_id: str = CHANNEL) -> dict[str, Any]:
    """Run a command and return the modal the bot opened (as the fake stored it, with its id and hash)."""
    before = len(slack.calls_to("views.open"))
    response = bot.command(command, user_id=user_id, channel_id=channel_id)
    assert response.status == 200
    call = slack.wait_for("views.open", before + 1)[before]
    assert call.response["ok"], call.response
    return call.response["view"]


def approvers(**chosen: str) -> dict[str, str]:
    return {f"approver_{role}": user for role, user in chosen.items()}


def create(bot: SlackSender, slack: FakeSlack, values: dict[str, Any] | None = None, user_id: str = "UOWNER",
           channel_id: str = CHANNEL) -> dict[str, Any]:
    """Create a milestone through the "new" modal; returns the submitted view."""
    view = open_modal(bot, slack, "new", user_id, channel_id)
    filled = {"name": "Checkout revamp", **approvers(project_sponsor="USPONSOR", qa_lead="UQA"), **(values or {})}
    dms = len(wait_confirmations(slack, user_id, 0))
    response = bot.submit_view(view, filled, user_id=user_id)
    assert response.status == 200
    assert response.json() is None, response.json()  # no errors: the modal closes
    wait_confirmations(slack, user_id, dms + 1)  # the bot's work after the ack is done
    return view


def wait_confirmations(slack: FakeSlack, user_id: str, count: int) -> list[Any]:
    """The "milestone created" DMs to `user_id`, once there are at least `count` of them."""
    return slack.wait_for("chat.postMessage", count, where=lambda c: (c.response or {}).get("channel") == f"D{user_id}")


def arrange(db: sessionmaker[Session], key: str = "M-001", owner: str = "UOWNER", **columns: Any) -> int:
    """A milestone made directly in the database (for tests about reading, not creating)."""
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key=key, name=columns.pop("name", f"Milestone {key}"),
                              owner_id=owner, created_by=owner, **columns)
        session.add(milestone)
        session.flush()
        return milestone.id


def errors_of(response: Any) -> dict[str, str]:
    answer = response.json()
    assert answer and answer["response_action"] == "errors", answer
    return answer["errors"]


def count(db: sessionmaker[Session], model: Any) -> int:
    with db() as session:
        return len(session.scalars(select(model)).all())


# ---- /milestone new -------------------------------------------------------------------------------------


def test_new_opens_at_once_suggesting_the_next_key_and_this_channel(bot: SlackSender, slack: FakeSlack,
                                                                       db: sessionmaker[Session]) -> None:
    arrange(db, "M-041")
    response = bot.command("new")
    assert response.status == 200 and response.elapsed < 3
    view = slack.wait_for("views.open")[0].response["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["key"]["initial_value"] == "M-042"
    assert inputs["report_channel_id"]["initial_conversation"] == CHANNEL
    assert inputs["version"]["initial_option"]["value"] == "alpha"
    assert inputs["status"]["initial_option"]["value"] == "in_progress"
    roles = [b["label"]["text"] for b in view["blocks"] if b.get("block_id", "").startswith("approver_")]
    assert roles == [f"Approver: {r}" for r in
                     ("Project Sponsor", "Project Manager", "Technical Lead", "QA Lead", "Product Owner")]


def test_creating_a_milestone_stores_it_with_slots_and_editors_and_tells_creator_and_channel(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack, {
        "name": "Checkout revamp", "version": "beta", "planned_start": "2026-03-02", "planned_end": "2026-04-30",
        **approvers(project_sponsor="USPONSOR", technical_lead="UTECH", product_owner="UPO"),
        "approver_qa_lead": None, "editors": ["UEDITOR", "UOWNER"],
    })
    with db() as session:
        milestone = session.scalars(select(Milestone)).one()
        assert (milestone.key, milestone.name, milestone.version, milestone.status) == (
            "M-001", "Checkout revamp", "beta", "in_progress")
        assert (milestone.planned_start, milestone.planned_end) == (date(2026, 3, 2), date(2026, 4, 30))
        assert (milestone.owner_id, milestone.report_channel_id, milestone.revision) == ("UOWNER", CHANNEL, 1)
        slots = session.scalars(select(ApprovalSlot).order_by(ApprovalSlot.position)).all()
        assert [(s.role, s.approver_id, s.required) for s in slots] == [
            ("Project Sponsor", "USPONSOR", True), ("Technical Lead", "UTECH", True),
            ("Product Owner", "UPO", True)]
        assert [e.user_id for e in session.scalars(select(MilestoneEditor))] == ["UEDITOR"]  # the owner isn't
        assert [a.action for a in session.scalars(select(AuditEvent))] == ["milestone.created"]

    posted = slack.wait_for("chat.postMessage", 2)
    channel_post = next(c for c in posted if c.params["channel"] == CHANNEL)
    assert "M-001" in channel_post.params["text"] and "Checkout revamp" in channel_post.params["text"]
    dm = next(c for c in posted if (c.response or {}).get("channel") == "DUOWNER")
    assert "M-001" in dm.params["text"]
    buttons = [e["action_id"] for b in dm.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "milestone_sections" in buttons and "section_edit" in buttons
    # The next one suggests the next key.
    assert open_modal(bot, slack, "new")["blocks"][1]["element"]["initial_value"] == "M-002"


def test_new_answers_field_errors_and_creates_nothing(bot: SlackSender, slack: FakeSlack,
                                                      db: sessionmaker[Session]) -> None:
    arrange(db, "M-007")
    view = open_modal(bot, slack, "new")
    errors = errors_of(bot.submit_view(view, {
        "key": "m-7", "name": "", "planned_start": "2026-05-01", "planned_end": "2026-04-01",
    }))
    assert errors["key"] == "M-007 is already taken in this workspace; M-008 is free."
    assert errors["name"] == "Please fill in “Name”."
    assert errors["planned_end"] == "The end date is before the start date."
    assert errors["approver_project_sponsor"] == "Choose at least one approver (any of the roles)."
    assert len(errors) == 4  # every problem at once

    errors = errors_of(bot.submit_view(view, {"key": "M-9", "name": "x" * 151}))
    assert errors == {"name": "Keep it to 150 characters (this has 151).",
                      "approver_project_sponsor": "Choose at least one approver (any of the roles)."}
    errors = errors_of(bot.submit_view(view, {"key": "Q3", "name": "Fine", **approvers(qa_lead="UQA")}))
    assert errors == {"key": "Use an ID like M-042: M- and a number."}
    assert count(db, Milestone) == 1 and count(db, ApprovalSlot) == 0
    assert slack.calls_to("chat.postMessage") == []


def test_a_double_submitted_new_form_creates_one_milestone(bot: SlackSender, slack: FakeSlack,
                                                           db: sessionmaker[Session]) -> None:
    view = open_modal(bot, slack, "new")
    values = {"name": "Twice", **approvers(qa_lead="UQA")}
    answers = bot.submit_concurrently(view, values)
    assert [a.status for a in answers] == [200, 200]
    assert all(a.json() is None for a in answers)  # both close the modal
    assert bot.submit_view(view, values).json() is None  # a late Slack retry too
    assert count(db, Milestone) == 1 and count(db, ApprovalSlot) == 1
    wait_confirmations(slack, "UOWNER", 1)
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL]) == 1


def test_a_save_failure_keeps_the_new_form_open_and_a_retry_works(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    view = open_modal(bot, slack, "new")
    values = {"name": "Locked out", **approvers(qa_lead="UQA")}
    with hold_write_lock(engine, "milestones", "processed_submissions"):
        errors = errors_of(bot.submit_view(view, values))
    assert "Your input is still here" in errors["key"]
    assert count(db, Milestone) == 0
    assert bot.submit_view(view, values).json() is None
    assert count(db, Milestone) == 1
    wait_confirmations(slack, "UOWNER", 1)


def test_a_channel_without_the_bot_gets_no_post_and_the_creator_learns_how_to_invite_it(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack, {"report_channel_id": CHANNEL_NOT_IN})
    dm = slack.wait_for("chat.postMessage", where=lambda c: (c.response or {}).get("channel") == "DUOWNER")[0]
    assert "/invite @Milestone Bot" in json.dumps(dm.params["blocks"])
    assert CHANNEL_NOT_IN not in slack.messages
    assert count(db, Milestone) == 1


def test_a_name_that_would_ping_everyone_is_stored_as_typed_and_shown_escaped(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack, {"name": NASTY})
    with db() as session:
        assert session.scalars(select(Milestone.name)).one() == NASTY
    slack.wait_for("chat.postMessage", 2)
    list_answer = bot.command("list").json()
    show_answer = bot.command("show M-001").json()
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvHome1")
    home = slack.wait_for("views.publish")[-1].params["view"]
    surfaces = [c.params for c in slack.calls_to("chat.postMessage")] + [list_answer, show_answer, home]
    for surface in surfaces:
        dumped = json.dumps(surface, ensure_ascii=False)
        assert "<!channel>" not in dumped and "<@U123>" not in dumped
        assert ESCAPED in dumped


# ---- list, show, home -----------------------------------------------------------------------------------


def _slots(db: sessionmaker[Session], milestone_id: int, decisions: list[str | None], outdated: int = 0) -> None:
    """Required slots with the given current decisions (None: undecided), plus `outdated` old approvals."""
    now = datetime.now(UTC)
    with db() as session, session.begin():
        for position, decision in enumerate(decisions):
            slot = ApprovalSlot(milestone_id=milestone_id, role=f"Role {position}", position=position,
                                approver_id="UPM")
            session.add(slot)
            session.flush()
            if decision:
                session.add(SignOff(slot_id=slot.id, milestone_id=milestone_id, approver_id="UPM", role=slot.role,
                                    decision=decision, revision=1, content_hash="x", decided_at=now))
            if position < outdated:
                session.add(SignOff(slot_id=slot.id, milestone_id=milestone_id, approver_id="UPM", role=slot.role,
                                    decision="approved", revision=0, content_hash="y",
                                    decided_at=now - timedelta(days=1), outdated_at=now))


def test_list_shows_milestones_newest_first_with_status_and_signoff_progress(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    old = arrange(db, "M-001", created_at=datetime(2026, 1, 1, tzinfo=UTC), status="complete")
    new = arrange(db, "M-002", created_at=datetime(2026, 2, 1, tzinfo=UTC))
    _slots(db, old, ["approved", "approved_with_conditions", "rejected"])
    _slots(db, new, [None, None], outdated=2)  # approvals of an old revision do not count
    answer = bot.command("list", user_id="USTRANGER").json()  # viewing is open to the workspace
    assert answer["response_type"] == "ephemeral"
    assert validate_blocks(answer["blocks"], "message") == []
    lines = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert lines[0].startswith("*M-002") and "sign-off 0/2" in lines[0] and "In Progress" in lines[0]
    assert lines[1].startswith("*M-001") and "sign-off 2/3" in lines[1] and "Complete" in lines[1]


def test_list_of_many_milestones_fits_one_message(bot: SlackSender, slack: FakeSlack,
                                                  db: sessionmaker[Session]) -> None:
    for n in range(1, 61):
        arrange(db, f"M-{n:03d}", name=NASTY * 7)
    answer = bot.command("list").json()
    assert validate_blocks(answer["blocks"], "message") == []
    assert "… and 20 older" in json.dumps(answer["blocks"], ensure_ascii=False)
    assert bot.command("list", user_id="UEDITOR").json()["blocks"][1]["text"]["text"].startswith("*M-060")


def test_show_gives_a_compact_summary_with_edit_buttons_for_those_who_may_edit(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack, {"editors": ["UEDITOR"]})
    for user_id, editable in (("UOWNER", True), ("UEDITOR", True), ("UADMIN", True), ("USTRANGER", False)):
        answer = bot.command("show m-1", user_id=user_id).json()
        assert answer["response_type"] == "ephemeral"
        assert validate_blocks(answer["blocks"], "message") == []
        assert answer["blocks"][0]["text"]["text"] == "M-001 · Checkout revamp"
        dumped = json.dumps(answer["blocks"])
        assert "1 of 27 filled in" in dumped
        assert ("milestone_sections" in dumped) is editable, user_id
    assert bot.command("show M-404").json()["text"].startswith(":warning: No milestone `M-404`")
    assert "Which milestone?" in bot.command("show").json()["text"]


def test_show_button_answers_only_the_clicker(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    create(bot, slack)
    post = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == CHANNEL)[0]
    message = post.response["message"]
    bot.block_action("milestone_show", value=message["blocks"][2]["elements"][1]["value"], message=message,
                     user_id="USTRANGER", channel_id=CHANNEL)
    answer = slack.wait_for("response_url")[0].params
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["blocks"][0]["text"]["text"] == "M-001 · Checkout revamp"


def test_home_lists_the_milestones_i_own_or_edit(bot: SlackSender, slack: FakeSlack,
                                                 db: sessionmaker[Session]) -> None:
    mine = arrange(db, "M-001", name="Mine")
    arrange(db, "M-002", owner="UPM", name="Not mine")
    edited = arrange(db, "M-003", owner="UPM", name="Edited by me")
    with db() as session, session.begin():
        session.add(MilestoneEditor(milestone_id=edited, user_id="UOWNER", added_by="UPM"))
    _slots(db, mine, ["approved", None])
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvH1")
    call = slack.wait_for("views.publish")[0]
    assert call.response["ok"], call.response
    dumped = json.dumps(call.params["view"], ensure_ascii=False)
    assert "Your milestones" in dumped
    assert "M-001 · Mine" in dumped and "M-003 · Edited by me" in dumped and "Not mine" not in dumped
    assert "sign-off 1/2" in dumped
    assert "milestone_new_button" in dumped


def test_home_with_many_milestones_passes_slack_limits(bot: SlackSender, slack: FakeSlack,
                                                       db: sessionmaker[Session]) -> None:
    for n in range(1, 41):
        arrange(db, f"M-{n:03d}", name=NASTY * 7)
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvH2")
    call = slack.wait_for("views.publish")[0]
    assert call.response["ok"], call.response
    assert "Showing 5 of 40." in json.dumps(call.params["view"], ensure_ascii=False)


def test_new_milestone_button_on_home_opens_the_form(bot: SlackSender, slack: FakeSlack,
                                                     db: sessionmaker[Session]) -> None:
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvH3")
    home = slack.wait_for("views.publish")[0].response["view"]
    value = next(e["value"] for b in home["blocks"] for e in b.get("elements", [])
                 if e.get("action_id") == "milestone_new_button")
    bot.block_action("milestone_new_button", value=value, view=home)
    view = slack.wait_for("views.open")[0].response["view"]
    assert view["callback_id"] == "milestone_new"

