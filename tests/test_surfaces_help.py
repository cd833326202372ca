"""`/milestone help` over HTTP: one line per subcommand, its variants listed once under it, examples with a
real milestone ID of the workspace, and buttons."""

from __future__ import annotations

import json
import re

from sqlalchemy.orm import Session, sessionmaker

from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_milestones import arrange


def test_help_lists_each_subcommand_once_with_a_real_id_and_buttons(bot: SlackSender, slack: FakeSlack,
                                                                   db: sessionmaker[Session]) -> None:
    arrange(db, "M-007")
    answer = bot.command("help").json()
    blocks = answer["blocks"]
    lines = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section").splitlines()
    main = [line for line in lines if line.startswith("• ")]
    names = [re.match(r"• `/milestone ([a-z]+)", line).group(1) for line in main]  # type: ignore[union-attr]
    assert len(names) == len(set(names) - {"action"}) + names.count("action")  # `action` and `actions` differ
    assert names[0] == "new" and names[-1] == "help"
    descriptions = [line.split(" — ", 1)[1].split("  _e.g._")[0] for line in main]
    assert len(descriptions) == len(set(descriptions))  # no description repeated
    variants = [line for line in lines if not line.startswith("• ")]
    assert "      `/milestone report &lt;ID&gt; preview`" in variants and all(" — " not in v for v in variants)
    assert "`/milestone show M-007`" in "\n".join(lines) and "M-042" not in json.dumps(blocks)
    buttons = {e["text"]["text"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert buttons["Open Home"]["url"] == "slack://app?team=T0001&id=A0001&tab=home"
    bot.block_action("milestone_new_button", value=buttons["New milestone"]["value"])
    assert slack.wait_for("views.open")[0].response["view"]["callback_id"] == "milestone_new"
    assert bot.block_action("open_home").status == 200  # a link button's click is acknowledged


def test_help_without_milestones_keeps_the_placeholder_examples(bot: SlackSender, db: sessionmaker[Session]) -> None:
    text = json.dumps(bot.command("").json()["blocks"])  # a bare /milestone is help
    assert "`/milestone show M-042`" in text
