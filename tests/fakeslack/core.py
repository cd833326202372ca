"""State and helpers every part of the fake shares: the workspace (people, channels, DMs), what was
posted, the recorded calls, and the message rules used by chat.* and response_url alike."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakeslack.blockkit import (
    MAX_MESSAGE_BLOCKS_TEXT,
    MAX_MESSAGE_TEXT,
    blocks_text_length,
    validate_blocks,
)
from tests.fakeslack.protocol import Call, Handler, SlackError, invalid


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int


class FakeCore:
    """The shared state; the method handlers are mixins over it (see ``fake.py``)."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        host: str = "127.0.0.1",
        port: int = 0,
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.bot_id = "B0001"
        self.app_id = "A0001"
        # Kept across reset(): the workspace.
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}  # DM channel id -> user id
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._ts = 1_700_000_000_000_000  # microseconds; formatted as "1700000000.000100"
        self._response_urls: set[str] = set()
        self._methods: dict[str, Handler] = {}
        self._routes: dict[str, Callable[..., Any]] = {}
        for klass in reversed(type(self).__mro__):
            for attr in vars(klass).values():
                if hasattr(attr, "_slack_method"):
                    self._methods[attr._slack_method] = attr.__get__(self)
                if hasattr(attr, "_slack_route"):
                    self._routes[attr._slack_route] = attr.__get__(self)
        self._clear_state()

    def _clear_state(self) -> None:
        """Forget what was posted and every test switch; mixins extend this (calling super())."""
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemeral: dict[str, list[dict[str, Any]]] = {}  # channel -> chat.postEphemeral messages
        self._failures: dict[str, list[_Failure]] = {}

    # ---- test-facing helpers ---------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Poll until at least ``count`` matching calls arrived (the app runs in another process)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matching = [c for c in self.calls if c.method == method and (where is None or where(c))]
                seen = [c.method for c in self.calls]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {method}, got {len(matching)} within {timeout}s; "
                    f"calls seen: {seen}"
                )
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget calls, failures, posted content, canvases and switches; keep users, channels and DMs."""
        with self._lock:
            self._clear_state()

    def fail_next(
        self, method: str, *, error: str | None = None, status: int = 200, retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail: 429 + Retry-After, 5xx, or 200 + ``error``."""
        if status == 200 and error is None:
            raise ValueError("a status-200 failure needs an error code")
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def add_channel(
        self, channel_id: str, *, members: Iterable[str] = (), bot_is_member: bool = True,
        name: str | None = None,
    ) -> None:
        with self._lock:
            self.channels[channel_id] = {
                "id": channel_id, "name": name or channel_id.lower(), "members": list(members),
                "bot_is_member": bot_is_member, "is_private": channel_id.startswith("G"),
            }

    def new_response_url(self) -> str:
        path = f"/actions/{self.team_id}/{next(self._ids)}/{secrets.token_hex(8)}"
        with self._lock:
            self._response_urls.add(path)
        return self.root_url + path

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

    def _injected_failure(self, method: str) -> None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        if failure.status == 429:
            retry_after = str(failure.retry_after if failure.retry_after is not None else 1)
            headers = {"Retry-After": retry_after}
            raise SlackError(failure.error or "ratelimited", status=429, headers=headers)
        default = "internal_error" if failure.status >= 500 else "fatal_error"
        raise SlackError(failure.error or default, status=failure.status)

    def _plain_failure(self, method: str) -> tuple[int, str] | None:
        """Injected failures for endpoints that answer plain text instead of JSON."""
        try:
            self._injected_failure(method)
        except SlackError as exc:
            status = exc.status if exc.status != 200 else 400
            return status, str(exc.body["error"])
        return None

    # ---- shared helpers --------------------------------------------------------------------------
    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _dm_for(self, user_id: str, *, unknown: str = "user_not_found") -> str:
        """The DM with a person; ``unknown``: the error for an id nobody has (it depends on the method)."""
        user = self.users.get(user_id)
        if user is None:
            raise SlackError(unknown)
        if user["deleted"]:
            raise SlackError("user_disabled")
        dm = f"D{user_id}"  # stable per user, so tests can predict it
        self._dms[dm] = user_id
        return dm

    def _resolve_channel(self, channel: Any, *, need_member: bool) -> str:
        """Channel id to post in. Posting to a user id opens (or reuses) the DM, as Slack does."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel.startswith("#"):
            named = [cid for cid, ch in self.channels.items() if ch["name"] == channel[1:]]
            if not named:
                raise SlackError("channel_not_found")
            channel = named[0]
        if channel[0] in "CG":
            info = self.channels.get(channel)
            if info is None:
                raise SlackError("channel_not_found")
            if need_member and not info["bot_is_member"]:
                raise SlackError("not_in_channel")
            return channel
        if channel[0] in "UW":
            # chat.postMessage to an unknown user id: Slack says channel_not_found (bolt-python#565).
            return self._dm_for(channel, unknown="channel_not_found")
        if channel[0] == "D" and (channel in self._dms or channel[1:] in self.users):
            self._dms.setdefault(channel, channel[1:])
            return channel
        raise SlackError("channel_not_found")

    def _find_message(self, channel: str, ts: Any) -> dict[str, Any]:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _message_content(self, p: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validated text/blocks/attachments, plus response extras (the truncation warning)."""
        content: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        blocks = p.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackError("invalid_blocks_format")
            errors = validate_blocks(blocks, "message")
            if errors:
                raise invalid("invalid_blocks", errors)
            content["blocks"] = blocks
        attachments = p.get("attachments")
        if attachments is not None:
            if not isinstance(attachments, list):
                raise SlackError("invalid_attachments")
            content["attachments"] = attachments
        if p.get("text") is not None:
            text = str(p["text"])
            if len(text) > MAX_MESSAGE_TEXT:
                text = text[:MAX_MESSAGE_TEXT]
                extras["response_metadata"] = {
                    "warnings": ["message_truncated"],
                    "messages": ["[WARN] Your message was truncated but still posted. "
                                 "The `text` field accepts up to 40,000 characters."],
                }
            content["text"] = text
        if not (content.get("text") or content.get("blocks") or content.get("attachments")):
            raise SlackError("no_text")
        return content, extras

    def _check_blocks_total(self, content: dict[str, Any]) -> None:
        total = blocks_text_length(content.get("blocks") or [])
        if total > MAX_MESSAGE_BLOCKS_TEXT:
            # Slack gives no detail here; the fake says how much, to save a debugging session.
            line = f"[ERROR] {total} characters of text across blocks; limit ~{MAX_MESSAGE_BLOCKS_TEXT}"
            raise SlackError("msg_blocks_too_long", response_metadata={"messages": [line]})
