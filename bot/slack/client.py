"""The one Web API client: Slack's base URL from settings, and retries on 429, 5xx and lost connections."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings


def make_web_client(settings: Settings, token: str | None = None) -> WebClient:
    # slack_sdk does not retry 429 by itself; RateLimitErrorRetryHandler waits for Retry-After.
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=5),
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def without_blind_retries(client: WebClient) -> WebClient:
    """The same client for the outbox's senders: no retry that may repeat a post Slack already accepted (a
    dropped answer, a 5xx after the write: the outbox retries those after looking in the history), and no
    per-call 429 sleep (bot.slack.pacing pauses every sender of the method instead)."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[])
