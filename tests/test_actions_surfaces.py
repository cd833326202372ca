"""Action items as a team lives with them (issue 13, items 5 and 8): Reopen after Done, delete with a
confirmation, the old owner's DM after a reassignment, working-day suggestions, escalation after a snooze,
the snooze beside the due date, and `milestone-bot remind` saying why a message waits."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.deps import Deps
from models import ActionItem, ActionStatus, AuditEvent, MilestoneEditor, utcnow
from tests.conftest import ROOT, bot_env
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_actions import TODAY, _assign, block, dumped, items, open_add_modal, press
from tests.test_reminders import FRIDAY_BEFORE, MONDAY, at, deps, dms, make_item, make_milestone, sweep, texts

__all__ = ["deps"]  # the fixture, shared with test_reminders


def audit(db: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with db() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def latest_update(slack: FakeSlack, ts: str, count: int) -> dict[str, Any]:
    return slack.wait_for("chat.update", count, where=lambda c: c.params.get("ts") == ts)[-1].params


def test_done_then_reopen_from_the_dm_and_from_the_list(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    item_id, dm = _assign(bot, slack, db)
    press(bot, dm["blocks"], item_id, "done", user_id="UEDITOR", message=dm)
    closed = latest_update(slack, dm["ts"], 1)
    assert "✅ Done by <@UEDITOR>" in dumped(closed["blocks"])
    press(bot, closed["blocks"], item_id, "reopen", user_id="USTRANGER", message=dm)
    assert "Only the item's owner" in slack.wait_for("response_url")[-1].params["text"]
    press(bot, closed["blocks"], item_id, "reopen", user_id="UEDITOR", message=dm)
    reopened = latest_update(slack, dm["ts"], 2)
    assert "action_done" in dumped(reopened["blocks"]) and "Done by" not in dumped(reopened["blocks"])
    item = items(db)[0]
    assert (item.status, item.done_by, item.done_at) == (ActionStatus.OPEN, None, None)

    listed = bot.command("actions M-042", user_id="UEDITOR").json()["blocks"]
    press(bot, listed, item_id, "done", user_id="UEDITOR")
    after_done = slack.wait_for("response_url", where=lambda c: c.params.get("replace_original"))[-1]
    assert "1 closed" in dumped(after_done.params["blocks"])
    press(bot, after_done.params["blocks"], item_id, "reopen", user_id="UEDITOR")
    after_reopen = slack.wait_for("response_url", 2, where=lambda c: c.params.get("replace_original"))[-1]
    assert "1 open" in dumped(after_reopen.params["blocks"]) and "0 closed" in dumped(after_reopen.params["blocks"])
    assert len(audit(db, "action.done")) == 2 and len(audit(db, "action.reopened")) == 2
    press(bot, closed["blocks"], item_id, "reopen", user_id="UEDITOR", message=dm)  # open already
    assert "already open" in slack.wait_for("response_url", where=lambda c: "already" in str(
        c.params.get("text")))[-1].params["text"]


def test_delete_asks_first_is_audited_and_the_dm_says_so(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    with db() as session, session.begin():
        session.add(MilestoneEditor(milestone_id=milestone, user_id="UEDITOR", added_by="UOWNER"))
    item_id, dm = _assign(bot, slack, db, owner="UPM")
    press(bot, dm["blocks"], item_id, "delete", user_id="USTRANGER", message=dm)
    assert "Only the item's owner, or the owner and editors" in slack.wait_for("response_url")[-1].params["text"]

    press(bot, dm["blocks"], item_id, "delete", user_id="UEDITOR", message=dm)  # an editor of the milestone
    opened = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_delete_modal")
    confirm = opened[0].response["view"]
    assert "Delete this action item for good?" in dumped(confirm["blocks"]) and "Rotate keys" in dumped(confirm)
    assert [i.id for i in items(db)] == [item_id]  # nothing happens before the confirmation

    answer = bot.submit_view(confirm, {"reason": "Duplicate of <!channel> M-7"}, user_id="UEDITOR")
    assert answer.status == 200 and not answer.body, answer.body
    assert items(db) == []
    [event] = audit(db, "action.deleted")
    assert (event.actor_id, event.detail["description"], event.detail["reason"]) == (
        "UEDITOR", "Rotate keys", "Duplicate of <!channel> M-7")
    update = latest_update(slack, dm["ts"], 1)
    assert "Deleted by <@UEDITOR>" in update["text"] and "action_" not in dumped(update["blocks"])
    assert bot.submit_view(confirm, {}, user_id="UEDITOR").status == 200  # the same submission again: no error
    assert len(audit(db, "action.deleted")) == 1


def test_reassigning_updates_the_old_owners_dm_without_controls(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    item_id, dm = _assign(bot, slack, db, owner="UEDITOR")
    press(bot, dm["blocks"], item_id, "reassign", user_id="UOWNER", message=dm)
    form = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_reassign_modal")
    view = form[0].response["view"]
    assert bot.submit_view(view, {"owner_id": "UEDITOR"}, user_id="UOWNER").json()["errors"]["owner_id"].endswith(
        "owns it already; choose someone else.")
    assert bot.submit_view(view, {"owner_id": "UPM"}, user_id="UOWNER").status == 200
    old = latest_update(slack, dm["ts"], 1)
    assert old["channel"] == "DUEDITOR"
    assert "Reassigned to <@UPM> by <@UOWNER>" in old["text"] and "Reassigned to <@UPM> by <@UOWNER>" in dumped(
        old["blocks"])
    assert "action_done" not in dumped(old["blocks"]) and "action_menu" not in dumped(old["blocks"])
    new_dm = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "UPM")[0]
    assert "action_done" in dumped(new_dm.params["blocks"])
    # A later change re-renders the old DM the same way (still no controls for its former owner).
    new_message = copy.deepcopy(slack.messages["DUPM"][-1])
    press(bot, new_message["blocks"], item_id, "done", user_id="UPM", message=new_message)
    again = latest_update(slack, dm["ts"], 2)
    assert "Reassigned to <@UPM>" in again["text"] and "action_" not in dumped(again["blocks"])


def test_suggested_due_dates_fall_on_working_days(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    saturday = TODAY + timedelta(days=(5 - TODAY.weekday()) % 7 or 7)  # a Saturday in the future
    make_milestone(db, planned_end=saturday)  # + 7 days is a Saturday again; WORK_DAYS is mon-fri
    view = open_add_modal(bot, slack)
    monday = saturday + timedelta(days=9)
    hint = block(view, "due_date")["hint"]["text"]
    assert f"{monday:%a} {monday.day} {monday:%b %Y}" in hint
    bot.submit_view(view, {"description": "Retro follow-up", "owner_id": "UOWNER", "horizon": "week1"})
    [item] = items(db)
    assert item.due_date == monday and item.due_date.weekday() == 0


def test_snooze_shows_beside_the_due_date(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone = make_milestone(db)
    due = TODAY + timedelta(days=2)
    item_id = make_item(db, milestone, owner="UEDITOR", due=due)
    listed = bot.command("actions M-042", user_id="UEDITOR").json()["blocks"]
    press(bot, listed, item_id, "snooze7", user_id="UEDITOR")
    shown = dumped(slack.wait_for("response_url", where=lambda c: c.params.get("replace_original"))[0].params)
    until = items(db)[0].snoozed_until
    assert until is not None
    assert f"Due {due:%a} {due.day} {due:%b %Y} · 💤 until {until:%a} {until.day} {until:%b %Y}" in shown


def test_escalation_after_a_snooze_counts_from_the_snooze_end(
    deps: Deps, db: sessionmaker[Session], slack: FakeSlack
) -> None:
    milestone = make_milestone(db, channel=None)
    long_ago = FRIDAY_BEFORE - timedelta(days=14)
    make_item(db, milestone, due=long_ago, description="Never snoozed")
    make_item(db, milestone, due=long_ago, description="Snooze just ended", snoozed_until=MONDAY - timedelta(days=1))
    sweep(deps, at(MONDAY, 15))  # 15:00 London (the item owner), 10:00 New York (the milestone owner)
    [escalation] = dms(slack, "UOWNER")
    assert "1 action item on your milestones needs attention" in texts(escalation)
    assert "Never snoozed" in texts(escalation) and "Snooze just ended" not in texts(escalation)
    [digest] = dms(slack, "UEDITOR")  # both are overdue for their owner again
    assert "Never snoozed" in texts(digest) and "Snooze just ended" in texts(digest)


def test_remind_says_why_messages_wait(db: sessionmaker[Session], slack: FakeSlack, database_url: str) -> None:
    milestone = make_milestone(db, channel="C0001")
    make_item(db, milestone, owner="UOWNER", description="Ship the changelog")  # New York
    make_item(db, milestone, owner="UEDITOR", due=date(2026, 2, 2), description="Old one")  # London
    env = bot_env(database_url, slack, 0)
    early = subprocess.run([sys.executable, "-m", "bot.cli", "remind", "--now", "2026-03-02T10:00:00Z"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert early.returncode == 0, early.stderr
    out = early.stdout
    assert "sent overdue digest to UEDITOR" in out  # 10:00 in London
    assert ("action reminders: digest held: @Olivia Owner (UOWNER) outside working hours "
            "(05:00 America/New_York)") in out
    assert "escalation held: @Olivia Owner (UOWNER) outside working hours (05:00 America/New_York)" in out
    assert "weekly summary held: #C0001" in out
    assert "held in total: 3 outside working hours" in out
    saturday = subprocess.run([sys.executable, "-m", "bot.cli", "remind", "--now", "2026-03-07T15:00:00Z"],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "digest held: @Eddie Editor (UEDITOR) not a working day (Sat 15:00 Europe/London)" in saturday.stdout
    assert "held in total: 4 not a working day" in saturday.stdout, saturday.stdout
    assert len(dms(slack, "UOWNER")) == 0


def test_an_item_reassigned_from_a_digest_leaves_it_without_controls(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], deps: Deps
) -> None:
    milestone = make_milestone(db, channel=None)
    first = make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=3), description="Rotate keys")
    make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=2), description="Renew certificates")
    always = replace(deps.settings, work_start=(0, 0), work_end=(24, 0), work_days=frozenset(range(7)))
    deps.settings = always
    sweep(deps, utcnow())
    [digest] = copy.deepcopy(dms(slack, "UEDITOR"))
    press(bot, digest["blocks"], first, "reassign", user_id="UEDITOR", message=digest)
    form = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_reassign_modal")
    assert bot.submit_view(form[0].response["view"], {"owner_id": "UPM"}, user_id="UEDITOR").status == 200
    update = latest_update(slack, digest["ts"], 1)
    shown = dumped(update["blocks"])
    assert "You have 1 overdue action item" in shown and "Reassigned to <@UPM>" in shown
    assert shown.count("action_done") == 1  # only the item still theirs keeps its controls


def test_a_refusal_after_an_app_home_click_is_shown_in_a_modal(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    item_id = make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=1))
    bot.event({"type": "app_home_opened", "user": "UEDITOR", "tab": "home"}, event_id="EvHome1")
    published = slack.wait_for("views.publish")[0]
    home = slack.views[published.response["view"]["id"]]
    with db() as session, session.begin():  # someone deleted it meanwhile
        session.execute(delete(ActionItem).where(ActionItem.id == item_id))
    press(bot, published.params["view"]["blocks"], item_id, "done", user_id="UEDITOR", view=home)
    notice = slack.wait_for("views.open")[0].params["view"]
    assert "That action item no longer exists." in dumped(notice["blocks"])
