"""Edits after sign-off are deliberate, and the completeness gate helps (issue 12), over HTTP.

A change of substance to a report in review or accepted is not saved at once: the modal turns into a
confirmation that says what saving will do, keeps what was typed, and saves only when confirmed; the owner
may mark the edit editorial (every sign-off stays valid, the report's sign-off table shows it). Fields that
are not report content never ask. The gate before asking lists the empty sections under the template's
headings, each with a button that opens its form.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.reports.loading import load_report
from bot.reports.rendering import render_markdown
from bot.sections.service import HEADINGS, get_section
from bot.settings import Settings
from models import AuditEvent, BudgetLine, Milestone, MilestoneEditor, SignOff
from tests.conftest import CHANNEL, wait_until_quiet
from tests.fakeslack import Call, FakeSlack, validate_blocks, validate_view
from tests.harness import SlackSender
from tests.test_signoffs import (
    button_value,
    channel_posts,
    dm,
    dm_posts,
    make_milestone,
    open_and_submit,
    request_signoff,
    status_message,
    sweep_later,
)

ROLES = {"Technical Lead": "UTECH", "QA Lead": "UQA", "Product Owner": "UPO"}
CONFIRM = "section_confirm"


def _accepted(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], roles: dict[str, str] = ROLES) -> int:
    """M-001 with these approvers, asked and approved by all: accepted. UEDITOR edits it too."""
    milestone_id = make_milestone(db, roles)
    with db() as session, session.begin():
        session.add(MilestoneEditor(milestone_id=milestone_id, user_id="UEDITOR", added_by="UOWNER"))
    request_signoff(bot, slack, milestone_id, dms=len(set(roles.values())))
    for person in roles.values():
        open_and_submit(bot, slack, person, "signoff_approve", {})
        wait_until_quiet(slack, idle=0.3)
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
    # The final report and the acceptance's thread post (one of them waits Slack's pace: a post a second).
    for key in ("final_report_post", "signoff_accepted"):
        slack.wait_for("chat.postMessage", where=lambda c, key=key: key in json.dumps(c.params.get("metadata")))
    wait_until_quiet(slack, idle=0.3)
    return milestone_id


def _form(bot: SlackSender, slack: FakeSlack, text: str, user_id: str = "UOWNER") -> dict[str, Any]:
    opened = len(slack.calls_to("views.open"))
    bot.command(text, user_id=user_id)
    return dict(slack.wait_for("views.open", opened + 1)[-1].response["view"])


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def _state(db: sessionmaker[Session], milestone_id: int) -> tuple[str, int, bool, list[bool]]:
    """(status, revision, accepted, [outdated?] per sign-off)."""
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        outdated = [s.outdated_at is not None for s in session.scalars(select(SignOff).order_by(SignOff.id))]
        return milestone.status, milestone.revision, milestone.accepted_at is not None, outdated


def _says(words: str) -> Callable[[Call], bool]:
    return lambda c: c.params.get("channel") == CHANNEL and words in json.dumps(c.params.get("blocks"),
                                                                                ensure_ascii=False)


def _status_edited(slack: FakeSlack, words: str, action: Callable[[], Any]) -> Any:
    """Do `action`, then wait until the channel's status message is edited once more to say `words` (the hooks
    that outdate sign-offs run after the modal's answer). What `action` returned."""
    before = len([c for c in slack.calls_to("chat.update") if _says(words)(c)])
    result = action()
    slack.wait_for("chat.update", before + 1, where=_says(words))
    wait_until_quiet(slack, idle=0.3)
    return result


def _confirm(bot: SlackSender, form: dict[str, Any], shown: dict[str, Any], values: dict[str, Any] | None = None,
             user_id: str = "UOWNER") -> Any:
    """Submit the confirmation Slack shows in place of `form` (same view id, a new hash)."""
    return bot.submit_view({**shown, "id": form["id"], "hash": "confirmation"}, values or {}, user_id=user_id)


