"""Block Kit for action items: the item line with its controls, digests, escalations, lists, Home, the modals,
and the signed payloads every control and modal carries (bot.slack.payloads).

Every message that shows items renders each one as two blocks with stable ids, `ai:<id>` (the text) and
`aa:<id>:<where>` (the controls), so a click anywhere can re-render just that item in place. Which item a
click is about, and where it was clicked (`m` a message, `l` the ephemeral list, `h` App Home), comes from
the control's signed value, never from the block id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from bot.actions.reminders import Failure
from bot.actions.service import is_overdue, is_snoozed
from bot.slack.forms import Block, option, plain
from bot.slack.payloads import Payload
from bot.slack.text import esc, truncate
from models import ActionItem, ActionStatus, Horizon, Milestone
from models.sections import Level

MAX_ITEMS_PER_MESSAGE = 20  # 2 blocks each stays under 50 blocks and ~12,000 characters per message
MAX_BLOCKS = 50  # Slack's limit for a message
DESCRIPTION_LIMIT = 280
OPTION_VALUE_LIMIT = 150  # Slack's limit for an option's value (overflow menus)
CALLBACK_ADD = "action_add_modal"
CALLBACK_EDIT = "action_edit_modal"
CALLBACK_REASSIGN = "action_reassign_modal"
CALLBACK_DELETE = "action_delete_modal"
ACTION_ADD = "action_add"
ACTION_DONE = "action_done"
ACTION_REOPEN = "action_reopen"
ACTION_MENU = "action_menu"
MENU_SNOOZE_DAYS = (1, 7)  # an overflow menu holds at most 5 options: 2 snoozes, Reassign, Edit, Delete
SNOOZE_LABELS = {1: "1 day", 3: "3 days", 7: "1 week"}

Where = Literal["m", "l", "h"]
Op = Literal["done", "reopen", "snooze1", "snooze3", "snooze7", "reassign", "edit", "delete"]


@dataclass(frozen=True)
class ItemOp(Payload):
    """A click on one item's control: Done, Reopen, or an overflow option."""

    KIND = "action.op"
    item: int
    op: Op
    where: Where


@dataclass(frozen=True)
class AddAction(Payload):
    KIND = "action.add"
    milestone: int


@dataclass(frozen=True)
class ActionForm(Payload):
    """The add/edit modal: which item, and what to refresh after saving (Home; the ephemeral list through a
    response_url kept server-side under `reply`; the channel to confirm in). No URL, ever."""

    KIND = "action.form"
    milestone: int
    item: int | None
    home: bool
    reply: int | None
    channel: str | None


@dataclass(frozen=True)
class ItemForm(Payload):
    """The reassign and delete modals: the item, and where the click came from (as ActionForm)."""

    KIND = "action.item_form"
    item: int
    form: Literal["reassign", "delete"]
    home: bool
    reply: int | None
    channel: str | None


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
    report_url: str | None = None  # App Home links the milestone's key to its report

    @property
    def is_open(self) -> bool:
        return self.status == ActionStatus.OPEN

    @property
    def snoozed(self) -> bool:
        return is_snoozed(self.status, self.snoozed_until, self.today)

    @property
    def overdue(self) -> bool:
        return is_overdue(self.status, self.due_date, self.snoozed_until, self.today)


def line_from_item(item: ActionItem, today: date) -> ItemLine:
    return ItemLine(
        id=item.id, milestone_key=item.milestone.key, milestone_name=item.milestone.name,
        description=item.description, owner_id=item.owner_id, horizon=item.horizon, priority=item.priority,
        due_date=item.due_date, today=today, status=item.status, snoozed_until=item.snoozed_until,
        done_by=item.done_by, done_at=item.done_at, effort_days=item.effort_days, planned_sprint=item.planned_sprint,
    )


