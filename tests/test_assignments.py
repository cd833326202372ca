"""Sections asked of a person, over HTTP as Slack drives it: `/milestone assign`, the assignee's DM and its
buttons, "Ask someone…", hand-backs, reassigning, "Remind everyone", App Home, and who may do what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.assignments import views
from bot.slack import payloads
from models import Assignment, AuditEvent, Milestone, MilestoneEditor
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import SlackSender
from tests.test_milestones import ESCAPED, NASTY, arrange, errors_of

# Every person's "today" is at most a day from the machine's: a week ahead is in the future for all.
DUE = date.today() + timedelta(days=7)


@pytest.fixture(autouse=True)
def signing_key() -> Iterator[None]:
    """Button values are signed with SECRET_KEY; the tests build some (the picker's button) as the bot does."""
    payloads.configure("test-secret-key")
    yield


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def milestone(db: sessionmaker[Session], *, editors: tuple[str, ...] = ("UEDITOR",)) -> int:
    milestone_id = arrange(db, name="Checkout revamp")
    with db() as session, session.begin():
        for editor in editors:
            session.add(MilestoneEditor(milestone_id=milestone_id, user_id=editor, added_by="UOWNER"))
    return milestone_id


def dm_calls(slack: FakeSlack, user_id: str, count: int = 1) -> list[Any]:
    """The bot's new DMs to `user_id` (chat.postMessage to their user id or DM), once there are `count`."""
    return slack.wait_for("chat.postMessage", count,
                          where=lambda c: c.params.get("channel") in (user_id, f"D{user_id}"))


def dm_now(slack: FakeSlack, user_id: str, nth: int = 0) -> dict[str, Any]:
    """The `nth` message in the person's DM as it is now (edits included)."""
    return json.loads(json.dumps(slack.messages[f"D{user_id}"][nth]))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


def ephemeral(slack: FakeSlack, contains: str) -> str:
    calls = slack.wait_for("response_url", where=lambda c: contains in str(c.params.get("text")))
    return str(calls[-1].params["text"])


def assign(bot: SlackSender, slack: FakeSlack, text: str, user_id: str = "UOWNER") -> str:
    before = len(slack.calls_to("response_url"))
    assert bot.command(f"assign {text}", user_id=user_id).status == 200
    return str(slack.wait_for("response_url", before + 1)[before].params["text"])


def press(bot: SlackSender, action_id: str, value: str, user_id: str, message: dict[str, Any]) -> None:
    assert bot.block_action(action_id, value=value, user_id=user_id, message=message).status == 200


def assignments(db: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with db() as session:
        return [(a.section, a.assignee_id, a.state)
                for a in session.scalars(select(Assignment).order_by(Assignment.id))]


def audit_actions(db: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with db() as session:
        return [(e.action, e.section) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# ---- asking -----------------------------------------------------------------------------------------------


def test_assign_dms_the_assignee_what_by_whom_when_and_the_note(bot: SlackSender, slack: FakeSlack,
                                                                db: sessionmaker[Session]) -> None:
    milestone(db)
    answer = assign(bot, slack, f"M-001 budget <@USTRANGER|sam> due {DUE.isoformat()} Q3 figures {NASTY}")
    assert "Asked <@USTRANGER> to fill in *Budget*" in answer

    call = dm_calls(slack, "USTRANGER")[0]
    assert call.response["ok"], call.response
    message = dm_now(slack, "USTRANGER")
    shown = dumps(message["blocks"])
    assert "<@UOWNER> asks you to fill in *Budget*" in shown and "M-001" in shown and "Checkout revamp" in shown
    assert f"Due {day(DUE)}" in shown
    assert f"Q3 figures {ESCAPED}" in shown and NASTY not in shown
    assert set(buttons(message)) == {views.OPEN_FORM, views.CANT_DO}
    assert validate_blocks(message["blocks"], surface="message") == []
    assert assignments(db) == [("budget", "USTRANGER", "asked")]
    assert audit_actions(db) == [("assignment.asked", "budget")]


@pytest.mark.parametrize(("text", "expected"), [
    ("M-001", "Usage"),
    ("M-001 budget sam", "Name the person with @"),
    ("M-001 nosuch <@USTRANGER>", "There is no section `nosuch`"),
    ("M-009 budget <@USTRANGER>", "No milestone `M-009`"),
    ("M-001 budget <@USTRANGER> due 2020-01-01", "Pick today or a later date"),
    ("M-001 budget <@USTRANGER> due soon", "Pick a date"),
])
def test_assign_explains_what_is_wrong_and_asks_nobody(bot: SlackSender, slack: FakeSlack,
                                                       db: sessionmaker[Session], text: str, expected: str) -> None:
    milestone(db)
    response = bot.command(f"assign {text}")
    answered = dumps(response.json()) if response.body else ""
    if expected not in answered:
        answered = ephemeral(slack, expected)
    assert expected in answered
    assert assignments(db) == [] and not slack.calls_to("chat.postMessage")


def test_only_owners_editors_and_admins_may_ask(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone(db)
    assert "Only the owner and editors" in assign(bot, slack, "M-001 budget <@UPM>", user_id="USTRANGER")
    assert assignments(db) == []
    assert "Asked <@UPM>" in assign(bot, slack, "M-001 budget <@UPM>", user_id="UEDITOR")
    assert "Asked <@UQA>" in assign(bot, slack, "M-001 risks <@UQA>", user_id="UADMIN")
    assert assignments(db) == [("budget", "UPM", "asked"), ("risks", "UQA", "asked")]


def test_reassigning_replaces_the_earlier_request_and_updates_its_dm(bot: SlackSender, slack: FakeSlack,
                                                                     db: sessionmaker[Session]) -> None:
    milestone(db)
    assign(bot, slack, "M-001 budget <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    answer = assign(bot, slack, "M-001 budget <@UPM> due " + DUE.isoformat())
    assert "replaces the request to <@USTRANGER>" in answer
    dm_calls(slack, "UPM")
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    earlier = dm_now(slack, "USTRANGER")
    assert "Reassigned to <@UPM> by <@UOWNER>" in dumps(earlier["blocks"]) and buttons(earlier) == {}
    assert assignments(db) == [("budget", "USTRANGER", "replaced"), ("budget", "UPM", "asked")]
    # The replaced assignee's old button no longer opens anything.
    before = len(slack.calls_to("views.open"))
    press(bot, views.OPEN_FORM, views.OpenForm(1).pack(), "USTRANGER", earlier)
    assert "given to someone else" in ephemeral(slack, "given to someone else")
    assert len(slack.calls_to("views.open")) == before

    # Asking the same person again changes the request in place: no second DM.
    assert "Updated the request" in assign(bot, slack, "M-001 budget <@UPM> new note")
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUPM")
    assert len(dm_calls(slack, "UPM")) == 1
    assert "new note" in dumps(dm_now(slack, "UPM")["blocks"])


# ---- the assignee's buttons ---------------------------------------------------------------------------------


def test_the_assignee_opens_exactly_that_sections_form_and_a_stranger_is_refused(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone(db)
    assign(bot, slack, "M-001 summary <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    message = dm_now(slack, "USTRANGER")
    value = buttons(message)[views.OPEN_FORM]

    press(bot, views.OPEN_FORM, value, "UPM", message)
    assert "asked of <@USTRANGER>, not of you" in ephemeral(slack, "not of you")
    press(bot, views.OPEN_FORM, value[:-3] + "abc", "USTRANGER", message)
    assert "out of date or was changed" in ephemeral(slack, "out of date")
    assert not slack.calls_to("views.open")

    press(bot, views.OPEN_FORM, value, "USTRANGER", message)
    form = slack.wait_for("views.open")[0].response["view"]
    assert form["callback_id"] == "section_form" and form["title"]["text"] == "Executive summary"
    assert [b["block_id"] for b in form["blocks"] if b["type"] == "input"] == ["executive_summary"]
    assert assignments(db) == [("summary", "USTRANGER", "asked")]


def _save_summary_as(bot: SlackSender, slack: FakeSlack, user_id: str, text: str, *, nth: int = 0,
                     field: str = "executive_summary") -> dict[str, Any]:
    """Open the form from the person's `nth` DM and save it."""
    message = dm_now(slack, user_id, nth)
    before = len(slack.calls_to("views.open"))
    press(bot, views.OPEN_FORM, buttons(message)[views.OPEN_FORM], user_id, message)
    form = slack.wait_for("views.open", before + 1)[before].response["view"]
    response = bot.submit_view(form, {field: text}, user_id=user_id)
    assert response.status == 200 and response.json() is None, response.json()
    return form


def test_an_editor_assignee_saving_the_section_completes_it_and_the_owner_is_told_once(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Any
) -> None:
    """The whole loop through sections' own save (an editor passes its permission check today)."""
    milestone_id = milestone(db)
    assign(bot, slack, "M-001 summary <@UEDITOR>")
    assign(bot, slack, "M-001 scope <@UEDITOR>")
    dm_calls(slack, "UEDITOR", 2)
    _save_summary_as(bot, slack, "UEDITOR", "We shipped <!channel> it")
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUEDITOR")
    done = dm_now(slack, "UEDITOR")
    assert "Done · revision 2" in dumps(done["blocks"]) and views.CANT_DO not in buttons(done)
    with db() as session:
        assert session.get(Milestone, milestone_id).executive_summary == "We shipped <!channel> it"  # type: ignore[union-attr]
    assert assignments(db) == [("summary", "UEDITOR", "done"), ("scope", "UEDITOR", "asked")]
    assert ("assignment.completed", "summary") in audit_actions(db)

    # A second completion within a few minutes joins the same owner DM, which waits, then goes once.
    _save_summary_as(bot, slack, "UEDITOR", "Narrowed", nth=1, field="scope_final")
    slack.wait_for("chat.update", 2, where=lambda c: c.params.get("channel") == "DUEDITOR")
    assert "Done · revision 3" in dumps(dm_now(slack, "UEDITOR", 1)["blocks"])
    assert not dm_calls_now(slack, "UOWNER")
    sweep_outbox(settings, minutes=4)
    sweep_outbox(settings, minutes=5)
    told = dm_calls_now(slack, "UOWNER")
    assert len(told) == 1
    shown = dumps(told[0].params["blocks"])
    assert "<@UEDITOR> filled in *Executive summary*" in shown and "(revision 2)" in shown
    assert "<@UEDITOR> filled in *Scope*" in shown and "(revision 3)" in shown


def dm_calls_now(slack: FakeSlack, user_id: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") in (user_id, f"D{user_id}")]


def sweep_outbox(settings: Any, minutes: int) -> list[str]:
    from datetime import UTC, datetime

    from bot.clock import send_owed
    from bot.deps import make_deps
    from bot.slack.client import make_web_client
    from bot.slack.jobs import JobContext
    from bot.slack.notifier import Notifier

    deps = make_deps(settings)
    try:
        client = make_web_client(settings)
        now = datetime.now(UTC) + timedelta(minutes=minutes)
        return send_owed(JobContext(deps=deps, client=client, notifier=Notifier(client), now=now))
    finally:
        deps.engine.dispose()


def test_a_non_editor_assignee_saves_the_section_through_the_same_form(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    assign(bot, slack, "M-001 summary <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    _save_summary_as(bot, slack, "USTRANGER", "Filled by the person who knows")
    with db() as session:
        assert session.get(Milestone, milestone_id).executive_summary == "Filled by the person who knows"  # type: ignore[union-attr]
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    assert "Done · revision 2" in dumps(dm_now(slack, "USTRANGER")["blocks"])


def test_a_non_editor_assignee_cannot_open_or_save_any_other_section(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    """Every path into another section: the picker, `edit <section>`, a forged Edit button, a form whose
    metadata names another section. (Holds today and must hold after the may_fill wiring.)"""
    milestone_id = milestone(db)
    assign(bot, slack, "M-001 summary <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    for command in ("edit M-001", "edit M-001 budget", "edit M-001 scope"):
        response = bot.command(command, user_id="USTRANGER")
        said = dumps(response.json()) if response.body else ephemeral(slack, "Only the owner")
        assert "Only the owner and editors" in said
    bot.block_action("section_edit", value=f"{milestone_id}:budget", user_id="USTRANGER")
    ephemeral(slack, "Only the owner")
    assert not slack.calls_to("views.open") and not slack.calls_to("views.push")

    # A form opened for the assigned section, with its metadata changed to another section.
    message = dm_now(slack, "USTRANGER")
    press(bot, views.OPEN_FORM, buttons(message)[views.OPEN_FORM], "USTRANGER", message)
    form = slack.wait_for("views.open")[0].response["view"]
    token = form["private_metadata"]  # signed: an edited client can only break it, never re-point it
    forged = {**form, "private_metadata": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}
    forged["blocks"] = [{**b, "block_id": "scope_final"} if b.get("block_id") == "executive_summary" else b
                        for b in form["blocks"]]
    response = bot.submit_view(forged, {"scope_final": "Sneaky"}, user_id="USTRANGER")
    assert response.json() and response.json()["response_action"] == "errors"
    with db() as session:
        saved = session.get(Milestone, milestone_id)
        assert saved is not None and saved.scope_final is None and saved.revision == 1


def test_cant_do_it_hands_the_section_back_to_the_owner_with_the_reason(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone(db)
    assign(bot, slack, "M-001 budget <@USTRANGER>")
    dm_calls(slack, "USTRANGER")
    message = dm_now(slack, "USTRANGER")
    value = buttons(message)[views.CANT_DO]

    press(bot, views.CANT_DO, value, "UPM", message)  # not theirs
    ephemeral(slack, "not of you")
    assert not slack.calls_to("views.open")

    press(bot, views.CANT_DO, value, "USTRANGER", message)
    modal = slack.wait_for("views.open")[0].response["view"]
    assert modal["callback_id"] == views.HANDBACK_CALLBACK
    assert "reason" in errors_of(bot.submit_view(modal, {"reason": "  "}, user_id="USTRANGER"))
    assert bot.submit_view(modal, {"reason": f"Finance owns it {NASTY}"}, user_id="UPM").json()["errors"]
    assert assignments(db) == [("budget", "USTRANGER", "asked")]

    assert bot.submit_view(modal, {"reason": f"Finance owns it {NASTY}"}, user_id="USTRANGER").json() is None
    owner_dm = dm_calls(slack, "UOWNER")[0]
    shown = dumps(owner_dm.params["blocks"])
    assert "<@USTRANGER> can't fill in *Budget*" in shown and f"Finance owns it {ESCAPED}" in shown
    assert views.ASK_SOMEONE in shown  # the owner can ask someone else from there
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    assert "You handed *Budget*" in dumps(dm_now(slack, "USTRANGER")["blocks"])
    assert assignments(db) == [("budget", "USTRANGER", "handed_back")]
    assert ("assignment.handed_back", "budget") in audit_actions(db)
    # The same submission again (Slack's retry) changes nothing and tells nobody twice.
    assert bot.submit_view(modal, {"reason": f"Finance owns it {NASTY}"}, user_id="USTRANGER").json() is None
    assert len(dm_calls_now(slack, "UOWNER")) == 1


# ---- "Ask someone…" --------------------------------------------------------------------------------------


def test_ask_someone_modal_asks_with_a_due_date_and_a_note(bot: SlackSender, slack: FakeSlack,
                                                           db: sessionmaker[Session]) -> None:
    milestone_id = milestone(db)
    button = views.ask_button(milestone_id, "risks")
    assert bot.block_action(views.ASK_SOMEONE, value=button["value"], user_id="USTRANGER").status == 200
    ephemeral(slack, "Only the owner and editors")
    assert not slack.calls_to("views.open")

    assert bot.block_action(views.ASK_SOMEONE, value=button["value"], user_id="UEDITOR").status == 200
    modal = slack.wait_for("views.open")[0].response["view"]
    assert modal["callback_id"] == views.ASK_CALLBACK and "*Risks*" in dumps(modal["blocks"])
    assert "assignee" in errors_of(bot.submit_view(modal, {}, user_id="UEDITOR"))
    assert "due_date" in errors_of(bot.submit_view(modal, {"assignee": "UQA", "due_date": "2020-01-01"},
                                                   user_id="UEDITOR"))
    answer = bot.submit_view(modal, {"assignee": "UQA", "due_date": DUE.isoformat(), "note": "Top five"},
                             user_id="UEDITOR").json()
    assert answer["response_action"] == "update" and "Asked <@UQA>" in dumps(answer["view"])
    shown = dumps(dm_now(slack, "UQA") if dm_calls(slack, "UQA") else {})
    assert "<@UEDITOR> asks you to fill in *Risks*" in shown and "Top five" in shown and day(DUE) in shown
    tampered = {**modal, "private_metadata": modal["private_metadata"] + "x"}
    assert "out of date" in dumps(errors_of(bot.submit_view(tampered, {"assignee": "UPM"}, user_id="UEDITOR")))
    assert assignments(db) == [("risks", "UQA", "asked")]


# ---- who owes what: Home and "Remind everyone" ------------------------------------------------------------


def test_home_lists_what_is_asked_of_the_person(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone(db)
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    bot.event({"type": "app_home_opened", "user": "USTRANGER", "tab": "home", "event_ts": "1.0"}, event_id="EvA1")
    call = slack.wait_for("views.publish")[-1]
    assert call.response["ok"], call.response
    shown = dumps(call.params["view"])
    assert "Sections asked of you" in shown and "*Budget* of M-001" in shown and views.OPEN_FORM in shown
    assert "Sections asked of someone" not in shown  # not theirs to chase

    # The owner's Home lists who owes what, with the Remind button.
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvA2")
    call = slack.wait_for("views.publish", where=lambda c: c.params.get("user_id") == "UOWNER")[-1]
    assert call.response["ok"], call.response
    shown = dumps(call.params["view"])
    assert "Sections asked of someone in M-001 (1)" in shown and "asked of <@USTRANGER>" in shown
    assert views.REMIND_OWING in shown and "Sections asked of you" not in shown


def test_remind_everyone_who_owes_a_section_sends_one_dm_each_at_most_once_a_day(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    assign(bot, slack, "M-001 budget <@USTRANGER>")
    assign(bot, slack, "M-001 risks <@USTRANGER>")
    assign(bot, slack, "M-001 scope <@UPM>")
    dm_calls(slack, "UPM")
    value = views.remind_button(milestone_id)["value"]

    assert bot.block_action(views.REMIND_OWING, value=value, user_id="USTRANGER").status == 200
    ephemeral(slack, "can remind people")
    assert bot.block_action(views.REMIND_OWING, value=value, user_id="UOWNER").status == 200
    assert "Reminded <@UPM>, <@USTRANGER>" in ephemeral(slack, "Reminded")
    assert len(dm_calls(slack, "USTRANGER", 3)) == 3 and len(dm_calls(slack, "UPM", 2)) == 2
    nudge = dm_calls_now(slack, "USTRANGER")[-1]
    assert "*Budget*" in dumps(nudge.params["blocks"]) and "*Risks*" in dumps(nudge.params["blocks"])

    assert bot.block_action(views.REMIND_OWING, value=value, user_id="UOWNER").status == 200
    assert "already had a reminder today" in ephemeral(slack, "already had")
    assert len(dm_calls_now(slack, "USTRANGER")) == 3 and len(dm_calls_now(slack, "UPM")) == 2
    assert audit_actions(db).count(("assignment.reminded", "budget")) == 1


def test_snooze_from_the_dm_menu_moves_the_reminders(bot: SlackSender, slack: FakeSlack,
                                                     db: sessionmaker[Session]) -> None:
    milestone(db)
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    dm_calls(slack, "USTRANGER")
    menu = views.snooze_menu(1)
    three_days = menu["options"][1]
    assert all(len(o["value"]) <= 150 for o in menu["options"])  # Slack's limit for an option value
    message = dm_now(slack, "USTRANGER")
    for user_id in ("UPM", "USTRANGER"):
        assert bot.block_action(views.SNOOZE, action_type="overflow", selected={"selected_option": three_days},
                                user_id=user_id, message=message).status == 200
    ephemeral(slack, "not of you")
    assert "Snoozed: no reminders about it before" in ephemeral(slack, "Snoozed")
    with db() as session:
        snoozed = session.scalars(select(Assignment.snoozed_until)).one()
        assert snoozed is not None and snoozed >= date.today() + timedelta(days=2)
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    assert "💤 until" in dumps(dm_now(slack, "USTRANGER")["blocks"])
    assert ("assignment.snoozed", "budget") in audit_actions(db)


def test_a_note_too_long_or_an_unknown_person_is_said_plainly(bot: SlackSender, slack: FakeSlack,
                                                              db: sessionmaker[Session]) -> None:
    milestone(db)
    assert "Keep it to 1,000 characters" in assign(bot, slack, "M-001 budget <@USTRANGER> " + "x" * 3000)
    assert assignments(db) == []
    answer = assign(bot, slack, "M-001 budget <@UNOBODY>")
    assert "I could not DM <@UNOBODY> (`channel_not_found`)" in answer and "They got a DM" not in answer


def test_a_dm_whose_answer_was_lost_is_found_by_the_sweep_and_still_edited_in_place(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Any
) -> None:
    """Slack stored the assignee's DM but the bot never heard back: the clock's next pass finds it in the DM's
    history (not sent twice) and records where it is, so reassigning later edits that very message."""
    milestone(db)
    slack.drop_response("chat.postMessage")
    assign(bot, slack, "M-001 budget <@USTRANGER>")
    assert len(slack.messages["DUSTRANGER"]) == 1
    lines = sweep_outbox(settings, minutes=2)
    assert "found assignment_dm to USTRANGER: already in Slack; not sent again" in lines
    assign(bot, slack, "M-001 budget <@UPM>")
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    assert len(slack.messages["DUSTRANGER"]) == 1
    assert "Reassigned to <@UPM>" in dumps(dm_now(slack, "USTRANGER")["blocks"])


def _kill_hard(pid: int) -> None:
    """SIGKILL the gunicorn master and its workers (children first, so none is re-spawned)."""
    import os
    import signal
    from pathlib import Path

    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    for child in children:
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def test_a_web_process_killed_while_sending_the_dm_leaves_it_to_the_sweep_exactly_once(
    slack: FakeSlack, db: sessionmaker[Session], settings: Any, database_url: str, tmp_path: Any
) -> None:
    import time

    from models import Delivery
    from tests.conftest import start_server

    milestone(db)
    server = start_server(database_url, slack, tmp_path / "server.log")
    try:
        sender = SlackSender(server.base_url, slack)
        slack.latency_ms = 1500  # every Slack call is slow: the kill lands while the DM is on its way
        assert sender.command("assign M-001 budget <@USTRANGER>").status == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with db() as session:
                claimed = session.scalars(select(Delivery.status).where(Delivery.kind == "assignment_dm")).all()
            if claimed == ["claimed"]:
                break
            time.sleep(0.05)
        assert claimed == ["claimed"], claimed
        _kill_hard(server.process.pid)
        server.process.wait(timeout=10)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    time.sleep(2)  # the request Slack had in hand finishes (or not): either way the sweep must send once
    slack.latency_ms = 0
    sweep_outbox(settings, minutes=2)
    sweep_outbox(settings, minutes=3)
    assert len(slack.messages["DUSTRANGER"]) == 1
    assert "asks you to fill in *Budget*" in dumps(slack.messages["DUSTRANGER"][0]["blocks"])
    with db() as session:
        assert session.scalars(select(Delivery.status).where(Delivery.kind == "assignment_dm")).all() == ["sent"]
        assert session.scalars(select(Assignment.dm_ts)).one() == slack.messages["DUSTRANGER"][0]["ts"]
