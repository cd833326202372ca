"""A milestone's whole sign-off life, scripted over HTTP, counting the messages each person gets.

Create (in the database), fill 10 sections through their modals, request sign-off, one rejection, three
edits in a row, re-request, acceptance, a late edit (Status → Complete), re-acceptance. The clock's outbox
sweep runs after each step as if the settle window had passed. The test prints, per person, the new DMs and
the channel's top-level posts (the table in the closing note of issue 12), then checks them.

The script only reads what the bot showed (buttons from messages and modals), so the same file measures the
old behaviour when copied beside an older checkout.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import send_owed, sweep
from bot.deps import make_deps
from bot.sections.service import get_section
from bot.settings import Settings
from models import ApprovalSlot, Milestone, utcnow
from tests.conftest import CHANNEL, wait_until_owed_work_is_done, wait_until_quiet
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender

ROLES = {"Project Sponsor": "USPONSOR", "Project Manager": "UPM", "Technical Lead": "UPM", "QA Lead": "UPM",
         "Product Owner": "UPM"}
PEOPLE = ("UOWNER", "USPONSOR", "UPM")
COLUMN_SECTIONS = ("summary", "scope", "timeline", "techdocs", "validation", "knowledge", "next")
TABLE_SECTIONS = ("objectives", "criteria", "risks")
_TYPED = {"int": "7", "decimal": "12.5", "money": "1250", "percent": "95", "date": "2026-03-01",
          "user": "UEDITOR", "channel": CHANNEL, "url": "https://example.com/doc"}


def _values(key: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    section = get_section(key)
    kind = next((s for s in section.specs() if s.name == section.variant_field), None)
    # A table of several kinds (risks) shows only the fields of the kind chosen (the last one, as below).
    specs = section.specs_for(list(kind.choices)[-1].value) if kind and kind.choices else section.specs()
    for spec in specs:
        if spec.kind == "select" and spec.choices is not None:
            values[spec.name] = list(spec.choices)[-1].value
        elif spec.kind == "bool":
            values[spec.name] = ["yes"]
        elif spec.kind in ("text", "multiline"):
            values[spec.name] = f"{spec.label} typed"[: spec.max_length or 200]
        elif spec.kind in _TYPED:
            values[spec.name] = _TYPED[spec.kind]
    return values


def _buttons(blocks: list[dict[str, Any]], action_id: str) -> list[str]:
    return [e["value"] for b in blocks if b.get("type") == "actions" for e in b["elements"]
            if e.get("action_id") == action_id]


def _after(slack: FakeSlack, since: int) -> None:
    """Wait for the bot's work after an answer it gave first (ack): a first new Slack call, then quiet."""
    deadline = time.monotonic() + 5
    while len(slack.calls) <= since and time.monotonic() < deadline:
        time.sleep(0.02)
    wait_until_quiet(slack, idle=0.3)


