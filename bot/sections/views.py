"""Block Kit for report sections: the section picker, one form per section, a table's rows and a row's form.

Modal stack (Slack allows 3): picker → section (form or row list) → row form. Opened directly with
`/milestone edit M-042 risks`, the row list is the root and the row form the second view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from bot.core.formats import day, money, number
from bot.sections.service import MAX_ROWS, Section
from bot.slack.forms import Block, field_blocks, modal, option, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT, Payload
from bot.slack.text import esc, truncate
from models import FieldSpec, Milestone
from models.base import FieldValue

PICKER_CALLBACK = "section_picker"
FORM_CALLBACK = "section_form"
ROWS_CALLBACK = "section_rows"
ROW_CALLBACK = "section_row"

EDIT_SECTION = "section_edit"  # button, value: EditSection (row None)
SELECT_SECTION = "section_select"  # static select, option values: EditSection
ROW_ADD = "section_row_add"  # value: EditSection (row None)
ROW_EDIT = "section_row_edit"  # value: EditSection with the row
ROW_REMOVE = "section_row_remove"
ROW_VARIANT = "section_row_kind"  # the kind select of a row form (a risk's kind): shows that kind's fields
ROW_REMOVE_ASK = "section_row_remove_ask"  # Remove when sign-offs would be outdated: a confirmation modal first
CONFIRM_CALLBACK = "section_confirm"  # an edit after sign-off, confirmed inside the modal
CONFIRM_BACK = "section_confirm_back"  # the confirmation's way back to the form, with what was typed
EDITORIAL_BLOCK = "signoff_editorial"  # the owner's "editorial change" checkbox on the confirmation


@dataclass(frozen=True)
class EditSection(Payload):
    """A button or menu option naming a section (and a row). Never trusted for permissions: every click
    checks again who may edit."""

    KIND: ClassVar[str] = "section.edit"
    milestone: int
    section: str
    row: int | None


@dataclass(frozen=True)
class PickerContext(Payload):
    """The section picker's metadata."""

    KIND: ClassVar[str] = "section.picker"
    milestone: int


@dataclass(frozen=True)
class SectionContext(Payload):
    """A section's form or row list: which section, and the picker view below it (to refresh), if any.
    `confirm`: opened straight from a slash command, so say "Saved · revision N" after saving."""

    KIND: ClassVar[str] = "section.form"
    milestone: int
    section: str
    picker: str | None
    confirm: bool


@dataclass(frozen=True)
class RowContext(Payload):
    """A row's form: the row (None: a new one), the row list under it and the picker under that."""

    KIND: ClassVar[str] = "section.row"
    milestone: int
    section: str
    row: int | None
    rows_view: str
    picker: str | None


@dataclass(frozen=True)
class EditConfirm(Payload):
    """The confirmation of an edit that outdates sign-offs: what it edits (a section's form, a row, a row's
    removal), the views below it, and what the person was told: the revision and the sign-offs (`seen`) it
    outdates. A confirmation given for other sign-offs or another revision is asked again."""

    KIND: ClassVar[str] = "section.confirm"
    milestone: int
    section: str
    action: Literal["form", "row", "remove"]
    row: int | None
    rows_view: str | None
    picker: str | None
    notify: bool  # a form opened by a command: say "Saved · revision N" after saving
    revision: int
    seen: str


def metadata_of(payload: Payload) -> str:
    return payload.pack(limit=PRIVATE_METADATA_LIMIT)


def section_value(milestone_id: int, section: Section, row_id: int | None = None) -> str:
    return EditSection(milestone_id, section.key, row_id).pack()


def label(spec: FieldSpec, currency: str | None) -> str:
    """A field's label, with an amount's currency named (the declarations say `($)`)."""
    if spec.kind == "money" and currency:
        return spec.label.replace("($)", f"({currency})")
    return spec.label


def display(spec: FieldSpec, value: FieldValue, limit: int = 80, currency: str | None = None) -> str:
    """A stored value as mrkdwn, escaped and short: dates as `Mon 30 Nov 2026`, numbers with separators."""
    if value is None or value == "" or value == []:
        return "—"
    if spec.kind == "bool":
        return "✅" if value else "—"
    if spec.kind == "select" and spec.choices is not None:
        return esc(dict(spec.choices.choices()).get(str(value), str(value)))
    if spec.kind == "user":
        return f"<@{value}>"
    if spec.kind == "users" and isinstance(value, list):
        return ", ".join(f"<@{u}>" for u in value)
    if spec.kind == "channel":
        return f"<#{value}>"
    if isinstance(value, date):
        return day(value)
    if spec.kind == "money" and currency and isinstance(value, Decimal | int):
        return esc(money(value, currency))
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = number(value)
        return f"{text}%" if spec.kind == "percent" else text
    return esc(truncate(" ".join(str(value).split()), limit))


