"""Action items against a hostile client: forged modal metadata and control values are refused with a clear
message (never a 500, never a request to a URL they carry), and Done is closed once when double-clicked."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.actions import views
from bot.slack import payloads
from models import ActionItem, ActionStatus, AuditEvent
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_actions import _assign, dumped, items, open_add_modal, press
from tests.test_reminders import make_item, make_milestone

SECRET = "test-secret-key"  # the server's SECRET_KEY (tests/conftest.py bot_env)
REFUSED = "out of date or was changed"


@pytest.fixture(autouse=True)
def signing_key() -> None:
    payloads.configure(SECRET)  # so this test process can sign payloads the way the server does


def signed(data: dict[str, Any]) -> str:
    """A token signed with the server's key but carrying whatever fields we like (wrong types, unknown kinds)."""
    return str(URLSafeSerializer(SECRET, salt="milestone-bot.payload").dumps(data))


def test_tokens_are_itsdangerous_tokens_whichever_side_signed_them() -> None:
    """Signing is faster than itsdangerous's own serializer, not different: its tokens unpack, ours load with
    it (a long payload compressed as it does), and a changed character is refused."""
    plain = URLSafeSerializer(SECRET, salt="milestone-bot.payload")
    op = views.ItemOp(item=7, op="snooze1", where="m")
    fields = {"v": 1, "k": "action.op", "item": 7, "op": "snooze1", "where": "m"}
    assert views.ItemOp.unpack(plain.dumps(fields)) == op
    assert plain.loads(op.pack()) == fields
    form = views.ActionForm(milestone=1, item=2, home=True, reply=3, channel="C" * 150)
    assert form.pack().startswith(".") and plain.loads(form.pack())["channel"] == "C" * 150
    token = op.pack()
    with pytest.raises(payloads.ForgedPayload):
        views.ItemOp.unpack(token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_forged_metadata_with_a_url_is_refused_and_nothing_is_posted_there(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    view = open_add_modal(bot, slack)
    assert "http" not in view["private_metadata"]  # the real metadata carries no URL at all
    trap = slack.new_response_url()
    forged = [
        json.dumps({"m": milestone, "i": None, "src": {"u": trap, "l": milestone}}),  # the old format
        signed({"v": 1, "k": "action.form", "milestone": milestone, "item": None, "home": False, "reply": None,
                "channel": None, "url": trap}) + "x",  # tampered after signing
        views.ItemOp(item=1, op="done", where="m").pack(),  # genuine, but another kind
        signed({"v": 1, "k": "action.form", "milestone": str(milestone), "item": None, "home": False,
                "reply": None, "channel": None}),  # signed, wrong type
    ]
    for metadata in forged:
        answer = bot.submit_view({**view, "private_metadata": metadata},
                                 {"description": "Exfiltrate the list", "owner_id": "UEDITOR"})
        assert answer.status == 200, answer.body
        assert answer.json()["response_action"] == "errors"
        assert REFUSED in answer.json()["errors"]["description"]
    assert items(db) == []
    assert [c for c in slack.calls if c.method == "response_url"] == []  # nothing went to the URL


@pytest.mark.parametrize("value", ["1", "abc", "1.5", "", "null", signed(
    {"v": 1, "k": "action.op", "item": "1", "op": "done", "where": "m"}), signed(
    {"v": 1, "k": "action.op", "item": 1, "op": "bogus", "where": "m"})])
def test_forged_or_non_integer_control_values_are_refused_clearly(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], value: str
) -> None:
    milestone = make_milestone(db)
    make_item(db, milestone, owner="UEDITOR")
    answer = bot.block_action("action_done", value=value, user_id="UEDITOR", block_id="aa:1:m")
    assert answer.status == 200
    told = slack.wait_for("response_url")[0]
    assert REFUSED in told.params["text"] and told.params["response_type"] == "ephemeral"
    assert items(db)[0].status == ActionStatus.OPEN
    menu = bot.block_action("action_menu", action_type="overflow", user_id="UEDITOR",
                            selected={"selected_option": {"text": {"type": "plain_text", "text": "x"},
                                                          "value": value}})
    assert menu.status == 200
    slack.wait_for("response_url", 2)
    answer = bot.block_action("action_add", value=value, user_id="UOWNER")
    assert answer.status == 200
    assert REFUSED in slack.wait_for("response_url", 3)[-1].params["text"]
    assert slack.calls_to("views.open") == []


def test_a_control_for_an_item_of_another_workspace_is_not_found(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone = make_milestone(db)
    item_id = make_item(db, milestone, owner="UEDITOR")
    done = views.ItemOp(item=item_id, op="done", where="m").pack()
    bot.block_action("action_done", value=done, user_id="UEDITOR", team_id="T_OTHER")
    assert "no longer exists" in slack.wait_for("response_url")[0].params["text"]
    assert items(db)[0].status == ActionStatus.OPEN


def test_double_done_closes_once_and_tells_the_second_click(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    item_id, dm = _assign(bot, slack, db)
    start = threading.Barrier(2)

    def click() -> None:
        start.wait()
        press(bot, dm["blocks"], item_id, "done", user_id="UEDITOR", message=dm)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    told = slack.wait_for("response_url", where=lambda c: "already closed" in str(c.params.get("text")))
    assert len(told) == 1
    slack.wait_for("chat.update", where=lambda c: "Done by" in dumped(c.params.get("blocks")))
    with db() as session:
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "action.done")).all()
        assert events == ["action.done"]
        item = session.get(ActionItem, item_id)
        assert item is not None and (item.status, item.done_by) == (ActionStatus.DONE, "UEDITOR")
