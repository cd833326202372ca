"""Talking to the bot as Slack does: signed HTTP requests with Slack's payload shapes.

`SlackSender` builds slash commands, block_actions, view_submissions and events the way Slack sends them
(form-encoded `payload=` JSON for interactivity, JSON for events), signs them with the app's signing secret
and posts them to the real web server. `fill_view` turns a view the bot opened into `view.state.values`
exactly as Slack would, including the initial values the user did not touch.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

from tests.fakeslack import FakeSlack

SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0001"


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpResponse(response.status, response.read(), dict(response.headers), time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return HttpResponse(error.code, error.read(), dict(error.headers), time.monotonic() - started)


# What Slack puts in state.values for each input element, and where the initial value sits.
_STATE_KEYS: dict[str, tuple[str, str]] = {
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _pick(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option["value"] == value:
            return option
    raise AssertionError(f"option {value!r} is not offered by {element.get('action_id')}: {_options(element)}")


def fill_view(view: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, Any]:
    """`view.state.values` as Slack sends it on submit.

    `values` maps an input block's block_id (or its element's action_id) to what the user chose: a string
    for text, dates (YYYY-MM-DD), users, conversations and single selects (the option's value); a list for
    multi selects and checkboxes; None to clear. Untouched inputs keep their initial value, as in Slack.
    """
    values = dict(values or {})
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        key, initial_key = _STATE_KEYS[kind]
        block_id, action_id = block["block_id"], element["action_id"]
        if block_id in values or action_id in values:
            chosen = values.pop(block_id) if block_id in values else values.pop(action_id)
            if kind in ("static_select", "external_select", "radio_buttons"):
                chosen = None if chosen is None else _pick(element, chosen)
            elif kind in ("multi_static_select", "checkboxes"):
                chosen = [_pick(element, v) for v in chosen or []]
        else:
            chosen = element.get(initial_key)
        entry: dict[str, Any] = {"type": kind, key: chosen}
        if kind in ("multi_static_select", "checkboxes") and chosen is None:
            entry[key] = []
        state.setdefault(block_id, {})[action_id] = entry
    if values:
        raise AssertionError(f"no input block for {sorted(values)} in view {view.get('callback_id')}")
    return state


class SlackSender:
    """Sends what Slack sends, signed, to the bot's /slack/events."""

    def __init__(self, base_url: str, fake: FakeSlack, secret: str = SIGNING_SECRET) -> None:
        self.base_url = base_url.rstrip("/")
        self.events_url = self.base_url + "/slack/events"
        self.fake = fake
        self.secret = secret

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        timestamp = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature if signature is not None else sign(body, timestamp, self.secret),
            **(headers or {}),
        }
        return http("POST", self.events_url, body, all_headers)

    def post_form(self, fields: dict[str, str], **kwargs: Any) -> HttpResponse:
        return self.post(urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs)

    def post_payload(self, payload: dict[str, Any], **kwargs: Any) -> HttpResponse:
        return self.post_form({"payload": json.dumps(payload)}, **kwargs)

    def command(
        self,
        text: str,
        *,
        user_id: str = "UOWNER",
        channel_id: str = "C0001",
        team_id: str = TEAM_ID,
        command: str = "/milestone",
        **kwargs: Any,
    ) -> HttpResponse:
        fields = {
            "token": "legacy-unused",
            "team_id": team_id,
            "team_domain": "example",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
        }
        return self.post_form(fields, **kwargs)

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = "UOWNER",
        block_id: str = "actions",
        action_type: str = "button",
        selected: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
        channel_id: str | None = None,
        team_id: str = TEAM_ID,
        **kwargs: Any,
    ) -> HttpResponse:
        action: dict[str, Any] = {
            "type": action_type,
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        if selected:
            action.update(selected)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team_id, "domain": "example"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0001",
            "token": "legacy-unused",
            "trigger_id": self.fake.new_trigger_id(),
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = {**view, "state": {"values": fill_view(view)}}
        elif message is not None:
            channel = channel_id or message.get("channel")
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel}
            payload["message"] = message
            payload["response_url"] = self.fake.new_response_url()
        else:
            payload["container"] = {"type": "message", "is_ephemeral": True}
            payload["response_url"] = self.fake.new_response_url()
        return self.post_payload(payload, **kwargs)

    def submit_view(
        self,
        view: dict[str, Any],
        values: dict[str, Any] | None = None,
        *,
        user_id: str = "UOWNER",
        team_id: str = TEAM_ID,
        **kwargs: Any,
    ) -> HttpResponse:
        payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": "example"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
            "api_app_id": "A0001",
            "token": "legacy-unused",
            "trigger_id": self.fake.new_trigger_id(),
            "view": {**view, "state": {"values": fill_view(view, values)}},
            "response_urls": [],
        }
        return self.post_payload(payload, **kwargs)

    def submit_concurrently(
        self, view: dict[str, Any], values: dict[str, Any] | None = None, *, times: int = 2, user_id: str = "UOWNER"
    ) -> list[HttpResponse]:
        """Submit the same view `times` times at once (a double click, or Slack retrying while the bot works),
        each from its own thread; the responses in the order the threads were started."""
        answers: list[HttpResponse | None] = [None] * times
        failures: list[BaseException] = []

        def submit(slot: int) -> None:
            try:
                answers[slot] = self.submit_view(view, values, user_id=user_id)
            except BaseException as error:  # re-raised below, in the test's thread
                failures.append(error)

        threads = [threading.Thread(target=submit, args=(slot,)) for slot in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return [answer for answer in answers if answer is not None]

    def event(
        self, event: dict[str, Any], *, event_id: str, team_id: str = TEAM_ID, retry_num: int | None = None
    ) -> HttpResponse:
        body = {
            "token": "legacy-unused",
            "team_id": team_id,
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
        }
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.post(json.dumps(body).encode(), "application/json", headers=headers)


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends inside the block (to show a query count does not grow)."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
