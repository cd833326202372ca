"""App Home's queue, control by control, over HTTP: for a new user, an approver with a request waiting, the
owner of overdue and due-soon items and a person asked for feedback, every button and every menu option on
their Home is pressed once and does what it says (a form, or the Home re-drawn), never a refusal; every
entry of the queue links to its report, and a Done pressed on Home is undone there (Reopen). The owner's
hub buttons are pressed in test_surfaces_home.py."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ActionItem, ActionStatus
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http
from tests.test_surfaces_home import elements, home_of, team, texts

# What each control leads to: the modal it opens (its callback_id), or the Home published again.
OPENS = {
    "milestone_new_button": "milestone_new", "signoff_approve": "signoff_decision",
    "signoff_approve_conditions": "signoff_decision", "signoff_reject": "signoff_decision",
    "feedback_give": "feedback_submit", "👤 Reassign…": "action_reassign_modal", "✏️ Edit…": "action_edit_modal",
    "🗑️ Delete…": "action_delete_modal",
}
REDRAWS = {"💤 Snooze 1 day", "💤 Snooze 1 week", "action_done", "action_reopen"}
OPTIONS = ["💤 Snooze 1 day", "💤 Snooze 1 week", "👤 Reassign…", "✏️ Edit…", "🗑️ Delete…"]


def presses(home: dict[str, Any]) -> list[tuple[str, str, str | None, dict[str, Any] | None]]:
    """(name, action_id, value, selected) for every button, and for every option of every menu."""
    found = []
    for e in elements(home):
        if e["type"] == "overflow":
            found += [(o["text"]["text"], e["action_id"], None, {"selected_option": o}) for o in e["options"]]
        elif e["type"] == "button":
            found.append((e["action_id"], e["action_id"], e.get("value"), None))
    return found


def press(bot: SlackSender, slack: FakeSlack, user: str, home: dict[str, Any], name: str, action_id: str,
          value: str | None, selected: dict[str, Any] | None) -> dict[str, Any] | None:
    """Press one control; the modal it opened, the Home it re-drew, or None for a link button."""
    opened, published = len(slack.calls_to("views.open")), len(slack.calls_to("views.publish"))
    kind = "overflow" if selected else "button"
    response = bot.block_action(action_id, value=value, user_id=user, view=home, action_type=kind, selected=selected)
    assert response.status == 200, name
    if name in OPENS:
        view = slack.wait_for("views.open", opened + 1)[opened].response["view"]
        assert view["callback_id"] == OPENS[name], (name, json.dumps(view)[:300])
        return view
    if name in REDRAWS:
        redrawn: dict[str, Any] = slack.wait_for("views.publish", published + 1)[published].response["view"]
        return redrawn
    assert name == "signoff_view_report", name  # a link: Slack opens it; the click is only acknowledged
    return None


def report_links(home: dict[str, Any]) -> list[str]:
    """Every report page the Home links to: in its text and behind its link buttons."""
    found = re.findall(r"<(http[^|>]+/reports/[^|>]+)\|", json.dumps(texts(home)))
    return found + [e["url"] for e in elements(home) if "/reports/" in e.get("url", "")]


def no_refusals(slack: FakeSlack) -> None:
    notices = [c.params["view"] for c in slack.calls_to("views.open") if c.params["view"]["callback_id"] == "notice"]
    assert notices == [], json.dumps(notices)[:600]


def test_every_control_on_the_queue_of_a_newcomer_an_approver_and_one_asked_for_feedback_works(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    team(db, milestones=2)
    seen = set()
    for n, (user, expected) in enumerate([
        ("USTRANGER", ["milestone_new_button"]),
        ("UQA", ["milestone_new_button", "signoff_approve", "signoff_approve_conditions", "signoff_reject",
                 "signoff_view_report"]),
        ("UTECH", ["feedback_give", "milestone_new_button"]),
    ]):
        home = home_of(bot, slack, user, f"EvQ{n}")
        controls = presses(home)
        assert [name for name, *_ in controls] == expected, user
        for control in controls:
            press(bot, slack, user, home, *control)
            seen.add(control[0])
        links = report_links(home)
        assert len(links) == (0 if user == "USTRANGER" else 1), user  # the request, the feedback asked
        assert all(http("GET", link).status == 200 for link in links)
    assert seen == {"milestone_new_button", "signoff_approve", "signoff_approve_conditions", "signoff_reject",
                    "signoff_view_report", "feedback_give"}
    no_refusals(slack)


def test_every_control_on_an_item_owners_queue_works_and_done_is_undone_on_home(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    team(db, milestones=2)
    home = home_of(bot, slack, "UEDITOR", "EvI1")
    shown = texts(home)
    overdue_line = next(t for t in shown if t.startswith("Rotate the keys\n"))
    assert re.search(r"^Rotate the keys\n\*<http[^|]+/reports/[^|]+\|M-002>\* · ⚠️ \*Overdue\* 10 days", overdue_line)
    links = report_links(home)
    assert len(links) == 2 and all(http("GET", link).status == 200 for link in links)  # one per item

    controls = presses(home)
    assert [name for name, *_ in controls] == ["milestone_new_button", *(["action_done", *OPTIONS] * 2)]
    for control in controls:
        if control[0] != "action_done":  # the menus first: snooze (a day, then a week), and the three forms
            press(bot, slack, "UEDITOR", home, *control)
    with db() as session:
        assert all(i.snoozed_until is not None for i in session.scalars(select(ActionItem)))

    for control in [c for c in controls if c[0] == "action_done"]:
        after_done = press(bot, slack, "UEDITOR", home, *control)
    assert after_done is not None
    shown = texts(after_done)
    assert "No open action items. 🎉" in shown and "Closed in the last day:" in shown
    closed = next(t for t in shown if t.startswith("~Rotate the keys~\n"))
    assert "✅ Done by <@UEDITOR>" in closed and "/reports/" in closed
    reopen = next(c for c in presses(after_done) if c[0] == "action_reopen")  # the latest closed: the runbook
    after_reopen = press(bot, slack, "UEDITOR", after_done, *reopen)
    assert after_reopen is not None
    shown = texts(after_reopen)
    assert "1 open" in shown and any(t.startswith("Write the runbook\n") for t in shown)
    assert any(t.startswith("~Rotate the keys~\n") for t in shown)  # still closed, still with its Reopen
    with db() as session:
        runbook = session.scalars(select(ActionItem).where(ActionItem.description == "Write the runbook")).one()
        assert (runbook.status, runbook.done_at) == (ActionStatus.OPEN, None)
    time.sleep(0.2)
    no_refusals(slack)
