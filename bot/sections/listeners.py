"""`/milestone edit M-042 [section]`, the section picker, each section's modal, and a table's rows.

Every submission and click checks again who may edit (private_metadata only says which milestone,
section and row), saves in one transaction that also claims the submission (a double submit changes
data once), and answers field errors, so a failed save keeps what the person typed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.access import get_by_key
from bot.core.db import first_submission
from bot.core.errors import DomainError, InvalidInput, NotFound
from bot.deps import Deps
from bot.milestones.views import OPEN_SECTIONS
from bot.sections import service as registry
from bot.sections import views
from bot.sections.service import SECTIONS, Section, get_section
from bot.slack.forms import read_state
from bot.slack.permissions import ensure_editor, load_milestone
from bot.slack.replies import (
    content_changed,
    first_input,
    open_or_push,
    save_failed,
    team_of,
    tell,
    update_view,
)
from bot.slack.router import CommandContext
from models import Milestone

log = logging.getLogger(__name__)

# Applies a parsed submission inside its transaction; returns the section keys whose content changed.
Apply = Callable[[Session, Milestone, Section, dict[str, Any], dict[str, Any], str], list[str]]


def picker_view(milestone: Milestone) -> dict[str, Any]:
    statuses = [(section, registry.status_line(milestone, section)) for section in SECTIONS]
    return views.picker_modal(milestone, statuses, views.metadata(m=milestone.id))


def rows_view(milestone: Milestone, section: Section, parent: str | None) -> dict[str, Any]:
    rows = [(row.id, registry.row_values(row, section)) for row in registry.rows(milestone, section)]
    return views.rows_modal(milestone, section, rows, views.metadata(m=milestone.id, s=section.key, p=parent))


def section_view(milestone: Milestone, section: Section, parent: str | None) -> dict[str, Any]:
    """The table's row list, or the form of a columns or single-record section; `parent`: the picker."""
    if section.is_table:
        return rows_view(milestone, section, parent)
    meta = views.metadata(m=milestone.id, s=section.key, p=parent)
    return views.form_modal(milestone, section, registry.current_values(milestone, section), meta)


def _parse_value(value: str | None) -> tuple[str, Section, int | None]:
    """`"12:risks:5"` → milestone id, section, row id (from a button; checked again against the database)."""
    parts = (value or "").split(":")
    if len(parts) < 2:
        raise NotFound("That button is out of date; run `/milestone edit` again.")
    row_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
    return parts[0], get_section(parts[1]), row_id


def _action_value(body: dict[str, Any]) -> str | None:
    action = body["actions"][0]
    return (action.get("selected_option") or {}).get("value") or action.get("value")


