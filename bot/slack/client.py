"""The one Web API client: Slack's base URL from settings, and retries on 429, 5xx and lost connections."""

from __future__ import annotations

import http.client
import io
import select
import ssl
import threading
import time
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings

# A connection idle longer than this is not reused: servers and NATs drop idle keep-alive connections, and a
# post sent into a dropped one fails in a way that cannot tell whether Slack got it.
KEEP_ALIVE_IDLE = 20.0


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
    per-call 429 sleep (bot.slack.pacing pauses every sender of the method instead). Each sender thread keeps
    its connection to Slack open between messages (KeepAliveWebClient)."""
    return KeepAliveWebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                              retry_handlers=[], ssl=client.ssl, proxy=client.proxy)


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient with one HTTP/1.1 connection per thread and host, reused from call to call.

    slack_sdk's urllib transport opens a new connection (a TCP and a TLS handshake with Slack) for every
    call and closes it after the answer; a sender posting thousands of DMs pays that round trip each time.
    Only the transport changes: slack_sdk still builds the request, handles the answer and runs its retry
    handlers. A connection the server closed (seen before reuse), idle past KEEP_ALIVE_IDLE, or broken by
    an error is replaced; a proxy falls back to slack_sdk's own transport."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        key = (parts.scheme, parts.netloc, id(self.ssl))
        connection = _connection(key, self.timeout, self.ssl)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            headers = {name.title(): value for name, value in req.header_items()}  # as urllib sends them
            connection.request(req.get_method(), path or "/", body=req.data, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except Exception:
            _forget(key)
            raise
        _POOL.used[key] = time.monotonic()
        if not 200 <= response.status < 300:  # what urllib raises, and slack_sdk expects, for these
            raise HTTPError(url, response.status, response.reason, response.headers, io.BytesIO(body))
        if response.headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.headers, "body": body}
        charset = response.headers.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.headers, "body": body.decode(charset)}


class _Connections(threading.local):
    def __init__(self) -> None:
        self.open: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self.used: dict[tuple[str, str, int], float] = {}


_POOL = _Connections()


def _connection(key: tuple[str, str, int], timeout: int, context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    pool = _POOL
    connection = pool.open.get(key)
    if connection is not None and (time.monotonic() - pool.used.get(key, 0.0) > KEEP_ALIVE_IDLE
                                   or _closed_by_server(connection)):
        _forget(key)
        connection = None
    if connection is None:
        scheme, netloc, _ = key
        if scheme == "https":
            connection = http.client.HTTPSConnection(netloc, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection(netloc, timeout=timeout)
        pool.open[key] = connection
    return connection


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed (or answered out of turn): do not reuse."""
    sock = connection.sock
    if sock is None:  # closed after an answer that said so; http.client reconnects by itself
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _forget(key: tuple[str, str, int]) -> None:
    pool = _POOL
    connection = pool.open.pop(key, None)
    pool.used.pop(key, None)
    if connection is not None:
        connection.close()
