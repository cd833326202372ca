"""A fake of Slack's Web API, served over real HTTP on loopback, for end-to-end tests.

The app under test points slack_sdk's ``WebClient(base_url=fake.base_url)`` at it, so the real client,
its serialisation and its retry handlers are exercised. Every request is recorded as a :class:`Call`.

What is modelled, and where it comes from (docs.slack.dev method pages, the 2018 "truncating really
long messages" changelog, and error bodies quoted in slackapi/bolt-js, bolt-python and other issues):

- Errors are HTTP 200 ``{"ok": false, "error": ...}``; 429 carries ``Retry-After`` and the body
  ``{"ok": false, "error": "ratelimited"}``. A missing token is ``not_authed``, a wrong one ``invalid_auth``.
- Block Kit problems in messages (chat.postMessage/postEphemeral/update) answer ``invalid_blocks`` with
  ``errors`` and ``response_metadata.messages`` lines shaped like Slack's own:
  ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"`` (messages get an
  ``[ERROR] `` prefix). A ``blocks`` value that is not a JSON array is ``invalid_blocks_format``.
- Views: real Slack answers ``invalid_arguments`` for *every* view problem, block problems included
  (e.g. ``"[ERROR] no more than 10 items allowed [json-pointer:/view/blocks/13/fields]"``,
  ``"must define `submit` to use an `input` block in modals [json-pointer:/view/blocks/2/input]"``), so
  the fake does the same rather than splitting view-level and block-level codes. It also adds ``errors``
  (the same lines without the prefix) for convenience.
- Text over 40,000 chars is truncated, still posted, with warning ``message_truncated`` (the 2018
  changelog), not rejected. Text summed over a message's blocks above 12,000 chars answers
  ``msg_blocks_too_long`` for chat.* methods only: bolt-js#2867 reports the same blocks going through a
  response_url fine, and Slack's real threshold is fuzzy (12-13k).
- trigger_id: unknown -> ``invalid_trigger_id``, reused -> ``exchanged_trigger_id`` (what Slack really
  says, see bolt-js#1371/#1888), older than ``trigger_ttl`` -> ``expired_trigger_id``. A trigger is only
  consumed when the call succeeds. ``views.push`` past a stack of 3 -> ``push_limit_reached``.
- response_url: success is HTTP 200 with the plain-text body ``ok``; failures are modelled on incoming
  webhooks (HTTP 400, plain-text body such as ``invalid_blocks`` or ``no_text``).
- files_upload_v2: getUploadURLExternal -> raw POST of bytes to the upload URL (answered ``OK - <size>``,
  recorded as ``files.upload_bytes``) -> completeUploadExternal. Completing a file whose bytes never
  arrived answers ``file_not_found`` (a guess: Slack does not document this case). ``files.upload`` is
  retired: ``method_deprecated``.
- Channels: C/G ids must have been ``add_channel``'d (``channel_not_found``); posting where the bot is not
  a member is ``not_in_channel``. A user id as channel opens that user's DM, whose id is ``"D" + user_id``;
  ``conversations.members`` lists the bot too, as Slack does. Ephemeral posts (to members only:
  ``user_not_in_channel``) go to ``fake.ephemeral``.
- ``views.push`` goes onto the stack of the modal named by ``new_trigger_id(view_id)``, else the last
  opened one; a modal the fake never opened is assumed open (hand-made test payloads).
- Not modelled: scopes, response_url use counts/expiry, real permalinks, files shared as messages
  (uploads land in :attr:`FakeSlack.files`, not in :attr:`FakeSlack.messages`), and Slack's long
  ``tz_label`` ("Eastern Standard Time": the fake gives zoneinfo's "EST").
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

Surface = Literal["message", "modal", "home"]

# --------------------------------------------------------------------------------------------------
# Block Kit validation (pure functions, usable without a server)
# --------------------------------------------------------------------------------------------------

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


class _Checker:
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

    # ---- blocks ----------------------------------------------------------------------------------
    def blocks(self, blocks: Any, ptr: str) -> None:
        if not isinstance(blocks, list):
            self.err(ptr, "must be an array")
            return
        limit = MAX_BLOCKS[self.surface]
        if len(blocks) > limit:
            self.err(ptr, f"no more than {limit} items allowed")
        for i, block in enumerate(blocks):
            self.block(block, f"{ptr}/{i}")

    def block(self, block: Any, ptr: str) -> None:
        if not isinstance(block, dict):
            self.err(ptr, "must be an object")
            return
        kind = block.get("type")
        if kind is None:
            self.err(ptr, "missing required field: type")
            return
        if kind not in _BLOCK_FIELDS or (kind in _MESSAGE_ONLY_BLOCKS and self.surface != "message"):
            self.err(f"{ptr}/type", f"unsupported type: {kind}")
            return
        self.props(block, {"type", "block_id"} | _BLOCK_FIELDS[kind], ptr)
        self.block_id(block, ptr)
        action_ids: set[str] = set()
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.err(ptr, "must define either `text` or `fields`")
            self.text(block, "text", ptr, 3000, required=False)
            for i, item in enumerate(self.items(block, "fields", ptr, 1, 10, required=False)):
                self.text_object(item, f"{ptr}/fields/{i}", 2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{ptr}/accessory", _ACCESSORY_ELEMENTS, action_ids)
        elif kind == "header":
            self.text(block, "text", ptr, 150, plain=True)
        elif kind == "image":
            self.image(block, ptr)
            self.text(block, "title", ptr, 2000, plain=True, required=False)
        elif kind == "actions":
            for i, el in enumerate(self.items(block, "elements", ptr, 1, 25)):
                self.element(el, f"{ptr}/elements/{i}", _ACTIONS_ELEMENTS, action_ids)
        elif kind == "context":
            for i, el in enumerate(self.items(block, "elements", ptr, 1, 10)):
                el_ptr = f"{ptr}/elements/{i}"
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    self.text_object(el, el_ptr, None)
                else:
                    self.element(el, el_ptr, {"image"}, action_ids)
        elif kind == "input":
            self.text(block, "label", ptr, 2000, plain=True)
            self.text(block, "hint", ptr, 2000, plain=True, required=False)
            if "element" not in block:
                self.err(ptr, "missing required field: element")
            else:
                self.element(block["element"], f"{ptr}/element", _INPUT_ELEMENTS, action_ids)
        elif kind == "rich_text":
            self.items(block, "elements", ptr, 0, 10_000)
        elif kind == "video":
            for key in ("alt_text", "thumbnail_url", "video_url"):
                self.string(block, key, ptr, 3000, required=True)
            self.text(block, "title", ptr, 200, plain=True)
            self.text(block, "description", ptr, 200, plain=True, required=False)
        elif kind == "file":
            self.string(block, "external_id", ptr, 255, required=True)
            if block.get("source") != "remote":
                self.err(f"{ptr}/source", 'must be "remote"')
        elif kind == "markdown":
            self.string(block, "text", ptr, 12_000, required=True)
        elif kind == "table":
            self.tables += 1
            if self.tables > 1:
                self.err(ptr, "only one table block is allowed per message")
            for i, row in enumerate(self.items(block, "rows", ptr, 1, 100)):
                if not isinstance(row, list):
                    self.err(f"{ptr}/rows/{i}", "must be an array")
                elif len(row) > 20:
                    self.err(f"{ptr}/rows/{i}", "no more than 20 items allowed")
            self.items(block, "column_settings", ptr, 0, 20, required=False)

    def image(self, obj: dict[str, Any], ptr: str) -> None:
        if "image_url" not in obj and "slack_file" not in obj:
            self.err(ptr, "must provide either `image_url` or `slack_file`")
        self.string(obj, "image_url", ptr, 3000)
        self.string(obj, "alt_text", ptr, 2000, required=True)

    # ---- elements --------------------------------------------------------------------------------
    def element(self, el: Any, ptr: str, allowed: set[str], action_ids: set[str]) -> None:
        if not isinstance(el, dict):
            self.err(ptr, "must be an object")
            return
        kind = el.get("type")
        if kind is None:
            self.err(ptr, "missing required field: type")
            return
        if kind not in allowed or kind not in _ELEMENT_FIELDS:
            self.err(f"{ptr}/type", f"unsupported type: {kind}")
            return
        self.props(el, {"type"} | _ELEMENT_FIELDS[kind], ptr)
        action_id = el.get("action_id")
        if action_id is not None:
            self.string(el, "action_id", ptr, 255)
            # Slack wants action_ids unique within their block, not across the whole surface.
            if isinstance(action_id, str) and action_id in action_ids:
                self.err(f"{ptr}/action_id", f"duplicate action_id: {action_id}")
            action_ids.add(str(action_id))
        if "confirm" in el:
            self.confirm(el["confirm"], f"{ptr}/confirm")
        if "placeholder" in el:
            self.text(el, "placeholder", ptr, 150, plain=True)

        if kind in ("button", "workflow_button"):
            self.text(el, "text", ptr, 75, plain=True)
            self.string(el, "value", ptr, 2000)
            self.string(el, "url", ptr, 3000)
            self.string(el, "accessibility_label", ptr, 75)
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.err(f"{ptr}/style", "must be one of: primary, danger")
            if kind == "workflow_button" and "workflow" not in el:
                self.err(ptr, "missing required field: workflow")
        elif kind == "image":
            self.image(el, ptr)
        elif kind in ("static_select", "multi_static_select"):
            self.static_options(el, ptr, multi=kind.startswith("multi_"))
        elif kind in ("external_select", "multi_external_select"):
            if "initial_option" in el:
                self.option(el["initial_option"], f"{ptr}/initial_option", plain=True)
            for i, opt in enumerate(self.items(el, "initial_options", ptr, 0, 100, required=False)):
                self.option(opt, f"{ptr}/initial_options/{i}", plain=True)
        elif kind == "overflow":
            for i, opt in enumerate(self.items(el, "options", ptr, 2, 5)):
                self.option(opt, f"{ptr}/options/{i}", plain=True, url=True)
        elif kind in ("checkboxes", "radio_buttons"):
            options = self.items(el, "options", ptr, 1, 10)
            for i, opt in enumerate(options):
                self.option(opt, f"{ptr}/options/{i}", plain=False)
            self.initial_choices(el, ptr, options)
        elif kind == "datepicker":
            self.date(el.get("initial_date"), f"{ptr}/initial_date")
        elif kind == "timepicker":
            initial = el.get("initial_time")
            if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
                self.err(f"{ptr}/initial_time", "must be a time in HH:mm format")
        elif kind == "datetimepicker":
            initial = el.get("initial_date_time")
            if initial is not None and (not isinstance(initial, int) or isinstance(initial, bool)):
                self.err(f"{ptr}/initial_date_time", "must be an integer UNIX timestamp")
        elif kind == "plain_text_input":
            self.text_input_lengths(el, ptr)
        elif kind == "number_input":
            if not isinstance(el.get("is_decimal_allowed"), bool):
                self.err(ptr, "missing required field: is_decimal_allowed")
        elif kind == "file_input":
            max_files = el.get("max_files")
            if max_files is not None and not (isinstance(max_files, int) and 1 <= max_files <= 10):
                self.err(f"{ptr}/max_files", "must be between 1 and 10")
        if kind in _MULTI_SELECTS:
            max_items = el.get("max_selected_items")
            if max_items is not None and not (isinstance(max_items, int) and max_items >= 1):
                self.err(f"{ptr}/max_selected_items", "must be at least 1")

    def static_options(self, el: dict[str, Any], ptr: str, *, multi: bool) -> None:
        if ("options" in el) == ("option_groups" in el):
            self.err(ptr, "must provide exactly one of `options` or `option_groups`")
            return
        options: list[Any] = []
        if "options" in el:
            options = self.items(el, "options", ptr, 1, 100)
            for i, opt in enumerate(options):
                self.option(opt, f"{ptr}/options/{i}", plain=True)
        else:
            for g, group in enumerate(self.items(el, "option_groups", ptr, 1, 100)):
                gptr = f"{ptr}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.err(gptr, "must be an object")
                    continue
                self.props(group, {"label", "options"}, gptr)
                self.text(group, "label", gptr, 75, plain=True)
                group_options = self.items(group, "options", gptr, 1, 100)
                for i, opt in enumerate(group_options):
                    self.option(opt, f"{gptr}/options/{i}", plain=True)
                options.extend(group_options)
        self.initial_choices(el, ptr, options)

    def initial_choices(self, el: dict[str, Any], ptr: str, options: list[Any]) -> None:
        """initial_option(s) must be among the options, as Slack checks."""
        keys = {_option_key(o) for o in options}
        chosen: list[tuple[str, Any]] = []
        if "initial_option" in el:
            chosen.append(("initial_option", el["initial_option"]))
        if isinstance(el.get("initial_options"), list):
            chosen += [(f"initial_options/{i}", o) for i, o in enumerate(el["initial_options"])]
        for where, opt in chosen:
            if _option_key(opt) not in keys:
                self.err(f"{ptr}/{where}", "must match one of the provided options")

    def option(self, opt: Any, ptr: str, *, plain: bool, url: bool = False) -> None:
        if not isinstance(opt, dict):
            self.err(ptr, "must be an object")
            return
        self.props(opt, {"text", "value", "description"} | ({"url"} if url else set()), ptr)
        self.text(opt, "text", ptr, 75, plain=plain)
        self.string(opt, "value", ptr, 150, required=True)
        self.text(opt, "description", ptr, 75, plain=plain, required=False)
        self.string(opt, "url", ptr, 3000)

    def confirm(self, confirm: Any, ptr: str) -> None:
        if not isinstance(confirm, dict):
            self.err(ptr, "must be an object")
            return
        self.props(confirm, {"title", "text", "confirm", "deny", "style"}, ptr)
        self.text(confirm, "title", ptr, 100, plain=True)
        self.text(confirm, "text", ptr, 300)
        self.text(confirm, "confirm", ptr, 30, plain=True)
        self.text(confirm, "deny", ptr, 30, plain=True)

    def date(self, value: Any, ptr: str) -> None:
        if value is None:
            return
        try:
            ok = isinstance(value, str) and bool(_DATE_RE.match(value)) and bool(date.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            self.err(ptr, "must be a date in YYYY-MM-DD format")

    def text_input_lengths(self, el: dict[str, Any], ptr: str) -> None:
        lo, hi = el.get("min_length"), el.get("max_length")
        if lo is not None and not (isinstance(lo, int) and 0 <= lo <= 3000):
            self.err(f"{ptr}/min_length", "must be between 0 and 3000")
        if hi is not None and not (isinstance(hi, int) and 1 <= hi <= 3000):
            self.err(f"{ptr}/max_length", "must be between 1 and 3000")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            self.err(f"{ptr}/min_length", "must not be greater than max_length")
        initial = el.get("initial_value")
        if isinstance(initial, str) and isinstance(hi, int) and len(initial) > hi:
            self.err(f"{ptr}/initial_value", f"must be less than {hi + 1} characters")


def _option_key(opt: Any) -> tuple[Any, Any]:
    if not isinstance(opt, dict):
        return (None, None)
    text = opt.get("text")
    return (opt.get("value"), text.get("text") if isinstance(text, dict) else text)


def validate_blocks(blocks: list[dict[str, Any]], surface: Surface, *, pointer: str = "/blocks") -> list[str]:
    """Slack-style error lines for ``blocks`` on ``surface``; empty when Slack would accept them."""
    checker = _Checker(surface)
    checker.blocks(blocks, pointer)
    return checker.errors


def validate_view(view: dict[str, Any]) -> list[str]:
    """Slack-style error lines for a modal or Home tab view (pointers start at ``/view``)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"unsupported type: {kind} [json-pointer:/view/type]"]
    checker = _Checker(kind)
    if kind == "modal":
        checker.text(view, "title", "/view", 24, plain=True)
        checker.text(view, "submit", "/view", 24, plain=True, required=False)
        checker.text(view, "close", "/view", 24, plain=True, required=False)
    checker.string(view, "private_metadata", "/view", 3000)
    checker.string(view, "callback_id", "/view", 255)
    checker.string(view, "external_id", "/view", 255)
    if "blocks" not in view:
        checker.err("/view", "missing required field: blocks")
        return checker.errors
    checker.blocks(view["blocks"], "/view/blocks")
    if kind == "modal" and "submit" not in view and isinstance(view["blocks"], list):
        for i, block in enumerate(view["blocks"]):
            if isinstance(block, dict) and block.get("type") == "input":
                msg = "must define `submit` to use an `input` block in modals"
                checker.err(f"/view/blocks/{i}/input", msg)
                break
    return checker.errors


