"""A cache of users.info: time zone ("today" for reminders), display name, admin flag (permissions)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.db import insert_ignore, upsert
from bot.deps import Deps
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


def cached_profile(deps: Deps, client: WebClient, user_id: str, *, max_age: timedelta = MAX_AGE) -> UserProfile:
    """The profile, with users.info called outside any transaction (a slow Slack never holds a database lock)."""
    with deps.read() as session:
        profile = session.get(UserProfile, user_id)
        if profile is not None and utcnow() - profile.fetched_at < max_age:
            session.expunge(profile)
            return profile
    user = fetch_user(client, user_id)
    with deps.session() as session:
        return store_profile(session, user_id, user)


def refresh_profiles(deps: Deps, client: WebClient, user_ids: list[str]) -> None:
    """Refresh these (stale) profiles: users.info for each, SEND_CONCURRENCY at a time and outside any
    transaction, then stored together. A failed store is logged; the next sweep tries again."""
    if not user_ids:
        return
    workers = max(1, min(deps.settings.send_concurrency, len(user_ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="users-info") as pool:
        fetched = list(zip(user_ids, pool.map(lambda u: fetch_user(client, u), user_ids), strict=True))
    try:
        with deps.session() as session:
            for user_id, user in fetched:
                store_profile(session, user_id, user)
    except SQLAlchemyError as error:
        log.warning("could not store %d refreshed profiles: %s", len(fetched), error)


def fetch_user(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """users.info, or None when Slack refuses; no database work, so callers can do it outside a transaction."""
    try:
        return dict(client.users_info(user=user_id)["user"])
    except SlackApiError as error:
        log.warning("users.info %s failed: %s", user_id, error.response.get("error"))
        return None


def store_profile(session: Session, user_id: str, user: dict[str, Any] | None) -> UserProfile:
    """Cache what users.info said; None (Slack refused) keeps a stale copy or makes a UTC default.

    An upsert, so two saves that both meet a person for the first time cannot collide on the key."""
    now = utcnow()
    cached = session.get(UserProfile, user_id)
    if user is None:
        values: dict[str, Any] = {"user_id": user_id, "tz": "UTC", "tz_offset": 0, "fetched_at": now}
        if cached is None:
            insert_ignore(session, UserProfile.__table__, values, conflict=["user_id"])
    else:
        profile = user.get("profile") or {}
        values = {
            "user_id": user_id,
            "team_id": user.get("team_id"),
            "real_name": profile.get("real_name") or user.get("real_name") or user.get("name"),
            "tz": user.get("tz") or "UTC",
            "tz_offset": user.get("tz_offset") or 0,
            "is_admin": bool(user.get("is_admin") or user.get("is_owner")),
            "is_bot": bool(user.get("is_bot")),
            "deleted": bool(user.get("deleted")),
            "fetched_at": now,
        }
        upsert(session, UserProfile.__table__, values, key=["user_id"])
    if cached is not None:
        session.refresh(cached)
        return cached
    stored = session.get(UserProfile, user_id)
    assert stored is not None
    return stored


def is_admin_of(profile: UserProfile, team_id: str) -> bool:
    """The admin flag counts only in the admin's own workspace: an admin of another workspace (a Slack
    Connect guest in a shared channel, say) is an outsider here."""
    return profile.is_admin and bool(team_id) and profile.team_id == team_id
