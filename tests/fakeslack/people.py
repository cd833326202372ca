"""People and conversations: users.info, users.list, users.lookupByEmail, conversations.open/members/info."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import SlackError, api

# users.list (docs.slack.dev): pages of at most 1,000 members ("fewer than the requested number of items may be
# returned, even if the end of the users list hasn't been reached"); without a limit Slack tries to send
# everyone and large teams get `limit_required`; a bad cursor is `invalid_cursor`. Tier 2 (20+ per minute):
# give it with `set_rate_limit("users.list", 20)`.
USERS_LIST_MAX_PAGE = 1000
USERS_LIST_UNLIMITED_MAX = 500  # the fake's "large team": past this many members a call without limit fails


class PeopleMethods(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        self.users_list_page_cap: int | None = None  # pages shorter than asked, as Slack may send them
    def add_user(
        self, user_id: str, *, name: str | None = None, real_name: str | None = None,
        tz: str = "America/New_York", tz_offset: int | None = None, is_admin: bool = False,
        is_owner: bool = False, is_bot: bool = False, deleted: bool = False, team_id: str | None = None,
        email: str | None = None, enterprise_id: str | None = None, enterprise_admin: bool = False,
    ) -> None:
        """A member as users.info shows them. ``team_id`` other than the fake's: a person from another
        workspace (Slack Connect); ``enterprise_id``: an Enterprise Grid user (``enterprise_user``)."""
        now = datetime.now(ZoneInfo(tz))
        if tz_offset is None:
            tz_offset = int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
        name = name or user_id.lower()
        real_name = real_name or name
        team = team_id or self.team_id
        user: dict[str, Any] = {
            "id": user_id, "team_id": team, "name": name, "real_name": real_name,
            "deleted": deleted, "is_admin": is_admin, "is_owner": is_owner, "is_primary_owner": False,
            "is_restricted": False, "is_ultra_restricted": False, "is_bot": is_bot,
            "is_app_user": False, "tz": tz,
            "tz_label": now.tzname() or tz,  # Slack says e.g. "Eastern Standard Time"; zoneinfo has "EST"
            "tz_offset": tz_offset,
            "profile": {"real_name": real_name, "display_name": name, "team": team},
        }
        if email is not None:
            user["profile"]["email"] = email  # only with the users:read.email scope, which the fake assumes
        if enterprise_id is not None:
            user["enterprise_user"] = {
                "id": user_id, "enterprise_id": enterprise_id, "enterprise_name": f"Enterprise {enterprise_id}",
                "is_admin": enterprise_admin, "is_owner": False, "teams": [team],
            }
        with self._lock:
            self.users[user_id] = user

    @api("users.info")
    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": json.loads(json.dumps(user))}  # a copy the caller cannot mutate

    @api("users.list")
    def _users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        """The workspace's members, ordered by id, deleted ones and bots included (as Slack lists them);
        people of other workspaces (Slack Connect) are not members here and are not listed."""
        with self._lock:
            members = sorted((u for u in self.users.values() if u["team_id"] == self.team_id),
                             key=lambda u: str(u["id"]))
            cap = self.users_list_page_cap
        try:
            limit = int(p.get("limit") or 0)
        except ValueError as exc:
            raise SlackError("invalid_limit") from exc
        if limit <= 0:
            if len(members) > USERS_LIST_UNLIMITED_MAX:
                raise SlackError("limit_required")
            limit = max(1, len(members))
        limit = min(limit, USERS_LIST_MAX_PAGE, cap or USERS_LIST_MAX_PAGE)
        start = 0
        if p.get("cursor"):
            try:
                after = base64.b64decode(str(p["cursor"]), validate=True).decode()
            except ValueError as exc:
                raise SlackError("invalid_cursor") from exc
            if not after.startswith("user:"):
                raise SlackError("invalid_cursor")
            start = next((i for i, u in enumerate(members) if str(u["id"]) >= after[5:]), len(members))
        page = members[start:start + limit]
        following = members[start + limit:start + limit + 1]
        cursor = base64.b64encode(f"user:{following[0]['id']}".encode()).decode() if following else ""
        return {"members": json.loads(json.dumps(page)), "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": cursor}}

    @api("users.lookupByEmail")
    def _users_lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email") or "").strip().lower()
        for user in self.users.values():
            if email and str(user["profile"].get("email", "")).lower() == email:
                return {"user": json.loads(json.dumps(user))}
        raise SlackError("users_not_found")

    @api("conversations.open")
    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            return {"channel": {"id": self._resolve_channel(p["channel"], need_member=False)}}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) == 1:
            already = f"D{users[0]}" in self._dms
            return {"channel": {"id": self._dm_for(users[0])}, "already_open": already}
        for user in users:
            self._dm_for(user)  # unknown and deleted users are refused the same way
        group = f"G{'_'.join(sorted(users))}"  # multi-person DM, modelled as a private channel
        if group not in self.channels:
            self.add_channel(group, members=users, name=f"mpdm-{'--'.join(sorted(users))}")
        return {"channel": {"id": group}}

    @api("conversations.members")
    def _conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        if channel in self._dms:
            members = [self._dms[channel], self.bot_user_id]
        else:
            info = self.channels[channel]
            members = list(info["members"])
            if info["bot_is_member"] and self.bot_user_id not in members:
                members.append(self.bot_user_id)  # Slack lists the bot among the members
        limit = int(p.get("limit") or 100)
        offset = 0
        if p.get("cursor"):
            try:
                offset = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:"))
            except ValueError as exc:
                raise SlackError("invalid_cursor") from exc
        page = members[offset:offset + limit]
        more = offset + limit < len(members)
        cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    @api("conversations.info")
    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        if channel in self._dms:
            return {"channel": {"id": channel, "is_im": True, "user": self._dms[channel], "is_member": True}}
        info = self.channels[channel]
        return {"channel": {
            "id": channel, "name": info["name"], "is_channel": not info["is_private"],
            "is_group": info["is_private"], "is_im": False, "is_private": info["is_private"],
            "is_archived": False, "is_member": info["bot_is_member"], "num_members": len(info["members"]),
        }}
