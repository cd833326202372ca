"""The `/milestone` router. Each feature registers its own subcommands; help is built from them."""

from __future__ import annotations

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


_MENTION = re.compile(r"<([@#][A-Z0-9]+)(?:\|[^>]*)?>")


def split_args(text: str) -> list[str]:
    """Split on white space; Slack's escaped mentions `<@U1|ann>` and `<#C1|general>` stay one token each."""
    return (text or "").split()


def mention_id(token: str) -> str | None:
    """`<@U123|ann>` → `U123`, `<#C123|x>` → `C123`; anything else → None."""
    match = _MENTION.fullmatch(token)
    return match.group(1)[1:] if match else None


class CommandRouter:
    def __init__(self) -> None:
        self.subcommands: dict[str, Subcommand] = {}

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        summary: str,
        usages: list[tuple[str, str]] | None = None,
        order: int = 100,
    ) -> None:
        if name in self.subcommands:
            raise ValueError(f"/milestone {name} is registered twice")
        self.subcommands[name] = Subcommand(name, handler, summary, usages or [(name, name)], order)

    def help_blocks(self, intro: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        lines = []
        for sub in sorted(self.subcommands.values(), key=lambda s: (s.order, s.name)):
            for usage, example in sub.usages:
                lines.append(f"• `/milestone {esc(usage)}` — {esc(sub.summary)}  _e.g._ `/milestone {esc(example)}`")
        text = (intro + "\n" if intro else "") + "*Milestone Bot* — commands:\n" + "\n".join(lines)
        blocks: list[dict[str, Any]] = []
        if intro:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": intro}})
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Milestone Bot commands"}})
        # One section per ~20 lines keeps each under the 3,000-character limit.
        for start in range(0, len(lines), 15):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines[start : start + 15])}})
        return text, blocks

    def dispatch(self, ack: Ack, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        problem = unsafe_character_problem(body.get("text") or "")
        if problem:  # a NUL or a direction override reaches no query and no message
            ack(text=f":warning: {problem}", response_type="ephemeral")
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
            text, blocks = self.help_blocks(f":warning: Unknown command `{esc(name)}`.")
            ctx.reply(text, blocks)
            return
        try:
            sub.handler(ctx)
        except DomainError as error:
            # Answer in the ack when still possible: a raise before ack makes Slack show a "failed" banner.
            ctx.reply(f":warning: {error}")