def blocks_text_length(node: Any) -> int:
    """Characters in every ``text`` string inside ``node``: what msg_blocks_too_long is about."""
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else blocks_text_length(v) for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(blocks_text_length(v) for v in node)
    return 0


# --------------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake received, and what it answered."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    response: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class _SlackError(Exception):
    """Raised by method handlers; becomes the response body (and status/headers)."""

    def __init__(self, error: str, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}
        self.status = status
        self.headers = headers or {}


def _invalid(error: str, lines: list[str]) -> _SlackError:
    messages = [f"[ERROR] {line}" for line in lines]
    return _SlackError(error, errors=lines, response_metadata={"messages": messages})


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int


@dataclass
class _Trigger:
    created: float
    view_id: str | None
    used: bool = False


_Reply = tuple[Call, int, dict[str, str], bytes, str]  # call, status, headers, body, content type
_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; everything is in FakeSlack.calls


class FakeSlack:
    """Slack's Web API on ``http://127.0.0.1:<port>/api/``; see the module docstring."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        host: str = "127.0.0.1",
        port: int = 0,
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.bot_id = "B0001"
        self.app_id = "A0001"
        self.trigger_ttl: float = 3.0
        # Strict mode: a second chat.postMessage to one channel within this many seconds gets a 429.
        self.rate_limit_per_channel: float | None = None

        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemeral: dict[str, list[dict[str, Any]]] = {}  # channel -> chat.postEphemeral messages
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}

        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._ts = 1_700_000_000_000_000  # microseconds; formatted as "1700000000.000100"
        self._dms: dict[str, str] = {}  # DM channel id -> user id
        self._response_urls: set[str] = set()
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.upload": self._files_upload,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self._clear_state()
        self.users[bot_user_id] = {
            "id": bot_user_id, "team_id": team_id, "name": "milestone-bot", "real_name": "Milestone Bot",
            "is_bot": True, "is_admin": False, "deleted": False, "tz": "America/New_York",
            "tz_label": "", "tz_offset": 0,
            "profile": {"real_name": "Milestone Bot", "display_name": "milestone-bot", "bot_id": self.bot_id},
        }

    def _clear_state(self) -> None:
        self._failures: dict[str, list[_Failure]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._stacks: dict[str, list[str]] = {}  # root view id -> open modal stack
        self._last_root: str | None = None
        self._home: dict[str, str] = {}  # user id -> Home tab view id
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> pending upload
        self._upload_tokens: dict[str, str] = {}  # upload URL token -> file id
        self._last_post: dict[str, float] = {}

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

    # ---- test-facing helpers ---------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Poll until at least ``count`` matching calls arrived (the app runs in another process)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                matching = [c for c in self.calls if c.method == method and (where is None or where(c))]
                seen = [c.method for c in self.calls]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {method}, got {len(matching)} within {timeout}s; "
                    f"calls seen: {seen}"
                )
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget calls, failures and posted content; keep users, channels and DMs."""
        with self._lock:
            self.calls.clear()
            self.messages.clear()
            self.ephemeral.clear()
            self.views.clear()
            self.files.clear()
            self._clear_state()

    def fail_next(
        self, method: str, *, error: str | None = None, status: int = 200, retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail: 429 + Retry-After, 5xx, or 200 + ``error``."""
        if status == 200 and error is None:
            raise ValueError("a status-200 failure needs an error code")
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def add_user(
        self, user_id: str, *, name: str | None = None, real_name: str | None = None,
        tz: str = "America/New_York", tz_offset: int | None = None, is_admin: bool = False,
        deleted: bool = False,
    ) -> None:
        now = datetime.now(ZoneInfo(tz))
        if tz_offset is None:
            tz_offset = int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
        name = name or user_id.lower()
        real_name = real_name or name
        with self._lock:
            self.users[user_id] = {
                "id": user_id, "team_id": self.team_id, "name": name, "real_name": real_name,
                "deleted": deleted, "is_admin": is_admin, "is_bot": False, "tz": tz,
                "tz_label": now.tzname() or tz,  # Slack says e.g. "Eastern Standard Time"; zoneinfo has "EST"
                "tz_offset": tz_offset,
                "profile": {"real_name": real_name, "display_name": name},
            }

    def add_channel(
        self, channel_id: str, *, members: Iterable[str] = (), bot_is_member: bool = True,
        name: str | None = None,
    ) -> None:
        with self._lock:
            self.channels[channel_id] = {
                "id": channel_id, "name": name or channel_id.lower(), "members": list(members),
                "bot_is_member": bot_is_member, "is_private": channel_id.startswith("G"),
            }

    def new_response_url(self) -> str:
        path = f"/actions/{self.team_id}/{next(self._ids)}/{secrets.token_hex(8)}"
        with self._lock:
            self._response_urls.add(path)
        return self.root_url + path

    def new_trigger_id(self, view_id: str | None = None) -> str:
        """A trigger usable once within ``trigger_ttl`` s; ``view_id``: the modal it came from (for push)."""
        trigger = f"{int(time.time())}.{next(self._ids)}.{secrets.token_hex(12)}"
        with self._lock:
            self._triggers[trigger] = _Trigger(time.monotonic(), view_id)
        return trigger

    # ---- HTTP plumbing ---------------------------------------------------------------------------
    def _serve(self, req: _Handler) -> None:
        at = time.monotonic()
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        headers = dict(req.headers.items())
        url = urlsplit(req.path)
        if url.path.startswith("/api/"):
            reply = self._api(url.path[len("/api/"):], url.query, body, req, headers, at)
        elif url.path.startswith("/actions/"):
            reply = self._response_url(url.path, body, headers, at)
        elif url.path.startswith("/upload/"):
            reply = self._upload(url.path, body, headers, at)
        else:
            call = Call(url.path, {}, headers, {"ok": False, "error": "not_found"}, at)
            reply = (call, 404, {}, b"Not Found", _TEXT)
        call, status, extra_headers, payload, content_type = reply
        # Record before answering so a caller that saw the response also sees the call.
        with self._lock:
            self.calls.append(call)
        try:
            req.send_response(status)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(payload)))
            for key, value in extra_headers.items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(
        self, method: str, query: str, body: bytes, req: _Handler, headers: dict[str, str], at: float
    ) -> _Reply:
        params: dict[str, Any] = {}
        status, extra_headers = 200, {}
        try:
            params = _parse_params(query, body, req.headers.get("Content-Type", ""))
            handler = self._methods.get(method)
            if handler is None:
                raise _SlackError("unknown_method", req_method=method)
            self._injected_failure(method)
            self._check_auth(params, req.headers.get("Authorization", ""))
            with self._lock:
                response = {"ok": True, **handler(params)}
        except _SlackError as exc:
            response, status, extra_headers = exc.body, exc.status, exc.headers
        call = Call(method, params, headers, response, at)
        return call, status, extra_headers, json.dumps(response).encode(), _JSON

    def _injected_failure(self, method: str) -> None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        if failure.status == 429:
            retry_after = str(failure.retry_after if failure.retry_after is not None else 1)
            headers = {"Retry-After": retry_after}
            raise _SlackError(failure.error or "ratelimited", status=429, headers=headers)
        default = "internal_error" if failure.status >= 500 else "fatal_error"
        raise _SlackError(failure.error or default, status=failure.status)

    def _check_auth(self, params: dict[str, Any], authorization: str) -> None:
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else params.get("token")
        if not token:
            raise _SlackError("not_authed")
        if token != self.token:
            raise _SlackError("invalid_auth")

    # ---- shared helpers --------------------------------------------------------------------------
    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _dm_for(self, user_id: str) -> str:
        user = self.users.get(user_id)
        if user is not None and user["deleted"]:
            raise _SlackError("user_disabled")
        dm = f"D{user_id}"  # stable per user, so tests can predict it
        self._dms[dm] = user_id
        return dm

    def _resolve_channel(self, channel: Any, *, need_member: bool) -> str:
        """Channel id to post in. Posting to a user id opens (or reuses) the DM, as Slack does."""
        if not isinstance(channel, str) or not channel:
            raise _SlackError("channel_not_found")
        if channel.startswith("#"):
            named = [cid for cid, ch in self.channels.items() if ch["name"] == channel[1:]]
            if not named:
                raise _SlackError("channel_not_found")
            channel = named[0]
        if channel[0] in "CG":
            info = self.channels.get(channel)
            if info is None:
                raise _SlackError("channel_not_found")
            if need_member and not info["bot_is_member"]:
                raise _SlackError("not_in_channel")
            return channel
        if channel[0] in "UW":
            return self._dm_for(channel)
        if channel[0] == "D" and (channel in self._dms or channel[1:] in self.users):
            self._dms.setdefault(channel, channel[1:])
            return channel
        raise _SlackError("channel_not_found")

    def _find_message(self, channel: str, ts: Any) -> dict[str, Any]:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise _SlackError("message_not_found")

    def _message_content(self, p: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validated text/blocks/attachments, plus response extras (the truncation warning)."""
        content: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        blocks = p.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise _SlackError("invalid_blocks_format")
            errors = validate_blocks(blocks, "message")
            if errors:
                raise _invalid("invalid_blocks", errors)
            content["blocks"] = blocks
        attachments = p.get("attachments")
        if attachments is not None:
            if not isinstance(attachments, list):
                raise _SlackError("invalid_attachments")
            content["attachments"] = attachments
        if p.get("text") is not None:
            text = str(p["text"])
            if len(text) > MAX_MESSAGE_TEXT:
                text = text[:MAX_MESSAGE_TEXT]
                extras["response_metadata"] = {
                    "warnings": ["message_truncated"],
                    "messages": ["[WARN] Your message was truncated but still posted. "
                                 "The `text` field accepts up to 40,000 characters."],
                }
            content["text"] = text
        if not (content.get("text") or content.get("blocks") or content.get("attachments")):
            raise _SlackError("no_text")
        return content, extras

    def _check_blocks_total(self, content: dict[str, Any]) -> None:
        total = blocks_text_length(content.get("blocks") or [])
        if total > MAX_MESSAGE_BLOCKS_TEXT:
            # Slack gives no detail here; the fake says how much, to save a debugging session.
            line = f"[ERROR] {total} characters of text across blocks; limit ~{MAX_MESSAGE_BLOCKS_TEXT}"
            raise _SlackError("msg_blocks_too_long", response_metadata={"messages": [line]})

    # ---- methods: auth, chat ---------------------------------------------------------------------
    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/", "team": "Fake Team", "user": "milestone-bot",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        now = time.monotonic()
        if self.rate_limit_per_channel is not None:
            last = self._last_post.get(channel)
            if last is not None and now - last < self.rate_limit_per_channel:
                raise _SlackError("ratelimited", status=429, headers={"Retry-After": "1"})
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        message = {
            "type": "message", "ts": self._next_ts(), "channel": channel, "user": self.bot_user_id,
            "bot_id": self.bot_id, "team": self.team_id, "text": content.get("text", ""),
            "blocks": content.get("blocks"), "attachments": content.get("attachments"),
            "thread_ts": p.get("thread_ts"), "metadata": p.get("metadata"),
        }
        self.messages.setdefault(channel, []).append(message)
        self._last_post[channel] = now
        return {"channel": channel, "ts": message["ts"], "message": dict(message), **extras}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=True)
        user = p.get("user")
        if not user:
            raise _SlackError("user_not_found")
        info = self.channels.get(channel)
        in_dm = self._dms.get(channel, user) == user
        if (info is not None and user not in info["members"]) or not in_dm:
            raise _SlackError("user_not_in_channel")
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        message = {
            "type": "message", "ts": self._next_ts(), "channel": channel, "user": self.bot_user_id,
            "to_user": user, "text": content.get("text", ""), "blocks": content.get("blocks"),
            "attachments": content.get("attachments"), "thread_ts": p.get("thread_ts"),
        }
        self.ephemeral.setdefault(channel, []).append(message)
        return {"message_ts": message["ts"], **extras}

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        message = self._find_message(channel, p.get("ts"))
        content, extras = self._message_content(p)
        self._check_blocks_total(content)
        message.update(content)  # fields not sent are kept, as Slack keeps them
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        ts, text = message["ts"], message["text"]
        return {"channel": channel, "ts": ts, "text": text, "message": dict(message), **extras}

    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        message = self._find_message(channel, p.get("ts"))
        self.messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(p.get("channel"), need_member=False)
        ts = self._find_message(channel, p.get("message_ts"))["ts"]
        permalink = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    # ---- methods: conversations, users -----------------------------------------------------------
    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):
            return {"channel": {"id": self._resolve_channel(p["channel"], need_member=False)}}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            raise _SlackError("users_list_not_supplied")
        if len(users) == 1:
            already = f"D{users[0]}" in self._dms
            return {"channel": {"id": self._dm_for(users[0])}, "already_open": already}
        for user in users:
            self._dm_for(user)  # deleted users are refused the same way
        group = f"G{'_'.join(sorted(users))}"  # multi-person DM, modelled as a private channel
        if group not in self.channels:
            self.add_channel(group, members=users, name=f"mpdm-{'--'.join(sorted(users))}")
        return {"channel": {"id": group}}

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
                raise _SlackError("invalid_cursor") from exc
        page = members[offset:offset + limit]
        more = offset + limit < len(members)
        cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

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

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user")))
        if user is None:
            raise _SlackError("user_not_found")
        return {"user": json.loads(json.dumps(user))}  # a copy the caller cannot mutate

    # ---- methods: views --------------------------------------------------------------------------
    def _view_param(self, p: dict[str, Any], surface: str, replacing: str | None = None) -> dict[str, Any]:
        """The validated ``view`` argument; ``replacing`` is the id of the view it overwrites, if any."""
        view = p.get("view")
        if not isinstance(view, dict):
            raise _invalid("invalid_arguments", ["missing required field: view [json-pointer:/view]"])
        errors = validate_view(view)
        if not errors and view.get("type") != surface:
            errors = [f"unsupported type: {view.get('type')} [json-pointer:/view/type]"]
        if errors:
            raise _invalid("invalid_arguments", errors)
        external_id = view.get("external_id")
        if external_id and any(
            v.get("external_id") == external_id and vid != replacing for vid, v in self.views.items()
        ):
            raise _SlackError("duplicate_external_id")
        return view

    def _check_trigger(self, p: dict[str, Any]) -> _Trigger:
        trigger = self._triggers.get(str(p.get("trigger_id") or p.get("interactivity_pointer") or ""))
        if trigger is None:
            raise _SlackError("invalid_trigger_id")
        if trigger.used:
            raise _SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.created > self.trigger_ttl:
            raise _SlackError("expired_trigger_id")
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

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        trigger = self._check_trigger(p)
        view = self._view_param(p, "modal")
        trigger.used = True
        view_id = self._new_id("V")
        self._stacks[view_id] = [view_id]
        self._last_root = view_id
        return self._store_view(view, view_id=view_id, root=view_id, previous=None)

    def _views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        trigger = self._check_trigger(p)
        view = self._view_param(p, "modal")
        source = self.views.get(trigger.view_id or "")
        root = source["root_view_id"] if source else trigger.view_id or self._last_root
        if root is None:
            raise _SlackError("not_found")  # no modal is open to push onto
        # A modal the fake never opened (a test's hand-made payload) is taken to be open.
        stack = self._stacks.setdefault(root, [root])
        if len(stack) >= 3:
            raise _SlackError("push_limit_reached")
        trigger.used = True
        view_id = self._new_id("V")
        previous = stack[-1]
        stack.append(view_id)
        return self._store_view(view, view_id=view_id, root=str(root), previous=previous)

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = p.get("view_id"), p.get("external_id")
        if not view_id and not external_id:
            raise _invalid("invalid_arguments", ["must provide either `view_id` or `external_id`"])
        current = self.views.get(str(view_id)) if view_id else next(
            (v for v in self.views.values() if v.get("external_id") == external_id), None
        )
        if current is None:
            raise _SlackError("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            raise _SlackError("hash_conflict")
        view = self._view_param(p, current["type"], replacing=current["id"])
        return self._store_view(
            view, view_id=current["id"], root=current["root_view_id"], previous=current["previous_view_id"]
        )

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = p.get("user_id")
        if not user:
            raise _invalid("invalid_arguments", ["missing required field: user_id"])
        existing = self.views.get(self._home.get(str(user), ""))
        if p.get("hash") and existing is not None and p["hash"] != existing["hash"]:
            raise _SlackError("hash_conflict")
        view = self._view_param(p, "home", replacing=existing["id"] if existing else None)
        view_id = existing["id"] if existing else self._new_id("V")
        self._home[str(user)] = view_id
        return self._store_view(view, view_id=view_id, root=view_id, previous=None)

    # ---- methods: files --------------------------------------------------------------------------
    def _files_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        raise _SlackError("method_deprecated")

    def _files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = p.get("filename")
        try:
            length = int(p.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length = -1
        if not filename or length <= 0:
            raise _invalid("invalid_arguments", ["`filename` and a positive `length` are required"])
        file_id, token = self._new_id("F"), secrets.token_urlsafe(12)
        self._uploads[file_id] = {"filename": filename, "length": length, "content": None}
        self._upload_tokens[token] = file_id
        return {"upload_url": f"{self.root_url}/upload/v1/{token}", "file_id": file_id}

    def _files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if isinstance(entries, str):
            try:
                entries = json.loads(entries)
            except ValueError as exc:
                raise _invalid("invalid_arguments", ["`files` must be a JSON array"]) from exc
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise _invalid("invalid_arguments", ["`files` must be a non-empty array of {id, title}"])
        for entry in entries:
            upload = self._uploads.get(str(entry.get("id")))
            if upload is None or upload["content"] is None:
                raise _SlackError("file_not_found")
        channel_id = p.get("channel_id")
        targets = [channel_id] if channel_id else [c for c in str(p.get("channels") or "").split(",") if c]
        channels = [self._resolve_channel(c, need_member=True) for c in targets]
        done = []
        for entry in entries:
            file_id = str(entry["id"])
            upload = self._uploads.pop(file_id)
            permalink = f"https://fake.slack.com/files/{self.bot_user_id}/{file_id}/{upload['filename']}"
            title = entry.get("title") or upload["filename"]
            self.files[file_id] = {
                "id": file_id, "filename": upload["filename"], "title": title, "content": upload["content"],
                "channel_id": channels[0] if channels else None, "channels": channels,
                "thread_ts": p.get("thread_ts"), "initial_comment": p.get("initial_comment"),
                "permalink": permalink,
            }
            done.append({"id": file_id, "title": title, "name": upload["filename"], "permalink": permalink,
                         "size": len(upload["content"])})
        return {"files": done}

    # ---- non-API endpoints -----------------------------------------------------------------------
    def _plain_failure(self, method: str) -> tuple[int, str] | None:
        """Injected failures for endpoints that answer plain text instead of JSON."""
        try:
            self._injected_failure(method)
        except _SlackError as exc:
            status = exc.status if exc.status != 200 else 400
            return status, str(exc.body["error"])
        return None

    def _upload(self, path: str, body: bytes, headers: dict[str, str], at: float) -> _Reply:
        """The raw upload step of files_upload_v2 (slack_sdk POSTs the bytes with no auth)."""
        content = body
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if ctype.lower().startswith("multipart/form-data"):
            fields, files = _parse_multipart(body, ctype)
            content = next(iter(files.values())) if files else fields.get("file", "").encode()
        with self._lock:
            file_id = self._upload_tokens.get(path.rsplit("/", 1)[-1])
            upload = self._uploads.get(file_id or "")
            params = {"file_id": file_id, "filename": upload and upload["filename"], "content": content}
            status, text = self._plain_failure("files.upload_bytes") or (200, "")
            if status == 200 and upload is None:
                status, text = 404, "not_found"
            if status == 200:
                upload["content"] = content  # type: ignore[index]
                text = f"OK - {len(content)}"  # what files.slack.com answers
        response = {"ok": True, "body": text} if status == 200 else {"ok": False, "error": text}
        return Call("files.upload_bytes", params, headers, response, at), status, {}, text.encode(), _TEXT

    def _response_url(self, path: str, body: bytes, headers: dict[str, str], at: float) -> _Reply:
        params: dict[str, Any] = {}
        try:
            parsed = json.loads(body or b"{}")
            params = parsed if isinstance(parsed, dict) else {"payload": parsed}
        except ValueError:
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            try:
                params = json.loads(form["payload"]) if "payload" in form else form
            except ValueError:
                params = form

        def reply(status: int, error: str | None, lines: list[str] | None = None) -> _Reply:
            response: dict[str, Any] = {"ok": True} if error is None else {"ok": False, "error": error}
            if lines:
                response["errors"] = lines
            text = "ok" if error is None else error
            return Call("response_url", params, headers, response, at), status, {}, text.encode(), _TEXT

        if path not in self._response_urls:
            return reply(404, "invalid_url")
        failure = self._plain_failure("response_url")
        if failure is not None:
            return reply(failure[0], failure[1])
        if not params.get("delete_original"):
            try:
                self._message_content(params)
            except _SlackError as exc:
                return reply(400, str(exc.body["error"]), exc.body.get("errors"))
        return reply(200, None)


# --------------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------------


def _parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Merge query string and body (form, multipart or JSON); decode JSON-looking blocks/view/attachments."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError as exc:
            raise _SlackError("invalid_json") from exc
        if not isinstance(data, dict):
            raise _SlackError("invalid_json")
        params.update(data)
    elif ctype == "multipart/form-data":
        fields, files = _parse_multipart(body, content_type)
        params.update(fields)
        params.update(files)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params = {k: v for k, v in params.items() if v is not None}  # JSON nulls mean "not given"
    for key in ("blocks", "view", "attachments"):
        value = params.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):  # else left a string: handlers answer *_format errors
                params[key] = json.loads(value)
    return params


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and file parts of a multipart body (stdlib email parser; cgi is gone in 3.13)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode("utf-8")
    return fields, files
