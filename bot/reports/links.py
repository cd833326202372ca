"""Signed, expiring links to the report's HTML page."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_LINK_PURPOSE = b"report-link:v1:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _link_mac(key: bytes, milestone_id: int, revision: int, expires: int) -> str:
    message = _LINK_PURPOSE + f"{milestone_id}:{revision}:{expires}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def sign_link(key: bytes, milestone_id: int, revision: int, *, now: datetime, ttl_hours: int) -> str:
    """A token naming the milestone and the revision it was made for, valid for `ttl_hours`."""
    expires = int((now + timedelta(hours=ttl_hours)).timestamp())
    return f"{milestone_id}.{revision}.{expires}.{_link_mac(key, milestone_id, revision, expires)}"


class LinkInvalid(Exception):
    """Not a token we made (or tampered with): 404."""


class LinkExpired(Exception):
    """A genuine token past its expiry: 410."""


@dataclass(frozen=True)
class LinkTarget:
    milestone_id: int
    revision: int
    expires: datetime


def verify_link(key: bytes, token: str, *, now: datetime) -> LinkTarget:
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        raise LinkInvalid
    milestone_id, revision, expires = (int(p) for p in parts[:3])
    if not hmac.compare_digest(parts[3], _link_mac(key, milestone_id, revision, expires)):
        raise LinkInvalid
    expiry = datetime.fromtimestamp(expires, UTC)
    if now >= expiry:
        raise LinkExpired
    return LinkTarget(milestone_id, revision, expiry)