def _opened(bot: SlackSender, slack: FakeSlack, text: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    bot.command(text)
    return slack.wait_for("views.open", before + 1)[-1].response["view"]


def _edit_columns(bot: SlackSender, slack: FakeSlack, key: str, values: dict[str, Any] | None = None) -> None:
    view = _opened(bot, slack, f"edit M-001 {key}")
    answer = bot.submit_view(view, values if values is not None else _values(key)).json()
    assert answer["response_action"] == "update"  # opened by a command, the form confirms the save in place
    if answer["view"].get("callback_id") == "section_confirm":  # an edit after sign-off asks first: confirm it
        edits = len([c for c in slack.calls_to("chat.update") if c.params.get("channel") == CHANNEL])
        answer = bot.submit_view({**answer["view"], "id": view["id"], "hash": "confirm"}).json()
        assert "Saved" in str(answer["view"]["blocks"])
        # The sign-offs are outdated by a hook after the answer; the status message's edit says it ran.
        slack.wait_for("chat.update", edits + 1, where=lambda c: c.params.get("channel") == CHANNEL)
    time.sleep(0.3)  # the content hook runs after the answer
    wait_until_quiet(slack)


def _add_row(bot: SlackSender, slack: FakeSlack, key: str) -> None:
    listing = _opened(bot, slack, f"edit M-001 {key}")
    pushed = len(slack.calls_to("views.push"))
    bot.block_action("section_row_add", value=_buttons(listing["blocks"], "section_row_add")[0], view=listing)
    form = slack.wait_for("views.push", pushed + 1)[-1].response["view"]
    since = len(slack.calls)
    assert bot.submit_view(form, _values(key)).json() is None
    _after(slack, since)  # the row list behind the form is refreshed


def _decide_all(bot: SlackSender, slack: FakeSlack, user: str, action: str, values: dict[str, Any]) -> int:
    """Press `action` on every request button in the person's DMs that still works; how many were decided."""
    refused: set[str] = set()
    decided = 0
    for _ in range(20):
        waiting = [(m, v) for m in slack.messages.get(f"D{user}", []) for v in _buttons(m.get("blocks") or [], action)
                   if v not in refused]
        if not waiting:
            break
        message, value = waiting[0]
        opened = len(slack.calls_to("views.open"))
        bot.block_action(action, value=value, user_id=user, message=message)
        try:
            view = slack.wait_for("views.open", opened + 1, timeout=2)[-1].response["view"]
        except AssertionError:
            refused.add(value)  # an old request: refused, as it should be
            continue
        since = len(slack.calls)
        bot.submit_view(view, values, user_id=user)
        _after(slack, since)  # the DM is edited
        decided += 1
    return decided


def _request(bot: SlackSender, slack: FakeSlack) -> None:
    replies = len(slack.calls_to("response_url"))
    answer = bot.command("signoff M-001").json() or {}
    confirm = _buttons(answer.get("blocks") or [], "signoff_confirm_request")
    if confirm:
        bot.block_action("signoff_confirm_request", value=confirm[0])
    slack.wait_for("response_url", replies + 1)  # the summary comes last
    wait_until_quiet(slack, idle=0.3)


def _settle(settings: Settings, slack: FakeSlack) -> None:
    """The clock's outbox sweep, eleven minutes on: past the settle window of re-asks. It waits for the
    messages the web process is still sending (a report's PDF renders for seconds without a Slack call):
    eleven minutes on, their claims would look abandoned and be taken over mid-send."""
    deps = make_deps(settings)
    wait_until_owed_work_is_done(deps.sessions)
    sweep(deps, utcnow() + timedelta(minutes=11), jobs=[("outbox", send_owed)])
    wait_until_quiet(slack)
    deps.engine.dispose()


def _count(slack: FakeSlack) -> dict[str, Counter[str]]:
    """Per person: new DMs; for the channel: top-level posts (thread replies and edits notify nobody new)."""
    counts: dict[str, Counter[str]] = {who: Counter() for who in (*PEOPLE, CHANNEL)}
    for call in slack.calls_to("chat.postMessage"):
        channel = str(call.response.get("channel") or "")
        if not call.response.get("ok") or call.params.get("thread_ts"):
            continue
        who = channel[1:] if channel.startswith("D") else channel
        if who in counts:
            counts[who]["new messages"] += 1
            counts[who][_kind(call.params)] += 1
    return counts


def _kind(params: dict[str, Any]) -> str:
    text = str(params.get("text") or "")
    for words, kind in (("Sign-off requested", "requests"), ("Sign-off ", "status"), ("Reminder", "reminders"),
                        ("milestone report", "reports"), (" is accepted", "acceptance"), (" by the ", "decisions")):
        if words.lower() in text.lower():
            return kind
    return "other"


def test_a_milestone_life_counts_messages_per_person(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key="M-001", name="Checkout", owner_id="UOWNER",
                              created_by="UOWNER", report_channel_id=CHANNEL)
        session.add(milestone)
        session.flush()
        for position, (role, person) in enumerate(ROLES.items()):
            session.add(ApprovalSlot(milestone_id=milestone.id, role=role, position=position, approver_id=person))

    for key in COLUMN_SECTIONS:
        _edit_columns(bot, slack, key)
    for key in TABLE_SECTIONS:
        _add_row(bot, slack, key)
    _request(bot, slack)
    _settle(settings, slack)
    assert _decide_all(bot, slack, "USPONSOR", "signoff_reject", {"reason": "Budget is missing"}) == 1
    for _ in range(3):  # three objectives in a row: one change after another
        _add_row(bot, slack, "objectives")
    _settle(settings, slack)
    _request(bot, slack)
    _settle(settings, slack)
    assert _decide_all(bot, slack, "USPONSOR", "signoff_approve", {}) == 1
    assert _decide_all(bot, slack, "UPM", "signoff_approve", {}) == 4
    _settle(settings, slack)
    _edit_columns(bot, slack, "details", {"status": "complete"})  # a late edit
    _settle(settings, slack)
    _decide_all(bot, slack, "USPONSOR", "signoff_approve", {})
    _decide_all(bot, slack, "UPM", "signoff_approve", {})
    _settle(settings, slack)

    counts = _count(slack)
    print("\n| who | new messages | what |\n|---|---|---|")
    for who, seen in counts.items():
        detail = ", ".join(f"{k} {n}" for k, n in sorted(seen.items()) if k != "new messages")
        print(f"| {'#channel' if who == CHANNEL else who} | {seen['new messages']} | {detail} |")
    with db() as session:
        accepted = session.get(Milestone, milestone.id)
        assert accepted is not None and accepted.accepted_at is not None and accepted.accepted_revision

    # One DM per approver per request round: the first request, and the re-asks after the changes they signed.
    assert counts["UPM"]["requests"] == 2  # four roles, one DM each round; edits before signing edit it in place
    assert counts["USPONSOR"]["requests"] == 3  # asked, re-asked after the rejection's edits and the late edit
    assert counts["UOWNER"] == Counter({"new messages": 3, "decisions": 1, "acceptance": 2})
    channel = counts[CHANNEL]
    assert channel["status"] == 1  # one status message, edited in place
    assert channel["acceptance"] == 0  # acceptance is told in the status message's thread
    assert channel["reports"] == 1  # the final report, posted for the owner once, edited on re-acceptance
    assert channel["new messages"] == 2
