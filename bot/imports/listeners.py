"""`/milestone import`: the modal with a file input, and its submission. Handlers parse, check, ack and hand
over to bot.imports.flows; the work (download, matching, the import) runs after the ack."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.access import KEY_PATTERN, normalize_key
from bot.core.errors import InvalidInput
from bot.deps import Deps
from bot.imports import flows, views
from bot.slack.payloads import PRIVATE_METADATA_LIMIT
from bot.slack.replies import team_of
from bot.slack.router import CommandContext
from bot.slack.submissions import submit


@dataclass
class _Holder:
    deps: Deps | None = None


_HOLDER = _Holder()  # set once by register(): the handlers are module-level functions


def _deps() -> Deps:
    assert _HOLDER.deps is not None, "bot.imports.listeners.register() was not called"
    return _HOLDER.deps


def import_command(ctx: CommandContext) -> None:
    ctx.ack_now()
    meta = views.ImportModal(channel_id=ctx.channel_id).pack(limit=PRIVATE_METADATA_LIMIT)
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=views.import_modal(meta))


def _read(view: dict[str, Any], team_id: str) -> flows.ImportRequest:
    """What the person chose; a missing file or a malformed or taken ID answers next to its field."""
    views.ImportModal.unpack(view.get("private_metadata"))
    state = view["state"]["values"]
    files = views.read_file_ids(state)
    if not files:
        raise InvalidInput({views.FILE: "Choose the report's .md file."})
    raw_key = ((state.get(views.KEY) or {}).get(views.KEY) or {}).get("value") or ""
    key = normalize_key(raw_key) if raw_key.strip() else None
    if key is not None and not KEY_PATTERN.match(key):
        raise InvalidInput({views.KEY: "A milestone ID looks like M-042."})
    if key is not None:
        flows.ensure_key_free(_deps(), team_id, key)
    checks = ((state.get(views.CHECK) or {}).get(views.CHECK) or {}).get("selected_options") or []
    return flows.ImportRequest(files[0], key, any(o.get("value") == "yes" for o in checks))


def on_submit(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    team_id = team_of(body)
    request = submit(ack, view, lambda: _read(view, team_id), field=views.FILE)
    if request is None:
        return
    ack(response_action="update", view=views.progress_modal())
    flows.import_from_modal(_deps(), client, body, request)


def register(app: App, deps: Deps) -> None:
    _HOLDER.deps = deps
    deps.router.add("import", import_command, summary="Import a report written in the template's Markdown "
                    "(opens a form with a file input)", usages=[("import", "import")], order=12)
    app.view(views.CALLBACK)(on_submit)
