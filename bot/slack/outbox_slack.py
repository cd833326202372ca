"""The Slack side of sending an owed message, with no database work: Slack's limits shared by every sender
of the process (GATE), the call, and the look in a conversation's history for a message a dead sender may
have posted already (each carries its outbox key in Slack message metadata)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.notifier import DeliveryError, Notifier, Posted
from bot.slack.pacing import SendGate

log = logging.getLogger("bot.slack.outbox")

EVENT_TYPE = "milestone_bot_outbox"
HISTORY_LOOKBACK = 100  # messages of the target conversation searched for a key before a re-send
# One gate per process: every sender thread of the web process or the clock shares Slack's limits.
GATE = SendGate()
MAX_RATE_LIMITED_TRIES = 6


@dataclass
class Outgoing:
    """One Web API call: `post` to a channel or a user id (their DM), or `update` a message in place."""

    op: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    ts: str | None = None
    thread_ts: str | None = None
    data: dict[str, Any] | None = None  # what a kind with its own sender needs (a canvas's Markdown and id)


def send_paced(notifier: Notifier, outgoing: Outgoing, key: str) -> Posted:
    """One call within Slack's limits; a 429 pauses every sender of the method, then this one tries again."""
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
    method = "chat.update" if outgoing.op == "update" else "chat.postMessage"
    for attempt in range(MAX_RATE_LIMITED_TRIES):
        GATE.wait(method, outgoing.channel if outgoing.op == "post" else None)
        try:
            if outgoing.op == "update":
                assert outgoing.ts is not None
                return notifier.update(outgoing.channel, outgoing.ts, outgoing.text, outgoing.blocks,
                                       metadata=metadata)
            return notifier.post(outgoing.channel, outgoing.text, outgoing.blocks, thread_ts=outgoing.thread_ts,
                                 metadata=metadata)
        except DeliveryError as error:
            if error.retry_after is None or attempt == MAX_RATE_LIMITED_TRIES - 1:
                raise
            GATE.pause(method, error.retry_after)
    raise AssertionError("unreachable")


def find_sent(client: WebClient, channel: str, key: str, thread_ts: str | None = None) -> Posted | None:
    """The message with this key, if Slack already has it (a sender died between Slack's answer and our mark).
    A thread reply is looked for among the thread's replies: Slack's history lists top-level messages only."""
    try:
        if channel.startswith(("U", "W")):
            channel = client.conversations_open(users=channel)["channel"]["id"]
        if thread_ts:
            history = client.conversations_replies(channel=channel, ts=thread_ts, limit=HISTORY_LOOKBACK,
                                                   include_all_metadata=True)
        else:
            history = client.conversations_history(channel=channel, limit=HISTORY_LOOKBACK,
                                                   include_all_metadata=True)
    except SlackApiError as error:
        log.warning("outbox: could not read the history of %s: %s", channel, error.response.get("error"))
        return None
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
            return Posted(channel, message["ts"])
    return None


