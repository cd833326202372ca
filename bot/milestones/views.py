"""Block Kit for milestones: the "new" modal, the confirmations, `list`, `show` and the App Home section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from bot.actions import views as action_views
from bot.core.formats import day
from bot.feedback.views import GIVE_ACTION, give_value
from bot.milestones.service import Progress
from bot.sections.service import SECTIONS, Section
from bot.sections.views import EDIT_SECTION, EditSection, section_select
from bot.slack.forms import Block, field_blocks, modal, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT, Payload
from bot.slack.text import channel, esc, truncate
from models import FieldSpec, Milestone, Status, Version
from models.base import FieldValue

NEW_CALLBACK = "milestone_new"
OPEN_SECTIONS = "milestone_sections"  # button, value: MilestoneRef → the section picker
SHOW = "milestone_show"  # button, value: MilestoneRef → the summary, only to the clicker
NEW = "milestone_new_button"  # button, value: NewMilestone → opens the "new" modal
NEW_SHORTCUT = "milestone_new_shortcut"  # global shortcut (manifest.yml)
ACTION_SHORTCUT = "action_from_message"  # message shortcut "Add as action item" (manifest.yml)
CHOOSE_CALLBACK = "action_from_message_choose"  # which milestone the new action item belongs to
SHOW_CALLBACK = "milestone_show_modal"
REQUEST_SIGNOFF = "home_request_signoff"  # button, value: MilestoneRef → the completeness check (bot.home)
PREVIEW_REPORT = "report_preview"  # button, value: MilestoneRef (handled by bot.reports)
POST_REPORT = "report_post"  # button, value: MilestoneRef, after a confirmation (handled by bot.reports)

Origin = Literal["command", "home", "shortcut", "help"]


@dataclass(frozen=True)
class MilestoneRef(Payload):
    """A button about one milestone (checked again against the database and the clicker)."""

    KIND: ClassVar[str] = "milestone.ref"
    milestone: int


@dataclass(frozen=True)
class NewMilestone(Payload):
    """The "new milestone" modal's metadata (and the button that opens it): where it was opened from."""

    KIND: ClassVar[str] = "milestone.new"
    origin: Origin


@dataclass(frozen=True)
class FromMessage(Payload):
    """The milestone chooser of "Add as action item": the message it was started from."""

    KIND: ClassVar[str] = "milestone.from_message"
    channel: str
    ts: str


def ref(milestone_id: int) -> str:
    return MilestoneRef(milestone_id).pack()

LIST_LIMIT = 40  # one block each, under the 50 blocks a message may hold


def _label(choices: type[Status] | type[Version], value: str | None) -> str:
    return dict(choices.choices()).get(value or "", value or "—")


def title(milestone: Milestone, limit: int = 150) -> str:
    """`M-042 · Name`, escaped (a name like `<!channel>` shows, never pings)."""
    return f"{esc(milestone.key)} · {esc(truncate(milestone.name, limit))}"


def dates(milestone: Milestone) -> str:
    start = day(milestone.planned_start, empty="?")
    end = day(milestone.planned_end, empty="?")
    return "no dates yet" if start == end == "?" else f"{start} → {end}"


def line(milestone: Milestone, progress: Progress | None) -> str:
    """One milestone in a list: title, status, version, sign-off progress, owner."""
    signoff = f"sign-off {progress}" if progress and progress.required else "no approvers"
    return (
        f"*{title(milestone, 100)}*\n{_label(Status, milestone.status)} · {_label(Version, milestone.version)} · "
        f"{signoff} · owner <@{milestone.owner_id}>"
    )


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": plain(text), "value": value}
    if style:
        button["style"] = style
    return button


def new_button(origin: Origin, style: str | None = "primary") -> dict[str, Any]:
    return _button("New milestone", NEW, NewMilestone(origin).pack(), style)


def new_modal(specs: list[FieldSpec], initial: dict[str, FieldValue], origin: Origin) -> dict[str, Any]:
    intro = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "You will own this milestone. Choose at least one approver; "
                      "you can fill in the report's sections next."}],
    }
    fields = field_blocks(specs, initial)
    first_approver = next(i for i, b in enumerate(fields) if b["block_id"].startswith("approver_"))
    # Slack marks every optional input "(optional)"; the rule for the group is said once, above it.
    fields.insert(first_approver, {"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "*Approvers: at least one*, for any of the roles below. Each role you fill in must sign off.")}]})
    return modal(NEW_CALLBACK, "New milestone", [intro, *fields], submit="Create",
                 private_metadata=NewMilestone(origin).pack(limit=PRIVATE_METADATA_LIMIT))


def approvers_text(milestone: Milestone) -> str:
    slots = [f"{esc(s.role)}: <@{s.approver_id}>" for s in milestone.approval_slots]
    return " · ".join(slots) or "none"


def created_dm(milestone: Milestone, channel_problem: str | None) -> tuple[str, list[Block]]:
    """The creator's confirmation, with buttons to start filling the report."""
    editors = ", ".join(f"<@{e.user_id}>" for e in milestone.editors) or "only you"
    text = f"Milestone {title(milestone)} is created. You own it."
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            f":white_check_mark: *{title(milestone)}* is created. You own it.\n"
            f"*Approvers:* {approvers_text(milestone)}\n*Editors:* {editors}\n"
            f"Fill in the report now, or later with `/milestone edit {esc(milestone.key)}`."
        )}},
    ]
    if channel_problem:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {channel_problem}"}})
    blocks.append({"type": "actions", "block_id": "created", "elements": [
        _button("Fill in sections", OPEN_SECTIONS, ref(milestone.id), "primary"),
        _button("Executive summary", EDIT_SECTION, EditSection(milestone.id, SECTIONS[1].key, None).pack()),
        _button("Show summary", SHOW, ref(milestone.id)),
    ]})
    return text, blocks


