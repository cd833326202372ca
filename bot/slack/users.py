"""A cache of users.info: time zone ("today" for reminders), display name, admin flag (permissions)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from models import UserProfile, utcnow

log = logging.getLogger(__name__)
MAX_AGE = timedelta(days=1)


def get_profile(session: Session, client: WebClient, user_id: str, *, max_age: timedelta = MAX_AGE) -> UserProfile:
    """The cached profile, refreshed from Slack when older than a day. On a Slack error the stale copy
    (or a UTC default) is used: a reminder in UTC beats no reminder."""
    profile = session.get(UserProfile, user_id)
    if profile is not None and utcnow() - profile.fetched_at < max_age:
        return profile
    return store_profile(session, user_id, fetch_user(client, user_id))


def fetch_user(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """users.info, or None when Slack refuses; no database work, so callers can do it outside a transaction."""
    try:
        return dict(client.users_info(user=user_id)["user"])
    except SlackApiError as error:
        log.warning("users.info %s failed: %s", user_id, error.response.get("error"))
        return None


def store_profile(session: Session, user_id: str, user: dict[str, Any] | None) -> UserProfile:
    """Cache what users.info said; None (Slack refused) keeps a stale copy or makes a UTC default."""
    profile = session.get(UserProfile, user_id)
    if user is None:
        if profile is None:
            profile = UserProfile(user_id=user_id, tz="UTC", tz_offset=0, fetched_at=utcnow())
            session.add(profile)
        return profile
    if profile is None:
        profile = UserProfile(user_id=user_id)
        session.add(profile)
    profile.team_id = user.get("team_id")
    profile.real_name = (user.get("profile") or {}).get("real_name") or user.get("real_name") or user.get("name")
    profile.tz = user.get("tz") or "UTC"
    profile.tz_offset = user.get("tz_offset") or 0
    profile.is_admin = bool(user.get("is_admin") or user.get("is_owner"))
    profile.deleted = bool(user.get("deleted"))
    profile.fetched_at = utcnow()
    session.flush()
    return profile
