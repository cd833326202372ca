"""Block Kit for action items: the item line with its buttons, digests, escalations, lists, Home, the modal.

Every message that shows items renders each one as two blocks with stable ids, `ai:<id>` (the text) and
`aa:<id>:<where>` (the buttons), so a click anywhere can re-render just that item in place. `<where>` says
how to refresh what was clicked when Slack does not send the message back: `m` a normal message (patched
in place), `l<milestone id>` the ephemeral list (rebuilt), `h` the App Home (republished).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.actions.reminders import Failure, OverdueItem
from bot.actions.service import PICKABLE_HORIZONS, SNOOZE_DAYS, action_fields
from bot.slack.forms import Block, field_block, modal, option, plain
from bot.slack.text import esc, truncate
from models import ActionItem, ActionStatus, Horizon, Milestone
from models.sections import Level

MAX_ITEMS_PER_MESSAGE = 20  # 2 blocks each stays under 50 blocks and ~12,000 characters per message
DESCRIPTION_LIMIT = 280
CALLBACK_ADD = "action_add_modal"
CALLBACK_EDIT = "action_edit_modal"
ACTION_ADD = "action_add"
ACTION_DONE = "action_done"
ACTION_SNOOZE = "action_snooze"
ACTION_REASSIGN = "action_reassign"
ACTION_EDIT = "action_edit"
ITEM_ACTIONS = (ACTION_DONE, ACTION_SNOOZE, ACTION_REASSIGN, ACTION_EDIT)
SNOOZE_LABELS = {1: "1 day", 3: "3 days", 7: "1 week"}


@dataclass(frozen=True)
class ItemLine:
    """What one rendered item needs, from a model row or from the sweep's selection."""

    id: int
    milestone_key: str
    milestone_name: str
    description: str
    owner_id: str
    horizon: str
    priority: str | None
    due_date: date | None
    today: date  # the owner's today: what "overdue" is measured against
    status: str = ActionStatus.OPEN
    snoozed_until: date | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    effort_days: Decimal | None = None
    planned_sprint: str | None = None
    working_days_overdue: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == ActionStatus.OPEN

    @property
    def snoozed(self) -> bool:
        return self.is_open and self.snoozed_until is not None and self.snoozed_until > self.today

    @property
    def overdue(self) -> bool:
        return self.is_open and not self.snoozed and self.due_date is not None and self.due_date < self.today


def line_from_item(item: ActionItem, today: date) -> ItemLine:
    return ItemLine(
        id=item.id, milestone_key=item.milestone.key, milestone_name=item.milestone.name,
        description=item.description, owner_id=item.owner_id, horizon=item.horizon, priority=item.priority,
        due_date=item.due_date, today=today, status=item.status, snoozed_until=item.snoozed_until,
        done_by=item.done_by, done_at=item.done_at, effort_days=item.effort_days, planned_sprint=item.planned_sprint,
    )


def line_from_overdue(item: OverdueItem) -> ItemLine:
    return ItemLine(
        id=item.id, milestone_key=item.milestone_key, milestone_name=item.milestone_name,
        description=item.description, owner_id=item.owner_id, horizon=item.horizon, priority=item.priority,
        due_date=item.due_date, today=item.owner_today, working_days_overdue=item.working_days_overdue,
    )


