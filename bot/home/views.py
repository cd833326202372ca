"""Block Kit for App Home: the introduction, the "Needs you" queue, the milestone hubs and recent reports.

Every list is cut to a page; "Show more" re-publishes with a longer page (a signed HomePage payload), and
the whole tab is kept within Slack's 100 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from bot.core.formats import day
from bot.home.service import Hub
from bot.milestones import views as milestone_views
from bot.slack.forms import Block, plain
from bot.slack.payloads import Payload
from bot.slack.text import channel, truncate
from models import Milestone, ReportPost

MAX_BLOCKS = 100
PAGE = 5  # milestones per page
SHOW_MORE = "home_show_more"  # button, value: HomePage
REQUEST_SIGNOFF = milestone_views.REQUEST_SIGNOFF

INTRO = (
    "*Milestone Bot runs your milestone report in Slack.*\n"
    "• Create a milestone, then fill in its report section by section with your team.\n"
    "• Ask the approvers to sign it off: they approve or reject from a DM, and everyone sees the progress.\n"
    "• Post the finished report to a channel, and follow up the action items it leaves."
)


@dataclass(frozen=True)
class HomePage(Payload):
    """How many of the person's milestones the tab shows ("Show more" asks for the next page)."""

    KIND: ClassVar[str] = "home.page"
    milestones: int


def _section(text: str, accessory: dict[str, Any] | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}
    if accessory:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "text": plain(text), "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def top(newcomer: bool) -> list[Block]:
    """The header, the introduction for a first visit, and "New milestone" at the top."""
    blocks: list[Block] = [{"type": "header", "text": plain("Milestone Bot", 150)}]
    if newcomer:
        blocks.append(_section(INTRO))
    blocks.append({"type": "actions", "block_id": "home_top", "elements": [milestone_views.new_button("home")]})
    return blocks


def queue(parts: list[list[Block]]) -> list[Block]:
    """ "Needs you": each feature's waiting items (already with their buttons), or a line saying none."""
    blocks: list[Block] = [{"type": "header", "text": plain("Needs you", 150)}]
    filled = [part for part in parts if part]
    if not filled:
        blocks.append(_context("Nothing waits for you right now. :tada:"))
    for part in filled:
        blocks.extend(part)
    blocks.append({"type": "divider"})
    return blocks


def has_buttons(blocks: list[Block]) -> bool:
    """Whether a part of the queue offers something to do (an actions block or a button beside a line)."""
    return any(b.get("type") == "actions" or "accessory" in b for b in blocks)


def hub_text(hub: Hub) -> str:
    m = hub.milestone
    signoff = f"sign-off {hub.progress}" if hub.progress.required else "no approvers"
    actions = f"{hub.open_actions} open action{'s' if hub.open_actions != 1 else ''}"
    if hub.overdue_actions:
        actions += f", :warning: {hub.overdue_actions} overdue"
    canvas = f" · :memo: <{hub.canvas_url}|Report canvas>" if hub.canvas_url else ""
    return (f"*{milestone_views.title(m, 100)}*\n{hub.progress.state_label} · {signoff} · {actions} · "
            f"owner <@{m.owner_id}>{canvas}")


def hubs(items: list[Hub], total: int, shown: int) -> list[Block]:
    blocks: list[Block] = [{"type": "header", "text": plain("Your milestones", 150)}]
    for hub in items:
        blocks.append(_section(hub_text(hub)))
        blocks.append(milestone_views.hub_buttons(hub.milestone))
    if total > len(items):
        more = HomePage(shown + PAGE).pack()
        blocks.append(_section(f"Showing {len(items)} of {total}.", _button("Show more", SHOW_MORE, more)))
    blocks.append({"type": "divider"})
    return blocks


def recent(posts: list[tuple[ReportPost, Milestone]]) -> list[Block]:
    if not posts:
        return []
    lines = [f"• *{milestone_views.title(m, 80)}* · revision {p.revision} · {channel(p.channel_id)} · "
             f"{day(p.posted_at)} by <@{p.posted_by}>" for p, m in posts]
    return [{"type": "header", "text": plain("Recently posted reports", 150)}, _section("\n".join(lines))]


def fit(blocks: list[Block]) -> list[Block]:
    """Slack refuses a Home tab over 100 blocks: keep the top, and say where the rest is."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], _context("More in `/milestone list`.")]


def signoff_prompt_modal(blocks: list[Block]) -> dict[str, Any]:
    return {"type": "modal", "callback_id": "home_signoff_prompt", "title": plain("Request sign-off", 24),
            "close": plain("Close", 24), "blocks": blocks}
