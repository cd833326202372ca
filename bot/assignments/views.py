"""Block Kit for assignments: the assignee's DM, the owner's DMs, reminders, the two modals, the lines other
surfaces show (picker, show, Home, the sign-off gate), and the payloads of every button here.

Buttons other features may place (each value is a packed payload; the handlers live in listeners.py):
- ASK_SOMEONE, value `AskSomeone(milestone=<id>, section=<key>).pack()`: opens the "Ask someone…" modal
  (person, optional due date, note). `ask_button(milestone_id, section_key)` builds it, e.g. as the
  accessory or in an actions block beside each section of the section picker.
- REMIND_OWING, value `RemindOwing(milestone=<id>).pack()`: DMs everyone who owes a section of that
  milestone (one DM each, at most once a day). `remind_button(milestone_id)` builds it; `gate_blocks` is the
  sign-off completeness gate's part (the open requests and this button).
- WITHDRAW, value `Withdraw(assignment=<id>).pack()`: the owner or an editor takes an open request back
  (the picker's and `show`'s lines carry it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from bot.assignments.service import ASK_FIELDS, REASON, SNOOZE_DAYS, is_overdue, state_word
from bot.sections.service import get_section
from bot.slack.forms import Block, field_blocks, modal, option, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT, Payload
from bot.slack.text import esc, truncate, user
from models import Assignment, AssignmentState, Milestone

OPEN_FORM = "assignment_open"
CANT_DO = "assignment_cant"
SNOOZE = "assignment_snooze"
ASK_SOMEONE = "assignment_ask"
REMIND_OWING = "assignment_remind"
WITHDRAW = "assignment_withdraw"
ASK_CALLBACK = "assignment_ask_form"
HANDBACK_CALLBACK = "assignment_handback_form"
SNOOZE_LABELS = {1: "1 day", 3: "3 days", 7: "1 week"}
MAX_LINES = 20  # requests listed one per block (with their Withdraw button)
OPTION_VALUE_LIMIT = 150  # Slack's limit for an option's value


@dataclass(frozen=True)
class OpenForm(Payload):
    KIND = "assignment.open"
    assignment: int


@dataclass(frozen=True)
class CantDoIt(Payload):
    """The "Can't do it" button, and the private_metadata of the modal it opens."""

    KIND = "assignment.cant"
    assignment: int


@dataclass(frozen=True)
class SnoozeFor(Payload):
    KIND = "as.snooze"
    assignment: int
    days: Literal[1, 3, 7]


@dataclass(frozen=True)
class AskSomeone(Payload):
    """The "Ask someone…" button beside a section, and the private_metadata of the modal it opens (with the
    section picker's view id when it was opened from there, to refresh the picker after asking)."""

    KIND = "assignment.ask"
    milestone: int
    section: str
    picker: str | None = None


@dataclass(frozen=True)
class Withdraw(Payload):
    KIND = "assignment.withdraw"
    assignment: int


@dataclass(frozen=True)
class RemindOwing(Payload):
    KIND = "assignment.remind"
    milestone: int


def day(value: date) -> str:
    """One date format in Slack text: `Mon 30 Nov 2026`."""
    return f"{value:%a} {value.day} {value:%b %Y}"


def title_of(section_key: str) -> str:
    return get_section(section_key).title


def milestone_name(milestone: Milestone) -> str:
    return f"*{esc(milestone.key)}* · {esc(truncate(milestone.name, 150))}"


def _section(text: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}
    if accessory:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": plain(text), "value": value}
    if style:
        button["style"] = style
    return button


def ask_button(milestone_id: int, section_key: str, text: str = "Ask someone…") -> dict[str, Any]:
    return _button(ASK_SOMEONE, text, AskSomeone(milestone_id, section_key).pack())


def withdraw_button(assignment: Assignment) -> dict[str, Any]:
    button = _button(WITHDRAW, "Withdraw", Withdraw(assignment.id).pack())
    button["confirm"] = {
        "title": plain("Withdraw the request?", 100),
        "text": {"type": "mrkdwn", "text": truncate(
            f"{user(assignment.assignee_id)} will no longer be asked for *{esc(title_of(assignment.section))}*; "
            "their DM says so.", 300)},
        "confirm": plain("Withdraw", 30), "deny": plain("Keep it", 30)}
    return button


def remind_button(milestone_id: int) -> dict[str, Any]:
    return _button(REMIND_OWING, "Remind everyone who owes a section", RemindOwing(milestone_id).pack())


def snooze_menu(assignment_id: int) -> dict[str, Any]:
    options = [option(SnoozeFor(assignment_id, cast(Literal[1, 3, 7], days)).pack(limit=OPTION_VALUE_LIMIT),
                      f"Snooze {SNOOZE_LABELS[days]}") for days in SNOOZE_DAYS]
    return {"type": "overflow", "action_id": SNOOZE, "options": options}


def due_text(assignment: Assignment, today: date) -> str:
    if assignment.due_date is None:
        return "no due date"
    text = f"due {day(assignment.due_date)}"
    if is_overdue(assignment, today):
        text += " · ⚠️ overdue"
    elif assignment.snoozed_until and assignment.snoozed_until > today and assignment.state == "asked":
        text += f" · 💤 until {day(assignment.snoozed_until)}"
    return text


def line(assignment: Assignment, milestone: Milestone, today: date, *, who: bool = True) -> str:
    """One assignment in a list (digest, show, Home, the gate): section, milestone, person, due, state."""
    parts = [f"*{esc(title_of(assignment.section))}* of {esc(milestone.key)}"]
    if who:
        parts.append(f"asked of {user(assignment.assignee_id)}")
    word = state_word(assignment, today)
    if word == "done":
        parts.append(f"✅ done · revision {assignment.completed_revision}")
    else:
        parts.append(due_text(assignment, today))
    return " · ".join(parts)


def picker_status(assignment: Assignment, today: date) -> str:
    """What the section picker shows under a section: `asked of @ann · due Mon 7 Dec 2026` or
    `filled by @ann · revision 5`."""
    if assignment.state == AssignmentState.DONE:
        return f"filled by {user(assignment.assignee_id)} · revision {assignment.completed_revision}"
    return f"asked of {user(assignment.assignee_id)} · {due_text(assignment, today)}"


def picker_line(milestone_id: int, section_key: str, assignment: Assignment | None,
                today: date | None) -> tuple[str, list[dict[str, Any]]]:
    """A section's line in the section picker: who it is asked of (empty when nobody), and its controls
    ("Ask someone…", or "Ask someone else…" and Withdraw while a request is open)."""
    if assignment is None or today is None:
        return "", [ask_button(milestone_id, section_key)]
    text = f"👤 {picker_status(assignment, today)}"
    if assignment.state != AssignmentState.ASKED:
        return text, [ask_button(milestone_id, section_key)]
    return text, [ask_button(milestone_id, section_key, "Ask someone else…"), withdraw_button(assignment)]


# ---- the assignee's DM, edited in place ----------------------------------------------------------------


def assignment_dm(assignment: Assignment, milestone: Milestone, today: date,
                  replaced_by: str | None = None) -> tuple[str, list[Block]]:
    title = esc(title_of(assignment.section))
    where = milestone_name(milestone)
    state = assignment.state
    if state == AssignmentState.WITHDRAWN:
        text = f"~{title} of {esc(milestone.key)}~ · Withdrawn by {user(assignment.ended_by)}: nothing more to do."
        return f"{title_of(assignment.section)} of {milestone.key}: withdrawn", [_section(text)]
    if state == AssignmentState.REPLACED:
        who = f" to {user(replaced_by)}" if replaced_by else ""
        text = f"~{title} of {esc(milestone.key)}~ · Reassigned{who} by {user(assignment.ended_by)}."
        return f"{title_of(assignment.section)} of {milestone.key}: reassigned", [_section(text)]
    if state == AssignmentState.HANDED_BACK:
        text = (f"You handed *{title}* of {where} back to {user(milestone.owner_id)}:\n"
                f">{esc(truncate(assignment.reason or '', 1500))}")
        return f"{title_of(assignment.section)} of {milestone.key}: handed back", [_section(text)]
    ask = f"{user(assignment.assigned_by)} asks you to fill in *{title}* of {where}."
    blocks: list[Block] = []
    if state == AssignmentState.DONE:
        blocks.append(_section(f"✅ *Done · revision {assignment.completed_revision}* · {ask}"))
        blocks.append({"type": "actions", "elements": [
            _button(OPEN_FORM, "Open the form", OpenForm(assignment.id).pack())]})
        return f"Done · revision {assignment.completed_revision}: {title_of(assignment.section)}", blocks
    due = due_text(assignment, today)
    blocks.append(_section(f"{ask}\n{due[:1].upper()}{due[1:]}."))
    if assignment.note:
        blocks.append(_section(f">{esc(truncate(assignment.note, 1500))}"))
    blocks.append(_context("You may fill in this section even if you are not an editor of the milestone."))
    blocks.append({"type": "actions", "elements": [
        _button(OPEN_FORM, "Open the form", OpenForm(assignment.id).pack(), "primary"),
        _button(CANT_DO, "Can't do it", CantDoIt(assignment.id).pack()),
    ]})
    return f"{user(assignment.assigned_by)} asks you to fill in {title} of {esc(milestone.key)}", blocks


def owner_done_dm(rows: list[tuple[Assignment, Milestone]]) -> tuple[str, list[Block]]:
    lines = [f"✅ {user(a.assignee_id)} filled in *{esc(title_of(a.section))}* of {milestone_name(m)} "
             f"(revision {a.completed_revision})" for a, m in rows]
    count = len(rows)
    text = f"{count} section{'s' if count != 1 else ''} you asked for {'were' if count != 1 else 'was'} filled in"
    return text, [_section("\n".join(lines[:40]))]


def handed_back_dm(assignment: Assignment, milestone: Milestone) -> tuple[str, list[Block]]:
    title = esc(title_of(assignment.section))
    text = (f"{user(assignment.assignee_id)} can't fill in *{title}* of {milestone_name(milestone)}:\n"
            f">{esc(truncate(assignment.reason or '', 1500))}")
    blocks = [_section(text), {"type": "actions", "elements": [ask_button(milestone.id, assignment.section)]}]
    return f"{title_of(assignment.section)} of {milestone.key} was handed back to you", blocks


def owed_group(assignment: Assignment, milestone: Milestone, today: date) -> list[Block]:
    """One assignment with its buttons (Open the form, Can't do it, Snooze): two blocks."""
    return [_section(f"{line(assignment, milestone, today, who=False)}\nAsked by {user(assignment.assigned_by)}"),
            {"type": "actions", "elements": [
                _button(OPEN_FORM, "Open the form", OpenForm(assignment.id).pack(), "primary"),
                _button(CANT_DO, "Can't do it", CantDoIt(assignment.id).pack()),
                snooze_menu(assignment.id)]}]


def digest_groups(rows: list[tuple[Assignment, Milestone]], today: date) -> list[list[Block]]:
    """The overdue sections of a person's daily digest (bot.actions' digest places them after the items)."""
    return [owed_group(assignment, milestone, today) for assignment, milestone in rows]


def owed_blocks(rows: list[tuple[Assignment, Milestone]], today: date) -> list[Block]:
    """Each assignment with its buttons (Open the form, Can't do it, Snooze): for a DM or Home."""
    blocks: list[Block] = []
    for assignment, milestone in rows[:20]:  # two blocks each: well inside a message's 50
        blocks += owed_group(assignment, milestone, today)
    if len(rows) > 20:
        blocks.append(_context(f"…and {len(rows) - 20} more."))
    return blocks


def nudge_dm(rows: list[tuple[Assignment, Milestone]], actor_id: str, today: date) -> tuple[str, list[Block]]:
    """"Remind everyone who owes a section": what this person still owes of the milestone."""
    milestone = rows[0][1]
    head = f"{user(actor_id)} reminds you of what you were asked to fill in for {milestone_name(milestone)}"
    return (f"A reminder about {milestone.key}: sections you were asked to fill in",
            [_section(head), *owed_blocks(rows, today)])


def owing_blocks(milestone: Milestone, assignments: list[Assignment], today: date, *,
                 remind: bool = True, withdraw: bool = False) -> list[Block]:
    """Who owes which section of a milestone: for `show` and Home (two blocks; with `withdraw`, for those who
    may edit, one line per request with its Withdraw button, at most MAX_LINES of them)."""
    if not assignments:
        return []
    head = f"*Sections asked of someone in {esc(milestone.key)} ({len(assignments)})*"
    if withdraw:
        blocks = [_section(head)]
        for a in assignments[:MAX_LINES]:
            blocks.append(_section(f"• {line(a, milestone, today)}",
                                   withdraw_button(a) if a.state == AssignmentState.ASKED else None))
        if len(assignments) > MAX_LINES:
            blocks.append(_context(f"…and {len(assignments) - MAX_LINES} more in `/milestone edit "
                                   f"{esc(milestone.key)}`."))
    else:
        lines = "\n".join(f"• {line(a, milestone, today)}" for a in assignments[:25])
        blocks = [_section(f"{head}\n{lines}")]
    if remind and any(a.state == AssignmentState.ASKED for a in assignments):
        blocks.append({"type": "actions", "elements": [remind_button(milestone.id)]})
    return blocks


def gate_blocks(milestone: Milestone, assignments: list[Assignment], today: date) -> list[Block]:
    """The sign-off completeness gate's part: the sections still asked of someone (open requests only), and
    "Remind everyone who owes a section" (one DM each, at most once a day). Empty when nothing is owed."""
    owed = [a for a in assignments if a.state == AssignmentState.ASKED]
    if not owed:
        return []
    lines = "\n".join(f"• {line(a, milestone, today)}" for a in owed[:25])
    more = f"\n…and {len(owed) - 25} more." if len(owed) > 25 else ""
    head = f"*Still asked of someone ({len(owed)})*: they have not filled these sections in yet."
    return [_section(f"{head}\n{lines}{more}"),
            {"type": "actions", "block_id": "assignments_remind", "elements": [remind_button(milestone.id)]}]


def home_blocks(owed: list[tuple[Assignment, Milestone]], today: date) -> list[Block]:
    """App Home: the sections asked of this person, each with its buttons."""
    if not owed:
        return []
    return [{"type": "header", "text": plain("Sections asked of you", 150)}, *owed_blocks(owed[:5], today)]


# ---- modals --------------------------------------------------------------------------------------------


def ask_modal(milestone: Milestone, section_key: str, picker: str | None = None) -> dict[str, Any]:
    title = esc(title_of(section_key))
    blocks = [_section(f"Ask someone to fill in *{title}* of {milestone_name(milestone)}. They get a DM with a "
                       "button that opens this section's form, and may fill in this section only."),
              *field_blocks(ASK_FIELDS)]
    meta = AskSomeone(milestone.id, section_key, picker).pack(limit=PRIVATE_METADATA_LIMIT)
    return modal(ASK_CALLBACK, "Ask someone", blocks, submit="Ask", private_metadata=meta)


def handback_modal(assignment: Assignment, milestone: Milestone) -> dict[str, Any]:
    title = esc(title_of(assignment.section))
    blocks = [_section(f"*{title}* of {milestone_name(milestone)} goes back to {user(milestone.owner_id)}, "
                       "with your reason."), *field_blocks([REASON])]
    meta = CantDoIt(assignment.id).pack(limit=PRIVATE_METADATA_LIMIT)
    return modal(HANDBACK_CALLBACK, "Can't do it", blocks, submit="Hand it back", private_metadata=meta)
