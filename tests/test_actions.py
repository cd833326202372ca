"""Action items over HTTP: the add/edit modal, the list, the buttons on every message that shows items,
who may do what, messages updated in place, and App Home."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.deps import make_deps
from bot.settings import Settings
from models import ActionItem, ActionStatus, AuditEvent, MilestoneEditor, utcnow
from tests.conftest import hold_write_lock
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_reminders import make_item, make_milestone, sweep

TODAY = date.today()


def open_add_modal(bot: SlackSender, slack: FakeSlack, text: str = "action add M-042",
                   user_id: str = "UOWNER") -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    assert bot.command(text, user_id=user_id).status == 200
    call = slack.wait_for("views.open", before + 1)[-1]
    assert call.response["ok"], call.response
    return call.response["view"]


def items(db: sessionmaker[Session]) -> list[ActionItem]:
    with db() as session:
        return list(session.scalars(select(ActionItem).order_by(ActionItem.id)))


def dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_add_an_item_through_the_modal(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    completed = TODAY - timedelta(days=2)
    make_milestone(db, actual_end=completed)
    view = open_add_modal(bot, slack)
    assert view["title"]["text"] == "Add action item"
    hint = block(view, "due_date")["hint"]["text"]
    assert (completed + timedelta(days=30)).strftime("%b %Y") in hint  # suggestions from the completion date

    answer = bot.submit_view(view, {"description": "Migrate <!channel> billing", "horizon": "month1",
                                    "owner_id": "UEDITOR", "priority": "high"})
    assert answer.status == 200 and not answer.body, answer.body  # closed
    [item] = items(db)
    assert (item.description, item.owner_id, item.horizon, item.priority) == (
        "Migrate <!channel> billing", "UEDITOR", "month1", "high")
    assert item.due_date == completed + timedelta(days=30)  # left empty: the horizon's suggestion
    dm = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "UEDITOR")[0]
    assert "Migrate &lt;!channel&gt; billing" in dumped(dm.params["blocks"]) and "<!channel>" not in dumped(dm.params)
    confirm = slack.wait_for("chat.postEphemeral")[0]
    assert confirm.params["user"] == "UOWNER" and "owner <@UEDITOR>" in confirm.params["text"]

    # The same submission again (double click, Slack retry): no second item, no second DM.
    assert bot.submit_view(view, {"description": "Migrate <!channel> billing", "owner_id": "UEDITOR"}).status == 200
    assert len(items(db)) == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "UEDITOR"]) == 1


def test_technical_debt_fields_and_bad_input_keep_the_modal_open(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    view = open_add_modal(bot, slack, "action add m-42 debt")
    assert block(view, "horizon")["element"]["initial_option"]["value"] == "tech_debt"
    answer = bot.submit_view(view, {"description": "", "owner_id": "UTECH", "effort_days": "lots"})
    errors = answer.json()["errors"]
    assert answer.json()["response_action"] == "errors"
    assert set(errors) == {"description", "effort_days"}
    answer = bot.submit_view(view, {"description": "Drop the v1 API", "owner_id": "UTECH", "effort_days": "3"})
    assert set(answer.json()["errors"]) == {"priority"}  # debt needs a priority
    assert items(db) == []
    answer = bot.submit_view(view, {"description": "Drop the v1 API", "owner_id": "UTECH", "effort_days": "3.5",
                                    "planned_sprint": "Sprint 14", "priority": "medium"})
    assert answer.status == 200 and not answer.body
    [item] = items(db)
    assert (item.horizon, str(item.effort_days), item.planned_sprint, item.due_date) == (
        "tech_debt", "3.50", "Sprint 14", None)


def test_only_owners_and_editors_add_items(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone = make_milestone(db)
    answer = bot.command("action add M-042", user_id="USTRANGER")
    assert answer.json()["response_type"] == "ephemeral"
    assert "Only the owner and editors of M-042" in answer.json()["text"]
    assert slack.calls_to("views.open") == []
    with db() as session, session.begin():
        session.add(MilestoneEditor(milestone_id=milestone, user_id="UEDITOR", added_by="UOWNER"))
    open_add_modal(bot, slack, user_id="UEDITOR")
    assert "No milestone `M-999`" in bot.command("action add M-999").json()["text"]
    assert "Usage" in bot.command("action").json()["text"]


def test_list_shows_status_and_overdue_only_to_the_caller(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    make_item(db, milestone, due=TODAY - timedelta(days=10), description="Late one")
    make_item(db, milestone, due=TODAY + timedelta(days=10), description="Future one")
    make_item(db, milestone, due=TODAY - timedelta(days=3), description="Finished one", status=ActionStatus.DONE)
    answer = bot.command("actions M-042", user_id="USTRANGER").json()
    assert answer["response_type"] == "ephemeral"
    shown = dumped(answer["blocks"])
    assert "1 overdue" in shown and "2 open" in shown and "1 closed" in shown
    late = shown.index("Late one")
    assert "Overdue* 10 days" in shown[late:late + 200] and "Done" in shown[shown.index("Finished one"):]
    assert "action_add" in shown  # the "Add action" button
    assert slack.calls_to("chat.postMessage") == []  # nothing posted for others to see


MENU_LABELS = {"snooze1": "Snooze 1 day", "snooze7": "Snooze 1 week", "reassign": "Reassign", "edit": "Edit",
               "delete": "Delete"}


def press(bot: SlackSender, blocks: list[dict[str, Any]], item_id: int, op: str, **kwargs: Any) -> None:
    """Click one item's control as rendered in these blocks: Done/Reopen, or an overflow option by label."""
    controls = next(b for b in blocks if str(b.get("block_id", "")).startswith(f"aa:{item_id}:"))
    if op in ("done", "reopen"):
        button = next(e for e in controls["elements"] if e["action_id"] == f"action_{op}")
        bot.block_action(button["action_id"], value=button["value"], block_id=controls["block_id"], **kwargs)
        return
    menu = next(e for e in controls["elements"] if e["type"] == "overflow")
    chosen = next(o for o in menu["options"] if MENU_LABELS[op] in o["text"]["text"])
    bot.block_action("action_menu", action_type="overflow", selected={"selected_option": chosen},
                     block_id=controls["block_id"], **kwargs)