def day_label(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def choice_label(choice: type[Horizon] | type[Level], value: str | None) -> str:
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
    snooze = f" · 💤 until {day_label(line.snoozed_until)}" if line.snoozed and line.snoozed_until else ""
    if line.due_date is None:
        return f"No due date{snooze}"
    if line.overdue:
        days = (line.today - line.due_date).days
        return f"⚠️ *Overdue* {days} day{'s' if days != 1 else ''} (due {day_label(line.due_date)})"
    if line.due_date == line.today:
        return f"Due today ({day_label(line.due_date)}){snooze}"
    return f"Due {day_label(line.due_date)}{snooze}"


def item_text(line: ItemLine, *, show_owner: bool = True) -> str:
    description = esc(truncate(line.description.strip(), DESCRIPTION_LIMIT))
    if not line.is_open:
        description = f"~{description}~" if "~" not in description else description
    key = f"<{line.report_url}|{esc(line.milestone_key)}>" if line.report_url else esc(line.milestone_key)
    meta = [f"*{key}*", status_text(line), esc(choice_label(Horizon, line.horizon))]
    if line.priority:
        meta.append(f"{esc(choice_label(Level, line.priority))} priority")
    if line.horizon == Horizon.TECH_DEBT:
        if line.effort_days is not None:
            meta.append(f"{format(line.effort_days.normalize(), 'f')} days")
        if line.planned_sprint:
            meta.append(esc(line.planned_sprint))
    if show_owner:
        meta.append(f"owner <@{line.owner_id}>")
    return truncate(f"{description}\n{' · '.join(meta)}", 3000)


def _op(line: ItemLine, op: Op, where: Where) -> str:
    return ItemOp(item=line.id, op=op, where=where).pack(limit=OPTION_VALUE_LIMIT)


def item_controls(line: ItemLine, where: Where) -> list[Block]:
    """Open: Done and one overflow menu (Snooze, Reassign, Edit, Delete). Done: Reopen."""
    if not line.is_open:
        return [{"type": "button", "action_id": ACTION_REOPEN, "text": plain("↩️ Reopen"),
                 "value": _op(line, "reopen", where)}]
    menu = [option(_op(line, "snooze1" if days == 1 else "snooze7", where), f"💤 Snooze {SNOOZE_LABELS[days]}")
            for days in MENU_SNOOZE_DAYS]
    menu += [option(_op(line, "reassign", where), "👤 Reassign…"), option(_op(line, "edit", where), "✏️ Edit…"),
             option(_op(line, "delete", where), "🗑️ Delete…")]
    return [
        {"type": "button", "action_id": ACTION_DONE, "text": plain("✅ Done"), "style": "primary",
         "value": _op(line, "done", where)},
        {"type": "overflow", "action_id": ACTION_MENU, "options": menu},
    ]


def item_blocks(line: ItemLine, where: Where, *, show_owner: bool = True) -> list[Block]:
    """The item's text and its controls."""
    text = {"type": "section", "block_id": f"ai:{line.id}", "text": {"type": "mrkdwn", "text": item_text(
        line, show_owner=show_owner)}}
    return [text, {"type": "actions", "block_id": f"aa:{line.id}:{where}", "elements": item_controls(line, where)}]


def gone_blocks(line_id: int, text: str) -> list[Block]:
    """What stands where an item was, once it is no longer this person's to act on (reassigned, deleted)."""
    return [{"type": "section", "block_id": f"ai:{line_id}", "text": {"type": "mrkdwn", "text": truncate(
        text, 3000)}}]


def _items_section(lines: Sequence[ItemLine], where: Where, *, show_owner: bool, more_hint: str,
                   recipient: str | None = None) -> list[Block]:
    """The items with their controls; in a message to `recipient`, an item since given to someone else
    says so instead (no controls: it is no longer theirs to act on)."""
    blocks: list[Block] = []
    for line in lines[:MAX_ITEMS_PER_MESSAGE]:
        if recipient and line.owner_id != recipient:
            blocks.extend(reassigned_message(line, None)[1])
        else:
            blocks.extend(item_blocks(line, where, show_owner=show_owner))
    rest = lines[MAX_ITEMS_PER_MESSAGE:]
    if rest:
        names = ", ".join(f"{esc(r.milestone_key)}: {esc(truncate(r.description, 60))}" for r in rest[:15])
        text = truncate(f"…and {len(rest)} more ({names}). {more_hint}", 3000)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def digest_message(lines: Sequence[ItemLine], owner_id: str | None = None, *,
                   sections: Sequence[Sequence[Block]] = ()) -> tuple[str, list[Block]]:
    """The person's one daily digest: every overdue item of theirs, with the buttons, then the overdue report
    sections they were asked to fill in (`sections`: each one's blocks, drawn by bot.assignments.views, with
    Open the form, Can't do it and Snooze). Re-rendered in place after clicks (with the new count; items
    reassigned since are marked so, without controls). Within a message's 50 blocks."""
    overdue = sum(1 for line in lines if line.overdue and owner_id in (None, line.owner_id))
    counts = [_plural(overdue, "overdue action item")] if overdue or not sections else []
    if sections:
        counts.append(_plural(len(sections), "overdue report section"))
    count = " and ".join(counts)
    named = [f"{r.milestone_key} {truncate(r.description, 80)}" for r in lines[:10]]
    text = f"You have {count}" + (": " + "; ".join(named) if named else "")
    hint = ("One reminder a day while something is overdue. *Done* closes an item; its menu snoozes, "
            "reassigns, edits or deletes it.") if lines else "One reminder a day while something is overdue."
    blocks: list[Block] = [
        {"type": "header", "text": plain(f"⏰ You have {count}" if overdue or sections
                                         else "✅ Nothing overdue here now", 150)},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]},
        *_items_section(lines, "m", show_owner=False, more_hint="See them all with `/milestone actions <ID>`.",
                        recipient=owner_id),
    ]
    if sections:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Report sections you were asked to fill in* · *Can't do it* hands one back to its owner with your "
            "reason")}})
        room = MAX_BLOCKS - len(blocks) - 1
        shown = 0
        for group in sections:
            if len(group) > room:
                break
            blocks.extend(group)
            room -= len(group)
            shown += 1
        if shown < len(sections):
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
                f"…and {len(sections) - shown} more: they are listed on the bot's App Home.")}]})
    return truncate(esc(text), 3000), blocks


