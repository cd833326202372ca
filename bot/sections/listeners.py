"""Section editing in Slack: `/milestone edit M-042 [section]`, the picker's buttons and menu, a table's row
buttons, and the submissions (a section's form, a row's form, the confirmation of an edit after sign-off).
Each handler parses its payload, acks and calls bot.sections.flows (opening) or flows_save (saving), which
check who may edit and save through the one submission path."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.deps import Deps
from bot.milestones.views import OPEN_SECTIONS, MilestoneRef
from bot.sections import flows, flows_save, views
from bot.slack.replies import tell


def _chosen(body: dict[str, Any]) -> str | None:
    action = (body.get("actions") or [{}])[0]
    return (action.get("selected_option") or {}).get("value") or action.get("value")


def edit_section(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        flows.open_section(deps, client, body, views.EditSection.unpack(_chosen(body)))
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def open_picker(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        flows.open_picker(deps, client, body, MilestoneRef.unpack(_chosen(body)).milestone)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def edit_row(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        flows.open_row(deps, client, body, views.EditSection.unpack(_chosen(body)))
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def switch_variant(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        flows.switch_variant(deps, client, body)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def remove_row(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Remove (after Slack's own "Remove this row?"), or Remove when the list said sign-offs would be outdated
    (a confirmation modal first)."""
    ack()
    ask = (body.get("actions") or [{}])[0].get("action_id") == views.ROW_REMOVE_ASK
    try:
        flows_save.remove_row(deps, client, body, views.EditSection.unpack(_chosen(body)), ask=ask)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def back_to_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        flows_save.back_to_form(deps, client, body)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def save_view(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """A section's form, a row's form, or the confirmation of an edit after sign-off."""
    flows_save.save_view(deps, ack, body, client, view)


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "edit", partial(flows.edit_command, deps), summary="Fill in or change a milestone's report",
        usages=[("edit <ID>", "edit M-042"), ("edit <ID> <section>", "edit M-042 risks")], order=20,
    )
    app.action(views.EDIT_SECTION)(partial(edit_section, deps))
    app.action(views.SELECT_SECTION)(partial(edit_section, deps))
    app.action(OPEN_SECTIONS)(partial(open_picker, deps))
    app.action(views.ROW_ADD)(partial(edit_row, deps))
    app.action(views.ROW_EDIT)(partial(edit_row, deps))
    app.action(views.ROW_REMOVE)(partial(remove_row, deps))
    app.action(views.ROW_REMOVE_ASK)(partial(remove_row, deps))
    app.action(views.ROW_VARIANT)(partial(switch_variant, deps))
    app.action(views.CONFIRM_BACK)(partial(back_to_form, deps))
    for callback in (views.FORM_CALLBACK, views.ROW_CALLBACK, views.CONFIRM_CALLBACK):
        app.view(callback)(partial(save_view, deps))
