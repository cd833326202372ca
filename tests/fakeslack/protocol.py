"""The wire level shared by the fake's server and its method handlers: recorded calls, Slack's error
shape, request parsing, and the decorators that register handlers."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# Arguments that arrive as JSON text in form bodies and are decoded before handlers see them.
JSON_ARGS = ("blocks", "view", "attachments", "metadata", "unfurls", "changes", "document_content",
             "channel_ids", "user_ids", "files")


@dataclass
class Call:
    """One request the fake received, and what it answered (``dropped``: no answer was sent)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    dropped: bool = False


class SlackError(Exception):
    """Raised by method handlers; becomes the response body (and status/headers)."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}
        self.status = status
        self.headers = headers or {}


def invalid(error: str, lines: list[str]) -> SlackError:
    """Slack's shape for argument problems: ``errors`` plus ``[ERROR]`` lines in response_metadata."""
    messages = [f"[ERROR] {line}" for line in lines]
    return SlackError(error, errors=lines, response_metadata={"messages": messages})


def ratelimited(retry_after: float) -> SlackError:
    seconds = max(1, int(-(-retry_after // 1)))  # ceil, at least 1: Slack sends whole seconds
    return SlackError("ratelimited", status=429, headers={"Retry-After": str(seconds)})


@dataclass
class Reply:
    """What a route answers: the call to record, then status, headers, body and content type."""

    call: Call
    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str


Handler = Callable[[dict[str, Any]], dict[str, Any]]  # a bound handler
F = TypeVar("F", bound=Callable[..., Any])


def api(name: str) -> Callable[[F], F]:
    """Register a method handler (``handler(self, params) -> response fields``) under its API name."""

    def mark(fn: F) -> F:
        fn._slack_method = name  # type: ignore[attr-defined]
        return fn

    return mark


def route(prefix: str) -> Callable[[F], F]:
    """Register a non-API path (``handler(self, method, path, query, body, headers, at) -> Reply``)."""

    def mark(fn: F) -> F:
        fn._slack_route = prefix  # type: ignore[attr-defined]
        return fn

    return mark


def flag(value: Any) -> bool:
    """A boolean argument as Slack reads it: true/1 (slack_sdk sends "1" for True in query strings)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def id_list(value: Any) -> list[str]:
    """A list of ids sent as a JSON array or as comma-separated text (slack_sdk joins lists with commas)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Merge query string and body (form, multipart or JSON); decode JSON-looking structured arguments."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(data, dict):
            raise SlackError("invalid_json")
        params.update(data)
    elif ctype == "multipart/form-data":
        fields, files = parse_multipart(body, content_type)
        params.update(fields)
        params.update(files)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params = {k: v for k, v in params.items() if v is not None}  # JSON nulls mean "not given"
    for key in JSON_ARGS:
        value = params.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):  # else left a string: handlers answer *_format errors
                params[key] = json.loads(value)
    return params


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and file parts of a multipart body (stdlib email parser; cgi is gone in 3.13)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode("utf-8")
    return fields, files
