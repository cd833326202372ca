"""Block Kit for `/milestone import`: the modal with its file input, the "importing…" view and the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.payloads import Payload
from bot.slack.text import esc, truncate

CALLBACK = "import_submit"
FILE, KEY, CHECK = "file", "key", "dry_run"
_MAX_LINES = 25  # warnings listed in the result; the rest are counted


@dataclass(frozen=True)
class ImportModal(Payload):
    """The import modal's context: where it was opened (the workspace comes from the request itself)."""

    KIND = "import.modal"
    channel_id: str


def import_modal(meta: str) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": CALLBACK, "private_metadata": meta,
        "title": {"type": "plain_text", "text": "Import a report"},
        "submit": {"type": "plain_text", "text": "Import"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                "A milestone report written in the template's Markdown (a `.md` file, 1 MB at most) becomes a "
                "new *Draft* milestone that you own. Its open action items are reminded from the next sweep; "
                "signatures in the file are kept as _signed outside Slack_ and do not count as approvals.")}},
            {"type": "input", "block_id": FILE, "label": {"type": "plain_text", "text": "Report file"},
             "element": {"type": "file_input", "action_id": FILE, "filetypes": ["md", "markdown", "txt"],
                         "max_files": 1}},
            {"type": "input", "block_id": KEY, "optional": True,
             "label": {"type": "plain_text", "text": "Milestone ID"},
             "hint": {"type": "plain_text", "text": "Leave empty to keep the file's ID."},
             "element": {"type": "plain_text_input", "action_id": KEY, "max_length": 16,
                         "placeholder": {"type": "plain_text", "text": "M-042"}}},
            {"type": "input", "block_id": CHECK, "optional": True,
             "label": {"type": "plain_text", "text": "Dry run"},
             "element": {"type": "checkboxes", "action_id": CHECK, "options": [
                 {"text": {"type": "plain_text", "text": "Only check the file: create nothing"},
                  "value": "yes"}]}},
        ],
    }


def progress_modal() -> dict[str, Any]:
    return _notice("Importing the report…", "Reading the file and matching its people. This takes a few seconds.")


def result_modal(title: str, lines: list[str]) -> dict[str, Any]:
    """The outcome, first line bold; every piece of the file's text escaped."""
    shown = lines[:_MAX_LINES]
    if len(lines) > _MAX_LINES:
        shown.append(f"… and {len(lines) - _MAX_LINES} more.")
    text = "\n".join([f"*{esc(shown[0])}*", *(f"• {esc(line)}" for line in shown[1:])]) if shown else ""
    return _notice(title, truncate(text, 2900))


def _notice(title: str, text: str) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": "Import a report"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}]}


def read_file_ids(state: dict[str, Any]) -> list[str]:
    """The file ids the file input holds (view.state.values)."""
    entry = (state.get(FILE) or {}).get(FILE) or {}
    return [str(f["id"]) for f in entry.get("files") or [] if isinstance(f, dict) and f.get("id")]
