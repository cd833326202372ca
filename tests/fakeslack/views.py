"""Modals and the Home tab: views.open/push/update/publish, with trigger_id rules."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from tests.fakeslack.blockkit import validate_view
from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import SlackError, api, invalid


@dataclass
class _Trigger:
    created: float
    view_id: str | None
    used: bool = False


class ViewMethods(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        self.trigger_ttl: float = 3.0
        self.views: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._stacks: dict[str, list[str]] = {}  # root view id -> open modal stack
        self._last_root: str | None = None
        self._home: dict[str, str] = {}  # user id -> Home tab view id

    def new_trigger_id(self, view_id: str | None = None) -> str:
        """A trigger usable once within ``trigger_ttl`` s; ``view_id``: the modal it came from (for push)."""
        trigger = f"{int(time.time())}.{next(self._ids)}.{secrets.token_hex(12)}"
        with self._lock:
            self._triggers[trigger] = _Trigger(time.monotonic(), view_id)
        return trigger

    def _view_param(self, p: dict[str, Any], surface: str, replacing: str | None = None) -> dict[str, Any]:
        """The validated ``view`` argument; ``replacing`` is the id of the view it overwrites, if any."""
        view = p.get("view")
        if not isinstance(view, dict):
            raise invalid("invalid_arguments", ["missing required field: view [json-pointer:/view]"])
        errors = validate_view(view)
        if not errors and view.get("type") != surface:
            errors = [f"unsupported type: {view.get('type')} [json-pointer:/view/type]"]
        if errors:
            raise invalid("invalid_arguments", errors)
        external_id = view.get("external_id")
        if external_id and any(
            v.get("external_id") == external_id and vid != replacing for vid, v in self.views.items()
        ):
            raise SlackError("duplicate_external_id")
        return view

    def _check_trigger(self, p: dict[str, Any]) -> _Trigger:
        trigger = self._triggers.get(str(p.get("trigger_id") or p.get("interactivity_pointer") or ""))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.created > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        return trigger

    def _store_view(
        self, view: dict[str, Any], *, view_id: str, root: str, previous: str | None
    ) -> dict[str, Any]:
        stored = {
            "id": view_id, "team_id": self.team_id, "type": view["type"], "close": None, "submit": None,
            "private_metadata": "", "callback_id": "", "external_id": "", "clear_on_close": False,
            "notify_on_close": False, "submit_disabled": False, **view,
        }
        stored.update({
            "id": view_id, "state": {"values": {}}, "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": root, "previous_view_id": previous, "app_id": self.app_id, "bot_id": self.bot_id,
        })
        self.views[view_id] = stored
        return {"view": dict(stored)}

    @api("views.open")
    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        trigger = self._check_trigger(p)
        view = self._view_param(p, "modal")
        trigger.used = True
        view_id = self._new_id("V")
        self._stacks[view_id] = [view_id]
        self._last_root = view_id
        return self._store_view(view, view_id=view_id, root=view_id, previous=None)

    @api("views.push")
    def _views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        trigger = self._check_trigger(p)
        view = self._view_param(p, "modal")
        source = self.views.get(trigger.view_id or "")
        root = source["root_view_id"] if source else trigger.view_id or self._last_root
        if root is None:
            raise SlackError("not_found")  # no modal is open to push onto
        # A modal the fake never opened (a test's hand-made payload) is taken to be open.
        stack = self._stacks.setdefault(root, [root])
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        trigger.used = True
        view_id = self._new_id("V")
        previous = stack[-1]
        stack.append(view_id)
        return self._store_view(view, view_id=view_id, root=str(root), previous=previous)

    @api("views.update")
    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = p.get("view_id"), p.get("external_id")
        if not view_id and not external_id:
            raise invalid("invalid_arguments", ["must provide either `view_id` or `external_id`"])
        current = self.views.get(str(view_id)) if view_id else next(
            (v for v in self.views.values() if v.get("external_id") == external_id), None
        )
        if current is None:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._view_param(p, current["type"], replacing=current["id"])
        return self._store_view(
            view, view_id=current["id"], root=current["root_view_id"], previous=current["previous_view_id"]
        )

    @api("views.publish")
    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = p.get("user_id")
        if not user:
            raise invalid("invalid_arguments", ["missing required field: user_id"])
        existing = self.views.get(self._home.get(str(user), ""))
        if p.get("hash") and existing is not None and p["hash"] != existing["hash"]:
            raise SlackError("hash_conflict")
        view = self._view_param(p, "home", replacing=existing["id"] if existing else None)
        view_id = existing["id"] if existing else self._new_id("V")
        self._home[str(user)] = view_id
        return self._store_view(view, view_id=view_id, root=view_id, previous=None)