def test_status_complete_on_an_accepted_milestone_asks_first_then_saves_outdates_and_asks_again(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = _accepted(bot, slack, db)
    before = _state(db, milestone_id)
    dms = {p: len(dm_posts(slack, p)) for p in ROLES.values()}
    posts, edits = len(channel_posts(slack)), len(slack.calls_to("chat.update"))

    form = _form(bot, slack, "edit M-001 details")
    answer = bot.submit_view(form, {"status": "complete"}).json()
    assert answer["response_action"] == "update"
    shown = answer["view"]
    assert shown["callback_id"] == CONFIRM and validate_view(shown) == []
    text = _text(shown)
    assert "3 sign-offs become outdated; <@UTECH>, <@UQA> and <@UPO> will be asked again" in text
    assert "the acceptance is withdrawn" in text and "Your change:* Milestone details — Status" in text
    status = next(b for b in shown["blocks"] if b.get("block_id") == "status")
    assert status["element"]["initial_option"]["value"] == "complete"  # what was typed is kept
    assert any(b.get("block_id") == "signoff_editorial" for b in shown["blocks"])  # the owner may say "editorial"
    assert [shown["submit"]["text"], shown["close"]["text"]] == ["Confirm & save", "Cancel"]

    wait_until_quiet(slack, idle=0.3)  # nothing saved, nobody told
    assert _state(db, milestone_id) == before
    assert {p: len(dm_posts(slack, p)) for p in ROLES.values()} == dms
    assert len(slack.calls_to("chat.update")) == edits

    done = _status_edited(slack, "Reopened", lambda: _confirm(bot, form, shown).json())
    assert "Saved · Milestone details" in _text(done["view"]) and "3 sign-offs are outdated" in _text(done["view"])
    status_value, revision, accepted, outdated = _state(db, milestone_id)
    assert (status_value, revision, accepted, outdated) == ("complete", before[1] + 1, False, [True, True, True])
    channel = json.dumps(status_message(slack, db, milestone_id)["blocks"], ensure_ascii=False)
    assert "Reopened" in channel and "Outdated" in channel
    assert {p: len(dm_posts(slack, p)) for p in ROLES.values()} == dms  # the re-asks wait for the edits to settle
    sweep_later(settings, minutes=settings.signoff_settle_minutes + 1)
    assert {p: len(dm_posts(slack, p)) for p in ROLES.values()} == {p: n + 1 for p, n in dms.items()}
    assert "changed after you signed" in json.dumps(dm(slack, "UQA")["blocks"])
    assert len(channel_posts(slack)) == posts + 0  # one status message, edited in place (and nothing else)


def test_an_editorial_edit_keeps_every_sign_off_valid_and_shows_in_the_sign_off_table(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = _accepted(bot, slack, db, {"QA Lead": "UQA", "Product Owner": "UPO"})
    dms = {p: len(dm_posts(slack, p)) for p in ("UQA", "UPO")}

    # An editor is asked too, but may not call it editorial: only the owner may.
    form = _form(bot, slack, "edit M-001 summary", user_id="UEDITOR")
    shown = bot.submit_view(form, {"executive_summary": "Shipped the beta."}, user_id="UEDITOR").json()
    assert "Nothing changed" in _text(shown["view"])  # nothing to confirm
    form = _form(bot, slack, "edit M-001 summary", user_id="UEDITOR")
    shown = bot.submit_view(form, {"executive_summary": "Shiped the beta <!channel>."}, user_id="UEDITOR").json()
    assert shown["view"]["callback_id"] == CONFIRM
    assert "signoff_editorial" not in _text(shown["view"]) and "Tick *Editorial" not in _text(shown["view"])
    forged = {**shown["view"], "blocks": [*shown["view"]["blocks"], {
        "type": "input", "block_id": "signoff_editorial", "label": {"type": "plain_text", "text": "x"},
        "element": {"type": "checkboxes", "action_id": "value",
                    "options": [{"text": {"type": "plain_text", "text": "yes"}, "value": "yes"}]}}]}
    refused = _confirm(bot, form, forged, {"signoff_editorial": ["yes"]}, user_id="UEDITOR").json()
    assert refused["response_action"] == "errors" and "Only the milestone's owner" in refused["errors"][
        "signoff_editorial"]

    # The owner fixes a typo and says so.
    form = _form(bot, slack, "edit M-001 summary")
    shown = bot.submit_view(form, {"executive_summary": "Shipped the beta | on time."}).json()["view"]
    assert "Tick *Editorial change*" in _text(shown)
    done = _status_edited(slack, "editorial edits since",
                          lambda: _confirm(bot, form, shown, {"signoff_editorial": ["yes"]}).json())
    assert "Marked editorial: every sign-off stays valid" in _text(done["view"])
    _status, revision, accepted, outdated = _state(db, milestone_id)
    assert accepted and outdated == [False, False]
    with db() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "signoff.editorial_edit")).one()
        assert (event.actor_id, event.revision, event.section) == ("UOWNER", revision, None)
        assert session.get(Milestone, milestone_id).executive_summary == "Shipped the beta | on time."  # type: ignore[union-attr]
        markdown = render_markdown(load_report(session, milestone_id))
    sweep_later(settings, minutes=settings.signoff_settle_minutes + 1)
    assert {p: len(dm_posts(slack, p)) for p in ("UQA", "UPO")} == dms  # nobody is asked again
    assert _state(db, milestone_id)[2:] == (True, [False, False])
    channel = json.dumps(status_message(slack, db, milestone_id)["blocks"], ensure_ascii=False)
    assert "Accepted*" in channel and f"(editorial edits since, now rev {revision})" in channel

    table = [line for line in markdown.splitlines() if line.startswith("| QA Lead") or line.startswith("| Product")]
    assert len(table) == 2 and all(f"editorial edit at revision {revision} by Olivia Owner" in row for row in table)
    assert "Shipped the beta \\| on time." in markdown  # the pipe typed stays inside its cell

    # A later change of substance outdates them after all.
    form = _form(bot, slack, "edit M-001 summary")
    shown = bot.submit_view(form, {"executive_summary": "Shipped the beta, late."}).json()["view"]
    _status_edited(slack, "Reopened", lambda: _confirm(bot, form, shown))
    assert _state(db, milestone_id)[2:] == (False, [True, True])


