"""Saving a section through the one submission path: a form of fields, a table's row, a row's removal.

Edits after sign-off are deliberate: when the report is in review or accepted and a change would outdate a
sign-off (bot.signoffs.edits.edit_guard, the one rule), the change is not saved. The modal is re-drawn in
place as a confirmation that says what saving will do (who is asked again, whether the acceptance is
withdrawn), keeps what was typed, and offers a way back to the form; the owner may tick "editorial change"
(a typo fix), which keeps every sign-off valid. The check runs in the saving transaction, after applying the
change (so "of substance" is decided by what really changed) and is rolled back with it. Fields that are not
report content (a section's `non_content`: report channel, currency) never ask. A saved change of substance
outdates sign-offs and owes the re-asks in the same transaction (bot.signoffs.flows.owe_after_change); the
content hooks run after the commit as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.errors import InvalidInput
from bot.deps import Deps
from bot.sections import service as registry
from bot.sections import views
from bot.sections.flows import editable, picker_view, rows_view, section_of
from bot.sections.service import Section
from bot.signoffs import edits
from bot.signoffs import flows as signoff_flows
from bot.signoffs.views_owner import edit_notice
from bot.slack import outbox
from bot.slack.forms import Block, notice_modal, read_state, with_typed
from bot.slack.payloads import Payload
from bot.slack.permissions import admin_flag, load_milestone
from bot.slack.replies import content_changed, open_or_push, save_failed, team_of, tell, update_view
from bot.slack.submissions import claim, submit
from bot.slack.text import esc
from models import Milestone, utcnow

log = logging.getLogger(__name__)
Action = Literal["form", "row", "remove"]


@dataclass(frozen=True)
class Target:
    """What a submission edits and the views below it: from the form's metadata or its confirmation's."""

    milestone: int
    section: str
    action: Action
    row: int | None = None
    rows_view: str | None = None
    picker: str | None = None
    notify: bool = False  # a form opened by a command: say "Saved · revision N" after saving

    @classmethod
    def of(cls, view: dict[str, Any]) -> tuple[Target, views.EditConfirm | None]:
        """The target of a submitted form, row form or confirmation (ForgedPayload if we did not sign it)."""
        meta = view.get("private_metadata")
        if view.get("callback_id") == views.CONFIRM_CALLBACK:
            c = views.EditConfirm.unpack(meta)
            return cls(c.milestone, c.section, c.action, c.row, c.rows_view, c.picker, c.notify), c
        if view.get("callback_id") == views.ROW_CALLBACK:
            r = views.RowContext.unpack(meta)
            return cls(r.milestone, r.section, "row", r.row, r.rows_view, r.picker), None
        f = views.SectionContext.unpack(meta)
        return cls(f.milestone, f.section, "form", picker=f.picker, notify=f.confirm), None

    def confirmation(self, revision: int, seen: str) -> str:
        return views.metadata_of(views.EditConfirm(self.milestone, self.section, self.action, self.row,
                                                   self.rows_view, self.picker, self.notify, revision, seen))

    def form_metadata(self) -> str:
        """The metadata of the form this target came from (the confirmation's way back)."""
        payload: Payload = (
            views.RowContext(self.milestone, self.section, self.row, self.rows_view or "", self.picker)
            if self.action == "row" else views.SectionContext(self.milestone, self.section, self.picker, self.notify))
        return views.metadata_of(payload)


@dataclass(frozen=True)
class Change:
    keys: list[str]  # section keys whose content changed (the content hooks' argument); []: nothing of substance
    touched: bool  # anything saved (a report channel alone is saved without a new revision)
    what: str = ""  # "Status", "a new objective": for the confirmation


# Applies a parsed submission inside its transaction.
Apply = Callable[[Session, Milestone, Section, dict[str, Any], str], Change]


class ConfirmFirst(Exception):
    """The change would outdate sign-offs: nothing is saved (the transaction rolls back); answer with this view."""

    def __init__(self, view: dict[str, Any]) -> None:
        super().__init__("confirm first")
        self.view = view


@dataclass
class Saved:
    milestone_id: int
    team_id: str
    revision: int
    change: Change
    editorial: bool = False
    outdated: int = 0  # sign-offs this change outdates
    owed: list[int | None] = field(default_factory=list)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _apply_form(session: Session, milestone: Milestone, section: Section, values: dict[str, Any],
                user_id: str) -> Change:
    changed = registry.save_fields(session, milestone, section, values, user_id)
    content = [name for name in changed if name not in section.non_content]
    labels = [spec.label for spec in section.specs() if spec.name in content]
    return Change([section.key] if content else [], bool(changed), esc(", ".join(labels)))


def _apply_row(row: int | None) -> Apply:
    def apply(session: Session, milestone: Milestone, section: Section, values: dict[str, Any],
              user_id: str) -> Change:
        done = registry.save_row(session, milestone, section, row, values, user_id)
        what = f"{_a('new ' + section.noun)}" if row is None else f"{_a(section.noun)} changed"
        return Change([section.key] if done else [], done, esc(what))
    return apply


def _apply_remove(row: int | None) -> Apply:
    def apply(session: Session, milestone: Milestone, section: Section, _values: dict[str, Any],
              user_id: str) -> Change:
        done = row is not None and registry.remove_row(session, milestone, section, row, user_id)
        return Change([section.key] if done else [], done, esc(f"{_a(section.noun)} removed"))
    return apply


_APPLY: dict[Action, Callable[[Target], Apply]] = {
    "form": lambda target: _apply_form, "row": lambda target: _apply_row(target.row),
    "remove": lambda target: _apply_remove(target.row),
}


def _typed_inputs(view: dict[str, Any]) -> list[Block]:
    """The submitted view's inputs with what was typed, for its confirmation (a row's kind select no longer
    re-draws the form there: the confirmation is not the row form)."""
    inputs = [b for b in view.get("blocks") or []
              if b.get("type") == "input" and b.get("block_id") != views.EDITORIAL_BLOCK]
    typed = with_typed(inputs, (view.get("state") or {}).get("values") or {})
    return [{**{k: v for k, v in b.items() if k != "dispatch_action"},
             "element": {**b["element"], "action_id": "value"}} for b in typed]


def _confirmation(deps: Deps, milestone: Milestone, section: Section, target: Target, guard: edits.EditGuard,
                  user_id: str, view: dict[str, Any], *, stale: bool) -> Callable[[Change], dict[str, Any]]:
    """Read before the change is applied (the milestone as it stands); the view is built once the change is
    known."""
    notice = edit_notice(milestone, guard, settle_minutes=deps.settings.signoff_settle_minutes,
                         owner=user_id == milestone.owner_id)
    if stale:
        notice = (":arrows_counterclockwise: The report or its sign-offs changed while this was open; here is what "
                  "saving does now.\n" + notice)
    line = views.milestone_context(milestone)
    meta = target.confirmation(milestone.revision, guard.seen)
    inputs = [] if target.action == "remove" else _typed_inputs(view)
    owner = user_id == milestone.owner_id

    def build(change: Change) -> dict[str, Any]:
        return views.confirm_modal(line, section, target.action, notice=notice, what=change.what or "edited",
                                   inputs=inputs, owner=owner, meta=meta)
    return build


def _owe(deps: Deps, session: Session, milestone: Milestone, user_id: str, keys: list[str], *,
         editorial: bool) -> list[int | None]:
    """In the saving transaction: what the change owes the sign-off (outdated sign-offs, re-asks after the settle
    window, the status message's edit), so a crash after the commit loses nothing and the answer to the modal
    comes after the sign-offs are outdated. An editorial edit outdates nothing."""
    now = utcnow()
    owed = signoff_flows.owe_editorial(deps, session, milestone, user_id, keys, now) if editorial else []
    return owed + signoff_flows.owe_after_change(deps, session, milestone.id, user_id, keys, now)


def _save(deps: Deps, client: WebClient, ack: Ack, body: dict[str, Any], view: dict[str, Any], target: Target,
          confirmed: views.EditConfirm | None) -> Saved | None:
    """The submission's one transaction: claim, check who may edit, apply; then either keep it or roll it back
    and ask to confirm (ConfirmFirst). Errors are answered by `submit`."""
    user_id, team_id = body["user"]["id"], team_of(body)
    section = section_of(target.section)
    raw = read_state((view.get("state") or {}).get("values") or {})
    editorial = "yes" in (raw.get(views.EDITORIAL_BLOCK) or [])
    apply = _APPLY[target.action](target)

    def save() -> Saved:
        values = registry.parse(section, raw) if target.action != "remove" else {}
        is_admin = admin_flag(deps, client, team_id, user_id, target.milestone)
        with deps.session() as session:
            milestone = editable(session, team_id, target.milestone, user_id, is_admin, section)
            claim(session, view)
            if editorial and user_id != milestone.owner_id:
                raise InvalidInput({views.EDITORIAL_BLOCK: "Only the milestone's owner may mark an edit editorial."})
            guard = edits.edit_guard(milestone)
            agreed = confirmed is not None and (confirmed.revision, confirmed.seen) == (milestone.revision, guard.seen)
            confirmation = None if agreed or not guard.asks else _confirmation(
                deps, milestone, section, target, guard, user_id, view, stale=confirmed is not None)
            change = apply(session, milestone, section, values, user_id)
            if change.keys and confirmation is not None:
                raise ConfirmFirst(confirmation(change))  # rolls the change back
            saved = Saved(milestone.id, team_id, milestone.revision, change)
            if change.keys:
                saved.editorial = editorial and guard.asks
                saved.outdated = 0 if saved.editorial else len(guard.affected)
                saved.owed = _owe(deps, session, milestone, user_id, change.keys, editorial=saved.editorial)
            saved.owed += audit.owed(session)  # the canvas's rewrite, sent after the hooks so they join it
            return saved

    return submit(ack, view, save)


def _answer(ack: Ack, view: dict[str, Any], title: str) -> Any:
    """A view without inputs (a removal's confirmation) cannot show field errors: tell in its place instead."""
    if any(b.get("type") == "input" for b in view.get("blocks") or []):
        return ack

    def answer(**kwargs: Any) -> Any:
        if kwargs.get("response_action") == "errors":
            text = " ".join(str(e) for e in (kwargs.get("errors") or {}).values())
            return ack(response_action="update", view=notice_modal(title, f":warning: {text}"))
        return ack(**kwargs)
    return answer


def save_view(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """A section's form, a row's form, or the confirmation of either (or of a removal), submitted."""
    ack = _answer(ack, view, "Milestone Bot")
    parsed = submit(ack, view, lambda: Target.of(view))
    if parsed is None:
        return
    target, confirmed = parsed
    if registry.find_section(target.section) is None:
        ack(response_action="errors", errors={"value": "That section no longer exists."})
        return
    try:
        saved = _save(deps, client, ack, body, view, target, confirmed)
    except ConfirmFirst as ask:
        ack(response_action="update", view=ask.view)
        return
    if saved is None:
        return
    section = section_of(target.section)
    if target.notify:  # opened from a slash command: nothing else shows that the save went through
        ack(response_action="update", view=notice_modal(section.title, _saved_text(deps, section, saved)))
    else:
        ack()
    _after_save(deps, client, body, saved, section, target)


def _saved_text(deps: Deps, section: Section, saved: Saved) -> str:
    if not saved.change.touched:
        return f":white_check_mark: Nothing changed · {esc(section.title)} · revision {saved.revision}"
    text = f":white_check_mark: Saved · {esc(section.title)} · revision {saved.revision}"
    if saved.editorial:
        text += "\nMarked editorial: every sign-off stays valid, and the sign-off table shows the edit."
    elif saved.outdated:
        text += (f"\n{saved.outdated} sign-off{'s are' if saved.outdated != 1 else ' is'} outdated; the approvers "
                 f"are asked again once your edits settle ({deps.settings.signoff_settle_minutes} minutes).")
    return text


def _after_save(deps: Deps, client: WebClient, body: dict[str, Any], saved: Saved, section: Section,
                target: Target) -> None:
    """After commit: refresh the views below, tell the other features, send what the save owed (last: a send
    may wait its turn in the channel, and the other features' hooks need not wait for it)."""
    rows_view_id = target.rows_view if target.action != "form" else None
    if target.picker or rows_view_id:
        with deps.session() as session:
            fresh = load_milestone(session, saved.team_id, saved.milestone_id)
            listing = rows_view(deps, fresh, section, target.picker) if rows_view_id else None
            picker_fresh = picker_view(session, fresh) if target.picker else None
        update_view(client, rows_view_id, listing)
        update_view(client, target.picker, picker_fresh)
    if saved.change.keys:
        content_changed(deps, client, saved.milestone_id, body["user"]["id"], saved.change.keys)
    outbox.deliver(deps, client, saved.owed)


# ---- a row's removal (a button on the row list) -------------------------------------------------------------


def remove_row(deps: Deps, client: WebClient, body: dict[str, Any], target: views.EditSection, *,
               ask: bool = False) -> None:
    """Remove a row at once, or, when that would outdate sign-offs (or `ask`: the list said it would), push a
    confirmation that says so; its submission removes the row."""
    user_id, team_id = body["user"]["id"], team_of(body)
    section = section_of(target.section)
    list_view = body.get("view") or {}
    below = views.SectionContext.unpack(list_view.get("private_metadata"))
    where = Target(target.milestone, section.key, "remove", target.row, str(list_view.get("id") or ""), below.picker)
    is_admin = admin_flag(deps, client, team_id, user_id, target.milestone)
    confirm: dict[str, Any] | None = None
    owed: list[int | None] = []
    try:
        with deps.session() as session:
            milestone = editable(session, team_id, target.milestone, user_id, is_admin, section)
            guard = edits.edit_guard(milestone)
            if (guard.asks or ask) and target.row is not None:
                row = registry.find_row(session, milestone, section, target.row)
                summary = views.row_summary(section, registry.row_values(row, section), milestone.currency)
                confirm = _removal(deps, milestone, section, where, guard, user_id, summary)
                removed = False
            else:
                removed = target.row is not None and registry.remove_row(session, milestone, section, target.row,
                                                                         user_id)
                owed = _owe(deps, session, milestone, user_id, [section.key], editorial=False) if removed else []
                owed += audit.owed(session)
            fresh = rows_view(deps, milestone, section, below.picker)
            picker = picker_view(session, milestone) if below.picker else None
            milestone_id, key = milestone.id, milestone.key
    except SQLAlchemyError as error:
        log.exception("removing a row failed")
        tell(client, body, save_failed(error, kept="The row is still there"))
        return
    if confirm is not None:
        try:
            open_or_push(client, body, confirm)
        except SlackApiError as error:  # three modals open already (Slack's limit): nothing was removed
            log.info("removal confirmation not shown: %s", error.response.get("error"))
            tell(client, body, f"Nothing was removed: Slack shows at most three forms at once. Close one, or open "
                               f"the table with `/milestone edit {esc(key)} {section.key}` and press Remove there.")
        return
    update_view(client, list_view.get("id"), fresh)
    update_view(client, below.picker, picker)
    if removed:
        content_changed(deps, client, milestone_id, user_id, [section.key])
    outbox.deliver(deps, client, owed)


def _removal(deps: Deps, milestone: Milestone, section: Section, where: Target, guard: edits.EditGuard,
             user_id: str, summary: str) -> dict[str, Any]:
    if guard.asks:
        notice = edit_notice(milestone, guard, settle_minutes=deps.settings.signoff_settle_minutes,
                             owner=user_id == milestone.owner_id)
    else:
        notice = f"Remove this {esc(section.noun)}? It leaves {esc(milestone.key)}'s report."
    return views.confirm_modal(views.milestone_context(milestone), section, "remove", notice=notice,
                               what=f"{_a(section.noun)} removed:\n{summary}", inputs=[],
                               owner=guard.asks and user_id == milestone.owner_id,
                               meta=where.confirmation(milestone.revision, guard.seen))


# ---- the confirmation's way back to the form ----------------------------------------------------------------


def back_to_form(deps: Deps, client: WebClient, body: dict[str, Any]) -> None:
    """The form again, in place of its confirmation, with what was typed (saving it asks again)."""
    shown = body.get("view") or {}
    target, _confirmed = Target.of(shown)
    section = section_of(target.section)
    user_id, team_id = body["user"]["id"], team_of(body)
    state = (shown.get("state") or {}).get("values") or {}
    is_admin = admin_flag(deps, client, team_id, user_id, target.milestone)
    with deps.session() as session:
        milestone = editable(session, team_id, target.milestone, user_id, is_admin, section)
        meta = target.form_metadata()
        if target.action == "row":
            if target.row is None:
                initial = registry.new_row_values(section)
            else:
                initial = registry.row_values(registry.find_row(session, milestone, section, target.row), section)
            kind = read_state(state).get(section.variant_field) if section.variant_field else None
            if kind:
                initial[section.variant_field] = kind
            form = views.row_modal(milestone, section, initial, meta, new=target.row is None,
                                   currency=milestone.currency)
        else:
            form = views.form_modal(milestone, section, registry.current_values(milestone, section), meta)
    form["blocks"] = with_typed(form["blocks"], state)
    try:
        client.views_update(view_id=shown["id"], hash=shown.get("hash"), view=form)
    except SlackApiError as error:  # closed meanwhile: nothing to go back to
        log.info("no way back to the form: %s", error.response.get("error"))

