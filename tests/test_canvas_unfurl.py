"""Pasted report links unfurl over HTTP (`link_shared` → `chat.unfurl`): a small card within 3 seconds, valid
blocks, an old revision said so, and nothing for links the bot did not sign."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.reports.links import sign_link
from models import Milestone, utcnow
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import SlackSender
from tests.test_canvas import milestone  # noqa: F401  (the demo milestone fixture)

KEY = b"test-secret-key"


def link(bot: SlackSender, milestone_id: int, revision: int, *, hours: int = 168, ago: float = 0) -> str:
    token = sign_link(KEY, milestone_id, revision, now=utcnow() - timedelta(hours=ago), ttl_hours=hours)
    return f"{bot.base_url}/reports/{token}"


def paste(bot: SlackSender, slack: FakeSlack, *urls: str, event_id: str = "Ev1") -> str:
    ts = slack.add_user_message("C0001", "UEDITOR", "Have a look " + " and ".join(f"<{u}>" for u in urls))
    event = {"type": "link_shared", "channel": "C0001", "is_bot_user_member": True, "user": "UEDITOR",
             "message_ts": ts, "unfurl_id": f"C0001.{ts}.abc", "source": "conversations_history",
             "links": [{"domain": "127.0.0.1", "url": u} for u in urls]}
    assert bot.event(event, event_id=event_id).status == 200
    return ts


def test_a_pasted_report_link_unfurls_into_a_card_within_three_seconds(
    bot: SlackSender, slack: FakeSlack, milestone: int  # noqa: F811
) -> None:
    url = link(bot, milestone, 7)
    started = time.monotonic()
    ts = paste(bot, slack, url)
    call = slack.wait_for("chat.unfurl", timeout=3.0)[0]
    assert time.monotonic() - started < 3.0
    assert call.response["ok"], call.response
    assert (call.params["channel"], call.params["ts"]) == ("C0001", ts)
    blocks = call.params["unfurls"][url]["blocks"]
    assert validate_blocks(blocks, "message") == []
    text = json.dumps(blocks, ensure_ascii=False)
    for shown in ("M-042 · Customer Portal Beta", "*Report*\\nIn review", "3 of 5 approved", "8 open · 1 overdue",
                  "View report"):
        assert shown in text, shown
    button = blocks[-1]["elements"][0]
    assert button["url"] == url and button["text"]["text"] == "View report"
    assert "revision" not in text  # the link is for the current revision


def test_an_old_revision_says_so_and_forged_or_foreign_links_are_left_alone(
    bot: SlackSender, slack: FakeSlack, milestone: int, db: sessionmaker[Session]  # noqa: F811
) -> None:
    old = link(bot, milestone, 5)
    forged = old[:-3] + ("AAA" if not old.endswith("AAA") else "BBB")
    paste(bot, slack, old, forged)
    call = slack.wait_for("chat.unfurl", timeout=3.0)[0]
    assert list(call.params["unfurls"]) == [old]  # never a card for a token we did not sign
    assert "made for revision 5; the report is at revision 7" in json.dumps(call.params["unfurls"][old])

    with db() as session, session.begin():  # a milestone of another workspace, linked with a genuine token
        session.get(Milestone, milestone).team_id = "TOTHER"  # type: ignore[union-attr]
    paste(bot, slack, link(bot, milestone, 7), event_id="Ev2")
    paste(bot, slack, forged, "https://example.com/reports/x", event_id="Ev3")
    time.sleep(1.0)
    assert len(slack.calls_to("chat.unfurl")) == 1


def test_an_expired_link_shows_nothing_of_the_report(
    bot: SlackSender, slack: FakeSlack, milestone: int  # noqa: F811
) -> None:
    url = link(bot, milestone, 7, hours=1, ago=2)
    paste(bot, slack, url)
    call = slack.wait_for("chat.unfurl", timeout=3.0)[0]
    text = json.dumps(call.params["unfurls"][url], ensure_ascii=False)
    assert "expired" in text and "/milestone report M-042 preview" in text
    assert "Customer Portal" not in text and "approved" not in text


def test_a_link_still_in_the_composer_unfurls_by_its_unfurl_id(
    bot: SlackSender, slack: FakeSlack, milestone: int  # noqa: F811
) -> None:
    url = link(bot, milestone, 7)
    event = {"type": "link_shared", "channel": "COMPOSER", "is_bot_user_member": True, "user": "UEDITOR",
             "message_ts": "", "unfurl_id": "C0001.composer.abc", "source": "composer",
             "links": [{"domain": "127.0.0.1", "url": url}]}
    assert bot.event(event, event_id="EvC").status == 200
    call = slack.wait_for("chat.unfurl", timeout=3.0)[0]
    assert call.response["ok"], call.response
    assert (call.params["unfurl_id"], call.params["source"]) == ("C0001.composer.abc", "composer")
    assert "channel" not in call.params and url in call.params["unfurls"]