def _assign(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], owner: str = "UEDITOR") -> tuple[
        int, dict[str, Any]]:
    """Add an item through the modal; returns it and the assignment DM as Slack stores it."""
    view = open_add_modal(bot, slack)
    bot.submit_view(view, {"description": "Rotate keys", "owner_id": owner,
                           "due_date": (TODAY - timedelta(days=5)).isoformat()})
    slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == owner)
    slack.wait_for("chat.postEphemeral")  # the confirmation to the person who added it comes last
    return items(db)[-1].id, copy.deepcopy(slack.messages[f"D{owner}"][-1])  # as first sent (updates change it)


def test_done_from_the_dm_updates_it_in_place_and_refuses_others(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    item_id, dm = _assign(bot, slack, db)
    press(bot, dm["blocks"], item_id, "done", user_id="USTRANGER", message=dm)
    refusal = slack.wait_for("response_url")[-1]
    assert "Only the item's owner" in refusal.params["text"] and refusal.params["response_type"] == "ephemeral"
    assert items(db)[0].status == ActionStatus.OPEN

    press(bot, dm["blocks"], item_id, "done", user_id="UEDITOR", message=dm)
    update = slack.wait_for("chat.update")[0]
    assert (update.params["channel"], update.params["ts"]) == ("DUEDITOR", dm["ts"])
    assert "✅ Done by <@UEDITOR>" in dumped(update.params["blocks"])
    assert "action_done" not in dumped(update.params["blocks"])  # no Done on a closed item: Reopen instead
    assert "action_reopen" in dumped(update.params["blocks"])
    item = items(db)[0]
    assert (item.status, item.done_by) == (ActionStatus.DONE, "UEDITOR")
    press(bot, dm["blocks"], item_id, "done", user_id="UEDITOR", message=dm)  # a second click changes nothing
    told = slack.wait_for("response_url", 2)[-1]
    assert "already closed" in told.params["text"]
    with db() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "action.done")).all() == [
            "action.done"]


def test_snooze_and_reassign_from_the_list(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    make_milestone(db)
    item_id, _dm = _assign(bot, slack, db)
    listed = bot.command("actions M-042", user_id="UEDITOR").json()["blocks"]
    press(bot, listed, item_id, "snooze7", user_id="UEDITOR")
    replaced = slack.wait_for("response_url", where=lambda c: c.params.get("replace_original"))[0]
    assert "💤 until" in dumped(replaced.params["blocks"])
    snoozed = items(db)[0].snoozed_until
    assert snoozed is not None and 6 <= (snoozed - TODAY).days <= 8  # a week in the owner's time zone
    # The assignment DM shows the snooze too (updated in place).
    slack.wait_for("chat.update", where=lambda c: "💤 until" in dumped(c.params["blocks"]))

    press(bot, listed, item_id, "reassign", user_id="USTRANGER")
    slack.wait_for("response_url", where=lambda c: "Only the item's owner" in str(c.params.get("text")))
    assert slack.calls_to("views.open")[-1].params["view"]["callback_id"] != "action_reassign_modal"

    press(bot, listed, item_id, "reassign", user_id="UOWNER")  # the milestone owner
    form = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_reassign_modal")
    answer = bot.submit_view(form[0].response["view"], {"owner_id": "UPM"}, user_id="UOWNER")
    assert answer.status == 200 and not answer.body, answer.body
    dm_new = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "UPM")[0]
    assert "assigned you an action item" in dumped(dm_new.params["blocks"])
    item = items(db)[0]
    assert (item.owner_id, item.snoozed_until) == ("UPM", None)
    # The list it was opened from is refreshed through the response_url kept server-side.
    slack.wait_for("response_url", where=lambda c: c.params.get("replace_original")
                   and "owner <@UPM>" in dumped(c.params.get("blocks")))


