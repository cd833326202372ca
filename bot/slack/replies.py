"""Answering people from any surface: where a click came from, opening or pushing a modal, telling only
the clicker, refreshing a view further down the stack, and the after-commit content hooks."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.slack.forms import notice_modal

log = logging.getLogger(__name__)

SAVE_FAILED = (
    "Saving failed because the database was busy, and nothing was changed. Your input is still here: "
    "press the button again in a moment."
)


def team_of(body: dict[str, Any]) -> str:
    return (body.get("team") or {}).get("id") or body.get("team_id") or ""


def in_modal(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "modal"


def open_or_push(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """Open a modal, or push it onto the one the click came from (Slack keeps up to 3)."""
    if in_modal(body):
        return client.views_push(trigger_id=body["trigger_id"], view=view)["view"]
    return client.views_open(trigger_id=body["trigger_id"], view=view)["view"]


def tell(client: WebClient, body: dict[str, Any], respond: Respond | None, text: str) -> None:
    """Tell only the person who clicked: ephemerally where the click came from a message, else in a small
    modal (App Home and modals have no response_url)."""
    try:
        if body.get("response_url") and respond is not None:
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif body.get("trigger_id"):
            open_or_push(client, body, notice_modal("Milestone Bot", text))
    except SlackApiError as error:
        log.warning("could not tell %s: %s", (body.get("user") or {}).get("id"), error.response.get("error"))


def first_input(view: dict[str, Any]) -> str:
    """The block_id of the view's first input: where a message about the whole form goes."""
    return next((b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"), "value")


def content_changed(deps: Deps, client: WebClient, milestone_id: int, actor_id: str, keys: list[str]) -> None:
    """Run the hooks after the change has committed; one failing hook does not stop the others."""
    for hook in deps.on_content_changed:
        try:
            hook(client, milestone_id, actor_id, keys)
        except Exception:  # a hook's failure is its own; the save already succeeded
            log.exception("on_content_changed hook %r failed", hook)


def update_view(client: WebClient, view_id: str | None, view: dict[str, Any] | None) -> None:
    """Refresh a view further down the stack (the list behind a row form); gone or closed is fine."""
    if not view_id or view is None:
        return
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as error:
        log.info("view %s not updated: %s", view_id, error.response.get("error"))
