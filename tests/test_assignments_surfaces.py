"""Who owes what, over HTTP: each section's assignee, due date and state (asked / overdue / done) in the
section picker (with "Ask someone…" and Withdraw), in `/milestone show` and in the sign-off gate's part with
"Remind everyone who owes a section"; withdrawing a request updates the assignee's DM in place."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.assignments import service, views
from bot.sections.service import get_section
from models import Assignment, AuditEvent, Milestone, SignOffRequest, utcnow
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import SlackSender
from tests.test_assignments import (
    DUE,
    assign,
    assignments,
    audit_actions,
    buttons,
    day,
    dm_calls,
    dm_now,
    dumps,
    ephemeral,
    milestone,
    press,
    signing_key,  # noqa: F401  (autouse: the key the bot signs its buttons with)
)
from tests.test_milestones import ESCAPED, NASTY, open_modal


def section_block(view: dict[str, Any], key: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == f"section_{key}")


def controls(view: dict[str, Any], key: str) -> dict[str, str]:
    """The buttons under a section of the picker, by their text."""
    block = next(b for b in view["blocks"] if b.get("block_id") == f"ask_{key}")
    return {e["text"]["text"]: e["value"] for e in block["elements"]}


def current_view(slack: FakeSlack, view_id: str) -> dict[str, Any]:
    return json.loads(json.dumps(slack.views[view_id]))


def overdue(db: sessionmaker[Session], section: str) -> None:
    """The section's request fell due a week ago (the forms refuse past dates, so set it directly)."""
    with db() as session, session.begin():
        session.execute(update(Assignment).where(Assignment.section == section)
                        .values(due_date=date.today() - timedelta(days=7)))


def test_the_picker_shows_who_owes_each_section_and_asks_someone_from_it(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    assign(bot, slack, "M-001 risks <@UPM> due 2099-01-01")
    overdue(db, "risks")
    with db() as session, session.begin():  # the summary was filled in by the person asked
        found = session.get(Milestone, milestone_id)
        assert found is not None
        service.assign(session, found, get_section("summary"), "UQA", "UOWNER", due=None, note=None, now=utcnow())
        service.complete_saved(session, found, ["summary"], "UQA", utcnow())
    picker = open_modal(bot, slack, "edit M-001")
    assert validate_blocks(picker["blocks"], surface="modal") == [] and len(picker["blocks"]) <= 100
    budget = section_block(picker, "budget")["text"]["text"]
    assert f"👤 asked of <@USTRANGER> · due {day(DUE)}" in budget and "overdue" not in budget
    assert "· ⚠️ overdue" in section_block(picker, "risks")["text"]["text"]
    assert "👤 filled by <@UQA> · revision 1" in section_block(picker, "summary")["text"]["text"]
    assert set(controls(picker, "budget")) == {"Ask someone else…", "Withdraw"}
    assert set(controls(picker, "summary")) == {"Ask someone…"}
    assert set(controls(picker, "scope")) == {"Ask someone…"} and "👤" not in section_block(picker, "scope")[
        "text"]["text"]

    # "Ask someone…" beside Scope: the modal opens on top of the picker; asking refreshes the picker.
    before = len(slack.calls_to("views.push"))
    bot.block_action(views.ASK_SOMEONE, value=controls(picker, "scope")["Ask someone…"], view=picker)
    modal = slack.wait_for("views.push", before + 1)[before].response["view"]
    answer = bot.submit_view(modal, {"assignee": "UEDITOR", "due_date": DUE.isoformat(), "note": NASTY})
    assert answer.json()["response_action"] == "update"
    slack.wait_for("views.update", where=lambda c: c.params.get("view_id") == picker["id"])
    fresh = current_view(slack, picker["id"])
    assert f"👤 asked of <@UEDITOR> · due {day(DUE)}" in section_block(fresh, "scope")["text"]["text"]
    assert ESCAPED in dumps(dm_now(slack, "UEDITOR")["blocks"]) and NASTY not in dumps(dm_now(slack, "UEDITOR"))


def test_withdrawing_a_request_updates_the_assignees_dm_in_place_and_is_audited(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone(db)
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    dm_calls(slack, "USTRANGER")
    asked = dm_now(slack, "USTRANGER")
    picker = open_modal(bot, slack, "edit M-001")
    withdraw = controls(picker, "budget")["Withdraw"]

    # Neither a stranger nor the assignee may withdraw it: refused, nothing changes.
    for user_id in ("USTRANGER", "UPM"):
        bot.block_action(views.WITHDRAW, value=withdraw, user_id=user_id, message=asked, channel_id="DUSTRANGER")
    assert len(slack.wait_for("response_url", 2, where=lambda c: "can withdraw" in str(c.params.get("text")))) == 2
    assert assignments(db) == [("budget", "USTRANGER", "asked")]

    bot.block_action(views.WITHDRAW, value=withdraw, user_id="UEDITOR", view=picker)  # an editor, in the picker
    update = slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")[0]
    assert update.response["ok"], update.response
    dm = dm_now(slack, "USTRANGER")
    assert "Withdrawn by <@UEDITOR>" in dumps(dm["blocks"]) and buttons(dm) == {}
    assert len(slack.calls_to("chat.postMessage")) == 1  # edited in place, no second DM
    assert assignments(db) == [("budget", "USTRANGER", "withdrawn")]
    assert ("assignment.withdrawn", "budget") in audit_actions(db)
    slack.wait_for("views.update", where=lambda c: c.params.get("view_id") == picker["id"])
    fresh = current_view(slack, picker["id"])
    assert set(controls(fresh, "budget")) == {"Ask someone…"} and "👤" not in section_block(fresh, "budget")[
        "text"]["text"]

    # A second click changes nothing; the assignee's old buttons are refused, and the section is theirs no more.
    bot.block_action(views.WITHDRAW, value=withdraw, user_id="UOWNER", view=picker)
    slack.wait_for("views.push", where=lambda c: "already withdrawn" in dumps(c.params.get("view")))
    press(bot, views.OPEN_FORM, buttons(asked)[views.OPEN_FORM], "USTRANGER", asked)
    ephemeral(slack, "This request was withdrawn")
    with db() as session:
        found = session.scalars(select(Milestone)).one()
        assert not service.may_fill(session, found, "USTRANGER", "budget")
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "assignment.withdrawn")).all()) == 1