def test_a_field_that_is_not_report_content_saves_without_asking(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = _accepted(bot, slack, db, {"QA Lead": "UQA"})
    before = _state(db, milestone_id)
    form = _form(bot, slack, "edit M-001 details")
    # Where the report goes and whether the final report is posted are settings (the currency is content: the
    # report prints every amount in it).
    answer = bot.submit_view(form, {"report_channel_id": "C0OTHER", "post_final_report": []}).json()
    assert answer["view"]["callback_id"] != CONFIRM and "Saved · Milestone details" in _text(answer["view"])
    assert _state(db, milestone_id) == before  # no new revision, the sign-off and the acceptance stand
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        assert (milestone.report_channel_id, milestone.post_final_report) == ("C0OTHER", False)


def test_a_forged_or_stale_confirmation_is_refused_or_asked_again(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA", "Product Owner": "UPO"})
    request_signoff(bot, slack, milestone_id, dms=2)
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})  # in review: one of two signed
    wait_until_quiet(slack, idle=0.3)
    before = _state(db, milestone_id)

    form = _form(bot, slack, "edit M-001 summary")
    shown = bot.submit_view(form, {"executive_summary": "Rewritten."}).json()["view"]
    assert "1 sign-off becomes outdated; <@UQA> will be asked again" in _text(shown)
    assert "acceptance" not in _text(shown)  # not accepted yet

    meta = shown["private_metadata"]
    for altered in (meta[:-2] + ("AA" if not meta.endswith("AA") else "BB"), "", "x" * 40):
        answer = _confirm(bot, form, {**shown, "private_metadata": altered}).json()
        assert answer["response_action"] == "errors"
        assert "out of date or was changed" in next(iter(answer["errors"].values()))
    assert _state(db, milestone_id) == before

    # Someone signs while the confirmation is open: it says what saving does now and asks again.
    open_and_submit(bot, slack, "UPO", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    again = _confirm(bot, form, shown).json()
    assert again["response_action"] == "update" and again["view"]["callback_id"] == CONFIRM
    assert "changed while this was open" in _text(again["view"]) and "2 sign-offs become outdated" in _text(
        again["view"]) and "the acceptance is withdrawn" in _text(again["view"])
    assert _state(db, milestone_id)[3] == [False, False]
    _status_edited(slack, "Reopened", lambda: _confirm(bot, form, again["view"]))
    assert _state(db, milestone_id)[2:] == (False, [True, True])


def test_table_rows_added_and_removed_after_sign_off_ask_first_and_the_way_back_keeps_the_input(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = _accepted(bot, slack, db, {"QA Lead": "UQA"})
    listing = _form(bot, slack, "edit M-001 budget")
    pushed = len(slack.calls_to("views.push"))
    bot.block_action("section_row_add", value=button_value(listing, "section_row_add"), view=listing)
    row_form = slack.wait_for("views.push", pushed + 1)[-1].response["view"]
    typed = {"category": "Labor <!channel>", "budgeted": "1200", "actual": "1300"}
    shown = bot.submit_view(row_form, typed).json()["view"]
    assert shown["callback_id"] == CONFIRM and "a new budget line" in _text(shown)
    assert "&lt;!channel&gt;" not in _text(shown)  # typed text sits in an input, not in mrkdwn

    # The way back: the row form again, with what was typed.
    updates = len(slack.calls_to("views.update"))
    back = {**shown, "id": row_form["id"], "hash": row_form["hash"]}
    bot.block_action("section_confirm_back", view=back)
    form_again = slack.wait_for("views.update", updates + 1)[-1].params["view"]
    form_again = json.loads(form_again) if isinstance(form_again, str) else form_again
    assert form_again["callback_id"] == "section_row"
    category = next(b for b in form_again["blocks"] if b.get("block_id") == "category")
    assert category["element"]["initial_value"] == "Labor <!channel>"
    with db() as session:
        assert session.scalars(select(BudgetLine)).all() == []

    closed = _status_edited(slack, "Reopened", lambda: _confirm(bot, row_form, shown).json())
    assert closed is None  # the row form closes: back to the list, which is refreshed
    with db() as session:
        (line,) = session.scalars(select(BudgetLine)).all()
        assert line.category == "Labor <!channel>"
    assert _state(db, milestone_id)[2:] == (False, [True])

    # Asked again once the edits settle, QA signs again; then removing the row asks in a modal first.
    sweep_later(settings, minutes=settings.signoff_settle_minutes + 1)
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    wait_until_quiet(slack, idle=0.3)
    assert _state(db, milestone_id)[2] is True
    listing = _form(bot, slack, "edit M-001 budget")
    remove = next(e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"].startswith("section_row_remove"))
    assert remove["action_id"] == "section_row_remove_ask" and "confirm" not in remove
    pushed = len(slack.calls_to("views.push"))
    bot.block_action(remove["action_id"], value=remove["value"], view=listing)
    confirm = slack.wait_for("views.push", pushed + 1)[-1].response["view"]
    assert confirm["callback_id"] == CONFIRM and "1 sign-off becomes outdated; <@UQA>" in _text(confirm)
    assert [confirm["submit"]["text"], confirm["close"]["text"]] == ["Remove", "Back"]
    assert _status_edited(slack, "Reopened", lambda: bot.submit_view(confirm).json()) is None
    with db() as session:
        assert session.scalars(select(BudgetLine)).all() == []
    assert _state(db, milestone_id)[2] is False


# ---- the completeness gate ----------------------------------------------------------------------------------


def test_the_gate_groups_empty_sections_under_the_template_headings_and_each_button_opens_its_form(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db, {"QA Lead": "UQA"})
    with db() as session, session.begin():
        session.scalars(select(Milestone)).one().name = "<!channel> launch"
    answer = bot.command("signoff M-001").json()
    assert validate_blocks(answer["blocks"], surface="message") == []
    assert "&lt;!channel&gt; launch" in _text(answer) and "<!channel>" not in _text(answer)

    # Headings in the template's order, each followed by its empty sections; nothing filled during sign-off.
    listed: list[tuple[str, str]] = []
    heading = ""
    for block in answer["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "section" and "accessory" not in block and text.startswith("*") and not text.startswith(
                "*M-"):
            heading = html.unescape(text.strip("*"))
        elif block.get("accessory", {}).get("action_id") == "section_edit":
            listed.append((heading, html.unescape(text.removeprefix("• "))))
    order = {h: i for i, (h, _keys) in enumerate(HEADINGS)}
    assert [h for h, _t in listed] == sorted((h for h, _t in listed), key=order.__getitem__)
    under = {get_section(k).title: h for h, keys in HEADINGS for k in keys}
    assert all(under[title] == h for h, title in listed)
    titles = [t for _h, t in listed]
    assert "Objectives" in titles and "Risks" in titles and "Executive summary" not in titles
    assert "Comments & conditions" not in titles and "Document metadata" not in titles
    assert ("Milestone overview", "Objectives") in listed and ("Resource utilization", "Budget") in listed

    # Each button opens that section's form (or its rows).
    buttons = [b["accessory"] for b in answer["blocks"] if b.get("accessory", {}).get("action_id") == "section_edit"]
    for button, (_heading, title) in zip(buttons, listed, strict=True):
        opened = len(slack.calls_to("views.open"))
        bot.block_action("section_edit", value=button["value"])
        view = slack.wait_for("views.open", opened + 1)[-1].response["view"]
        assert view["title"]["text"] == title and view["callback_id"] in ("section_form", "section_rows")

    # "Fill them first" (primary) opens the section picker; "Request anyway" is the secondary choice.
    actions = answer["blocks"][-1]["elements"]
    assert [(e["text"]["text"], e.get("style")) for e in actions] == [("Fill them first", "primary"),
                                                                       ("Request anyway", None)]
    opened = len(slack.calls_to("views.open"))
    bot.block_action(actions[0]["action_id"], value=actions[0]["value"])
    assert slack.wait_for("views.open", opened + 1)[-1].response["view"]["callback_id"] == "section_picker"
    assert not dm_posts(slack, "UQA")

    # Asking anyway: the approver's DM counts the empty sections, it does not list them.
    bot.block_action(actions[1]["action_id"], value=actions[1]["value"])
    slack.wait_for("chat.postMessage", 2)
    wait_until_quiet(slack, idle=0.3)
    request = json.dumps(dm(slack, "UQA")["blocks"])
    assert f"{len(listed)} section(s) of the report are still empty" in request and "Objectives" not in request
