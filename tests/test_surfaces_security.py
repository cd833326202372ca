"""Hostile text and forged payloads on milestones, sections, feedback, Home and reports, over HTTP.

Hostile text: Slack turns `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` and `<https://…|…>` in mrkdwn into pings,
mentions and links. Typed text goes into every command argument and modal field of these features; then every
text the bot sent (each recorded call to the fake Slack, each answer to a command) is searched for those
sequences coming back unescaped.

Forged payloads: button values and private_metadata are signed; a changed, swapped or made-up one is refused
with a clear message (never a 500, never acted on).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import FeedbackResponse, Milestone
from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import HttpResponse, SlackSender
from tests.test_milestones import arrange, create, open_modal
from tests.test_sections import button, pushed

HOSTILE = "<!channel> <!here> <@UEVIL> <#CEVIL> <https://evil.example|click>"
LEAKS = ("<!channel", "<!here", "<@UEVIL", "<#CEVIL", "<https://evil.example")
SENDING = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.push", "views.update",
           "views.publish", "response_url")
# Values a person typed, shown back to them as the input's own content: not mrkdwn, never a ping.
NOT_MRKDWN = ("initial_value", "value", "private_metadata", "initial_option", "initial_options", "placeholder")


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every string Slack would read as mrkdwn (message text, mrkdwn text objects, errors), not inputs."""
    if isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)
    elif isinstance(node, dict):
        if node.get("type") == "plain_text":
            return
        for key, value in node.items():
            if key in NOT_MRKDWN:
                continue
            if isinstance(value, str) and key in ("text", "errors"):
                yield value
            elif key == "errors" and isinstance(value, dict):
                yield from (str(v) for v in value.values())
            else:
                yield from mrkdwn_texts(value)


def leaks(slack: FakeSlack, answers: list[HttpResponse]) -> list[str]:
    texts: list[str] = []
    for call in slack.calls:
        if call.method in SENDING:
            texts += mrkdwn_texts(call.params)
    for answer in answers:
        if answer.body:
            try:
                texts += mrkdwn_texts(answer.json())
            except ValueError:
                texts.append(answer.body.decode())
    return [t for t in texts if any(leak in t for leak in LEAKS)]


def test_hostile_text_in_every_argument_and_field_never_reaches_slack_unescaped(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    answers: list[HttpResponse] = []
    # The new-milestone form: a hostile name; a hostile ID is refused with its field error.
    view = open_modal(bot, slack, "new")
    answers.append(bot.submit_view(view, {"key": HOSTILE, "name": HOSTILE, "approver_qa_lead": "UQA"}))
    create(bot, slack, {"name": HOSTILE})
    # Sections: a text field and a table row.
    form = open_modal(bot, slack, "edit M-001 summary")
    answers.append(bot.submit_view(form, {"executive_summary": HOSTILE}))
    listing = open_modal(bot, slack, "edit M-001 risks")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    answers.append(bot.submit_view(pushed(slack, 1), {"risk": HOSTILE, "management": HOSTILE}))
    # Feedback: a comment (shown in the summary).
    feedback = open_modal(bot, slack, "feedback M-001", user_id="UTECH")
    answers.append(bot.submit_view(feedback, {"satisfaction": "4", "nps": "9", "group": "beta_user",
                                              "comment": HOSTILE, "themes": ["improvement"]}, user_id="UTECH"))
    # Every command argument of these features, and the surfaces that show what was typed.
    for text in (HOSTILE, f"show {HOSTILE}", "show M-001", f"edit {HOSTILE}", f"edit M-001 {HOSTILE}", "list",
                 f"feedback {HOSTILE}", f"feedback request M-001 {HOSTILE}", "feedback summary M-001",
                 f"feedback summary {HOSTILE}", f"report M-001 {HOSTILE}", f"report {HOSTILE}",
                 "report M-001 preview", f"help {HOSTILE}", f"new {HOSTILE}"):
        answers.append(bot.command(text))
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvX1")
    slack.wait_for("views.publish")
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    assert leaks(slack, answers) == []
    # The hostile text was shown (escaped), not dropped: the search above looked at real content.
    shown = json.dumps([c.params for c in slack.calls if c.method in SENDING]) + "".join(
        a.body.decode() for a in answers)
    assert "&lt;!channel&gt;" in shown


def test_control_characters_and_odd_digits_in_commands_get_a_clear_answer(bot: SlackSender, slack: FakeSlack,
                                                                         db: sessionmaker[Session]) -> None:
    arrange(db, "M-901")
    for text, expected in (("show M-901\x00", "control character"), ("show M-901\u202e", "control character"),
                           ("show M-¹", "No milestone has that ID"), ("edit M-²", "No milestone has that ID"),
                           ("feedback summary M-²", "No milestone has that ID")):
        assert expected in command_answer(bot, slack, text), text
    view = open_modal(bot, slack, "new")
    errors = bot.submit_view(view, {"key": "M-²", "name": "x", "approver_qa_lead": "UQA"}).json()["errors"]
    assert errors["key"] == "Use an ID like M-042: M- and a number."


def command_answer(bot: SlackSender, slack: FakeSlack, text: str, user_id: str = "UOWNER") -> str:
    """What a command answered only to its caller: in the ack, or (after an early ack) via response_url."""
    before = len(slack.calls_to("response_url"))
    answer = bot.command(text, user_id=user_id)
    assert answer.status == 200, text
    if answer.json():
        return str(answer.json()["text"])
    return str(slack.wait_for("response_url", before + 1)[before].params["text"])



def _tamper(token: str) -> str:
    """Change one character of the signed part, as an edited client would."""
    middle = len(token) // 3
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]


