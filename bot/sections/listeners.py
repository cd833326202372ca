"""Section editing in Slack: `/milestone edit M-042 [section]`, the picker's buttons and menu, a table's row
buttons, and the two submissions (a section's form, a row's form). Each handler parses its payload, acks
and calls bot.sections.flows, which checks who may edit and saves through the one submission path."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.deps import Deps
from bot.milestones.views import OPEN_SECTIONS, MilestoneRef
from bot.sections import flows, views
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
    ack()
    try:
        flows.remove_row(deps, client, body, views.EditSection.unpack(_chosen(body)))
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def save_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.save_form(deps, ack, body, client, view)


def save_row(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.save_row(deps, ack, body, client, view)


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
    app.action(views.ROW_VARIANT)(partial(switch_variant, deps))
    app.view(views.FORM_CALLBACK)(partial(save_form, deps))
    app.view(views.ROW_CALLBACK)(partial(save_row, deps))
