"""The action-item modals: add/edit, reassign, and the delete confirmation. Their private_metadata is a signed
payload (bot.actions.views: ActionForm, ItemForm)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from bot.actions.service import PICKABLE_HORIZONS, action_fields
from bot.actions.views import (
    CALLBACK_ADD,
    CALLBACK_DELETE,
    CALLBACK_EDIT,
    CALLBACK_REASSIGN,
    ActionForm,
    ItemForm,
    choice_label,
    day_label,
)
from bot.slack.forms import Block, field_block, modal, option, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT
from bot.slack.text import esc, truncate
from models import ActionItem, Horizon, Milestone


def action_modal(
    milestone: Milestone,
    *,
    suggested: dict[str, date],
    item: ActionItem | None = None,
    horizon: str | None = None,
    home: bool = False,
    reply: int | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Add or edit an item. An empty due date takes the horizon's suggestion (shown in the hint)."""
    specs = {spec.name: spec for spec in action_fields()}
    initial: dict[str, Any] = {name: getattr(item, name) for name in specs} if item else {"horizon": horizon}
    horizons = list(PICKABLE_HORIZONS)
    if item is not None and item.horizon not in horizons:
        horizons.append(Horizon(item.horizon))
    horizon_block = field_block(specs["horizon"], initial.get("horizon") or Horizon.WEEK1)
    horizon_block["element"]["options"] = [option(h.value, h.label) for h in horizons]
    chosen = [o for o in horizon_block["element"]["options"] if o["value"] == (initial.get("horizon") or "week1")]
    horizon_block["element"]["initial_option"] = chosen[0]
    base = milestone.actual_end or milestone.planned_end
    hint = ", ".join(f"{choice_label(Horizon, h)} → {day_label(d)}" for h, d in suggested.items())
    due_block = field_block(specs["due_date"], initial.get("due_date"))
    due_block["hint"] = plain(
        f"Leave empty to use the suggestion from the {'completion date ' + day_label(base) if base else 'date today'}: "
        f"{hint}. Technical debt has no default.", 2000)
    blocks: list[Block] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(
            f"*{esc(milestone.key)}* {esc(milestone.name)}", 3000)}]},
        field_block(specs["description"], initial.get("description")),
        horizon_block,
        field_block(specs["owner_id"], initial.get("owner_id")),
        due_block,
        field_block(specs["priority"], initial.get("priority")),
        field_block(specs["notes"], initial.get("notes")),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Technical debt* only:"}]},
        field_block(specs["effort_days"], initial.get("effort_days")),
        field_block(specs["planned_sprint"], initial.get("planned_sprint")),
    ]
    metadata = ActionForm(milestone=milestone.id, item=item.id if item else None, home=home, reply=reply,
                          channel=channel).pack(limit=PRIVATE_METADATA_LIMIT)
    title = "Edit action item" if item else "Add action item"
    return modal(CALLBACK_EDIT if item else CALLBACK_ADD, title, blocks, submit="Save", private_metadata=metadata)


def item_form_modal(
    item: ActionItem, form: Literal["reassign", "delete"], *, home: bool, reply: int | None, channel: str | None,
) -> dict[str, Any]:
    """Reassign: pick the new owner. Delete: say what goes, and ask to confirm."""
    metadata = ItemForm(item=item.id, form=form, home=home, reply=reply, channel=channel).pack(
        limit=PRIVATE_METADATA_LIMIT)
    about = truncate(f"*{esc(item.milestone.key)}* {esc(item.description.strip())}", 3000)
    if form == "reassign":
        blocks: list[Block] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": about}},
            {"type": "input", "block_id": "owner_id", "label": plain("New owner"),
             "element": {"type": "users_select", "action_id": "value", "placeholder": plain("Choose a person")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"Now owned by <@{item.owner_id}>. The new owner gets a DM; the earlier one is marked reassigned.")}]},
        ]
        return modal(CALLBACK_REASSIGN, "Reassign action item", blocks, submit="Reassign", private_metadata=metadata)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(
            f"Delete this action item for good?\n{about}\nOwner <@{item.owner_id}>. The audit log keeps a record; "
            "messages that showed it say it was deleted.", 3000)}},
        {"type": "input", "block_id": "reason", "optional": True, "label": plain("Why (kept in the audit log)"),
         "element": {"type": "plain_text_input", "action_id": "value", "max_length": 300}},
    ]
    return modal(CALLBACK_DELETE, "Delete action item", blocks, submit="Delete", private_metadata=metadata)
