"""Block Kit inputs built from field declarations, and `state.values` read back into raw values.

An input's block_id is the field's name and its action_id is "value", so `response_action: errors`
keyed by field name lands next to the right input.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bot.slack.text import truncate
from models.base import FieldSpec, FieldValue

ACTION_ID = "value"
Block = dict[str, Any]


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def _initial_text(value: FieldValue) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    return str(value)


def element_for(spec: FieldSpec, initial: FieldValue = None) -> dict[str, Any]:
    kind = spec.kind
    element: dict[str, Any]
    if kind == "date":
        element = {"type": "datepicker"}
        if isinstance(initial, date):
            element["initial_date"] = initial.isoformat()
    elif kind == "select" and spec.choices is not None:
        options = [option(v, label) for v, label in spec.choices.choices()]
        element = {"type": "static_select", "options": options, "placeholder": plain("Choose…")}
        chosen = [o for o in options if o["value"] == initial]
        if chosen:
            element["initial_option"] = chosen[0]
    elif kind == "user":
        element = {"type": "users_select", "placeholder": plain("Choose a person")}
        if initial:
            element["initial_user"] = initial
    elif kind == "users":
        element = {"type": "multi_users_select", "placeholder": plain("Choose people")}
        if initial:
            element["initial_users"] = list(initial)  # type: ignore[arg-type]
    elif kind == "channel":
        element = {
            "type": "conversations_select",
            "placeholder": plain("Choose a channel"),
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        }
        if initial:
            element["initial_conversation"] = initial
    elif kind == "bool":
        box = option("yes", spec.label)
        element = {"type": "checkboxes", "options": [box]}
        if initial:
            element["initial_options"] = [box]
    else:
        element = {"type": "plain_text_input", "multiline": kind == "multiline"}
        if spec.max_length:
            element["max_length"] = min(spec.max_length, 3000)
        text = _initial_text(initial)
        if text is not None:
            element["initial_value"] = text[: element.get("max_length", 3000)]
        if spec.placeholder:
            element["placeholder"] = plain(spec.placeholder, 150)
    element["action_id"] = ACTION_ID
    return element


def field_block(spec: FieldSpec, initial: FieldValue = None, *, label: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": spec.name,
        "label": plain(label or spec.label, 2000),
        "element": element_for(spec, initial),
        "optional": not spec.required,
    }
    if spec.hint:
        block["hint"] = plain(spec.hint, 2000)
    return block


def field_blocks(specs: list[FieldSpec], initial: dict[str, FieldValue] | None = None) -> list[Block]:
    initial = initial or {}
    return [field_block(spec, initial.get(spec.name)) for spec in specs]


def read_state(state_values: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """`view.state.values` → {block_id: raw value} for whatever element each input holds."""
    raw: dict[str, Any] = {}
    for block_id, actions in state_values.items():
        for entry in actions.values():
            kind = entry.get("type")
            if kind in ("static_select", "external_select", "radio_buttons"):
                selected = entry.get("selected_option")
                raw[block_id] = selected["value"] if selected else None
            elif kind in ("checkboxes", "multi_static_select"):
                raw[block_id] = [o["value"] for o in entry.get("selected_options") or []]
            elif kind == "datepicker":
                raw[block_id] = entry.get("selected_date")
            elif kind == "users_select":
                raw[block_id] = entry.get("selected_user")
            elif kind == "multi_users_select":
                raw[block_id] = entry.get("selected_users") or []
            elif kind == "conversations_select":
                raw[block_id] = entry.get("selected_conversation")
            elif kind == "channels_select":
                raw[block_id] = entry.get("selected_channel")
            else:
                raw[block_id] = entry.get("value")
    return raw


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = "Save",
    close: str = "Cancel",
    private_metadata: str = "",
    external_id: str | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    if external_id:
        view["external_id"] = external_id
    return view


NOTICE_CALLBACK = "notice"


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A small read-only modal: how to tell someone something where no message can go (Home, a modal)."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]
    return modal(NOTICE_CALLBACK, title, blocks, submit=None, close="OK")


# What Slack's `state.values` holds for each input element, and where a view takes it as the initial value.
_TYPED_KEYS = {
    "plain_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "static_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "checkboxes": ("selected_options", "initial_options"),
    "multi_static_select": ("selected_options", "initial_options"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
}


def with_typed(blocks: list[Block], state_values: dict[str, dict[str, dict[str, Any]]]) -> list[Block]:
    """Copies of `blocks` whose inputs start from what was typed (`view.state.values`, matched by block_id),
    so a view re-drawn in place (a confirmation, a way back to the form) loses nothing."""
    out: list[Block] = []
    for block in blocks:
        entries = list((state_values.get(block.get("block_id", "")) or {}).values())
        if block.get("type") != "input" or not entries:
            out.append(block)
            continue
        element = dict(block["element"])
        keys = _TYPED_KEYS.get(element["type"])
        if keys is not None:
            typed = entries[0].get(keys[0])
            element.pop(keys[1], None)
            if typed not in (None, "", []):
                element[keys[1]] = typed
        out.append({**block, "element": element})
    return out
