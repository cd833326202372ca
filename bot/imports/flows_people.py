"""Who the names in an imported file are: the workspace's members from Slack, asked once per import.

`Directory` is one import's view of the workspace. users.list is called only when a name needs it (not for
`<@U…>` mentions or e-mail addresses) and then once, every page of it (cursor pagination, 200 a page);
users.lookupByEmail once per address. When Slack refuses users.list (a missing scope, an error), the bot's
own cache of profiles serves instead. What Slack said about the people matched is kept, so the import can
store it as their cached profile (the report then shows their names at once, with no users.info call).

All Slack calls happen here, before the import's transaction opens (a slow Slack never holds a lock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.imports.people import Member, match_all, needs_directory
from bot.slack.users import store_profile
from models import UserProfile

log = logging.getLogger(__name__)
EmailLookup = Callable[[str], str | None]
PAGE = 200  # users.list page size asked for (Slack's advice: 200 or fewer; it may send fewer)


def cached_members(session: Session, team_id: str) -> list[Member]:
    """The members the bot has met (users.info cache), for matching without Slack."""
    rows = session.execute(select(UserProfile.user_id, UserProfile.real_name)
                           .where(UserProfile.team_id == team_id, UserProfile.deleted.is_(False))).all()
    return [Member(user_id, real_name) for user_id, real_name in rows]


def no_email_lookup(email: str) -> str | None:
    return None


def _member(user: dict[str, Any]) -> Member:
    profile = user.get("profile") or {}
    return Member(str(user["id"]), profile.get("real_name") or user.get("real_name"), profile.get("display_name"),
                  user.get("name"))


class Directory:
    """One import's view of the workspace's members (see the module's docstring)."""

    def __init__(self, client: WebClient | None, sessions: sessionmaker[Session], team_id: str) -> None:
        self.client, self.sessions, self.team_id = client, sessions, team_id
        self.users: dict[str, dict[str, Any]] = {}  # what Slack said of each member it listed or found
        self._members: list[Member] | None = None
        self._emails: dict[str, str | None] = {}

    def members(self) -> list[Member]:
        """Every active human member: users.list (all pages), else the cached profiles."""
        if self._members is None:
            listed = self._list() if self.client is not None else None
            if listed is None:
                with self.sessions() as session:
                    listed = cached_members(session, self.team_id)
            self._members = listed
        return self._members

    def _list(self) -> list[Member] | None:
        assert self.client is not None
        members: list[Member] = []
        cursor: str | None = None
        try:
            while True:
                page = self.client.users_list(limit=PAGE, cursor=cursor)
                for user in page.get("members") or []:
                    if user.get("deleted") or user.get("is_bot") or user.get("id") == "USLACKBOT":
                        continue
                    self.users[str(user["id"])] = dict(user)
                    members.append(_member(user))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return members
        except SlackApiError as error:
            log.info("users.list refused (%s); matching names against cached profiles", error.response.get("error"))
            return None

    def by_email(self, email: str) -> str | None:
        """users.lookupByEmail, once per address in this import; None when nobody has it."""
        key = email.casefold()
        if key not in self._emails:
            self._emails[key] = self._lookup(email)
        return self._emails[key]

    def _lookup(self, email: str) -> str | None:
        if self.client is None:
            return None
        try:
            user = dict(self.client.users_lookupByEmail(email=email)["user"])
        except SlackApiError:
            return None
        if user.get("deleted"):
            return None
        self.users[str(user["id"])] = user
        return str(user["id"])

    def match(self, texts: Iterable[str]) -> dict[str, str | None]:
        """Every distinct text → the member it names, or None (kept as text). users.list only if needed."""
        texts = list(dict.fromkeys(texts))
        members = self.members() if any(needs_directory(t) for t in texts) else []
        return match_all(texts, members, self.by_email)

    def remember(self, session: Session, user_ids: Iterable[str | None]) -> None:
        """Store what Slack said about these matched members as their cached profiles (in the caller's
        transaction: a dry run keeps nothing)."""
        for user_id in sorted({u for u in user_ids if u and u in self.users}):
            store_profile(session, user_id, self.users[user_id])
