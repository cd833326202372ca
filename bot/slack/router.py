"""The `/milestone` router. Each feature registers its own subcommands; help is built from them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.core.fields import unsafe_character_problem
from bot.slack.text import esc


@dataclass
class CommandContext:
    """A parsed `/milestone …` invocation. `reply` answers only the caller."""

    name: str
    args: list[str]
    user_id: str
    team_id: str
    channel_id: str
    trigger_id: str
    ack: Ack
    respond: Respond
    client: WebClient
    body: dict[str, Any]
    acked: bool = False

    def ack_now(self) -> None:
        """Ack at once, before anything slow (opening a modal must happen while trigger_id lives)."""
        if not self.acked:
            self.ack()
            self.acked = True

    def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """An ephemeral answer: inside the ack when still possible (one round trip), else via response_url."""
        if not self.acked:
            self.ack(text=text, blocks=blocks, response_type="ephemeral")
            self.acked = True
        else:
            self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


Handler = Callable[[CommandContext], None]


@dataclass
class Subcommand:
    name: str
    handler: Handler
    summary: str
    usages: list[tuple[str, str]] = field(default_factory=list)  # (usage, example)
    order: int = 100


OPEN_HOME = "open_home"  # a link button (slack://app…tab=home); the click only needs an ack
_MENTION = re.compile(r"<([@#][A-Z0-9]+)(?:\|[^>]*)?>")


def split_args(text: str) -> list[str]:
    """Split on white space; Slack's escaped mentions `<@U1|ann>` and `<#C1|general>` stay one token each."""
    return (text or "").split()


def mention_id(token: str) -> str | None:
    """`<@U123|ann>` → `U123`, `<#C123|x>` → `C123`; anything else → None."""
    match = _MENTION.fullmatch(token)
    return match.group(1)[1:] if match else None


EXAMPLE_KEY = "M-042"  # the key the registered examples use; help shows a real one of the workspace
HelpButton = Callable[[], dict[str, Any]]


class CommandRouter:
    def __init__(self) -> None:
        self.subcommands: dict[str, Subcommand] = {}
        # Buttons under the help (features add theirs: "New milestone"); and how to find a real milestone ID.
        self.help_buttons: list[HelpButton] = []
        self.example_key: Callable[[str], str | None] = lambda _team_id: None

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        summary: str,
        usages: list[tuple[str, str]] | None = None,
        order: int = 100,
    ) -> None:
        """`usages`: (usage with placeholders, example) per variant; the first is the subcommand's line."""
        if name in self.subcommands:
            raise ValueError(f"/milestone {name} is registered twice")
        self.subcommands[name] = Subcommand(name, handler, summary, usages or [(name, name)], order)

    def help_entries(self, key: str | None) -> list[str]:
        """One entry per subcommand: its line (the description once, an example with a real ID), then its
        variants under it."""
        entries = []
        for sub in sorted(self.subcommands.values(), key=lambda s: (s.order, s.name)):
            (usage, example), *variants = sub.usages
            if key:
                example = example.replace(EXAMPLE_KEY, key)
            line = f"• `/milestone {esc(usage)}` — {esc(sub.summary)}"
            if example != usage:
                line += f"  _e.g._ `/milestone {esc(example)}`"
            entries.append("\n".join([line, *(f"      `/milestone {esc(variant)}`" for variant, _ in variants)]))
        return entries

    def help_blocks(self, team_id: str = "", app_id: str = "") -> tuple[str, list[dict[str, Any]]]:
        entries = self.help_entries(self.example_key(team_id) if team_id else None)
        text = "*Milestone Bot* — commands:\n" + "\n".join(entries)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": "Milestone Bot commands"}},
        ]
        chunk: list[str] = []
        for entry in entries:  # sections under Slack's 3,000 characters, never splitting a subcommand
            if chunk and len("\n".join([*chunk, entry])) > 2800:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
                chunk = []
            chunk.append(entry)
        if chunk:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
        buttons = [make() for make in self.help_buttons]
        if team_id and app_id:
            buttons.append({"type": "button", "action_id": OPEN_HOME,
                            "text": {"type": "plain_text", "text": "Open Home"},
                            "url": f"slack://app?team={team_id}&id={app_id}&tab=home"})
        if buttons:
            blocks.append({"type": "actions", "block_id": "help_buttons", "elements": buttons})
        return text, blocks

    def unknown(self, name: str) -> str:
        """An unknown subcommand: the closest names, and where the full list is (not the list again)."""
        close = difflib.get_close_matches(name, list(self.subcommands), n=2, cutoff=0.5)
        hint = " or ".join(f"`/milestone {c}`" for c in close)
        guess = f" Did you mean {hint}?" if close else ""
        return f":warning: There is no `/milestone {esc(name)}`.{guess} `/milestone help` lists every command."

    def dispatch(self, ack: Ack, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        problem = unsafe_character_problem(body.get("text") or "")
        if problem:  # a NUL or a direction override reaches no query and no message
            ack(text=f":warning: {problem} Type the command again.", response_type="ephemeral")
            return
        args = split_args(body.get("text", ""))
        name = args[0].lower() if args else "help"
        ctx = CommandContext(
            name=name,
            args=args[1:],
            user_id=body["user_id"],
            team_id=body.get("team_id", ""),
            channel_id=body.get("channel_id", ""),
            trigger_id=body.get("trigger_id", ""),
            ack=ack,
            respond=respond,
            client=client,
            body=body,
        )
        sub = self.subcommands.get(name)
        if sub is None:
            ctx.reply(self.unknown(name))
            return
        try:
            sub.handler(ctx)
        except DomainError as error:
            # Answer in the ack when still possible: a raise before ack makes Slack show a "failed" banner.
            ctx.reply(f":warning: {error}")
