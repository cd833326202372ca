"""Outbound messages: the one place that decides how a message reaches a channel or a person.

Retries on 429/5xx/connection errors are in the client (bot/slack_client.py); this wrapper returns where
the message landed and turns Slack's refusals into `DeliveryError` with Slack's error code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


class DeliveryError(Exception):
    def __init__(self, code: str, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after  # seconds, when Slack answered 429


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class Notifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as error:
            retry_after = None
            if error.response.status_code == 429:
                headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
                value = headers.get("retry-after")
                retry_after = float(value[0] if isinstance(value, list) else value or 1)
            raise DeliveryError(str(error.response.get("error") or error), retry_after) from error

    def post(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, *, thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        response = self._call(
            "chat_postMessage", channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
            unfurl_links=False, unfurl_media=False, metadata=metadata,
        )
        return Posted(response["channel"], response["ts"])

    def dm(self, user_id: str, text: str, blocks: list[dict[str, Any]] | None = None) -> Posted:
        """A direct message from the bot (opens the DM first, so the answer carries the D-channel id)."""
        channel = self._call("conversations_open", users=user_id)["channel"]["id"]
        return self.post(channel, text, blocks)

    def update(
        self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None, *,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        response = self._call("chat_update", channel=channel, ts=ts, text=text, blocks=blocks, metadata=metadata)
        return Posted(response["channel"], response["ts"])

    def ephemeral(self, channel: str, user_id: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self._call("chat_postEphemeral", channel=channel, user=user_id, text=text, blocks=blocks)