def day_label(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def _label(choice: type[Horizon] | type[Level], value: str | None) -> str:
    if value is None:
        return ""
    member = choice._value2member_map_.get(value)
    return member.label if member is not None else value  # type: ignore[attr-defined]


def status_text(line: ItemLine) -> str:
    if line.status == ActionStatus.DONE:
        when = f" on {day_label(line.done_at.date())}" if line.done_at else ""
        return f"✅ Done{f' by <@{line.done_by}>' if line.done_by else ''}{when}"
    if line.status != ActionStatus.OPEN:
        return ActionStatus(line.status).label if line.status in ActionStatus._value2member_map_ else line.status
    if line.snoozed and line.snoozed_until:
        return f"💤 Snoozed until {day_label(line.snoozed_until)}"
    if line.due_date is None:
        return "No due date"
    if line.overdue:
        days = (line.today - line.due_date).days
        return f"⚠️ *Overdue* {days} day{'s' if days != 1 else ''} (due {day_label(line.due_date)})"
    if line.due_date == line.today:
        return f"Due today ({day_label(line.due_date)})"
    return f"Due {day_label(line.due_date)}"


def item_text(line: ItemLine, *, show_owner: bool = True) -> str:
    description = esc(truncate(line.description.strip(), DESCRIPTION_LIMIT))
    if not line.is_open:
        description = f"~{description}~" if "~" not in description else description
    meta = [f"*{esc(line.milestone_key)}*", status_text(line), esc(_label(Horizon, line.horizon))]
    if line.priority:
        meta.append(f"{esc(_label(Level, line.priority))} priority")
    if line.horizon == Horizon.TECH_DEBT:
        if line.effort_days is not None:
            meta.append(f"{format(line.effort_days.normalize(), 'f')} days")
        if line.planned_sprint:
            meta.append(esc(line.planned_sprint))
    if show_owner:
        meta.append(f"owner <@{line.owner_id}>")
    return truncate(f"{description}\n{' · '.join(meta)}", 3000)


def item_blocks(line: ItemLine, where: str, *, show_owner: bool = True) -> list[Block]:
    """The item's text and, while it is open, its buttons: Done, Snooze, Reassign, Edit."""
    text = {"type": "section", "block_id": f"ai:{line.id}", "text": {"type": "mrkdwn", "text": item_text(
        line, show_owner=show_owner)}}
    if not line.is_open:
        return [text, {"type": "context", "block_id": f"aa:{line.id}:{where}",
                       "elements": [{"type": "mrkdwn", "text": "Closed — no more reminders."}]}]
    snooze = {
        "type": "static_select",
        "action_id": ACTION_SNOOZE,
        "placeholder": plain("💤 Snooze…"),
        "options": [option(str(days), SNOOZE_LABELS[days]) for days in SNOOZE_DAYS],
    }
    return [
        text,
        {
            "type": "actions",
            "block_id": f"aa:{line.id}:{where}",
            "elements": [
                {"type": "button", "action_id": ACTION_DONE, "text": plain("✅ Done"), "style": "primary",
                 "value": str(line.id)},
                snooze,
                {"type": "users_select", "action_id": ACTION_REASSIGN, "placeholder": plain("Reassign…")},
                {"type": "button", "action_id": ACTION_EDIT, "text": plain("Edit"), "value": str(line.id)},
            ],
        },
    ]


def _items_section(lines: Sequence[ItemLine], where: str, *, show_owner: bool, more_hint: str) -> list[Block]:
    blocks: list[Block] = []
    for line in lines[:MAX_ITEMS_PER_MESSAGE]:
        blocks.extend(item_blocks(line, where, show_owner=show_owner))
    rest = lines[MAX_ITEMS_PER_MESSAGE:]
    if rest:
        names = ", ".join(f"{esc(r.milestone_key)}: {esc(truncate(r.description, 60))}" for r in rest[:15])
        text = truncate(f"…and {len(rest)} more ({names}). {more_hint}", 3000)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def digest_message(lines: Sequence[ItemLine]) -> tuple[str, list[Block]]:
    """The owner's daily digest: every overdue item of theirs, with the buttons."""
    overdue = sum(1 for line in lines if line.overdue)  # after clicks, re-rendered in place with the new count
    count = _plural(overdue, "overdue action item")
    text = f"You have {count}: " + "; ".join(f"{r.milestone_key} {truncate(r.description, 80)}" for r in lines[:10])
    blocks: list[Block] = [
        {"type": "header", "text": plain(f"⏰ You have {count}" if overdue else "✅ Nothing overdue here now", 150)},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "One reminder a day while items are overdue. *Done* closes an item, *Snooze* pauses its reminders, "
            "*Reassign* hands it over.")}]},
        *_items_section(lines, "m", show_owner=False, more_hint="See them all with `/milestone actions <ID>`."),
    ]
    return truncate(esc(text), 3000), blocks


def escalation_message(
    lines: Sequence[ItemLine], failures: Sequence[Failure], after_days: int
) -> tuple[str, list[Block]]:
    """The milestone owner's daily escalation: long-overdue items, and owners the bot could not reach."""
    head = f"⚠️ {_plural(len(lines), 'action item')} on your milestones need attention"
    blocks: list[Block] = [{"type": "header", "text": plain(head, 150)}]
    intro = f"Overdue by more than {_plural(after_days, 'working day')}, or their owner could not be reached."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": intro}]})
    if failures:
        unreachable = "\n".join(
            f"• <@{f.owner_id}>: reminder failed on {day_label(f.local_date)} (`{esc(f.error)}`) — reassign their items"
            for f in list(failures)[:20]
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(
            f"*I could not reach:*\n{unreachable}", 3000)}})
    blocks += _items_section(lines, "m", show_owner=True, more_hint="See them with `/milestone actions <ID>`.")
    text = head + (f"; could not reach {', '.join(f'<@{f.owner_id}>' for f in failures)}" if failures else "")
    return truncate(text, 3000), blocks


