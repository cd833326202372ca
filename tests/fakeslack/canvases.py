"""Canvases: canvases.create/edit/delete/access.set and conversations.canvases.create.

The fake keeps each canvas's markdown, title and access so tests can read them (Slack has no API to
read a canvas back as markdown for bots without canvases:read, and the bot must not rely on one).
"""

from __future__ import annotations

from typing import Any

from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import SlackError, api, id_list, invalid

MAX_CANVAS_MARKDOWN = 1_048_576  # 1 MiB, "1,048,576 characters" on conversations.canvases.create
_OPERATIONS = ("insert_after", "insert_before", "insert_at_start", "insert_at_end", "replace", "delete")
_SECTION_OPERATIONS = ("insert_after", "insert_before", "delete")
_ACCESS = ("read", "write", "owner")


def _markdown(p: dict[str, Any], *, required: bool = False) -> str:
    """``document_content``: {type: "markdown", markdown: str}, at most 1 MiB."""
    content = p.get("document_content")
    if content is None and not required:
        return ""
    if not isinstance(content, dict) or content.get("type") != "markdown" \
            or not isinstance(content.get("markdown"), str):
        raise invalid("invalid_arguments", [
            'document_content must be {"type": "markdown", "markdown": "..."} [json-pointer:/document_content]'
        ])
    markdown = str(content["markdown"])
    if len(markdown) > MAX_CANVAS_MARKDOWN:
        raise SlackError("canvas_too_large")
    return markdown


class CanvasMethods(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        self.free_plan = False  # a free workspace: no standalone canvases
        self.canvases: dict[str, dict[str, Any]] = {}
        self._canvas_locks: dict[str, int | None] = {}  # canvas id -> edits still refused (None: all)

    def lock_canvas(self, canvas_id: str, times: int | None = 1) -> None:
        """Refuse the next ``times`` edits of this canvas (None: until unlocked) with canvas_editing_locked,
        as Slack does while someone else is editing it."""
        with self._lock:
            self._canvas_locks[canvas_id] = times

    def unlock_canvas(self, canvas_id: str) -> None:
        with self._lock:
            self._canvas_locks.pop(canvas_id, None)

    def canvas_for_channel(self, channel_id: str) -> dict[str, Any] | None:
        """The channel's own canvas (conversations.canvases.create), if it has one."""
        with self._lock:
            return next((c for c in self.canvases.values()
                         if c["kind"] == "channel" and c["channel_id"] == channel_id), None)

    def _new_canvas(self, kind: str, title: str, markdown: str, channel_id: str | None) -> str:
        canvas_id = self._new_id("F")
        access: dict[str, dict[str, str]] = {"channels": {}, "users": {self.bot_user_id: "owner"}}
        if channel_id is not None:
            access["channels"][channel_id] = "write"  # tabbed canvases are writable by the channel
        self.canvases[canvas_id] = {
            "id": canvas_id, "kind": kind, "title": title, "markdown": markdown, "channel_id": channel_id,
            "access": access, "edits": [],
        }
        return canvas_id

    def _canvas(self, p: dict[str, Any]) -> dict[str, Any]:
        canvas = self.canvases.get(str(p.get("canvas_id")))
        if canvas is None:
            raise SlackError("canvas_not_found")
        return canvas

    @api("canvases.create")
    def _canvases_create(self, p: dict[str, Any]) -> dict[str, Any]:
        markdown = _markdown(p)
        channel_id = p.get("channel_id")
        if channel_id is not None:
            channel_id = self._resolve_channel(channel_id, need_member=False)
        if self.free_plan:
            if channel_id is None:
                raise SlackError("free_teams_cannot_create_standalone_canvases")
            if any(c["channel_id"] == channel_id for c in self.canvases.values()):
                raise SlackError("free_team_canvas_tab_already_exists")
        return {"canvas_id": self._new_canvas("standalone", str(p.get("title") or ""), markdown, channel_id)}

    @api("conversations.canvases.create")
    def _conversations_canvases_create(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel_id"):
            raise invalid("invalid_arguments", ["missing required field: channel_id"])
        channel_id = self._resolve_channel(p["channel_id"], need_member=False)
        markdown = _markdown(p)
        if self.canvas_for_channel(channel_id) is not None:
            raise SlackError("channel_canvas_already_exists")
        return {"canvas_id": self._new_canvas("channel", str(p.get("title") or ""), markdown, channel_id)}

    @api("canvases.edit")
    def _canvases_edit(self, p: dict[str, Any]) -> dict[str, Any]:
        canvas = self._canvas(p)
        changes = p.get("changes")
        if not isinstance(changes, list) or len(changes) != 1 or not isinstance(changes[0], dict):
            # Slack: "Only one operation per API call is currently supported."
            raise invalid("invalid_arguments", ["changes must hold exactly one change [json-pointer:/changes]"])
        change = changes[0]
        operation = change.get("operation")
        if operation not in _OPERATIONS:
            raise invalid("invalid_arguments", [f"unsupported operation: {operation} [json-pointer:/changes/0]"])
        if self.free_plan and canvas["kind"] == "standalone" and canvas["channel_id"] is None:
            raise SlackError("free_teams_cannot_edit_standalone_canvases")
        if canvas["id"] in self._canvas_locks:
            left = self._canvas_locks[canvas["id"]]
            if left is None or left > 1:
                self._canvas_locks[canvas["id"]] = None if left is None else left - 1
            else:
                del self._canvas_locks[canvas["id"]]
            raise SlackError("canvas_editing_locked")
        if operation in _SECTION_OPERATIONS or change.get("section_id"):
            # Sections (one per markdown block, found with canvases.sections.lookup) are not modelled:
            # an honest refusal beats a made-up answer.
            raise SlackError("fake_does_not_model_sections")
        markdown = _markdown(change, required=True)
        if operation == "replace":
            new = markdown
        elif operation == "insert_at_start":
            new = markdown + "\n" + canvas["markdown"] if canvas["markdown"] else markdown
        else:
            new = canvas["markdown"] + "\n" + markdown if canvas["markdown"] else markdown
        if len(new) > MAX_CANVAS_MARKDOWN:
            raise SlackError("canvas_too_large")
        canvas["markdown"] = new
        canvas["edits"].append(change)
        return {}

    @api("canvases.access.set")
    def _canvases_access_set(self, p: dict[str, Any]) -> dict[str, Any]:
        canvas = self._canvas(p)
        level = p.get("access_level")
        if level not in _ACCESS:
            raise invalid("invalid_arguments", ["access_level must be one of: read, write, owner"])
        channels, users = id_list(p.get("channel_ids")), id_list(p.get("user_ids"))
        if bool(channels) == bool(users):
            raise SlackError("invalid_parameters")  # one of user_ids or channel_ids, not both
        if len(channels) > 20 or len(users) > 20:
            raise invalid("invalid_arguments", ["no more than 20 items allowed"])
        if channels and level == "owner":
            raise invalid("invalid_arguments", ["owner access can only be given to users"])
        for channel in channels:
            if channel not in self.channels:
                raise SlackError("channel_not_found")
        for user in users:
            if user not in self.users:
                raise SlackError("user_not_found")
        for channel in channels:
            canvas["access"]["channels"][channel] = level
        for user in users:
            canvas["access"]["users"][user] = level
        return {}

    @api("canvases.delete")
    def _canvases_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        canvas = self._canvas(p)
        del self.canvases[canvas["id"]]
        return {}
