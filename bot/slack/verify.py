"""Requests from Slack are verified before anything else reads them, and checked for the shape we rely on.

Bolt verifies signatures too, but a timestamp that is not a number makes slack_sdk's verifier raise, and the
global error handler then saw the unverified body. Here any failure, for any reason, is 401 and nothing
else runs. A verified body that is not what Slack sends (Slack never does, but a bug or a replay tool might)
is answered 400 with one log line instead of a traceback in a listener.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 60 * 5


def is_signed_by_slack(secret: str, body: bytes, timestamp: str | None, signature: str | None, *,
                       now: float | None = None) -> bool:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}`, refused when older than 5 minutes."""
    if not secret or not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def parse_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request as Bolt will see it; None when it cannot be parsed."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else None
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in form:
            payload = json.loads(form["payload"])
            return payload if isinstance(payload, dict) else None
        return form
    except (UnicodeDecodeError, ValueError):
        return None


def _has_user(body: dict[str, Any]) -> bool:
    user = body.get("user")
    return isinstance(user, dict) and isinstance(user.get("id"), str) and bool(user["id"])


def shape_problem(body: dict[str, Any]) -> str | None:
    """What is missing from a verified request that every listener relies on; None when it is fine."""
    kind = body.get("type")
    if "command" in body:
        return None if body.get("user_id") and isinstance(body.get("text", ""), str) else "command without user_id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not _has_user(body):
            return "block_actions without user"
        if not isinstance(actions, list) or not actions or not all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions
        ):
            return "block_actions without actions"
        return None
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not _has_user(body) or not isinstance(view, dict):
            return f"{kind} without user or view"
        state = view.get("state")
        if kind == "view_submission" and not (isinstance(state, dict) and isinstance(state.get("values"), dict)):
            return "view_submission without state.values"
        if not isinstance(view.get("private_metadata", ""), str):
            return "view with a private_metadata that is not text"
        return None
    if kind in ("shortcut", "message_action"):
        return None if _has_user(body) else f"{kind} without user"
    if kind == "event_callback":
        event = body.get("event")
        return None if isinstance(event, dict) and isinstance(event.get("type"), str) else "event without type"
    if kind in ("url_verification", "app_rate_limited"):
        return None
    return f"unknown request type {kind!r}"
