"""Making text safe and short for Slack."""

from __future__ import annotations


def esc(text: object) -> str:
    """Escape user text for mrkdwn and plain text: `<!channel>` must show, not ping (Slack's own rule)."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, so a long value never breaks a Block Kit limit."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "—"


def channel(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "—"
