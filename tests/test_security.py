"""What an intruder tries at the front door: unverified requests, malformed bodies, outsiders posing as admins,
and characters the database or Slack would choke on. Every case goes over HTTP to the real web process."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import AuditEvent, Milestone, MilestoneEditor
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http, sign
from tests.test_milestones import arrange

FORM = "application/x-www-form-urlencoded"


def _outbound(slack: FakeSlack) -> list[str]:
    return [c.method for c in slack.calls]


@pytest.mark.parametrize("timestamp", ["not-a-number", "", "1e9", "-1", " 1700000000"])
def test_a_request_with_a_broken_timestamp_gets_401_and_the_bot_calls_nothing(
    bot: SlackSender, slack: FakeSlack, timestamp: str
) -> None:
    response_url = slack.new_response_url()
    body = urllib.parse.urlencode({"command": "/milestone", "text": "help", "user_id": "UOWNER",
                                   "team_id": "T0001", "response_url": response_url}).encode()
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": sign(body, int(time.time()))}
    assert http("POST", bot.events_url, body, headers).status == 401
    time.sleep(0.3)
    assert _outbound(slack) == []


def test_an_unsigned_payload_naming_a_response_url_is_refused_and_the_url_never_called(
    bot: SlackSender, slack: FakeSlack
) -> None:
    response_url = slack.new_response_url()
    payload = {"type": "block_actions", "user": {"id": "UOWNER"}, "actions": [{"action_id": "nope"}],
               "response_url": response_url, "team": {"id": "T0001"}}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    for signature in ("", "v0=deadbeef", "garbage", "v1=" + "0" * 64):
        answer = bot.post(body, FORM, signature=signature)
        assert answer.status == 401
    time.sleep(0.3)
    assert _outbound(slack) == []


@pytest.mark.parametrize(
    "body",
    [
        b"payload=%7Bnot-json",
        b"payload=%5B1%2C2%5D",
        b"\xff\xfe\x00garbage",
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": "UOWNER"},
                                                       "actions": []})}).encode(),
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "actions": [{"action_id": "x"}]})}
                               ).encode(),
        urllib.parse.urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "UOWNER"},
                                                       "view": {"id": "V1", "state": None}})}).encode(),
        urllib.parse.urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": "UOWNER"},
                                                       "view": {"id": "V1", "state": {"values": {}},
                                                                "private_metadata": {"m": 1}}})}).encode(),
        urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions", "user": "UOWNER",
                                                       "actions": [{"action_id": "x"}]})}).encode(),
        urllib.parse.urlencode({"payload": json.dumps({"type": "made_up"})}).encode(),
        urllib.parse.urlencode({"command": "/milestone", "text": "help"}).encode(),  # no user_id
    ],
    ids=["bad-json", "json-array", "not-utf8", "empty-actions", "no-user", "state-null", "metadata-object",
         "user-string", "unknown-type", "command-without-user"],
)
def test_a_signed_but_malformed_request_gets_400_not_a_traceback(
    bot: SlackSender, slack: FakeSlack, body: bytes
) -> None:
    assert bot.post(body, FORM).status == 400
    time.sleep(0.2)
    assert _outbound(slack) == []


def test_a_malformed_json_event_gets_400(bot: SlackSender) -> None:
    assert bot.post(b'{"type": "event_callback", "event": "x"}', "application/json").status == 400
    assert bot.post(b"[]", "application/json").status == 400


def _edit_attempt(bot: SlackSender, slack: FakeSlack, user: str) -> str:
    """The outsider runs `/milestone edit`; returns what they were told (ephemeral) or 'opened'."""
    before, told = len(slack.calls_to("views.open")), len(slack.calls_to("response_url"))
    answer = bot.command("edit M-001 summary", user_id=user)
    assert answer.status == 200
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if len(slack.calls_to("views.open")) > before:
            return "opened"
        said = slack.calls_to("response_url")[told:]
        if said:
            return json.dumps(said[-1].params)
        if answer.body and b"Only the owner" in answer.body:
            return answer.body.decode()
        time.sleep(0.05)
    return answer.body.decode()


def test_an_admin_of_another_workspace_is_an_outsider_here(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    arrange(db)
    slack.add_user("UCONNECT", name="Connie Connect", tz="UTC", is_admin=True, team_id="T_OTHER")
    told = _edit_attempt(bot, slack, "UCONNECT")
    assert told != "opened" and "Only the owner and editors" in told
    # The same flag in this workspace does open it: the check is about the workspace, not the flag.
    assert _edit_attempt(bot, slack, "UADMIN") == "opened"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(MilestoneEditor)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("argument", ["M-901\x00", "M-\u00b9", "M-\u00b2\u00b3", "M-1\u202e", "\x1b[31mM-1"])
def test_command_arguments_with_odd_characters_get_a_clear_answer(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], argument: str
) -> None:
    arrange(db)
    answer = bot.command(f"show {argument}")
    assert answer.status == 200
    text = json.dumps(answer.json())
    assert "No milestone" in text or "control character" in text, text


def test_a_new_milestone_id_with_superscript_digits_is_refused_next_to_the_field(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    from tests.test_milestones import approvers, errors_of, open_modal

    view = open_modal(bot, slack, "new")
    values = {"key": "M-\u00b2", "name": "Odd", **approvers(project_sponsor="USPONSOR")}
    assert "key" in errors_of(bot.submit_view(view, values))
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Milestone)) == 0


@pytest.mark.parametrize("text", ["Before\x00after", "bell\x07", "rtl \u202e override", "esc \x1b[2J"])
def test_control_characters_in_a_field_are_refused_next_to_it_and_nothing_is_saved(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], text: str
) -> None:
    from tests.test_milestones import approvers, errors_of, open_modal

    view = open_modal(bot, slack, "new")
    values = {"name": text, **approvers(project_sponsor="USPONSOR")}
    errors = errors_of(bot.submit_view(view, values))
    assert "control character" in errors["name"]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Milestone)) == 0
