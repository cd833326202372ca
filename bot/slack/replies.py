"""Answering people from any surface: where a click came from, opening or pushing a modal, telling only
the clicker, refreshing a view further down the stack, and the after-commit content hooks."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from bot.deps import Deps
from bot.slack.forms import notice_modal

log = logging.getLogger(__name__)


def save_failed(error: SQLAlchemyError, *, kept: str = "Your input is still here") -> str:
    """What went wrong while saving, in the person's words, and that nothing was changed.

    One wording per cause: a lock held by another save is "busy"; an unreachable database is "could not be
    reached"; a clash with a change saved at the same moment is said as such; anything else is "could not
    save" with no claim about why."""
    message = str(getattr(error, "orig", error)).lower()
    if isinstance(error, OperationalError) and any(
        word in message for word in ("lock", "busy", "timeout", "timed out", "canceling statement")
    ):
        cause = "the database was busy with another save"
    elif isinstance(error, OperationalError | InterfaceError | DisconnectionError):
        cause = "the database could not be reached"
    elif isinstance(error, IntegrityError):
        cause = "it clashed with a change saved at the same moment"
    else:
        cause = "of an error on our side (it is logged)"
    return f"Nothing was saved because {cause}. {kept}: try again in a moment."


def team_of(body: dict[str, Any]) -> str:
    return (body.get("team") or {}).get("id") or body.get("team_id") or ""


def in_modal(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view" and (body.get("view") or {}).get("type") == "modal"


def open_or_push(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """Open a modal, or push it onto the one the click came from (Slack keeps up to 3)."""
    if in_modal(body):
        return client.views_push(trigger_id=body["trigger_id"], view=view)["view"]
    return client.views_open(trigger_id=body["trigger_id"], view=view)["view"]


def response_url_of(body: dict[str, Any]) -> str | None:
    """Where an ephemeral answer to this request goes, if it has such a place (verified bodies only)."""
    url = body.get("response_url") or next((r.get("response_url") for r in body.get("response_urls") or []), None)
    return url if isinstance(url, str) and url else None


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Tell only the person who acted, from any surface: ephemerally where the request has a response_url
    (slash commands, message buttons); in a small modal where it has a trigger_id (App Home, modals); else
    in a DM. One function, so a refusal is seen wherever the click came from."""
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        url = response_url_of(body)
        if url:
            response = WebhookClient(url).send(text=text, response_type="ephemeral", replace_original=False)
            if response.status_code == 200:
                return
        if body.get("trigger_id"):
            open_or_push(client, body, notice_modal("Milestone Bot", text))
        elif user_id:
            channel = client.conversations_open(users=user_id)["channel"]["id"]
            client.chat_postMessage(channel=channel, text=text)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user_id, error.response.get("error"))


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
