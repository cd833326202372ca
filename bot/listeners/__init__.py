"""Listener groups, one module per feature, each with `register(app, deps)` (bolt-python's starter layout)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from bot.listeners import actions, core, feedback, home, milestones, reports, sections, signoffs

GROUPS = (core, milestones, sections, signoffs, actions, feedback, reports, home)


def register_listeners(app: App, deps: Deps) -> None:
    for group in GROUPS:
        group.register(app, deps)
