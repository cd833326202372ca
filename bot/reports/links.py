"""Signed, expiring links to the report's HTML page, made with itsdangerous (keyed with SECRET_KEY).

A token carries the milestone, the revision it was made for and how long it is valid; itsdangerous adds the
signing time and an HMAC. `verify_link` answers LinkInvalid for anything we did not sign unaltered (the page
answers 404) and LinkExpired for a genuine token past its time (410).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.settings import Settings

_SALT = "milestone-bot.report-link.v2"


class _SignerAt(TimestampSigner):
    """A timestamp signer whose clock is the caller's `now` (tests and the command line pass their own)."""

    def __init__(self, *args: Any, now: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return self._now


def _serializer(key: bytes, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT, signer=_SignerAt,
                                  signer_kwargs={"now": int(now.timestamp())})


def sign_link(key: bytes, milestone_id: int, revision: int, *, now: datetime, ttl_hours: int) -> str:
    """A token naming the milestone and the revision it was made for, valid for `ttl_hours` from `now`."""
    return _serializer(key, now).dumps([milestone_id, revision, ttl_hours * 3600])


def report_url(settings: Settings, milestone_id: int, revision: int, now: datetime) -> str:
    """The report page's address for this revision, signed with SECRET_KEY and valid REPORT_LINK_TTL_HOURS:
    the one way every surface (sign-off DMs, the summary, App Home) links to the report."""
    token = sign_link(settings.signing_key, milestone_id, revision, now=now, ttl_hours=settings.report_link_ttl_hours)
    return f"{settings.public_base_url}/reports/{token}"


class LinkInvalid(Exception):
    """Not a token we made (or tampered with): 404."""


class LinkExpired(Exception):
    """A genuine token past its expiry: 410."""

    def __init__(self, milestone_id: int) -> None:
        super().__init__(milestone_id)
        self.milestone_id = milestone_id


@dataclass(frozen=True)
class LinkTarget:
    milestone_id: int
    revision: int
    expires: datetime


def verify_link(key: bytes, token: str, *, now: datetime) -> LinkTarget:
    try:
        payload, signed_at = _serializer(key, now).loads(token, return_timestamp=True)
    except BadSignature as error:
        raise LinkInvalid from error
    if not (isinstance(payload, list) and len(payload) == 3 and all(type(v) is int for v in payload)):
        raise LinkInvalid  # signed by us, but not a report link (another salt would not verify either)
    milestone_id, revision, ttl_seconds = payload
    expires = signed_at.astimezone(UTC) + timedelta(seconds=ttl_seconds)
    if now >= expires:
        raise LinkExpired(milestone_id)
    return LinkTarget(milestone_id, revision, expires)