def test_edit_updates_the_item_and_its_messages(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    make_milestone(db)
    item_id, dm = _assign(bot, slack, db)
    press(bot, dm["blocks"], item_id, "edit", user_id="USTRANGER", message=dm)
    slack.wait_for("response_url")
    assert slack.calls_to("views.open")[-1].params.get("view", {}).get("callback_id") != "action_edit_modal"

    press(bot, dm["blocks"], item_id, "edit", user_id="UEDITOR", message=dm)
    view = slack.wait_for("views.open", where=lambda c: c.params["view"]["callback_id"] == "action_edit_modal")[0]
    edit = view.response["view"]
    assert block(edit, "description")["element"]["initial_value"] == "Rotate keys"
    # Only the item's owner or the milestone's owner may change the owner; editing the text is fine.
    answer = bot.submit_view(edit, {"description": "Rotate keys & certificates"}, user_id="UEDITOR")
    assert answer.status == 200 and not answer.body, answer.body
    assert items(db)[0].description == "Rotate keys & certificates"
    update = slack.wait_for("chat.update")[0]
    assert update.params["ts"] == dm["ts"] and "Rotate keys &amp; certificates" in dumped(update.params["blocks"])


def test_home_shows_my_items_overdue_first_with_buttons(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    make_item(db, milestone, owner="UEDITOR", due=TODAY + timedelta(days=5), description="Later")
    late = make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=4), description="Overdue")
    make_item(db, milestone, owner="UPM", description="Someone else's")
    bot.event({"type": "app_home_opened", "user": "UEDITOR", "tab": "home"}, event_id="Ev1")
    home = slack.wait_for("views.publish")[0].params["view"]
    shown = dumped(home["blocks"])
    assert "My action items" in shown and shown.index("Overdue") < shown.index("Later")
    assert "Someone else" not in shown and f"aa:{late}:h" in shown

    press(bot, home["blocks"], late, "done", user_id="UEDITOR",
          view=slack.views[slack.calls_to("views.publish")[0].response["view"]["id"]])
    republished = slack.wait_for("views.publish", 2)[-1].params["view"]
    assert '"Overdue' not in dumped(republished["blocks"]) and "Later" in dumped(republished["blocks"])


def test_a_database_failure_while_saving_keeps_the_input(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    make_milestone(db)
    view = open_add_modal(bot, slack)
    with hold_write_lock(engine, "action_items"):
        answer = bot.submit_view(view, {"description": "Keep me", "owner_id": "UEDITOR"})
    assert answer.json()["response_action"] == "errors"
    assert "database was busy" in answer.json()["errors"]["description"]
    assert "Your input is still here" in answer.json()["errors"]["description"]
    assert items(db) == []
    assert bot.submit_view(view, {"description": "Keep me", "owner_id": "UEDITOR"}).status == 200
    assert [i.description for i in items(db)] == ["Keep me"]
    slack.wait_for("chat.postEphemeral")  # the assignment DM and the confirmation follow the ack


def test_done_from_the_digest_updates_the_digest_in_place(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone = make_milestone(db, channel=None)
    first = make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=3), description="Rotate keys")
    make_item(db, milestone, owner="UEDITOR", due=TODAY - timedelta(days=2), description="Renew certificates")
    always = replace(settings, work_start=(0, 0), work_end=(24, 0), work_days=frozenset(range(7)))
    deps = make_deps(always)
    try:
        assert len(sweep(deps, utcnow())) == 1
    finally:
        deps.engine.dispose()
    [digest] = [m for m in slack.messages["DUEDITOR"] if "overdue" in dumped(m["blocks"])]
    assert "You have 2 overdue action items" in dumped(digest["blocks"])
    press(bot, digest["blocks"], first, "done", user_id="UEDITOR", message=digest)
    update = slack.wait_for("chat.update")[0]
    assert update.params["ts"] == digest["ts"]
    blocks = dumped(update.params["blocks"])
    assert "You have 1 overdue action item" in blocks and "✅ Done by <@UEDITOR>" in blocks
    assert "Renew certificates" in blocks and blocks.count("action_done") == 1  # only the open item keeps buttons


def test_add_button_on_the_list_opens_the_form_and_refreshes_the_list(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    listed = bot.command("actions M-042").json()
    button = next(b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("action_id") == "action_add")
    bot.block_action("action_add", value=button["value"], user_id="UOWNER")  # clicked in the ephemeral list
    view = slack.wait_for("views.open")[0].response["view"]
    assert view["callback_id"] == "action_add_modal"
    bot.submit_view(view, {"description": "Archive the old dashboards", "owner_id": "UOWNER",
                           "due_date": TODAY.isoformat()})
    refreshed = slack.wait_for("response_url", where=lambda c: c.params.get("replace_original"))[0]
    assert "Archive the old dashboards" in dumped(refreshed.params["blocks"])
    assert [i.milestone_id for i in items(db)] == [milestone]
    # Assigned to themselves: no DM.
    assert not [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "UOWNER"]
