"""Block Kit primitives: the limits table, and a checker that collects Slack-style error lines.

Each line reads like Slack's own: ``"<what> [json-pointer:<where>]"``. The rules per block live in
``blocks.py``, per element in ``elements.py``; this module holds what both use.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS_TEXT = 12_000

# Allowed properties per block type (besides type/block_id): Slack rejects unknown ones with
# "invalid additional property: <name>", which catches typos such as "action_Id".
_BLOCK_FIELDS: dict[str, set[str]] = {
    "section": {"text", "fields", "accessory", "expand"},
    "divider": set(),
    "image": {"image_url", "slack_file", "alt_text", "title"},
    "actions": {"elements"},
    "context": {"elements"},
    "header": {"text"},
    "input": {"label", "element", "dispatch_action", "hint", "optional"},
    "rich_text": {"elements"},
    "video": {
        "alt_text", "author_name", "description", "provider_icon_url", "provider_name",
        "title", "title_url", "thumbnail_url", "video_url",
    },
    # Message-only blocks.
    "file": {"external_id", "source"},
    "markdown": {"text"},
    "table": {"rows", "column_settings"},
}
_MESSAGE_ONLY_BLOCKS = {"file", "markdown", "table"}

_SELECT_COMMON = {"action_id", "confirm", "focus_on_load", "placeholder"}
_TEXT_INPUT_COMMON = {"action_id", "initial_value", "dispatch_action_config", "focus_on_load", "placeholder"}
_ELEMENT_FIELDS: dict[str, set[str]] = {
    "button": {"text", "action_id", "url", "value", "style", "confirm", "accessibility_label"},
    "workflow_button": {"text", "workflow", "action_id", "style", "accessibility_label"},
    "checkboxes": {"action_id", "options", "initial_options", "confirm", "focus_on_load"},
    "radio_buttons": {"action_id", "options", "initial_option", "confirm", "focus_on_load"},
    "datepicker": {"action_id", "initial_date", "confirm", "focus_on_load", "placeholder"},
    "datetimepicker": {"action_id", "initial_date_time", "confirm", "focus_on_load"},
    "timepicker": {"action_id", "initial_time", "confirm", "focus_on_load", "placeholder", "timezone"},
    "image": {"image_url", "slack_file", "alt_text"},
    "overflow": {"action_id", "options", "confirm"},
    "static_select": _SELECT_COMMON | {"options", "option_groups", "initial_option"},
    "multi_static_select": _SELECT_COMMON
    | {"options", "option_groups", "initial_options", "max_selected_items"},
    "external_select": _SELECT_COMMON | {"initial_option", "min_query_length"},
    "multi_external_select": _SELECT_COMMON | {"initial_options", "min_query_length", "max_selected_items"},
    "users_select": _SELECT_COMMON | {"initial_user"},
    "multi_users_select": _SELECT_COMMON | {"initial_users", "max_selected_items"},
    "conversations_select": _SELECT_COMMON
    | {"initial_conversation", "default_to_current_conversation", "response_url_enabled", "filter"},
    "multi_conversations_select": _SELECT_COMMON
    | {"initial_conversations", "default_to_current_conversation", "max_selected_items", "filter"},
    "channels_select": _SELECT_COMMON | {"initial_channel", "response_url_enabled"},
    "multi_channels_select": _SELECT_COMMON | {"initial_channels", "max_selected_items"},
    "plain_text_input": _TEXT_INPUT_COMMON | {"multiline", "min_length", "max_length"},
    "email_text_input": _TEXT_INPUT_COMMON,
    "url_text_input": _TEXT_INPUT_COMMON,
    "number_input": _TEXT_INPUT_COMMON | {"is_decimal_allowed", "min_value", "max_value"},
    "rich_text_input": _TEXT_INPUT_COMMON,
    "file_input": {"action_id", "filetypes", "max_files"},
}
_SELECTS = {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
_MULTI_SELECTS = {f"multi_{s}" for s in _SELECTS}
_PICKERS = {"checkboxes", "radio_buttons", "datepicker", "timepicker"}
_CHOOSERS = _PICKERS | _SELECTS | _MULTI_SELECTS
_ACCESSORY_ELEMENTS = {"button", "workflow_button", "overflow", "image"} | _CHOOSERS
_ACTIONS_ELEMENTS = {"button", "workflow_button", "overflow", "datetimepicker"} | _CHOOSERS
_TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
_INPUT_ELEMENTS = _TEXT_INPUTS | {"file_input", "datetimepicker"} | _CHOOSERS
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class CheckerBase:
    """Walks blocks and collects Slack-style error lines ("<what> [json-pointer:<where>]")."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface
        self.errors: list[str] = []
        self.block_ids: set[str] = set()
        self.tables = 0

    def err(self, ptr: str, msg: str) -> None:
        self.errors.append(f"{msg} [json-pointer:{ptr}]")

    # ---- primitives ------------------------------------------------------------------------------
    def props(self, obj: dict[str, Any], allowed: set[str], ptr: str) -> None:
        for key in obj:
            if key not in allowed:
                self.err(ptr, f"invalid additional property: {key}")

    def string(
        self, obj: dict[str, Any], key: str, ptr: str, max_len: int, *, required: bool = False
    ) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.err(ptr, f"missing required field: {key}")
            return
        if not isinstance(value, str):
            self.err(f"{ptr}/{key}", "must be a string")
        elif len(value) > max_len:
            self.err(f"{ptr}/{key}", f"must be less than {max_len + 1} characters")
        elif required and not value:
            self.err(f"{ptr}/{key}", "must be more than 0 characters")

    def items(
        self, obj: dict[str, Any], key: str, ptr: str, lo: int, hi: int, *, required: bool = True
    ) -> list[Any]:
        value = obj.get(key)
        if value is None:
            if required:
                self.err(ptr, f"missing required field: {key}")
            return []
        if not isinstance(value, list):
            self.err(f"{ptr}/{key}", "must be an array")
            return []
        if len(value) > hi:
            self.err(f"{ptr}/{key}", f"no more than {hi} items allowed")
        elif len(value) < lo:
            self.err(f"{ptr}/{key}", f"must provide at least {lo} items")
        return value

    def text(
        self, obj: dict[str, Any], key: str, ptr: str, max_len: int | None, *,
        plain: bool = False, required: bool = True,
    ) -> None:
        """A text composition object; ``plain`` means only plain_text is allowed there."""
        if key not in obj:
            if required:
                self.err(ptr, f"missing required field: {key}")
            return
        self.text_object(obj[key], f"{ptr}/{key}", max_len, plain=plain)

    def text_object(self, value: Any, ptr: str, max_len: int | None, *, plain: bool = False) -> None:
        if not isinstance(value, dict):
            self.err(ptr, "must be an object")
            return
        kind = value.get("type")
        if kind not in ("plain_text", "mrkdwn") or (plain and kind != "plain_text"):
            self.err(f"{ptr}/type", 'must be "plain_text"' if plain else "must be one of: plain_text, mrkdwn")
            return
        extra = "emoji" if kind == "plain_text" else "verbatim"  # Slack rejects emoji on mrkdwn
        self.props(value, {"type", "text", extra}, ptr)
        text = value.get("text")
        if text is None:
            self.err(ptr, "missing required field: text")
        elif not isinstance(text, str):
            self.err(f"{ptr}/text", "must be a string")
        elif not text:
            self.err(f"{ptr}/text", "must be more than 0 characters")
        elif max_len is not None and len(text) > max_len:
            self.err(f"{ptr}/text", f"must be less than {max_len + 1} characters")

    def block_id(self, obj: dict[str, Any], ptr: str) -> None:
        bid = obj.get("block_id")
        if bid is None:
            return
        self.string(obj, "block_id", ptr, 255)
        if isinstance(bid, str):
            if bid in self.block_ids:
                self.err(f"{ptr}/block_id", f"duplicate block_id: {bid}")
            self.block_ids.add(bid)