def created_message(milestone: Milestone) -> tuple[str, list[Block]]:
    """The short note in the milestone's channel."""
    text = f"Milestone {title(milestone)} was created by <@{milestone.created_by}>."
    details = f"{_label(Version, milestone.version)} · {_label(Status, milestone.status)} · {dates(milestone)}"
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":pushpin: {text}\n{details}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Owner and editors fill in the report with `/milestone edit {esc(milestone.key)}`; "
            f"anyone can look with `/milestone show {esc(milestone.key)}`."
        )}]},
        {"type": "actions", "block_id": "created", "elements": [
            _button("Fill in sections", OPEN_SECTIONS, ref(milestone.id)),
            _button("Show summary", SHOW, ref(milestone.id)),
        ]},
    ]
    return text, blocks


def list_blocks(items: list[Milestone], progress: dict[int, Progress], total: int) -> tuple[str, list[Block]]:
    if not items:
        text = "No milestones in this workspace yet. Create one with `/milestone new`."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    blocks: list[Block] = [{"type": "header", "text": plain(f"Milestones ({total})", 150)}]
    for milestone in items:
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": line(milestone, progress.get(milestone.id))},
            "accessory": _button("Show", SHOW, ref(milestone.id)),
        })
    if total > len(items):
        more = f"… and {total - len(items)} older. `/milestone show M-001` shows any one of them."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return f"{total} milestone(s), newest first.", blocks


def show_blocks(
    milestone: Milestone, progress: Progress, statuses: list[tuple[Section, str]], *, can_edit: bool
) -> tuple[str, list[Block]]:
    """The compact summary (only to the caller), with the edit buttons for those who may edit."""
    editors = ", ".join(f"<@{e.user_id}>" for e in milestone.editors) or "—"
    actual = "—"
    if milestone.actual_start or milestone.actual_end:
        start = day(milestone.actual_start, empty="?")
        end = day(milestone.actual_end, empty="?")
        actual = f"{start} → {end}"
    fields = [
        ("Status", _label(Status, milestone.status)),
        ("Version", _label(Version, milestone.version)),
        ("Owner", f"<@{milestone.owner_id}>"),
        ("Editors", editors),
        ("Planned", dates(milestone)),
        ("Actual", actual),
        ("Report channel", f"<#{milestone.report_channel_id}>" if milestone.report_channel_id else "—"),
        ("Sign-off", f"{progress} approved" if progress.required else "no approvers"),
    ]
    empty = [s.title for s, status in statuses if status == "empty"]
    filled = len(statuses) - len(empty)
    sections_text = f"*Sections:* {filled} of {len(statuses)} filled in, revision {milestone.revision}."
    if empty:
        sections_text += " Still empty: " + ", ".join(esc(t) for t in empty) + "."
    blocks: list[Block] = [
        {"type": "header", "text": plain(title(milestone), 150)},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": truncate(f"*{name}*\n{value}", 2000)} for name, value in fields
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(
            f"*Approvers:* {approvers_text(milestone)}", 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(sections_text, 3000)}]},
    ]
    if can_edit:
        blocks.append(hub_buttons(milestone))
        blocks.append({"type": "actions", "block_id": "edit", "elements": [section_select(milestone, SECTIONS)]})
    else:
        blocks.append({"type": "actions", "block_id": "look", "elements": [
            _button("View report", PREVIEW_REPORT, ref(milestone.id), "primary"),
            _button("Give feedback", GIVE_ACTION, give_value(milestone.id)),
        ]})
    return f"{title(milestone)}: {_label(Status, milestone.status)}", blocks


def hub_buttons(milestone: Milestone) -> Block:
    """What owners and editors do with a milestone, the same on App Home and in `show`."""
    value = ref(milestone.id)
    where = channel(milestone.report_channel_id) if milestone.report_channel_id else "its channel"
    post_confirm = {
        "title": plain("Post the report?", 100),
        "text": {"type": "mrkdwn", "text": truncate(f"The {esc(milestone.key)} report goes to {where}.", 300)},
        "confirm": plain("Post", 30),
        "deny": plain("Not now", 30),
    }
    post = _button("Post report", POST_REPORT, value)
    post["confirm"] = post_confirm
    return {"type": "actions", "block_id": f"hub_{milestone.id}", "elements": [
        _button("Edit sections", OPEN_SECTIONS, value, "primary"),
        _button("Request sign-off", REQUEST_SIGNOFF, value),
        _button("Preview report", PREVIEW_REPORT, value),
        post,
        action_views.add_button(milestone.id, "Add action"),
    ]}


def choose_modal(items: list[Milestone], source: FromMessage) -> dict[str, Any]:
    """"Add as action item" when several milestones could take it: pick one, then the item's form."""
    options = [{"text": plain(truncate(f"{m.key} · {m.name}", 75)), "value": ref(m.id)} for m in items[:100]]
    block = {"type": "input", "block_id": "milestone", "label": plain("Milestone"),
             "element": {"type": "static_select", "action_id": "value", "options": options,
                         "initial_option": options[0]}}
    return modal(CHOOSE_CALLBACK, "Add as action item", [block], submit="Next",
                 private_metadata=source.pack(limit=PRIVATE_METADATA_LIMIT))


def show_modal(text: str, blocks: list[Block]) -> dict[str, Any]:
    """`show` where no ephemeral message can go (App Home, a modal): the same blocks in a modal."""
    return modal(SHOW_CALLBACK, "Milestone", blocks, submit=None, close="Close")