def milestone_context(milestone: Milestone) -> Block:
    text = f"*{esc(milestone.key)}* · {esc(truncate(milestone.name, 150))} · revision {milestone.revision}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _help(section: Section) -> list[Block]:
    if not section.help:
        return []
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(section.help, 2000)}]}]


# A section's line about who it is asked of (empty: nobody) and the controls below it (bot.assignments.views).
Assigned = dict[str, tuple[str, list[dict[str, Any]]]]


def picker_modal(milestone: Milestone, groups: list[tuple[str, list[tuple[Section, str]]]], meta: str,
                 assigned: Assigned | None = None) -> dict[str, Any]:
    """Every section under the template's headings, with how far it is, an Edit button, and who it is asked
    of with "Ask someone…" below: 27 sections (two blocks each) and 15 headings, inside a view's 100 blocks."""
    statuses = [status for _heading, items in groups for _section, status in items]
    filled = sum(1 for status in statuses if status != "empty")
    progress = (f"*{filled} of {len(statuses)} filled in* · revision {milestone.revision} · "
                ":warning: marks what the sign-off check will list as empty")
    blocks: list[Block] = [milestone_context(milestone),
                           {"type": "section", "text": {"type": "mrkdwn", "text": progress}}]
    for heading, items in groups:
        blocks.append({"type": "header", "text": plain(heading, 150)})
        for section, status in items:
            empty = status == "empty"
            mark = ":warning: " if empty else ":white_check_mark: "
            who, controls = (assigned or {}).get(section.key, ("", []))
            text = f"{mark}*{esc(section.title)}* · _{esc(status)}_" + (f"\n{who}" if who else "")
            blocks.append({
                "type": "section",
                "block_id": f"section_{section.key}",
                "text": {"type": "mrkdwn", "text": text},
                "accessory": {
                    "type": "button",
                    "action_id": EDIT_SECTION,
                    "text": plain("Fill in" if empty else "Edit"),
                    "value": section_value(milestone.id, section),
                },
            })
            if controls:
                blocks.append({"type": "actions", "block_id": f"ask_{section.key}", "elements": controls})
    return modal(PICKER_CALLBACK, f"Edit {milestone.key}", blocks, submit=None, close="Done", private_metadata=meta)


def form_modal(
    milestone: Milestone, section: Section, initial: dict[str, FieldValue], meta: str
) -> dict[str, Any]:
    blocks = [milestone_context(milestone), *_help(section), *field_blocks(section.specs(), initial)]
    return modal(FORM_CALLBACK, section.title, blocks, submit="Save", private_metadata=meta)


def row_summary(section: Section, values: dict[str, FieldValue], currency: str | None = None) -> str:
    """The row's name in bold and up to four more filled-in fields: under 3,000 characters even when every
    value is full of characters that escaping lengthens."""
    specs = section.specs()
    # The row's name: its first required text field (a risk's "Risk", not its "Kind").
    main = next((s for s in specs if s.required and s.kind == "text"), specs[0])
    title = f"*{display(main, values.get(main.name), 150)}*"
    details = [
        f"{esc(label(spec, currency))}: {display(spec, values.get(spec.name), currency=currency)}"
        for spec in specs
        if spec is not main and values.get(spec.name) not in (None, "", False, [])
    ][:4]
    return truncate("\n".join([title, " · ".join(details)]) if details else title, 3000)