def test_show_lists_who_owes_what_with_withdraw_for_editors_only(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    with db() as session, session.begin():
        session.get(Milestone, milestone_id).name = NASTY  # type: ignore[union-attr]
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    assign(bot, slack, "M-001 risks <@UPM>")
    overdue(db, "budget")

    shown = bot.command("show M-001").json()
    blocks = shown["blocks"]
    assert validate_blocks(blocks, surface="message") == []
    text = dumps(blocks)
    assert "*Sections asked of someone in M-001 (2)*" in text and NASTY not in text
    assert "*Budget* of M-001 · asked of <@USTRANGER> · due" in text and "⚠️ overdue" in text
    assert "*Risks* of M-001 · asked of <@UPM> · no due date" in text
    assert text.count(views.WITHDRAW) == 2 and views.REMIND_OWING in text

    # Someone who may not edit sees who owes what, without the buttons.
    other = dumps(bot.command("show M-001", user_id="USTRANGER").json()["blocks"])
    assert "*Budget* of M-001 · asked of <@USTRANGER>" in other
    assert views.WITHDRAW not in other and views.REMIND_OWING not in other

    # Withdraw from the `show` message: the requests list drops it.
    withdraw = next(b["accessory"]["value"] for b in blocks if "*Risks*" in dumps(b) and "accessory" in b)
    bot.block_action(views.WITHDRAW, value=withdraw, user_id="UOWNER", message={"blocks": blocks, "ts": "1.1"},
                     channel_id="C0001")
    assert "Withdrew the request to <@UPM> for *Risks*" in ephemeral(slack, "Withdrew")
    again = dumps(bot.command("show M-001").json()["blocks"])
    assert "(1)" in again and "*Risks*" not in again


def test_the_gate_lists_open_requests_and_its_button_reminds_each_person_once_a_day(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = milestone(db)
    assign(bot, slack, f"M-001 budget <@USTRANGER> due {DUE.isoformat()}")
    assign(bot, slack, "M-001 risks <@USTRANGER>")
    assign(bot, slack, "M-001 scope <@UPM>")
    assign(bot, slack, "M-001 summary <@UQA>")
    overdue(db, "risks")
    dm_calls(slack, "UQA")
    with db() as session, session.begin():  # one of them is done: the gate lists only what is still owed
        found = session.get(Milestone, milestone_id)
        assert found is not None
        service.complete_saved(session, found, ["summary"], "UQA", utcnow())
    with db() as session:
        found = session.get(Milestone, milestone_id)
        assert found is not None
        gate = views.gate_blocks(found, service.listed_for_milestone(session, milestone_id), date.today())
        assert views.gate_blocks(found, [], date.today()) == []
    assert validate_blocks(gate, surface="message") == [] and validate_blocks(gate, surface="modal") == []
    text = dumps(gate)
    assert "*Still asked of someone (3)*" in text and "*Summary*" not in text
    assert "*Scope* of M-001 · asked of <@UPM>" in text and "*Risks* of M-001 · asked of <@USTRANGER>" in text
    assert "⚠️ overdue" in text
    remind = gate[-1]["elements"][0]
    assert remind["action_id"] == views.REMIND_OWING and remind["text"]["text"] == "Remind everyone who owes a section"

    # The button as the gate shows it, pressed over HTTP: one DM per person who owes, audited, once a day.
    bot.block_action(views.REMIND_OWING, value=remind["value"], user_id="UEDITOR",
                     message={"blocks": gate, "ts": "1.2"}, channel_id="C0001")
    assert "Reminded <@UPM>, <@USTRANGER>" in ephemeral(slack, "Reminded")
    nudges = [c for c in slack.calls_to("chat.postMessage") if "reminds you" in dumps(c.params.get("blocks"))]
    assert sorted(c.params["channel"] for c in nudges) == ["UPM", "USTRANGER"]
    stranger = dumps(next(c for c in nudges if c.params["channel"] == "USTRANGER").params["blocks"])
    assert "*Budget*" in stranger and "*Risks*" in stranger and views.CANT_DO in stranger
    reminded = [a for a in audit_actions(db) if a[0] == "assignment.reminded"]
    assert sorted(s or "" for _, s in reminded) == ["budget", "risks", "scope"]

    bot.block_action(views.REMIND_OWING, value=remind["value"], user_id="UOWNER",
                     message={"blocks": gate, "ts": "1.2"}, channel_id="C0001")
    assert "already had a reminder today" in ephemeral(slack, "already had")
    assert len([c for c in slack.calls_to("chat.postMessage") if "reminds you" in dumps(c.params.get("blocks"))]) == 2
    bot.block_action(views.REMIND_OWING, value=remind["value"], user_id="USTRANGER",
                     message={"blocks": gate, "ts": "1.2"}, channel_id="C0001")
    ephemeral(slack, "can remind people")
    assert len([a for a in audit_actions(db) if a[0] == "assignment.reminded"]) == 3


def test_the_sign_off_gate_names_who_was_asked_for_each_empty_section(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    from tests.test_signoffs import make_milestone

    make_milestone(db, {"QA Lead": "UQA"})
    assign(bot, slack, f"M-001 budget <@UPM> due {DUE.isoformat()}")
    answer = bot.command("signoff M-001").json()  # the gate, before anyone is asked to sign
    assert validate_blocks(answer["blocks"], surface="message") == []
    budget = next(b for b in answer["blocks"] if b.get("block_id") == "gate_budget")["text"]["text"]
    assert budget == f"• Budget · asked <@UPM>, due {day(DUE)}"
    text = dumps(answer["blocks"])
    assert "*Still asked of someone (1)*" in text and "Remind everyone who owes a section" in text
    assert answer["blocks"][-1]["block_id"] == "signoff_confirm"  # the gate's own choices stay last
    with db() as session:  # nothing was requested yet: the gate only asked
        assert session.scalars(select(SignOffRequest)).all() == []
