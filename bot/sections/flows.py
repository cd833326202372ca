"""Section editing, opening: the picker, a section's form or rows, a row's form (saving is in flows_save).

Every step checks again who may edit: a payload only says which milestone, section and row. The admin
flag (users.info) is looked up before the acting transaction, never inside it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.assignments import service as assignments
from bot.assignments import views as assignment_views
from bot.core.access import ensure_can_edit, get_by_key
from bot.core.errors import NotFound
from bot.deps import Deps
from bot.sections import service as registry
from bot.sections import views
from bot.sections.service import SECTIONS, Section
from bot.signoffs.edits import edit_guard
from bot.slack.forms import read_state
from bot.slack.permissions import admin_flag, load_milestone
from bot.slack.replies import open_or_push, team_of
from bot.slack.router import CommandContext
from bot.slack.text import esc
from models import Milestone, utcnow

log = logging.getLogger(__name__)


def find_section(name: str) -> Section:
    """A section by key or alias; an unknown name is echoed escaped (typed text never pings)."""
    section = registry.find_section(name)
    if section is None:
        keys = ", ".join(f"`{s.key}`" for s in SECTIONS)
        raise NotFound(f"There is no section `{esc(name)}`. Sections: {keys}.")
    return section


def section_of(key: str) -> Section:
    """A section named by one of our own payloads (signed, so the key is ours; a renamed key is refused)."""
    section = registry.find_section(key)
    if section is None:
        raise NotFound("That section no longer exists; open the milestone's sections again.")
    return section


# ---- views ------------------------------------------------------------------------------------------------


def picker_view(session: Session, milestone: Milestone) -> dict[str, Any]:
    """The section picker: each section's state, who it is asked of (asked / overdue / done, in the
    assignee's today) and "Ask someone…"."""
    groups = [(heading, [(section, registry.status_line(milestone, section)) for section in sections])
              for heading, sections in registry.grouped()]
    current = assignments.for_milestone(session, milestone.id)
    days = assignments.assignee_days(session, current.values(), utcnow())
    assigned = {section.key: assignment_views.picker_line(
        milestone.id, section.key, current.get(section.key),
        days.get(current[section.key].assignee_id) if section.key in current else None) for section in SECTIONS}
    return views.picker_modal(milestone, groups, views.metadata_of(views.PickerContext(milestone.id)), assigned)


def rows_view(deps: Deps, milestone: Milestone, section: Section, picker: str | None) -> dict[str, Any]:
    rows = [(row.id, registry.row_values(row, section)) for row in registry.rows(milestone, section)]
    context = views.SectionContext(milestone.id, section.key, picker, False)
    return views.rows_modal(milestone, section, rows, views.metadata_of(context), milestone.currency,
                            ask_to_remove=edit_guard(milestone).asks)



def section_view(deps: Deps, milestone: Milestone, section: Section, picker: str | None, *,
                 confirm: bool = False) -> dict[str, Any]:
    """The table's row list, or the form of a columns or single-record section; `picker`: the view below."""
    if section.is_table:
        return rows_view(deps, milestone, section, picker)
    context = views.SectionContext(milestone.id, section.key, picker, confirm)
    return views.form_modal(milestone, section, registry.current_values(milestone, section),
                            views.metadata_of(context))


def editable(session: Session, team_id: str, milestone_id: int, user_id: str, is_admin: bool,
              section: Section | None = None) -> Milestone:
    """The milestone, for owners, editors and admins, and for the assignee of `section` (that one only)."""
    milestone = load_milestone(session, team_id, milestone_id)
    if section is not None and assignments.may_fill(session, milestone, user_id, section.key):
        return milestone
    ensure_can_edit(session, milestone, user_id, is_admin=is_admin)
    return milestone


# ---- opening ----------------------------------------------------------------------------------------------


def edit_command(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        keys = ", ".join(f"`{s.key}`" for s in SECTIONS)
        ctx.reply(f"Which milestone? For example `/milestone edit M-042`, or straight to a section with "
                  f"`/milestone edit M-042 risks`. Sections: {keys}.")
        return
    section = find_section(ctx.args[1]) if len(ctx.args) > 1 else None
    ctx.ack_now()  # the trigger_id dies in ~3 s: ack first, then load and open
    with deps.session() as session:
        milestone_id = get_by_key(session, ctx.team_id, ctx.args[0]).id
    is_admin = admin_flag(deps, ctx.client, ctx.team_id, ctx.user_id, milestone_id)
    with deps.session() as session:
        milestone = editable(session, ctx.team_id, milestone_id, ctx.user_id, is_admin, section)
        view = (section_view(deps, milestone, section, None, confirm=True) if section
                else picker_view(session, milestone))
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def open_picker(deps: Deps, client: WebClient, body: dict[str, Any], milestone_id: int) -> None:
    user_id, team_id = body["user"]["id"], team_of(body)
    is_admin = admin_flag(deps, client, team_id, user_id, milestone_id)
    with deps.session() as session:
        view = picker_view(session, editable(session, team_id, milestone_id, user_id, is_admin))
    open_or_push(client, body, view)


def open_section(deps: Deps, client: WebClient, body: dict[str, Any], target: views.EditSection) -> None:
    user_id, team_id = body["user"]["id"], team_of(body)
    section = section_of(target.section)
    from_picker = (body.get("view") or {}).get("callback_id") == views.PICKER_CALLBACK
    is_admin = admin_flag(deps, client, team_id, user_id, target.milestone)
    with deps.session() as session:
        milestone = editable(session, team_id, target.milestone, user_id, is_admin, section)
        view = section_view(deps, milestone, section, body["view"]["id"] if from_picker else None)
    open_or_push(client, body, view)


def open_row(deps: Deps, client: WebClient, body: dict[str, Any], target: views.EditSection) -> None:
    user_id, team_id = body["user"]["id"], team_of(body)
    section = section_of(target.section)
    list_view = body.get("view") or {}
    below = views.SectionContext.unpack(list_view.get("private_metadata"))
    is_admin = admin_flag(deps, client, team_id, user_id, target.milestone)
    with deps.session() as session:
        milestone = editable(session, team_id, target.milestone, user_id, is_admin, section)
        if target.row is None:
            initial = registry.new_row_values(section)
        else:
            initial = registry.row_values(registry.find_row(session, milestone, section, target.row), section)
        context = views.RowContext(milestone.id, section.key, target.row, str(list_view.get("id", "")), below.picker)
        view = views.row_modal(milestone, section, initial, views.metadata_of(context), new=target.row is None,
                               currency=milestone.currency)
    client.views_push(trigger_id=body["trigger_id"], view=view)


def switch_variant(deps: Deps, client: WebClient, body: dict[str, Any]) -> None:
    """A row form's kind changed: the same form with that kind's fields, keeping what was typed."""
    form = body.get("view") or {}
    context = views.RowContext.unpack(form.get("private_metadata"))
    section = section_of(context.section)
    typed = read_state((form.get("state") or {}).get("values") or {})
    chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
    if chosen:  # the click's own value is the newest (the state may be read before it)
        typed[section.variant_field] = chosen
    with deps.session() as session:
        milestone = load_milestone(session, team_of(body), context.milestone)
        view = views.row_modal(milestone, section, typed, str(form.get("private_metadata")),
                               new=context.row is None, currency=milestone.currency)
    client.views_update(view_id=form["id"], hash=form.get("hash"), view=view)