def rows_modal(
    milestone: Milestone, section: Section, rows: list[tuple[int, dict[str, FieldValue]]], meta: str,
    currency: str | None = None, *, ask_to_remove: bool = False,
) -> dict[str, Any]:
    """A table: each row with Edit and Remove, then "Add" (two blocks a row: MAX_ROWS rows fit in 100).
    `ask_to_remove`: removing would outdate sign-offs, so Remove opens a confirmation modal that says so."""
    blocks: list[Block] = [milestone_context(milestone), *_help(section), {"type": "divider"}]
    if not rows:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "_Nothing here yet._"}})
    for row_id, values in rows:
        blocks.append({"type": "section", "block_id": f"row_{row_id}", "text": {
            "type": "mrkdwn", "text": row_summary(section, values, currency)}})
        value = section_value(milestone.id, section, row_id)
        remove = {"type": "button", "action_id": ROW_REMOVE, "text": plain("Remove"), "value": value,
                  "style": "danger", "confirm": {
                      "title": plain(f"Remove this {section.noun}?", 100),
                      "text": {"type": "mrkdwn", "text": truncate(f"It leaves {esc(milestone.key)}'s report.", 300)},
                      "confirm": plain("Remove", 30),
                      "deny": plain("Keep it", 30),
                      "style": "danger",
                  }}
        if ask_to_remove:  # sign-offs would be outdated: a modal says so and asks instead of this dialog
            remove = {**{k: v for k, v in remove.items() if k != "confirm"}, "action_id": ROW_REMOVE_ASK}
        blocks.append({"type": "actions", "block_id": f"row_{row_id}_actions", "elements": [
            {"type": "button", "action_id": ROW_EDIT, "text": plain("Edit"), "value": value}, remove,
        ]})
    if len(rows) < MAX_ROWS:
        blocks.append({"type": "actions", "block_id": "add", "elements": [
            {"type": "button", "action_id": ROW_ADD, "text": plain(f"Add {section.noun}"), "style": "primary",
             "value": section_value(milestone.id, section)},
        ]})
    else:
        text = f"This table is full ({MAX_ROWS} rows). Remove a row to add another."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return modal(ROWS_CALLBACK, section.title, blocks, submit=None, close="Done", private_metadata=meta)


def row_modal(
    milestone: Milestone, section: Section, initial: dict[str, FieldValue], meta: str, *, new: bool,
    currency: str | None = None,
) -> dict[str, Any]:
    title = f"{'Add' if new else 'Edit'} {section.noun}"
    specs = section.specs_for(initial.get(section.variant_field))
    fields = field_blocks(specs, initial)
    for spec, block in zip(specs, fields, strict=True):
        block["label"] = plain(label(spec, currency), 2000)
        if spec.name == section.variant_field:  # choosing another kind re-draws the form with its fields
            block["dispatch_action"] = True
            block["element"]["action_id"] = ROW_VARIANT
    blocks = [milestone_context(milestone), *fields]
    return modal(ROW_CALLBACK, title, blocks, submit="Add" if new else "Save", private_metadata=meta)


def section_select(milestone: Milestone, sections: tuple[Section, ...]) -> dict[str, Any]:
    """A menu straight to one section's modal (27 options; Slack allows 100)."""
    return {
        "type": "static_select",
        "action_id": SELECT_SECTION,
        "placeholder": plain("Edit a section…"),
        "options": [option(section_value(milestone.id, s), s.title) for s in sections],
    }


def confirm_modal(milestone_line: Block, section: Section, action: str, *, notice: str, what: str,
                  inputs: list[Block], owner: bool, meta: str) -> dict[str, Any]:
    """An edit that outdates sign-offs, confirmed inside the modal: what saving will do, the owner's
    "editorial change" checkbox, then the input as typed (still editable) and a way back to the form."""
    change = f"*Your change:* {esc(section.title)} — {what}"
    blocks: list[Block] = [milestone_line,
                           {"type": "section", "text": {"type": "mrkdwn", "text": truncate(notice, 3000)}},
                           {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(change, 3000)}]}]
    if owner:
        box = option("yes", "Editorial change, no change of substance (typo fix)")
        blocks.append({"type": "input", "block_id": EDITORIAL_BLOCK, "optional": True,
                       "label": plain("Editorial change?"),
                       "hint": plain("Only you, the owner, may say so. Sign-offs then stay valid.", 150),
                       "element": {"type": "checkboxes", "action_id": "value", "options": [box]}})
    if inputs:
        blocks += [{"type": "divider"},
                   {"type": "context", "elements": [{"type": "mrkdwn", "text": "Your edit, as you typed it:"}]},
                   *inputs,
                   {"type": "actions", "block_id": "confirm_back", "elements": [
                       {"type": "button", "action_id": CONFIRM_BACK, "text": plain("Back to the form")}]}]
    removing = action == "remove"
    return modal(CONFIRM_CALLBACK, section.title, blocks, submit="Remove" if removing else "Confirm & save",
                 close="Back" if removing else "Cancel", private_metadata=meta)
