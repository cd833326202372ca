"""Faults that apply to every method: latency and rate limits (per workspace and per conversation),
for benchmarks that must see Slack's pace rather than loopback's."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.conftest import BOT_TOKEN, CHANNEL
from tests.fakeslack import FakeSlack


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5, retry_handlers=[])


def test_latency_applies_to_every_call(client: WebClient, slack: FakeSlack) -> None:
    slack.latency_ms = 150
    started = time.monotonic()
    client.auth_test()
    client.users_info(user="UOWNER")
    assert time.monotonic() - started >= 0.3
    slack.reset()
    assert slack.latency_ms == 0


def test_workspace_limit_per_method(client: WebClient, slack: FakeSlack) -> None:
    slack.set_rate_limit("users.info", calls=2, per=1.0)
    client.users_info(user="UOWNER")
    client.users_info(user="UEDITOR")
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="UPM")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"
    assert excinfo.value.response["error"] == "ratelimited"
    client.auth_test()  # another method is not limited
    time.sleep(1.05)
    assert client.users_info(user="UPM")["ok"]


def test_workspace_limit_across_methods_with_retry_after(slack: FakeSlack) -> None:
    slack.set_rate_limit("*", calls=3, per=2.0)
    waiting = WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5,
                        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])
    started = time.monotonic()
    for user in ("UOWNER", "UEDITOR", "UPM", "UQA"):
        waiting.chat_postMessage(channel=user, text="digest")
    refused = [c for c in slack.calls if c.response.get("error") == "ratelimited"]
    assert len(refused) >= 1 and time.monotonic() - started >= 1.5  # waited for the window, then sent
    assert sum(len(v) for v in slack.messages.values()) == 4


def test_per_conversation_limit_says_when_to_come_back(client: WebClient, slack: FakeSlack) -> None:
    slack.rate_limit_per_channel = 2.5
    client.chat_postMessage(channel=CHANNEL, text="one")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="two")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] in ("2", "3")
    client.chat_postMessage(channel="UOWNER", text="another conversation is fine")
    assert [m["text"] for m in slack.messages[CHANNEL]] == ["one"]
