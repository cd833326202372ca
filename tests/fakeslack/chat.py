"""Messages: chat.*, conversations.history/replies (with message metadata), chat.unfurl, and the
response_url endpoint."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from tests.fakeslack.blockkit import validate_blocks
from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import TEXT_TYPE, Call, Reply, SlackError, api, flag, invalid, ratelimited, route

MAX_METADATA_JSON = 8_000  # a guess: Slack documents no number, only metadata_too_large
_UNFURL_SOURCES = ("composer", "conversations_history")


def _metadata(p: dict[str, Any]) -> dict[str, Any] | None:
    """The ``metadata`` argument checked as Slack does: {event_type: str, event_payload: object}."""
    metadata = p.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"] \
            or not isinstance(metadata.get("event_payload"), dict) or set(metadata) - {"event_type", "event_payload"}:
        raise SlackError("invalid_metadata_schema")
    if len(json.dumps(metadata)) > MAX_METADATA_JSON:
        raise SlackError("metadata_too_large")
    return metadata


def _cursor(p: dict[str, Any]) -> int:
    if not p.get("cursor"):
        return 0
    try:
        return int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
    except ValueError as exc:
        raise SlackError("invalid_cursor") from exc


def _page(items: list[dict[str, Any]], p: dict[str, Any], limit: int) -> dict[str, Any]:
    offset = _cursor(p)
    more = offset + limit < len(items)
    cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    return {"messages": items[offset:offset + limit], "has_more": more,
            "response_metadata": {"next_cursor": cursor}}


def _ts_arg(p: dict[str, Any], key: str, default: float) -> float:
    value = p.get(key)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise SlackError(f"invalid_ts_{key}") from exc


class ChatMethods(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        # Strict mode: a second chat.postMessage to one channel within this many seconds gets a 429.
        self.rate_limit_per_channel: float | None = None
        self.unfurls: list[dict[str, Any]] = []  # every accepted chat.unfurl, in order
        self._last_post: dict[str, float] = {}

    def add_user_message(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> str:
        """A message a person posted (e.g. a pasted link for chat.unfurl); returns its ts."""
        with self._lock:
            ts = self._next_ts()
            self.messages.setdefault(channel, []).append({
                "type": "message", "ts": ts, "channel": channel, "user": user, "team": self.team_id,
                "text": text, "blocks": None, "attachments": None, "thread_ts": thread_ts, "metadata": None,
            })
            return ts

    # ---- chat.* ----------------------------------------------------------------------------------
    @api("chat.postMessage")
    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        now = time.monotonic()
        last = self._last_post.get(channel)
        if self.rate_limit_per_channel is not None and last is not None \
                and now - last < self.rate_limit_per_channel:
            raise ratelimited(last + self.rate_limit_per_channel - now)
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        message = {
            "type": "message", "ts": self._next_ts(), "channel": channel, "user": self.bot_user_id,
            "bot_id": self.bot_id, "app_id": self.app_id, "team": self.team_id,
            "text": content.get("text", ""), "blocks": content.get("blocks"),
            "attachments": content.get("attachments"), "thread_ts": p.get("thread_ts"),
            "metadata": _metadata(p),
        }
        self.messages.setdefault(channel, []).append(message)
        self._last_post[channel] = now
        return {"channel": channel, "ts": message["ts"], "message": _visible(message, True), **extras}

    @api("chat.postEphemeral")
    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        user = p.get("user")
        if not user:
            raise SlackError("user_not_found")
        info = self.channels.get(channel)
        in_dm = self._dms.get(channel, user) == user
        if (info is not None and user not in info["members"]) or not in_dm:
            raise SlackError("user_not_in_channel")
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        message = {
            "type": "message", "ts": self._next_ts(), "channel": channel, "user": self.bot_user_id,
            "to_user": user, "text": content.get("text", ""), "blocks": content.get("blocks"),
            "attachments": content.get("attachments"), "thread_ts": p.get("thread_ts"),
        }
        self.ephemeral.setdefault(channel, []).append(message)
        return {"message_ts": message["ts"], **extras}

    @api("chat.update")
    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        message = self._find_message(channel, p.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_update_message")
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        metadata = _metadata(p)
        message.update(content)  # fields not sent are kept, as Slack keeps them
        if metadata is not None:
            message["metadata"] = metadata
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        ts, text = message["ts"], message["text"]
        return {"channel": channel, "ts": ts, "text": text, "message": _visible(message, True), **extras}

    @api("chat.delete")
    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        message = self._find_message(channel, p.get("ts"))
        self.messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    @api("chat.getPermalink")
    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        ts = self._find_message(channel, p.get("message_ts"))["ts"]
        permalink = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    # ---- history ---------------------------------------------------------------------------------
    @api("conversations.history")
    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages newest first, within (oldest, latest); replies only via conversations.replies."""
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        oldest, latest = _ts_arg(p, "oldest", 0.0), _ts_arg(p, "latest", float("inf"))
        inclusive = flag(p.get("inclusive", False))
        limit = min(max(int(p.get("limit") or 100), 1), 999)
        with_metadata = flag(p.get("include_all_metadata", False))
        found = [
            _visible(m, with_metadata) for m in reversed(self.messages.get(channel, []))
            if m.get("thread_ts") in (None, m["ts"]) and _within(float(m["ts"]), oldest, latest, inclusive)
        ]
        return _page(found, p, limit)

    @api("conversations.replies")
    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """A thread oldest first, parent included."""
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        parent = self._find_message(channel, p.get("ts"))
        if parent.get("thread_ts") not in (None, parent["ts"]):
            parent = self._find_message(channel, parent["thread_ts"])
        oldest, latest = _ts_arg(p, "oldest", 0.0), _ts_arg(p, "latest", float("inf"))
        inclusive = flag(p.get("inclusive", False))
        limit = min(max(int(p.get("limit") or 1000), 1), 1000)
        with_metadata = flag(p.get("include_all_metadata", False))
        thread = [
            _visible(m, with_metadata) for m in self.messages.get(channel, [])
            if (m is parent or m.get("thread_ts") == parent["ts"])
            and _within(float(m["ts"]), oldest, latest, inclusive)
        ]
        return _page(thread, p, limit)

    # ---- unfurls ---------------------------------------------------------------------------------
    @api("chat.unfurl")
    def _chat_unfurl(self, p: dict[str, Any]) -> dict[str, Any]:
        by_message = bool(p.get("channel") or p.get("ts"))
        if by_message:
            if not p.get("channel"):
                raise SlackError("missing_channel")
            if not p.get("ts"):
                raise SlackError("missing_ts")
        elif not p.get("unfurl_id") and not p.get("source"):
            raise SlackError("missing_channel")
        elif not p.get("unfurl_id"):
            raise SlackError("missing_unfurl_id")
        elif p.get("source") not in _UNFURL_SOURCES:
            raise SlackError("invalid_source")
        unfurls = p.get("unfurls")
        if not isinstance(unfurls, dict) or not unfurls or not all(isinstance(v, dict) for v in unfurls.values()):
            raise SlackError("invalid_unfurls_format")
        errors = []
        for url, unfurl in unfurls.items():
            if "blocks" in unfurl:
                errors += validate_blocks(unfurl["blocks"], "message", pointer=f"/unfurls/{url}/blocks")
        if errors:
            raise invalid("invalid_blocks", errors)
        record = {"channel": None, "ts": None, "unfurl_id": p.get("unfurl_id"), "source": p.get("source"),
                  "unfurls": unfurls}
        if by_message:
            channel = self._resolve_channel(p["channel"], need_member=False)
            try:
                message = self._find_message(channel, p["ts"])
            except SlackError as exc:
                raise SlackError("cannot_find_message") from exc
            if any(url not in message.get("text", "") for url in unfurls):
                raise SlackError("cannot_unfurl_message")  # a URL the message does not hold
            message["unfurls"] = unfurls
            record.update(channel=channel, ts=p["ts"])
        self.unfurls.append(record)
        return {}

    # ---- response_url ----------------------------------------------------------------------------
    @route("/actions/")
    def _response_url(self, verb: str, path: str, query: str, body: bytes, headers: dict[str, str],
                      at: float) -> Reply:
        params: dict[str, Any] = {}
        try:
            parsed = json.loads(body or b"{}")
            params = parsed if isinstance(parsed, dict) else {"payload": parsed}
        except ValueError:
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            try:
                params = json.loads(form["payload"]) if "payload" in form else form
            except ValueError:
                params = form

        def reply(status: int, error: str | None, lines: list[str] | None = None) -> Reply:
            response: dict[str, Any] = {"ok": True} if error is None else {"ok": False, "error": error}
            if lines:
                response["errors"] = lines
            text = "ok" if error is None else error
            return Reply(Call("response_url", params, headers, response, at), status, {}, text.encode(), TEXT_TYPE)

        if path not in self._response_urls:
            return reply(404, "invalid_url")
        failure = self._plain_failure("response_url")
        if failure is not None:
            return reply(failure[0], failure[1])
        if not params.get("delete_original"):
            try:
                self._message_content(params)
            except SlackError as exc:
                return reply(400, str(exc.body["error"]), exc.body.get("errors"))
        return reply(200, None)


def _within(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _visible(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    """A message as the API shows it: no empty fields; metadata only when asked for."""
    shown = {k: v for k, v in message.items() if v is not None and k != "channel"}
    if not with_metadata:
        shown.pop("metadata", None)
    return json.loads(json.dumps(shown))  # a copy the caller cannot mutate