def register(app: App, deps: Deps) -> None:
    def edit_command(ctx: CommandContext) -> None:
        if not ctx.args:
            keys = ", ".join(f"`{s.key}`" for s in SECTIONS)
            ctx.reply(f"Which milestone? For example `/milestone edit M-042`, or straight to a section with "
                      f"`/milestone edit M-042 risks`. Sections: {keys}.")
            return
        ctx.ack_now()  # the trigger_id dies in ~3 s: ack first, then load and open
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, ctx.args[0])
            section = get_section(ctx.args[1]) if len(ctx.args) > 1 else None
            ensure_editor(session, ctx.client, milestone, ctx.user_id)
            view = section_view(milestone, section, None) if section else picker_view(milestone)
        ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)

    deps.router.add(
        "edit", edit_command, summary="Fill in or change a milestone's report, section by section",
        usages=[("edit <ID>", "edit M-042"), ("edit <ID> <section>", "edit M-042 risks")], order=20,
    )

    def guarded(body: dict[str, Any], client: WebClient, respond: Respond | None, work: Callable[[], None]) -> None:
        """Run a click's work; refusals and vanished milestones are told to the clicker only."""
        try:
            work()
        except DomainError as error:
            tell(client, body, f":warning: {error}")

    @app.action(views.EDIT_SECTION)
    @app.action(views.SELECT_SECTION)
    def edit_section(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()

        def work() -> None:
            milestone_id, section, _ = _parse_value(_action_value(body))
            from_picker = in_picker(body)
            with deps.session() as session:
                milestone = load_milestone(session, team_of(body), milestone_id)
                ensure_editor(session, client, milestone, body["user"]["id"])
                view = section_view(milestone, section, body["view"]["id"] if from_picker else None)
            open_or_push(client, body, view)

        guarded(body, client, respond, work)

    def in_picker(body: dict[str, Any]) -> bool:
        return (body.get("view") or {}).get("callback_id") == views.PICKER_CALLBACK

    @app.action(OPEN_SECTIONS)
    def open_picker(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()

        def work() -> None:
            with deps.session() as session:
                milestone = load_milestone(session, team_of(body), body["actions"][0].get("value"))
                ensure_editor(session, client, milestone, body["user"]["id"])
                view = picker_view(milestone)
            open_or_push(client, body, view)

        guarded(body, client, respond, work)

    @app.action(views.ROW_ADD)
    @app.action(views.ROW_EDIT)
    def edit_row(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()

        def work() -> None:
            milestone_id, section, row_id = _parse_value(_action_value(body))
            list_view = body["view"]
            parent = views.read_metadata(list_view.get("private_metadata")).get("p")
            with deps.session() as session:
                milestone = load_milestone(session, team_of(body), milestone_id)
                ensure_editor(session, client, milestone, body["user"]["id"])
                if row_id is None:
                    initial = registry.new_row_values(section)
                else:
                    initial = registry.row_values(registry.find_row(session, milestone, section, row_id), section)
                meta = views.metadata(m=milestone.id, s=section.key, r=row_id, p=list_view["id"], pp=parent)
                view = views.row_modal(milestone, section, initial, meta, new=row_id is None)
            client.views_push(trigger_id=body["trigger_id"], view=view)

        guarded(body, client, None, work)

    @app.action(views.ROW_REMOVE)
    def remove_row(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]

        def work() -> None:
            milestone_id, section, row_id = _parse_value(_action_value(body))
            list_view = body["view"]
            parent = views.read_metadata(list_view.get("private_metadata")).get("p")
            with deps.session() as session:
                milestone = load_milestone(session, team_of(body), milestone_id)
                ensure_editor(session, client, milestone, user_id)
                removed = row_id is not None and registry.remove_row(session, milestone, section, row_id, user_id)
                fresh = rows_view(milestone, section, parent)
                picker = picker_view(milestone) if parent else None
            update_view(client, list_view["id"], fresh)
            update_view(client, parent, picker)
            if removed:
                content_changed(deps, client, milestone.id, user_id, [section.key])

        try:
            guarded(body, client, None, work)
        except SQLAlchemyError as error:
            log.exception("removing a row failed")
            tell(client, body, save_failed(error, kept="The row is still there"))

    def save(
        ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any], apply: Apply
    ) -> tuple[Milestone, Section, dict[str, Any], list[str]] | None:
        """The submission's one transaction: claim, check who may edit, apply. Answers the errors itself
        and returns None when the modal must stay open (or the submission was a duplicate)."""
        meta = views.read_metadata(view.get("private_metadata"))
        user_id = body["user"]["id"]
        try:
            section = get_section(str(meta.get("s", "")))
            values = registry.parse(section, read_state(view["state"]["values"]))
            with deps.session() as session:
                milestone = load_milestone(session, team_of(body), meta.get("m"))
                ensure_editor(session, client, milestone, user_id)
                if not first_submission(session, f"section:{view['id']}:{view.get('hash', '')}"):
                    ack()  # the same submission again: it was saved once
                    return None
                changed = apply(session, milestone, section, values, meta, user_id)
        except InvalidInput as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return None
        except DomainError as error:
            ack(response_action="errors", errors={first_input(view): str(error)})
            return None
        except SQLAlchemyError as error:
            log.exception("saving section %s failed", meta.get("s"))
            ack(response_action="errors", errors={first_input(view): save_failed(error)})
            return None
        ack()
        return milestone, section, meta, changed

    @app.view(views.FORM_CALLBACK)
    def save_form(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        def apply(session: Session, milestone: Milestone, section: Section, values: dict[str, Any],
                  meta: dict[str, Any], user_id: str) -> list[str]:
            changed = registry.save_fields(session, milestone, section, values, user_id)
            return [c for c in changed if c not in section.non_content]

        result = save(ack, body, client, view, apply)
        if result is None:
            return
        milestone, section, meta, changed = result
        if meta.get("p"):
            with deps.session() as session:
                picker = picker_view(load_milestone(session, milestone.team_id, milestone.id))
            update_view(client, meta["p"], picker)
        if changed:
            content_changed(deps, client, milestone.id, body["user"]["id"], [section.key])

    @app.view(views.ROW_CALLBACK)
    def save_row(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        def apply(session: Session, milestone: Milestone, section: Section, values: dict[str, Any],
                  meta: dict[str, Any], user_id: str) -> list[str]:
            row_id = meta.get("r")
            changed = registry.save_row(session, milestone, section, int(row_id) if row_id else None, values, user_id)
            return [section.key] if changed else []

        result = save(ack, body, client, view, apply)
        if result is None:
            return
        milestone, section, meta, changed = result
        with deps.session() as session:
            fresh = load_milestone(session, milestone.team_id, milestone.id)
            list_view = rows_view(fresh, section, meta.get("pp"))
            picker = picker_view(fresh) if meta.get("pp") else None
        update_view(client, meta.get("p"), list_view)
        update_view(client, meta.get("pp"), picker)
        if changed:
            content_changed(deps, client, milestone.id, body["user"]["id"], [section.key])
