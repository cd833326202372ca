"""Block Kit rules for blocks and views, and the public validators."""

from __future__ import annotations

from typing import Any

from tests.fakeslack.blockkit.checker import (
    _ACCESSORY_ELEMENTS,
    _ACTIONS_ELEMENTS,
    _BLOCK_FIELDS,
    _INPUT_ELEMENTS,
    _MESSAGE_ONLY_BLOCKS,
    MAX_BLOCKS,
    Surface,
)
from tests.fakeslack.blockkit.elements import ElementChecker


class _Checker(ElementChecker):
    """Walks blocks and collects Slack-style error lines ("<what> [json-pointer:<where>]")."""


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