def weekly_message(milestone_key: str, milestone_name: str, lines: Sequence[ItemLine]) -> tuple[str, list[Block]]:
    head = f"Weekly: {_plural(len(lines), 'overdue action item')} on {milestone_key}"
    owners = sorted({line.owner_id for line in lines})
    blocks: list[Block] = [
        {"type": "header", "text": plain(head, 150)},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(
            f"*{esc(milestone_name)}* · owners: {', '.join(f'<@{o}>' for o in owners)}", 3000)}]},
        *_items_section(lines, "m", show_owner=True, more_hint=f"`/milestone actions {esc(milestone_key)}`"),
    ]
    return f"{head}: {esc(milestone_name)}", blocks


def assignment_message(line: ItemLine, assigner_id: str) -> tuple[str, list[Block]]:
    intro = (f"<@{assigner_id}> assigned you an action item on *{esc(line.milestone_key)}* "
             f"{esc(line.milestone_name)}:")
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(intro, 3000)}},
        *item_blocks(line, "m", show_owner=False),
    ]
    text = f"New action item on {line.milestone_key}: {truncate(line.description, 200)}"
    return esc(text), blocks


def add_button(milestone_id: int, label: str = "➕ Add action") -> dict[str, Any]:
    return {"type": "button", "action_id": ACTION_ADD, "text": plain(label), "value": str(milestone_id)}


def list_message(milestone: Milestone, lines: Sequence[ItemLine]) -> tuple[str, list[Block]]:
    """`/milestone actions <ID>`: every item with its status and overdue mark, only to the caller."""
    open_lines = [line for line in lines if line.is_open]
    overdue = sum(1 for line in open_lines if line.overdue)
    head = f"Action items — {milestone.key}"
    summary = (f"*{esc(milestone.name)}* · {len(open_lines)} open"
               f"{f', ⚠️ {overdue} overdue' if overdue else ''} · {len(lines) - len(open_lines)} closed")
    blocks: list[Block] = [
        {"type": "header", "text": plain(head, 150)},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(summary, 3000)},
         "accessory": add_button(milestone.id)},
    ]
    if not lines:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"No action items yet. Add one with the button or `/milestone action add {esc(milestone.key)}`.")}]})
    blocks += _items_section(list(lines), f"l{milestone.id}", show_owner=True,
                             more_hint="Close or snooze some to see the rest.")
    text = f"{head}: {len(open_lines)} open, {overdue} overdue"
    return text, blocks


def home_blocks(lines: Sequence[ItemLine], limit: int = 10) -> list[Block]:
    """App Home: "My action items", overdue first."""
    ordered = sorted(lines, key=lambda r: (not r.overdue, r.snoozed, r.due_date or date.max, r.id))
    overdue = sum(1 for r in ordered if r.overdue)
    blocks: list[Block] = [
        {"type": "header", "text": plain("My action items")},
    ]
    if not ordered:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "No open action items. 🎉"}]})
        return blocks
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"{len(ordered)} open{f', ⚠️ {overdue} overdue' if overdue else ''}")}]})
    for line in ordered[:limit]:
        blocks += item_blocks(line, "h", show_owner=False)
    if len(ordered) > limit:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"…and {len(ordered) - limit} more: `/milestone actions <ID>` lists a milestone's items.")}]})
    return blocks


def action_modal(
    milestone: Milestone,
    *,
    suggested: dict[str, date],
    item: ActionItem | None = None,
    horizon: str | None = None,
    source: dict[str, Any] | None = None,
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
    hint = ", ".join(f"{_label(Horizon, h)} → {day_label(d)}" for h, d in suggested.items())
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
    metadata = json.dumps({"m": milestone.id, "i": item.id if item else None, "src": source or {}})
    if len(metadata) > 3000:  # a very long response_url would not fit; the item is still saved
        metadata = json.dumps({"m": milestone.id, "i": item.id if item else None, "src": {}})
    title = "Edit action item" if item else "Add action item"
    return modal(CALLBACK_EDIT if item else CALLBACK_ADD, title, blocks, submit="Save", private_metadata=metadata)


def replace_item_blocks(blocks: list[Block], line: ItemLine, *, force_owner: bool = False) -> list[Block] | None:
    """The message's blocks with one item re-rendered in place; None when the item is not in them.
    The owner is shown when the message showed it (or `force_owner`, after a reassignment)."""
    out: list[Block] = []
    found = False
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        if block_id == f"ai:{line.id}":
            show_owner = force_owner or "owner <@" in str((block.get("text") or {}).get("text", ""))
            where = next((str(b["block_id"]).split(":", 2)[2] for b in blocks
                          if str(b.get("block_id") or "").startswith(f"aa:{line.id}:")), "m")
            out += item_blocks(line, where, show_owner=show_owner)
            found = True
        elif block_id.startswith(f"aa:{line.id}:"):
            continue
        else:
            out.append(block)
    return out if found else None
