"""Block Kit for the people who run a milestone's sign-off: the owner's DMs (a rejection, an approval with
conditions, acceptance), the completeness gate before asking, and what saving a change of substance after
sign-off will do. Every piece of user text goes through `esc`; button values are signed payloads."""

from __future__ import annotations

from bot.milestones.views import OPEN_SECTIONS, MilestoneRef
from bot.reports.views import final_report_note
from bot.sections.service import get_section
from bot.sections.views import EDIT_SECTION, section_value
from bot.signoffs.content import EmptyHeading, SectionAsk
from bot.signoffs.edits import EditGuard
from bot.signoffs.views import (
    CONFIRM_REQUEST,
    REQUEST_AGAIN,
    RequestButton,
    accepted_notice,
    context_block,
    day_of,
    report_button,
    text_block,
    title_of,
)
from bot.slack.forms import Block, plain
from bot.slack.text import esc, truncate, user
from models import ActionItem, Decision, Milestone, SignOff

MAX_BLOCKS = 50  # an ephemeral message

# ---- the owner's DMs ------------------------------------------------------------------------------------------


def owner_decision_dm(milestone: Milestone, signoff: SignOff, conditions: list[ActionItem],
                      link: str | None) -> tuple[str, list[Block]]:
    """What the owner hears for a rejection or an approval with conditions."""
    label = Decision(signoff.decision).label
    head = (f"{esc(label)}: {user(signoff.approver_id)} decided on *{title_of(milestone)}* as "
            f"*{esc(signoff.role)}* (revision {signoff.revision}).")
    lines = [head]
    if signoff.reason:
        lines.append(f"*Reason:* {esc(truncate(signoff.reason, 2000))}")
    if conditions:
        lines.append("*Conditions* (action items owned by you):\n" + "\n".join(
            f"• {esc(truncate(i.description, 300))} — {user(i.owner_id)}, due {day_of(i.due_date)}"
            for i in conditions[:20]))
    if signoff.comments:
        lines.append(f"*Comments:* {esc(truncate(signoff.comments, 1000))}")
    blocks: list[Block] = [text_block("\n".join(lines))]
    again: list[Block] = []
    if signoff.decision == Decision.REJECTED:
        blocks.append(context_block(f"Edit the sections with `/milestone edit {esc(milestone.key)}`; the approvers "
                                    "are asked again once your edits settle, or at once with *Request again*."))
        again = [{"type": "button", "action_id": OPEN_SECTIONS, "text": plain("Edit sections"),
                  "value": MilestoneRef(milestone.id).pack()},
                 {"type": "button", "action_id": REQUEST_AGAIN, "text": plain("Request again"),
                  "value": RequestButton(milestone.id).pack()}]
    button = report_button(link, "owner_report", *again)
    if button:
        blocks.append(button)
    return f"{esc(milestone.key)}: {label} by the {esc(signoff.role)}", blocks


def owner_accepted_dm(milestone: Milestone, link: str | None) -> tuple[str, list[Block]]:
    blocks: list[Block] = [text_block(accepted_notice(milestone))]
    line = final_report_note(milestone)  # where the final report goes, or that it is turned off
    if line:
        blocks.append(context_block(line))
    button = report_button(link, "owner_report")
    if button:
        blocks.append(button)
    return f"{esc(milestone.key)} is accepted", blocks


# ---- the completeness gate ----------------------------------------------------------------------------------


def _fill_in(milestone: Milestone, key: str, title: str, ask: SectionAsk | None) -> Block:
    """One empty section and a button that opens its form (the sections feature's own button and value)."""
    text = f"• {esc(title)}"
    if ask is not None:  # an open assignment (bot.signoffs.content.open_asks)
        text += f" · asked {user(ask.assignee_id)}" + (f", due {day_of(ask.due)}" if ask.due else "")
    return {"type": "section", "block_id": f"gate_{key}", "text": {"type": "mrkdwn", "text": text},
            "accessory": {"type": "button", "action_id": EDIT_SECTION, "text": plain("Fill in"),
                          "value": section_value(milestone.id, get_section(key))}}


def _request_button(label: str, milestone: Milestone, **style: str) -> Block:
    return {"type": "button", "action_id": CONFIRM_REQUEST, "value": RequestButton(milestone.id).pack(),
            "text": plain(label), **style}


def completeness_prompt(milestone: Milestone, groups: list[EmptyHeading],
                        asks: dict[str, SectionAsk] | None = None) -> tuple[str, list[Block]]:
    """The gate before asking: the empty sections under the template's headings, each with a button that opens
    its form (and who was asked to fill it), then *Fill them first* (the section picker) or *Request anyway*.
    Sections approvers fill in during sign-off are not listed (bot.signoffs.content.empty_sections)."""
    asks = asks or {}
    count = sum(len(items) for _heading, items in groups)
    noun = "section" if count == 1 else "sections"
    text = f"{esc(milestone.key)} has {count} empty {noun}. Fill them first, or request sign-off anyway?"
    body: list[Block] = []
    for heading, items in groups:
        body.append(text_block(f"*{esc(heading)}*"))
        body += [_fill_in(milestone, key, title, asks.get(key)) for key, title in items]
    room = MAX_BLOCKS - 3
    if len(body) > room:  # never with the template's 27 sections; kept safe for a longer template
        body = [*body[: room - 1], context_block("…and more: *Fill them first* lists every section.")]
    blocks = [text_block(f":warning: *{title_of(milestone)}* has {count} empty {noun}, under the report's "
                         "headings. Fill them in first, or ask for sign-off as the report stands?"),
              *body,
              context_block("Comments & conditions and the document footer are filled in during sign-off; "
                            "they are not counted."),
              {"type": "actions", "block_id": "signoff_confirm", "elements": [
                  {"type": "button", "action_id": OPEN_SECTIONS, "style": "primary",
                   "value": MilestoneRef(milestone.id).pack(), "text": plain("Fill them first")},
                  _request_button("Request anyway", milestone)]}]
    return text, blocks


def ready_prompt(milestone: Milestone) -> list[Block]:
    """Nothing is empty: a plain question and the one button (App Home's *Request sign-off*)."""
    question = (f"*{title_of(milestone)}*: every section is filled in. Ask the approvers to sign revision "
                f"{milestone.revision}?")
    return [text_block(question), {"type": "actions", "block_id": "signoff_confirm", "elements": [
        _request_button("Request sign-off", milestone, style="primary")]}]


# ---- an edit after sign-off ---------------------------------------------------------------------------------


def _names(people: list[str]) -> str:
    shown = [user(p) for p in people]
    return ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1] if shown else "nobody"


def edit_notice(milestone: Milestone, guard: EditGuard, *, settle_minutes: int, owner: bool) -> str:
    """What saving a change of substance will do, for the editor to confirm inside the modal."""
    count = len(guard.affected)
    text = (f":warning: *Saving this changes what was signed.* {count} sign-off"
            f"{'s become' if count != 1 else ' becomes'} outdated; {_names(guard.people)} will be asked again "
            f"once your edits settle ({settle_minutes} minutes without another change).")
    if guard.progress.accepted:
        text += (f"\n*{esc(milestone.key)} is accepted:* the acceptance is withdrawn and the report is reopened "
                 "(in review again) until they sign again.")
    if owner:
        text += ("\nA typo fix, no change of substance? Tick *Editorial change* below: every sign-off stays "
                 "valid, and the audit trail and the report's sign-off table show the edit.")
    return text
