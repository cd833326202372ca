"""Message metadata, conversations.history/replies, and an answer lost after Slack accepted a post:
what an outbox needs to find out whether a message it is unsure about was delivered."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.conftest import BOT_TOKEN, CHANNEL
from tests.fakeslack import FakeSlack


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5)


def key(value: str) -> dict[str, Any]:
    return {"event_type": "milestone_bot_outbox", "event_payload": {"key": value}}


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


def test_history_is_newest_first_and_shows_metadata_only_when_asked(client: WebClient, slack: FakeSlack) -> None:
    first = client.chat_postMessage(channel=CHANNEL, text="one", metadata=key("k1"))
    client.chat_postMessage(channel=CHANNEL, text="two")
    client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=first["ts"], metadata=key("k3"))
    plain = client.conversations_history(channel=CHANNEL)["messages"]
    assert [m["text"] for m in plain] == ["two", "one"]  # newest first; the reply is not top-level
    assert all("metadata" not in m for m in plain)
    full = client.conversations_history(channel=CHANNEL, include_all_metadata=True)["messages"]
    assert full[1]["metadata"] == key("k1") and "metadata" not in full[0]
    thread = client.conversations_replies(channel=CHANNEL, ts=first["ts"], include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["one", "reply"]
    assert thread["messages"][1]["metadata"] == key("k3")


def test_history_window_limit_and_pages(client: WebClient, slack: FakeSlack) -> None:
    ts = [client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"] for i in range(5)]
    window = client.conversations_history(channel=CHANNEL, oldest=ts[1], latest=ts[4])["messages"]
    assert [m["text"] for m in window] == ["m3", "m2"]  # both ends exclusive by default
    inclusive = client.conversations_history(channel=CHANNEL, oldest=ts[1], latest=ts[4], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m4", "m3", "m2", "m1"]
    first = client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"] is True
    pages = [[m["text"] for m in page["messages"]] for page in client.conversations_history(channel=CHANNEL, limit=2)]
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]


def test_history_needs_the_bot_in_the_channel(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as outside:
        client.conversations_history(channel="C0NOTIN")
    assert error_of(outside) == "not_in_channel"
    with pytest.raises(SlackApiError) as bad:
        client.conversations_history(channel=CHANNEL, oldest="yesterday")
    assert error_of(bad) == "invalid_ts_oldest"


def test_update_replaces_metadata_and_only_the_bots_messages(client: WebClient, slack: FakeSlack) -> None:
    posted = client.chat_postMessage(channel=CHANNEL, text="status", metadata=key("v1"))
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="status 2", metadata=key("v2"))
    client.chat_update(channel=CHANNEL, ts=posted["ts"], text="status 3")  # metadata not sent: kept
    assert slack.messages[CHANNEL][0]["metadata"] == key("v2")
    theirs = slack.add_user_message(CHANNEL, "UOWNER", "hello")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts=theirs, text="edited by the bot")
    assert error_of(excinfo) == "cant_update_message"


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("not json", "invalid_metadata_format"),
        ({"event_type": "x"}, "invalid_metadata_schema"),
        ({"event_type": "", "event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": "x", "event_payload": {"k": "v" * 9000}}, "metadata_too_large"),
    ],
)
def test_bad_metadata_is_refused(client: WebClient, slack: FakeSlack, metadata: Any, error: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="x", metadata=metadata)
    assert error_of(excinfo) == error
    assert CHANNEL not in slack.messages


def test_dropped_answer_after_the_post_was_stored(client: WebClient, slack: FakeSlack) -> None:
    slack.drop_response("chat.postMessage")
    no_retry = WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5, retry_handlers=[])
    with pytest.raises(OSError):  # urllib: the server closed the connection without answering
        no_retry.chat_postMessage(channel="UOWNER", text="digest", metadata=key("digest:UOWNER:2026-11-30"))
    assert slack.calls_to("chat.postMessage")[0].dropped is True
    dm = "DUOWNER"
    assert [m["text"] for m in slack.messages[dm]] == ["digest"]  # Slack has it; the caller does not know
    # The way to find out before sending again: the key in recent history.
    recent = client.conversations_history(channel=dm, limit=20, include_all_metadata=True)["messages"]
    assert [m["metadata"]["event_payload"]["key"] for m in recent] == ["digest:UOWNER:2026-11-30"]
    assert client.chat_postMessage(channel=dm, text="next")["ok"]  # only one answer was dropped


def test_a_connection_retry_after_a_dropped_answer_posts_twice(slack: FakeSlack) -> None:
    """Why an outbox must look before it re-sends: slack_sdk retries connection errors by default
    (ConnectionErrorRetryHandler, as bot/slack/client.py also configures), which repeats the post."""
    retrying = WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5)
    slack.drop_response("chat.postMessage")
    assert retrying.chat_postMessage(channel=CHANNEL, text="Report posted")["ok"]
    assert [m["text"] for m in slack.messages[CHANNEL]] == ["Report posted", "Report posted"]
