"""The canvas's Web API calls, outside any transaction: create (with the free-plan fallback to the channel's
own canvas) and share it read-only with the channel, or replace its content in one `canvases.edit`. A 429
pauses every sender of the method (the outbox's gate); `canvas_editing_locked` is tried a few times a second
apart, then left to the next sweep. Refusals are raised as DeliveryError for the outbox to classify."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.canvas import service
from bot.canvas.service import UNSURE
from bot.slack import outbox
from bot.slack.notifier import DeliveryError, Posted

BUSY = "canvas_write_in_flight"  # ours, not Slack's: another process is writing this canvas right now
LOCKED_TRIES = 3  # canvas_editing_locked: tries in one send, a second apart; then the next sweep


@dataclass(frozen=True)
class CanvasPosted(Posted):
    """Where the canvas lives (ts: the canvas id), and what was written, for `on_sent`."""

    placement: str = ""
    data: dict[str, Any] | None = None
    warning: str | None = None  # made, but not shared with the channel (Slack's error)


def _call(client: WebClient, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One Web API call within Slack's limits: a 429 pauses every sender of the method, then this tries again."""
    for attempt in range(outbox.MAX_RATE_LIMITED_TRIES):
        outbox.GATE.wait(method, None)
        try:
            return dict(client.api_call(method, json=params).data)  # type: ignore[arg-type]
        except SlackApiError as error:
            code = str(error.response.get("error") or error)
            if error.response.status_code != 429:
                raise DeliveryError(code) from error
            headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
            value = headers.get("retry-after")
            retry_after = float(value[0] if isinstance(value, list) else value or 1)
            if attempt == outbox.MAX_RATE_LIMITED_TRIES - 1:
                raise DeliveryError(code, retry_after) from error
            outbox.GATE.pause(method, retry_after)
    raise AssertionError("unreachable")


def _content(markdown: str) -> dict[str, str]:
    return {"type": "markdown", "markdown": markdown}


def _create(client: WebClient, data: dict[str, Any]) -> CanvasPosted:
    channel = data.get("channel")
    try:
        made = _call(client, "canvases.create",
                     {"title": data["title"], "document_content": _content(data["markdown"])})
    except DeliveryError as error:
        if error.code != "free_teams_cannot_create_standalone_canvases" or not data.get("tab_ok"):
            raise
        # A free workspace: the channel's own canvas, when the channel has none and reports only this milestone.
        made = _call(client, "conversations.canvases.create",
                     {"channel_id": channel, "document_content": _content(data["markdown"])})
        return CanvasPosted(channel or "", made["canvas_id"], service.PLACEMENT_TAB, data)
    warning = None
    if channel:  # readable by the channel; writable by nobody else: the bot's copy is the source of truth
        try:
            _call(client, "canvases.access.set",
                  {"canvas_id": made["canvas_id"], "access_level": "read", "channel_ids": [channel]})
        except DeliveryError as error:
            warning = error.code
    return CanvasPosted(channel or "", made["canvas_id"], service.PLACEMENT_STANDALONE, data, warning)


def _edit(client: WebClient, data: dict[str, Any]) -> CanvasPosted:
    warning = None
    channel = data.get("channel")
    if channel and channel != data.get("shared_with") and data.get("placement") == service.PLACEMENT_STANDALONE:
        try:  # the milestone reports to another channel now: that channel may read the canvas too
            _call(client, "canvases.access.set",
                  {"canvas_id": data["canvas_id"], "access_level": "read", "channel_ids": [channel]})
        except DeliveryError as error:
            warning = error.code
    change = {"operation": "replace", "document_content": _content(data["markdown"])}
    for attempt in range(LOCKED_TRIES):
        try:
            _call(client, "canvases.edit", {"canvas_id": data["canvas_id"], "changes": [change]})
            break
        except DeliveryError as error:
            if error.code != "canvas_editing_locked" or attempt == LOCKED_TRIES - 1:
                raise  # still locked: released for the next sweep, which tries again
            time.sleep(attempt + 1)
    return CanvasPosted(channel or "", data["canvas_id"], data.get("placement") or "", data, warning)


def send(client: WebClient, outgoing: outbox.Outgoing) -> Posted:
    data = outgoing.data or {}
    if len(data.get("markdown", "")) > service.MAX_CANVAS_CHARS:
        raise DeliveryError("canvas_too_large")  # Slack would refuse it; the canvas keeps its last version
    if data.get("action") == "busy":
        raise DeliveryError(BUSY)  # released: the next sweep writes it, after the write in flight
    if data.get("action") == "unsure":
        raise DeliveryError(UNSURE)  # permanent: the owner decides (bot.canvas.flows.on_failed)
    if data.get("action") == "create":
        return _create(client, data)
    if data.get("action") == "unchanged" and data.get("channel") == data.get("shared_with"):
        return CanvasPosted(data.get("channel") or "", data["canvas_id"], data.get("placement") or "", data)
    return _edit(client, data)