def test_forged_button_values_are_refused_with_a_clear_message(bot: SlackSender, slack: FakeSlack,
                                                               db: sessionmaker[Session]) -> None:
    milestone_id = arrange(db)
    picker = open_modal(bot, slack, "edit M-001")
    real = button(picker, "section_edit")
    cases = [
        ("milestone_show", str(milestone_id)),  # the old format: a bare id
        ("milestone_sections", _tamper(real)),
        ("section_edit", _tamper(real)),
        ("section_row_remove", real),  # a real token of another kind's shape is still only a section.edit
        ("feedback_give", real),  # signed by us, but for another kind
        ("milestone_new_button", "new"),
    ]
    for action_id, value in cases:
        before = len(slack.calls_to("response_url"))
        response = bot.block_action(action_id, value=value)
        assert response.status == 200, action_id
        told = slack.wait_for("response_url", before + 1)[before].params["text"]
        assert "out of date or was changed" in told, (action_id, told)
    assert slack.calls_to("views.push") == [] and len(slack.calls_to("views.open")) == 1  # only the picker


def test_a_forged_click_on_app_home_is_told_in_a_modal(bot: SlackSender, slack: FakeSlack,
                                                       db: sessionmaker[Session]) -> None:
    arrange(db)
    home = {"id": "VHOME", "type": "home", "blocks": []}
    assert bot.block_action("feedback_give", value="12", view=home).status == 200
    notice = slack.wait_for("views.open")[0].params["view"]
    assert "out of date or was changed" in json.dumps(notice)


def test_forged_modal_metadata_keeps_the_modal_open_and_changes_nothing(bot: SlackSender, slack: FakeSlack,
                                                                        db: sessionmaker[Session]) -> None:
    arrange(db)
    new = open_modal(bot, slack, "new")
    summary = open_modal(bot, slack, "edit M-001 summary")
    feedback = open_modal(bot, slack, "feedback M-001", user_id="UTECH")
    forged = [
        (new, {"private_metadata": _tamper(new["private_metadata"])}, {"name": "Forged", "approver_qa_lead": "UQA"}),
        (summary, {"private_metadata": '{"m": 1, "s": "summary"}'}, {"executive_summary": "Forged"}),
        (summary, {"private_metadata": feedback["private_metadata"]}, {"executive_summary": "Forged"}),
        (feedback, {"private_metadata": json.dumps({"milestone_id": 1})},
         {"satisfaction": "1", "nps": "0", "group": "beta_user"}),
    ]
    for view, change, values in forged:
        response = bot.submit_view({**view, **change}, values, user_id="UTECH" if view is feedback else "UOWNER")
        assert response.status == 200
        errors = response.json()["errors"]
        assert any("out of date or was changed" in e for e in errors.values()), errors
    with db() as session:
        assert session.scalars(select(Milestone.name)).all() == ["Milestone M-001"]
        assert session.scalars(select(Milestone.executive_summary)).one() is None
        assert session.scalars(select(FeedbackResponse)).all() == []
    assert CHANNEL  # the channel note was never owed: nothing was created
    assert slack.calls_to("chat.postMessage") == []
