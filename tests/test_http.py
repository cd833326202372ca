"""The web process as Slack and a load balancer see it: signatures, health, help, events."""

from __future__ import annotations

import json
import time

from bot.slack.text import esc
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http, sign


def test_signed_command_is_answered_and_unsigned_or_stale_ones_get_401(bot: SlackSender) -> None:
    assert bot.command("help").status == 200

    body = b"command=%2Fmilestone&text=help&user_id=UOWNER&team_id=T0001&channel_id=C0001"
    now = int(time.time())
    unsigned = http("POST", bot.events_url, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status == 401
    wrong = bot.post(body, "application/x-www-form-urlencoded", signature=sign(body, now, "not-the-secret"))
    assert wrong.status == 401
    six_minutes_old = now - 360
    stale = bot.post(
        body, "application/x-www-form-urlencoded", timestamp=six_minutes_old, signature=sign(body, six_minutes_old)
    )
    assert stale.status == 401
    tampered = bot.post(body + b"x", "application/x-www-form-urlencoded", signature=sign(body, now), timestamp=now)
    assert tampered.status == 401


def test_healthz_says_the_database_answers(bot: SlackSender) -> None:
    response = http("GET", bot.base_url + "/healthz")
    assert response.status == 200
    assert response.json() == {"ok": True, "database": "ok"}


def test_help_answers_only_the_caller_within_3_seconds_listing_every_subcommand(bot: SlackSender) -> None:
    response = bot.command("help")
    assert response.status == 200
    assert response.elapsed < 3
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer["blocks"])
    for sub in ("help",):
        assert f"/milestone {sub}" in text
    # A bare /milestone is help too.
    assert bot.command("").json()["blocks"] == answer["blocks"]


def test_every_registered_subcommand_is_in_help(bot: SlackSender) -> None:
    from bot.app import create_app
    from bot.settings import Settings
    from tests.conftest import BOT_TOKEN

    _app, deps = create_app(Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret="x", database_url="sqlite://"))
    help_text = json.dumps(bot.command("help").json()["blocks"])
    for name, sub in deps.router.subcommands.items():
        for usage, _example in sub.usages:
            assert f"/milestone {esc(usage)}" in help_text, name


def test_unknown_subcommand_gets_did_you_mean_and_a_pointer_to_help(bot: SlackSender) -> None:
    answer = bot.command("shwo <!channel>").json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (":warning: There is no `/milestone shwo`. Did you mean `/milestone show`? "
                              "`/milestone help` lists every command.")
    assert "blocks" not in answer or not answer["blocks"]  # not the whole list again
    odd = bot.command("<!channel>").json()["text"]
    assert "&lt;!channel&gt;" in odd and "Did you mean" not in odd


def test_url_verification_echoes_the_challenge(bot: SlackSender) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    response = bot.post(body, "application/json")
    assert response.status == 200
    assert response.json() == {"challenge": "c-123"}


def test_a_retried_event_is_handled_once(bot: SlackSender, slack: FakeSlack) -> None:
    event = {"type": "app_home_opened", "user": "UOWNER", "channel": "D1", "tab": "home", "event_ts": "1.0"}
    assert bot.event(event, event_id="Ev001").status == 200
    slack.wait_for("views.publish", 1)
    assert bot.event(event, event_id="Ev001", retry_num=1).status == 200
    time.sleep(0.5)
    assert len(slack.calls_to("views.publish")) == 1
    home = slack.calls_to("views.publish")[0].params
    assert home["user_id"] == "UOWNER"
    assert home["view"]["type"] == "home"