def escalation_message(
    lines: Sequence[ItemLine], failures: Sequence[Failure], after_days: int
) -> tuple[str, list[Block]]:
    """The milestone owner's daily escalation: long-overdue items, and owners the bot could not reach."""
    verb = "needs" if len(lines) == 1 else "need"
    head = f"⚠️ {_plural(len(lines), 'action item')} on your milestones {verb} attention"
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


def reassigned_message(line: ItemLine, by: str | None) -> tuple[str, list[Block]]:
    """The earlier owner's assignment DM once the item is someone else's: who has it now, and no controls."""
    who = f" by <@{by}>" if by else ""
    note = (f"~{esc(truncate(line.description.strip(), DESCRIPTION_LIMIT))}~\n*{esc(line.milestone_key)}* · "
            f"Reassigned to <@{line.owner_id}>{who}")
    return f"Reassigned to <@{line.owner_id}>{who}: {esc(truncate(line.description, 200))}", gone_blocks(line.id, note)


def add_button(milestone_id: int, label: str = "➕ Add action") -> dict[str, Any]:
    return {"type": "button", "action_id": ACTION_ADD, "text": plain(label),
            "value": AddAction(milestone=milestone_id).pack()}


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
    blocks += _items_section(list(lines), "l", show_owner=True,
                             more_hint="Close or snooze some to see the rest.")
    text = f"{head}: {len(open_lines)} open, {overdue} overdue"
    return text, blocks


def home_blocks(lines: Sequence[ItemLine], limit: int = 10, closed: Sequence[ItemLine] = ()) -> list[Block]:
    """App Home: "My action items", overdue first, each linked to its report; then the ones closed in the
    last day, with Reopen (a Done pressed here can be undone here)."""
    ordered = sorted(lines, key=lambda r: (not r.overdue, r.snoozed, r.due_date or date.max, r.id))
    overdue = sum(1 for r in ordered if r.overdue)
    blocks: list[Block] = [
        {"type": "header", "text": plain("My action items")},
    ]
    if not ordered:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "No open action items. 🎉"}]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"{len(ordered)} open{f', ⚠️ {overdue} overdue' if overdue else ''}")}]})
    for line in ordered[:limit]:
        blocks += item_blocks(line, "h", show_owner=False)
    if len(ordered) > limit:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"…and {len(ordered) - limit} more: `/milestone actions <ID>` lists a milestone's items.")}]})
    if closed:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Closed in the last day:"}]})
        for line in closed:
            blocks += item_blocks(line, "h", show_owner=False)
    return blocks


def replace_item_blocks(blocks: list[Block], line: ItemLine, *, force_owner: bool = False) -> list[Block] | None:
    """The message's blocks with one item re-rendered in place; None when the item is not in them.
    The owner is shown when the message showed it (or `force_owner`, after a reassignment)."""
    out: list[Block] = []
    found = False
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        if block_id == f"ai:{line.id}":
            show_owner = force_owner or "owner <@" in str((block.get("text") or {}).get("text", ""))
            out += item_blocks(line, "m", show_owner=show_owner)
            found = True
        elif block_id.startswith(f"aa:{line.id}:"):
            continue
        else:
            out.append(block)
    return out if found else None
