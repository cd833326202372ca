"""One rule per fact, asked by every surface: a milestone with a snoozed past-due item and a role added after
acceptance reads the same — overdue count, sign-off progress and report state — in `/milestone actions`,
`show`, `list`, App Home, the channel status message, the report summary, the Markdown file and the HTML page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.reports.rendering import render_html, render_markdown
from bot.reports.service import load_report
from bot.settings import Settings
from bot.slack.client import make_web_client
from models import ActionItem, Milestone, SignOff, UserProfile, utcnow
from tests.conftest import CHANNEL
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_signoffs import make_milestone

ROLES = {"QA Lead": "UQA", "Technical Lead": "UTECH"}


def _arrange(db: sessionmaker[Session], settings: Settings) -> int:
    """Accepted by both roles; one item overdue, one past due but snoozed beyond today; a status message."""
    milestone_id = make_milestone(db, ROLES)
    posted = make_web_client(settings).chat_postMessage(channel=CHANNEL, text="sign-off status")
    now = utcnow()
    today = now.date()
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        for slot in milestone.approval_slots:
            session.add(SignOff(slot_id=slot.id, milestone_id=milestone_id, approver_id=slot.approver_id,
                                role=slot.role, decision="approved", revision=milestone.revision or 1,
                                content_hash="x" * 64, decided_at=now - timedelta(days=1)))
        milestone.accepted_at = now - timedelta(days=1)
        milestone.signoff_status_channel, milestone.signoff_status_ts = posted["channel"], posted["ts"]
        session.add(UserProfile(user_id="UEDITOR", team_id="T0001", real_name="Eddie Editor", tz="UTC",
                                tz_offset=0, fetched_at=now))
        session.add_all([
            ActionItem(milestone_id=milestone_id, owner_id="UEDITOR", due_date=today - timedelta(days=3),
                       description="Overdue one", horizon="week1", created_by="UOWNER"),
            ActionItem(milestone_id=milestone_id, owner_id="UEDITOR", due_date=today - timedelta(days=3),
                       snoozed_until=today + timedelta(days=2), description="Snoozed one", horizon="week1",
                       created_by="UOWNER"),
        ])
    return milestone_id


def _answer(bot: SlackSender, slack: FakeSlack, command: str) -> str:
    """What only the caller sees: in the ack, or posted to the response_url after it."""
    before = len(slack.calls_to("response_url"))
    acked = bot.command(command).json()
    if acked:
        return _text(acked)
    return _text(slack.wait_for("response_url", before + 1)[-1].params)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _overdue_counts(text: str) -> set[str]:
    return set(re.findall(r"(?<![\d,])(\d+) overdue", text))


def test_every_surface_tells_the_same_overdue_count_and_sign_off_state(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = _arrange(db, settings)
    # A role added after acceptance: the acceptance is withdrawn, one of three roles is pending.
    assert bot.command("signoff M-001 reassign Security <@UPO|paula>").status == 200
    status = slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == CHANNEL)[-1].params

    surfaces: dict[str, str] = {
        "actions": _answer(bot, slack, "actions M-001"),
        "show": _answer(bot, slack, "show M-001"),
        "list": _answer(bot, slack, "list"),
        "summary": _answer(bot, slack, "report M-001 preview"),
        "status message": _text([status.get("text"), status.get("blocks")]),
    }
    bot.event({"type": "app_home_opened", "user": "UOWNER", "channel": "D1", "tab": "home", "event_ts": "1.0"},
              event_id="EvOneTruth")
    surfaces["home"] = _text(slack.wait_for("views.publish", 1)[-1].params["view"])
    with db() as session:
        report = load_report(session, milestone_id)
    surfaces["markdown"] = render_markdown(report)
    surfaces["html"] = render_html(report)

    # Overdue: the snoozed item is not overdue anywhere; the other one is, everywhere that counts.
    for name in ("actions", "home", "summary", "markdown", "html"):
        assert _overdue_counts(surfaces[name]) == {"1"}, (name, surfaces[name][:3000])
    # Sign-off: 2 of 3 approved, not accepted, on every surface that shows progress.
    for name in ("show", "list", "home", "status message", "summary", "markdown", "html"):
        text = surfaces[name]
        assert re.search(r"(?<!\d)2 of 3 approved|(?<![\d/])2/3(?![\d/])", text), (name, text[:3000])
        assert "3/3" not in text and "3 of 3" not in text and "2/2" not in text, name
    # The report's state: in review again (reopened), never "accepted", wherever a state is shown.
    for name in ("show", "list", "home", "status message"):
        assert "Reopened" in surfaces[name] or "In review" in surfaces[name], (name, surfaces[name][:3000])
        assert "✅ Accepted" not in surfaces[name], name
    for name in ("markdown", "html"):
        assert re.search(r"Reopened|In review", surfaces[name]), name
